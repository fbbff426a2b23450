// src/datapath/csepp.ts — the sending side for our NFs' requests towards roaming partners (cSEPP,
// TS 33.501 13.1.1, 13.2.4.1; TS 29.500 6.1; N32-PROFILE P3, P8; digest §3.6, §3.9, §5.2):
//  1. target: a telescopic FQDN in :authority wins over 3gpp-Sbi-Target-apiRoot (TS 33.517 4.2.2.9);
//  2. the peer that serves the target's PLMN; our own PLMN is never a target;
//  3. per-peer limits (429 NF_CONGESTION_RISK);
//  4. 3gpp-Sbi-Originating-Network-Id checked against our PLMNs, inserted when missing (TS 33.501 5.9.3.2);
//  5. PRINS: protect with the engine, POST n32f-process to the peer's N32-f endpoint, verify the response;
//     TLS: relay over the N32-f TLS connection with :authority = the peer's FQDN, apiRoot kept in the header;
//  6. topology hiding of the peer's answers (TS 33.501 13.1.1.1): NF discovery results, the Location of 201/3xx
//     and the HAL _links hrefs of JSON bodies become telescopic FQDNs, so that our NF's next request comes back
//     to us (e.g. the Nausf 5G-AKA confirmation PUT).
// Step 5 is prins-send.ts and tls-send.ts, step 6 (and the translation of the peer's refusals) peer-answer.ts.
import { resolveTarget, type ResolvedTarget } from "../sbi/target.ts";
import { TargetError } from "../sbi/api-root.ts";
import { checkOriginAtSender, ORIGINATING_NETWORK_ID, type OriginOutcome } from "../sbi/origin.ts";
import type { TelescopicEntry } from "../sbi/telescopic-store.ts";
import { problem } from "../problem.ts";
import { congestionResponse, headersOf, problemOut, type InboundRequest, type OutboundResponse } from "./http.ts";
import { peerById, peerForPlmn } from "../config/peer-index.ts";
import { dataPathMetrics, isOwnPlmn, seppDomainOf, type HandlerDeps } from "./deps.ts";
import { PrinsSend } from "./prins-send.ts";
import { TlsSend } from "./tls-send.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";

const TARGET_API_ROOT = "3gpp-sbi-target-apiroot";

/** Resolved (non-telescopic) targets and origin verdicts kept per configuration; a map starts over when full. */
const MAX_CACHED_TARGETS = 1024;
const MAX_CACHED_ORIGINS = 256;

export class CSepp {
  readonly #m;
  readonly #prins: PrinsSend;
  readonly #tls: TlsSend;
  #perCfg: { cfg: SeppConfig; targets: Map<string, ResolvedTarget>; origins: Map<string, OriginOutcome> } | null = null;
  constructor(private readonly d: HandlerDeps) {
    this.#m = dataPathMetrics(d.metrics);
    this.#prins = new PrinsSend(d, this.#m);
    this.#tls = new TlsSend(d);
  }

  async handle(req: InboundRequest): Promise<OutboundResponse> {
    const started = performance.now();
    const cfg = this.d.config();
    let mode = "none";
    let peerId = "none";
    let outcome = "error";
    try {
      // 1. target: a result that does not come from the telescopic table depends on these request fields and
      //    the configuration alone, and is kept per configuration (an NF sends the same target again and again)
      let entry: TelescopicEntry | null = null;
      const apiRoots = headersOf(req.headers, TARGET_API_ROOT);
      const key =
        apiRoots.length === 0
          ? `${req.scheme}\n${req.authority}`
          : apiRoots.length === 1
            ? `${req.scheme}\n${req.authority}\n${apiRoots[0]}`
            : null;
      const cache = this.#cached(cfg).targets;
      let target = key === null ? undefined : cache.get(key);
      if (!target) {
        try {
          target = resolveTarget(
            { scheme: req.scheme, authority: req.authority, targetApiRoot: apiRoots },
            {
              seppDomain: seppDomainOf(cfg),
              ownHosts: [cfg.identity.n32Fqdn],
              resolveLabel: (l) => (entry = this.d.telescopic.resolve(l)),
            },
          );
        } catch (e) {
          if (e instanceof TargetError) return problemOut(e.toProblem());
          throw e;
        }
        if (key !== null && target.via !== "telescopic") {
          if (cache.size >= MAX_CACHED_TARGETS) cache.clear();
          cache.set(key, target);
        }
      }
      // 2. peer: by the target's PLMN; a telescopic label whose host names none (an IP literal) by the peer it
      //    came from (stored with the label by our pSEPP, telescopic-store.ts peerId)
      let peer: PeerConfig | undefined;
      if (target.plmn) {
        if (isOwnPlmn(cfg, target.plmn))
          return problemOut(problem(400, "MANDATORY_IE_INCORRECT", "the target is in our own PLMN"));
        peer = peerForPlmn(cfg, target.plmn);
        if (!peer) return problemOut(problem(403, "TARGET_NOT_ALLOWED", "no roaming partner serves the target PLMN"));
      } else {
        const bound = target.via === "telescopic" ? (entry as TelescopicEntry | null)?.peerId : null;
        if (!bound)
          return problemOut(
            problem(400, "MANDATORY_IE_INCORRECT", "the target host names no PLMN (…mncXXX.mccYYY.3gppnetwork.org)"),
          );
        peer = peerById(cfg, bound);
        if (!peer)
          return problemOut(
            problem(403, "TARGET_NOT_ALLOWED", "the roaming partner of this telescopic FQDN is no longer configured"),
          );
      }
      peerId = peer.id;
      // 3. limits
      const permit = this.d.limits.acquire(peer.id);
      if (!permit.ok) {
        outcome = "congested";
        return congestionResponse(permit);
      }
      try {
        // 4. originating network
        const origin = this.#originAtSender(cfg, headersOf(req.headers, ORIGINATING_NETWORK_ID));
        if (origin.action === "reject") {
          outcome = "refused";
          return problemOut(problem(origin.status, origin.cause, origin.detail));
        }
        const st = this.d.n32c.brief(peer.id);
        if (st?.state === "active-prins" && st.localContextId) {
          mode = "prins";
          const r = await this.#prins.send(req, target, peer, st.localContextId, origin.value!);
          outcome = r.status < 400 ? "ok" : r.status === 429 ? "congested" : "error";
          return r;
        }
        if (st?.state === "active-tls") {
          mode = "tls";
          const r = await this.#tls.send(req, target, peer, origin.value!);
          outcome = r.status < 400 ? "ok" : r.status === 429 ? "congested" : "error";
          return r;
        }
        outcome = "no-association";
        this.d.log.every(`no-assoc-${peer.id}`, 10_000, "warn", "no active N32 association with the peer", {
          peer: peer.id,
          state: st?.state,
        });
        return problemOut(problem(503, "SERVICE_UNAVAILABLE", "no active N32 association with the roaming partner"), [
          ["retry-after", "1"],
        ]);
      } finally {
        permit.permit.release();
      }
    } finally {
      this.#m.done(peerId, mode, "outbound", outcome, (performance.now() - started) / 1000);
    }
  }

  #cached(cfg: SeppConfig): { targets: Map<string, ResolvedTarget>; origins: Map<string, OriginOutcome> } {
    if (this.#perCfg?.cfg !== cfg) this.#perCfg = { cfg, targets: new Map(), origins: new Map() };
    return this.#perCfg;
  }

  /** checkOriginAtSender, its verdict kept per configuration and header value (absent: a key no value can be). */
  #originAtSender(cfg: SeppConfig, values: string[]): OriginOutcome {
    const key = values.length === 0 ? "\n" : values.length === 1 && values[0]!.length <= 512 ? values[0]! : null;
    const origins = this.#cached(cfg).origins;
    let r = key === null ? undefined : origins.get(key);
    if (!r) {
      r = checkOriginAtSender(values, { plmnIds: cfg.identity.plmnIds, fqdn: cfg.identity.n32Fqdn });
      if (key !== null) {
        if (origins.size >= MAX_CACHED_ORIGINS) origins.clear();
        origins.set(key, r);
      }
    }
    return r;
  }
}
