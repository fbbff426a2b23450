// bench/e2e/procs.ts — what bench:e2e reads of a process from /proc: CPU time (all threads, forked children),
// CPU by thread class (main, JIT, GC, other), peak RSS, and the CPU of this process's ended children (h2load).
import { readdirSync, readFileSync } from "node:fs";

export type ThreadClass = "main" | "jit" | "gc" | "worker" | "other";

/** utime+stime in seconds of each thread of a process, by tid, with its class: where a Bun process's CPU goes
 *  besides the JS thread (JSC compiles on JITWorker threads, marks on HeapHelper threads; the rest is mimalloc's
 *  scavenger, I/O, timers, and the data-path worker threads of the prins-w* set-ups). */
export function threadTimes(pid: number): Map<string, { c: ThreadClass; t: number }> {
  const out = new Map<string, { c: ThreadClass; t: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const comm = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const c: ThreadClass =
        Number(tid) === pid
          ? "main"
          : comm === "JITWorker"
            ? "jit"
            : comm === "HeapHelper"
              ? "gc"
              : comm === "Worker"
                ? "worker"
                : "other";
      out.set(tid, { c, t: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Seconds of each data-path worker thread (Bun names them "Worker") between two snapshots, largest first:
 *  how evenly the kernel's SO_REUSEPORT placement of connections spread the load over the workers. */
export function workerSplit(
  before: Map<string, { c: ThreadClass; t: number }>,
  after: Map<string, { c: ThreadClass; t: number }>,
): number[] {
  const out: number[] = [];
  for (const [tid, a] of after) if (a.c === "worker") out.push(a.t - (before.get(tid)?.t ?? 0));
  return out.sort((x, y) => y - x);
}

/** Seconds by thread class between two snapshots; a thread that ended meanwhile is not counted (its last figures are gone). */
export function threadDelta(
  before: Map<string, { c: ThreadClass; t: number }>,
  after: Map<string, { c: ThreadClass; t: number }>,
): Record<ThreadClass, number> {
  const out: Record<ThreadClass, number> = { main: 0, jit: 0, gc: 0, worker: 0, other: 0 };
  for (const [tid, a] of after) out[a.c] += a.t - (before.get(tid)?.t ?? 0);
  return out;
}

/**
 * A process's memory from one read of /proc/PID/status, MiB: `peak` = VmHWM, the resident set at its peak since it
 * started (issue 11: ≤ 120 MB per worker under this load); and the resident set now, split: `anon` = the process's
 * own memory (heap, buffers, stacks), `file` = pages of mapped files, almost all the runtime's executable (its code,
 * shared by every process that runs it and reclaimable under pressure). NaN where it cannot be read.
 */
export function memoryMb(pid: number): { peak: number; anon: number; file: number } {
  let st = "";
  try {
    st = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {}
  const mb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(st)?.[1] ?? Number.NaN) / 1024;
  return { peak: mb("VmHWM"), anon: mb("RssAnon"), file: mb("RssFile") };
}

/**
 * The main thread's time on a CPU and waiting for one (runnable, not running), in seconds, from
 * /proc/PID/task/PID/schedstat (NaN where the kernel keeps no schedstats). Between two snapshots, the rest of the
 * wall time the thread was idle (blocked in the event loop's poll): a thread that is never idle is CPU-bound; one
 * that waits for a CPU shares too few of them; one that is idle at a fixed number of requests in flight waits on
 * the other processes of the pipeline.
 */
export function mainSched(pid: number): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ");
    return { run: Number(run) / 1e9, wait: Number(wait) / 1e9 };
  } catch {
    return { run: Number.NaN, wait: Number.NaN };
  }
}

export function statFields(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after "(comm)" start at field 3 (state): ppid is field 4, utime 14, stime 15
  return s.slice(s.lastIndexOf(")") + 2).split(" ");
}

/** cutime+cstime of this process: the CPU of its children that ended and were waited for (h2load runs). */
export function childrenCpuSeconds(): number {
  const f = statFields(process.pid);
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** utime+stime in seconds of a process (all its threads) and of its child processes (nghttpx forks its worker). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  let t = (Number(f[11]) + Number(f[12])) / 100; // CLK_TCK is 100 on Linux
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === pid) continue;
    try {
      if (Number(statFields(Number(d))[1]) === pid) t += cpuSeconds(Number(d));
    } catch {
      /* gone */
    }
  }
  return t;
}
