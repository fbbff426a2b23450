// A thread's own CPU time (src/workers/thread-cpu.ts): what the hand-off's utilization is computed from. It grows
// while this thread computes and stays put while it sleeps; the ns reading agrees with the tick reading.
import { expect, test } from "bun:test";
import { threadCpuNs, threadCpuSeconds } from "../../src/workers/thread-cpu.ts";

const processCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

test("threadCpuNs grows by the work this thread does and not while it sleeps", async () => {
  const a = threadCpuNs();
  expect(a).not.toBeNull();
  // compute until this thread's clock shows 60 ms (within 2 s of wall time: a busy thread gets that much even on a
  // loaded machine). Bounding by the process's CPU instead failed once in CI: the runtime's other threads (the
  // collector's, after the earlier tests) took most of the process's 60 ms, this thread 26.5 ms of it.
  const start = processCpuMs();
  const wallEnd = performance.now() + 2000;
  let x = 0;
  while (threadCpuNs()! - a! < 60e6 && performance.now() < wallEnd) for (let i = 0; i < 10000; i++) x += Math.sqrt(i);
  expect(x).toBeGreaterThan(0);
  const b = threadCpuNs()!;
  expect((b - a!) / 1e6).toBeGreaterThanOrEqual(60);
  // a clock of this process's CPU: the process used at least as much meanwhile (its clock ticks in µs)
  expect(processCpuMs() - start).toBeGreaterThanOrEqual((b - a!) / 1e6 - 1);
  await Bun.sleep(100);
  const c = threadCpuNs()!;
  expect((c - b) / 1e6).toBeLessThan(50);
  // the same clock as the stat file's ticks (10 ms resolution), within a few ticks
  const s = threadCpuSeconds()!;
  expect(Math.abs(s - c / 1e9)).toBeLessThan(0.05);
});
