/**
 * Runs fast-check properties against a server and keeps score. Every distinct failure (a route and what went wrong)
 * is found and shrunk on its own: after a failure is shrunk, the property is run again (same seed) with that kind of
 * failure tolerated, until no new kind turns up. Healthy servers cost exactly one run per property.
 *
 * FUZZ_SEED (default fixed, so CI is reproducible) and FUZZ_RUNS (a multiplier on every property's run count) let a
 * developer fuzz longer or elsewhere: `FUZZ_RUNS=20 FUZZ_SEED=7 npx vitest run test/integration/fuzz`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { clip } from "./http.ts";

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_206);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 1);
/** How many distinct failures of one property to chase before giving up on it. */
const MAX_ROUNDS = Number(process.env.FUZZ_MAX_ROUNDS ?? 5);
/** No new round starts after a property has run this long (a broken server must not make CI crawl). */
const PROPERTY_LIMIT_MS = Number(process.env.FUZZ_PROPERTY_LIMIT_MS ?? 40_000 * Math.max(1, FUZZ_RUNS));

/** Wall-clock bound on one round (a run plus its shrinking). */
const ROUND_LIMIT_MS = Number(process.env.FUZZ_ROUND_LIMIT_MS ?? 20_000 * Math.max(1, FUZZ_RUNS));

export function runs(n: number): number {
  return Math.max(1, Math.round(n * FUZZ_RUNS));
}

export interface Failure {
  /** What kind of failure, grouped: `<route> <problem>`. */
  kind: string;
  /** The (shrunk) request that shows it. */
  example: string;
  /** Extra evidence: the answer's body, the crash output. */
  detail: string;
}

/** FUZZ_REPORT_DIR=dir writes every family's failures, unabridged, to dir/<family>.json. */
export async function writeReport(score: Score): Promise<void> {
  const dir = process.env.FUZZ_REPORT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${score.family.replace(/[^a-z0-9]+/gi, "-")}.json`);
  await writeFile(file, JSON.stringify({ summary: score.summary(), failures: [...score.failures.values()], notes: score.notes }, null, 2));
}

export class Score {
  tried = 0;
  readonly byClass: Record<string, number> = {};
  crashes = 0;
  readonly failures = new Map<string, Failure>();
  /** Evidence kept as first seen (not shrunk): stalls and what was sent before them. */
  readonly notes: string[] = [];

  constructor(readonly family: string) {}

  count(outcome: string): void {
    this.tried++;
    this.byClass[outcome] = (this.byClass[outcome] ?? 0) + 1;
  }

  summary(): string {
    const classes = Object.entries(this.byClass)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return `[fuzz] ${this.family}: ${this.tried} requests (${classes}); crashes ${this.crashes}; distinct failures ${this.failures.size}`;
  }

  report(): string {
    const failures = [...this.failures.values()].map((f, i) => `  ${i + 1}. ${f.kind}\n     request: ${clip(f.example, 1500)}\n     answer:  ${clip(f.detail, 1500)}`);
    const notes = this.notes.slice(0, 3).map((n) => `  note: ${clip(n, 2000)}`);
    return [...failures, ...notes].join("\n");
  }
}

/** Thrown inside a property: a failure of a given kind. */
export class FuzzFailure extends Error {
  constructor(
    readonly kind: string,
    readonly example: string,
    readonly detail: string,
  ) {
    super(kind);
  }
}

/**
 * Runs `check` on generated values; `check` throws FuzzFailure for a problem. Every distinct kind found is shrunk
 * and recorded in `score.failures`.
 */
export async function explore<T>(
  score: Score,
  arb: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>,
  numRuns: number,
): Promise<void> {
  const started = Date.now();
  for (let round = 0; round < MAX_ROUNDS && Date.now() - started < PROPERTY_LIMIT_MS; round++) {
    const known = new Set(score.failures.keys());
    const result = await fc.check(
      fc.asyncProperty(arb, async (value) => {
        try {
          await check(value);
        } catch (err) {
          if (err instanceof FuzzFailure && known.has(err.kind)) return;
          throw err;
        }
      }),
      // the time limit bounds shrinking a hang (each step waits for a timeout); the best counterexample so far is kept
      { seed: FUZZ_SEED, numRuns: runs(numRuns), interruptAfterTimeLimit: ROUND_LIMIT_MS },
    );
    if (result.interrupted) console.log(`[fuzz] ${score.family}: round ${round} stopped at its time limit after ${result.numRuns} runs`);
    if (!result.failed) return;
    const err = result.errorInstance;
    if (err instanceof FuzzFailure) {
      score.failures.set(err.kind, { kind: err.kind, example: err.example, detail: err.detail });
      continue;
    }
    throw err instanceof Error ? err : new Error(String(err));
  }
}
