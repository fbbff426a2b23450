// src/workers/worker-main.ts — one data-path worker (loaded by worker.ts, its entry point) (issue 11 §3, docs/ARCHITECTURE.md "Worker model"): the SBI
// listener and the N32-f listener on ports shared with the other workers (SO_REUSEPORT), the cSEPP/pSEPP of
// src/datapath/, and a mirror of the main thread's N32-f contexts whose SEQ counters and replay windows are in
// shared memory (src/n32f/shared-counters.ts), so the association is one for all workers. N32-c, the
// configuration store and the admin API stay in the main thread (src/workers/pool.ts); the N32-c calls the data
// path makes (n32f-error reports, re-negotiation) are posted there.
import { type AeadEngine, openAeadForWorker, SoftwareAeadEngine, type WorkerAead } from "../../hw/index.ts";
import apiIeMapping from "../../config/api-ie-mapping.json" with { type: "json" };
import type { SeppConfig } from "../config/schema.ts";
import { DataPath } from "../datapath/index.ts";
import type { N32cView } from "../datapath/deps.ts";
import { risOf } from "../datapath/n32f-sender.ts";
import { createLogger, type Logger } from "../log.ts";
import { Registry } from "../metrics.ts";
import { threadCpuSeconds } from "./thread-cpu.ts";
import type { ProtectionPolicy } from "../model/n32.ts";
import { startN32fListener } from "../n32c/listeners.ts";
import { createN32fContext } from "../n32f/context.ts";
import { N32fContextStore } from "../n32f/context-store.ts";
import { N32fSharedCounters } from "../n32f/shared-counters.ts";
import { TrustStore } from "../pki/trust.ts";
import type { ScreeningObservation } from "../screening/screening.ts";
import { liveTimers } from "../timers.ts";
import { WorkerHandoff } from "./handoff.ts";
import { workerShare } from "./share-limits.ts";
import type { FromWorker, N32cCall, PeerView, SharedContextMsg, SyncMsg, ToWorker } from "./messages.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);
/** the main thread's AEAD engine run in this thread (init; pkcs11: this worker's own session in the token) */
let hw: WorkerAead | undefined;
let engine: AeadEngine = new SoftwareAeadEngine();
const contexts = new N32fContextStore();
let peers: Record<string, PeerView> = {};
/** this worker's share of the box-wide bounds (share-limits.ts); N32-c's own bounds are the main thread's */
let config: SeppConfig;
let workers = 1;
let trust: { cfg: SeppConfig; store: TrustStore } | undefined;
let stopAll: (() => Promise<void>) | undefined;
let reconfigure: (() => void) | undefined;
/** the worker's logger (created at init): its level follows the main thread's with each configuration */
let workerLog: Logger | undefined;
let observe: ((o: ScreeningObservation) => void) | undefined;
/** requests handed to and from the other workers (init) */
let handoff: WorkerHandoff | undefined;
/** this worker's data-path metrics, summed into the main thread's /metrics (pool.metrics) */
const metrics = new Registry();

const trustOf = () => {
  if (trust?.cfg !== config) trust = { cfg: config, store: TrustStore.fromConfig(config) };
  return trust.store;
};

/** Create this worker's copy of a context on the shared block; the master copy is wiped by createN32fContext. */
function addContext(m: SharedContextMsg): void {
  try {
    if (contexts.get(m.spec.localContextId)) return;
    contexts.add(createN32fContext({ ...m.spec, engine, shared: N32fSharedCounters.of(m.buffer) }));
  } finally {
    m.spec.master.fill(0);
  }
}

/** The main thread's view: peers, and which contexts live in which state (those it no longer has are destroyed). */
function applySync(s: SyncMsg): void {
  peers = s.peers;
  for (const c of contexts.list()) {
    const st = s.contexts[c.localContextId];
    if (st === undefined || st === "terminated") contexts.delete(c.localContextId);
    else if (st === "active") c.activate();
    else c.deactivate();
  }
}

const call = (c: N32cCall) => post({ op: "n32c", ...c });

/** Outstanding asks for a context (bounded: an authenticated sender naming unknown contexts costs one message each). */
const MAX_CONTEXT_ASKS = 16;
const CONTEXT_ASK_MS = 1000;
let askSeq = 0;
const asks = new Map<number, (held: boolean) => void>();
const asking = new Map<string, Promise<boolean>>();

/** N32cView.awaitContext: ask the main thread for a context this worker does not hold (yet). */
function awaitContext(n32fContextId: string): Promise<boolean> {
  const id = n32fContextId.toLowerCase();
  const pending = asking.get(id);
  if (pending) return pending;
  if (asks.size >= MAX_CONTEXT_ASKS) return Promise.resolve(false);
  const ask = ++askSeq;
  const p = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => done(false), CONTEXT_ASK_MS);
    const done = (held: boolean) => {
      clearTimeout(t);
      asks.delete(ask);
      asking.delete(id);
      resolve(held);
    };
    asks.set(ask, done);
  });
  asking.set(id, p);
  post({ op: "need-context", ask, n32fContextId: id });
  return p;
}

function contextReply(m: Extract<ToWorker, { op: "context-reply" }>): void {
  let held = false;
  if (m.context) {
    addContext(m.context);
    const c = contexts.get(m.context.spec.localContextId);
    if (c && m.context.state === "active") {
      c.activate();
      held = c.state === "active";
    } else if (c) contexts.delete(c.localContextId);
  }
  asks.get(m.ask)?.(held);
}
const n32c: N32cView = {
  brief: (peerId) => peers[peerId]?.brief,
  n32fEndpointOf: (peerId) => peers[peerId]?.endpoint,
  reportError: async (peerId, report) => call({ call: "reportError", peerId, report }),
  handshake: async (peerId) => call({ call: "handshake", peerId }),
  // the main thread throttles re-negotiation per peer (one throttle for every worker)
  renegotiate: (peerId, why) => {
    call({ call: "renegotiate", peerId, why });
    return true;
  },
  dropContext: (peerId, localContextId) => {
    call({ call: "dropContext", peerId, localContextId });
    return true;
  },
  awaitContext,
};

async function init(m: Extract<ToWorker, { op: "init" }>): Promise<void> {
  workers = m.workers;
  // the configuration the SEPP started with: what is read once at start (listeners, TLS material, SBI bounds, the
  // telescopic table) is built from it, as in the main thread; `config` follows the stored one from the first
  // "config" message on (the pool sends it right after init when they differ)
  const startConfig = workerShare(m.config, workers);
  config = startConfig;
  const log = createLogger({ level: m.logLevel, base: { worker: m.index } });
  workerLog = log;
  // before any await: the contexts that follow init are created on this engine
  hw = openAeadForWorker(m.aead, () => post({ op: "aead-failure" }), m.index);
  engine = hw.aead;
  log.info("data-path worker AEAD engine", { engine: engine.name });
  for (const c of m.contexts) addContext(c);
  applySync(m.sync);
  handoff = new WorkerHandoff({
    self: m.index,
    workers,
    shared: new Int32Array(m.handoff),
    alwaysSpill: m.handoffAlwaysSpill,
    enabled: () => config.workerHandoff !== "off",
    timeoutMs: () => config.sbi.requestTimeoutMs,
    log: log.child({ component: "handoff" }),
    metrics,
  });
  const dataPath = new DataPath({
    config: () => config,
    dataDir: m.dataDir,
    log: log.child({ component: "datapath" }),
    metrics,
    contexts,
    n32c,
    trust: trustOf,
    tls: () => m.tls,
    defaults: apiIeMapping as ProtectionPolicy,
    validateOutgoing: m.validateOutgoing,
    reusePort: true,
    shareScreening: (observation) => post({ op: "observed", observation }),
    dispatch: handoff.dispatch,
  });
  handoff.setServer(dataPath.serve);
  // from here a "config" message (handled at init's first await) applies its live members at once
  reconfigure = () => dataPath.reconfigure();
  observe = (o) => dataPath.screening.observe(o);
  // the same data-path gauges as the main thread's (src/sepp.ts): /metrics adds the workers' values up
  metrics.gauge("sepp_datapath_inflight", "Data path requests being handled").set({}, () => dataPath.inflight());
  metrics
    .gauge("sepp_datapath_timers", "Per-request timers armed by the data path and not yet fired or cleared")
    .set({}, liveTimers);
  // this worker's own share of the load, labelled by worker and so not summed: the kernel places connections, not
  // requests, on the workers, and one of them may carry a peer's whole N32-f session (docs/CONFIG.md "workers")
  const self = { worker: String(m.index) };
  metrics
    .gauge("sepp_worker_inflight", "Data path requests being handled by this data-path worker")
    .set(self, () => dataPath.inflight());
  if (threadCpuSeconds() !== null)
    metrics
      .gauge("sepp_worker_cpu_seconds", "CPU time of this data-path worker's thread since it started (rate() it)")
      .set(self, () => threadCpuSeconds() ?? 0);
  await dataPath.start(m.ports.sbi, startConfig);
  const n32f = await startN32fListener({
    config: startConfig,
    port: m.ports.n32f,
    reusePort: true,
    tls: m.tls,
    trust: trustOf,
    liveConfig: () => config,
    exchangedRis: () =>
      contexts
        .list()
        .filter((c) => c.state === "active")
        .flatMap((c) => risOf(c)),
    n32fStreamHandler: dataPath.n32fStreamHandler(),
    log,
  });
  stopAll = async () => {
    await Promise.all([n32f.close(), dataPath.stop()]);
    handoff?.close();
    contexts.clear();
    // pkcs11: this worker's session (its keys with it); the module stays the main thread's to finalize
    hw?.close();
  };
  post({ op: "ready", ports: { sbi: dataPath.sbiPort ?? 0, n32f: n32f.port } });
}

/** The worker's message handler (worker.ts installs it once this module is loaded). */
export const onMessage = (ev: MessageEvent<ToWorker>): void => {
  const m = ev.data;
  switch (m.op) {
    case "init":
      init(m).catch((e) => post({ op: "failed", error: e instanceof Error ? e.message : String(e) }));
      return;
    case "context":
      addContext(m);
      return;
    case "sync":
      applySync(m);
      return;
    case "config":
      workerLog?.setLevel(m.logLevel);
      config = workerShare(m.config, workers);
      reconfigure?.();
      return;
    case "context-reply":
      contextReply(m);
      return;
    case "handoff-link":
      handoff?.link(m.peer, m.port);
      return;
    case "handoff-unlink":
      handoff?.unlink(m.peer);
      return;
    case "observed":
      observe?.(m.observation);
      return;
    case "metrics":
      post({ op: "metrics", id: m.id, snapshot: metrics.snapshot() });
      return;
    case "stop":
      void (stopAll?.() ?? Promise.resolve()).finally(() => post({ op: "stopped" }));
      return;
  }
};
