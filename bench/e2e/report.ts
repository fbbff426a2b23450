// bench/e2e/report.ts — what bench:e2e prints after its rounds: each scenario's medians over the rounds (req/s with
// its spread, latency, CPU per process and thread, placement on workers, memory), the '#' lines that explain them
// (threads, main thread's time, resident set, allocations, runtime floor, what the machine could carry, workers'
// placement) and the closing lines that tools outside the project parse (issue 11: kept exactly).
import { availableParallelism } from "node:os";
import { HOME, VISITED } from "../../scripts/lib/pair.ts";
import type { Result } from "./h2load.ts";

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One scenario's figures over the rounds: the medians, and the min–max of req/s. */
export type Summary = ReturnType<typeof summarize>[number];

/** The median run of each scenario's figures; rps spread = min–max of the rounds. */
export function summarize(runs: Map<string, Result[]>) {
  return [...runs].map(([name, rs]) => {
    const rps = rs.map((r) => r.rps);
    return {
      name,
      rps: med(rps),
      spread: `${f(Math.min(...rps), 0)}–${f(Math.max(...rps), 0)}`,
      /** req/s of each round, in order (the rounds alternate the scenarios: round i of two scenarios ran minutes apart at most) */
      rounds: rps,
      p50: med(rs.map((r) => r.p50)),
      p99: med(rs.map((r) => r.p99)),
      ok: rs.reduce((a, r) => a + r.ok, 0),
      done: rs.reduce((a, r) => a + r.done, 0),
      failed: rs.reduce((a, r) => a + r.failed, 0),
      cpu: rs[0]!.cpu.map((c, i) => ({
        name: c.name,
        pct: med(rs.map((r) => r.cpu[i]!.pct)),
        us: med(rs.map((r) => (1e6 * r.cpu[i]!.seconds) / Math.max(1, r.done))),
        threads: (["main", "jit", "gc", "worker", "other"] as const).map(
          (k) => [k, med(rs.map((r) => (1e6 * (r.threads[i]?.[k] ?? 0)) / Math.max(1, r.done)))] as const,
        ),
        // the busiest data-path worker's share of all workers' CPU, in % (median of the rounds; 100/N = even)
        busiest: med(
          rs.map((r) => {
            const w = r.workers[i] ?? [];
            const sum = w.reduce((a, b) => a + b, 0);
            return w.length > 1 && sum > 0 ? (100 * w[0]!) / sum : Number.NaN;
          }),
        ),
        workers: rs[0]!.workers[i]?.length ?? 0,
        // the main thread's share of the wall time on a CPU and waiting for one (medians of the rounds)
        run: med(rs.map((r) => r.sched[i]?.run ?? Number.NaN)),
        wait: med(rs.map((r) => r.sched[i]?.wait ?? Number.NaN)),
        peakMb: Math.max(...rs.map((r) => r.cpu[i]!.peakMb)),
        // the resident set split at the end of the last round (procs.ts memoryMb)
        anonMb: rs[rs.length - 1]!.cpu[i]!.anonMb,
        fileMb: rs[rs.length - 1]!.cpu[i]!.fileMb,
        // --gc-bytes: KB allocated per request, and one cycle's KB per request (how far it may be off)
        kb: med(rs.map((r) => (r.gc[i]?.bytes ?? Number.NaN) / 1024 / Math.max(1, r.done))),
        kbError: med(
          rs.map(
            (r) => (r.gc[i]?.bytes ?? Number.NaN) / Math.max(1, r.gc[i]?.cycles ?? 0) / 1024 / Math.max(1, r.done),
          ),
        ),
      })),
    };
  });
}

/**
 * Prints the table, the '#' lines and the closing lines; `handoffLines` are read from the SEPPs before they stopped.
 * Returns the scenarios with a request not answered 2xx (or none done), already reported on stderr.
 */
export function report(results: Summary[], rounds: number, started: number, handoffLines: string[]): Summary[] {
  printTable(results, rounds);
  printWhy(results);
  const by = (n: string) => results.find((r) => r.name === n);
  const named = {
    prins: by("prins"),
    tls: by("tls"),
    chain: by("chain"),
    w1: by("prins-w1"),
    w2: by("prins-w2"),
  };
  printCeilings(by, named);
  printRoundRatios(named);
  for (const l of handoffLines) console.log(l);
  console.log(`# total ${f((performance.now() - started) / 1000)} s; ${VISITED.fqdn} → ${HOME.fqdn}`);
  const bad = results.filter((r) => r.failed > 0 || r.done === 0);
  for (const r of bad) console.error(`# ${r.name}: ${r.failed} of ${r.done} requests were not answered 2xx`);
  printClosing(named);
  return bad;
}

/** One line per scenario: req/s (spread), latency, answers, each process's CPU and peak RSS. */
function printTable(results: Summary[], rounds: number): void {
  console.log(
    `scenario          req/s (min–max of ${rounds})   p50 ms  p99 ms  2xx/done          CPU per process: % of one core, µs per request (medians), peak RSS`,
  );
  for (const r of results)
    console.log(
      `${r.name.padEnd(17)} ${f(r.rps, 0).padStart(7)} (${r.spread})`.padEnd(42) +
        `${f(r.p50, 2).padStart(6)}  ${f(r.p99, 2).padStart(6)}  ${`${r.ok}/${r.done}`.padEnd(16)}  ${r.cpu.map((c) => `${c.name} ${f(c.pct, 0)}% ${f(c.us, 0)}µs${Number.isFinite(c.peakMb) ? ` ${f(c.peakMb, 0)}MB` : ""}`).join(", ")}`,
    );
}

/** The '#' lines under the table: CPU by thread, the SEPPs' main threads' time, the resident set, allocations. */
function printWhy(results: Summary[]): void {
  // the Bun processes' CPU by thread (µs per request, medians): JIT compilation still running in a short run shows here
  for (const r of results)
    if (r.cpu.some((c) => c.threads.some(([k, v]) => k !== "main" && v > 0)))
      console.log(
        `#   ${r.name} threads: ${r.cpu
          .filter((c) => c.name !== "h2load")
          .map(
            (c) =>
              `${c.name} ${c.threads
                .filter(([k]) => k !== "worker" || c.workers > 0)
                .map(
                  ([k, v]) =>
                    `${k} ${f(v, 0)}${k === "worker" && c.workers > 1 ? ` (${c.workers}, busiest ${f(c.busiest, 0)} %)` : ""}`,
                )
                .join(" ")}`,
          )
          .join("; ")}`,
      );
  // the SEPPs' main threads (without data-path workers: with them the main thread serves no request): on a CPU,
  // waiting for one, idle (the rest of the wall time). At a fixed number of requests in flight, idle time is time
  // every request of the SEPP was in another process of the pipeline.
  for (const r of results) {
    const mains = r.cpu.filter((c) => /SEPP/.test(c.name) && c.workers === 0 && Number.isFinite(c.run));
    if (mains.length)
      console.log(
        `#   ${r.name} main thread: ${mains
          .map(
            (c) =>
              `${c.name} on a CPU ${f(c.run, 0)} %, waiting for one ${f(c.wait, 0)} %, idle ${f(100 - c.run - c.wait, 0)} %`,
          )
          .join("; ")}`,
      );
  }
  // what the peak RSS is made of: the process's own memory, and the runtime's code pages (shared, reclaimable)
  for (const r of results) {
    const split = r.cpu.filter((c) => Number.isFinite(c.anonMb));
    if (split.length)
      console.log(
        `#   ${r.name} resident at the end: ${split.map((c) => `${c.name} ${f(c.anonMb, 0)} own + ${f(c.fileMb, 0)} file MB`).join(", ")}`,
      );
  }
  for (const r of results) {
    const counted = r.cpu.filter((c) => Number.isFinite(c.kb));
    if (counted.length)
      console.log(
        `#   ${r.name} allocated: ${counted.map((c) => `${c.name} ${f(c.kb)} KB (±${f(c.kbError)})`).join(", ")} per request (JSC count)`,
      );
  }
}

/**
 * What this machine's CPUs carry at a scenario's CPU per request in all its processes (the NF and h2load too):
 * `most` req/s, and the `# … machine` line saying so (its end, against what, is the caller's).
 */
function machine(r: { name: string; cpu: Array<{ pct: number; us: number }> }): { most: number; line: string } {
  const cpus = availableParallelism();
  const used = r.cpu.reduce((a, c) => a + c.pct, 0);
  const us = r.cpu.reduce((a, c) => a + c.us, 0);
  const most = (1e6 * cpus) / us;
  const line = `# ${r.name} machine: ${f(used, 0)} % of ${cpus * 100} % used; at ${f(us, 0)} µs of CPU per request in all its processes this machine carries at most ${f(most, 0)} req/s`;
  return { most, line };
}

/** The scenarios the ceilings and the closing lines compare. */
interface Named {
  prins?: Summary;
  tls?: Summary;
  chain?: Summary;
  w1?: Summary;
  w2?: Summary;
}

/** The ceilings: the runtime floor of each HTTP/2 stack, what this machine could carry, the workers' placement. */
function printCeilings(by: (name: string) => Summary | undefined, { prins, tls, chain, w1, w2 }: Named): void {
  const bunChain = by("bun-chain");
  const native = by("bun-native-chain");
  const raw = by("bun-raw-chain");
  const nodesock = by("bun-nodesock-chain");
  // how far each HTTP/2 stack of this runtime is from the nghttpx chain, and the SEPP from the node:http2 one
  const floor = [
    bunChain && `bun-chain / nghttpx-chain = ${(bunChain.rps / (chain?.rps ?? 0)).toFixed(2)}`,
    native && `bun-native-chain / nghttpx-chain = ${(native.rps / (chain?.rps ?? 0)).toFixed(2)}`,
    raw && `bun-raw-chain / nghttpx-chain = ${(raw.rps / (chain?.rps ?? 0)).toFixed(2)}`,
    nodesock && `bun-nodesock-chain / nghttpx-chain = ${(nodesock.rps / (chain?.rps ?? 0)).toFixed(2)}`,
    prins && bunChain && `prins / bun-chain = ${(prins.rps / bunChain.rps).toFixed(2)}`,
  ].filter(Boolean);
  if (chain && floor.length) console.log(`# runtime floor: ${floor.join("; ")}`);
  // What the machine could carry at each scenario's CPU per request if its processes used all its CPUs: the
  // ceiling of a scenario whose processes are not CPU-bound (their main threads idle part of the time, above)
  if (chain)
    for (const r of [prins, tls])
      if (r) {
        const m = machine(r);
        console.log(`${m.line} = ${f(m.most / chain.rps, 2)} of the nghttpx chain`);
      }
  // Where this machine has no core to spare for a second worker: how the kernel placed the load on the workers
  // bounds what they could give with a core each. The busiest worker serves `busiest` % of the requests' worker CPU,
  // so N workers can serve at most 100/busiest times one (even placement: N×); a projection from the measured
  // placement, not a measured throughput (the CPU per request itself is not projected).
  for (const name of ["prins-w2", "psepp-tls-w2", "psepp-tls-w2-handoff"]) {
    const r = by(name);
    const parts = (r?.cpu ?? [])
      .filter((c) => c.workers > 1)
      .map((c) => `${c.name} busiest worker ${f(c.busiest, 0)} % → at most ${f(100 / c.busiest, 2)}x`);
    if (parts.length) console.log(`# ${name} placement (a core per worker): ${parts.join(", ")}`);
  }
  // What this machine can carry with two workers per SEPP, whatever the placement: every process of the scenario
  // (both SEPPs, the NF, h2load) shares its CPUs, so req/s ≤ CPUs / (CPU per request in all of them). When prins-w2
  // nears it, the machine, not the workers, bounds the `e2e workers:` ratio.
  if (w1 && w2) {
    const m = machine(w2);
    console.log(`${m.line} = ${f(m.most / w1.rps, 2)}x prins-w1`);
  }
}

/**
 * The closing ratios round by round: each round ran every scenario once, one after the other, so round i of PRINS and
 * round i of the chain met the same phase of a shared machine. The spread of these ratios is the spread of the
 * closing line's ratio (a ratio of medians); a target "at its edge" shows here as rounds on both sides of it.
 */
function printRoundRatios({ prins, tls, chain, w1, w2 }: Named): void {
  const per = (a: Summary | undefined, b: Summary | undefined, label: string) =>
    a && b && a.rounds.length === b.rounds.length && a.rounds.length > 1
      ? `${label} ${a.rounds.map((x, i) => (x / b.rounds[i]!).toFixed(2)).join(" ")}`
      : null;
  const parts = [
    per(prins, chain, "prins / nghttpx-chain"),
    per(tls, chain, "tls / nghttpx-chain"),
    per(w2, w1, "prins-w2 / prins-w1"),
  ].filter(Boolean);
  if (parts.length) console.log(`# ratios round by round: ${parts.join("; ")}`);
}

/** The closing lines, exactly as tools outside the project parse them (issue 11 §1). */
function printClosing({ prins, tls, chain, w1, w2 }: Named): void {
  if (w1 || w2)
    console.log(
      `e2e workers: 1 → ${f(w1?.rps ?? NaN, 0)} req/s, 2 → ${f(w2?.rps ?? NaN, 0)} req/s${w1 && w2 ? `; ratio ${(w2.rps / w1.rps).toFixed(2)}` : ""}`,
    );
  console.log(
    `e2e prins ${f(prins?.rps ?? NaN, 0)} req/s p99 ${f(prins?.p99 ?? NaN, 2)}; tls ${f(tls?.rps ?? NaN, 0)} req/s; nghttpx-chain ${f(chain?.rps ?? NaN, 0)} req/s; ratio ${prins && chain ? (prins.rps / chain.rps).toFixed(2) : "n/a"}`,
  );
}
