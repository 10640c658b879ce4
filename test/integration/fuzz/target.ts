/** An HTTP server under fuzz: sends cases, classifies answers, turns problems into FuzzFailures. */
import { expect } from "vitest";
import { clip, describeCase, type HttpCase, judge, send } from "./http.ts";
import type fc from "fast-check";
import { explore, FuzzFailure, Score } from "./runner.ts";
import type { ServerProcess } from "./server.ts";
import { diagnoseStall, Recent, SLOW_MS } from "./stalls.ts";

export class HttpTarget {
  readonly score: Score;
  private readonly recent = new Recent();

  constructor(
    readonly server: ServerProcess,
    family: string,
  ) {
    this.score = new Score(family);
  }

  /** Sends one case and throws a FuzzFailure for a crash, a hang, a 5xx or a malformed error body. */
  async check(c: HttpCase): Promise<void> {
    let answer;
    const shown = describeCase(c);
    const started = Date.now();
    try {
      answer = await send({ port: this.server.httpPort }, c);
    } catch (err) {
      const e = err as Error & { clientSide?: boolean; code?: string };
      if (e.clientSide) {
        this.score.count("unsendable");
        return;
      }
      this.score.count("no answer");
      this.recent.push(`${shown} -> no answer (${e.code ?? e.message})`);
      await this.server.settle();
      await this.crashed(c);
      if (e.code === "ECONNRESET" || e.code === "EPIPE") {
        // the server closed the connection on this request (without dying): a broken answer, not a stall
        throw new FuzzFailure(`${c.route}: connection reset without an answer`, shown, e.message);
      }
      return this.stall(c, shown, "no answer");
    }
    const latency = Date.now() - started;
    this.score.count(`${Math.floor(answer.status / 100)}xx`);
    this.recent.push(`${shown} -> ${answer.status} in ${latency} ms`);
    await this.crashed(c);
    if (latency > SLOW_MS) return this.stall(c, shown, `slow answer (>${SLOW_MS} ms)`);
    const problem = judge(c, answer);
    if (problem) {
      const parser = answer.status < 500 && /"statusCode":\s*4\d\d/.test(answer.body.toString("utf8"));
      // 5xx are grouped by route (not by body encoding) and message; malformed error bodies by protocol and message;
      // Node's HTTP parser refusing a request (431, malformed URL) answers before any route: one kind for all
      const text = answer.body.toString("utf8");
      const kind = parser
        ? `(HTTP parser, any route): ${answer.status} body not in the protocol's error shape`
        : answer.status >= 500 || c.mustRefuse
          ? `${c.route.replace(/ \((json|form|multipart|\?json=)\)$/, "")}: ${problem}${c.mustRefuse ? "" : ` ${errorGist(text)}`}`
          : `(${c.shape}-shaped routes): ${problem} ${errorGist(text)}`;
      throw new FuzzFailure(kind, describeCase(c), `${answer.status} ${clip(answer.body.toString("utf8"), 600)}`);
    }
  }

  private stall(c: HttpCase, shown: string, what: string): Promise<never> {
    const port = () => ({ port: this.server.httpPort });
    return diagnoseStall({
      server: this.server,
      score: this.score,
      recent: this.recent,
      route: c.route,
      shown,
      what,
      probe: async () => (await send(port(), { route: "probe", method: "GET", path: "/metrics", headers: {}, shape: "any" })).status < 500,
      again: async () => {
        const t = Date.now();
        try {
          await send(port(), c);
          return Date.now() - t;
        } catch {
          return undefined;
        }
      },
    });
  }

  private async crashed(c: HttpCase): Promise<void> {
    const exit = await this.server.checkExit();
    if (!exit) return;
    this.score.crashes++;
    this.score.count("crash");
    throw new FuzzFailure(
      `${c.route}: server process died (exit ${exit.code ?? exit.signal})`,
      describeCase(c),
      exit.output,
    );
  }

  /**
   * One property: fuzz with `arb`, then check the known-good requests still succeed, then fail the test with
   * every distinct failure this property found (each shrunk).
   */
  async run(arb: fc.Arbitrary<HttpCase>, numRuns: number, good: { case: HttpCase; status?: number }[]): Promise<void> {
    const before = new Set(this.score.failures.keys());
    await explore(this.score, arb, (c) => this.check(c), numRuns);
    await this.expectHealthy(good);
    const found = [...this.score.failures.values()].filter((f) => !before.has(f.kind));
    expect(found.map((f) => `${f.kind}\n    ${f.example}\n    -> ${clip(f.detail, 300)}`)).toEqual([]);
  }

  /** Known-good requests still succeed (after a property run). */
  async expectHealthy(cases: { case: HttpCase; status?: number }[]): Promise<void> {
    for (const { case: c, status = 200 } of cases) {
      const a = await send({ port: this.server.httpPort }, c);
      expect(a.status, `${describeCase(c)} -> ${a.body.toString("utf8").slice(0, 500)}`).toBe(status);
    }
    expect(this.server.alive()).toBe(true);
  }
}

/** The gist of an error message, for grouping: numbers and quoted names blanked, clipped. */
export function errorGist(text: string): string {
  let message = text;
  try {
    const json = JSON.parse(text) as { error?: unknown; status?: { info?: unknown } };
    message = String(json.error ?? json.status?.info ?? text);
  } catch {
    // not JSON: the text itself
  }
  const gist = message
    .replace(/'[^']*'|"[^"]*"|`[^`]*`/g, "'…'")
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, "N")
    .slice(0, 90);
  return JSON.stringify(gist);
}
