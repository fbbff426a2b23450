// bench/e2e/opts.ts — the options of bench:e2e (`bun bench/e2e-run.ts --help` lists them).
import { resolve } from "node:path";

export interface Opts {
  duration: number;
  warmup: number;
  clients: number;
  streams: number;
  only: Set<string>;
  /** NF engine: Bun.serve native HTTP/2 (default) or node:http2 */
  nf: "serve" | "node";
  /** a response header whose value the NF changes with every answer (an etag, a location): what the SEPPs'
   *  HPACK encoders meet with real producers, and the bench's fixed answer does not show */
  nfVary?: string;
  /** --nf-pad N: the NF's answer carries N octets more (a `pad` member): what larger answers cost */
  nfPad?: number;
  /** rounds: each scenario runs once per round, alternating with the others; medians and spread over them */
  rounds: number;
  /** write a CPU profile of each SEPP (bun --cpu-prof) into this directory */
  profile?: string;
  /** a fixed request rate (all clients together) for the measured run: CPU per request at equal load */
  rps?: number;
  /** the SEPPs tier their hot code up to FTL after fewer executions (JSC options): the steady state sooner */
  ftlSoon: boolean;
  /** run the SEPPs with Bun's --smol (a smaller heap, collected more often) */
  smol: boolean;
  /** JSC's bytes allocated per request of the SEPPs and Bun proxies (bench/e2e/gc-bytes.ts) */
  gcBytes: boolean;
  /** run the SEPPs with the environment of packaging/sepp.service, as on the gateway (default; --no-unit-env: not) */
  unitEnv: boolean;
  /** --env NAME=VALUE (repeatable): set or override one variable of the SEPPs' environment (e.g. a memory policy) */
  env: Record<string, string>;
  /** psepp-tls-w*: N32-f connections the simulated peer opens (one per nghttpx worker) */
  peerConnections: number;
  /** the SEPPs' sbi.streamsPerN32fConnection (default: the configuration's, 100) */
  n32fStreams?: number;
  /** the SEPPs' workerHandoff (default: the configuration's, "least-loaded") */
  handoff?: "least-loaded" | "off";
}

export function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    duration: 6,
    warmup: 10,
    rounds: 3,
    clients: 4,
    streams: 16,
    only: new Set([
      "nf",
      "nf-other",
      "chain",
      "bun-chain",
      "bun-native-chain",
      "bun-raw-chain",
      "bun-nodesock-chain",
      "prins",
      "tls",
      "prins-w1",
      "prins-w2",
      "psepp-tls-w1",
      "psepp-tls-w2",
      "psepp-tls-w2-handoff",
    ]),
    nf: "serve",
    ftlSoon: false,
    smol: false,
    gcBytes: false,
    unitEnv: true,
    env: {},
    peerConnections: 1,
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
    else if (a === "--warmup") o.warmup = int(next(), 0, 60);
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
    else if (a === "--smol") o.smol = true;
    else if (a === "--gc-bytes") o.gcBytes = true;
    else if (a === "--no-unit-env") o.unitEnv = false;
    else if (a === "--env") {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(next());
      if (!m) throw new Error("--env NAME=VALUE");
      o.env[m[1]!] = m[2]!;
    } else if (a === "--peer-connections") o.peerConnections = int(next(), 1, 16);
    else if (a === "--n32f-streams") o.n32fStreams = int(next(), 1, 1000);
    else if (a === "--handoff") {
      const v = next();
      if (v !== "least-loaded" && v !== "off") throw new Error("--handoff least-loaded|off");
      o.handoff = v;
    } else if (a === "--nf-vary") {
      const v = next().toLowerCase();
      if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(v)) throw new Error("--nf-vary <header name>");
      o.nfVary = v;
    } else if (a === "--nf-pad") o.nfPad = int(next(), 0, 1 << 20);
    else if (a === "--nf") {
      const v = next();
      if (v !== "serve" && v !== "node") throw new Error("--nf serve|node");
      o.nf = v;
    } else
      throw new Error(
        `unknown argument ${a} (--duration s, --warmup s, -c clients, -m streams, --rounds n, --quick, --only nf,nf-other,chain,bun-chain,bun-native-chain,bun-raw-chain,bun-nodesock-chain,prins,tls,prins-w1,prins-w2,psepp-tls-w1,psepp-tls-w2,psepp-tls-w2-handoff, --nf serve|node, --nf-vary header, --nf-pad octets, --profile dir, --rps n, --ftl-soon, --smol, --gc-bytes, --no-unit-env, --env NAME=VALUE, --peer-connections n, --n32f-streams n, --handoff least-loaded|off)`,
      );
  }
  return o;
}
