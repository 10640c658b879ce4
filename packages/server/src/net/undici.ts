import { createRequire } from "node:module";
import type * as Undici from "undici";

const SHARED = Symbol.for("tserve.net.undici");

/**
 * undici, evaluated once per process. A user's model module can bring a second copy of tserve's sources (tsx
 * compiles a module outside any "type": "module" package in a namespace of its own), and undici evaluated twice
 * in one process throws "Illegal constructor" at import; so every copy takes the first copy's instance.
 */
export function undici(): typeof Undici {
  const holder = globalThis as { [SHARED]?: typeof Undici };
  holder[SHARED] ??= createRequire(import.meta.url)("undici") as typeof Undici;
  return holder[SHARED];
}
