/**
 * Writes request.msgpack: request.json as MessagePack, for the README's curl example.
 *
 *   npx tsx examples/openbayes-predictor/make-request.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encode } from "@msgpack/msgpack";

const dir = fileURLToPath(new URL(".", import.meta.url));
const request = JSON.parse(readFileSync(`${dir}request.json`, "utf8")) as unknown;
writeFileSync(`${dir}request.msgpack`, encode(request));
console.log(`wrote ${dir}request.msgpack`);
