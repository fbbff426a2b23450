// src/screening/overload.ts — producers' overload control information honoured on the way back (TS 29.500 6.4).
//
// What "honoured" means here (docs/CONFIG.md repeats it):
//   - A producer's answer through the pSEPP carrying `3gpp-Sbi-Oci` (ABNF: Timestamp; Period-of-Validity: Ns;
//     Overload-Reduction-Metric: P%; scope) is recorded against that producer — the target authority the request
//     went to. NF-Instance/NF-Set/NF-Service scopes are not resolved to other authorities (the SEPP does not know
//     the NF profiles); a SEPP-FQDN or SCP-FQDN scope is not about the producer and is ignored. A newer Timestamp
//     replaces an older OCI (6.4.3.3), an older or equal one is ignored; metric 0 or the end of the validity period
//     ends the overload.
//   - While an OCI is in force, P % of the partners' later requests to that producer are refused by the SEPP
//     with 503 NF_CONGESTION and Retry-After (the rest pass): deterministic, every request adds P/100 to a debt
//     and a request is refused while the debt is ≥ 1 (so 50 % refuses every second request, 100 % all of them).
//     The refusal carries the producer's OCI header, so the partner's consumer learns the overload too.
//   - The OCI header itself travels back to the partner unchanged (an end-to-end header).
//   - `3gpp-Sbi-Lci` (load, 6.3) is only used by consumers to select among producers; the SEPP routes to the target
//     it is given and selects nothing, so LCI is forwarded unchanged and not acted upon.
// The table is bounded (maxProducers; the entry closest to expiry goes first). Pure apart from the clock.
export type Clock = () => number; // milliseconds since the epoch (OCI timestamps are wall-clock)

export interface Oci {
  timestamp: number;
  validityMs: number;
  /** Overload-Reduction-Metric, 0..100 */
  metric: number;
  scope: string;
  /** the header value as received (echoed in our 503) */
  raw: string;
}

const ELEMENT_RE =
  /^\s*Timestamp:\s+"([^"]{1,64})";\s+Period-of-Validity:\s+(\d{1,9})s;\s+Overload-Reduction-Metric:\s+(\d{1,3})%;\s+(.{1,1024}?)\s*$/;
const PRODUCER_SCOPE_RE = /^(NF-Instance|NF-Set|NF-Service-Instance|NF-Service-Set):/;

/** The producer-scope OCI elements of one `3gpp-Sbi-Oci` header value (malformed elements are skipped). */
export function parseOci(value: string): Oci[] {
  if (value.length > 4096) return [];
  const out: Oci[] = [];
  // elements are separated by "," (timestamps are quoted RFC 3339 date-times without commas)
  for (const el of value.split(",")) {
    const m = ELEMENT_RE.exec(el);
    if (!m) continue;
    const timestamp = Date.parse(m[1]!);
    const metric = Number(m[3]);
    if (!Number.isFinite(timestamp) || metric > 100) continue;
    if (!PRODUCER_SCOPE_RE.test(m[4]!)) continue;
    out.push({ timestamp, validityMs: Number(m[2]) * 1000, metric, scope: m[4]!, raw: value });
  }
  return out;
}

interface State extends Oci {
  until: number;
  debt: number;
}

export type ThrottleOutcome = { ok: true } | { ok: false; retryAfterSeconds: number; oci: string };

export class OverloadTable {
  readonly #m = new Map<string, State>();
  readonly #now: Clock;
  #max: number;

  constructor(o: { maxProducers: number; now?: Clock }) {
    this.#max = o.maxProducers;
    this.#now = o.now ?? (() => performance.now()); // monotonic: a wall-clock step back would throttle as long
  }

  set maxProducers(n: number) {
    this.#max = n;
  }

  get size(): number {
    return this.#m.size;
  }

  /** The producer at `authority` answered with these `3gpp-Sbi-Oci` values. */
  observe(authority: string, values: readonly string[]): void {
    const now = this.#now();
    for (const v of values)
      for (const oci of parseOci(v)) {
        const cur = this.#m.get(authority);
        if (cur && cur.timestamp >= oci.timestamp) continue; // 6.4.3.3: only a newer OCI replaces
        if (oci.metric === 0 || oci.validityMs === 0) {
          this.#m.delete(authority);
          continue;
        }
        if (!cur && this.#m.size >= this.#max) this.#evict(now);
        if (!cur && this.#m.size >= this.#max) continue;
        this.#m.set(authority, { ...oci, until: now + oci.validityMs, debt: cur?.debt ?? 0 });
      }
  }

  /** Whether one more request to `authority` may go, under the OCI in force. */
  admit(authority: string): ThrottleOutcome {
    const s = this.#m.get(authority);
    if (!s) return { ok: true };
    const now = this.#now();
    if (s.until <= now) {
      this.#m.delete(authority);
      return { ok: true };
    }
    s.debt += s.metric / 100;
    if (s.debt < 1) return { ok: true };
    s.debt -= 1;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((s.until - now) / 1000)), oci: s.raw };
  }

  #evict(now: number): void {
    let worst: string | null = null;
    let until = Number.POSITIVE_INFINITY;
    for (const [k, s] of this.#m) {
      if (s.until <= now) {
        this.#m.delete(k);
        return;
      }
      if (s.until < until) {
        until = s.until;
        worst = k;
      }
    }
    if (worst !== null) this.#m.delete(worst);
  }
}
