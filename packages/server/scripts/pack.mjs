// Packs @tserve/server for npm with onnxruntime-node bundled (bundleDependencies) and its post-install step removed.
// That step downloads CUDA libraries on linux/x64 and fails the whole `npm install` where the internet is
// unreachable (air-gapped clusters); an `.npmrc` setting cannot travel with a package. The CPU binaries for every
// platform ship inside onnxruntime-node itself, so nothing is lost (GPU users add its CUDA files as its README says).
//
// The package is staged in a temporary folder (package.json, bin/, dist/, README.md, node_modules/ with the two
// bundled packages) and packed there, so the workspace's own node_modules never changes under running processes.
//
//   node packages/server/scripts/pack.mjs [--pack-destination DIR]     (npm run pack:server; needs npm run build)
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = join(pkgRoot, "..", "..");
const destIndex = process.argv.indexOf("--pack-destination");
const destination = resolve(destIndex > 0 ? process.argv[destIndex + 1] : process.cwd());
// onnxruntime-common goes along: npm does not install a bundled package's own dependencies (onnxruntime-node's
// other dependencies serve only the removed download step).
const BUNDLED = ["onnxruntime-common", "onnxruntime-node"];

/** The installed copy npm would resolve from the server package: the nearest node_modules/<name> above it. */
function installed(name) {
  for (let dir = pkgRoot; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed above ${pkgRoot}`);
  }
}

if (!existsSync(join(pkgRoot, "dist", "index.js"))) throw new Error("packages/server/dist is missing: run `npm run build` first");
const stage = mkdtempSync(join(tmpdir(), "tserve-pack-"));
try {
  const manifest = JSON.parse(readFileSync(join(pkgRoot, "package.json"), "utf8"));
  manifest.bundleDependencies = BUNDLED;
  delete manifest.scripts;
  writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const entry of ["bin", "dist"]) cpSync(join(pkgRoot, entry), join(stage, entry), { recursive: true });
  cpSync(join(repoRoot, "README.md"), join(stage, "README.md"));
  for (const name of BUNDLED) {
    const source = installed(name);
    const target = join(stage, "node_modules", name);
    cpSync(source, target, { recursive: true, dereference: true, filter: (p) => !p.startsWith(join(source, "node_modules")) });
    const ownManifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8"));
    delete ownManifest.scripts;
    writeFileSync(join(target, "package.json"), `${JSON.stringify(ownManifest, null, 2)}\n`);
  }
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: stage, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const [{ filename }] = JSON.parse(out);
  console.log(join(destination, filename));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
