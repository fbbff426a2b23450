// src/sbi/limits.ts — per-peer request rate and pending-request limits on the data path (TS 33.501
// 5.9.3.2: rate limiting, incl. SEPP-to-SEPP signalling; N32-PROFILE P7: 429 NF_CONGESTION_RISK).
//
// A token bucket per peer (refilled lazily from a monotonic clock: no timer per request or per peer) and
// a counter of requests in flight. acquire() is O(1) and returns a permit whose release() is idempotent,
// so a request that ends twice (response + cancel) cannot drive the counter negative. The number of
// limiters is bounded by the configured peers.
import type { ProblemDetails } from "../model/n32.ts";
import type { Registry } from "../metrics.ts";
import { problem } from "../problem.ts";

export type Clock = () => number; // milliseconds, monotonic

const monotonic: Clock = () => performance.now();

/** Token bucket: `ratePerSecond` tokens per second, at most `burst` stored. Starts full. */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;
  readonly #now: Clock;

  constructor(ratePerSecond: number, burst = ratePerSecond, now: Clock = monotonic) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError("ratePerSecond must be a positive number");
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError("burst must be ≥ 1");
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  #refill(): void {
    const t = this.#now();
    const dt = t - this.#last;
    if (dt > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (dt * this.#rate) / 1000);
      this.#last = t;
    }
  }

  /** Take one token if available. */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until one token is available (0 when one is). */
  msUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }

  /** Change rate and burst, keeping the tokens already earned (capped at the new burst). */
  reconfigure(ratePerSecond: number, burst = ratePerSecond): void {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError("invalid rate/burst");
    this.#refill();
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }
}

export interface PeerLimitSettings {
  /** peers[].n32f.maxPendingRequests (default 1024) */
  maxPendingRequests: number;
  /** peers[].n32f.maxRequestsPerSecond (default 2000) */
  maxRequestsPerSecond: number;
  /** bucket size; default = maxRequestsPerSecond (one second of traffic) */
  burst?: number;
}

export interface Permit {
  /** Call when the request ends (any outcome). Idempotent. */
  release(): void;
}

export type AcquireResult =
  | { ok: true; permit: Permit }
  | { ok: false; reason: "rate" | "pending" | "unknown-peer" /** for Retry-After */; retryAfterSeconds: number };

/** Limits of one peer: rate and requests in flight. */
export class PeerLimiter {
  readonly #bucket: TokenBucket;
  #maxPending: number;
  #pending = 0;

  constructor(s: PeerLimitSettings, now: Clock = monotonic) {
    if (!Number.isInteger(s.maxPendingRequests) || s.maxPendingRequests < 1)
      throw new RangeError("maxPendingRequests must be a positive integer");
    this.#maxPending = s.maxPendingRequests;
    this.#bucket = new TokenBucket(s.maxRequestsPerSecond, s.burst ?? s.maxRequestsPerSecond, now);
  }

  get pending(): number {
    return this.#pending;
  }

  reconfigure(s: PeerLimitSettings): void {
    if (!Number.isInteger(s.maxPendingRequests) || s.maxPendingRequests < 1)
      throw new RangeError("maxPendingRequests must be a positive integer");
    this.#maxPending = s.maxPendingRequests;
    this.#bucket.reconfigure(s.maxRequestsPerSecond, s.burst ?? s.maxRequestsPerSecond);
  }

  /** Admit one request: pending limit first (a refused request costs no token), then the rate. */
  acquire(): AcquireResult {
    if (this.#pending >= this.#maxPending) return { ok: false, reason: "pending", retryAfterSeconds: 1 };
    if (!this.#bucket.tryTake())
      return {
        ok: false,
        reason: "rate",
        retryAfterSeconds: Math.max(1, Math.ceil(this.#bucket.msUntilToken() / 1000)),
      };
    this.#pending++;
    let done = false;
    return {
      ok: true,
      permit: {
        release: () => {
          if (done) return;
          done = true;
          this.#pending--;
        },
      },
    };
  }
}

/** The limiters of all configured peers, with metrics. */
export class PeerLimits {
  readonly #limiters = new Map<string, PeerLimiter>();
  readonly #now: Clock;
  readonly #refused?: ReturnType<Registry["counter"]>;
  readonly #pendingGauge?: ReturnType<Registry["gauge"]>;

  constructor(opts: { now?: Clock; metrics?: Registry } = {}) {
    this.#now = opts.now ?? monotonic;
    if (opts.metrics) {
      this.#refused = opts.metrics.counter(
        "sepp_peer_requests_refused_total",
        "Requests refused by the per-peer data path limits (429 NF_CONGESTION_RISK), by peer and reason",
      );
      this.#pendingGauge = opts.metrics.gauge("sepp_peer_pending_requests", "Data path requests in flight per peer");
    }
  }

  /** Apply the peer list of a (new) configuration: existing peers keep their counters; removed peers go. */
  configure(peers: ReadonlyArray<{ id: string } & PeerLimitSettings>): void {
    const keep = new Set<string>();
    for (const p of peers) {
      keep.add(p.id);
      const l = this.#limiters.get(p.id);
      if (l) l.reconfigure(p);
      else {
        const nl = new PeerLimiter(p, this.#now);
        this.#limiters.set(p.id, nl);
        this.#pendingGauge?.set({ peer: p.id }, () => nl.pending);
      }
    }
    for (const id of [...this.#limiters.keys()])
      if (!keep.has(id)) {
        this.#limiters.delete(id);
        this.#pendingGauge?.delete({ peer: id });
      }
  }

  get(peerId: string): PeerLimiter | undefined {
    return this.#limiters.get(peerId);
  }

  acquire(peerId: string): AcquireResult {
    const l = this.#limiters.get(peerId);
    const r: AcquireResult = l ? l.acquire() : { ok: false, reason: "unknown-peer", retryAfterSeconds: 1 };
    if (!r.ok && l) this.#refused?.inc({ peer: peerId, reason: r.reason });
    return r;
  }
}

/** The ProblemDetails (429 NF_CONGESTION_RISK) and headers for a refused request. */
export function congestionProblem(r: { reason: string; retryAfterSeconds: number }): {
  problem: ProblemDetails;
  headers: Record<string, string>;
} {
  const detail =
    r.reason === "pending" ? "too many pending requests towards this peer" : "request rate towards this peer exceeded";
  return {
    problem: problem(429, "NF_CONGESTION_RISK", detail),
    headers: { "retry-after": String(r.retryAfterSeconds) },
  };
}

/**
 * What may cross N32, defined once (issue 10 §1 "the two sides disagree on a limit"): the receiving side refuses
 * above these bounds (src/n32f/reconstruct.ts for PRINS, the N32 listener's HTTP/2 SETTINGS for TLS mode) and the
 * sending side refuses the same before sending, on the list it sends (src/datapath/prins-send.ts, tls-send.ts), so
 * an NF gets a 400 from its own SEPP
 * instead of a 502 MESSAGE_RECONSTRUCTION_FAILED from the peer.
 */
export const N32_LIMITS = {
  /** header fields of one message (our SBI listener's sbi.maxHeaders default) */
  maxHeaders: 128,
  /** characters of one header name */
  maxHeaderName: 256,
  /** header list of a rebuilt PRINS message, RFC 9113 6.5.2 (name + value + 32 per field) */
  maxHeaderListSize: 65_536,
  /** header list of a TLS-mode request on the N32 listener (its SETTINGS_MAX_HEADER_LIST_SIZE) */
  maxTlsHeaderListSize: 16_384,
} as const;

/** RFC 9110 5.1 token, lower case as HTTP/2 carries it (RFC 9113 8.2.1). */
export const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * The first reason the receiving SEPP would refuse this header list (PRINS bounds), or null. Pseudo-headers are
 * not counted (they are regenerated on the other side). The list is the one sent: an array of fields (PRINS) or a
 * record of merged fields (TLS mode), after the sender's own additions (3gpp-Sbi-Originating-Network-Id, the target
 * apiRoot): an NF's 128 fields and ours are 129 at the peer.
 */
export function n32HeaderListViolation(
  headers: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
): string | null {
  const at = { count: 0, size: 0 };
  if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<readonly [string, string]>) {
      const v = fieldViolation(at, name, value);
      if (v) return v;
    }
  } else
    for (const name in headers) {
      const v = fieldViolation(at, name, (headers as Readonly<Record<string, string>>)[name]!);
      if (v) return v;
    }
  return null;
}

function fieldViolation(at: { count: number; size: number }, name: string, value: string): string | null {
  if (name.charCodeAt(0) === 58 /* ":" */) return null;
  if (++at.count > N32_LIMITS.maxHeaders) return `more than ${N32_LIMITS.maxHeaders} header fields`;
  if (name.length > N32_LIMITS.maxHeaderName)
    return `a header name over ${N32_LIMITS.maxHeaderName} characters cannot cross N32`;
  at.size += name.length + value.length + 32;
  if (at.size > N32_LIMITS.maxHeaderListSize) return `header fields over ${N32_LIMITS.maxHeaderListSize} octets`;
  return null;
}

/** The sender's refusal (400 to its NF) of a header list the receiving SEPP would refuse, or null. */
export function n32HeaderListProblem(
  headers: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
): ProblemDetails | null {
  const v = n32HeaderListViolation(headers);
  return v ? problem(400, "INVALID_MSG_FORMAT", v) : null;
}
