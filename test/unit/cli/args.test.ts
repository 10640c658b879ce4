import { afterEach, describe, expect, it } from "vitest";
import { defineFlags, editDistance, formatHelp, HELP_FLAG, parseArgs, suggest, UsageError } from "../../../packages/server/src/cli/args.ts";
import { SERVE_FLAGS } from "../../../packages/server/src/cli/serve.ts";
import { GRAPH_FLAGS } from "../../../packages/server/src/cli/graph.ts";

const SCHEMA = defineFlags({
  http_port: { aliases: ["http-port"], type: "number", check: "nonNegativeInteger", default: 8080, help: "port" },
  timeout: { type: "number", check: "positive", unit: "seconds", help: "seconds" },
  host: { type: "string", default: "0.0.0.0", help: "host" },
  name: { type: "string", help: "name" },
  verbose: { type: "boolean", help: "talk" },
  grpc: { type: "boolean", default: true, help: "gRPC" },
  level: { type: "enum", values: ["debug", "info", "warn"], synonyms: { warning: "warn" }, ignoreCase: true, help: "level" },
  protocol: { type: "enum", values: ["v1", "v2"], default: "v1", help: "protocol" },
  max_threads: { type: "compat", project: "KServe", aliases: ["max-threads"], help: "no effect" },
  ...HELP_FLAG,
});

const quiet = { warn: () => {} };

describe("a typed flag schema", () => {
  afterEach(() => {
    delete process.env.TSERVE_HTTP_PORT;
    delete process.env.TSERVE_MAX_THREADS;
  });

  it("infers each flag's type (this test would not compile were one wrong)", () => {
    const { flags } = parseArgs(["--timeout", "2.5", "--name", "n", "--level", "info"], SCHEMA, quiet);
    const port: number = flags.http_port;
    const timeout: number | undefined = flags.timeout;
    const host: string = flags.host;
    const name: string | undefined = flags.name;
    const verbose: boolean = flags.verbose;
    const grpc: boolean = flags.grpc;
    const level: "debug" | "info" | "warn" | undefined = flags.level;
    const protocol: "v1" | "v2" = flags.protocol;
    const threads: string | undefined = flags.max_threads;
    // @ts-expect-error a number flag without a default may be undefined
    const notAlwaysNumber: number = flags.timeout;
    // @ts-expect-error an enum is the union of its values, not any string
    const notAnyProtocol: "v3" = flags.protocol;
    expect([port, timeout, host, name, verbose, grpc, level, protocol, threads]).toEqual([8080, 2.5, "0.0.0.0", "n", false, true, "info", "v1", undefined]);
    expect([notAlwaysNumber, notAnyProtocol]).toEqual([2.5, "v1"]);
  });

  it("serve's and graph's flags are typed too", () => {
    const serve = parseArgs(["--log_level", "WARNING"], SERVE_FLAGS, quiet).flags;
    const httpPort: number = serve.http_port;
    const logLevel: "debug" | "info" | "warn" | "error" | undefined = serve.log_level;
    const accessLog: boolean = serve.access_log;
    const graph = parseArgs([], GRAPH_FLAGS, quiet).flags;
    const stepTimeout: number = graph.graph_step_timeout;
    expect([httpPort, logLevel, accessLog, stepTimeout]).toEqual([8080, "warn", false, 60]);
  });

  it("takes --flag value, --flag=value, dash spellings, bare booleans and -h", () => {
    const r = parseArgs(["model", "--http-port=9000", "--verbose", "--grpc", "false", "-h"], SCHEMA, quiet);
    expect(r.positionals).toEqual(["model"]);
    expect(r.flags).toMatchObject({ http_port: 9000, verbose: true, grpc: false, help: true });
    expect(r.defaulted.has("http_port")).toBe(false);
    expect(r.defaulted.has("host")).toBe(true);
  });

  it("falls back to TSERVE_<NAME>, the command line winning", () => {
    process.env.TSERVE_HTTP_PORT = "7000";
    expect(parseArgs([], SCHEMA, quiet).flags.http_port).toBe(7000);
    expect(parseArgs(["--http_port", "1"], SCHEMA, quiet).flags.http_port).toBe(1);
    process.env.TSERVE_HELP = "1"; // --help has no environment variable
    expect(parseArgs([], SCHEMA, quiet).flags.help).toBe(false);
    delete process.env.TSERVE_HELP;
    process.env.TSERVE_HTTP_PORT = "-1";
    expect(() => parseArgs([], SCHEMA, quiet)).toThrow("--http_port must be a whole number >= 0, got -1");
  });

  it("validates numbers and enums in the schema", () => {
    expect(() => parseArgs(["--http_port", "1.5"], SCHEMA, quiet)).toThrow(/whole number >= 0/);
    expect(() => parseArgs(["--http_port", "x"], SCHEMA, quiet)).toThrow("--http_port expects a number, got 'x'");
    expect(() => parseArgs(["--timeout", "0"], SCHEMA, quiet)).toThrow("--timeout must be a positive number of seconds, got 0");
    expect(() => parseArgs(["--protocol", "v3"], SCHEMA, quiet)).toThrow("--protocol must be v1 or v2, got 'v3'");
    expect(() => parseArgs(["--level", "loud"], SCHEMA, quiet)).toThrow(UsageError);
    expect(parseArgs(["--level", "WARNING"], SCHEMA, quiet).flags.level).toBe("warn");
    expect(parseArgs(["--level", "Debug"], SCHEMA, quiet).flags.level).toBe("debug");
    expect(() => defineFlags({ e: { type: "enum", values: ["a"], default: "b", help: "" } })).toThrow(/default 'b'/);
  });

  it("--log_level takes ours, Python's and KServe's capitals", () => {
    const level = (v: string) => parseArgs(["--log-level", v], SERVE_FLAGS, quiet).flags.log_level;
    expect(["debug", "info", "warn", "warning", "error", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].map(level)).toEqual([
      "debug",
      "info",
      "warn",
      "warn",
      "error",
      "debug",
      "info",
      "warn",
      "error",
      "error",
    ]);
    expect(() => level("verbose")).toThrow(/--log_level must be debug, info, warn or error, got 'verbose'/);
  });
});

describe("an unknown flag", () => {
  it("suggests the nearest name or alias", () => {
    expect(() => parseArgs(["--htp_port", "1"], SCHEMA, quiet)).toThrow("Unknown option --htp_port; did you mean --http_port?");
    expect(() => parseArgs(["--htp-port=1"], SCHEMA, quiet)).toThrow("Unknown option --htp-port; did you mean --http-port?");
    expect(() => parseArgs(["--no_such_flag"], SCHEMA, quiet)).toThrow(/^Unknown option --no_such_flag$/);
    expect(suggest("max_thread", SCHEMA)).toBe("--max_threads");
    expect(suggest("model_repositry", SERVE_FLAGS)).toBe("--model_repository");
    expect(suggest("zzz", SCHEMA)).toBeUndefined();
  });

  it("Levenshtein distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
});

describe("compatibility flags", () => {
  afterEach(() => delete process.env.TSERVE_MAX_THREADS);

  it("warn once each, however often given, and only when used", () => {
    const warnings: string[] = [];
    const r = parseArgs(["--max_threads", "4", "--max-threads=8", "--enable_latency_logging", "false"], SERVE_FLAGS, { warn: (m) => warnings.push(m) });
    expect(r.flags.max_threads).toBe("8");
    expect(warnings).toEqual([
      "--max_threads is accepted for KServe compatibility and has no effect",
      "--enable_latency_logging is accepted for KServe compatibility and has no effect",
    ]);
    const none: string[] = [];
    parseArgs(["--http_port", "1"], SERVE_FLAGS, { warn: (m) => none.push(m) });
    expect(none).toEqual([]);
  });

  it("--enable_docs_url is a real flag now (Swagger UI on /docs), default false, with no warning", () => {
    const warnings: string[] = [];
    expect(parseArgs([], SERVE_FLAGS, { warn: (m) => warnings.push(m) }).flags.enable_docs_url).toBe(false);
    expect(parseArgs(["--enable_docs_url"], SERVE_FLAGS, { warn: (m) => warnings.push(m) }).flags.enable_docs_url).toBe(true);
    expect(parseArgs(["--enable_docs_url", "false"], SERVE_FLAGS, { warn: (m) => warnings.push(m) }).flags.enable_docs_url).toBe(false);
    expect(warnings).toEqual([]);
  });

  it("warn when set by environment too, and name Seldon's", () => {
    process.env.TSERVE_MAX_THREADS = "4";
    const warnings: string[] = [];
    parseArgs(["--threads", "2"], SERVE_FLAGS, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      "--threads is accepted for Seldon compatibility and has no effect",
      "TSERVE_MAX_THREADS (--max_threads) is accepted for KServe compatibility and has no effect",
    ]);
  });

  it("take a bare flag, and a bad command line stops before any warning", () => {
    const warnings: string[] = [];
    expect(parseArgs(["--tracing"], SERVE_FLAGS, { warn: (m) => warnings.push(m) }).flags.tracing).toBe("true");
    expect(() => parseArgs(["--max_threads", "4", "--htp_port", "1"], SERVE_FLAGS, { warn: (m) => warnings.push(m) })).toThrow(/did you mean --http_port/);
    expect(warnings).toEqual(["--tracing is accepted for Seldon compatibility and has no effect"]);
  });

  it("--log_level and --access_log are real flags, not compatibility ones", () => {
    const help = formatHelp(SERVE_FLAGS);
    expect(help).toMatch(/--log_level, --log-level\n[^\n]*debug/);
    expect(help).not.toMatch(/--log_level[^\n]*\n[^\n]*no effect/);
    expect(help).not.toMatch(/--access_log, --access-log\n[^\n]*no effect/);
    expect(help).toMatch(/--max_threads, --max-threads\n[^\n]*accepted for KServe compatibility; no effect/);
    expect(parseArgs(["--access_log", "false"], SERVE_FLAGS, quiet).flags.access_log).toBe(false);
  });
});
