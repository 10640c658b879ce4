/**
 * The admin token through the real CLI (`node bin/tserve.js serve`): from TSERVE_ADMIN_TOKEN, --admin_token_file or
 * (warned about) --admin_token, and in each case out of the served module's sight in process.argv and process.env.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { envWithout, freePort, runCli, startCli } from "../helpers/server.ts";
import { post, tempRepo } from "./util.ts";

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

const cleanEnv = (extra: Record<string, string> = {}) => envWithout([/^TSERVE_/], extra);

const children: ChildProcess[] = [];

async function startServe(args: string[], env: Record<string, string> = {}) {
  const started = await startCli(["serve", ...args, "--enable_grpc", "false"], await freePort(), { env: cleanEnv(env) });
  children.push(started.child);
  return started;
}

/** Runs `tserve serve ...args` expecting it to exit; returns its code and output. */
function runServe(args: string[], env: Record<string, string> = {}) {
  return runCli(["serve", ...args, "--http_port", "0", "--enable_grpc", "false"], { env: cleanEnv(env) });
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
