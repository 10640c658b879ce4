/**
 * The grace period on shutdown (issue 10, item 4): once it is over, REST requests still in flight are cut off,
 * a model whose unload hangs is left behind, and the process exits.
 */
import { type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import HangModel from "../fixtures/modules/hang.ts";
import { freePort, startCli } from "../helpers/server.ts";
import { startWith } from "./util.ts";

/** A POST whose outcome is either a response or the error its connection ended with. */
function postOutcome(url: string, body: unknown): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode }));
      res.on("error", (err) => resolve({ status: res.statusCode, error: err.message }));
    });
    req.on("error", (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(JSON.stringify(body));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("shutdown with a grace period", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  it("SIGTERM: a hung predict is cut off after --grace_period, new requests are refused, and the process exits", async () => {
    const { child, url, output } = await startCli(["serve", "test/fixtures/modules/hang.ts", "--grace_period", "2"], await freePort());
    children.push(child);
    const exited = once(child, "exit");

    const hung = postOutcome(`${url}/v1/models/hang:predict`, { instances: [1] });
    await sleep(300); // the predict is in flight
    child.kill("SIGTERM");
    await sleep(300);

    // Draining: the listener is closed, so a new client is refused.
    const during = await fetch(`${url}/v2/health/live`).then(
      (r) => `status ${r.status}`,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(["ECONNREFUSED", "status 503"]).toContain(during);

    // The hung request is ended by the server once the grace period is over: no answer, the connection closes.
    const outcome = await hung;
    expect(outcome.status === 503 || outcome.error !== undefined, JSON.stringify(outcome)).toBe(true);

    // The model's unload never returns either; the process exits all the same, cleanly.
    const [code] = await exited;
    expect(code).toBe(0);
    const log = output();
    expect(log).toContain("grace period of 2 s is over");
    expect(log).toContain("cutting off 1 in-flight request(s): POST /v1/models/hang:predict");
    expect(log).toContain("unloading models (hang) did not finish");
  }, 40_000);

  it("stop() resolves once the grace period is over even with a request that never returns", async () => {
    const logs: string[] = [];
    // This one unloads normally: only the request hangs.
    class HangingPredict extends HangModel {
      override unload(): Promise<void> {
        this.ready = false;
        return Promise.resolve();
      }
    }
    const running = await startWith({
      models: [new HangingPredict("hang")],
      enableGrpc: false,
      gracePeriodMs: 500,
      logger: { log: (_level, message) => logs.push(message) },
    });
    const hung = postOutcome(`${running.url}/v1/models/hang:predict`, { instances: [1] });
    const answered = await postOutcome(`${running.url}/v1/models/hang:predict`, { instances: [1], answer: true });
    expect(answered.status).toBe(200);
    await sleep(100);
    await running.server.stop();
    const outcome = await hung;
    expect(outcome.status === undefined && outcome.error !== undefined, JSON.stringify(outcome)).toBe(true);
    expect(logs.join("\n")).toContain("cutting off 1 in-flight request(s)");
  }, 20_000);
});
