// Module resolution hooks (node:module register()) for the modules users hand the server: "tserve" and
// "@tserve/server" always resolve to the running server's own entry (src/index.ts in a checkout, dist/index.js once
// installed), whatever node_modules the importing file sees or lacks. So a model file anywhere loads, and it shares the
// server's classes (one Model class: instanceof checks hold). Plain JavaScript: hooks run before tsx is involved.
// Registered by bin/tserve.js before the CLI loads, and by each thread that loads users' modules (model-worker.mjs).
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The names a model may import the server by: the package's, and the short one the docs and examples use. */
const NAMES = new Set(["tserve", "@tserve/server"]);

const source = new URL("../../index.ts", import.meta.url);
const ENTRY = existsSync(fileURLToPath(source)) ? source.href : new URL("../../index.js", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (NAMES.has(specifier)) return { url: ENTRY, shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  if (resolved.format === "commonjs" && isEsmWithoutType(resolved.url)) return { ...resolved, format: "module" };
  return resolved;
}

const AMBIGUOUS = /\.(ts|tsx|js)$/;
/** An import or export statement at the start of a line (not `import(`, not TypeScript's `import x = require()`). */
const ESM_SYNTAX = /^[ \t]*(import[ \t]*(type[ \t]+)?[\w$]*[ \t]*(,[ \t]*)?[{*"']|import[ \t]+[\w$]+[ \t]+from[ \t]|export[ \t]+(default|const|let|var|function|async|class|type|interface|enum|abstract|declare|\{|\*))/m;
/** What only CommonJS has: such a file stays CommonJS (tsx turns its imports into require() calls). */
const COMMONJS_ONLY = /\b(__dirname|__filename|module\.exports|exports\.[\w$]+[ \t]*=)|(^|[^\w$.])require[ \t]*\(/;
const detected = new Map();

/**
 * A file written as an ES module (import/export statements, or import.meta; none of CommonJS's own names) with no
 * package.json "type" above it: Node detects such a .js file as ESM, but a .ts one (tsx's choice) would be CommonJS,
 * and a model written in a bare folder (`/tmp/x/model.ts`) would then neither load as ESM nor find "tserve" through
 * require(). Such files load as the ES modules they are written as.
 */
function isEsmWithoutType(url) {
  if (!url.startsWith("file:")) return false;
  const file = fileURLToPath(url);
  if (!AMBIGUOUS.test(file) || file.includes("/node_modules/") || file.includes("\\node_modules\\")) return false;
  let key;
  try {
    key = `${statSync(file).mtimeMs}:${file}`; // a replaced file (an upload) is read again
  } catch {
    return false;
  }
  let answer = detected.get(key);
  if (answer === undefined) {
    try {
      answer = !hasTypeField(dirname(file)) && writtenAsEsm(readFileSync(file, "utf8"));
    } catch {
      answer = false;
    }
    detected.set(key, answer);
  }
  return answer;
}

function writtenAsEsm(source) {
  if (/\bimport\.meta\b/.test(source)) return true;
  return ESM_SYNTAX.test(source) && !COMMONJS_ONLY.test(source);
}

/** Whether the nearest package.json says "type" (either way: then its word stands). */
function hasTypeField(dir) {
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        return typeof JSON.parse(readFileSync(manifest, "utf8")).type === "string";
      } catch {
        return false;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}
