/**
 * Which request headers a graph forwards to its steps: names matching any of the patterns (regexes,
 * unanchored, case-insensitive), as KServe's PROPAGATE_HEADERS. Invalid patterns are skipped and reported.
 */
export interface HeaderPolicy {
  patterns: RegExp[];
  invalid: string[];
}

export function compileHeaderPatterns(sources: readonly string[]): HeaderPolicy {
  const patterns: RegExp[] = [];
  const invalid: string[] = [];
  for (const raw of sources) {
    const source = raw.trim();
    if (!source) continue;
    try {
      patterns.push(new RegExp(source, "i"));
    } catch {
      invalid.push(source);
    }
  }
  return { patterns, invalid };
}

/** PROPAGATE_HEADERS is a comma-separated list. */
export function patternsFromEnv(value: string | undefined): string[] {
  return value ? value.split(",") : [];
}

/** Connection-level headers describe the client's own hop; forwarding them would corrupt the step's request. */
const HOP_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "proxy-authorization",
  "proxy-authenticate",
  "proxy-connection",
]);

export function propagatedHeaders(
  headers: Record<string, string | string[] | undefined>,
  policy: HeaderPolicy,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (policy.patterns.length === 0) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_HEADERS.has(name.toLowerCase())) continue;
    if (policy.patterns.some((p) => p.test(name))) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
