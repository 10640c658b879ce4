/**
 * The workspaces' builds for the tests that use what users get (bundles, packed tarballs). CI runs `npm run build`
 * before the tests; elsewhere a missing build is made here, once, under a lock so that two test files never build
 * into the same dist/ at the same time. A build that exists is used as it is (rebuild after changing sources).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./server.ts";

/** Each workspace, in build order, with a file its build writes last. */
const OUTPUTS = {
  "@tserve/gjson": "packages/gjson/dist/index.js",
  "@tserve/client": "packages/client/dist/types/client/src/index.d.ts",
  "@tserve/server": "packages/server/dist/runtime/module/resolve-tserve.mjs",
} as const;

export type Workspace = keyof typeof OUTPUTS;

const LOCK = join(ROOT, "node_modules", ".cache", "tserve-test-build.lock");
const STALE_LOCK_MS = 10 * 60_000;

/** Builds the workspaces (and those before them in build order) whose output is missing. */
export async function ensureBuilt(...workspaces: Workspace[]): Promise<void> {
  const order = Object.keys(OUTPUTS) as Workspace[];
  const last = Math.max(...workspaces.map((w) => order.indexOf(w)));
  const needed = order.slice(0, last + 1);
  const missing = () => needed.filter((w) => !existsSync(join(ROOT, OUTPUTS[w])));
  if (missing().length === 0) return;
  await withLock(() => {
    for (const workspace of missing()) {
      execFileSync("npm", ["run", "build", "-w", workspace], { cwd: ROOT, stdio: "pipe", timeout: 5 * 60_000 });
    }
  });
}

async function withLock(work: () => void): Promise<void> {
  mkdirSync(join(LOCK, ".."), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock left by a killed run expires.
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    work();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
