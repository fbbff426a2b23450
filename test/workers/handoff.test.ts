// Requests handed between data-path workers (src/workers/handoff.ts), two WorkerHandoff instances joined by a real
// MessageChannel in this thread (the pool joins workers' instances the same way): a saturated worker hands a request
// to a less busy one, which serves it with the connection as the owner saw it; nothing moves while the worker keeps
// up, toward a busier worker, or with workerHandoff "off"; a serving worker that ends, a client that cancels, a
// serving worker that does not answer and a handler that throws all end in an answer; the shared counts return to 0.
import { X509Certificate } from "node:crypto";
import { afterEach, describe, expect, test } from "bun:test";
import type { HandlerKind, InboundRequest, N32fConn, OutboundResponse } from "../../src/datapath/http.ts";
import { StreamCancel } from "../../src/transport/h2/cancel.ts";
import { memoryLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import { MARGIN, SPILL_FROM, SPILL_UNTIL, STEP, WorkerHandoff } from "../../src/workers/handoff.ts";
import { RemoteConns } from "../../src/workers/remote-conn.ts";
import { testPki } from "../support/pki.ts";

const busy = () => performance.now() * 1e6; // 100 % of a CPU since the last sample
const idle = () => 0; // 0 %

interface Side {
  h: WorkerHandoff;
  served: Array<{ kind: HandlerKind; req: InboundRequest; conn: N32fConn | undefined }>;
  metrics: Registry;
}

let made: WorkerHandoff[] = [];
afterEach(() => {
  for (const h of made) h.close();
  made = [];
});

/** Two workers (0 and 1) on one shared block, linked; `serve1` is worker 1's handler. */
function pair(o: {
  cpu0: () => number;
  cpu1: () => number;
  serve1?: (req: InboundRequest) => Promise<OutboundResponse>;
  enabled?: boolean;
  timeoutMs?: number;
  graceMs?: number;
}) {
  const shared = new Int32Array(new SharedArrayBuffer(16));
  const mk = (self: number, cpuNs: () => number): Side => {
    const metrics = new Registry();
    const h = new WorkerHandoff({
      self,
      workers: 2,
      shared,
      enabled: () => o.enabled ?? true,
      timeoutMs: () => o.timeoutMs ?? 10_000,
      graceMs: o.graceMs,
      log: memoryLogger("error"),
      metrics,
      cpuNs,
    });
    made.push(h);
    return { h, served: [], metrics };
  };
  const a = mk(0, o.cpu0);
  const b = mk(1, o.cpu1);
  b.h.setServer((kind, req, conn) => {
    b.served.push({ kind, req, conn });
    return o.serve1 ? o.serve1(req) : Promise.resolve({ status: 200, headers: [["x-served-by", "1"]], body: "served" });
  });
  const ch = new MessageChannel();
  a.h.link(1, ch.port1);
  b.h.link(0, ch.port2);
  return { a, b, shared };
}

const request = (path = "/n32f-forward/v1/n32f-process"): InboundRequest => ({
  method: "POST",
  scheme: "https",
  authority: "sepp.example",
  path,
  headers: [["content-type", "application/json"]],
  body: new TextEncoder().encode('{"reformattedData":{}}'),
  signal: new StreamCancel(),
});

async function connOf(): Promise<N32fConn & { id: number }> {
  const pki = await testPki();
  const cert = new X509Certificate(pki.seppB.certPem);
  return {
    id: 5,
    protocol: "TLSv1.3",
    socket: { remoteAddress: "127.0.0.7" },
    data: new Map(),
    peerChain: () => [cert],
  };
}

/**
 * Wait for the utilization samples (every 100 ms): until every side whose clock is `busy` offers all its requests and
 * every other side none (bounded; a loaded machine may delay the timers).
 */
async function sampled(...sides: Array<{ h: WorkerHandoff; busy: boolean }>): Promise<void> {
  await Bun.sleep(250);
  const end = Date.now() + 5000;
  // a saturated worker offers more of its requests each sample until it offers all (STEP per 100 ms)
  while (Date.now() < end && sides.some((x) => x.h.fraction !== (x.busy ? 1 : 0))) await Bun.sleep(50);
  for (const x of sides) expect(x.h.fraction).toBe(x.busy ? 1 : 0);
}

/** `n` requests held here (their handler does not answer until `release`), so that this worker has them in hand. */
function holdHere(h: WorkerHandoff, n: number, conn: N32fConn) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const held = Array.from({ length: n }, () =>
    h.dispatch("n32f-process", request(), conn, () =>
      gate.then(() => ({ status: 200, headers: [["x-served-by", "0"]] })),
    ),
  );
  return { held, release };
}

const text = (r: OutboundResponse) =>
  r.body === undefined || r.body instanceof Uint8Array
    ? Buffer.from(r.body ?? new Uint8Array(0)).toString("utf8")
    : String(r.body);
const served = (r: OutboundResponse) => r.headers.find(([n]) => n === "x-served-by")?.[1];

describe("hand-off between data-path workers", () => {
  test("a saturated worker hands a request to an idle one, which serves it with the connection's chain; counts return to 0", async () => {
    const { a, b, shared } = pair({ cpu0: busy, cpu1: idle });
    await sampled({ h: a.h, busy: true }, { h: b.h, busy: false });
    expect(a.h.spilling).toBe(true);
    expect(b.h.spilling).toBe(false);
    const conn = await connOf();
    const { held, release } = holdHere(a.h, MARGIN, conn);
    expect(Atomics.load(shared, 0)).toBe(MARGIN);
    const r = await a.h.dispatch("n32f-process", request(), conn, () => {
      throw new Error("must not run here");
    });
    expect(r.status).toBe(200);
    expect(served(r)).toBe("1");
    expect(text(r)).toBe("served");
    expect(b.served).toHaveLength(1);
    const s = b.served[0]!;
    expect(s.kind).toBe("n32f-process");
    expect(s.req.path).toBe("/n32f-forward/v1/n32f-process");
    expect(Buffer.from(s.req.body).toString()).toBe('{"reformattedData":{}}');
    expect(s.conn?.protocol).toBe("TLSv1.3");
    expect(s.conn?.socket.remoteAddress).toBe("127.0.0.7");
    expect(s.conn?.peerChain()[0]?.fingerprint256).toBe(conn.peerChain()[0]!.fingerprint256);
    release();
    expect((await Promise.all(held)).map(served)).toEqual(Array(MARGIN).fill("0"));
    expect([Atomics.load(shared, 0), Atomics.load(shared, 1)]).toEqual([0, 0]);
    // a second request on the same connection finds the serving side's entry for it (its verdict cache)
    const again = holdHere(a.h, MARGIN, conn);
    await a.h.dispatch("n32f-process", request(), conn, async () => ({ status: 599, headers: [] }));
    again.release();
    await Promise.all(again.held);
    expect(b.served[1]!.conn).toBe(s.conn);
    const m = a.metrics.snapshot().find((x) => x.name === "sepp_worker_handoff_total");
    expect(m?.series).toContainEqual(['outcome="sent",worker="0"', 2]);
  });

  test("a worker that keeps up hands nothing off, however many requests it has in hand", async () => {
    const { a, b } = pair({ cpu0: idle, cpu1: idle });
    await sampled({ h: a.h, busy: false }, { h: b.h, busy: false });
    const conn = await connOf();
    const { held, release } = holdHere(a.h, 10, conn);
    const r = await a.h.dispatch("sbi", request("/nudm-sdm/v2/x"), undefined, async () => ({
      status: 201,
      headers: [],
    }));
    expect(r.status).toBe(201);
    release();
    await Promise.all(held);
    expect(b.served).toHaveLength(0);
  });

  test("nothing goes to a worker as busy as this one, nor with workerHandoff off", async () => {
    for (const o of [
      { cpu1: busy, enabled: true },
      { cpu1: idle, enabled: false },
    ]) {
      const { a, b } = pair({ cpu0: busy, ...o });
      // with workerHandoff off nothing is sampled: the saturated worker offers nothing
      await sampled({ h: a.h, busy: o.enabled }, { h: b.h, busy: o.enabled && o.cpu1 === busy });
      const conn = await connOf();
      const { held, release } = holdHere(a.h, 10, conn);
      const r = await a.h.dispatch("n32f-process", request(), conn, async () => ({ status: 202, headers: [] }));
      expect(r.status).toBe(202);
      release();
      await Promise.all(held);
      expect(b.served).toHaveLength(0);
    }
  });

  test("the serving worker ends: its requests are answered 500 at once", async () => {
    const { a } = pair({ cpu0: busy, cpu1: idle, serve1: () => new Promise(() => {}) });
    await sampled({ h: a.h, busy: true });
    const conn = await connOf();
    const { held, release } = holdHere(a.h, MARGIN, conn);
    const p = a.h.dispatch("n32f-process", request(), conn, async () => ({ status: 200, headers: [] }));
    await Bun.sleep(20);
    expect(a.h.pending).toBe(1);
    a.h.unlink(1);
    const r = await p;
    expect(r.status).toBe(500);
    expect(JSON.parse(text(r)).cause).toBe("SYSTEM_FAILURE");
    expect(a.h.pending).toBe(0);
    release();
    await Promise.all(held);
  });

  test("a client that cancels cancels the request on the serving worker too", async () => {
    let cancelled = false;
    const { a } = pair({
      cpu0: busy,
      cpu1: idle,
      serve1: (req) =>
        new Promise((resolve) =>
          req.signal.addEventListener("abort", () => {
            cancelled = true;
            resolve({ status: 499, headers: [] });
          }),
        ),
    });
    await sampled({ h: a.h, busy: true });
    const conn = await connOf();
    const { held, release } = holdHere(a.h, MARGIN, conn);
    const req = request();
    const p = a.h.dispatch("n32f-process", req, conn, async () => ({ status: 200, headers: [] }));
    await Bun.sleep(20);
    (req.signal as StreamCancel).abort();
    expect((await p).status).toBe(499);
    expect(cancelled).toBe(true);
    release();
    await Promise.all(held);
  });

  test("a serving worker that does not answer within the timeout and grace: 504", async () => {
    const { a, shared } = pair({
      cpu0: busy,
      cpu1: idle,
      serve1: () => new Promise(() => {}),
      timeoutMs: 50,
      graceMs: 50,
    });
    await sampled({ h: a.h, busy: true });
    const conn = await connOf();
    const { held, release } = holdHere(a.h, MARGIN, conn);
    const r = await a.h.dispatch("n32f-process", request(), conn, async () => ({ status: 200, headers: [] }));
    expect(r.status).toBe(504);
    expect(JSON.parse(text(r)).cause).toBe("TIMED_OUT_REQUEST");
    release();
    await Promise.all(held);
    expect(Atomics.load(shared, 1)).toBe(0);
  });

  test("a handler that throws on the serving worker: 500 SYSTEM_FAILURE", async () => {
    const { a } = pair({ cpu0: busy, cpu1: idle, serve1: () => Promise.reject(new Error("boom")) });
    await sampled({ h: a.h, busy: true });
    const conn = await connOf();
    const { held, release } = holdHere(a.h, MARGIN, conn);
    const r = await a.h.dispatch("tls-relay", request("/nudm-sdm/v2/x"), conn, async () => ({
      status: 200,
      headers: [],
    }));
    expect(r.status).toBe(500);
    expect(JSON.parse(text(r)).cause).toBe("SYSTEM_FAILURE");
    release();
    await Promise.all(held);
  });
});

describe("how much a saturated worker hands off", () => {
  /** A thread clock running at `util` permille of the wall clock, changeable while the test runs. */
  const clock = (start: number) => {
    let util = start;
    let ns = 0;
    let at = performance.now();
    return {
      set: (u: number) => {
        ns += (performance.now() - at) * util * 1000;
        at = performance.now();
        util = u;
      },
      read: () => ns + (performance.now() - at) * util * 1000,
    };
  };
  const until = async (what: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!what() && Date.now() < end) await Bun.sleep(20);
    expect(what()).toBe(true);
  };

  test("the share offered rises while saturated, holds between the thresholds, falls below them", async () => {
    const c0 = clock(1000);
    const { a } = pair({ cpu0: c0.read, cpu1: idle });
    await until(() => a.h.fraction === 1);
    c0.set((SPILL_FROM + SPILL_UNTIL) / 2); // between: held
    await Bun.sleep(400);
    expect(a.h.fraction).toBe(1);
    c0.set(SPILL_UNTIL - 200); // below: falls step by step to none
    await until(() => a.h.fraction < 1 && a.h.fraction > 0, 2000);
    await until(() => a.h.fraction === 0);
    expect(a.h.spilling).toBe(false);
  });

  test("a worker offering part of its requests hands off that part, not all", async () => {
    const c0 = clock(1000);
    const { a, b } = pair({ cpu0: c0.read, cpu1: idle });
    await until(() => a.h.fraction >= STEP);
    c0.set((SPILL_FROM + SPILL_UNTIL) / 2); // hold the share reached
    await Bun.sleep(250);
    const f = a.h.fraction;
    expect(f).toBeGreaterThan(0);
    expect(f).toBeLessThan(1);
    const conn = await connOf();
    const { held, release } = holdHere(a.h, 40, conn); // (some of these are offered too)
    await Bun.sleep(20);
    const before = b.served.length;
    const n = 40;
    const rs = await Promise.all(
      Array.from({ length: n }, () =>
        a.h.dispatch("n32f-process", request(), conn, async () => ({ status: 200, headers: [["x-served-by", "0"]] })),
      ),
    );
    const moved = rs.filter((r) => served(r) === "1").length;
    expect(moved).toBe(b.served.length - before);
    // every 1/f-th request is offered: f·n of them, give or take the one carried over
    expect(Math.abs(moved - f * n)).toBeLessThanOrEqual(2);
    release();
    await Promise.all(held);
  });
});

describe("remote connections (the serving worker's view)", () => {
  const d = (id: number, chain: Uint8Array[]) => ({ id, protocol: "TLSv1.3", remoteAddress: "127.0.0.1", chain });

  test("one entry per (worker, connection) while the chain is the same; another chain under the same number is new", async () => {
    const pki = await testPki();
    const derB = new Uint8Array(new X509Certificate(pki.seppB.certPem).raw);
    const derA = new Uint8Array(new X509Certificate(pki.seppA.certPem).raw);
    const t = new RemoteConns(2);
    const c1 = t.get(0, d(1, [derB]));
    c1.data.set("datapath.peer", "verdict");
    expect(t.get(0, d(1, [derB.slice()]))).toBe(c1);
    expect(t.get(1, d(1, [derB]))).not.toBe(c1); // the same number in another worker
    const other = t.get(0, d(1, [derA])); // a restarted worker reusing the number for another peer
    expect(other).not.toBe(c1);
    expect(other.data.get("datapath.peer")).toBeUndefined();
    expect(other.peerChain()[0]?.subject).toBe(new X509Certificate(pki.seppA.certPem).subject);
    expect(t.size).toBe(2);
    t.get(2, d(9, [derA])); // bounded: the oldest goes
    expect(t.size).toBe(2);
    t.forgetWorker(2);
    expect(t.size).toBe(1);
  });
});
