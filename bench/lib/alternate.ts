// bench/lib/alternate.ts — what the in-process micro-benchmarks share (bench/peers.ts, screening-rules.ts,
// telescopic.ts): BENCH_MS / BENCH_RUNS read and bounded once, a timed stretch, two implementations measured in
// alternating runs (each warmed up first, the order swapped every run), the median and the spread of the runs.

/** Length of one timed stretch (BENCH_MS, default 200 ms) and the runs per implementation (BENCH_RUNS, default 7). */
export const MS = Number(process.env.BENCH_MS ?? 200);
export const RUNS = Number(process.env.BENCH_RUNS ?? 7);
if (!(MS > 0 && MS <= 5000) || !(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 50))
  throw new Error("BENCH_MS must be in (0, 5000] and BENCH_RUNS in 1..50");

let sink = 0;
/** ns per call of `fn(i)` over about MS ms, in batches of 1024 (a truthy result is counted so nothing is dropped). */
export function timeOf(fn: (i: number) => unknown): number {
  let n = 0;
  const t0 = Bun.nanoseconds();
  const end = t0 + MS * 1e6;
  let t = t0;
  while (t < end) {
    for (let i = 0; i < 1024; i++) if (fn(i)) sink++;
    n += 1024;
    t = Bun.nanoseconds();
  }
  if (sink < 0) console.log(sink);
  return (t - t0) / n;
}

/**
 * RUNS measurements of `a` and of `b` (each `(run) => ns`; run -1 is the warm-up), alternating and swapping which
 * goes first every run, so that a drift of the machine falls on both alike.
 */
export function alternate(a: (run: number) => number, b: (run: number) => number): { a: number[]; b: number[] } {
  a(-1);
  b(-1);
  const out = { a: [] as number[], b: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    if (r % 2 === 0) {
      out.a.push(a(r));
      out.b.push(b(r));
    } else {
      out.b.push(b(r));
      out.a.push(a(r));
    }
  }
  return out;
}

export const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
/** "median (min–max)", ns */
export const spread = (xs: number[]): string =>
  `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
