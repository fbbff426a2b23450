// src/screening/rates.ts — rate limits per PLMN and per API, besides the per-peer limits of src/sbi/limits.ts
// (TS 33.501 5.9.3.2 rate limiting; 429 NF_CONGESTION_RISK as N32-PROFILE P7). Token buckets refilled lazily;
// the number of buckets is bounded by the configuration (one per configured PLMN / API entry).
import type { PlmnId } from "../model/n32.ts";
import { plmnKey } from "../model/plmn.ts";
import { TokenBucket, type Clock } from "../sbi/limits.ts";

export interface RateLimitConfig {
  perPlmn: ReadonlyArray<{ plmnId: PlmnId; maxRequestsPerSecond: number; burst?: number }>;
  perApi: ReadonlyArray<{ api: string; peer?: string; maxRequestsPerSecond: number; burst?: number }>;
}

export type RateOutcome = { ok: true } | { ok: false; rule: "rate-plmn" | "rate-api"; retryAfterSeconds: number };

export class ScreeningRates {
  #plmn = new Map<string, TokenBucket>();
  #api = new Map<string, TokenBucket>();
  readonly #now: Clock | undefined;

  constructor(now?: Clock) {
    this.#now = now;
  }

  /** Apply a (new) configuration; buckets of unchanged entries keep their tokens. */
  configure(c: RateLimitConfig): void {
    const next = (old: Map<string, TokenBucket>, entries: Array<[string, number, number | undefined]>) => {
      const m = new Map<string, TokenBucket>();
      for (const [k, rate, burst] of entries) {
        const b = old.get(k);
        if (b) b.reconfigure(rate, burst ?? rate);
        m.set(k, b ?? new TokenBucket(rate, burst ?? rate, this.#now));
      }
      return m;
    };
    this.#plmn = next(
      this.#plmn,
      c.perPlmn.map((e) => [plmnKey(e.plmnId), e.maxRequestsPerSecond, e.burst]),
    );
    this.#api = next(
      this.#api,
      c.perApi.map((e) => [`${e.peer ?? "*"}\n${e.api}`, e.maxRequestsPerSecond, e.burst]),
    );
  }

  /** One request from `peerId`, originating in `plmn`, to `api`: every applicable bucket must have a token. */
  admit(peerId: string, plmn: PlmnId | null, api: string | null): RateOutcome {
    const p = plmn ? this.#plmn.get(plmnKey(plmn)) : undefined;
    const a1 = api ? this.#api.get(`*\n${api}`) : undefined;
    const a2 = api ? this.#api.get(`${peerId}\n${api}`) : undefined;
    // check all before taking, so that a refusal costs no other bucket a token
    for (const [b, rule] of [
      [p, "rate-plmn"],
      [a1, "rate-api"],
      [a2, "rate-api"],
    ] as const)
      if (b && b.tokens < 1)
        return { ok: false, rule, retryAfterSeconds: Math.max(1, Math.ceil(b.msUntilToken() / 1000)) };
    p?.tryTake();
    a1?.tryTake();
    a2?.tryTake();
    return { ok: true };
  }
}
