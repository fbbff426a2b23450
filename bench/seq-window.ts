// bench/seq-window.ts — per-message cost of the N32-f SEQ counter and replay window: the single-process ones
// (before the worker model: a number field; now: the same field behind a `shared === null` test; ReplayWindow,
// unchanged) against the shared-memory ones of the worker model (SharedSeq, SharedReplayWindow;
// issue 11 §3), from one thread (no contention). `bun bench/seq-window.ts`. One op = take() of a counter, or
// accept() of the next SEQ in a window with every 8th SEQ delivered late (out of order, as over HTTP/2).
// Runs alternate BENCH_RUNS times (default 7) for BENCH_MS each (default 200 ms); prints the median ns/op and
// the spread (min–max). A micro-benchmark: on a shared machine its numbers say "same order or not", no more.
import { ReplayWindow } from "../src/n32f/replay.ts";
import type { SharedSeq } from "../src/n32f/seq.ts";
import { N32fSharedCounters } from "../src/n32f/shared-counters.ts";

const MS = Number(process.env.BENCH_MS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
if (!(MS > 0 && MS <= 5000) || !(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 50))
  throw new Error("BENCH_MS must be in (0, 5000] and BENCH_RUNS in 1..50");

interface Window {
  accept(seq: number): boolean;
}

/** ns per op over about MS ms, in batches of 4096 ops. */
function time(op: () => void): number {
  let n = 0;
  const t0 = Bun.nanoseconds();
  const end = t0 + MS * 1e6;
  let t = t0;
  while (t < end) {
    for (let i = 0; i < 4096; i++) op();
    n += 4096;
    t = Bun.nanoseconds();
  }
  return (t - t0) / n;
}

// One copy of the op per implementation (built from the same source text), so that each call site stays
// monomorphic as it is in a process that uses only one of them.
const counterSrc = "return () => { box.sink += c.take(); };";
const windowSrc = `let seq = 0;
  return () => {
    // SEQs 0..6 of each 8 in order, the 8th after the next block: 0..6, 8..14, 7, 16..22, 15, …
    const s = (seq & 7) === 7 ? seq - 8 : seq;
    if (s >= 0 && !w.accept(s)) throw new Error("refused " + s);
    seq++;
  };`;
const box = { sink: 0 };
const counterOp = (c: SharedSeq) => new Function("c", "box", counterSrc)(c, box) as () => void;
const windowOp = (w: Window) => new Function("w", windowSrc)(w) as () => void;

/** What N32fContext.sealNext did before the worker model: a number field of the send side. */
function fieldOp(): () => void {
  const side = { seq: 0, count: 0 };
  return () => {
    const seq = side.seq;
    if (seq > 0xffff_ffff) throw new Error("exhausted");
    side.seq = seq + 1;
    box.sink += seq;
  };
}
/** What it does now in one process (context.ts sealNext, `shared` null). */
function fieldNowOp(): () => void {
  const side: { seq: number; shared: SharedSeq | null; count: number } = { seq: 0, shared: null, count: 0 };
  return () => {
    let seq = side.seq;
    if (side.shared === null) {
      if (seq > 0xffff_ffff) throw new Error("exhausted");
      side.seq = seq + 1;
    } else seq = side.shared.take();
    box.sink += seq;
  };
}

const cases: [string, () => () => void][] = [
  ["seq field (before)", fieldOp],
  ["seq field (now)", fieldNowOp],
  ["seq shared", () => counterOp(N32fSharedCounters.create().sendRequest)],
  ["window local", () => windowOp(new ReplayWindow())],
  ["window shared", () => windowOp(N32fSharedCounters.create().receiveRequest)],
];
const results = new Map<string, number[]>(cases.map(([n]) => [n, []]));
for (let r = 0; r < RUNS; r++) for (const [name, make] of cases) results.get(name)!.push(time(make()));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, xs] of results)
  console.log(
    `${name.padEnd(18)} ${median(xs).toFixed(1)} ns/op (spread ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`,
  );
if (box.sink === 0.5) console.log(box.sink);
