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
  // compute until the process has used 60 ms of CPU (most of it this thread's)
  const start = processCpuMs();
  let x = 0;
  while (processCpuMs() - start < 60) for (let i = 0; i < 10000; i++) x += Math.sqrt(i);
  expect(x).toBeGreaterThan(0);
  const b = threadCpuNs()!;
  expect((b - a!) / 1e6).toBeGreaterThan(30);
  await Bun.sleep(100);
  const c = threadCpuNs()!;
  expect((c - b) / 1e6).toBeLessThan(50);
  // the same clock as the stat file's ticks (10 ms resolution), within a few ticks
  const s = threadCpuSeconds()!;
  expect(Math.abs(s - c / 1e9)).toBeLessThan(0.05);
});
