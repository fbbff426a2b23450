// src/workers/handoff.ts — requests, not only connections, spread over the data-path workers (issue 11 §3;
// docs/ARCHITECTURE.md "Worker model"). The kernel places each connection on one worker (SO_REUSEPORT), so a
// roaming partner's one N32-f connection, or an SCP's one SBI connection, would load one core whatever the box has.
// The worker that reads a request (it keeps the HTTP/2 framing: the stream is its) may hand the request to a
// less loaded worker, which runs the handler — the PRINS engine, screening, the onward request on its own
// sessions — and hands the answer back. One association for all workers (shared SEQ counters and replay windows)
// makes any worker able to open or protect any context's message. Used with `workerHandoff: "least-loaded"`; the
// default is "off" (on the only machine measured, a 2-vCPU VM, it cost throughput: docs/PERFORMANCE.md).
//
// When: only what this worker cannot carry. A hand-off costs both threads CPU (20-35 µs per round trip, more on a
// VM where waking an idle thread on another CPU is a virtualised IPI: docs/PERFORMANCE.md), so a worker that keeps
// up hands nothing off, and a saturated one hands off only the share that brings it back under SPILL_FROM. Each
// worker publishes its thread's CPU utilization every SAMPLE_MS and adjusts the fraction of its requests it offers
// to hand off: up by STEP while at or above SPILL_FROM, down by STEP below SPILL_UNTIL, held in between. An offered
// request goes to the other worker with the fewest requests in hand, if that worker is at least UTIL_MARGIN less
// busy and has at least MARGIN fewer requests in hand; else it stays.
//
// Shared state (one SharedArrayBuffer from the pool, two Int32 per worker): requests in hand — the worker's own,
// counted by it, plus those handed to it, counted by the sender (which alone subtracts them again, on the answer)
// — and utilization in permille. The pool zeroes an ended worker's slots before its replacement is linked.
// Bounds: at most MAX_PENDING requests per link, each answered within the request timeout plus a grace (then
// 504), every one answered at once with 500 when the serving worker ends; a cancelled request is cancelled on the
// serving worker too. The links are MessagePorts the pool sets up between every pair of workers; each message is
// one transferred ArrayBuffer (handoff-codec.ts).
import type { Dispatch, HandlerKind, InboundRequest, N32fConn, OutboundResponse } from "../datapath/http.ts";
import { problemOut } from "../datapath/http.ts";
import { StreamCancel } from "../transport/h2/cancel.ts";
import { IdTable } from "../transport/h2/id-table.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../metrics.ts";
import { problem } from "../problem.ts";
import {
  type ConnDescriptor,
  decodeHandoff,
  encodeCancel,
  encodeRequest,
  encodeResponse,
  HandoffType,
} from "./handoff-codec.ts";
import { RemoteConns } from "./remote-conn.ts";
import { threadCpuNs } from "./thread-cpu.ts";

/** Hand a request off only to a worker with at least this many fewer requests in hand. */
export const MARGIN = 2;
/** Utilization (permille of one CPU) from which a worker hands requests off, and below which it stops again. */
export const SPILL_FROM = 850;
export const SPILL_UNTIL = 700;
/** How much the fraction of requests offered moves per sample (0 to all in 8 samples, 0.8 s). */
export const STEP = 0.125;
/** ... only to a worker at least this much less busy (permille). */
export const UTIL_MARGIN = 150;
const SAMPLE_MS = 100;
/** Requests one worker may have pending on another at once (beyond: handled here). */
export const MAX_PENDING = 512;
const GRACE_MS = 5000;
const SWEEP_MS = 1000;

export type Serve = (kind: HandlerKind, req: InboundRequest, conn: N32fConn | undefined) => Promise<OutboundResponse>;

export interface HandoffOptions {
  /** this worker's number */
  self: number;
  /** how many workers share `shared` */
  workers: number;
  /** per worker: requests in hand, then per worker: utilization in permille (one SharedArrayBuffer, src/workers/pool.ts) */
  shared: Int32Array;
  /** this thread's CPU time in ns (default: thread-cpu.ts; tests pass their own) */
  cpuNs?: () => number | null;
  /** beyond the request timeout, how long the serving worker may take before the request is answered 504 here */
  graceMs?: number;
  /** tests only (SEPP_TEST_HOOKS): spill whatever the utilization (the requests-in-hand margin still applies) */
  alwaysSpill?: boolean;
  /** whether to hand requests off (`workerHandoff`, read per request) */
  enabled: () => boolean;
  /** the data path's request timeout (sbi.requestTimeoutMs) */
  timeoutMs: () => number;
  log: Logger;
  metrics: Registry;
}

interface Pending {
  resolve: (r: OutboundResponse) => void;
  deadline: number;
  signal: InboundRequest["signal"];
  onAbort: () => void;
}

interface Link {
  peer: number;
  port: MessagePort;
  /** messages of this turn of the event loop, posted together (one wake-up of the other thread, not one each) */
  outbox: ArrayBuffer[];
  nextId: number;
  /** requests sent to that worker, by id (not Maps: src/transport/h2/id-table.ts) */
  pending: IdTable<Pending>;
  /** requests that worker sent here and this one is serving, by id: their cancellation */
  served: IdTable<StreamCancel>;
}

const DESCRIPTOR = "handoff.conn";

/** The connection as the serving worker needs it, built once per connection (the chain's DER, leaf first). */
function describe(conn: N32fConn & { id?: number }): ConnDescriptor {
  const known = conn.data.get(DESCRIPTOR) as ConnDescriptor | undefined;
  if (known) return known;
  const d: ConnDescriptor = {
    id: conn.id ?? 0,
    protocol: conn.protocol,
    remoteAddress: conn.socket.remoteAddress,
    chain: conn.peerChain().map((c) => new Uint8Array(c.raw)),
  };
  conn.data.set(DESCRIPTOR, d);
  return d;
}

export class WorkerHandoff {
  readonly #o: HandoffOptions;
  readonly #links = new Map<number, Link>();
  readonly #conns = new RemoteConns();
  #serve: Serve | undefined;
  /** the fraction of requests offered to other workers (0: none), and the offers accumulated toward the next one */
  #fraction = 0;
  #offer = 0;
  #lastCpu: number | null = null;
  #lastAt = 0;
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #sampler: ReturnType<typeof setInterval>;
  /** sepp_worker_handoff_total of this worker, one series per outcome (label keys built once: Counter.series) */
  readonly #counted: Record<"sent" | "served" | "worker-ended" | "timeout", { inc(): void }>;

  constructor(o: HandoffOptions) {
    this.#o = o;
    const c = o.metrics.counter(
      "sepp_worker_handoff_total",
      "Requests this data-path worker handed to another (sent) or served for another (served), and hand-offs that ended without the serving worker's answer",
    );
    const worker = String(o.self);
    this.#counted = {
      sent: c.series({ worker, outcome: "sent" }),
      served: c.series({ worker, outcome: "served" }),
      "worker-ended": c.series({ worker, outcome: "worker-ended" }),
      timeout: c.series({ worker, outcome: "timeout" }),
    };
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
    this.#sweep.unref?.();
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#sampler.unref?.();
    this.#sample();
  }

  /** The handler requests handed to this worker run on (DataPath.serve). */
  setServer(serve: Serve): void {
    this.#serve = serve;
  }

  /** A port to worker `peer` (the pool makes one per pair of workers, again when one of them restarts). */
  link(peer: number, port: MessagePort): void {
    this.unlink(peer);
    const l: Link = { peer, port, outbox: [], nextId: 0, pending: new IdTable(), served: new IdTable() };
    port.onmessage = (ev) => {
      for (const ab of ev.data as ArrayBuffer[]) this.#receive(l, ab);
    };
    this.#links.set(peer, l);
  }

  /** Worker `peer` ended (or its link is replaced): what it had pending is answered 500, what it sent is cancelled. */
  unlink(peer: number): void {
    const l = this.#links.get(peer);
    if (!l) return;
    this.#links.delete(peer);
    l.port.onmessage = null;
    l.port.close();
    // the pool resets an ended worker's load before its replacement is linked: nothing to subtract here
    for (const [id] of l.pending.entries())
      this.#settle(
        l,
        id,
        problemOut(problem(500, "SYSTEM_FAILURE", "the data-path worker serving the request ended")),
        "worker-ended",
        false,
      );
    const served = l.served.values();
    l.served.clear();
    for (const c of served) c.abort();
    this.#conns.forgetWorker(peer);
  }

  get pending(): number {
    let n = 0;
    for (const l of this.#links.values()) n += l.pending.size;
    return n;
  }

  /** Whether this worker hands requests off now (it was saturated). */
  get spilling(): boolean {
    return this.#fraction > 0;
  }

  /** The fraction of this worker's requests it offers to the others (0..1). */
  get fraction(): number {
    return this.#fraction;
  }

  /** One utilization sample: this thread's CPU time over the wall time since the last one, published in permille. */
  #sample(): void {
    // workerHandoff "off": no /proc read; a later "least-loaded" starts from a fresh sample
    if (!this.#o.enabled()) {
      this.#lastCpu = null;
      this.#fraction = 0;
      return;
    }
    const cpu = (this.#o.cpuNs ?? threadCpuNs)();
    const now = performance.now();
    if (cpu !== null && this.#lastCpu !== null && now > this.#lastAt) {
      const util = Math.min(1000, Math.round((cpu - this.#lastCpu) / 1000 / (now - this.#lastAt)));
      Atomics.store(this.#o.shared, this.#o.workers + this.#o.self, util);
      if (util >= SPILL_FROM) this.#fraction = Math.min(1, this.#fraction + STEP);
      else if (util < SPILL_UNTIL) this.#fraction = Math.max(0, this.#fraction - STEP);
    }
    this.#lastCpu = cpu;
    this.#lastAt = now;
  }

  /** Dispatch for the data path: here, or — while this worker is saturated — on a less loaded worker. */
  readonly dispatch: Dispatch = (kind, req, conn, here) => {
    // workerHandoff "off" (the default): nothing offered, nothing counted, the handler runs as without workers
    if (!this.#o.enabled()) return here();
    const load = this.#o.shared;
    const self = this.#o.self;
    let best: Link | undefined;
    // every 1/fraction-th request is offered (the test hook offers all)
    const rate = this.#o.alwaysSpill ? 1 : this.#fraction;
    if (rate > 0) this.#offer = Math.min(2, this.#offer + rate);
    if (this.#offer >= 1 && this.#links.size > 0) {
      this.#offer -= 1;
      const n = this.#o.workers;
      let bestLoad = Atomics.load(load, self) - MARGIN + 1;
      const maxUtil = this.#o.alwaysSpill ? 1000 : Atomics.load(load, n + self) - UTIL_MARGIN;
      for (const l of this.#links.values()) {
        const x = Atomics.load(load, l.peer);
        if (x < bestLoad && l.pending.size < MAX_PENDING && Atomics.load(load, n + l.peer) <= maxUtil) {
          best = l;
          bestLoad = x;
        }
      }
    }
    if (best) return this.#send(best, kind, req, conn);
    Atomics.add(load, self, 1);
    return here().then(
      (r) => {
        Atomics.sub(load, self, 1);
        return r;
      },
      (e) => {
        Atomics.sub(load, self, 1);
        throw e;
      },
    );
  };

  #send(l: Link, kind: HandlerKind, req: InboundRequest, conn: N32fConn | undefined): Promise<OutboundResponse> {
    l.nextId = l.nextId >= 0x7fffffff ? 1 : l.nextId + 1; // 1…2^31-1, the ids an IdTable holds
    const id = l.nextId;
    const buf = encodeRequest(id, kind, req, conn ? describe(conn) : null);
    Atomics.add(this.#o.shared, l.peer, 1);
    this.#counted.sent.inc();
    return new Promise<OutboundResponse>((resolve) => {
      // the client left: the serving worker cancels its onward request too (its answer still settles this)
      const onAbort = () => {
        if (this.#links.get(l.peer) === l) {
          const c = encodeCancel(id);
          this.#post(l, c);
        }
      };
      l.pending.set(id, {
        resolve,
        deadline: performance.now() + this.#o.timeoutMs() + (this.#o.graceMs ?? GRACE_MS),
        signal: req.signal,
        onAbort,
      });
      req.signal.addEventListener("abort", onAbort);
      this.#post(l, buf);
    });
  }

  /** Queue a message to the other worker; the first of a turn schedules the turn's post. */
  #post(l: Link, ab: ArrayBuffer): void {
    if (l.outbox.push(ab) === 1) setImmediate(() => this.#flush(l));
  }

  #flush(l: Link): void {
    const batch = l.outbox;
    if (!batch.length || this.#links.get(l.peer) !== l) return;
    l.outbox = [];
    l.port.postMessage(batch, batch);
  }

  #settle(l: Link, id: number, r: OutboundResponse, outcome?: "worker-ended" | "timeout", release = true): void {
    const p = l.pending.get(id);
    if (!p) return;
    l.pending.delete(id);
    if (release) Atomics.sub(this.#o.shared, l.peer, 1);
    p.signal.removeEventListener("abort", p.onAbort);
    if (outcome) this.#counted[outcome].inc();
    p.resolve(r);
  }

  #expire(): void {
    const now = performance.now();
    for (const l of this.#links.values())
      for (const [id, p] of l.pending.entries())
        if (p.deadline < now)
          this.#settle(
            l,
            id,
            problemOut(
              problem(504, "TIMED_OUT_REQUEST", "the data-path worker serving the request did not answer in time"),
            ),
            "timeout",
          );
  }

  #receive(l: Link, ab: ArrayBuffer): void {
    let m: ReturnType<typeof decodeHandoff>;
    try {
      m = decodeHandoff(ab);
    } catch (e) {
      // only our own workers write on these ports: a message we cannot read is a bug, logged, not answered
      this.#o.log.error("unreadable hand-off message", { worker: l.peer, error: String(e) });
      return;
    }
    if (m.type === HandoffType.Response) {
      this.#settle(l, m.id, m.res);
      return;
    }
    if (m.type === HandoffType.Cancel) {
      l.served.get(m.id)?.abort();
      return;
    }
    const cancel = new StreamCancel();
    l.served.set(m.id, cancel);
    const conn = m.conn ? this.#conns.get(l.peer, m.conn) : undefined;
    const serve = this.#serve;
    this.#counted.served.inc();
    const answer = (r: OutboundResponse) => {
      if (l.served.get(m.id) !== cancel) return; // the sender ended meanwhile
      l.served.delete(m.id);
      const out = encodeResponse(m.id, r);
      this.#post(l, out);
    };
    (serve
      ? serve(m.kind, { ...m.req, signal: cancel }, conn)
      : Promise.resolve(problemOut(problem(503, "NF_CONGESTION", "data path not started")))
    ).then(answer, (e) => {
      this.#o.log.error("handed-off request failed", { kind: m.kind, error: e });
      answer(problemOut(problem(500, "SYSTEM_FAILURE", "internal error")));
    });
  }

  close(): void {
    clearInterval(this.#sweep);
    clearInterval(this.#sampler);
    for (const peer of [...this.#links.keys()]) this.unlink(peer);
  }
}
