// Per-peer rate and pending limits (src/sbi/limits.ts): 429 NF_CONGESTION_RISK. A controllable clock
// keeps the tests exact and free of sleeps.
import { describe, expect, test } from "bun:test";
import {
  congestionProblem,
  N32_LIMITS,
  n32HeaderListProblem,
  PeerLimiter,
  PeerLimits,
  TokenBucket,
} from "../../src/sbi/limits.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MetaData, ProtectionPolicy } from "../../src/model/n32.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import { buildEffectivePolicy } from "../../src/n32f/policy.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { reformat } from "../../src/n32f/reformat.ts";
import { Registry } from "../../src/metrics.ts";

function clock(start = 1000) {
  let t = start;
  const now = () => t;
  return Object.assign(now, {
    advance: (ms: number) => {
      t += ms;
    },
  });
}

describe("TokenBucket", () => {
  test("starts full, allows a burst, then refills at the rate", () => {
    const c = clock();
    const b = new TokenBucket(10, 5, c);
    for (let i = 0; i < 5; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    expect(b.msUntilToken()).toBe(100);
    c.advance(99);
    expect(b.tryTake()).toBe(false);
    c.advance(1);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
  });
  test("never stores more than the burst, however long idle", () => {
    const c = clock();
    const b = new TokenBucket(1000, 3, c);
    c.advance(3_600_000);
    let n = 0;
    while (b.tryTake()) n++;
    expect(n).toBe(3);
  });
  test("a clock going backwards gives no tokens", () => {
    const c = clock(10_000);
    const b = new TokenBucket(1, 1, c);
    expect(b.tryTake()).toBe(true);
    c.advance(-5000);
    expect(b.tryTake()).toBe(false);
    c.advance(5000 + 999);
    expect(b.tryTake()).toBe(false);
    c.advance(1);
    expect(b.tryTake()).toBe(true);
  });
  test("sustained rate over a long run equals the configured rate (+ burst)", () => {
    const c = clock();
    const b = new TokenBucket(200, 10, c);
    let taken = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      for (let k = 0; k < 5; k++) if (b.tryTake()) taken++;
      c.advance(1);
    }
    expect(taken).toBeGreaterThanOrEqual(2000);
    expect(taken).toBeLessThanOrEqual(2010);
  });
  test("invalid settings are refused", () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    expect(() => new TokenBucket(-1)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN)).toThrow(RangeError);
    expect(() => new TokenBucket(Infinity)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0.5)).toThrow(RangeError);
  });
  test("reconfigure keeps earned tokens up to the new burst", () => {
    const c = clock();
    const b = new TokenBucket(10, 10, c);
    b.reconfigure(1, 2);
    expect(b.tokens).toBe(2);
  });
});

describe("PeerLimiter", () => {
  test("pending limit: refused at the limit; release frees a slot; release is idempotent", () => {
    const l = new PeerLimiter({ maxPendingRequests: 2, maxRequestsPerSecond: 1000 }, clock());
    const a = l.acquire();
    const b = l.acquire();
    expect(a.ok && b.ok).toBe(true);
    expect(l.acquire()).toEqual({ ok: false, reason: "pending", retryAfterSeconds: 1 });
    if (!a.ok) throw new Error();
    a.permit.release();
    a.permit.release();
    a.permit.release();
    expect(l.pending).toBe(1);
    expect(l.acquire().ok).toBe(true);
    expect(l.acquire().ok).toBe(false);
  });
  test("a request refused for pending costs no token", () => {
    const c = clock();
    const l = new PeerLimiter({ maxPendingRequests: 1, maxRequestsPerSecond: 2, burst: 2 }, c);
    const a = l.acquire();
    for (let i = 0; i < 10; i++) expect(l.acquire()).toMatchObject({ ok: false, reason: "pending" });
    if (a.ok) a.permit.release();
    const b = l.acquire();
    expect(b.ok).toBe(true);
    if (b.ok) b.permit.release();
    expect(l.acquire().ok).toBe(false); // the third token: burst 2 spent by a and b
  });
  test("rate limit gives Retry-After in whole seconds, at least 1", () => {
    const c = clock();
    const l = new PeerLimiter({ maxPendingRequests: 100, maxRequestsPerSecond: 1, burst: 1 }, c);
    const a = l.acquire();
    if (a.ok) a.permit.release();
    expect(l.acquire()).toEqual({ ok: false, reason: "rate", retryAfterSeconds: 1 });
    const slow = new PeerLimiter({ maxPendingRequests: 100, maxRequestsPerSecond: 0.25, burst: 1 }, c);
    slow.acquire();
    expect(slow.acquire()).toEqual({ ok: false, reason: "rate", retryAfterSeconds: 4 });
  });
  test("pending never goes negative or leaks under many acquire/release interleavings", () => {
    const l = new PeerLimiter({ maxPendingRequests: 8, maxRequestsPerSecond: 1e9 }, clock());
    const held: Array<{ release(): void }> = [];
    let seed = 7;
    for (let i = 0; i < 10_000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      if (seed % 3 !== 0) {
        const r = l.acquire();
        if (r.ok) held.push(r.permit);
        else expect(held.length).toBe(8);
      } else if (held.length) {
        const p = held.splice(seed % held.length, 1)[0]!;
        p.release();
        p.release();
      }
      expect(l.pending).toBe(held.length);
    }
    for (const p of held) p.release();
    expect(l.pending).toBe(0);
  });
});

describe("PeerLimits", () => {
  test("per peer, reconfigurable, unknown peers refused, metrics exposed", () => {
    const reg = new Registry();
    const c = clock();
    const limits = new PeerLimits({ now: c, metrics: reg });
    limits.configure([
      { id: "home", maxPendingRequests: 1, maxRequestsPerSecond: 100 },
      { id: "other", maxPendingRequests: 5, maxRequestsPerSecond: 100 },
    ]);
    const a = limits.acquire("home");
    expect(a.ok).toBe(true);
    expect(limits.acquire("home")).toMatchObject({ ok: false, reason: "pending" });
    expect(limits.acquire("other").ok).toBe(true);
    expect(limits.acquire("nobody")).toMatchObject({ ok: false, reason: "unknown-peer" });
    const text = reg.render();
    expect(text).toContain('sepp_peer_pending_requests{peer="home"} 1');
    expect(text).toContain('sepp_peer_requests_refused_total{peer="home",reason="pending"} 1');
    // reconfigure: "home" keeps its in-flight count under the new limit; "other" goes away
    limits.configure([{ id: "home", maxPendingRequests: 2, maxRequestsPerSecond: 100 }]);
    expect(limits.get("home")!.pending).toBe(1);
    expect(limits.acquire("home").ok).toBe(true);
    expect(limits.get("other")).toBeUndefined();
    expect(reg.render()).not.toContain('peer="other"} ');
    if (a.ok) a.permit.release();
    expect(limits.get("home")!.pending).toBe(1);
  });
  test("congestionProblem: 429 NF_CONGESTION_RISK with Retry-After", () => {
    const r = congestionProblem({ reason: "rate", retryAfterSeconds: 3 });
    expect(r.problem).toMatchObject({ status: 429, cause: "NF_CONGESTION_RISK" });
    expect(r.headers).toEqual({ "retry-after": "3" });
    expect(congestionProblem({ reason: "pending", retryAfterSeconds: 1 }).problem.detail).toMatch(/pending/);
  });
});

describe("one definition of what crosses N32: the sender refuses what the receiver would", () => {
  const policy = buildEffectivePolicy({
    defaults: JSON.parse(
      readFileSync(join(import.meta.dir, "../..", "config", "api-ie-mapping.json"), "utf8"),
    ) as ProtectionPolicy,
  });
  const metaData: MetaData = {
    n32fContextId: "51b0c7e2aa93f410",
    messageId: "0123456789abcdef",
    authorizedIpxId: "NULL",
  };
  /** the receiving SEPP's verdict on a message the sending SEPP reformatted (PRINS) */
  const receiverRefuses = (headers: Array<[string, string]>) => {
    const msg: HttpMessage = {
      kind: "request",
      method: "GET",
      scheme: "https",
      authority: "nf.example.org",
      path: "/x",
      headers,
    };
    const r = reformat(msg, { metaData, policy });
    try {
      reconstruct(JSON.parse(JSON.stringify(r.block)), r.dataToEncrypt);
      return false;
    } catch {
      return true;
    }
  };
  const cases: Array<[string, Array<[string, string]>]> = [
    ["a header name of 256 characters", [[`x-${"a".repeat(254)}`, "v"]]],
    ["a header name of 257 characters", [[`x-${"a".repeat(255)}`, "v"]]],
    ["a header name of 300 characters", [[`x-${"a".repeat(298)}`, "v"]]],
    [`${N32_LIMITS.maxHeaders} headers`, Array.from({ length: N32_LIMITS.maxHeaders }, (_, i) => [`x-h${i}`, "v"])],
    [
      `${N32_LIMITS.maxHeaders + 1} headers`,
      Array.from({ length: N32_LIMITS.maxHeaders + 1 }, (_, i) => [`x-h${i}`, "v"]),
    ],
    ["a header list just over the size bound", Array.from({ length: 5 }, (_, i) => [`x-h${i}`, "v".repeat(13_100)])],
    ["a header list under the size bound", Array.from({ length: 4 }, (_, i) => [`x-h${i}`, "v".repeat(13_100)])],
  ];
  for (const [name, headers] of cases)
    test(`${name}: sender and receiver agree`, () => {
      const sender = n32HeaderListProblem(headers);
      expect(sender !== null).toBe(receiverRefuses(headers));
      if (sender) expect(sender).toMatchObject({ status: 400, cause: "INVALID_MSG_FORMAT" });
      // the same fields as TLS mode's record of merged fields (tls-send.ts), with its pseudo-headers: the same verdict
      expect(n32HeaderListProblem({ ":authority": "a", ...Object.fromEntries(headers) })).toEqual(sender);
    });
});
