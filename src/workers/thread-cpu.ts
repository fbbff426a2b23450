// src/workers/thread-cpu.ts — the CPU time of the calling thread, for the per-worker series of /metrics: the kernel
// places connections, not requests, on the data-path workers (SO_REUSEPORT), so one worker may carry a peer's whole
// load while another idles (docs/PERFORMANCE.md "Memory and worker placement"); summed series cannot show that.
import { readFileSync } from "node:fs";

/** A /proc file of the calling thread, or null where it cannot be read (not Linux, no /proc). */
function readProc(path: string): string | null {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return null;
  }
}

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/task/<tid>/stat (100 on every Linux ABI we build for). */
const CLOCK_TICKS = 100;

/**
 * utime + stime of the calling thread in seconds (/proc/thread-self/stat, Linux ≥ 3.17), or null where it cannot
 * be read. Fields after the command name (which may hold spaces and parentheses): utime and stime are the 12th and
 * 13th (proc(5) fields 14 and 15).
 */
export function threadCpuSeconds(): number | null {
  const s = readProc("/proc/thread-self/stat");
  if (s === null) return null;
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const t = Number(f[11]) + Number(f[12]);
  return Number.isFinite(t) ? t / CLOCK_TICKS : null;
}

/**
 * Nanoseconds the calling thread has run on a CPU (/proc/thread-self/schedstat, first field; Linux with
 * CONFIG_SCHED_INFO), or null where it cannot be read: the resolution the hand-off's 100 ms utilization needs
 * (src/workers/handoff.ts), which the stat file's 10 ms ticks do not give.
 */
export function threadCpuNs(): number | null {
  const s = readProc("/proc/thread-self/schedstat");
  if (s === null) return null;
  const ns = Number(s.slice(0, s.indexOf(" ")));
  return Number.isFinite(ns) && ns >= 0 ? ns : null;
}
