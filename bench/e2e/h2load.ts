// bench/e2e/h2load.ts — one measured run of bench:e2e: the typical Nudm_SDM request, its probe (the set-up must
// answer 200 with the NF's very body), the warm-up and the fixed-duration h2load run with its per-request log, and
// the CPU, threads and peak RSS of the processes under load.
import http2 from "node:http2";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { amDataPadded } from "../nf-h2.ts";
import {
  type ThreadClass,
  threadTimes,
  threadDelta,
  workerSplit,
  memoryMb,
  childrenCpuSeconds,
  cpuSeconds,
  mainSched,
} from "./procs.ts";
import type { Opts } from "./opts.ts";
import { gcCount } from "./gc-bytes.ts";

export const SUPI = "imsi-262010000000001";
export const PATH = `/nudm-sdm/v2/${SUPI}/am-data?plmn-id=%7B%22mcc%22%3A%22234%22%2C%22mnc%22%3A%2215%22%7D`;
// a JWT-shaped access token whose consumerPlmnId is the visited PLMN (the pSEPP checks it, TS 33.517 4.2.2.4)
export const TOKEN = `Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ iss: "nrf", sub: "amf-1", aud: "nudm-sdm", scope: "nudm-sdm", exp: 4102444800, consumerPlmnId: { mcc: "234", mnc: "15" } })).toString("base64url")}.c2lnbmF0dXJl`;
export const NF_HEADERS = [
  "accept: application/json",
  `authorization: ${TOKEN}`,
  "user-agent: AMF-6a0c4a4e-0f4e-4a38-9a33-7a0f1b5b0a01",
];

export interface Result {
  name: string;
  rps: number;
  done: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  cpu: Array<{ name: string; seconds: number; pct: number; peakMb: number; anonMb: number; fileMb: number }>;
  /** per process: seconds by thread class (main JS thread, JIT compiler threads, GC helpers, the rest) */
  threads: Array<Record<ThreadClass, number>>;
  /** per process: seconds of each data-path worker thread, largest first (empty without workers) */
  workers: number[][];
  /** per process: bytes JSC allocated during the run and the collections they span (--gc-bytes; NaN without) */
  gc: Array<{ bytes: number; cycles: number }>;
  /** per process: its main thread's share of the run's wall time on a CPU and waiting for one, % (procs.ts mainSched) */
  sched: Array<{ run: number; wait: number }>;
}

export function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
    p.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-20000)));
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.once("error", (e) => {
      clearTimeout(t);
      rej(e);
    });
    p.once("exit", (code) => {
      clearTimeout(t);
      res({ code, out, err });
    });
  });
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One request before the load: the set-up must answer 200 with the NF's very body (h2load only counts statuses). */
export function probe(
  name: string,
  url: string,
  authority: string,
  extra: readonly string[] = [],
  pad = 0,
): Promise<void> {
  const u = new URL(url);
  return new Promise((res, rej) => {
    const c = http2.connect(u.origin);
    const t = setTimeout(() => done(new Error(`${name}: probe timed out`)), 10000);
    const done = (e?: Error) => {
      clearTimeout(t);
      c.destroy();
      if (e) rej(e);
      else res();
    };
    c.on("error", (e) => done(new Error(`${name}: probe failed: ${e.message}`)));
    const headers: http2.OutgoingHttpHeaders = { ":path": u.pathname + u.search, ":authority": authority };
    for (const h of [...NF_HEADERS, ...extra]) headers[h.slice(0, h.indexOf(":"))] = h.slice(h.indexOf(":") + 2);
    const st = c.request(headers);
    let status = 0;
    let body = "";
    st.on("response", (h) => (status = Number(h[":status"])));
    st.on("data", (d: Buffer) => (body += d.toString()));
    st.on("end", () => {
      if (status !== 200) return done(new Error(`${name}: probe answered ${status}: ${body.slice(0, 300)}`));
      if (JSON.stringify(JSON.parse(body)) !== JSON.stringify(amDataPadded(pad)))
        return done(new Error(`${name}: probe body is not the NF's answer: ${body.slice(0, 300)}`));
      done();
    });
    st.on("error", (e) => done(new Error(`${name}: probe failed: ${e.message}`)));
  });
}

export async function h2load(
  o: Opts,
  dir: string,
  name: string,
  url: string,
  authority: string | null,
  procs: Array<{ name: string; pid: number }>,
  extra: readonly string[] = [],
): Promise<Result> {
  if (authority) await probe(name, url, authority, extra, o.nfPad ?? 0);
  const headers = [...NF_HEADERS, ...extra, ...(authority ? [`:authority: ${authority}`] : [])].flatMap((h) => [
    "-H",
    h,
  ]);
  const base = ["-t", "1", "-c", String(o.clients), "-m", String(o.streams), ...headers];
  if (o.warmup > 0) {
    const w = await run("h2load", [...base, "-D", String(o.warmup), url], (o.warmup + 20) * 1000);
    if (w.code !== 0) throw new Error(`${name}: h2load warm-up failed (${w.code}): ${w.err || w.out}`);
  }
  const log = join(dir, `${name}.h2load.log`);
  const before = procs.map((p) => cpuSeconds(p.pid));
  const children0 = childrenCpuSeconds();
  const threadsBefore = procs.map((p) => threadTimes(p.pid));
  const gcBefore = procs.map((p) => gcCount(p.pid));
  const schedBefore = procs.map((p) => mainSched(p.pid));
  const t0 = performance.now();
  const r = await run(
    "h2load",
    [
      ...base,
      ...(o.rps ? ["--rps", String(Math.max(1, Math.round(o.rps / o.clients)))] : []),
      "-D",
      String(o.duration),
      `--log-file=${log}`,
      url,
    ],
    (o.duration + 30) * 1000,
  );
  const wall = (performance.now() - t0) / 1000;
  const schedAfter = procs.map((p) => mainSched(p.pid));
  const after = procs.map((p) => cpuSeconds(p.pid));
  // the load generator's own CPU: h2load is the only child of this process that ends during the measured run
  const h2loadSeconds = childrenCpuSeconds() - children0;
  const threadsAfter = procs.map((p) => threadTimes(p.pid));
  const gcAfter = procs.map((p) => gcCount(p.pid));
  if (r.code !== 0) throw new Error(`${name}: h2load failed (${r.code}): ${r.err || r.out}`);
  const m = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(r.out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(r.out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(r.out);
  if (!m || !req || !codes) throw new Error(`${name}: cannot read the h2load output:\n${r.out}`);
  // per-request log: start (µs since epoch) \t status \t duration (µs); only 2xx count as served
  const lines = readFileSync(log, "utf8").split("\n");
  const lat = new Float64Array(lines.length);
  let n = 0;
  for (const line of lines) {
    const [, status, us] = line.split("\t");
    if (status?.startsWith("2") && us) lat[n++] = Number(us) / 1000;
  }
  const sorted = lat.subarray(0, n).sort();
  const ok2xx = Number(codes[1]);
  return {
    name,
    rps: Number(m[3]),
    done: Number(req[3]),
    ok: ok2xx,
    failed: Number(req[3]) - ok2xx + Number(req[5]),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpu: [
      ...procs.map((p, i) => {
        const s = after[i]! - before[i]!;
        const m = memoryMb(p.pid);
        return { name: p.name, seconds: s, pct: (100 * s) / wall, peakMb: m.peak, anonMb: m.anon, fileMb: m.file };
      }),
      {
        name: "h2load",
        seconds: h2loadSeconds,
        pct: (100 * h2loadSeconds) / wall,
        peakMb: Number.NaN,
        anonMb: Number.NaN,
        fileMb: Number.NaN,
      },
    ],
    threads: procs.map((_p, i) => threadDelta(threadsBefore[i]!, threadsAfter[i]!)),
    workers: procs.map((_p, i) => workerSplit(threadsBefore[i]!, threadsAfter[i]!)),
    gc: procs.map((_p, i) => ({
      bytes: gcAfter[i]!.bytes - gcBefore[i]!.bytes,
      cycles: gcAfter[i]!.cycles - gcBefore[i]!.cycles,
    })),
    sched: procs.map((_p, i) => ({
      run: (100 * (schedAfter[i]!.run - schedBefore[i]!.run)) / wall,
      wait: (100 * (schedAfter[i]!.wait - schedBefore[i]!.wait)) / wall,
    })),
  };
}
