import { afterEach, describe, expect, it } from "vitest";
import { serve } from "../../../packages/server/src/cli/serve.ts";
import type { ModelServer } from "../../../packages/server/src/server/index.ts";

const IRIS = "examples/iris/models";
const QUIET = ["--http_port", "0", "--host", "127.0.0.1", "--enable_grpc", "false"];

describe("serve() hands --log_level and --access_log to the ModelServer", () => {
  let server: ModelServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it.each([
    ["ERROR", "error"],
    ["warning", "warn"],
    ["debug", "debug"],
  ])("--log_level %s: the server logs at %s", async (given, level) => {
    server = await serve([IRIS, "--log_level", given, "--access_log", "false", ...QUIET]);
    expect((server!.logger as { level?: string }).level).toBe(level);
    expect(server!["options"]).toMatchObject({ logLevel: level, accessLog: false });
  });

  it("--access_log defaults to false and --log_level to the environment's level", async () => {
    server = await serve([IRIS, ...QUIET]);
    expect(server!["options"]).toMatchObject({ logLevel: undefined, accessLog: false });
  });
});

describe("serve() hands the payload logger's flags to the ModelServer", () => {
  let server: ModelServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("--logger_url, --logger_mode and KServe's agent's event attributes (KServe's spellings too)", async () => {
    server = await serve([
      IRIS, "--logger_url", "http://127.0.0.1:9/sink", "--log-mode", "request", "--source-uri", "pod-1",
      "--inference_service", "iris", "--namespace", "ns", "--component", "predictor", "--endpoint", "canary", ...QUIET,
    ]);
    expect(server!["options"]).toMatchObject({
      payloadLog: { url: "http://127.0.0.1:9/sink", mode: "request", sourceUri: "pod-1", inferenceService: "iris", namespace: "ns", component: "predictor", endpoint: "canary" },
    });
  });

  it("--logger_mode defaults to all; INFERENCE_SERVICE_NAME and POD_NAMESPACE fill the attributes; a bad URL is refused", async () => {
    process.env.INFERENCE_SERVICE_NAME = "from-env";
    process.env.POD_NAMESPACE = "env-ns";
    try {
      server = await serve([IRIS, ...QUIET]);
      expect(server!["options"]).toMatchObject({ payloadLog: { url: undefined, mode: "all", inferenceService: "from-env", namespace: "env-ns" } });
      await expect(serve([IRIS, "--logger_url", "sink:8080", ...QUIET])).rejects.toThrow(/--logger_url must be an http/);
    } finally {
      delete process.env.INFERENCE_SERVICE_NAME;
      delete process.env.POD_NAMESPACE;
    }
  });
});
