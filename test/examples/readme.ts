/**
 * Reads the commands and outputs that an example's README shows, so tests can run exactly what the
 * README tells users to run (curl commands, from the repository root) and check the output it shows.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { ROOT } from "../helpers/server.ts";

export interface Block {
  lang: string;
  text: string;
}

/** A curl command from a README, with the fenced block that follows it (its shown output), if any. */
export interface Curl {
  command: string;
  method: string;
  /** Path and query, e.g. `/v1/models/iris:predict`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** `-D -`: the response headers are printed. */
  dumpHeaders: boolean;
  /** `-o FILE`: the body goes to a file instead of the terminal. */
  outputFile?: string;
  expected?: Block;
}

/** The fenced code blocks of a Markdown file, in order. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) blocks.push({ lang: m[1], text: m[2] });
  return blocks;
}

/** Splits a POSIX shell command into words: single and double quotes, backslash escapes and line continuations. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i];
    if (ch === "\\") {
      const next = command[++i];
      if (next !== "\n") word = (word ?? "") + next;
    } else if (ch === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${command}`);
      word = (word ?? "") + command.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let s = "";
      for (i++; i < command.length && command[i] !== '"'; i++) {
        if (command[i] === "\\" && '"\\$`'.includes(command[i + 1])) i++;
        s += command[i];
      }
      word = (word ?? "") + s;
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Reads a curl data argument: `@file` (relative to the repository root) or the literal text. */
function dataArg(value: string, binary: boolean): Buffer {
  if (!value.startsWith("@")) return Buffer.from(value, "utf8");
  const bytes = readFileSync(join(ROOT, value.slice(1)));
  // `-d @file` strips carriage returns and newlines; `--data-binary @file` sends the file as it is.
  return binary ? bytes : Buffer.from(bytes.toString("latin1").replace(/[\r\n]/g, ""), "latin1");
}

/** Parses one curl command; throws on options it does not model, so a README cannot drift silently. */
export function parseCurl(command: string): Omit<Curl, "expected"> {
  const words = shellWords(command.trim());
  if (words[0] !== "curl") throw new Error(`not a curl command: ${command}`);
  const headers: Record<string, string> = {};
  let method: string | undefined;
  let url: string | undefined;
  let body: Buffer | undefined;
  let dumpHeaders = false;
  let outputFile: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w === "-s" || w === "--silent" || w === "-S" || w === "-sS") continue;
    if (w === "-H" || w === "--header") {
      const h = words[++i];
      const colon = h.indexOf(":");
      headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
    } else if (w === "-d" || w === "--data" || w === "--data-binary") {
      if (body) throw new Error(`several data arguments are not modelled: ${command}`);
      body = dataArg(words[++i], w === "--data-binary");
    } else if (w === "-X" || w === "--request") method = words[++i];
    else if (w === "-D" || w === "--dump-header") {
      if (words[++i] !== "-") throw new Error(`only -D - is modelled: ${command}`);
      dumpHeaders = true;
    } else if (w === "-o" || w === "--output") outputFile = words[++i];
    else if (w.startsWith("-")) throw new Error(`curl option ${w} is not modelled: ${command}`);
    else if (url) throw new Error(`two URLs in: ${command}`);
    else url = w;
  }
  if (!url) throw new Error(`no URL in: ${command}`);
  // curl's default content type for -d/--data-binary.
  if (body && !headers["content-type"]) headers["content-type"] = "application/x-www-form-urlencoded";
  const path = url.replace(/^(https?:\/\/)?[^/]+/, "");
  return { command, method: method ?? (body ? "POST" : "GET"), path, headers, body, dumpHeaders, outputFile };
}

/** Every block of a README that is a curl command, each with the block that follows it. */
export function readmeCurls(readme: string): Curl[] {
  const blocks = fencedBlocks(readFileSync(readme, "utf8"));
  const curls: Curl[] = [];
  blocks.forEach((b, i) => {
    if (!/^curl\s/.test(b.text.trim())) return;
    const next = blocks[i + 1];
    const expected = next && !/^curl\s/.test(next.text.trim()) && next.lang !== "sh" ? next : undefined;
    curls.push({ ...parseCurl(b.text), expected });
  });
  return curls;
}

/** Sends a README curl command to `baseUrl` instead of the host it names. */
export function send(curl: Curl, baseUrl: string): Promise<Response> {
  return fetch(`${baseUrl}${curl.path}`, { method: curl.method, headers: curl.headers, body: curl.body });
}

/** Deep equality where numbers may differ by `tolerance` (float output shown in docs). */
export function expectClose(actual: unknown, expected: unknown, tolerance: number, where = "$"): void {
  if (typeof expected === "number") {
    expect(typeof actual, where).toBe("number");
    expect(Math.abs((actual as number) - expected), `${where}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
      tolerance,
    );
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), where).toBe(true);
    expect((actual as unknown[]).length, `${where}.length`).toBe(expected.length);
    expected.forEach((e, i) => {
      expectClose((actual as unknown[])[i], e, tolerance, `${where}[${i}]`);
    });
  } else if (typeof expected === "object" && expected !== null) {
    expect(typeof actual === "object" && actual !== null, where).toBe(true);
    expect(Object.keys(actual as object).sort(), `${where} keys`).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected))
      expectClose((actual as Record<string, unknown>)[k], v, tolerance, `${where}.${k}`);
  } else {
    expect(actual, where).toEqual(expected);
  }
}
