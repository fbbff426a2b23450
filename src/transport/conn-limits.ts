// src/transport/conn-limits.ts — connection-level bounds shared by the N32 and SBI listeners (issue 10 §1;
// TS 33.501 5.9.3.2 "rate limiting"; RFC 9113 10.5 denial-of-service considerations):
// - ConnQuota: connection slots per key (configured peer, listed RI, source address) under a total cap, so one
//   holder cannot take the slots another needs;
// - guardConnection: a preface timeout (TCP accept → TLS → the client's HTTP/2 SETTINGS), an idle timeout counted
//   in time without an open stream (PINGs do not keep a connection alive), and a bound on the rate of streams the
//   client resets before they were answered (the "rapid reset" of CVE-2023-44487): above it the connection ends
//   with GOAWAY ENHANCE_YOUR_CALM (RFC 9113 7); likewise a client sending PING or SETTINGS frames (each one makes us
//   answer) faster than the bound (CVE-2019-9512, CVE-2019-9515). The runtime's HTTP/2 layer ends only a burst of
//   about 1000 unanswered control frames; a client that reads its ACKs and sends 500 at a time was answered
//   indefinitely (about 100k per second, measured by `npm run abuse`).
import http2 from "node:http2";

export interface ConnGuardLimits {
  /** from TCP accept to the client's SETTINGS (TLS handshake included) */
  prefaceTimeoutMs: number;
  /** time with no open stream after which the connection is closed (GOAWAY NO_ERROR) */
  idleTimeoutMs: number;
  /** client resets of unanswered streams tolerated per `resetWindowMs`; one more ends the connection */
  maxResetsPerWindow: number;
  resetWindowMs: number;
  /** PING and SETTINGS frames from the client tolerated per `resetWindowMs`; one more ends the connection */
  maxControlFramesPerWindow: number;
}

export const DEFAULT_GUARD: ConnGuardLimits = {
  prefaceTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  maxResetsPerWindow: 200,
  resetWindowMs: 10_000,
  // a client needs a handful (its SETTINGS, keep-alive PINGs); 1000 per 10 s leaves room for any of them
  maxControlFramesPerWindow: 1000,
};

/** Connection slots per key with a total cap. Keys live only while they hold a slot (bounded by `total`). */
export class ConnQuota {
  readonly #held = new Map<string, number>();
  #total = 0;

  constructor(
    private readonly perKey: (key: string) => number,
    private readonly maxTotal: number,
  ) {}

  /** One slot for `key`: a release function (idempotent), or null when `key` or everyone is at the cap. */
  tryAcquire(key: string): (() => void) | null {
    const n = this.#held.get(key) ?? 0;
    if (n >= this.perKey(key) || this.#total >= this.maxTotal) return null;
    this.#held.set(key, n + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const m = (this.#held.get(key) ?? 1) - 1;
      if (m <= 0) this.#held.delete(key);
      else this.#held.set(key, m);
    };
  }

  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  get total(): number {
    return this.#total;
  }
}

/**
 * Where a listener keeps the accepted socket itself on it: `session.socket` is a proxy that refuses destroy(), and
 * Bun's session.destroy() leaves an h2c socket open, so the guards close the socket through this reference.
 */
export const RAW_SOCKET = Symbol("sepp.rawSocket");

export function markRawSocket(socket: { destroy(): unknown }): void {
  (socket as unknown as Record<symbol, unknown>)[RAW_SOCKET] = socket;
}

type RawSocket = { destroy(): unknown; resetAndDestroy?: () => unknown };

/**
 * Destroy a session and the socket under it. `reset`: with a TCP RST (before any HTTP/2 exchange; Bun closes an h2c
 * socket that never sent its preface only this way).
 */
export function destroyWithSocket(session: http2.Http2Session, reset = false): void {
  const raw = (session.socket as unknown as Record<symbol, RawSocket | undefined> | undefined)?.[RAW_SOCKET];
  if (!session.destroyed) session.destroy();
  if (reset && raw?.resetAndDestroy) raw.resetAndDestroy();
  else raw?.destroy();
}

export type GuardEvent = "preface-timeout" | "idle" | "reset-flood" | "control-flood";

/**
 * Per-session guards from the moment the HTTP/2 session exists (at TCP accept for h2c, after the TLS handshake
 * for TLS, whose own duration the server's `handshakeTimeout` bounds): the client's SETTINGS must arrive within
 * the preface timeout; the session is closed when idle, and ended with GOAWAY ENHANCE_YOUR_CALM on a reset flood.
 * `stream(s)` must be called for every stream the server accepts on the session.
 */
export class SessionGuard {
  #open = 0;
  #idle: ReturnType<typeof setTimeout> | null = null;
  #resets = 0;
  #windowStart = 0;
  #control = 0;
  #controlStart = 0;
  #ended = false;

  constructor(
    private readonly session: http2.ServerHttp2Session,
    private readonly limits: ConnGuardLimits,
    private readonly onEvent: (e: GuardEvent) => void,
  ) {
    const preface = setTimeout(() => {
      if (this.#ended) return;
      this.onEvent("preface-timeout");
      this.#ended = true;
      destroyWithSocket(session, true);
    }, limits.prefaceTimeoutMs);
    preface.unref?.();
    session.once("remoteSettings", () => clearTimeout(preface));
    const control = () => this.#countControl();
    session.on("ping", control);
    session.on("remoteSettings", control);
    session.once("close", () => {
      clearTimeout(preface);
      this.#ended = true;
      this.#disarmIdle();
    });
    this.#armIdle();
  }

  #armIdle(): void {
    this.#disarmIdle();
    if (this.#ended) return;
    this.#idle = setTimeout(() => {
      this.#idle = null;
      if (this.#open > 0 || this.#ended) return;
      this.onEvent("idle");
      this.#end(http2.constants.NGHTTP2_NO_ERROR);
    }, this.limits.idleTimeoutMs);
    this.#idle.unref?.();
  }

  #disarmIdle(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    const s = this.session;
    try {
      if (!s.closed && !s.destroyed) s.goaway(code);
    } catch {
      /* the session may be half torn down already */
    }
    // GOAWAY first, then the socket: the client learns why (RFC 9113 6.8)
    setTimeout(() => destroyWithSocket(s), 50).unref?.();
  }

  /** A stream was accepted: it keeps the connection out of idle until it closes; a client reset is counted. */
  stream(stream: http2.ServerHttp2Stream): void {
    this.#open++;
    this.#disarmIdle();
    stream.once("close", () => {
      this.#open--;
      // reset by the client before we answered (RST_STREAM from the peer, RFC 9113 8.7)
      if (!stream.headersSent && stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR)
        this.#countReset();
      if (this.#open === 0) this.#armIdle();
    });
  }

  #countReset(): void {
    const now = performance.now();
    if (now - this.#windowStart > this.limits.resetWindowMs) {
      this.#windowStart = now;
      this.#resets = 0;
    }
    if (++this.#resets > this.limits.maxResetsPerWindow) {
      this.onEvent("reset-flood");
      this.#end(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  #countControl(): void {
    const now = performance.now();
    if (now - this.#controlStart > this.limits.resetWindowMs) {
      this.#controlStart = now;
      this.#control = 0;
    }
    if (++this.#control > this.limits.maxControlFramesPerWindow) {
      this.onEvent("control-flood");
      this.#end(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  get openStreams(): number {
    return this.#open;
  }
}
