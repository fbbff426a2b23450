// bench/e2e-run.ts — the end-to-end benchmark (issue 4 "Benchmark"; run by bench/e2e.sh, `npm run bench:e2e`).
// One typical Nudm_SDM am-data GET (TS 29.503), driven by h2load over h2c, in these set-ups, all on 127.0.0.1:
//   nf       h2load → NF                                                    (the NF alone: the ceiling)
//   chain    h2load → nghttpx A (h2c in) ─TLS 1.3 mutual, h2─► nghttpx B → NF (h2c): plain forwarding, the
//            same shape as cSEPP → N32 → pSEPP without any SEPP logic (the baseline of the target)
//   prins    h2load → cSEPP (SBI, h2c) ─N32-f PRINS (JWE, TLS 1.3 mutual)─► pSEPP → NF (h2c)
//   tls      h2load → cSEPP ─N32-f TLS mode (plain HTTP/2 relay over TLS 1.3 mutual)─► pSEPP → NF
//   bun-chain, bun-native-chain, bun-raw-chain, bun-nodesock-chain   the chain's two hops as Bun proxies without
//            SEPP logic, on node:http2, on Bun.serve({http2}) + fetch({protocol: "http2"}) (issue 11 §1), and on our
//            own HTTP/2 layer (src/transport/h2/) over Bun's sockets and over node:net / node:tls sockets
//   nf-node  the NF on the other HTTP/2 engine
// Every scenario is set up first; then --rounds (default 3) rounds run each scenario once, alternating, and the
// medians (and the min–max of req/s) over the rounds are printed. --quick: 1 s runs, to check it works.
// The SEPPs are real processes (scripts/lib/pair.ts: dev PKI, N32-c handshake) at log level info.
// Each run: (first round: a warm-up run), then a fixed-duration run with a per-request log (p50/p99 from it), and the
// CPU time of each proxy process from /proc/<pid>/stat (utime+stime) before and after. Parts: bench/e2e/ (options,
// one measured h2load run, /proc readings, helper processes, the report: report.ts); this file sets the scenarios up
// and runs the rounds.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HOME, HOME_UDM, VISITED, freePort, type SeppProcess, startPair, writePair } from "../scripts/lib/pair.ts";

import { PATH, type Result, h2load } from "./e2e/h2load.ts";
import { parseArgs } from "./e2e/opts.ts";
import { daemon } from "./e2e/daemon.ts";
import { nghttpxHomeServer, nghttpxVisitedClient } from "./e2e/nghttpx.ts";
import { GC_BYTES_ENV, countGcBytes } from "./e2e/gc-bytes.ts";
import { shippedEnvironment } from "../scripts/lib/unit-env.ts";
import { report, summarize } from "./e2e/report.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

/** A set-up under load: where h2load sends, the processes whose CPU is counted, how to stop it. */
interface Scenario {
  name: string;
  url: string;
  authority: string;
  procs: Array<{ name: string; pid: number }>;
  /** header lines h2load sends besides the NF's (NF_HEADERS) */
  headers?: string[];
  /** SEPPs with workers: their hand-off counters are read after the rounds (src/workers/handoff.ts) */
  workerSepps?: Array<{ name: string; sepp: SeppProcess }>;
}

/** The requests a SEPP's workers handed to another worker so far (sepp_worker_handoff_total, outcome "sent"). */
async function handedOff(sepp: SeppProcess): Promise<number> {
  const text = await (await sepp.admin("/metrics")).text();
  let n = 0;
  for (const m of text.matchAll(/^sepp_worker_handoff_total\{outcome="sent",worker="\d+"\} (\d+)$/gm))
    n += Number(m[1]);
  return n;
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
  const handoffLines: string[] = [];
  try {
    const nf = await daemon(
      "NF",
      BUN,
      [join(ROOT, "bench/nf-h2.ts"), "0", o.nf, ...(o.nfVary ? [o.nfVary] : [])],
      (s) => /\{"port":\d+\}/.test(s),
      15000,
      o.nfPad ? { BENCH_NF_PAD: String(o.nfPad) } : undefined,
    );
    stops.push(() => nf.stop());
    const nfPort = Number(/"port":(\d+)/.exec(nf.output())![1]);
    const udm = `${HOME_UDM}:${nfPort}`;
    console.error(
      `# NF (${o.nf === "serve" ? "Bun.serve native HTTP/2" : "node:http2"}, h2c${o.nfVary ? `, a new ${o.nfVary} per answer` : ""}${o.nfPad ? `, answers ${o.nfPad} octets larger` : ""}) on 127.0.0.1:${nfPort}; h2load -t1 -c${o.clients} -m${o.streams}${o.rps ? ` --rps ${o.rps} in all` : ""}, ${o.rounds} alternating rounds of ${o.duration}s per scenario (${o.warmup}s warm-up before the first)`,
    );
    // the SEPPs run with the environment the gateway's unit gives them (the runtime's memory policy)
    const unitEnv = { ...(o.unitEnv ? shippedEnvironment() : {}), ...o.env };
    const unitLines = Object.entries(unitEnv).map(([k, v]) => `${k}=${v}`);
    console.error(
      `# SEPP environment from packaging/sepp.service${Object.keys(o.env).length ? " and --env" : ""}: ${unitLines.length ? unitLines.join(" ") : "none (--no-unit-env)"}`,
    );

    /** A SEPP pair of scenario `name` (scripts/lib/pair.ts), running, with the bench's options and environment. */
    const seppPair = async (
      name: string,
      mode: "PRINS" | "TLS",
      separateN32f: boolean,
      workersOf: (side: "visited" | "home") => number,
      handoff = o.handoff,
    ) => {
      // the per-peer rate limit (default 2000/s, N32-PROFILE limits) is raised so that it does not cap the measurement
      const pair = await writePair({
        dir: join(dir, name),
        capabilities: [mode],
        separateN32f,
        homeProducers: { [HOME_UDM]: nfPort },
        edit: (side, c) => {
          c.workers = workersOf(side);
          // --n32f-streams: another N32-f connection per peer (up to sbi.maxN32fConnectionsPerPeer) from this many
          // streams in flight, so that the peer's kernel can place the connections on more of its workers
          if (o.n32fStreams) c.sbi = { ...c.sbi, streamsPerN32fConnection: o.n32fStreams } as typeof c.sbi;
          // --handoff off: every request stays on the worker its connection landed on (src/workers/handoff.ts)
          if (handoff) c.workerHandoff = handoff;
          for (const p of c.peers ?? [])
            p.n32f = { ...p.n32f, maxRequestsPerSecond: 1_000_000, maxPendingRequests: 4096 };
        },
      });
      const env: Record<string, string> = { ...unitEnv, SEPP_LOG_LEVEL: "info" };
      const bunOptions = [
        ...(o.profile ? [`--cpu-prof --cpu-prof-dir=${join(o.profile, name)}`] : []),
        ...(o.smol ? ["--smol"] : []),
      ];
      if (bunOptions.length) env.BUN_OPTIONS = bunOptions.join(" ");
      // JSC tiers a function up to FTL after ~10^5 executions: at a few thousand requests per second the PRINS
      // code is still being compiled (30-100 ms per function) through a 10 s run; a lower threshold gets there first
      if (o.ftlSoon)
        Object.assign(env, {
          BUN_JSC_thresholdForFTLOptimizeAfterWarmUp: "5000",
          BUN_JSC_thresholdForFTLOptimizeSoon: "500",
        });
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
      return { pair, v, h };
    };

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
      const certs = { visited: join(pki.visited.dir, "var/pki"), home: join(pki.home.dir, "var/pki") };
      const b = await nghttpxHomeServer("nghttpx B", dir, certs, pb, nfPort);
      stops.push(() => b.stop());
      const a = await nghttpxVisitedClient("nghttpx A", dir, certs, pa, pb);
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
      ["bun-raw-chain", "bench/e2e-bunproxy-raw.ts"],
      ["bun-nodesock-chain", "bench/e2e-bunproxy-nodesock.ts"],
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
      const tag =
        name === "bun-chain"
          ? "bun"
          : name === "bun-raw-chain"
            ? "raw"
            : name === "bun-nodesock-chain"
              ? "nsock"
              : "native";
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
      const { pair, v, h } = await seppPair(name, mode, separateN32f, () => workers);
      scenarios.push({
        name,
        url: `http://127.0.0.1:${pair.visited.ports.sbi}${PATH}`,
        authority: udm,
        procs: [
          { name: "cSEPP", pid: v.proc.pid! },
          { name: "pSEPP", pid: h.proc.pid! },
          { name: "nf", pid: nf.pid },
        ],
        workerSepps:
          workers > 1
            ? [
                { name: "cSEPP", sepp: v },
                { name: "pSEPP", sepp: h },
              ]
            : undefined,
      });
    }

    // psepp-tls-w1 / -w2: the pSEPP's data path alone, with 1 or 2 workers, where this 2-vCPU machine has a core to
    // spare for a second worker. The visited SEPP only negotiates TLS mode on N32-c and then idles; the load is
    // h2load → nghttpx (h2c in; TLS 1.3 out with the visited side's development certificate, as the nghttpx chain)
    // → the pSEPP's N32-f listener, carrying what the visited SEPP's TLS-mode relay sends (src/datapath/tls-send.ts):
    // :authority the pSEPP, 3gpp-Sbi-Target-apiRoot the NF, 3gpp-Sbi-Originating-Network-Id the visited PLMN. The
    // other processes per request are nghttpx (~13 µs), the NF (~8 µs) and h2load (~5 µs), against ~100 µs pSEPP.
    // psepp-tls-w2-handoff: the same with workerHandoff "least-loaded" (a saturated worker hands requests to the
    // other, src/workers/handoff.ts) against psepp-tls-w2 with the default ("off") in the same rounds
    for (const [workers, handoff] of [
      [1, undefined],
      [2, undefined],
      [2, "least-loaded"],
    ] as const) {
      const name = `psepp-tls-w${workers}${handoff ? "-handoff" : ""}`;
      if (!o.only.has(name)) continue;
      const { pair, h } = await seppPair(name, "TLS", true, (side) => (side === "home" ? workers : 1), handoff);
      const n32f = pair.home.ports.n32f!;
      const pa = await freePort();
      const certs = { visited: join(pair.visited.dir, "var/pki"), home: join(pair.home.dir, "var/pki") };
      const a = await nghttpxVisitedClient(`${name} nghttpx`, dir, certs, pa, n32f, o.peerConnections);
      stops.push(() => a.stop());
      scenarios.push({
        name,
        url: `http://127.0.0.1:${pa}${PATH}`,
        authority: `${HOME.fqdn}:${n32f}`,
        headers: [
          `3gpp-sbi-target-apiroot: http://${udm}`,
          `3gpp-sbi-originating-network-id: ${VISITED.plmn.mcc}-${VISITED.plmn.mnc}`,
        ],
        procs: [
          { name: "pSEPP", pid: h.proc.pid! },
          { name: "nghttpx", pid: a.pid },
          { name: "nf", pid: nf.pid },
        ],
        workerSepps: workers > 1 ? [{ name: "pSEPP", sepp: h }] : undefined,
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
          sc.headers,
        );
        const list = runs.get(sc.name) ?? [];
        list.push(r);
        runs.set(sc.name, list);
      }
    // requests handed between workers over all rounds (warm-up included), against the requests h2load completed
    for (const sc of scenarios)
      if (sc.workerSepps) {
        const done = (runs.get(sc.name) ?? []).reduce((a, r) => a + r.done, 0);
        const parts: string[] = [];
        for (const { name, sepp } of sc.workerSepps)
          parts.push(`${name} ${await handedOff(sepp).catch(() => Number.NaN)} of ≥ ${done} requests`);
        handoffLines.push(`# ${sc.name} handed between workers (all rounds and the warm-up): ${parts.join(", ")}`);
      }
  } finally {
    await cleanup();
  }

  if (report(summarize(runs), o.rounds, started, handoffLines).length) process.exitCode = 1;
}

await main();
