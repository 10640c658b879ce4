/**
 * Literals (`!true`, `!"text"`, `!{"a":1}`, `!-1.5`, `!nan`, …): a path component that is its own value,
 * whatever the document holds. An unknown bare word (`!hello`) is not a literal.
 */
import { containerEnd } from "./scanner.ts";

/** A literal's JSON text and the path after it (starting with `.` or `|`, or empty). */
export interface LiteralOutput {
  json: string;
  rest: string;
}

const WORDS = new Set(["true", "false", "null", "nan", "inf"]);

/** Reads the literal component at the start of `path` (which starts with `!`). */
export function readLiteral(path: string): LiteralOutput | undefined {
  const body = path.slice(1);
  const lead = body[0];
  if (lead !== undefined && (lead === "{" || lead === "[" || lead === '"' || lead === "+" || lead === "-" || (lead >= "0" && lead <= "9"))) {
    // Structured and numeric literals run to their closing bracket, or else to the end of the path.
    const end = containerEnd(body, 0);
    return { json: body.slice(0, end), rest: body.slice(end) };
  }
  let word = body;
  let rest = "";
  for (let i = 1; i < path.length; i++) {
    if (path[i] === "|" || path[i] === ".") {
      word = path.slice(1, i);
      rest = path.slice(i);
      break;
    }
  }
  return WORDS.has(word.toLowerCase()) ? { json: word, rest } : undefined;
}
