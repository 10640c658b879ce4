/**
 * Telling a request that hangs or is slow apart from one that merely waited behind another request's work: a
 * request without an answer (or a slow one) is sent again once the server answers a probe; only a repeat makes it
 * the culprit. Otherwise the server was blocked by earlier work, and the recent requests are kept as evidence.
 */
import { FuzzFailure, type Score } from "./runner.ts";
import type { ServerProcess } from "./server.ts";

/** An answer slower than this (twice in a row) is a failure: a healthy server answers in milliseconds. */
export const SLOW_MS = Number(process.env.FUZZ_SLOW_MS ?? 3_000);

export class Recent {
  private readonly items: string[] = [];
  push(line: string): void {
    this.items.push(line);
    if (this.items.length > 6) this.items.shift();
  }
  render(): string {
    return this.items.map((l, i) => `\n       [${i - this.items.length}] ${l}`).join("");
  }
}

export interface Stall {
  server: ServerProcess;
  score: Score;
  recent: Recent;
  route: string;
  shown: string;
  /** Cheap request that answers when the server is responsive. */
  probe: () => Promise<boolean>;
  /** Sends the same request again; resolves with its latency, or undefined without an answer. */
  again: () => Promise<number | undefined>;
  /** What happened the first time: "no answer" or "slow (N ms)". */
  what: string;
}

/** Always throws the FuzzFailure that describes the stall (or the crash behind it). */
export async function diagnoseStall(s: Stall): Promise<never> {
  const evidence = `recent requests, oldest first:${s.recent.render()}`;
  await s.server.settle();
  await crashCheck(s);
  const waited = await s.server.waitResponsive(s.probe);
  if (waited === undefined) {
    await crashCheck(s);
    await s.server.restart();
    s.score.notes.push(`server stopped answering after ${s.shown}; ${evidence}`);
    throw new FuzzFailure(`${s.route}: server stopped answering (restarted)`, s.shown, evidence);
  }
  const latency = await s.again();
  await crashCheck(s);
  if (latency === undefined || latency > SLOW_MS) {
    if (latency === undefined) await s.server.waitResponsive(s.probe);
    throw new FuzzFailure(`${s.route}: ${s.what}, repeatably`, s.shown, `${latency === undefined ? "no answer" : `${latency} ms`} on a second try; ${evidence}`);
  }
  s.score.notes.push(`${s.what} for ${s.shown} that answered in ${latency} ms on a second try (responsive again after ${waited} ms): the server was blocked by earlier work; ${evidence}`);
  throw new FuzzFailure("(server blocked by earlier work, any route): a request waited past the limit", s.shown, evidence);
}

async function crashCheck(s: Stall): Promise<void> {
  const exit = await s.server.checkExit();
  if (!exit) return;
  s.score.crashes++;
  s.score.count("crash");
  throw new FuzzFailure(`${s.route}: server process died (exit ${exit.code ?? exit.signal})`, s.shown, exit.output);
}
