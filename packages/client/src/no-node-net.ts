/**
 * The browser and edge bundle's stand-in for the server's client/node-net.ts: no Node transport, so the REST client
 * sends over the global fetch wherever this bundle runs, and no bundler that packs it meets undici or node:* modules.
 */
import type { Net } from "../../server/src/client/node-net.ts";

export function loadNet(): Promise<Net> | undefined {
  return undefined;
}
