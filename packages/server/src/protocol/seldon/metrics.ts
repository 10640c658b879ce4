import { SeldonError } from "./errors.ts";
import type { MetricType, SeldonMetric } from "./types.ts";

/** Prometheus metric names; a key becomes (the stem of) one, so it has to be one already. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label names; names starting with `__` are reserved for Prometheus itself. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const TYPES: readonly MetricType[] = ["COUNTER", "GAUGE", "TIMER"];

/**
 * A metric's type: by name, by enum number, or none at all for COUNTER — the enum's zero, which protobuf's JSON form
 * leaves out (a metric that went through a proto message, Seldon's clients' included, comes back without `type`).
 */
export function metricTypeOf(type: unknown): MetricType | undefined {
  if (type === undefined || type === null) return "COUNTER";
  if (typeof type === "number") return Number.isInteger(type) ? TYPES[type] : undefined;
  return TYPES.find((t) => t === type);
}

/** Seldon's error for anything wrong with a custom metric: a 500, since the model (not the client) made it. */
export function badMetric(detail: string): SeldonError {
  return new SeldonError(detail, 500, "MICROSERVICE_BAD_METRIC");
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The tags as label values, or undefined when they cannot be labels. Numbers are stringified as Python would. */
function validTags(tags: unknown, type: string): Record<string, string> | undefined {
  if (!isPlainObject(tags)) return undefined;
  const out: Record<string, string> = {};
  for (const name of Object.keys(tags)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) return undefined;
    // A histogram's buckets own `le`: a tag of that name would make every bucket ambiguous.
    if (type === "TIMER" && name === "le") return undefined;
    const v = tags[name];
    if (typeof v === "string") out[name] = v;
    else if (typeof v === "number" && Number.isFinite(v)) out[name] = String(v);
    else return undefined;
  }
  return out;
}

/** One metric in normal form, or undefined when it is not a valid one. */
function validMetric(item: unknown): SeldonMetric | undefined {
  if (!isPlainObject(item)) return undefined;
  const { key, value, tags } = item;
  const type = metricTypeOf(item.type);
  if (typeof key !== "string" || !METRIC_NAME.test(key)) return undefined;
  if (!type) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  // A counter only goes up, and a duration is never negative.
  if (value < 0 && type !== "GAUGE") return undefined;
  const metric: SeldonMetric = { key, type, value };
  if (tags !== undefined && tags !== null) {
    const labels = validTags(tags, type);
    if (!labels) return undefined;
    if (Object.keys(labels).length > 0) metric.tags = labels;
  }
  return metric;
}

/**
 * The custom metrics a Seldon component returned (`meta.metrics` or its `metrics()` method), checked and in normal
 * form: a list, a single metric or nothing (`undefined`/`null` -> `[]`). Every item needs a `key` that is a
 * Prometheus metric name, a finite numeric `value` (not negative for COUNTER and TIMER), a `type` of COUNTER, GAUGE
 * or TIMER (none is COUNTER, as in protobuf's JSON form), and optionally `tags` whose names are label names and whose
 * values are strings or numbers. Anything else throws Seldon's 500 MICROSERVICE_BAD_METRIC "Bad metric created
 * during request: <json of what was returned>".
 */
export function validateMetrics(value: unknown): SeldonMetric[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  const out: SeldonMetric[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const metric = validMetric(items[i]);
    if (!metric) throw badMetric(`Bad metric created during request: ${describe(value)}`);
    out[i] = metric;
  }
  return out;
}
