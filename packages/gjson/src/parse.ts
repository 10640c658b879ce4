/**
 * Reading a whole document as one value without a path. Like the reference, an object or array takes
 * the rest of the text as its raw JSON (trailing text included); scalars stop where their token stops,
 * and an unterminated string runs to the end of the text.
 */
import { EMPTY, literalResult, numberResult, Result, stringResult } from "./result.ts";
import { literalEnd, numberEnd, scanString, valueKindAt } from "./scanner.ts";

/** Parses a document into a result. Text that cannot start a value gives a non-existent result. */
export function parse(json: string): Result {
  for (let i = 0; i < json.length; i++) {
    if (json.charCodeAt(i) <= 0x20) continue;
    switch (valueKindAt(json, i)) {
      case "container":
        return new Result("JSON", json.slice(i));
      case "string":
        return stringResult(json, i, scanString(json, i + 1));
      case "literal":
        return literalResult(json.slice(i, literalEnd(json, i)));
      case "number":
        return numberResult(json.slice(i, numberEnd(json, i)));
      default:
        return EMPTY;
    }
  }
  return EMPTY;
}
