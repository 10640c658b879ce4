/** The typed flag schema end to end: help on every subcommand, nearest-flag suggestions, compatibility warnings, --log_level. */
import { describe, expect, it } from "vitest";
import { freePort, runCli, startCli, stopCli } from "../helpers/server.ts";
import { post } from "./util.ts";

const ROW = [6.8, 2.8, 4.8, 1.4];

describe("tserve flags", () => {
  it.each([
    ["serve", /^Usage: tserve serve \[MODEL\]/],
    ["graph", /^Usage: tserve graph GRAPH\.yaml/],
    ["seldon-graph", /^Usage: tserve seldon-graph DEPLOYMENT\.yaml/],
    ["pack", /^Usage: tserve pack DIR/],
    ["pull", /^Usage: tserve pull SRC_URI DEST_DIR/],
  ])("%s -h and --help print its usage and exit 0", async (command, usage) => {
    const [short, long] = await Promise.all([runCli([command, "-h"]), runCli([command, "--help"])]);
    for (const r of [short, long]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(usage);
      expect(r.stderr).toBe("");
    }
    expect(short.stdout).toBe(long.stdout);
  });

  it("an unknown flag exits 2 suggesting the nearest one, on every subcommand", async () => {
    const [serve, dashed, graph, seldonGraph, pack] = await Promise.all([
      runCli(["serve", "examples/iris/models", "--htp_port", "1"]),
      runCli(["serve", "examples/iris/models", "--model-repositry", "x"]),
      runCli(["graph", "g.yaml", "--grace_perod", "1"]),
      runCli(["seldon-graph", "d.yaml", "--http_prot", "1"]),
      runCli(["pack", "examples/iris/models", "--outptu", "x.tgz"]),
    ]);
    expect(serve).toMatchObject({ code: 2, stderr: "tserve: Unknown option --htp_port; did you mean --http_port?\n" });
    expect(dashed.stderr).toContain("Unknown option --model-repositry; did you mean --model-repository?");
    expect(graph.stderr).toContain("Unknown option --grace_perod; did you mean --grace_period?");
    expect(seldonGraph.stderr).toContain("Unknown option --http_prot; did you mean --http_port?");
    expect(pack.stderr).toContain("Unknown option --outptu; did you mean --output?");
    for (const r of [dashed, graph, seldonGraph, pack]) expect(r.code).toBe(2);
  }, 60_000);

  it("a compatibility flag logs one warning, and the server serves", async () => {
    const { child, url, output } = await startCli(
      ["serve", "examples/iris/models", "--max_threads", "4", "--max-threads", "8", "--event_loop", "uvloop", "--log_level", "WARNING", "--enable_grpc", "false"],
      await freePort(),
    );
    try {
      expect((await post(`${url}/v1/models/iris:predict`, { instances: [ROW] })).status).toBe(200);
      const lines = output().split("\n");
      expect(lines.filter((l) => l.includes("--max_threads is accepted for KServe compatibility and has no effect"))).toHaveLength(1);
      expect(lines.filter((l) => l.includes("--event_loop is accepted for KServe compatibility and has no effect"))).toHaveLength(1);
    } finally {
      await stopCli(child);
    }
  });

  it("a bad --log_level exits 2 naming the choices", async () => {
    const bad = await runCli(["serve", "examples/iris/models", "--log_level", "loud"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--log_level must be debug, info, warn or error, got 'loud'");
  });
});
