// src/n32c/core.ts — what the N32-c responder, the initiators and the service share: configuration
// lookups, peer identification from the TLS connection (N32-PROFILE P7, P9), per-peer status, events,
// metrics. The shapes live in core-types.ts, the client side of one N32-c exchange in
// client.ts (connect, post, sendOnce below delegate to it).
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Counter } from "../metrics.ts";
import type { N32SchemaName } from "../openapi/validate.ts";
import { certHasDnsName } from "../pki/plmn.ts";
import { TrustStore } from "../pki/trust.ts";
import type { ConnInfo } from "../transport/h2server.ts";
import type { H2Client } from "../transport/h2client.ts";
import type { OwnIdentity } from "./messages.ts";
import { peerById } from "../config/peer-index.ts";
import { connect, post, sendOnce, targetOf } from "./client.ts";
import type {
  Association,
  ContextTerminatedEvent,
  Identity,
  InitiatorPending,
  N32cDeps,
  N32cEvents,
  N32cOperation,
  N32cTarget,
  N32State,
  PeerN32Status,
  TraceEvent,
} from "./core-types.ts";

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
    return peerById(this.cfg(), id);
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

  /** What every new N32-f context takes from the service and `cfg` (P1: validity and re-handshake bounds). */
  contextLife(cfg: SeppConfig) {
    return {
      engine: this.deps.aead,
      share: this.deps.shareContext,
      validitySeconds: cfg.n32c.contextValiditySeconds,
      rekeySeqThreshold: cfg.n32c.rekeySeqThreshold,
      rekeyMarginSeconds: cfg.n32c.rekeyMarginSeconds,
      now: this.now,
    };
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

  // ---- client side (src/n32c/client.ts) ----

  /** The peer's configured N32-c endpoint. */
  targetOf(peer: PeerConfig): N32cTarget {
    return targetOf(peer);
  }

  /** A new N32-c connection to the peer (client.ts connect). */
  connect(peer: PeerConfig, target?: N32cTarget): Promise<H2Client> {
    return connect(this, peer, target);
  }

  /** POST one N32-c request on `client` (client.ts post). */
  post<T>(
    client: H2Client,
    peer: PeerConfig,
    op: N32cOperation,
    body: unknown,
    reqSchema: N32SchemaName,
    rspSchema: N32SchemaName | null,
    target?: N32cTarget,
  ): ReturnType<typeof post<T>> {
    return post<T>(this, client, peer, op, body, reqSchema, rspSchema, target);
  }

  /** One request over a fresh connection (client.ts sendOnce). */
  sendOnce<T>(
    peer: PeerConfig,
    op: N32cOperation,
    body: unknown,
    reqSchema: N32SchemaName,
    rspSchema: N32SchemaName | null,
    target?: N32cTarget,
  ): ReturnType<typeof sendOnce<T>> {
    return sendOnce<T>(this, peer, op, body, reqSchema, rspSchema, target);
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
