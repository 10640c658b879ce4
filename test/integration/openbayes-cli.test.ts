/**
 * `tserve serve` finds OpenBayes predictors on its own: a module whose default export is a plain class with
 * predict (not a tserve Model), a folder with predictor.ts, a folder whose model-settings.json says
 * `{"runtime": "openbayes"}`, and a folder with start.sh. A predictor that asks for an unknown argument stops
 * the command with its startup error; a Model subclass keeps the module runtime.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "@msgpack/msgpack";
import { afterAll, describe, expect, it } from "vitest";
import { discoverModel } from "../../packages/server/src/model/index.ts";
import { detectOpenBayesSource } from "../../packages/server/src/runtime/index.ts";
import { freePort, ROOT, runCli, startCli, stopCli } from "../helpers/server.ts";
import { FIXTURES, MODULES } from "./util.ts";

const OPENBAYES = join(FIXTURES, "openbayes");
const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? stopCli(c) : undefined)));
});

async function serve(args: string[]) {
  const started = await startCli(["serve", ...args, "--enable_grpc", "false"], await freePort());
  children.push(started.child);
  return started;
}

function postJson(url: string, body: unknown, path = "/") {
  return fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** Running, not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("tserve serve with OpenBayes predictors", () => {
  it("a single module whose default export is a plain class: GET / and POST /", async () => {
    const { child, url } = await serve(["test/fixtures/openbayes/single/Greeter.ts"]);
    expect(await (await fetch(`${url}/`)).json()).toEqual({ status: "ok", model: "Greeter" });
    const r = await postJson(url, { name: "OpenBayes" }, "/?greeting=Hi");
    expect(await r.json()).toEqual({ message: "Hi, OpenBayes!" });
    const packed = await fetch(`${url}/`, { method: "POST", headers: { "content-type": "application/msgpack" }, body: encode({ name: "msgpack" }) });
    expect(await packed.json()).toEqual({ message: "Hello, msgpack!" });
    expect(await stopCli(child)).toBe(0);
  });

  it("a folder with predictor.ts and an .onnx file: the onnx session and modelDir", async () => {
    const { child, url } = await serve(["test/fixtures/openbayes/iris", "--model_name", "iris"]);
    const r = await postJson(url, { instances: [[6.8, 2.8, 4.8, 1.4], [5.1, 3.5, 1.4, 0.2]] });
    expect(await r.json()).toEqual({ classes: ["versicolor", "setosa"] });
    const bad = await postJson(url, { rows: [] });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ error: 'expected {"instances": [[4 features], …]}' });
    expect(await stopCli(child)).toBe(0);
  });

  it("a folder whose model-settings.json says runtime openbayes", async () => {
    const { child, url } = await serve(["test/fixtures/openbayes/settings-runtime"]);
    const r = await fetch(`${url}/`, { method: "POST", body: "12345" });
    expect(await r.text()).toBe("got 5 bytes");
    expect(await (await fetch(`${url}/`)).json()).toEqual({ status: "ok", model: "plain" });
    expect(await stopCli(child)).toBe(0);
  });

  it("a folder with start.sh: proxied, and stopped with tserve", async () => {
    const { child, url } = await serve(["test/fixtures/openbayes/custom"]);
    const answer = (await (await postJson(url, { x: 1 }, "/predict?y=2")).json()) as { method: string; url: string; body: string; pid: number };
    expect(answer).toMatchObject({ method: "POST", url: "/predict?y=2", body: '{"x":1}' });
    expect(alive(answer.pid)).toBe(true);
    expect(await stopCli(child)).toBe(0);
    expect(alive(answer.pid)).toBe(false);
  });

  it("a predictor asking for an unknown argument stops the command with its startup error", async () => {
    const { code, output: out } = await runCli(["serve", "test/fixtures/openbayes/bad-arg", "--http_port", String(await freePort()), "--enable_grpc", "false"]);
    expect(code, out).toBe(2);
    expect(out).toContain("The OpenBayes predictor bad-arg did not start");
    expect(out).toContain("asks for 'weights'");
    expect(out).not.toContain("listening on");
  });
});

describe("what is an OpenBayes predictor", () => {
  const fileSource = async (file: string) => {
    const dir = join(file, "..");
    const source = { name: "m", dir, settings: { runtime: "module" as const, modelFile: file.split("/").pop() }, versions: [{ dir }] };
    return { source, openbayes: await detectOpenBayesSource(source) };
  };

  it("a plain class module is, and is marked runtime openbayes", async () => {
    const { source, openbayes } = await fileSource(join(OPENBAYES, "single", "Greeter.ts"));
    expect(openbayes).toBe(true);
    expect(source.settings.runtime).toBe("openbayes");
  });

  it("a tserve Model subclass is not: it keeps the module runtime", async () => {
    const { source, openbayes } = await fileSource(join(MODULES, "doubler.ts"));
    expect(openbayes).toBe(false);
    expect(source.settings.runtime).toBe("module");
  });

  it("folders: start.sh, predictor.ts, or the runtime in model-settings.json; not an ONNX model folder", async () => {
    for (const dir of ["custom", "iris", "settings-runtime"]) expect(await detectOpenBayesSource(await discoverModel(join(OPENBAYES, dir))), dir).toBe(true);
    expect(await detectOpenBayesSource(await discoverModel(join(ROOT, "examples", "iris", "models", "iris")))).toBe(false);
  });
});
