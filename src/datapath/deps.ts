// src/datapath/deps.ts — what the cSEPP and pSEPP handlers share: the running configuration, the
// N32-c service (association state, error reporting), the PRINS engine, the clients, metrics.
import type { SeppConfig } from "../config/schema.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { N32fErrorReport } from "../n32c/messages.ts";
import type { N32fEndpoint } from "../n32c/n32f-endpoint.ts";
import type { Logger } from "../log.ts";
import type { Counter, Histogram, Registry } from "../metrics.ts";
import type { PlmnId } from "../model/n32.ts";
import { samePlmn } from "../model/plmn.ts";
import type { N32fContextStore } from "../n32f/context-store.ts";
import type { PrinsEngine } from "../n32f/engine.ts";
import type { TrustStore } from "../pki/trust.ts";
import type { PeerLimits } from "../sbi/limits.ts";
import type { Screening } from "../screening/screening.ts";
import type { TelescopicStore } from "../sbi/telescopic-store.ts";
import type { PeerN32fClients } from "./n32f-clients.ts";
import type { ProducerClients } from "./producer-clients.ts";
import { EgressPolicy } from "../sbi/egress.ts";

/** The part of N32cService the data path uses. */
export interface N32cView {
  /** Association state on every request: must be cheap (no copy of the whole status). */
  brief(
    peerId: string,
  ): { state: string; capability: "PRINS" | "TLS" | null; localContextId: string | null } | undefined;
  reportError(peerId: string, e: N32fErrorReport): Promise<void>;
  handshake(peerId: string): Promise<unknown>;
  /**
   * The peer lost our context (403 CONTEXT_NOT_FOUND / ENCRYPTION_KEY_EXPIRED, P11 "Errors"): a new handshake,
   * throttled per peer inside the N32-c service (one throttle with the n32f-error path).
   */
  renegotiate(peerId: string, why: string): boolean;
  /** Where N32-f toward the peer goes (P11: what it announced, else n32fUri; src/n32c/n32f-endpoint.ts). */
  n32fEndpointOf?(peerId: string): N32fEndpoint | undefined;
  /** Give up one context after a policy mismatch (P6/P10 with onPolicyMismatch: reject). */
  dropContext?(peerId: string, localContextId: string): boolean;
  /**
   * A data-path worker (src/workers/): an n32fContextId this worker does not hold may belong to a context N32-c
   * has just made in the main thread and not yet handed over. Asks for it; true when it is now held here.
   */
  awaitContext?(n32fContextId: string): Promise<boolean>;
}

export interface DataPathDeps {
  config: () => SeppConfig;
  log: Logger;
  metrics: Registry;
  contexts: N32fContextStore;
  n32c: N32cView;
  prins: PrinsEngine;
  peerClients: PeerN32fClients;
  producers: ProducerClients;
  telescopic: TelescopicStore;
  limits: PeerLimits;
  trust: () => TrustStore;
  /** border screening of the partners' requests (GSMA FS.36, src/screening/); built from config when absent */
  screening?: Screening;
}

/** What the cSEPP and pSEPP handlers get: the shared parts and how our NFs reach our SBI listener (telescopic FQDNs). */
export type HandlerDeps = DataPathDeps & { sbiEndpoint: () => { scheme: "http" | "https"; port?: number } };

export interface DataPathMetrics {
  requests: Counter;
  n32fErrors: Counter;
  latency: Histogram;
  /** One request ended: counted by peer/mode/direction/outcome and its duration observed (label keys built once per combination). */
  done(peer: string, mode: string, direction: "inbound" | "outbound", outcome: string, seconds: number): void;
}

/** Bound on the cached label combinations (peers × modes × directions × outcomes; peer ids come from the configuration). */
const MAX_CACHED_SERIES = 4096;

export function dataPathMetrics(r: Registry): DataPathMetrics {
  const requests = r.counter(
    "sepp_datapath_requests_total",
    "NF requests through the SEPP by peer, mode (prins|tls), direction (outbound: our NF to a peer; inbound: a peer to our NF) and outcome",
  );
  const latency = r.histogram(
    "sepp_datapath_request_duration_seconds",
    "Time from the request's arrival to the answer, by mode and direction",
  );
  const series = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  return {
    requests,
    n32fErrors: r.counter(
      "sepp_n32f_errors_total",
      "N32-f errors by N32fErrorType and side (detected: by us; reported: by the peer)",
    ),
    latency,
    done(peer, mode, direction, outcome, seconds) {
      const k = `${peer}\n${mode}\n${direction}\n${outcome}`;
      let s = series.get(k);
      if (!s) {
        s = { count: requests.series({ direction, mode, outcome, peer }), time: latency.series({ direction, mode }) };
        if (series.size < MAX_CACHED_SERIES) series.set(k, s);
      }
      s.count.inc();
      s.time.observe(seconds);
    },
  };
}

/** n32f-error to the peer over N32-c (in the background; a failure is logged, rate-limited). */
export function reportN32fError(d: Pick<DataPathDeps, "n32c" | "log">, peerId: string, r: N32fErrorReport): void {
  d.n32c.reportError(peerId, r).catch((err) =>
    d.log.every(`n32f-report-${peerId}`, 10_000, "warn", "n32f-error could not be sent", {
      peer: peerId,
      error: String(err),
    }),
  );
}

export function isOwnPlmn(cfg: SeppConfig, plmn: PlmnId): boolean {
  return cfg.identity.plmnIds.some((x) => samePlmn(x, plmn));
}

const egressCache = new WeakMap<object, EgressPolicy>();

/** The compiled egress allow-list of a peer (cached on the peer's config object, which changes with the config). */
export function egressOf(peer: PeerConfig): EgressPolicy {
  let e = egressCache.get(peer);
  if (!e) {
    e = new EgressPolicy(peer.n32f.allowedTargets);
    egressCache.set(peer, e);
  }
  return e;
}

export function seppDomainOf(cfg: SeppConfig): string {
  return (cfg.sbi.seppDomain ?? cfg.identity.n32Fqdn).toLowerCase();
}

export function sbiEndpointOf(cfg: SeppConfig): { scheme: "http" | "https"; port?: number } {
  const scheme = cfg.sbi.advertisedScheme ?? (cfg.listeners.sbi?.tls ? "https" : "http");
  const port = cfg.sbi.advertisedPort ?? cfg.listeners.sbi?.port;
  return port ? { scheme, port } : { scheme };
}
