#!/usr/bin/env node
// The `tserve` command. Registers tsx, which lets users hand us .ts model files without a build step, and the hooks
// that resolve "tserve" / "@tserve/server" in those files to this very server; then runs the CLI: from the TypeScript
// sources in a checkout of the repository, from the built JavaScript once installed.
import { existsSync } from "node:fs";
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";

// onnxruntime-node 1.30 on Linux sends usage telemetry (and writes ~/.cache/Microsoft/…) unless told not to; a model
// server in a cluster should not phone home. Set ORT_DISABLE_TELEMETRY=0 to allow it.
process.env.ORT_DISABLE_TELEMETRY ??= "1";
register();
const fromSource = existsSync(new URL("../src/cli/main.ts", import.meta.url));
const build = fromSource ? "../src" : "../dist";
// Registered after tsx, so it runs first: the names resolve to our entry before anything looks in node_modules.
registerHooks(`${build}/runtime/module/resolve-tserve.mjs`, import.meta.url);
const { main } = await import(`${build}/cli/main.${fromSource ? "ts" : "js"}`);
const code = await main(process.argv.slice(2));
if (code !== 0) process.exit(code);
