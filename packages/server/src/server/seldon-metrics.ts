import { badMetric, LABEL_NAME, METRIC_NAME, type MetricType, type SeldonMetric } from "../protocol/seldon/index.ts";

/** The Seldon method a custom metric was reported from: the value of its `method` label. */
export type SeldonMetricMethod = "predict" | "inputtransform" | "outputtransform" | "router" | "aggregate" | "feedback" | "health";

/** The labels every custom metric carries besides its own tags; the caller supplies their values. */
export const SELDON_METRIC_LABELS = [
  "method",
  "model_name",
  "model_image",
  "model_version",
  "predictor_name",
  "predictor_version",
  "deployment_name",
  "worker_id",
] as const;

/**
 * Key prefixes a model may not use: tserve's own families (request_*, model_load_*, graph_*), prom-client's default
 * process_* and nodejs_* ones, and Seldon's own seldon_api_* namespace (the feedback counters live there).
 */
export const RESERVED_METRIC_PREFIXES: readonly string[] = ["request_", "model_load_", "graph_", "process_", "nodejs_", "seldon_api_"];

/** TIMER histogram buckets in seconds: prometheus_client's defaults, as Seldon's Python wrapper uses. */
export const TIMER_BUCKETS_SECONDS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** The same bounds in milliseconds, the unit a TIMER arrives in, so bucket choice is exact (5 ms lands in le=0.005). */
const BUCKETS_MS = [5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const LE = TIMER_BUCKETS_SECONDS.map((s) => `le="${s}"`);

const FEEDBACK = "seldon_api_model_feedback";
const FEEDBACK_REWARD = "seldon_api_model_feedback_reward";

/** One label set of one family. */
interface Series {
  /** `a="x",b="y"`, built once when the series is created. */
  readonly labels: string;
  /** COUNTER total or GAUGE value. */
  value: number;
  /** TIMER: observations per bucket (not cumulative), the last slot past the largest bound. */
  readonly counts: number[] | undefined;
  /** TIMER: milliseconds, divided only when rendered so sums of whole milliseconds stay exact. */
  sumMs: number;
  count: number;
}

/** One metric family: one HELP/TYPE block in the exposition. */
interface Family {
  /** The name on the HELP/TYPE lines: `<key>_total` for a counter, `<key>` otherwise. */
  readonly name: string;
  /** The key that created it, for error messages. */
  readonly key: string;
  readonly type: MetricType;
  readonly help: string;
  /** Series in first-recorded order: the render order. */
  readonly series: Series[];
  /** Series by the label-set number of (fixed labels, tags) as given: the per-call lookup. */
  readonly byId: Map<number, Series>;
  /** Series by their merged, sorted label set, so different inputs that merge alike share one series. */
  readonly byCanonical: Map<string, Series>;
}

/**
 * A trie over (label name, label value) pairs in the order given, fixed labels first, then a `tags` branch: it turns a
 * label set into a number with a few map lookups on strings the caller already holds, without building a key string.
 */
interface LabelNode {
  /** The label set ending here, or -1 until one does. */
  id: number;
  next: Map<string, Map<string, LabelNode>> | undefined;
  tags: LabelNode | undefined;
}

function labelNode(): LabelNode {
  return { id: -1, next: undefined, tags: undefined };
}

function walk(node: LabelNode, labels: Readonly<Record<string, string>>): LabelNode {
  for (const k in labels) {
    const v = labels[k];
    const value = typeof v === "string" ? v : String(v);
    node.next ??= new Map();
    let byValue = node.next.get(k);
    if (!byValue) node.next.set(k, (byValue = new Map()));
    let child = byValue.get(value);
    if (!child) byValue.set(value, (child = labelNode()));
    node = child;
  }
  return node;
}

/** A family or series that only joins the store once the whole call has been validated. */
interface Pending {
  /** Whether anything was added since the last reset: most calls add nothing and skip the bookkeeping. */
  dirty: boolean;
  families: Family[];
  keys: Map<string, Family>;
  claims: Map<string, Family>;
  series: { family: Family; id: number; canonical: string; series: Series }[];
}

function clearPending(pending: Pending): void {
  pending.families.length = 0;
  pending.keys.clear();
  pending.claims.clear();
  pending.series.length = 0;
  pending.dirty = false;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Prometheus' float spelling: Go's `+Inf`, `-Inf` and `NaN`. */
function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return "NaN";
  return value > 0 ? "+Inf" : "-Inf";
}

function promType(type: MetricType): string {
  return type === "COUNTER" ? "counter" : type === "GAUGE" ? "gauge" : "histogram";
}

function familyName(key: string, type: MetricType): string {
  // As prometheus_client does: a counter `foo` and a counter `foo_total` are both exposed as `foo_total`.
  return type === "COUNTER" && !key.endsWith("_total") ? `${key}_total` : key;
}

/** Every sample name a family puts in the exposition: two families may not share any. */
function sampleNames(name: string, type: MetricType): string[] {
  return type === "TIMER" ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

function helpFor(key: string, type: MetricType): string {
  if (key === FEEDBACK) return "Seldon feedback requests that carried a reward";
  if (key === FEEDBACK_REWARD) return "Sum of the rewards in Seldon feedback requests";
  if (type === "TIMER") return `Custom Seldon TIMER metric ${key}, in seconds`;
  return `Custom Seldon ${type} metric ${key}`;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The custom metrics Seldon components report (COUNTER, GAUGE, TIMER) and the feedback counters, kept per label set
 * and rendered in Prometheus text format 0.0.4, to be appended to the server's own /metrics output.
 *
 * Recording does no formatting: each (fixed labels, tags) pair is looked up in a trie of label sets, and a label set is
 * formatted once, when its series is first seen. A call is validated as a whole before anything is recorded.
 */
export class SeldonMetricsStore {
  private readonly families: Family[] = [];
  /** Metric key -> its family: the first type a key was recorded with is the only one it may have. */
  private readonly keys = new Map<string, Family>();
  /** Sample name -> the family that emits it, so no two families ever share a name in the exposition. */
  private readonly claims = new Map<string, Family>();
  private readonly reservedPrefixes: readonly string[];
  /** Label sets seen so far, as a trie (see LabelNode); growing it has no effect on the output. */
  private readonly labelSets = labelNode();
  private labelSetCount = 0;
  /** Scratch space for one call, reused so a call that adds nothing allocates nothing for it. */
  private readonly pending: Pending = { dirty: false, families: [], keys: new Map(), claims: new Map(), series: [] };

  constructor(options: { reservedPrefixes?: readonly string[] } = {}) {
    this.reservedPrefixes = options.reservedPrefixes ?? RESERVED_METRIC_PREFIXES;
  }

  /**
   * Records a component's metrics (normally the output of `validateMetrics`) with the fixed `labels` (see
   * SELDON_METRIC_LABELS) merged with each metric's tags; a tag wins over a fixed label of the same name.
   * COUNTER adds, GAUGE sets, TIMER observes milliseconds as seconds. Throws Seldon's 500 MICROSERVICE_BAD_METRIC,
   * recording nothing from the call, when a key was first recorded with another type, would share a name with
   * another family, or is reserved.
   */
  record(metrics: readonly SeldonMetric[], labels: Readonly<Record<string, string>>): void {
    this.apply(metrics, labels, false);
  }

  /**
   * Seldon's feedback counters: when `reward` is truthy, `seldon_api_model_feedback_total` counts one and
   * `seldon_api_model_feedback_reward_total` adds the reward. A counter cannot go down, so only finite positive
   * rewards are added to the sum; negative ones are counted but not summed.
   */
  recordFeedback(reward: number, labels: Readonly<Record<string, string>>): void {
    if (!reward) return;
    const metrics: SeldonMetric[] = [{ key: FEEDBACK, type: "COUNTER", value: 1 }];
    if (reward > 0 && Number.isFinite(reward)) metrics.push({ key: FEEDBACK_REWARD, type: "COUNTER", value: reward });
    this.apply(metrics, labels, true);
  }

  /** The exposition text, one HELP and one TYPE line per family; empty when nothing was recorded. */
  render(): string {
    let out = "";
    for (const family of this.families) {
      const name = family.name;
      out += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${promType(family.type)}\n`;
      for (const s of family.series) {
        const braces = s.labels ? `{${s.labels}}` : "";
        if (family.type !== "TIMER") {
          out += `${name}${braces} ${formatValue(s.value)}\n`;
          continue;
        }
        const prefix = s.labels ? `${name}_bucket{${s.labels},` : `${name}_bucket{`;
        const counts = s.counts!;
        let cumulative = 0;
        for (let b = 0; b < LE.length; b++) {
          cumulative += counts[b];
          out += `${prefix}${LE[b]}} ${cumulative}\n`;
        }
        out += `${prefix}le="+Inf"} ${s.count}\n`;
        out += `${name}_sum${braces} ${formatValue(s.sumMs / 1000)}\n`;
        out += `${name}_count${braces} ${s.count}\n`;
      }
    }
    return out;
  }

  private apply(metrics: readonly SeldonMetric[], labels: Readonly<Record<string, string>>, internal: boolean): void {
    const n = metrics.length;
    if (n === 0) return;
    const targets: Series[] = new Array(n);
    const pending = this.pending;
    // Left dirty only by a call that threw.
    if (pending.dirty) clearPending(pending);

    // Where the fixed labels lead in the label trie, once per call.
    const fixed = walk(this.labelSets, labels);

    // Validate everything (and resolve every series) before changing any value.
    for (let i = 0; i < n; i++) {
      const m = metrics[i];
      const value = m.value;
      if (typeof value !== "number" || !Number.isFinite(value) || (value < 0 && m.type !== "GAUGE")) {
        throw badMetric(`Bad metric created during request: ${describe(metrics)}`);
      }
      let family = this.keys.get(m.key) ?? (pending.dirty ? pending.keys.get(m.key) : undefined);
      if (family) {
        if (family.type !== m.type) throw badMetric(`metric ${m.key} was a ${family.type}, cannot record it as a ${m.type}`);
      } else {
        family = this.newFamily(m.key, m.type, internal, pending);
      }
      targets[i] = this.seriesFor(family, labels, fixed, m.tags, pending);
    }

    if (pending.dirty) this.commit(pending);
    for (let i = 0; i < n; i++) {
      const s = targets[i];
      const value = metrics[i].value;
      switch (metrics[i].type) {
        case "COUNTER":
          s.value += value;
          break;
        case "GAUGE":
          s.value = value;
          break;
        case "TIMER": {
          let b = 0;
          while (b < BUCKETS_MS.length && value > BUCKETS_MS[b]) b++;
          s.counts![b]++;
          s.sumMs += value;
          s.count++;
          break;
        }
      }
    }
  }

  /** A family for a key seen for the first time, after checking its name is free; joins the store on commit. */
  private newFamily(key: string, type: MetricType, internal: boolean, pending: Pending): Family {
    if (typeof key !== "string" || !METRIC_NAME.test(key)) throw badMetric(`Bad metric created during request: key ${describe(key)} is not a Prometheus metric name`);
    if (type !== "COUNTER" && type !== "GAUGE" && type !== "TIMER") throw badMetric(`Bad metric created during request: ${describe(type)} is not COUNTER, GAUGE or TIMER`);
    if (!internal) {
      for (const prefix of this.reservedPrefixes) {
        if (key.startsWith(prefix)) throw badMetric(`metric ${key} is reserved: names starting with ${prefix} are the server's own`);
      }
    }
    const name = familyName(key, type);
    const same = this.claims.get(name) ?? (pending.dirty ? pending.claims.get(name) : undefined);
    if (same && same.name === name && same.type === type) {
      pending.dirty = true;
      pending.keys.set(key, same);
      return same;
    }
    const family: Family = { name, key, type, help: helpFor(key, type), series: [], byId: new Map(), byCanonical: new Map() };
    const names = sampleNames(name, type);
    for (const sample of names) {
      const other = this.claims.get(sample) ?? pending.claims.get(sample);
      if (other) throw badMetric(`metric ${key} (a ${type}) would be exposed as ${sample}, which metric ${other.key} (a ${other.type}) already uses`);
    }
    pending.dirty = true;
    for (const sample of names) pending.claims.set(sample, family);
    pending.keys.set(key, family);
    pending.families.push(family);
    return family;
  }

  /** The series for this label set: a map lookup, except the first time a label set is seen. */
  private seriesFor(family: Family, labels: Readonly<Record<string, string>>, fixed: LabelNode, tags: Readonly<Record<string, string>> | undefined, pending: Pending): Series {
    const node = tags ? walk((fixed.tags ??= labelNode()), tags) : fixed;
    if (node.id < 0) node.id = this.labelSetCount++;
    const id = node.id;
    const known = family.byId.get(id);
    if (known) return known;
    for (const p of pending.series) if (p.family === family && p.id === id) return p.series;

    const merged: Record<string, string> = {};
    for (const k in labels) {
      if (!LABEL_NAME.test(k) || k.startsWith("__") || (family.type === "TIMER" && k === "le")) throw new TypeError(`"${k}" cannot be a label of metric ${family.name}`);
      merged[k] = String(labels[k]);
    }
    if (tags) {
      for (const k in tags) {
        if (!LABEL_NAME.test(k) || k.startsWith("__") || (family.type === "TIMER" && k === "le")) throw badMetric(`Bad metric created during request: tag ${describe(k)} of metric ${family.key} cannot be a label`);
        const v = tags[k];
        if (typeof v !== "string" && typeof v !== "number") throw badMetric(`Bad metric created during request: tag ${k} of metric ${family.key} is not a string`);
        merged[k] = String(v);
      }
    }
    const names = Object.keys(merged);
    const canonical = [...names].sort().map((k) => `${k.length}:${k}${merged[k].length}:${merged[k]}`).join("");
    // Different (labels, tags) pairs that merge to the same set must share a series, or the exposition repeats a sample.
    let series = family.byCanonical.get(canonical);
    if (!series) {
      for (const p of pending.series) if (p.family === family && p.canonical === canonical) series = p.series;
    }
    series ??= {
      labels: names.map((k) => `${k}="${escapeLabelValue(merged[k])}"`).join(","),
      value: 0,
      counts: family.type === "TIMER" ? new Array<number>(BUCKETS_MS.length + 1).fill(0) : undefined,
      sumMs: 0,
      count: 0,
    };
    pending.dirty = true;
    pending.series.push({ family, id, canonical, series });
    return series;
  }

  private commit(pending: Pending): void {
    for (const family of pending.families) this.families.push(family);
    for (const [key, family] of pending.keys) this.keys.set(key, family);
    for (const [name, family] of pending.claims) this.claims.set(name, family);
    for (const { family, id, canonical, series } of pending.series) {
      family.byId.set(id, series);
      if (!family.byCanonical.has(canonical)) {
        family.byCanonical.set(canonical, series);
        family.series.push(series);
      }
    }
    clearPending(pending);
  }
}
