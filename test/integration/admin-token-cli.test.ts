/**
 * The admin token through the real CLI (`node bin/tserve.js serve`): from TSERVE_ADMIN_TOKEN, --admin_token_file or
 * (warned about) --admin_token, and in each case out of the served module's sight in process.argv and process.env.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/server.ts";
import { post, ROOT, tempRepo } from "./util.ts";

const TOKEN = "s3cr3t-admin-token-for-the-cli-test";

/** A Seldon component that reports whether it can see the token, when imported and when called. */
const SPY = `const TOKEN = ${JSON.stringify(TOKEN)};
function look() {
  return {
    argv: process.argv.some((a) => a.includes(TOKEN)),
    env: Object.entries(process.env).filter(([, v]) => v !== undefined && v.includes(TOKEN)).map(([k]) => k),
  };
}
const atImport = look();
export default class Spy {
  predict() {
    return [[JSON.stringify({ atImport, atCall: look() })]];
  }
}
`;

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("TSERVE_")) env[k] = v;
  return { ...env, ...extra };
}

const children: ChildProcess[] = [];

async function startServe(args: string[], env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["bin/tserve.js", "serve", ...args, "--http_port", String(port), "--host", "127.0.0.1", "--enable_grpc", "false"],
    { cwd: ROOT, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tserve exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}/v2/health/ready`)).status === 200) return { child, url, output: () => out };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tserve did not become ready:\n${out}`);
}

/** Runs `tserve serve ...args` expecting it to exit; returns its code and stderr. */
async function runServe(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["bin/tserve.js", "serve", ...args, "--http_port", "0", "--enable_grpc", "false"], {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const [code] = await once(child, "exit");
  return { code: code as number | null, stderr };
}

describe("the admin token through the CLI", () => {
  let root: string;
  let tokenFile: string;

  beforeAll(async () => {
    root = await tempRepo();
    await mkdir(join(root, "spy"));
    await writeFile(join(root, "spy", "model.ts"), SPY);
    await writeFile(join(root, "spy", "model-settings.json"), JSON.stringify({ runtime: "seldon" }));
    tokenFile = join(root, ".admin-token");
    await writeFile(tokenFile, `${TOKEN}\n`);
    await chmod(tokenFile, 0o600);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = once(c, "exit");
        c.kill("SIGTERM");
        await exited;
      }
    }
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The token guards load (401 without, 200 with) and the served module cannot see it. */
  async function expectGuardedAndHidden(url: string): Promise<void> {
    expect((await post(`${url}/v2/repository/models/spy/load`)).status).toBe(401);
    expect((await post(`${url}/v2/repository/models/spy/load`, undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const r = await post(`${url}/v1/models/spy:predict`, { instances: [[1]] });
    expect(r.status, r.text).toBe(200);
    const seen = JSON.parse(r.json.predictions[0][0]);
    expect(seen).toEqual({ atImport: { argv: false, env: [] }, atCall: { argv: false, env: [] } });
  }

  it("TSERVE_ADMIN_TOKEN: used, then removed from process.env", async () => {
    const server = await startServe(["--model_repository", root], { TSERVE_ADMIN_TOKEN: TOKEN });
    await expectGuardedAndHidden(server.url);
    expect(server.output()).not.toContain("--admin_token on the command line");
  });

  it("--admin_token_file: the file's token, its trailing newline ignored", async () => {
    const server = await startServe(["--model_repository", root, "--admin_token_file", tokenFile]);
    await expectGuardedAndHidden(server.url);
    expect(server.output()).not.toContain(TOKEN);
  });

  it("--admin_token on the command line still works, with a warning, and is scrubbed from process.argv", async () => {
    const server = await startServe(["--model_repository", root, "--admin_token", TOKEN]);
    await expectGuardedAndHidden(server.url);
    expect(server.output()).toContain("--admin_token on the command line is visible");
  });

  it("usage errors: a token given twice, an empty token file, an unknown mode, poll without a repository", async () => {
    const twice = await runServe(["--model_repository", root, "--admin_token_file", tokenFile], { TSERVE_ADMIN_TOKEN: TOKEN });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("not both");
    const empty = join(root, ".empty-token");
    await writeFile(empty, "\n");
    const blank = await runServe(["--model_repository", root, "--admin_token_file", empty]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain("is empty");
    const mode = await runServe(["--model_repository", root, "--model_control_mode", "sometimes"]);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain("--model_control_mode must be none, explicit, poll");
    const poll = await runServe([join(root, "spy"), "--model_control_mode", "poll"]);
    expect(poll.code).toBe(2);
    expect(poll.stderr).toContain("--model_repository");
  });
});
