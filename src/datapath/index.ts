// src/datapath/index.ts — the roaming data path composed: the SBI server (our NFs → cSEPP), the N32-f
// handlers on the N32 listener (peer → pSEPP: n32f-process under PRINS, plain relay under TLS), the clients,
// the telescopic FQDN table and the per-peer limits. See docs/DATAPATH.md for one request followed end to end.
import { join } from "node:path";
import type { SeppConfig } from "../config/schema.ts";
import { resolvePem } from "../config/pem.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../metrics.ts";
import type { ProtectionPolicy } from "../model/n32.ts";
import type { N32fContextStore } from "../n32f/context-store.ts";
import { PrinsEngine } from "../n32f/engine.ts";
import type { TrustStore } from "../pki/trust.ts";
import { PeerLimits } from "../sbi/limits.ts";
import { Screening, type ScreeningObservation } from "../screening/screening.ts";
import { loadTelescopicLabelKeys } from "../sbi/telescopic-keys.ts";
import { TelescopicStore } from "../sbi/telescopic-store.ts";
import { telescopicApp } from "../sbi/telescopic-service.ts";
import type { PathLimits } from "../transport/h2/requests.ts";
import type { N32fRequestHandler } from "../transport/h2server.ts";
import { problem } from "../problem.ts";
import { CSepp } from "./csepp.ts";
import { sbiEndpointOf, seppDomainOf, type N32cView } from "./deps.ts";
import {
  problemOut,
  type Dispatch,
  type HandlerKind,
  type InboundRequest,
  type N32fConn,
  type OutboundResponse,
} from "./http.ts";
import { N32F_PROCESS_PATH, n32fProcessLimit } from "./n32f-process.ts";
import { PSepp } from "./psepp.ts";
import { startSbiServer, type SbiServer } from "./sbi-server.ts";
import { PeerN32fClients } from "./n32f-clients.ts";
import { ProducerClients } from "./producer-clients.ts";

export interface DataPathOptions {
  config: () => SeppConfig;
  dataDir: string;
  log: Logger;
  metrics: Registry;
  contexts: N32fContextStore;
  n32c: N32cView;
  trust: () => TrustStore;
  tls: () => { key: string; cert: string };
  defaults: ProtectionPolicy;
  /** validate every N32-f body we build against the 3GPP schema (tests) */
  validateOutgoing?: boolean;
  /** a data-path worker: the SBI port is shared with the other workers (SO_REUSEPORT) */
  reusePort?: boolean;
  /** a data-path worker: what its screening learned goes to the other workers (src/workers/) */
  shareScreening?: (o: ScreeningObservation) => void;
  /** a data-path worker: where each request is handled, here or on a less loaded worker (src/workers/handoff.ts) */
  dispatch?: Dispatch;
}

/** Without workers every request is handled where it was read. */
const HERE: Dispatch = (_kind, _req, _conn, here) => here();

const N32C_PREFIX = "/n32c-handshake/";
const TELESCOPIC_PREFIX = "/nsepp-telescopic/v1/";

export class DataPath {
  readonly prins: PrinsEngine;
  readonly telescopic: TelescopicStore;
  readonly limits: PeerLimits;
  readonly screening: Screening;
  readonly peerClients: PeerN32fClients;
  readonly producers: ProducerClients;
  readonly csepp: CSepp;
  readonly psepp: PSepp;
  #sbi: SbiServer | null = null;
  readonly #telescopicApp;
  readonly #o: DataPathOptions;
  readonly #dispatch: Dispatch;
  #inflight = 0;

  constructor(o: DataPathOptions) {
    this.#o = o;
    this.#dispatch = o.dispatch ?? HERE;
    const cfg = o.config();
    this.prins = new PrinsEngine({
      defaults: o.defaults,
      riTrust: { verifyRiCert: (c, id, now) => o.trust().verifyRiCert(c, id, now) },
      validateOutgoing: o.validateOutgoing,
    });
    this.telescopic = new TelescopicStore(join(o.dataDir, "telescopic.db"), {
      seppDomain: seppDomainOf(cfg),
      maxEntries: cfg.sbi.telescopicMaxEntries,
      maxEntriesPerPeer: cfg.sbi.telescopicMaxEntriesPerPeer,
      labelKeys: loadTelescopicLabelKeys(o.dataDir, cfg.sbi.telescopicLabels),
    });
    this.limits = new PeerLimits({ metrics: o.metrics });
    this.limits.configure(cfg.peers.map((p) => ({ id: p.id, ...p.n32f })));
    this.screening = new Screening({ config: o.config, log: o.log, metrics: o.metrics, share: o.shareScreening });
    this.peerClients = new PeerN32fClients({
      config: o.config,
      endpointOf: (peer) => o.n32c.n32fEndpointOf?.(peer.id),
      onHopFailure: (peerId, hop, detail) =>
        o.log.every(`n32f-hop-${peerId}-${hop.url}`, 10_000, "warn", "N32-f next hop skipped for the back-off", {
          peer: peerId,
          hop: hop.url,
          ipxProviderId: hop.expectDnsName,
          detail: detail.slice(0, 200),
        }),
      tls: o.tls,
      trust: o.trust,
    });
    this.producers = new ProducerClients({
      ca: cfg.sbi.producerCa.map((p) => resolvePem(p, o.dataDir)),
      connectTimeoutMs: cfg.sbi.requestTimeoutMs,
      maxSessions: 256,
      staticHosts: () => o.config().sbi.staticHosts,
    });
    const deps = {
      config: o.config,
      log: o.log,
      metrics: o.metrics,
      contexts: o.contexts,
      n32c: o.n32c,
      prins: this.prins,
      peerClients: this.peerClients,
      producers: this.producers,
      telescopic: this.telescopic,
      limits: this.limits,
      screening: this.screening,
      trust: o.trust,
      sbiEndpoint: () => {
        const e = sbiEndpointOf(o.config());
        return this.#sbi && !o.config().sbi.advertisedPort ? { ...e, port: this.#sbi.port } : e;
      },
    };
    this.csepp = new CSepp(deps);
    this.psepp = new PSepp(deps);
    this.#telescopicApp = telescopicApp(this.telescopic);
  }

  /** The configuration changed: per-peer limits follow. */
  reconfigure(): void {
    this.limits.configure(this.#o.config().peers.map((p) => ({ id: p.id, ...p.n32f })));
  }

  get sbiPort(): number | undefined {
    return this.#sbi?.port;
  }

  inflight(): number {
    return this.#inflight + (this.#sbi?.inflight() ?? 0);
  }

  /** Start the SBI listener (`portOverride`: a worker binds the port the first worker got, SO_REUSEPORT). */
  async start(portOverride?: number, cfg: SeppConfig = this.#o.config()): Promise<void> {
    const l = cfg.listeners.sbi;
    if (!l) return;
    this.#sbi = await startSbiServer({
      host: l.host,
      port: portOverride ?? l.port,
      reusePort: this.#o.reusePort,
      tls: l.tls
        ? {
            key: resolvePem(cfg.sbi.privateKey!, this.#o.dataDir),
            cert: resolvePem(cfg.sbi.certificate!, this.#o.dataDir),
            ca: cfg.sbi.clientCa.length ? cfg.sbi.clientCa.map((p) => resolvePem(p, this.#o.dataDir)) : undefined,
            requestCert: cfg.sbi.clientCa.length > 0,
          }
        : undefined,
      limits: {
        maxBodyBytes: cfg.sbi.maxBodyBytes,
        maxHeaders: cfg.sbi.maxHeaders,
        timeoutMs: cfg.sbi.requestTimeoutMs,
        maxConcurrentStreams: cfg.sbi.maxConcurrentStreams,
        maxSessions: cfg.sbi.maxConnections,
        maxSessionsPerSource: cfg.sbi.maxConnectionsPerSource,
        prefaceTimeoutMs: cfg.sbi.prefaceTimeoutMs,
        idleTimeoutMs: cfg.sbi.idleTimeoutMs,
        maxResetsPer10s: cfg.sbi.maxResetsPer10s,
      },
      handle: (req) => this.#dispatch("sbi", req, undefined, () => this.#sbiRequest(req)),
      log: this.#o.log,
    });
  }

  /** Handle a request here (a request another worker read and handed to this one: src/workers/handoff.ts). */
  readonly serve = (kind: HandlerKind, req: InboundRequest, conn: N32fConn | undefined): Promise<OutboundResponse> => {
    if (kind === "sbi") return this.#sbiRequest(req);
    if (!conn) return Promise.reject(new Error(`${kind} without its N32-f connection`));
    this.#inflight++;
    const p = kind === "n32f-process" ? this.psepp.n32fProcess(req, conn) : this.psepp.tlsRelay(req, conn);
    return p.finally(() => this.#inflight--);
  };

  async #sbiRequest(req: InboundRequest): Promise<OutboundResponse> {
    if (req.path.startsWith(TELESCOPIC_PREFIX) && !req.headers.some(([n]) => n === "3gpp-sbi-target-apiroot")) {
      const r = await this.#telescopicApp.fetch(new Request(`http://sepp${req.path}`, { method: req.method }));
      const headers: Array<[string, string]> = [];
      for (const [k, v] of r.headers) headers.push([k, v]);
      return { status: r.status, headers, body: new Uint8Array(await r.arrayBuffer()) };
    }
    return this.csepp.handle(req);
  }

  /**
   * The N32-f handler for the N32 listener: takes n32f-process and (TLS mode) every other non-N32-c request, read
   * whole by the listener (no fetch/Response objects on the hot path). N32-c paths stay with the listener's app.
   */
  n32fStreamHandler(): N32fRequestHandler {
    // the bounds of N32-f requests, made again when the configuration changes
    let bounds: { cfg: SeppConfig; process: PathLimits; other: PathLimits } | null = null;
    return {
      limits: (path) => {
        if (path.startsWith(N32C_PREFIX)) return undefined;
        const cfg = this.#o.config();
        if (bounds?.cfg !== cfg) {
          const other = {
            maxBodyBytes: cfg.sbi.maxBodyBytes,
            timeoutMs: cfg.sbi.requestTimeoutMs,
            maxHeaders: cfg.sbi.maxHeaders,
          };
          bounds = { cfg, process: { ...other, maxBodyBytes: n32fProcessLimit(cfg) }, other };
        }
        return path === N32F_PROCESS_PATH ? bounds.process : bounds.other;
      },
      maxBodyBytes: () => {
        const cfg = this.#o.config();
        return Math.max(n32fProcessLimit(cfg), cfg.sbi.maxBodyBytes);
      },
      handle: (req, conn, answer) => {
        if (req.path.startsWith(N32C_PREFIX)) return false;
        const kind = req.path === N32F_PROCESS_PATH ? "n32f-process" : "tls-relay";
        this.#dispatch(kind, req, conn, () => this.serve(kind, req, conn)).then(answer, (e) => {
          this.#o.log.error("N32-f request failed", { error: e });
          answer(problemOut(problem(500, "SYSTEM_FAILURE", "internal error")));
        });
        return true;
      },
    };
  }

  /** The association with a peer ended: close its N32-f sessions. */
  peerDown(peerId: string): void {
    void this.peerClients.close(peerId);
  }

  async stop(): Promise<void> {
    await this.#sbi?.close();
    await this.peerClients.close();
    this.producers.close();
    this.telescopic.close();
  }
}
