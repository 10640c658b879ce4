// Builds @tserve/client from the client sources in packages/server/src/client/ (one copy, which the server's remote
// predictor uses too): esbuild bundles for Node (ESM and CommonJS, gRPC included) and for browsers and edge runtimes
// (ESM, web-standard fetch only), the .proto the gRPC client reads beside the Node bundles, and tsc's declarations.
// Every bundle is checked to hold only client code: a server dependency reaching it fails the build.
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(pkgRoot, "dist");
const entry = join(pkgRoot, "src", "index.ts");
const clientSources = join(pkgRoot, "..", "server", "src", "client");
const require = createRequire(import.meta.url);

/** The client's dependencies, loaded from node_modules by the Node bundles. */
const NODE_EXTERNALS = ["@grpc/grpc-js", "@grpc/proto-loader", "undici"];
/**
 * All a bundle may hold: the client, the error classes, net's pure modules (undici itself stays external), tensors,
 * and the V2 REST and gRPC codecs. Anything else (the server, Fastify, onnxruntime, pino, yaml, msgpack, any
 * node_modules package) fails the build.
 */
const ALLOWED = [
  /\/packages\/client\/src\//,
  /\/packages\/server\/src\/(client|errors|net|tensor)\//,
  /\/packages\/server\/src\/protocol\/(json|exact-json|types)\.ts$/,
  /\/packages\/server\/src\/protocol\/(v2|grpc)\/[^/]+\.ts$/,
];

const common = {
  absWorkingDir: pkgRoot,
  entryPoints: { index: entry },
  bundle: true,
  target: "es2022",
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
};

rmSync(dist, { recursive: true, force: true });

const builds = {
  // Node, ESM: import.meta.url is the bundle's own, so the .proto is found beside it.
  "node-esm": await build({
    ...common,
    platform: "node",
    format: "esm",
    outdir: dist,
    external: NODE_EXTERNALS,
  }),
  // Node, CommonJS: import.meta does not exist there; the banner gives the bundle's own URL instead.
  "node-cjs": await build({
    ...common,
    platform: "node",
    format: "cjs",
    outdir: dist,
    outExtension: { ".js": ".cjs" },
    external: NODE_EXTERNALS,
    banner: { js: 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    define: { "import.meta.url": "__bundle_url" },
  }),
  // Browsers and edge runtimes: the REST client on fetch. The gRPC client is a stub that says it needs Node; Node's
  // pooled transport (undici) is left out altogether, not split into a lazy chunk: an app's bundler follows every
  // import("…") it can read and would try to pack undici and node:* for the browser.
  browser: await build({
    ...common,
    platform: "browser",
    format: "esm",
    outdir: join(dist, "browser"),
    plugins: [webStubs()],
  }),
};

// The gRPC client reads inference.proto next to the Node bundles (definition.ts: new URL("./inference.proto", import.meta.url)).
copyFileSync(join(pkgRoot, "..", "server", "src", "protocol", "grpc", "inference.proto"), join(dist, "inference.proto"));

for (const [name, result] of Object.entries(builds)) checkBundle(name, result.metafile);

// Declarations: tsc over the same sources (dist/types/client/src/index.d.ts re-exports the server's client folder's).
const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(pkgRoot, "tsconfig.build.json")], { stdio: "inherit" });

/** In the browser bundle: the gRPC client and the Node transport's loader replaced by stand-ins (packages/client/src). */
function webStubs() {
  const stubs = { "./grpc.ts": "grpc-unavailable.ts", "./node-net.ts": "no-node-net.ts" };
  return {
    name: "web-stubs",
    setup(b) {
      b.onResolve({ filter: /^\.\/(grpc|node-net)\.ts$/ }, (args) =>
        args.importer.startsWith(clientSources) ? { path: join(pkgRoot, "src", stubs[args.path]) } : undefined,
      );
    },
  };
}

/** Fails the build when a bundle holds a server module or dependency, or when the browser entry loads anything of Node's up front. */
function checkBundle(name, metafile) {
  const offending = Object.keys(metafile.inputs).filter((input) => !ALLOWED.some((re) => re.test(join(pkgRoot, input).replaceAll("\\", "/"))));
  const problems = offending.map((input) => `bundles ${input}`);
  if (name === "browser") {
    // Nothing outside the bundle at all, not even behind import(): browsers have no undici, node:* or @grpc/*.
    for (const [file, output] of Object.entries(metafile.outputs)) {
      for (const imported of output.imports) problems.push(`${relative(dist, join(pkgRoot, file))} imports ${imported.path}`);
    }
  }
  if (problems.length > 0) throw new Error(`@tserve/client ${name} bundle: ${problems.join("; ")}`);
  const inputs = Object.keys(metafile.inputs).length;
  const size = Object.values(metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.error(`@tserve/client ${name}: ${inputs} modules, ${(size / 1024).toFixed(0)} KiB (maps included)`);
}
