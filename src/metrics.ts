// src/metrics.ts — a small Prometheus registry (text exposition format 0.0.4).
// Counters and gauges keyed by a fixed label set; histograms with fixed buckets. Label values come from
// our own enums and peer ids, never from the network, so cardinality stays bounded; a hard cap guards it.
const MAX_SERIES_PER_METRIC = 2000;

type Labels = Record<string, string>;
const NEEDS_ESCAPE = /[\\"\n]/;
const escapeValue = (v: string) =>
  NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
/** `k1="v1",k2="v2"` with the names sorted; called on every inc/observe, so no array is sorted when the
 *  caller already passes the names in order (the usual case) and values are escaped only when needed. */
const labelKey = (l: Labels) => {
  let prev = "";
  let out = "";
  for (const k in l) {
    if (out !== "" && k < prev) return sortedLabelKey(l);
    out += `${out === "" ? "" : ","}${k}="${escapeValue(String(l[k]))}"`;
    prev = k;
  }
  return out;
};
const sortedLabelKey = (l: Labels) =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${escapeValue(String(l[k]))}"`)
    .join(",");

/** One histogram series: cumulative bucket counts, sum and count. */
export interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A metric's series as plain data (what a data-path worker posts to the main thread: structured-clone safe).
 * Rendering merges snapshots of the same name by adding their series: counters, histograms and the gauges the
 * data path keeps (in-flight requests, open connections) are all totals across workers.
 */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  buckets?: number[];
  series: Array<[string, number | HistogramSeries]>;
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  abstract snapshot(): MetricSnapshot;
}

export class Counter extends Metric {
  #series = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.#incKey(labelKey(labels), by);
  }
  /** One series with its label key built once, for hot paths that count the same labels again and again. */
  series(labels: Labels = {}): { inc(by?: number): void } {
    const k = labelKey(labels);
    return { inc: (by = 1) => this.#incKey(k, by) };
  }
  #incKey(k: string, by: number): void {
    const v = this.#series.get(k);
    if (v === undefined && this.#series.size >= MAX_SERIES_PER_METRIC) return;
    this.#series.set(k, (v ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#series.get(labelKey(labels)) ?? 0;
  }
  snapshot(): MetricSnapshot {
    return { name: this.name, help: this.help, type: "counter", series: [...this.#series] };
  }
}

export class Gauge extends Metric {
  #series = new Map<string, number | (() => number)>();
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number | (() => number)): void {
    const k = labelKey(labels);
    if (!this.#series.has(k) && this.#series.size >= MAX_SERIES_PER_METRIC) return;
    this.#series.set(k, value);
  }
  delete(labels: Labels): void {
    this.#series.delete(labelKey(labels));
  }
  get(labels: Labels = {}): number {
    const v = this.#series.get(labelKey(labels));
    return typeof v === "function" ? v() : (v ?? 0);
  }
  snapshot(): MetricSnapshot {
    const series: Array<[string, number]> = [];
    for (const [k, v] of this.#series) series.push([k, typeof v === "function" ? v() : v]);
    return { name: this.name, help: this.help, type: "gauge", series };
  }
}

export class Histogram extends Metric {
  #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[],
  ) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, value: number): void {
    this.#observeKey(labelKey(labels), value);
  }
  /** One series with its label key built once (see Counter.series). */
  series(labels: Labels): { observe(value: number): void } {
    const k = labelKey(labels);
    return { observe: (value) => this.#observeKey(k, value) };
  }
  #observeKey(k: string, value: number): void {
    let s = this.#series.get(k);
    if (!s) {
      if (this.#series.size >= MAX_SERIES_PER_METRIC) return;
      s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  snapshot(): MetricSnapshot {
    const series: Array<[string, HistogramSeries]> = [];
    for (const [k, s] of this.#series) series.push([k, { counts: s.counts.slice(), sum: s.sum, count: s.count }]);
    return { name: this.name, help: this.help, type: "histogram", buckets: this.buckets, series };
  }
}

const renderSeries = (m: MetricSnapshot, series: Map<string, number | HistogramSeries>): string => {
  let out = "";
  for (const [k, v] of series) {
    if (typeof v === "number") {
      out += `${m.name}${k ? `{${k}}` : ""} ${v}\n`;
      continue;
    }
    const pre = k ? `${k},` : "";
    for (const [i, b] of (m.buckets ?? []).entries()) out += `${m.name}_bucket{${pre}le="${b}"} ${v.counts[i]}\n`;
    out += `${m.name}_bucket{${pre}le="+Inf"} ${v.count}\n`;
    out += `${m.name}_sum${k ? `{${k}}` : ""} ${v.sum}\n${m.name}_count${k ? `{${k}}` : ""} ${v.count}\n`;
  }
  return out;
};

/** Add `b` into `a` (same metric type; a histogram with other buckets is not merged). */
const addSeries = (a: number | HistogramSeries, b: number | HistogramSeries): number | HistogramSeries => {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (typeof a === "object" && typeof b === "object" && a.counts.length === b.counts.length)
    return { counts: a.counts.map((c, i) => c + b.counts[i]!), sum: a.sum + b.sum, count: a.count + b.count };
  return a;
};

/**
 * The Prometheus text of several snapshots (this process's and its data-path workers'), one family per name,
 * the series of the same name and labels added (docs/ARCHITECTURE.md "Worker model"). A family whose type or
 * buckets differ between snapshots keeps the first one's (a bug the Registry itself refuses within one thread).
 */
export function renderSnapshots(groups: MetricSnapshot[][]): string {
  const families = new Map<string, { m: MetricSnapshot; series: Map<string, number | HistogramSeries> }>();
  for (const group of groups)
    for (const m of group) {
      let f = families.get(m.name);
      if (!f) {
        f = { m, series: new Map() };
        families.set(m.name, f);
      } else if (f.m.type !== m.type || String(f.m.buckets) !== String(m.buckets)) continue;
      for (const [k, v] of m.series) {
        const had = f.series.get(k);
        f.series.set(k, had === undefined ? v : addSeries(had, v));
      }
    }
  let s = "";
  for (const { m, series } of families.values())
    s += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${renderSeries(m, series)}`;
  return s;
}

/**
 * The metrics of one process, by name. Asking again for a name returns the metric registered under it; asking for
 * it as another type throws (TypeError): two modules using one name for two things would render a broken
 * exposition (two # TYPE lines) or count into the wrong series, and that is a bug to find at start-up.
 */
export class Registry {
  #metrics = new Map<string, Metric>();
  counter(name: string, help: string): Counter {
    return this.#get(name, Counter, () => new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.#get(name, Gauge, () => new Gauge(name, help));
  }
  histogram(
    name: string,
    help: string,
    buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ): Histogram {
    return this.#get(name, Histogram, () => new Histogram(name, help, buckets));
  }
  #get<M extends Metric>(name: string, kind: abstract new (...args: never[]) => M, make: () => M): M {
    const m = this.#metrics.get(name);
    if (m === undefined) {
      const made = make();
      this.#metrics.set(name, made);
      return made;
    }
    if (!(m instanceof kind)) throw new TypeError(`metric ${name} is a ${m.type}, not a ${make().type}`);
    return m;
  }
  /** Every metric's series as plain data (a worker's answer to the main thread's collection). */
  snapshot(): MetricSnapshot[] {
    return [...this.#metrics.values()].map((m) => m.snapshot());
  }
  /** The text exposition of this registry, with the workers' snapshots added in when given. */
  render(workers: MetricSnapshot[][] = []): string {
    return renderSnapshots([this.snapshot(), ...workers]);
  }
}
