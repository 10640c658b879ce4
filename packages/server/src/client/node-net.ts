/**
 * The outbound layer (`net/`: undici's pooled connections) for the REST client on Node, loaded on first use. Its own
 * module so that @tserve/client's browser bundle can leave it out (packages/client/src/no-node-net.ts): a dynamic
 * import there would still lead an app's bundler (esbuild, webpack, Vite) into undici and node:* modules.
 */
export type Net = typeof import("../net/index.ts");

export function loadNet(): Promise<Net> | undefined {
  return import("../net/index.ts");
}
