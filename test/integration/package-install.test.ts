/**
 * What a user gets from npm: the workspaces packed as for publishing (@tserve/server with onnxruntime-node bundled),
 * installed into a fresh project with nothing but the registry (and its cache), then used the ways the docs say:
 * `npx tserve serve`, `import`/`require()` of the library, TypeScript projects type-checking against the packages'
 * declarations, and model files in a bare folder importing the server by name. Slow (pack + install): a minute or two.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/build.ts";
import { envWithout } from "../helpers/server.ts";
import { expectClose, FIXTURES, IRIS_REPO, readJson, ROOT } from "./util.ts";

const exec = promisify(execFile);
const semver = createRequire(import.meta.url)("semver") as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

const MINUTE = 60_000;
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** npm's own settings from the `npm test` that runs us (prefix, workspace…) stay out; cache, registry and proxies stay. */
const NPM_OWN = /^npm_(?!config_(cache|registry|userconfig|globalconfig|https?_proxy|proxy|noproxy|no_proxy|strict_ssl|cafile|ca)$)/i;
// No onnxruntime-node-install=skip from anywhere: the bundled onnxruntime-node must not need it.
// And no PATH into the repository (`npm test` puts its node_modules/.bin there, with the workspace's own tserve).
const env = envWithout([NPM_OWN, /^npm_config_onnxruntime_node_install$/i, /^ONNXRUNTIME_NODE_INSTALL/i, "PATH"], {
  PATH: (process.env.PATH ?? "").split(delimiter).filter((dir) => !dir.startsWith(ROOT)).join(delimiter),
});

interface Manifest {
  name?: string;
  version?: string;
  scripts?: Record<string, string>;
  engines?: { node?: string };
}

let work: string;
let project: string;

async function run(command: string, args: string[], cwd: string, timeout = 5 * MINUTE): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

/** `npx tserve …` in the project, in a process group of its own (npx runs tserve as a child); resolves with its URL. */
async function serve(args: string[]): Promise<{ url: string; grpcPort?: number; child: ChildProcess; output: () => string }> {
  const child = spawn("npx", ["tserve", "serve", ...args, "--http_port", "0", "--grpc_port", "0", "--host", "127.0.0.1"], {
    cwd: project,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`tserve did not start within 2 minutes:\n${output}`));
    }, 2 * MINUTE);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const listening = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tserve exited with ${code} before listening:\n${output}`));
    });
  });
  const grpc = /listening on \S+ and grpc (\d+)/.exec(output);
  return { url, grpcPort: grpc ? Number(grpc[1]) : undefined, child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid!, "SIGTERM");
  await exited;
}

async function predict(url: string, model: string, instances: unknown[]): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/v1/models/${model}:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ instances }),
  });
  return { status: r.status, json: await r.json() };
}

/** Every package.json of an installed package under `dir` (nested node_modules included). */
async function installedManifests(dir: string): Promise<{ path: string; manifest: Manifest }[]> {
  const out: { path: string; manifest: Manifest }[] = [];
  async function visit(modules: string): Promise<void> {
    if (!existsSync(modules)) return;
    for (const entry of await readdir(modules, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const folder = join(modules, entry.name);
      if (entry.name.startsWith("@")) {
        await visit(folder);
        continue;
      }
      const path = join(folder, "package.json");
      if (existsSync(path)) out.push({ path, manifest: JSON.parse(await readFile(path, "utf8")) as Manifest });
      await visit(join(folder, "node_modules"));
    }
  }
  await visit(join(dir, "node_modules"));
  return out;
}

describe("the packed packages, installed into a fresh project", () => {
  beforeAll(async () => {
    await ensureBuilt("@tserve/gjson", "@tserve/client", "@tserve/server");
    work = await mkdtemp(join(tmpdir(), "tserve-install-"));
    const packs = join(work, "packs");
    project = join(work, "project");
    await mkdir(packs);
    await mkdir(project);
    // The server's own pack script (onnxruntime-node bundled without its install step); the others as npm packs them.
    const server = (await run(process.execPath, [join(ROOT, "packages", "server", "scripts", "pack.mjs"), "--pack-destination", packs], ROOT, 10 * MINUTE)).trim().split("\n").pop()!;
    const others = JSON.parse(await run("npm", ["pack", "-w", "@tserve/client", "-w", "@tserve/gjson", "--json", "--pack-destination", packs], ROOT)) as { filename: string }[];
    const tarballs = [server, ...others.map((o) => join(packs, o.filename))];
    await writeFile(join(project, "package.json"), `${JSON.stringify({ name: "tserve-user", version: "1.0.0", private: true }, null, 2)}\n`);
    // @types/node as a Node 20 user would have it, for the TypeScript checks; everything from the registry or its cache.
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs, "@types/node@^20.19"], project, 10 * MINUTE);
  }, 20 * MINUTE);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("installs onnxruntime-node bundled in @tserve/server, without an install step to download anything", async () => {
    const ort = join(project, "node_modules", "@tserve", "server", "node_modules", "onnxruntime-node", "package.json");
    const manifest = (await readJson(ort)) as Manifest;
    expect(manifest.name).toBe("onnxruntime-node");
    expect(manifest.scripts).toBeUndefined();
    for (const workspace of ["server", "client", "gjson"]) {
      expect(existsSync(join(project, "node_modules", "@tserve", workspace, "package.json"))).toBe(true);
    }
  });

  it("serves iris with `npx tserve serve`: a V1 prediction, and V2 inference from @tserve/client over REST and gRPC", async () => {
    const models = join(work, "iris-models");
    await cp(IRIS_REPO, models, { recursive: true });
    const { url, grpcPort, child, output } = await serve(["--model-repository", models]);
    try {
      const expected = await readJson<{ inputs: number[][]; probabilities: number[][]; tolerance: number }>(join(FIXTURES, "iris-expected.json"));
      const r = await predict(url, "iris", expected.inputs.slice(0, 2));
      expect(r.status).toBe(200);
      expectClose(r.json.predictions, expected.probabilities.slice(0, 2), expected.tolerance);

      expect(grpcPort, output()).toBeGreaterThan(0);
      // The installed client, from CommonJS (its .proto must be found beside dist/index.cjs).
      const script = `const { InferenceGRPCClient, InferenceRESTClient, InferInput } = require("@tserve/client");
(async () => {
  const input = () => new InferInput("input", [2, 4], "FP32", new Float32Array(${JSON.stringify(expected.inputs.slice(0, 2).flat())}));
  const rest = new InferenceRESTClient(${JSON.stringify(url)});
  const grpc = new InferenceGRPCClient("127.0.0.1:${grpcPort}");
  const out = {
    rest: (await rest.infer("iris", [input()])).asNested("probabilities"),
    grpc: (await grpc.infer("iris", [input()])).asNested("probabilities"),
    grpcReady: await grpc.isModelReady("iris"),
  };
  rest.close();
  grpc.close();
  console.log(JSON.stringify(out));
})();
`;
      const answer = JSON.parse(await run(process.execPath, ["-e", script], project, MINUTE));
      expect(answer.grpcReady).toBe(true);
      expectClose(answer.rest, expected.probabilities.slice(0, 2), expected.tolerance);
      expectClose(answer.grpc, expected.probabilities.slice(0, 2), expected.tolerance);
    } finally {
      await stop(child);
    }
  }, 5 * MINUTE);

  it("imports from plain Node: ESM import and CommonJS require() of both packages", async () => {
    const esm = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { Model, ModelServer } from "@tserve/server";
         import { InferenceRESTClient, InferenceGRPCClient } from "@tserve/client";
         console.log([ModelServer, Model, InferenceRESTClient, InferenceGRPCClient].map((f) => typeof f).join(","));`,
      ],
      project,
    );
    expect(esm.trim()).toBe("function,function,function,function");
    const cjs = await run(
      process.execPath,
      [
        "-e",
        `const { Model, ModelServer } = require("@tserve/server");
         const { InferenceRESTClient } = require("@tserve/client");
         console.log([ModelServer, Model, InferenceRESTClient].map((f) => typeof f).join(","), require.resolve("@tserve/client"));`,
      ],
      project,
    );
    expect(cjs.trim()).toMatch(/^function,function,function .*@tserve[/\\]client[/\\]dist[/\\]index\.cjs$/);
  }, 2 * MINUTE);

  it("type-checks TypeScript projects against both packages (NodeNext, and Bundler resolution), strict, libraries checked too", async () => {
    const source = `import { InferenceGRPCClient, InferenceRESTClient, InferInput, type InferResult } from "@tserve/client";
import { Model, ModelServer, type RequestContext } from "@tserve/server";

export class Doubler extends Model {
  override async load(): Promise<void> {
    this.ready = true;
  }
  override predict(payload: { instances: number[][] }, _context: RequestContext): { predictions: number[][] } {
    return { predictions: payload.instances.map((row) => row.map((v) => v * 2)) };
  }
}

export async function main(): Promise<number> {
  const server = new ModelServer({ httpPort: 0, host: "127.0.0.1" });
  await server.start([new Doubler("doubler")]);
  const client = new InferenceRESTClient(\`http://127.0.0.1:\${server.port}\`);
  const result: InferResult = await client.infer("doubler", [new InferInput("input", [1, 4], "FP32", new Float32Array(4))]);
  new InferenceGRPCClient("127.0.0.1:1").close();
  // @ts-expect-error: the declarations know the datatypes
  new InferInput("x", [1], "FP33");
  await server.stop();
  return result.outputs.length;
}
`;
    const options = { target: "ES2022", strict: true, skipLibCheck: false, noEmit: true, types: ["node"] };
    const projects = {
      nodenext: { compilerOptions: { ...options, module: "NodeNext", moduleResolution: "NodeNext" }, files: ["index.ts", "require.cts"] },
      bundler: { compilerOptions: { ...options, module: "ESNext", moduleResolution: "Bundler" }, files: ["index.ts"] },
    };
    for (const [name, tsconfig] of Object.entries(projects)) {
      const dir = join(project, `ts-${name}`);
      await mkdir(dir);
      await writeFile(join(dir, "package.json"), '{ "type": "module" }\n');
      await writeFile(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
      await writeFile(join(dir, "index.ts"), source);
      // CommonJS TypeScript requiring both packages (require(esm), Node >= 20.19).
      await writeFile(
        join(dir, "require.cts"),
        `import client = require("@tserve/client");\nimport server = require("@tserve/server");\n\nexport const rest: client.InferenceRESTClient = new client.InferenceRESTClient("http://localhost:8080");\nexport const model: server.Model = new server.Model("m");\n`,
      );
      const out = await run(process.execPath, [TSC, "-p", dir], project).catch((err: Error) => err.message);
      expect(out, `tsc -p ts-${name}`).toBe("");
    }
  }, 3 * MINUTE);

  it('serves model files from a bare folder that import "@tserve/server" and "tserve", sharing the server\'s classes', async () => {
    const models = await mkdtemp(join(tmpdir(), "tserve-user-models-"));
    try {
      const entry = pathToFileURL(join(project, "node_modules", "@tserve", "server", "dist", "index.js")).href;
      const model = (specifier: string, factor: number) => `import { Model, type RequestContext } from "${specifier}";
// The installed server's own entry, by path: the class the server checks against.
import * as installed from "${entry}";

export default class Scale extends Model {
  override async load(): Promise<void> {
    this.ready = true;
  }
  override predict(payload: { instances: number[][] }, _context: RequestContext) {
    return { predictions: payload.instances.map((row) => row.map((v) => v * ${factor})), sameModelClass: Model === installed.Model };
  }
}
`;
      await mkdir(join(models, "by-package"));
      await writeFile(join(models, "by-package", "model.ts"), model("@tserve/server", 2));
      // On worker threads: the threads resolve "tserve" the same way.
      await writeFile(join(models, "by-package", "model-settings.json"), JSON.stringify({ instanceCount: 2 }));
      await mkdir(join(models, "by-short-name"));
      await writeFile(join(models, "by-short-name", "model.ts"), model("tserve", 3));
      for (let dir = models; dirname(dir) !== dir; dir = dirname(dir)) expect(existsSync(join(dir, "node_modules")), dir).toBe(false);

      const { url, child, output } = await serve(["--model-repository", models]);
      try {
        const two = await predict(url, "by-package", [[1, 2]]);
        expect(two, output()).toEqual({ status: 200, json: { predictions: [[2, 4]], sameModelClass: true } });
        const three = await predict(url, "by-short-name", [[1, 2]]);
        expect(three, output()).toEqual({ status: 200, json: { predictions: [[3, 6]], sameModelClass: true } });
      } finally {
        await stop(child);
      }
    } finally {
      await rm(models, { recursive: true, force: true });
    }
  }, 5 * MINUTE);

  it("installs only packages whose engines admit the server's minimum Node, and no sharp", async () => {
    const server = (await readJson(join(project, "node_modules", "@tserve", "server", "package.json"))) as Manifest;
    const minimum = semver.minVersion(server.engines!.node!)!.version;
    expect(minimum).toBe("20.19.0");
    const installed = await installedManifests(project);
    expect(installed.length).toBeGreaterThan(50);
    const refusing = installed
      .filter(({ manifest }) => manifest.engines?.node !== undefined && !semver.satisfies(minimum, manifest.engines.node))
      .map(({ manifest }) => `${manifest.name}@${manifest.version} wants node ${manifest.engines!.node}`);
    expect(refusing).toEqual([]);
    expect(installed.map(({ manifest }) => manifest.name)).not.toContain("sharp");
  });
});
