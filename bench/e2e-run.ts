// bench/e2e-run.ts — the end-to-end benchmark (issue 4 "Benchmark"; run by bench/e2e.sh, `npm run bench:e2e`).
// One typical Nudm_SDM am-data GET (TS 29.503), driven by h2load over h2c, in these set-ups, all on 127.0.0.1:
//   nf       h2load → NF                                                    (the NF alone: the ceiling)
//   chain    h2load → nghttpx A (h2c in) ─TLS 1.3 mutual, h2─► nghttpx B → NF (h2c): plain forwarding, the
//            same shape as cSEPP → N32 → pSEPP without any SEPP logic (the baseline of the target)
//   prins    h2load → cSEPP (SBI, h2c) ─N32-f PRINS (JWE, TLS 1.3 mutual)─► pSEPP → NF (h2c)
//   tls      h2load → cSEPP ─N32-f TLS mode (plain HTTP/2 relay over TLS 1.3 mutual)─► pSEPP → NF
//   bun-chain, bun-native-chain   the chain's two hops as Bun proxies without SEPP logic, on node:http2 and on
//            Bun.serve({http2}) + fetch({protocol: "http2"}) (the runtime's floor, issue 11 §1)
//   nf-node  the NF on the other HTTP/2 engine
// Every scenario is set up first; then --rounds (default 3) rounds run each scenario once, alternating, and the
// medians (and the min–max of req/s) over the rounds are printed. --quick: 1 s runs, to check it works.
// The SEPPs are real processes (scripts/lib/pair.ts: dev PKI, N32-c handshake) at log level info.
// Each run: (first round: a warm-up run), then a fixed-duration run with a per-request log (p50/p99 from it), and the
// CPU time of each proxy process from /proc/<pid>/stat (utime+stime) before and after.
import { spawn } from "node:child_process";
import http2 from "node:http2";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AM_DATA } from "./nf-h2.ts";
import { HOME, HOME_UDM, VISITED, freePort, startPair, waitFor, writePair } from "../scripts/lib/pair.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

interface Opts {
  duration: number;
  warmup: number;
  clients: number;
  streams: number;
  only: Set<string>;
  /** NF engine: Bun.serve native HTTP/2 (default) or node:http2 */
  nf: "serve" | "node";
  /** rounds: each scenario runs once per round, alternating with the others; medians and spread over them */
  rounds: number;
  /** write a CPU profile of each SEPP (bun --cpu-prof) into this directory */
  profile?: string;
  /** a fixed request rate (all clients together) for the measured run: CPU per request at equal load */
  rps?: number;
  /** the SEPPs tier their hot code up to FTL after fewer executions (JSC options): the steady state sooner */
  ftlSoon: boolean;
  /** the SEPPs log their GCs (BUN_JSC_logGC): JSC's bytes allocated per request, per process */
  gcBytes: boolean;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    duration: 6,
    warmup: 1,
    rounds: 3,
    clients: 4,
    streams: 16,
    only: new Set(["nf", "nf-other", "chain", "bun-chain", "bun-native-chain", "prins", "tls", "prins-w1", "prins-w2"]),
    nf: "serve",
    ftlSoon: false,
    gcBytes: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string, lo: number, hi: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${a} must be an integer in ${lo}..${hi}`);
      return n;
    };
    if (a === "--duration") o.duration = int(next(), 1, 30);
    else if (a === "--warmup") o.warmup = int(next(), 0, 10);
    else if (a === "-c" || a === "--clients") o.clients = int(next(), 1, 64);
    else if (a === "-m" || a === "--streams") o.streams = int(next(), 1, 256);
    else if (a === "--rounds") o.rounds = int(next(), 1, 5);
    else if (a === "--quick") {
      // a check that everything works, not a measurement: 1 s per run, no warm-up
      o.duration = 1;
      o.warmup = 0;
    } else if (a === "--only") o.only = new Set(next().split(","));
    else if (a === "--profile") o.profile = resolve(next());
    else if (a === "--rps") o.rps = int(next(), 1, 1_000_000);
    else if (a === "--ftl-soon") o.ftlSoon = true;
    else if (a === "--gc-bytes") o.gcBytes = true;
    else if (a === "--nf") {
      const v = next();
      if (v !== "serve" && v !== "node") throw new Error("--nf serve|node");
      o.nf = v;
    } else
      throw new Error(
        `unknown argument ${a} (--duration s, --warmup s, -c clients, -m streams, --rounds n, --quick, --only nf,nf-other,chain,bun-chain,bun-native-chain,prins,tls,prins-w1,prins-w2, --nf serve|node, --profile dir, --rps n, --ftl-soon, --gc-bytes)`,
      );
  }
  return o;
}

const SUPI = "imsi-262010000000001";
const PATH = `/nudm-sdm/v2/${SUPI}/am-data?plmn-id=%7B%22mcc%22%3A%22234%22%2C%22mnc%22%3A%2215%22%7D`;
// a JWT-shaped access token whose consumerPlmnId is the visited PLMN (the pSEPP checks it, TS 33.517 4.2.2.4)
const TOKEN = `Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ iss: "nrf", sub: "amf-1", aud: "nudm-sdm", scope: "nudm-sdm", exp: 4102444800, consumerPlmnId: { mcc: "234", mnc: "15" } })).toString("base64url")}.c2lnbmF0dXJl`;
const NF_HEADERS = [
  "accept: application/json",
  `authorization: ${TOKEN}`,
  "user-agent: AMF-6a0c4a4e-0f4e-4a38-9a33-7a0f1b5b0a01",
];

interface Result {
  name: string;
  rps: number;
  done: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  cpu: Array<{ name: string; seconds: number; pct: number; peakMb: number }>;
  /** per process: seconds by thread class (main JS thread, JIT compiler threads, GC helpers, the rest) */
  threads: Array<Record<ThreadClass, number>>;
  /** per process: bytes JSC allocated during the run (--gc-bytes; NaN without) */
  gcBytes: number[];
  /** per process: collections counted in gcBytes (the figure is exact to ± one cycle's bytes) */
  gcCycles: number[];
}

/**
 * --gc-bytes: JSC's count of bytes allocated in each GC cycle (cells, strings, ArrayBuffer contents), which
 * BUN_JSC_logGC=1 prints on stderr when the count starts a collection ("bytes allocated this cycle: N"), summed per
 * process. A run's figure is the sum of the collections it saw: exact to one cycle (a few MB) over the run, with
 * the timer-started collections (which reset the count without printing it) turned off.
 */
const GC_BYTES_ENV: Record<string, string> = {
  BUN_JSC_logGC: "1",
  BUN_JSC_percentCPUPerMBForEdenTimer: "0.000000001",
  BUN_JSC_percentCPUPerMBForFullTimer: "0.000000001",
  BUN_GC_TIMER_DISABLE: "1",
  // smaller cycles (eden ≈ a quarter of the live heap instead of ≥ 32 MB), so that a run sees many of them and the
  // figure is exact to a few hundred octets per request; no full collection forced by the small eden
  BUN_JSC_largeHeapSize: String(2 * 1024 * 1024),
  BUN_JSC_smallHeapGrowthFactor: "1.25",
  BUN_JSC_mediumHeapGrowthFactor: "1.25",
  BUN_JSC_largeHeapGrowthFactor: "1.25",
  BUN_JSC_minEdenToOldGenerationRatio: "0",
};
const gcBytesOf = new Map<number, number>();
const gcCyclesOf = new Map<number, number>();
function countGcBytes(pid: number, stderr: NodeJS.ReadableStream): void {
  let rest = "";
  gcBytesOf.set(pid, 0);
  gcCyclesOf.set(pid, 0);
  stderr.on("data", (d: Buffer) => {
    const lines = (rest + d.toString("latin1")).split("\n");
    rest = lines.pop()!;
    for (const l of lines) {
      const m = /bytes allocated this cycle: (\d+)/.exec(l);
      if (!m) continue;
      gcBytesOf.set(pid, gcBytesOf.get(pid)! + Number(m[1]));
      gcCyclesOf.set(pid, gcCyclesOf.get(pid)! + 1);
    }
  });
}

type ThreadClass = "main" | "jit" | "gc" | "other";

/** utime+stime in seconds of each thread of a process, by tid, with its class: where a Bun process's CPU goes
 *  besides the JS thread (JSC compiles on JITWorker threads, marks on HeapHelper threads; the rest is mimalloc's
 *  scavenger, I/O, timers, and the data-path worker threads of the prins-w* set-ups). */
function threadTimes(pid: number): Map<string, { c: ThreadClass; t: number }> {
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
        Number(tid) === pid ? "main" : comm === "JITWorker" ? "jit" : comm === "HeapHelper" ? "gc" : "other";
      out.set(tid, { c, t: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Seconds by thread class between two snapshots; a thread that ended meanwhile is not counted (its last figures are gone). */
function threadDelta(
  before: Map<string, { c: ThreadClass; t: number }>,
  after: Map<string, { c: ThreadClass; t: number }>,
): Record<ThreadClass, number> {
  const out: Record<ThreadClass, number> = { main: 0, jit: 0, gc: 0, other: 0 };
  for (const [tid, a] of after) out[a.c] += a.t - (before.get(tid)?.t ?? 0);
  return out;
}

/** Peak resident set (VmHWM) of a process since it started, MiB (issue 11: ≤ 120 MB per worker under this load). */
function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function statFields(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after "(comm)" start at field 3 (state): ppid is field 4, utime 14, stime 15
  return s.slice(s.lastIndexOf(")") + 2).split(" ");
}

/** utime+stime in seconds of a process (all its threads) and of its child processes (nghttpx forks its worker). */
function cpuSeconds(pid: number): number {
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

function run(
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

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One request before the load: the set-up must answer 200 with the NF's very body (h2load only counts statuses). */
function probe(name: string, url: string, authority: string): Promise<void> {
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
    for (const h of NF_HEADERS) headers[h.slice(0, h.indexOf(":"))] = h.slice(h.indexOf(":") + 2);
    const st = c.request(headers);
    let status = 0;
    let body = "";
    st.on("response", (h) => (status = Number(h[":status"])));
    st.on("data", (d: Buffer) => (body += d.toString()));
    st.on("end", () => {
      if (status !== 200) return done(new Error(`${name}: probe answered ${status}: ${body.slice(0, 300)}`));
      if (JSON.stringify(JSON.parse(body)) !== JSON.stringify(AM_DATA))
        return done(new Error(`${name}: probe body is not the NF's answer: ${body.slice(0, 300)}`));
      done();
    });
    st.on("error", (e) => done(new Error(`${name}: probe failed: ${e.message}`)));
  });
}

async function h2load(
  o: Opts,
  dir: string,
  name: string,
  url: string,
  authority: string | null,
  procs: Array<{ name: string; pid: number }>,
): Promise<Result> {
  if (authority) await probe(name, url, authority);
  const headers = [...NF_HEADERS, ...(authority ? [`:authority: ${authority}`] : [])].flatMap((h) => ["-H", h]);
  const base = ["-t", "1", "-c", String(o.clients), "-m", String(o.streams), ...headers];
  if (o.warmup > 0) {
    const w = await run("h2load", [...base, "-D", String(o.warmup), url], (o.warmup + 20) * 1000);
    if (w.code !== 0) throw new Error(`${name}: h2load warm-up failed (${w.code}): ${w.err || w.out}`);
  }
  const log = join(dir, `${name}.h2load.log`);
  const before = procs.map((p) => cpuSeconds(p.pid));
  const gcBefore = procs.map((p) => gcBytesOf.get(p.pid) ?? NaN);
  const cyclesBefore = procs.map((p) => gcCyclesOf.get(p.pid) ?? NaN);
  const threadsBefore = procs.map((p) => threadTimes(p.pid));
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
  const after = procs.map((p) => cpuSeconds(p.pid));
  const gcAfter = procs.map((p) => gcBytesOf.get(p.pid) ?? NaN);
  const cyclesAfter = procs.map((p) => gcCyclesOf.get(p.pid) ?? NaN);
  const threadsAfter = procs.map((p) => threadTimes(p.pid));
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
    cpu: procs.map((p, i) => {
      const s = after[i]! - before[i]!;
      return { name: p.name, seconds: s, pct: (100 * s) / wall, peakMb: peakRssMb(p.pid) };
    }),
    threads: procs.map((_p, i) => threadDelta(threadsBefore[i]!, threadsAfter[i]!)),
    gcBytes: procs.map((_p, i) => gcAfter[i]! - gcBefore[i]!),
    gcCycles: procs.map((_p, i) => cyclesAfter[i]! - cyclesBefore[i]!),
  };
}

/** A long-running helper process; resolves once `ready` says so from its stdout/stderr. */
async function daemon(
  name: string,
  cmd: string,
  args: string[],
  ready: (out: string) => boolean | Promise<boolean>,
  timeoutMs = 15000,
  env?: Record<string, string>,
) {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ? { ...process.env, ...env } : undefined });
  let out = "";
  const add = (d: Buffer) => (out = (out + d.toString()).slice(-20000));
  p.stdout!.on("data", add);
  // --gc-bytes: stderr carries the GC log, counted instead of kept
  if (env?.BUN_JSC_logGC) countGcBytes(p.pid!, p.stderr!);
  else p.stderr!.on("data", add);
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  try {
    await waitFor(
      name,
      () => {
        if (p.exitCode !== null) throw new Error(`${name} exited (${p.exitCode}): ${out}`);
        return ready(out);
      },
      timeoutMs,
      50,
    );
  } catch (e) {
    p.kill("SIGKILL");
    throw e;
  }
  return {
    pid: p.pid!,
    output: () => out,
    async stop() {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A TCP port accepts connections. */
async function listening(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** A set-up under load: where h2load sends, the processes whose CPU is counted, how to stop it. */
interface Scenario {
  name: string;
  url: string;
  authority: string;
  procs: Array<{ name: string; pid: number }>;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "sepp-bench-e2e-"));
  const stops: Array<() => Promise<unknown>> = [];
  const scenarios: Scenario[] = [];
  const started = performance.now();
  const cleanup = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    stops.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  process.on("SIGTERM", () => void cleanup().then(() => process.exit(143)));
  const runs = new Map<string, Result[]>();
  try {
    const nf = await daemon("NF", BUN, [join(ROOT, "bench/nf-h2.ts"), "0", o.nf], (s) => /\{"port":\d+\}/.test(s));
    stops.push(() => nf.stop());
    const nfPort = Number(/"port":(\d+)/.exec(nf.output())![1]);
    const udm = `${HOME_UDM}:${nfPort}`;
    console.error(
      `# NF (${o.nf === "serve" ? "Bun.serve native HTTP/2" : "node:http2"}, h2c) on 127.0.0.1:${nfPort}; h2load -t1 -c${o.clients} -m${o.streams}${o.rps ? ` --rps ${o.rps} in all` : ""}, ${o.rounds} alternating rounds of ${o.duration}s per scenario (${o.warmup}s warm-up before the first)`,
    );

    // ---- set up every scenario first, so that the rounds can alternate between them
    if (o.only.has("nf"))
      scenarios.push({
        name: "nf",
        url: `http://127.0.0.1:${nfPort}${PATH}`,
        authority: udm,
        procs: [{ name: "nf", pid: nf.pid }],
      });
    if (o.only.has("nf-other")) {
      // the other NF engine, measured alone too (node:http2 when the NF runs on Bun.serve, and the reverse)
      const other = o.nf === "serve" ? "node" : "serve";
      const nf2 = await daemon("NF 2", BUN, [join(ROOT, "bench/nf-h2.ts"), "0", other], (s) =>
        /\{"port":\d+\}/.test(s),
      );
      stops.push(() => nf2.stop());
      const p2 = Number(/"port":(\d+)/.exec(nf2.output())![1]);
      scenarios.push({
        name: `nf-${other}`,
        url: `http://127.0.0.1:${p2}${PATH}`,
        authority: `${HOME_UDM}:${p2}`,
        procs: [{ name: `nf-${other}`, pid: nf2.pid }],
      });
    }

    if (o.only.has("chain")) {
      // the PKI of a SEPP pair serves the nghttpx pair too: B presents the home SEPP certificate and requires A's
      // (visited) certificate chained to the visited root; A verifies B against the home root (mutual TLS like N32)
      const pki = await writePair({ dir: join(dir, "chain-pki"), homeProducers: { [HOME_UDM]: nfPort } });
      const [pa, pb] = [await freePort(), await freePort()];
      const vp = join(pki.visited.dir, "var/pki");
      const hp = join(pki.home.dir, "var/pki");
      writeFileSync(join(dir, "nghttpx.conf"), ""); // no system configuration file
      const common = [
        "-n1",
        `--conf=${join(dir, "nghttpx.conf")}`,
        "--no-ocsp",
        "--no-via",
        "--log-level=WARN",
        "--tls-min-proto-version=TLSv1.3",
      ];
      const b = await daemon(
        "nghttpx B",
        "nghttpx",
        [
          ...common,
          `--frontend=127.0.0.1,${pb}`,
          `--backend=127.0.0.1,${nfPort};;proto=h2`,
          "--verify-client",
          `--verify-client-cacert=${join(vp, "root-visited.crt.pem")}`,
          join(hp, "sepp.key.pem"),
          join(hp, "sepp.crt.pem"),
        ],
        () => listening(pb),
      );
      stops.push(() => b.stop());
      const a = await daemon(
        "nghttpx A",
        "nghttpx",
        [
          ...common,
          `--frontend=127.0.0.1,${pa};no-tls`,
          `--backend=127.0.0.1,${pb};;tls;proto=h2;sni=${HOME.fqdn}`,
          `--cacert=${join(hp, "root-home.crt.pem")}`,
          `--client-private-key-file=${join(vp, "sepp.key.pem")}`,
          `--client-cert-file=${join(vp, "sepp.crt.pem")}`,
        ],
        () => listening(pa),
      );
      stops.push(() => a.stop());
      scenarios.push({
        name: "chain",
        url: `http://127.0.0.1:${pa}${PATH}`,
        authority: udm,
        procs: [
          { name: "nghttpx-A", pid: a.pid },
          { name: "nghttpx-B", pid: b.pid },
        ],
      });
    }

    // the same two hops as the nghttpx chain made of Bun proxies with no SEPP logic: bun-chain on node:http2
    // (bench/e2e-bunproxy.ts), bun-native-chain on Bun.serve({http2}) + fetch({protocol: "http2"})
    // (bench/e2e-bunproxy-native.ts); same PKI and mutual TLS as the other chains
    for (const [name, script] of [
      ["bun-chain", "bench/e2e-bunproxy.ts"],
      ["bun-native-chain", "bench/e2e-bunproxy-native.ts"],
    ] as const) {
      if (!o.only.has(name)) continue;
      const pki = await writePair({ dir: join(dir, `${name}-pki`), homeProducers: { [HOME_UDM]: nfPort } });
      const vp = join(pki.visited.dir, "var/pki");
      const hp = join(pki.home.dir, "var/pki");
      const proxy = async (what: string, opts: unknown) => {
        const d = await daemon(
          what,
          BUN,
          [join(ROOT, script), JSON.stringify(opts)],
          (s) => /\{"port":\d+\}/.test(s),
          15000,
          o.gcBytes ? GC_BYTES_ENV : undefined,
        );
        stops.push(() => d.stop());
        return { ...d, port: Number(/"port":(\d+)/.exec(d.output())![1]) };
      };
      const b = await proxy(`${name} B`, {
        server: {
          key: join(hp, "sepp.key.pem"),
          cert: join(hp, "sepp.crt.pem"),
          clientCa: join(vp, "root-visited.crt.pem"),
        },
        upstream: `http://127.0.0.1:${nfPort}`,
      });
      const a = await proxy(`${name} A`, {
        upstream: `https://127.0.0.1:${b.port}`,
        client: {
          key: join(vp, "sepp.key.pem"),
          cert: join(vp, "sepp.crt.pem"),
          ca: join(hp, "root-home.crt.pem"),
          servername: HOME.fqdn,
        },
      });
      const tag = name === "bun-chain" ? "bun" : "native";
      scenarios.push({
        name,
        url: `http://127.0.0.1:${a.port}${PATH}`,
        authority: udm,
        procs: [
          { name: `${tag}-A`, pid: a.pid },
          { name: `${tag}-B`, pid: b.pid },
        ],
      });
    }

    // prins and tls: one data-path thread per SEPP (N32-f on the N32-c port); prins-w1 / prins-w2: a separate N32-f
    // listener (which workers need) and workers: 1 or 2 in both SEPPs, for the `e2e workers:` line
    const setups = [
      { name: "prins", mode: "PRINS", workers: 1, separateN32f: false },
      { name: "tls", mode: "TLS", workers: 1, separateN32f: false },
      { name: "prins-w1", mode: "PRINS", workers: 1, separateN32f: true },
      { name: "prins-w2", mode: "PRINS", workers: 2, separateN32f: true },
    ] as const;
    for (const { name, mode, workers, separateN32f } of setups) {
      if (!o.only.has(name)) continue;
      // the per-peer rate limit (default 2000/s, N32-PROFILE limits) is raised so that it does not cap the measurement
      const pair = await writePair({
        dir: join(dir, name),
        capabilities: [mode],
        separateN32f,
        homeProducers: { [HOME_UDM]: nfPort },
        edit: (_side, c) => {
          c.workers = workers;
          for (const p of c.peers ?? [])
            p.n32f = { ...p.n32f, maxRequestsPerSecond: 1_000_000, maxPendingRequests: 4096 };
        },
      });
      const env: Record<string, string> = { SEPP_LOG_LEVEL: "info" };
      if (o.profile) env.BUN_OPTIONS = `--cpu-prof --cpu-prof-dir=${join(o.profile, name)}`;
      // JSC tiers a function up to FTL after ~10^5 executions: at a few thousand requests per second the PRINS
      // code is still being compiled (30-100 ms per function) through a 10 s run; a lower threshold gets there first
      if (o.ftlSoon)
        Object.assign(env, {
          BUN_JSC_thresholdForFTLOptimizeAfterWarmUp: "5000",
          BUN_JSC_thresholdForFTLOptimizeSoon: "500",
        });
      // the collections JSC's timers (and Bun's) start would reset the count unprinted: off, so that every collection
      // is one started by the count (the CPU figures of such a run are not comparable with others)
      if (o.gcBytes) Object.assign(env, GC_BYTES_ENV);
      const { visited: v, home: h, stop } = await startPair(pair, { env });
      if (o.gcBytes) {
        countGcBytes(v.proc.pid!, v.proc.stderr!);
        countGcBytes(h.proc.pid!, h.proc.stderr!);
      }
      stops.push(async () => {
        const codes = await stop();
        if (codes.some((c) => c !== 0)) console.error(`# ${name}: a SEPP exited with ${codes.join(", ")}`);
      });
      scenarios.push({
        name,
        url: `http://127.0.0.1:${pair.visited.ports.sbi}${PATH}`,
        authority: udm,
        procs: [
          { name: "cSEPP", pid: v.proc.pid! },
          { name: "pSEPP", pid: h.proc.pid! },
        ],
      });
    }

    // ---- the rounds: every scenario once per round, in the same order, so slow phases of a shared machine
    // fall on all of them alike; warm-up only in the first round
    for (let round = 0; round < o.rounds; round++)
      for (const sc of scenarios) {
        const r = await h2load(
          { ...o, warmup: round === 0 ? o.warmup : 0 },
          dir,
          sc.name,
          sc.url,
          sc.authority,
          sc.procs,
        );
        const list = runs.get(sc.name) ?? [];
        list.push(r);
        runs.set(sc.name, list);
      }
  } finally {
    await cleanup();
  }

  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  /** the median run of each scenario's figures; rps spread = min–max of the rounds */
  const results = [...runs].map(([name, rs]) => {
    const rps = rs.map((r) => r.rps);
    return {
      name,
      rps: med(rps),
      spread: `${f(Math.min(...rps), 0)}–${f(Math.max(...rps), 0)}`,
      p50: med(rs.map((r) => r.p50)),
      p99: med(rs.map((r) => r.p99)),
      ok: rs.reduce((a, r) => a + r.ok, 0),
      done: rs.reduce((a, r) => a + r.done, 0),
      failed: rs.reduce((a, r) => a + r.failed, 0),
      cpu: rs[0]!.cpu.map((c, i) => ({
        name: c.name,
        pct: med(rs.map((r) => r.cpu[i]!.pct)),
        us: med(rs.map((r) => (1e6 * r.cpu[i]!.seconds) / Math.max(1, r.done))),
        threads: (["main", "jit", "gc", "other"] as const).map(
          (k) => [k, med(rs.map((r) => (1e6 * r.threads[i]![k]) / Math.max(1, r.done)))] as const,
        ),
        peakMb: Math.max(...rs.map((r) => r.cpu[i]!.peakMb)),
        kbPerRequest: med(rs.map((r) => r.gcBytes[i]! / 1024 / Math.max(1, r.done))),
        // one cycle's bytes per request: how far the figure may be off (the run's first and last cycles)
        kbError: med(rs.map((r) => r.gcBytes[i]! / Math.max(1, r.gcCycles[i]!) / 1024 / Math.max(1, r.done))),
      })),
    };
  });
  console.log(
    `scenario          req/s (min–max of ${o.rounds})   p50 ms  p99 ms  2xx/done          CPU per process: % of one core, µs per request (medians), peak RSS`,
  );
  for (const r of results)
    console.log(
      `${r.name.padEnd(17)} ${f(r.rps, 0).padStart(7)} (${r.spread})`.padEnd(42) +
        `${f(r.p50, 2).padStart(6)}  ${f(r.p99, 2).padStart(6)}  ${`${r.ok}/${r.done}`.padEnd(16)}  ${r.cpu.map((c) => `${c.name} ${f(c.pct, 0)}% ${f(c.us, 0)}µs ${f(c.peakMb, 0)}MB`).join(", ")}`,
    );
  // the Bun processes' CPU by thread (µs per request, medians): JIT compilation still running in a short run shows here
  for (const r of results)
    if (r.cpu.some((c) => c.threads.some(([k, v]) => k !== "main" && v > 0)))
      console.log(
        `#   ${r.name} threads: ${r.cpu.map((c) => `${c.name} ${c.threads.map(([k, v]) => `${k} ${f(v, 0)}`).join(" ")}`).join("; ")}`,
      );
  // --gc-bytes: JSC's bytes allocated per request (medians), per SEPP process
  for (const r of results)
    if (r.cpu.some((c) => Number.isFinite(c.kbPerRequest)))
      console.log(
        `#   ${r.name} allocated: ${r.cpu.map((c) => `${c.name} ${f(c.kbPerRequest)} KB (±${f(c.kbError)})`).join(", ")} per request (JSC count)`,
      );
  const by = (n: string) => results.find((r) => r.name === n);
  const prins = by("prins");
  const tls = by("tls");
  const chain = by("chain");
  const bunChain = by("bun-chain");
  const native = by("bun-native-chain");
  if (chain && (bunChain || native))
    console.log(
      `# runtime floor: ${bunChain ? `bun-chain / nghttpx-chain = ${(bunChain.rps / chain.rps).toFixed(2)}` : ""}${bunChain && native ? "; " : ""}${native ? `bun-native-chain / nghttpx-chain = ${(native.rps / chain.rps).toFixed(2)}` : ""}${prins && bunChain ? `; prins / bun-chain = ${(prins.rps / bunChain.rps).toFixed(2)}` : ""}`,
    );
  console.log(`# total ${f((performance.now() - started) / 1000)} s; ${VISITED.fqdn} → ${HOME.fqdn}`);
  const bad = results.filter((r) => r.failed > 0 || r.done === 0);
  for (const r of bad) console.error(`# ${r.name}: ${r.failed} of ${r.done} requests were not answered 2xx`);
  const w1 = by("prins-w1");
  const w2 = by("prins-w2");
  if (w1 || w2)
    console.log(
      `e2e workers: 1 → ${f(w1?.rps ?? NaN, 0)} req/s, 2 → ${f(w2?.rps ?? NaN, 0)} req/s${w1 && w2 ? `; ratio ${(w2.rps / w1.rps).toFixed(2)}` : ""}`,
    );
  console.log(
    `e2e prins ${f(prins?.rps ?? NaN, 0)} req/s p99 ${f(prins?.p99 ?? NaN, 2)}; tls ${f(tls?.rps ?? NaN, 0)} req/s; nghttpx-chain ${f(chain?.rps ?? NaN, 0)} req/s; ratio ${prins && chain ? (prins.rps / chain.rps).toFixed(2) : "n/a"}`,
  );
  if (bad.length) process.exitCode = 1;
}

await main();
