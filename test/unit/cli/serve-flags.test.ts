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
