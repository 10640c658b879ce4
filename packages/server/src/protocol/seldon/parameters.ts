import { SeldonError } from "./errors.ts";

/** One `--parameters` / graph node parameter: `{"name": "alpha", "value": "0.5", "type": "FLOAT"}`. */
export interface SeldonParameter {
  name: string;
  value: unknown;
  type?: "INT" | "FLOAT" | "DOUBLE" | "STRING" | "BOOL" | (string & {});
}

function bad(message: string): never {
  throw new SeldonError(message, 500, "MICROSERVICE_BAD_PARAMETER");
}

function convert(p: SeldonParameter): unknown {
  const type = (p.type ?? "STRING").toUpperCase();
  const raw = p.value;
  const text = typeof raw === "string" ? raw.trim() : raw;
  switch (type) {
    case "INT": {
      const n = typeof text === "number" ? text : typeof text === "string" && /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n)) bad(`Parameter ${p.name}: ${JSON.stringify(raw)} is not an INT`);
      return n;
    }
    case "FLOAT":
    case "DOUBLE": {
      const n = typeof text === "number" ? text : typeof text === "string" && text !== "" ? Number(text) : Number.NaN;
      if (!Number.isFinite(n)) bad(`Parameter ${p.name}: ${JSON.stringify(raw)} is not a ${type}`);
      return n;
    }
    case "BOOL": {
      if (typeof raw === "boolean") return raw;
      const s = String(text).toLowerCase();
      // Python's strtobool, which Seldon uses.
      if (["y", "yes", "t", "true", "on", "1"].includes(s)) return true;
      if (["n", "no", "f", "false", "off", "0"].includes(s)) return false;
      return bad(`Parameter ${p.name}: ${JSON.stringify(raw)} is not a BOOL (true or false)`);
    }
    case "STRING":
      return typeof raw === "string" ? raw : JSON.stringify(raw);
    default:
      return bad(`Parameter ${p.name} has unknown type ${JSON.stringify(p.type)}; use INT, FLOAT, DOUBLE, STRING or BOOL`);
  }
}

/**
 * Seldon's `--parameters` (a JSON list, or the list itself) to constructor arguments:
 * `[{"name":"ratio","value":"0.3","type":"FLOAT"}]` -> `{ ratio: 0.3 }`. Bad input -> MICROSERVICE_BAD_PARAMETER.
 */
export function parseSeldonParameters(input: string | unknown[] | undefined): Record<string, unknown> {
  if (input === undefined || input === "") return {};
  let list: unknown = input;
  if (typeof input === "string") {
    try {
      list = JSON.parse(input);
    } catch (err) {
      bad(`Parameters are not valid JSON (${(err as Error).message}); expected [{"name": …, "value": …, "type": …}]`);
    }
  }
  if (!Array.isArray(list)) bad('Parameters must be a JSON list of {"name", "value", "type"}');
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const p = item as SeldonParameter;
    if (typeof p !== "object" || p === null || typeof p.name !== "string" || p.name === "" || !("value" in p)) {
      bad(`Each parameter needs a name and a value, got ${JSON.stringify(item)}`);
    }
    out[p.name] = convert(p);
  }
  return out;
}
