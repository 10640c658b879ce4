/** The end of a family: stop the server (it must exit cleanly), print the one-line summary and the failures. */
import { expect } from "vitest";
import { type Score, writeReport } from "./runner.ts";
import type { ServerProcess } from "./server.ts";

export async function finish(server: ServerProcess | undefined, target: { score: Score; close?: () => void } | undefined): Promise<void> {
  target?.close?.();
  const wasRunning = server?.alive() ?? false;
  const code = await server?.stop();
  if (target) {
    console.log(target.score.summary());
    if (target.score.failures.size > 0) console.log(target.score.report());
    await writeReport(target.score);
  }
  if (wasRunning) expect(code, "the server exits cleanly on SIGTERM after the fuzzing").toBe(0);
}
