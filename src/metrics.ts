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

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: string,
  ) {}
  abstract render(): string;
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
  render(): string {
    let s = "";
    for (const [k, v] of this.#series) s += `${this.name}${k ? `{${k}}` : ""} ${v}\n`;
    return s;
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
  render(): string {
    let s = "";
    for (const [k, v] of this.#series) s += `${this.name}${k ? `{${k}}` : ""} ${typeof v === "function" ? v() : v}\n`;
    return s;
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
  render(): string {
    let out = "";
    for (const [k, s] of this.#series) {
      const pre = k ? `${k},` : "";
      for (const [i, b] of this.buckets.entries()) out += `${this.name}_bucket{${pre}le="${b}"} ${s.counts[i]}\n`;
      out += `${this.name}_bucket{${pre}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}\n${this.name}_count${k ? `{${k}}` : ""} ${s.count}\n`;
    }
    return out;
  }
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
  render(): string {
    let s = "";
    for (const m of this.#metrics.values())
      s += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.render()}`;
    return s;
  }
}
