/**
 * A `multipart/form-data` body (RFC 7578) split into its parts. Parts keep views into the request body, and the
 * scan uses `Buffer.indexOf`, so multi-megabyte uploads cost one pass of native search.
 */
import { Buffer } from "node:buffer";
import { SeldonError } from "./errors.ts";

export interface MultipartPart {
  /** The form field name from `Content-Disposition: form-data; name="…"`. */
  name: string;
  /** Present (possibly empty) when the part is a file upload. */
  filename?: string;
  contentType?: string;
  /** A view into the request body: no copy is made. */
  data: Uint8Array;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;

function bad(message: string): never {
  throw new SeldonError(`Malformed multipart/form-data body: ${message}`);
}

/** A header value split into its lowercased main value and its parameters (`; key=value`, quoted or not). */
export function parseHeaderParams(header: string): { value: string; params: Map<string, string> } {
  const n = header.length;
  let i = header.indexOf(";");
  if (i === -1) i = n;
  const value = header.slice(0, i).trim().toLowerCase();
  const params = new Map<string, string>();
  while (i < n) {
    i++; // past ';'
    const keyStart = i;
    while (i < n && header[i] !== "=" && header[i] !== ";") i++;
    const key = header.slice(keyStart, i).trim().toLowerCase();
    if (i >= n || header[i] === ";") continue; // a bare token without a value
    i++; // past '='
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
    let val: string;
    if (header[i] === '"') {
      i++;
      let out = "";
      let runStart = i;
      while (i < n && header[i] !== '"') {
        // Only \" and \\ are escapes: a Windows path such as C:\dir\file keeps its backslashes.
        if (header[i] === "\\" && (header[i + 1] === '"' || header[i + 1] === "\\")) {
          out += header.slice(runStart, i) + header[i + 1];
          i += 2;
          runStart = i;
        } else {
          i++;
        }
      }
      val = out + header.slice(runStart, i);
      while (i < n && header[i] !== ";") i++;
    } else {
      const valStart = i;
      while (i < n && header[i] !== ";") i++;
      val = header.slice(valStart, i).trim();
    }
    if (key !== "" && !params.has(key)) params.set(key, val);
  }
  return { value, params };
}

/** RFC 5987 `UTF-8''caf%C3%A9.txt` (used by `filename*=`); undefined when it cannot be decoded. */
function decodeExtValue(value: string): string | undefined {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!m) return undefined;
  const charset = m[1].toLowerCase();
  try {
    if (charset === "utf-8" || charset === "") return decodeURIComponent(m[2]);
    if (charset === "iso-8859-1" || charset === "latin1") {
      return m[2].replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function param(params: Map<string, string>, key: string): string | undefined {
  const extended = params.get(`${key}*`);
  if (extended !== undefined) {
    const decoded = decodeExtValue(extended);
    if (decoded !== undefined) return decoded;
  }
  return params.get(key);
}

/** The boundary named in a `multipart/form-data; boundary=…` content type. */
export function multipartBoundary(contentType: string): string {
  const { value, params } = parseHeaderParams(contentType);
  if (!value.startsWith("multipart/")) bad(`Content-Type is ${JSON.stringify(value)}, not multipart/form-data`);
  const boundary = params.get("boundary");
  if (boundary === undefined || boundary === "") bad("the Content-Type has no boundary parameter");
  if (boundary.length > 200 || /[\r\n]/.test(boundary)) bad("the boundary parameter is not a valid boundary");
  return boundary;
}

type DelimiterEnd = { kind: "part"; next: number } | { kind: "close" } | undefined;

/**
 * What follows a `--boundary` that ends at `at`: a line break (another part follows), `--` (the close delimiter),
 * or anything else (so this was data that only looks like a boundary).
 */
function delimiterEnd(buf: Buffer, at: number): DelimiterEnd {
  let i = at;
  let close = false;
  if (buf[i] === DASH && buf[i + 1] === DASH) {
    close = true;
    i += 2;
  }
  while (i < buf.length && (buf[i] === SPACE || buf[i] === TAB)) i++; // transport padding
  if (close) return i >= buf.length || buf[i] === CR || buf[i] === LF ? { kind: "close" } : undefined;
  if (buf[i] === CR && buf[i + 1] === LF) return { kind: "part", next: i + 2 };
  if (buf[i] === LF) return { kind: "part", next: i + 1 };
  return undefined;
}

interface Delimiter {
  /** Where the part data before it ends (its line break excluded). */
  dataEnd: number;
  end: NonNullable<DelimiterEnd>;
}

/** The next real delimiter (`\n--boundary` plus a valid ending) at or after `from`. */
function findDelimiter(buf: Buffer, needle: Buffer, from: number, dataStart: number): Delimiter | undefined {
  let at = from;
  for (;;) {
    const idx = buf.indexOf(needle, at);
    if (idx === -1) return undefined;
    const end = delimiterEnd(buf, idx + needle.length);
    if (end) {
      let dataEnd = idx;
      if (dataEnd > dataStart && buf[dataEnd - 1] === CR) dataEnd--;
      return { dataEnd: Math.max(dataEnd, dataStart), end };
    }
    at = idx + 1;
  }
}

/** Reads a part's header lines from `start`; returns them (lowercased names) and where the part's data begins. */
function readHeaders(buf: Buffer, start: number, partNo: number): { headers: Map<string, string>; dataStart: number } {
  const headers = new Map<string, string>();
  let last: string | undefined;
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf(LF, pos);
    if (lineEnd === -1) {
      if (pos >= buf.length) bad("missing closing delimiter");
      bad(`the headers of part ${partNo} are not terminated by an empty line`);
    }
    const textEnd = lineEnd > pos && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    const line = buf.toString("utf8", pos, textEnd);
    pos = lineEnd + 1;
    if (line === "") return { headers, dataStart: pos };
    if ((line[0] === " " || line[0] === "\t") && last !== undefined) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`); // obsolete header folding
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) bad(`part ${partNo} has a malformed header line ${JSON.stringify(line.slice(0, 100))}`);
    last = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
  }
}

/**
 * Splits a `multipart/form-data` body into parts. Throws a 400 `SeldonError` when the content type has no
 * boundary, the body has no opening or closing delimiter, or a part lacks a `Content-Disposition` name.
 */
export function parseMultipart(body: Uint8Array, contentType: string): MultipartPart[] {
  const boundary = multipartBoundary(contentType);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dashBoundary = Buffer.from(`--${boundary}`, "utf8");
  const needle = Buffer.concat([Buffer.from([LF]), dashBoundary]);

  // The opening delimiter starts the body or follows a preamble's line break.
  let end: DelimiterEnd;
  if (buf.subarray(0, dashBoundary.length).equals(dashBoundary)) end = delimiterEnd(buf, dashBoundary.length);
  if (!end) {
    const first = findDelimiter(buf, needle, 0, 0);
    if (!first) bad(`no delimiter line for boundary ${JSON.stringify(boundary)} was found`);
    end = first.end;
  }

  const parts: MultipartPart[] = [];
  while (end.kind === "part") {
    const partNo = parts.length + 1;
    const { headers, dataStart } = readHeaders(buf, end.next, partNo);
    // Searching from the header block's last line feed also accepts an empty part written without its own CRLF.
    const next = findDelimiter(buf, needle, dataStart - 1, dataStart);
    if (!next) bad("missing closing delimiter");

    const disposition = headers.get("content-disposition");
    if (disposition === undefined) bad(`part ${partNo} has no Content-Disposition header`);
    const { params } = parseHeaderParams(disposition);
    const name = param(params, "name");
    if (name === undefined || name === "") bad(`part ${partNo} has no name in its Content-Disposition header`);
    const part: MultipartPart = { name, data: body.subarray(dataStart, next.dataEnd) };
    const filename = param(params, "filename");
    if (filename !== undefined) part.filename = filename;
    const type = headers.get("content-type");
    if (type !== undefined) part.contentType = type;
    parts.push(part);
    end = next.end;
  }
  return parts;
}
