import type { ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../packages/server/src/server/logger.ts";
import { ModelServer } from "../../packages/server/src/server/model-server.ts";
import { freePort, runCli, startCli, stopCli } from "../helpers/server.ts";

const MODEL = "test/fixtures/models/scale";

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor<T>(check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("structured logs from the CLI (stdout is a pipe: JSON)", () => {
  let child: ChildProcess;
  let url: string;
  let output: () => string;

  beforeAll(async () => {
    ({ child, url, output } = await startCli(["serve", MODEL, "--access_log"], await freePort()));
  }, 40_000);
  afterAll(async () => {
    if (child) await stopCli(child);
  });

  it("writes JSON lines with level, time and msg", async () => {
    const listening = await waitFor(() => jsonLines(output()).find((l) => String(l.msg).includes("tserve listening on")));
    expect(listening).toMatchObject({ level: "info" });
    expect(typeof listening?.time).toBe("string");
  });

  it("writes one access line per request, with the caller's x-request-id, and echoes it", async () => {
    const r = await fetch(`${url}/v2/models/scale`, { headers: { "x-request-id": "req-abc-1" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-request-id")).toBe("req-abc-1");
    const line = await waitFor(() => jsonLines(output()).find((l) => l.reqId === "req-abc-1"));
    expect(line).toMatchObject({ level: "info", method: "GET", path: "/v2/models/scale", status: 200, model: "scale", protocol: "v2" });
    expect(typeof line.durationMs).toBe("number");
    expect(jsonLines(output()).filter((l) => l.reqId === "req-abc-1")).toHaveLength(1);
  });

  it("generates a request id when the caller sends none", async () => {
    const r = await fetch(`${url}/v1/models/scale:predict`, { method: "POST", body: "{}" });
    const id = r.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const line = await waitFor(() => jsonLines(output()).find((l) => l.reqId === id));
    expect(line).toMatchObject({ method: "POST", path: "/v1/models/scale:predict", status: r.status, model: "scale", protocol: "v1" });
  });
});

describe("accessLog: off by default", () => {
  it("writes no access line, still echoes the request id", async () => {
    const lines: string[] = [];
    const logger = createLogger({ format: "json", destination: { write: (l: string) => lines.push(l) } });
    const server = await new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, logger, accessLog: false }).start();
    try {
      const r = await fetch(`http://127.0.0.1:${server.port}/v2/health/live`, { headers: { "x-request-id": "quiet-1" } });
      expect(r.headers.get("x-request-id")).toBe("quiet-1");
      await new Promise((r) => setTimeout(r, 100));
      expect(lines.join("")).not.toContain("quiet-1");
      expect(lines.some((l) => l.includes("tserve listening on"))).toBe(true);
    } finally {
      await server.stop();
    }
    const on: string[] = [];
    const onLogger = createLogger({ format: "json", destination: { write: (l: string) => on.push(l) } });
    const loud = await new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, logger: onLogger, accessLog: true }).start();
    try {
      await fetch(`http://127.0.0.1:${loud.port}/v2/health/live`, { headers: { "x-request-id": "loud-1" } });
      await waitFor(() => (on.some((l) => l.includes("loud-1")) ? true : undefined));
    } finally {
      await loud.stop();
    }
  });
});

describe("startup failures", () => {
  let blocker: Server;
  let busy: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    busy = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it("a port in use: one clear line, exit 1, no stack trace", async () => {
    const r = await runCli(["serve", MODEL, "--host", "127.0.0.1", "--http_port", String(busy), "--grpc_port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tserve: cannot listen on 127.0.0.1:${busy}: address already in use`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it("the gRPC port in use: one clear line, exit 1", async () => {
    const r = await runCli(["serve", MODEL, "--host", "127.0.0.1", "--http_port", String(await freePort()), "--grpc_port", String(busy)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tserve: cannot listen on 127.0.0.1:${busy} (gRPC): address already in use`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it("a missing repository folder: one clear line, exit 1", async () => {
    const r = await runCli(["serve", "--model_repository", "/no/such/repository", "--http_port", String(await freePort()), "--grpc_port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/no/such/repository");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
