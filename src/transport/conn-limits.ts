// src/transport/conn-limits.ts — connection-level bounds shared by the N32 and SBI listeners (issue 10 §1;
// TS 33.501 5.9.3.2 "rate limiting"; RFC 9113 10.5 denial-of-service considerations):
// - ConnQuota: connection slots per key (configured peer, listed RI, source address) under a total cap, so one
//   holder cannot take the slots another needs;
// - the limits of guardConnection (h2/listener.ts): a preface timeout (TCP accept → TLS → the client's SETTINGS),
//   an idle timeout counted in time without an open stream (PINGs do not keep a connection alive), a bound on the rate of streams the
//   client resets before they were answered (the "rapid reset" of CVE-2023-44487): above it the connection ends
//   with GOAWAY ENHANCE_YOUR_CALM (RFC 9113 7); likewise a client sending PING or SETTINGS frames (each one makes us
//   answer) faster than the bound (CVE-2019-9512, CVE-2019-9515). (node:http2, which the listeners ran on before,
//   ended only a burst of about 1000 unanswered control frames: a client that read its ACKs and sent 500 at a time
//   was answered indefinitely, about 100k per second, measured by `npm run abuse`.)

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

export type GuardEvent = "preface-timeout" | "idle" | "reset-flood" | "control-flood";
