import { NotAcceptable } from "../../errors/index.ts";
import { isMsgpackType, JSON_TYPE, MSGPACK_TYPES } from "./media.ts";

export type AnswerFormat = "json" | "msgpack";

export interface Negotiated {
  format: AnswerFormat;
  /** The Content-Type to answer with (a MessagePack alias the client named is echoed). */
  contentType: string;
}

interface Range {
  type: string;
  q: number;
  order: number;
}

function parseAccept(header: string): Range[] {
  return header
    .split(",")
    .map((part, order) => {
      const [type, ...params] = part.split(";");
      let q = 1;
      for (const p of params) {
        const [k, v] = p.split("=").map((s) => s.trim());
        if (k.toLowerCase() === "q") q = Number.isFinite(Number(v)) ? Number(v) : 0;
      }
      return { type: type.trim().toLowerCase(), q, order };
    })
    .filter((r) => r.type.length > 0);
}

/**
 * How an object or array answer is encoded, from the Accept header: none or `*\/*` -> JSON, a MessagePack type
 * -> MessagePack, the highest `q` first; an Accept that names only other types is a 406.
 */
export function negotiateAnswer(accept: string | undefined): Negotiated {
  const json: Negotiated = { format: "json", contentType: JSON_TYPE };
  if (accept === undefined || accept.trim() === "") return json;
  const ranges = parseAccept(accept);
  const refused = new Set(ranges.filter((r) => r.q <= 0).map((r) => r.type));
  const offers: Negotiated[] = [json, ...MSGPACK_TYPES.map((t): Negotiated => ({ format: "msgpack", contentType: t }))].filter(
    (o) => !refused.has(o.contentType),
  );
  const wanted = ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);
  for (const r of wanted) {
    if (r.type === "*/*" || r.type === "application/*") {
      if (offers.length > 0) return offers[0];
      continue;
    }
    if (r.type === JSON_TYPE && !refused.has(JSON_TYPE)) return json;
    if (isMsgpackType(r.type) && !refused.has(r.type)) return { format: "msgpack", contentType: r.type };
  }
  throw new NotAcceptable(`Cannot answer in any type the Accept header names (${accept}); this predictor answers ${JSON_TYPE} or application/msgpack`);
}
