// src/n32c/core.ts — what the N32-c responder, the initiators and the service share: configuration
// lookups, peer identification from the TLS connection (N32-PROFILE P7, P9), per-peer status, events,
// metrics, and the client side of one N32-c exchange (a new mutually authenticated TLS connection toward
// the peer's configured N32-c URI, TS 33.501 13.2.2.2 step 5 / P10).
import type { AeadEngine } from "../../hw/aead.ts";
import type { ContextShare } from "./keys.ts";
import type { PeerConfig, SeppConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Counter, Registry } from "../metrics.ts";
import type { InvalidParam, N32fErrorInfo, PlmnId, ProblemDetails } from "../model/n32.ts";
import type { N32fContextStore } from "../n32f/context.ts";
import { validateBody, type N32SchemaName } from "../openapi/validate.ts";
import { certHasDnsName } from "../pki/plmn.ts";
import { TrustStore } from "../pki/trust.ts";
import type { ConnInfo } from "../transport/h2server.ts";
import { H2Client } from "../transport/h2client.ts";
import { tunnelViasOf } from "../transport/connect-tunnel.ts";
import { SeppError } from "../errors.ts";
import { isIP } from "node:net";
import type { OwnIdentity, PeerAnnouncement } from "./messages.ts";

export const API_PREFIX = "/n32c-handshake/v1";
export type N32cOperation = "exchange-capability" | "exchange-params" | "n32f-terminate" | "n32f-error";

/** States of a peer's N32 association (GET /v1/peers/{id}/n32). */
export type N32State =
  | "idle"
  | "connecting"
  | "negotiating"
  | "params"
  | "active-prins"
  | "active-tls"
  | "backoff"
  | "terminated"
  | "failed";

export interface PeerN32Status {
  peerId: string;
  peerFqdn: string;
  /** our N32-c role in the current (or last) association */
  role: "initiator" | "responder" | null;
  state: N32State;
  /** epoch ms of the last state change */
  since: number;
  capability: "PRINS" | "TLS" | null;
  jweCipherSuite: string | null;
  /** IDs only, never keys */
  localContextId: string | null;
  peerContextId: string | null;
  validUntil: number | null;
  counters: {
    attempts: number;
    successes: number;
    failures: number;
    responderHandshakes: number;
    terminationsSent: number;
    terminationsReceived: number;
    errorsSent: number;
    errorsReceived: number;
  };
  lastError: { at: number; cause: string; detail: string } | null;
  nextRetryAt: number | null;
}

export interface ContextActiveEvent {
  peerId: string;
  capability: "PRINS" | "TLS";
  role: "initiator" | "responder";
  localContextId?: string;
  peerContextId?: string;
}
export interface ContextTerminatedEvent {
  peerId: string;
  capability: "PRINS" | "TLS";
  localContextId?: string;
  reason: "local" | "peer" | "rekey" | "expired" | "policy-mismatch" | "removed" | "stopped";
}
export interface ErrorReportEvent {
  peerId: string;
  info: N32fErrorInfo;
}
export interface N32cEvents {
  "context-active": ContextActiveEvent;
  "context-terminated": ContextTerminatedEvent;
  "error-report": ErrorReportEvent;
}

/** Every N32-c body sent or received (tests re-validate them; never contains keys). */
export interface TraceEvent {
  direction: "sent" | "received";
  kind: "request" | "response";
  operation: N32cOperation;
  schema: N32SchemaName | null;
  status?: number;
  body: unknown;
}

export interface N32cDeps {
  config: () => SeppConfig;
  tls: { key: string; cert: string };
  log: Logger;
  metrics: Registry;
  contexts: N32fContextStore;
  aead: AeadEngine;
  /** data-path workers (src/workers/pool.ts): every new N32-f context is handed to them with a shared block */
  shareContext?: ContextShare;
  now?: () => number;
  /** our N32-f port as bound (announced as senderN32fPort); omitted when unknown */
  n32fPort?: () => number | undefined;
  /** how long an old context stays after a re-handshake (default 5000 ms) */
  retireGraceMs?: number;
  /** test hook: every body sent/received */
  trace?: (e: TraceEvent) => void;
  /**
   * The address to connect to for an N32-c host name (default: the system resolver, inside the TLS connect). The
   * certificate is still checked against the name (SNI and dNSName = the host). Tests map redirect targets to
   * 127.0.0.1 with it.
   */
  resolveHost?: (host: string) => string | Promise<string>;
}

/** An N32-c endpoint: apiRoot and the dNSName its certificate must carry (the peer's, or a redirect target's). */
export interface N32cTarget {
  /** https://host[:port][/prefix] */
  uri: string;
  fqdn: string;
}

/**
 * An N32-c exchange that failed: `code` is the cause recorded in the peer's status (lastError.cause): the peer's
 * ProblemDetails cause, `HTTP_<status>`, or ours (P7). Status 502: the peer, not our client, failed.
 */
export class N32cError extends SeppError {
  override name = "N32cError";
  constructor(code: string, detail: string) {
    super(code, detail, { status: code === "RESOURCE_NOT_FOUND" ? 404 : 502 });
  }
}

/** The active association with a peer (one per peer: the latest). */
export interface Association {
  capability: "PRINS" | "TLS";
  role: "initiator" | "responder";
  localContextId?: string;
  peerContextId?: string;
  enc?: string;
  /** the N32-c endpoint this association was negotiated with when a 307 redirected us (else the peer's n32cUri) */
  n32c?: N32cTarget;
  /** what the SEPP we negotiated with announced in exchange-capability: N32-f goes there (P11, n32f-endpoint.ts) */
  announced?: PeerAnnouncement;
}

export type Identity =
  | { ok: true; peer: PeerConfig | null; plmnIds: PlmnId[]; dnsNames: string[] }
  | { ok: false; reason: string };

/** An initiator's handshake in progress, findable by our context ID (an n32f-error POLICY_MISMATCH may arrive). */
export interface InitiatorPending {
  peerId: string;
  rejected: InvalidParam[] | null;
}

type Listener<K extends keyof N32cEvents> = (e: N32cEvents[K]) => void;

export class N32cCore {
  readonly now: () => number;
  readonly statuses = new Map<string, PeerN32Status>();
  readonly associations = new Map<string, Association>();
  readonly initiatorPending = new Map<string, InitiatorPending>();
  /**
   * Responder contexts we do not send N32-f on yet (P11 "Rounds and activation"): until the initiator closed the
   * first N32-c connection (TS 33.501 13.2.2.2 step 6) or the first N32-f message arrived on the context.
   */
  readonly notYetSending = new Set<string>();
  /** our own handshakes in progress, by peer: abandon() ends one silently (P11 tie-break) */
  readonly initiating = new Map<string, { abandon(): void }>();
  readonly m: { handshakes: Counter; errors: Counter; requests: Counter };
  #listeners: { [K in keyof N32cEvents]: Listener<K>[] } = {
    "context-active": [],
    "context-terminated": [],
    "error-report": [],
  };
  #trust: { cfg: SeppConfig; store: TrustStore } | null = null;

  constructor(readonly deps: N32cDeps) {
    this.now = deps.now ?? Date.now;
    const r = deps.metrics;
    this.m = {
      handshakes: r.counter("sepp_n32c_handshakes_total", "N32-c handshakes by peer and result"),
      errors: r.counter("sepp_n32c_errors_total", "N32-c errors by cause"),
      requests: r.counter("sepp_n32c_requests_total", "N32-c requests received by operation and status"),
    };
    r.gauge("sepp_n32f_contexts_active", "live N32-f contexts").set({}, () => deps.contexts.size);
  }

  get log(): Logger {
    return this.deps.log;
  }
  cfg(): SeppConfig {
    return this.deps.config();
  }

  /** Trust store of the current configuration (rebuilt when the configuration object changes). */
  trust(): TrustStore {
    const cfg = this.cfg();
    if (this.#trust?.cfg !== cfg) this.#trust = { cfg, store: TrustStore.fromConfig(cfg) };
    return this.#trust.store;
  }

  me(): OwnIdentity {
    const id = this.cfg().identity;
    return {
      n32Fqdn: id.n32Fqdn,
      plmnIds: id.plmnIds,
      n32fFqdn: id.n32fFqdn,
      // P11: what we announce (senderN32fPort/-PortList): the configured externally visible ports, else the bound one
      n32fPorts: id.n32fPorts ?? (this.deps.n32fPort?.() ? [this.deps.n32fPort()!] : undefined),
    };
  }

  peer(id: string): PeerConfig | undefined {
    return this.cfg().peers.find((p) => p.id === id);
  }

  peerByFqdn(fqdn: string): PeerConfig | undefined {
    const f = fqdn.toLowerCase().replace(/\.$/, "");
    return this.cfg().peers.find((p) => p.n32Fqdn.toLowerCase().replace(/\.$/, "") === f);
  }

  /** Who is on this TLS connection (P9): chain to the anchor of its PLMN IDs; the configured peer it names. Cached. */
  identify(conn: ConnInfo): Identity {
    const cfg = this.cfg();
    const cached = conn.data.get("n32c.identity") as { cfg: SeppConfig; id: Identity } | undefined;
    if (cached && cached.cfg === cfg) return cached.id;
    let id: Identity;
    const r = this.trust().verifyN32Chain(conn.peerChain(), new Date(this.now()));
    if (!r.ok) id = { ok: false, reason: r.reason };
    else {
      const peer = cfg.peers.find((p) => certHasDnsName(r.leaf, p.n32Fqdn)) ?? null;
      if (conn.protocol === "TLSv1.2" && !peer?.profile.allowTls12)
        id = { ok: false, reason: "TLS 1.2 is not allowed with this peer" };
      else id = { ok: true, peer, plmnIds: r.plmnIds, dnsNames: r.dnsNames };
    }
    conn.data.set("n32c.identity", { cfg, id });
    return id;
  }

  // ---- status and events ----

  status(peerId: string): PeerN32Status {
    let s = this.statuses.get(peerId);
    if (!s) {
      s = {
        peerId,
        peerFqdn: this.peer(peerId)?.n32Fqdn ?? "",
        role: null,
        state: "idle",
        since: this.now(),
        capability: null,
        jweCipherSuite: null,
        localContextId: null,
        peerContextId: null,
        validUntil: null,
        counters: {
          attempts: 0,
          successes: 0,
          failures: 0,
          responderHandshakes: 0,
          terminationsSent: 0,
          terminationsReceived: 0,
          errorsSent: 0,
          errorsReceived: 0,
        },
        lastError: null,
        nextRetryAt: null,
      };
      this.statuses.set(peerId, s);
    }
    return s;
  }

  setState(peerId: string, state: N32State, patch: Partial<PeerN32Status> = {}): void {
    const s = this.status(peerId);
    Object.assign(s, patch);
    if (s.state !== state) {
      s.state = state;
      s.since = this.now();
    }
  }

  recordError(peerId: string, cause: string, detail: string): void {
    this.status(peerId).lastError = { at: this.now(), cause, detail: detail.slice(0, 300) };
    this.m.errors.inc({ cause });
  }

  /** The association with a peer became active: status, events. */
  activate(peerId: string, a: Association, validUntil: number | null): void {
    this.associations.set(peerId, a);
    this.setState(peerId, a.capability === "PRINS" ? "active-prins" : "active-tls", {
      role: a.role,
      capability: a.capability,
      jweCipherSuite: a.enc ?? null,
      localContextId: a.localContextId ?? null,
      peerContextId: a.peerContextId ?? null,
      validUntil,
      nextRetryAt: null,
    });
    this.emit("context-active", {
      peerId,
      capability: a.capability,
      role: a.role,
      localContextId: a.localContextId,
      peerContextId: a.peerContextId,
    });
  }

  /** Remove (wipe) one context; when it is the peer's current association, the peer becomes `state`. */
  dropContext(
    peerId: string,
    localContextId: string,
    reason: ContextTerminatedEvent["reason"],
    state: N32State = "terminated",
  ): boolean {
    const had = this.deps.contexts.delete(localContextId);
    this.notYetSending.delete(localContextId);
    const cur = this.associations.get(peerId);
    if (cur?.localContextId?.toLowerCase() === localContextId.toLowerCase()) {
      // another live context with this peer (both sides initiated, or one in its rekey grace) takes over
      const next = this.deps.contexts
        .byPeer(peerId)
        .filter((c) => c.state === "active" && !c.isExpired())
        .sort((x, y) => y.createdAt - x.createdAt)[0];
      if (next) {
        this.associations.set(peerId, {
          capability: "PRINS",
          role: next.role,
          localContextId: next.localContextId,
          peerContextId: next.peerContextId,
          enc: next.enc,
          // the same peer SEPP (or redirect target): its N32-c endpoint and announced N32-f endpoint still hold
          ...(cur.n32c ? { n32c: cur.n32c } : {}),
          ...(cur.announced ? { announced: cur.announced } : {}),
        });
        this.setState(peerId, "active-prins", {
          role: next.role,
          jweCipherSuite: next.enc,
          localContextId: next.localContextId,
          peerContextId: next.peerContextId,
          validUntil: next.validUntil,
        });
      } else {
        this.associations.delete(peerId);
        this.setState(peerId, state, { localContextId: null, peerContextId: null, validUntil: null });
      }
    }
    if (had) this.emit("context-terminated", { peerId, capability: "PRINS", localContextId, reason });
    return had;
  }

  /**
   * The context we send N32-f on toward a peer (P11 "Rounds and activation"): the current one, except a responder
   * context the initiator has not started using yet (step 6 not seen, nothing received on it): then the newest
   * other live context of the peer (the one it replaces), else none (null) until then.
   */
  sendContextId(peerId: string, current: string | null): string | null {
    if (!current || !this.notYetSending.has(current)) return current;
    const ctx = this.deps.contexts.get(current);
    if (ctx) {
      const c = ctx.counters();
      if (c.receivedRequests + c.receivedResponses > 0) {
        this.notYetSending.delete(current); // the initiator uses it: so do we
        return current;
      }
    }
    const older = this.deps.contexts
      .byPeer(peerId)
      .filter((x) => x.state === "active" && !x.isExpired() && !this.notYetSending.has(x.localContextId))
      .sort((x, y) => y.createdAt - x.createdAt)[0];
    return older?.localContextId ?? null;
  }

  on<K extends keyof N32cEvents>(name: K, cb: Listener<K>): void {
    (this.#listeners[name] as Listener<K>[]).push(cb);
  }

  emit<K extends keyof N32cEvents>(name: K, e: N32cEvents[K]): void {
    for (const cb of this.#listeners[name] as Listener<K>[]) {
      try {
        cb(e);
      } catch (err) {
        this.log.error("N32-c event listener failed", { event: name, error: err });
      }
    }
  }

  trace(e: TraceEvent): void {
    this.deps.trace?.(e);
  }

  /**
   * Whether RIs are configured or were announced for this peer (P11: then PRINS is the only capability offered
   * or accepted, no bidding down, TS 33.501 5.9.3.1).
   */
  hasRis(peer: PeerConfig): boolean {
    if (peer.roamingIntermediaries.length > 0) return true;
    return this.deps.contexts.byPeer(peer.id).some((c) => c.association.peerRis.length > 0);
  }

  /** The capabilities offered to / accepted from a peer, in our priority order (P11: PRINS only with RIs). */
  capabilitiesFor(peer: PeerConfig): Array<"PRINS" | "TLS"> {
    return this.hasRis(peer) ? peer.securityCapabilities.filter((c) => c === "PRINS") : peer.securityCapabilities;
  }

  // ---- client side ----

  /** The peer's configured N32-c endpoint. */
  targetOf(peer: PeerConfig): N32cTarget {
    return { uri: peer.n32cUri, fqdn: peer.n32Fqdn };
  }

  /**
   * A new N32-c connection to the peer's configured N32-c URI (or `target`, a redirect), server verified (P9:
   * chains to the anchor of its PLMN IDs, names `target.fqdn`) and carrying one of the peer's PLMN IDs.
   */
  async connect(peer: PeerConfig, target: N32cTarget = this.targetOf(peer)): Promise<H2Client> {
    const cfg = this.cfg();
    let url = target.uri;
    const u = new URL(target.uri);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    // P11: through our RIs with HTTP CONNECT when configured (the RI resolves the host name then)
    const via = tunnelViasOf(peer.n32cVia, cfg.storage.dir, this.trust().riRoots);
    if (this.deps.resolveHost && !isIP(host) && via.length === 0) {
      const addr = await this.deps.resolveHost(host);
      u.hostname = isIP(addr) === 6 ? `[${addr}]` : addr;
      url = u.toString();
    }
    const client = await H2Client.connect({
      url,
      tls: this.deps.tls,
      trust: this.trust(),
      expectDnsName: target.fqdn,
      peerPlmnIds: peer.plmnIds,
      minVersion: peer.profile.allowTls12 ? "TLSv1.2" : "TLSv1.3",
      timeoutMs: cfg.n32c.requestTimeoutMs,
      via,
    });
    const allowed = new Set(peer.plmnIds.map((p) => `${p.mcc}-${p.mnc.padStart(3, "0")}`));
    if (!client.peerPlmnIds.some((p) => allowed.has(`${p.mcc}-${p.mnc.padStart(3, "0")}`))) {
      await client.close();
      throw new N32cError("NEGOTIATION_NOT_ALLOWED", "peer certificate carries none of the peer's configured PLMN IDs");
    }
    return client;
  }

  /**
   * POST one N32-c request on `client`. A 2xx body is validated against `rspSchema` before it is returned
   * (an invalid one throws); an error answer returns its ProblemDetails (when valid).
   */
  async post<T>(
    client: H2Client,
    peer: PeerConfig,
    op: N32cOperation,
    body: unknown,
    reqSchema: N32SchemaName,
    rspSchema: N32SchemaName | null,
    target: N32cTarget = this.targetOf(peer),
  ): Promise<{ status: number; body: T | null; problem: ProblemDetails | null; location?: string }> {
    const cfg = this.cfg();
    this.trace({ direction: "sent", kind: "request", operation: op, schema: reqSchema, body });
    const base = new URL(target.uri).pathname.replace(/\/+$/, "");
    const res = await client.request("POST", `${base}${API_PREFIX}/${op}`, {
      headers: { "content-type": "application/json", accept: "application/json, application/problem+json" },
      body: JSON.stringify(body),
      timeoutMs: cfg.n32c.requestTimeoutMs,
      maxBodyBytes: cfg.n32c.maxBodyBytes,
    });
    const ct = (res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    let parsed: unknown;
    if (res.body.length) {
      try {
        parsed = JSON.parse(res.text());
      } catch {
        parsed = undefined;
      }
    }
    if (res.status >= 200 && res.status < 300) {
      if (!rspSchema) {
        this.trace({
          direction: "received",
          kind: "response",
          operation: op,
          schema: null,
          status: res.status,
          body: parsed ?? null,
        });
        return { status: res.status, body: null, problem: null };
      }
      if (ct !== "application/json" || parsed === undefined)
        throw new N32cError("MANDATORY_IE_INCORRECT", `${op}: peer answered ${res.status} without a JSON body`);
      const errs = validateBody(rspSchema, parsed);
      this.trace({
        direction: "received",
        kind: "response",
        operation: op,
        schema: rspSchema,
        status: res.status,
        body: parsed,
      });
      if (errs)
        throw new N32cError(
          errs.length && errs.every((e) => e.reason === "mandatory member missing")
            ? "MANDATORY_IE_MISSING"
            : "MANDATORY_IE_INCORRECT",
          `${op}: invalid ${rspSchema} from peer: ${errs.map((e) => e.param).join(", ")}`,
        );
      return { status: res.status, body: parsed as T, problem: null };
    }
    let problem: ProblemDetails | null = null;
    if (parsed !== undefined && validateBody("ProblemDetails", parsed) === null) problem = parsed as ProblemDetails;
    this.trace({
      direction: "received",
      kind: "response",
      operation: op,
      schema: problem ? "ProblemDetails" : null,
      status: res.status,
      body: parsed ?? null,
    });
    return { status: res.status, body: null, problem, location: res.headers.location };
  }

  /** One request over a fresh connection (the responder's own N32-c connection, terminate, error report). */
  async sendOnce<T>(
    peer: PeerConfig,
    op: N32cOperation,
    body: unknown,
    reqSchema: N32SchemaName,
    rspSchema: N32SchemaName | null,
    target?: N32cTarget,
  ) {
    const client = await this.connect(peer, target);
    try {
      return await this.post<T>(client, peer, op, body, reqSchema, rspSchema, target);
    } finally {
      await client.close();
    }
  }
}

/**
 * P11 tie-break when both SEPPs initiate at once: the handshake of the SEPP whose N32 FQDN sorts lower (byte
 * order, case-insensitive names compared in lower case, no trailing dot) goes on.
 */
export function initiatesFirst(ours: string, theirs: string): boolean {
  const n = (f: string) => Buffer.from(f.toLowerCase().replace(/\.$/, ""), "utf8");
  return Buffer.compare(n(ours), n(theirs)) < 0;
}

/** "mcc-mnc" with the MNC padded (P9). */
export const plmnKeyOf = (p: PlmnId) => `${p.mcc}-${p.mnc.padStart(3, "0")}`;
