// src/workers/pool.ts — the main thread's side of the data-path workers (issue 11 §3, docs/ARCHITECTURE.md
// "Worker model"): starts `workers` threads running src/workers/worker.ts on shared SBI and N32-f ports
// (SO_REUSEPORT), hands every new N32-f context to them with its shared block (one association per peer for all
// workers), mirrors the N32-c state they need, runs the N32-c calls they post, and restarts a worker that dies
// (the shared blocks outlive it: no SEQ is reused, no replay window is lost).
import type { AeadWorkerHandoff } from "../../hw/index.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { Logger, LogLevel } from "../log.ts";
import type { SharedContextSpec } from "../n32c/keys.ts";
import type { N32cService } from "../n32c/service.ts";
import type { N32fContextStore } from "../n32f/context-store.ts";
import type { N32fSharedCounters } from "../n32f/shared-counters.ts";
import type { MetricSnapshot } from "../metrics.ts";
import type { FromWorker, N32cCall, SharedContextMsg, SyncMsg, ToWorker } from "./messages.ts";

export interface WorkerPoolOptions {
  count: number;
  /** the configuration in force (live members: sent to every worker on each change, see reconfigure) */
  config: () => SeppConfig;
  /**
   * the configuration the SEPP started with: a worker builds what is read once at start (listeners, TLS material,
   * the SBI listener's bounds, the telescopic table: src/config/restart.ts) from it, a restarted one too, so that
   * no worker applies a change the others only apply at the next start; the current one follows as a "config"
   */
  startConfig: SeppConfig;
  dataDir: string;
  /** the main thread's level now (log.level or SEPP_LOG_LEVEL): at a worker's start and with each configuration */
  logLevel: () => LogLevel;
  tls: { key: string; cert: string };
  contexts: N32fContextStore;
  log: Logger;
  validateOutgoing?: boolean;
  /** the AEAD engine each worker runs (Hardware.aeadForWorkers: software, or pkcs11 in the worker's own session) */
  aead: AeadWorkerHandoff;
  /** a worker's PKCS#11 call failed: the token's owner (this thread) should probe it */
  onAeadFailure?: () => void;
  /** A worker ended (crashed, killed or stopped), before any replacement starts: release what it left open. */
  onWorkerEnded?: (index: number) => void;
  /** tests only (SEPP_TEST_HOOKS): hand new contexts to the workers this late, as a busy worker would see them */
  shareDelayMs?: number;
  /** tests only (SEPP_TEST_HOOKS): the workers hand requests off whatever their utilization (handoff.ts) */
  handoffAlwaysSpill?: boolean;
}

/** Restart back-off of a dead worker (bounded). */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5000;
const SYNC_EVERY_MS = 200;
/** how long /metrics waits for a worker's snapshot (a busy or dying worker is left out of that scrape) */
const METRICS_WAIT_MS = 1000;

/**
 * The worker's entry point. From source it sits beside this module; in the compiled executable every bundled
 * module's import.meta.url is the executable's own path in Bun's embedded file system, and build.sh embeds
 * src/workers/worker.ts as a second entry point under `workers/` (test/build-binary.test.ts starts workers: 2).
 */
const WORKER_URL = import.meta.url.startsWith("file:///$bunfs/")
  ? new URL("./workers/worker.ts", import.meta.url).href
  : new URL("./worker.ts", import.meta.url).href;

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #workers: Array<Worker | null> = [];
  /** which workers are ready: linked to each other for the requests they hand off (handoff.ts) */
  readonly #ready: boolean[] = [];
  /** per worker: requests in hand, then utilization (handoff.ts), shared with every worker */
  readonly #handoff: Int32Array;
  /**
   * Live shared contexts: the parameters with a copy of the master, kept while the context lives so that a
   * restarted worker can hold it again (same process memory as the main thread's own keys); wiped when the context
   * leaves the store.
   */
  readonly #shared = new Map<string, SharedContextMsg>();
  #n32c: N32cService | undefined;
  #ports: { sbi: number; n32f: number } | undefined;
  #lastSync = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;
  /** restarts so far (status, tests) */
  restarts = 0;
  #metricsSeq = 0;
  readonly #metricsWaiting = new Map<number, (snapshot: MetricSnapshot[]) => void>();

  constructor(o: WorkerPoolOptions) {
    this.#o = o;
    this.#handoff = new Int32Array(new SharedArrayBuffer(8 * Math.max(1, o.count)));
  }

  /** A worker is ready: a MessageChannel to every other ready worker, for the requests handed between them. */
  #link(index: number): void {
    const w = this.#workers[index];
    if (!w) return;
    this.#ready[index] = true;
    for (let j = 0; j < this.#workers.length; j++) {
      const o = this.#workers[j];
      if (j === index || !o || !this.#ready[j]) continue;
      const ch = new MessageChannel();
      w.postMessage({ op: "handoff-link", peer: j, port: ch.port1 } satisfies ToWorker, [ch.port1]);
      o.postMessage({ op: "handoff-link", peer: index, port: ch.port2 } satisfies ToWorker, [ch.port2]);
    }
  }

  /** A worker ended: the others answer what it held for them and close their ports to it. */
  #unlink(index: number): void {
    this.#ready[index] = false;
    for (const o of this.#workers) o?.postMessage({ op: "handoff-unlink", peer: index } satisfies ToWorker);
  }

  get ports(): { sbi: number; n32f: number } | undefined {
    return this.#ports;
  }

  /** keys.ts ContextShare: a new context goes to every running worker; the pool keeps its own copy. */
  readonly share = (spec: SharedContextSpec, shared: N32fSharedCounters): void => {
    const keep: SharedContextMsg = { spec, buffer: shared.buffer };
    this.#shared.set(spec.localContextId.toLowerCase(), keep);
    const post = () => {
      for (const w of this.#workers) w?.postMessage({ op: "context", ...keep } satisfies ToWorker);
    };
    if (this.#o.shareDelayMs) setTimeout(post, this.#o.shareDelayMs).unref?.();
    else post();
  };

  /** Start every worker on the configured ports (SO_REUSEPORT): all at once, or the first alone when it must choose them. */
  async start(n32c: N32cService): Promise<void> {
    this.#n32c = n32c;
    // with both ports configured every worker binds them at once (SO_REUSEPORT); a port 0 is chosen by the first
    const l = this.#o.config().listeners;
    const fixed = (l.sbi?.port ?? 0) > 0 && (l.n32f?.port ?? 0) > 0;
    if (fixed) await Promise.all(Array.from({ length: this.#o.count }, (_, i) => this.#spawn(i)));
    else {
      await this.#spawn(0);
      await Promise.all(Array.from({ length: this.#o.count - 1 }, (_, i) => this.#spawn(i + 1)));
    }
    this.#timer = setInterval(() => this.sync(), SYNC_EVERY_MS);
    this.#timer.unref?.();
  }

  /** Post the N32-c view to the workers when it changed (also called at once on context-active/-terminated). */
  sync(): void {
    const s = this.#snapshot();
    const text = JSON.stringify(s);
    if (text === this.#lastSync) return;
    this.#lastSync = text;
    for (const w of this.#workers) w?.postMessage(s satisfies ToWorker);
  }

  reconfigure(): void {
    const config = this.#o.config();
    const logLevel = this.#o.logLevel();
    for (const w of this.#workers) w?.postMessage({ op: "config", config, logLevel } satisfies ToWorker);
  }

  #snapshot(): SyncMsg {
    const n32c = this.#n32c!;
    const peers: SyncMsg["peers"] = {};
    for (const p of this.#o.config().peers) {
      const brief = n32c.brief(p.id);
      if (brief) peers[p.id] = { brief, endpoint: n32c.n32fEndpointOf(p.id) };
    }
    const contexts: SyncMsg["contexts"] = {};
    for (const c of this.#o.contexts.list()) contexts[c.localContextId] = c.state;
    for (const [id, m] of this.#shared)
      if (!this.#o.contexts.get(id)) {
        m.spec.master.fill(0);
        this.#shared.delete(id);
      }
    return { op: "sync", peers, contexts };
  }

  #spawn(index: number, attempt = 0): Promise<void> {
    // the slots of a worker that ended still count what it held: its replacement starts from nothing
    Atomics.store(this.#handoff, index, 0);
    Atomics.store(this.#handoff, this.#o.count + index, 0);
    const w = new Worker(WORKER_URL);
    this.#workers[index] = w;
    const cfg = this.#o.startConfig;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        if (m.op === "ready") {
          ready = true;
          this.#ports ??= m.ports;
          this.#o.log.info("data-path worker ready", { worker: index, ...m.ports });
          this.#link(index);
          resolve();
        } else if (m.op === "failed") {
          this.#o.log.error("data-path worker failed to start", { worker: index, error: m.error });
          reject(new Error(`data-path worker ${index}: ${m.error}`));
        } else if (m.op === "n32c") this.#call(m);
        else if (m.op === "metrics") this.#metricsWaiting.get(m.id)?.(m.snapshot);
        else if (m.op === "aead-failure") this.#o.onAeadFailure?.();
        else if (m.op === "need-context") {
          // a context N32-c made a moment ago, or one a restarted worker must hold: the same copy as `share` gives
          const id = m.n32fContextId.toLowerCase();
          const keep = this.#shared.get(id);
          const ctx = keep ? this.#o.contexts.get(id) : undefined;
          w.postMessage({
            op: "context-reply",
            ask: m.ask,
            context: keep && ctx ? { ...keep, state: ctx.state } : null,
          } satisfies ToWorker);
        } else if (m.op === "observed")
          // what one worker's screening learned, to every other worker (category 3 and overload hold box-wide)
          for (const o of this.#workers) if (o && o !== w) o.postMessage(m satisfies ToWorker);
      };
      // an uncaught error in the worker (module not found, a throw at load): logged, then "close" decides
      w.addEventListener("error", (ev) => {
        this.#o.log.error("data-path worker error", { worker: index, error: String(ev.message).slice(0, 500) });
      });
      w.addEventListener("close", () => {
        if (this.#workers[index] === w) this.#workers[index] = null;
        if (!this.#stopping) this.#unlink(index);
        try {
          this.#o.onWorkerEnded?.(index);
        } catch (e) {
          this.#o.log.error("releasing what a data-path worker left failed", { worker: index, error: String(e) });
        }
        if (this.#stopping) return;
        if (!ready) return reject(new Error(`data-path worker ${index} exited during start`));
        // a dead worker is replaced; the association and its shared counters stay (they live in this thread too)
        this.restarts++;
        const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(attempt, 6));
        this.#o.log.warn("data-path worker exited: restarting", { worker: index, delayMs: delay });
        setTimeout(() => {
          if (this.#stopping) return;
          this.#spawn(index, attempt + 1).catch((e) =>
            this.#o.log.error("data-path worker restart failed", { worker: index, error: String(e) }),
          );
        }, delay).unref?.();
      });
      w.postMessage({
        op: "init",
        index,
        workers: this.#o.count,
        config: cfg,
        dataDir: this.#o.dataDir,
        logLevel: this.#o.logLevel(),
        tls: this.#o.tls,
        ports: { sbi: this.#ports?.sbi, n32f: this.#ports?.n32f },
        validateOutgoing: this.#o.validateOutgoing ?? false,
        aead: this.#o.aead,
        contexts: [...this.#shared.values()],
        sync: this.#n32c ? this.#snapshot() : { op: "sync", peers: {}, contexts: {} },
        handoff: this.#handoff.buffer as SharedArrayBuffer,
        handoffAlwaysSpill: this.#o.handoffAlwaysSpill ?? false,
      } satisfies ToWorker);
      // what changed since the start and applies at once: the worker takes it before its listeners open (at init's
      // first await), while what it reads once at start stays built from `cfg`
      const now = this.#o.config();
      if (now !== cfg) w.postMessage({ op: "config", config: now, logLevel: this.#o.logLevel() } satisfies ToWorker);
    });
  }

  /** An N32-c call a worker's data path made (errors are logged: the worker does not wait for them). */
  #call(c: N32cCall): void {
    const n32c = this.#n32c!;
    const fail = (e: unknown) =>
      this.#o.log.every(`worker-n32c-${c.call}-${c.peerId}`, 10_000, "warn", "N32-c call from a worker failed", {
        peer: c.peerId,
        call: c.call,
        error: String(e),
      });
    try {
      if (c.call === "reportError") n32c.reportError(c.peerId, c.report).catch(fail);
      else if (c.call === "handshake") n32c.handshake(c.peerId).catch(fail);
      else if (c.call === "renegotiate") n32c.renegotiate(c.peerId, c.why);
      else n32c.dropContext(c.peerId, c.localContextId);
    } catch (e) {
      fail(e);
    }
  }

  /**
   * Every running worker's metric snapshot, for /metrics (summed there with the main thread's). A worker that does
   * not answer within METRICS_WAIT_MS is left out of this scrape; `sepp_workers_unscraped` says how many were.
   */
  async metrics(): Promise<MetricSnapshot[][]> {
    const asks = this.#workers.map(
      (w) =>
        new Promise<MetricSnapshot[] | null>((resolve) => {
          if (!w) return resolve(null);
          const id = ++this.#metricsSeq;
          const t = setTimeout(() => {
            this.#metricsWaiting.delete(id);
            resolve(null);
          }, METRICS_WAIT_MS);
          this.#metricsWaiting.set(id, (snapshot) => {
            clearTimeout(t);
            this.#metricsWaiting.delete(id);
            resolve(snapshot);
          });
          w.postMessage({ op: "metrics", id } satisfies ToWorker);
        }),
    );
    const got = await Promise.all(asks);
    const answered = got.filter((g): g is MetricSnapshot[] => g !== null);
    const pool: MetricSnapshot[] = [
      {
        name: "sepp_workers",
        help: "Data-path worker threads configured",
        type: "gauge",
        series: [["", this.#o.count]],
      },
      {
        name: "sepp_workers_unscraped",
        help: "Data-path workers whose metrics this scrape does not include (not running or not answering)",
        type: "gauge",
        series: [["", this.#o.count - answered.length]],
      },
      {
        name: "sepp_worker_restarts_total",
        help: "Data-path workers restarted after they ended",
        type: "counter",
        series: [["", this.restarts]],
      },
    ];
    return [pool, ...answered];
  }

  /** Kill one worker (tests: a worker that dies is restarted). */
  kill(index: number): void {
    this.#workers[index]?.terminate();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    await Promise.all(
      this.#workers.map(
        (w) =>
          w &&
          new Promise<void>((res) => {
            const t = setTimeout(() => {
              w.terminate();
              res();
            }, 3000);
            w.addEventListener("message", (ev: MessageEvent<FromWorker>) => {
              if (ev.data.op === "stopped") {
                clearTimeout(t);
                w.terminate();
                res();
              }
            });
            w.postMessage({ op: "stop" } satisfies ToWorker);
          }),
      ),
    );
    for (const m of this.#shared.values()) m.spec.master.fill(0);
    this.#shared.clear();
  }
}
