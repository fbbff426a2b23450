// src/n32c/service.ts — N32-c composed: the responder routes, one initiator per peer, the status the
// admin API shows (GET /v1/peers/{id}/n32), terminate and error reporting toward a peer, and the
// sweeper that retires expired N32-f contexts (TS 29.573 5.2; TS 33.501 13.2.2, 13.5; N32-PROFILE P1, P7).
import type { Hono } from "hono";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { N32fContextInfo, SecNegotiateRspData } from "../model/n32.ts";
import type { N32Env } from "../transport/h2server.ts";
import { N32cCore } from "./core.ts";
import { N32cError, type N32cDeps, type N32cEvents, type PeerN32Status } from "./core-types.ts";
import { PeerInitiator } from "./initiator.ts";
import { cachedN32fEndpoint, type N32fEndpoint } from "./n32f-endpoint.ts";
import * as msg from "./messages.ts";
import { createResponder, type Responder } from "./responder.ts";
import { TokenBuckets } from "./ratelimit.ts";

const SWEEP_MS = 5000;
/**
 * n32f-error reports per peer (each one is an N32-c connection to the peer): at most this many at a time and
 * per second (one second of burst). A peer whose messages keep failing gets a sample of reports, not one per
 * message (every rate bounded); the refused messages themselves are still answered one by one.
 */
const MAX_REPORTS_IN_FLIGHT = 4;
const MAX_REPORTS_PER_SECOND = 10;
/** At most one re-negotiation per peer in this period after the peer lost our context (P11 "Errors"). */
export const RENEGOTIATE_MIN_INTERVAL_MS = 5000;

/**
 * N32-c of this SEPP: answers the four operations as responder, runs one initiator per peer, keeps the status
 * the admin API shows, terminates and reports errors toward peers. Contexts live in the `N32fContextStore`
 * shared with the data path.
 *
 * @example
 * const n32c = new N32cService({ config, tls, log, metrics, contexts, aead, n32fPort: () => port });
 * const l = await startN32Listeners({ config: config(), tls, trust, n32c: n32c.routes(), log });
 * n32c.start();                                   // initiators of peers with `initiate: true`
 * n32c.on("context-active", (e) => console.log(e.peerId, e.localContextId));
 * await n32c.handshake("home");                   // on demand
 * await n32c.stop(); await l.close();
 */
export class N32cService {
  readonly #core: N32cCore;
  readonly #responder: Responder;
  readonly #runners = new Map<string, PeerInitiator>();
  /** the peer entries the runners were made from, to notice changes on reload */
  readonly #seen = new Map<string, string>();
  #sweep: ReturnType<typeof setInterval> | null = null;
  #started = false;
  readonly #reportBuckets: TokenBuckets;
  readonly #reportsInFlight = new Map<string, number>();
  readonly #reportsDropped;
  readonly #lastRenegotiation = new Map<string, number>();

  constructor(deps: N32cDeps) {
    this.#core = new N32cCore(deps);
    this.#responder = createResponder(this.#core);
    this.#reportBuckets = new TokenBuckets(() => MAX_REPORTS_PER_SECOND, this.#core.now, 1024);
    this.#reportsDropped = deps.metrics.counter(
      "sepp_n32f_error_reports_dropped_total",
      "n32f-error reports not sent: over the per-peer report rate",
    );
    // The peer says our current context is unknown or past its life (it restarted, or expired it first):
    // negotiate a new one instead of sending into a dead context until the next scheduled re-handshake.
    this.#core.on("error-report", (e) => {
      const t = e.info.n32fErrorType;
      if (t !== "CONTEXT_NOT_FOUND" && t !== "ENCRYPTION_KEY_EXPIRED") return;
      const st = this.#core.status(e.peerId);
      if (st.capability !== "PRINS" || !st.localContextId) return;
      // about an old context: nothing to do
      if (e.info.n32fContextId && e.info.n32fContextId.toLowerCase() !== st.localContextId.toLowerCase()) return;
      this.renegotiate(e.peerId, t);
    });
  }

  /**
   * Start a new handshake with a peer whose current context it lost (n32f-error or a 403 CONTEXT_NOT_FOUND /
   * ENCRYPTION_KEY_EXPIRED answer, P11 "Errors"), at most once per RENEGOTIATE_MIN_INTERVAL_MS per peer; joins a
   * handshake in progress. Returns whether one was started (false: throttled or unknown peer).
   *
   * @example
   * if (problem.cause === "CONTEXT_NOT_FOUND") n32c.renegotiate(peer.id, "CONTEXT_NOT_FOUND");
   */
  renegotiate(peerId: string, why: string): boolean {
    if (!this.#core.peer(peerId)) return false;
    const now = this.#core.now();
    if (now - (this.#lastRenegotiation.get(peerId) ?? -Infinity) < RENEGOTIATE_MIN_INTERVAL_MS) return false;
    this.#lastRenegotiation.set(peerId, now);
    this.#core.log.warn("the peer lost our N32-f context: re-negotiating", { peer: peerId, type: why });
    void this.handshake(peerId).catch((err) =>
      this.#core.log.warn("re-negotiation failed", { peer: peerId, error: String(err) }),
    );
    return true;
  }

  /**
   * The N32-c routes (/n32c-handshake/v1/…), to be mounted at "/" of the N32 listener's app.
   *
   * @example
   * await startN32Listeners({ config: cfg, tls, trust, n32c: n32c.routes(), log });
   */
  routes(): Hono<{ Bindings: N32Env }> {
    return this.#responder.app;
  }

  /** Start initiators for peers with `initiate: true` and the context sweeper. */
  start(): void {
    this.#started = true;
    this.reloadPeers();
    if (!this.#sweep) {
      this.#sweep = setInterval(() => this.#sweepExpired(), SWEEP_MS);
      this.#sweep.unref?.();
    }
  }

  /** Stop initiators (in-flight handshakes are aborted, bounded) and timers. Contexts stay in the store. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = null;
    this.#responder.stop();
    await Promise.all([...this.#runners.values()].map((r) => r.stop()));
    this.#runners.clear();
    this.#seen.clear();
  }

  /**
   * Handshake with a peer now (on demand), or join the one in progress. Rejects (N32cError RESOURCE_NOT_FOUND)
   * for an unknown peer; a failed handshake resolves with the status (state `failed`/`backoff`, `lastError`).
   *
   * @example
   * const st = await n32c.handshake("home"); // st.state === "active-prins", st.localContextId …
   */
  async handshake(peerId: string): Promise<PeerN32Status> {
    const peer = this.#core.peer(peerId);
    if (!peer) throw new N32cError("RESOURCE_NOT_FOUND", `no peer ${peerId}`);
    const r = this.#runner(peer);
    await r.handshake();
    return this.status(peerId)!;
  }

  /**
   * End the association with a peer: PRINS → n32f-terminate with the peer's context ID over a new N32-c
   * connection; TLS → exchange-capability ["NONE"] (NFTLST). Our side is wiped whatever the peer answers;
   * rejects with N32cError when the peer could not be told (the cause is also in status.lastError).
   *
   * @example
   * await n32c.terminate("home").catch((e) => log.warn("peer not told", { cause: e.cause }));
   */
  async terminate(peerId: string): Promise<void> {
    const core = this.#core;
    const peer = core.peer(peerId);
    if (!peer) throw new N32cError("RESOURCE_NOT_FOUND", `no peer ${peerId}`);
    this.#runners.get(peerId)?.halt();
    const a = core.associations.get(peerId);
    const st = core.status(peerId);
    let failure: N32cError | null = null;
    try {
      if (a?.capability === "TLS") {
        const r = await core.sendOnce<SecNegotiateRspData>(
          peer,
          "exchange-capability",
          msg.secNegotiateNoneReq(core.me()),
          "SecNegotiateReqData",
          "SecNegotiateRspData",
          a.n32c,
        );
        if (r.body?.selectedSecCapability !== "NONE")
          failure = new N32cError(r.problem?.cause ?? `HTTP_${r.status}`, "the peer did not accept NONE");
      } else if (a?.localContextId && a.peerContextId) {
        const r = await core.sendOnce<N32fContextInfo>(
          peer,
          "n32f-terminate",
          msg.n32fContextInfo(a.peerContextId),
          "N32fContextInfo",
          "N32fContextInfo",
          a.n32c,
        );
        if (r.status !== 200)
          failure = new N32cError(r.problem?.cause ?? `HTTP_${r.status}`, `n32f-terminate answered ${r.status}`);
        else if (r.body && r.body.n32fContextId.toLowerCase() !== a.localContextId.toLowerCase())
          core.log.warn("n32f-terminate answered with another context ID", { peer: peerId });
      }
      if (a) st.counters.terminationsSent++;
    } catch (e) {
      failure =
        e instanceof N32cError ? e : new N32cError("CONNECTION_FAILED", e instanceof Error ? e.message : String(e));
    } finally {
      // wipe every context of this peer (also one still in its rekey grace)
      for (const ctx of core.deps.contexts.byPeer(peerId)) core.dropContext(peerId, ctx.localContextId, "local");
      if (a && !a.localContextId)
        core.emit("context-terminated", { peerId, capability: a.capability, reason: "local" });
      core.associations.delete(peerId);
      this.#responder.kit.selected.delete(peerId);
      this.#responder.kit.announced.delete(peerId);
      core.setState(peerId, "terminated", {
        localContextId: null,
        peerContextId: null,
        validUntil: null,
        nextRetryAt: null,
      });
    }
    if (failure) {
      core.recordError(peerId, failure.code, failure.message);
      throw failure;
    }
  }

  /**
   * Report an N32-f error to a peer over N32-c (TS 33.501 13.2.2.3; P7): `receiverContextId` is the peer's own
   * context ID; `messageId` the failed message's metaData.messageId ("0000000000000000" when none). Rate-bounded
   * per peer (rejects with NF_CONGESTION_RISK when over it).
   *
   * @example
   * await n32c.reportError("home", { type: "INTEGRITY_CHECK_FAILED", receiverContextId: ctx.peerContextId, messageId });
   */
  async reportError(peerId: string, e: msg.N32fErrorReport): Promise<void> {
    const peer = this.#core.peer(peerId);
    if (!peer) throw new N32cError("RESOURCE_NOT_FOUND", `no peer ${peerId}`);
    const inFlight = this.#reportsInFlight.get(peerId) ?? 0;
    if (inFlight >= MAX_REPORTS_IN_FLIGHT || !this.#reportBuckets.take(peerId)) {
      this.#reportsDropped.inc({ peer: peerId });
      throw new N32cError(
        "NF_CONGESTION_RISK",
        "n32f-error reports to this peer over their rate: this one is not sent",
      );
    }
    this.#reportsInFlight.set(peerId, inFlight + 1);
    try {
      // about the current association negotiated with a redirect target: tell that SEPP
      const a = this.#core.associations.get(peerId);
      const target =
        a?.n32c && e.receiverContextId && a.peerContextId?.toLowerCase() === e.receiverContextId.toLowerCase()
          ? a.n32c
          : undefined;
      const r = await this.#core.sendOnce(peer, "n32f-error", msg.n32fErrorInfo(e), "N32fErrorInfo", null, target);
      this.#core.status(peerId).counters.errorsSent++;
      if (r.status !== 204)
        throw new N32cError(r.problem?.cause ?? `HTTP_${r.status}`, `n32f-error answered ${r.status}`);
    } finally {
      const n = (this.#reportsInFlight.get(peerId) ?? 1) - 1;
      if (n > 0) this.#reportsInFlight.set(peerId, n);
      else this.#reportsInFlight.delete(peerId);
    }
  }

  /**
   * Give up one N32-f context after a policy mismatch found on N32-f (P6/P10, onPolicyMismatch: reject): it is
   * wiped and, when it was the peer's current association, another live one takes over or the peer becomes
   * `failed`. No message is sent here (the caller reports the mismatch with n32f-error).
   */
  dropContext(peerId: string, localContextId: string): boolean {
    return this.#core.dropContext(peerId, localContextId, "policy-mismatch", "failed");
  }

  /**
   * A copy of a peer's N32 status (GET /v1/peers/{id}/n32); undefined for an unknown peer.
   *
   * @example
   * n32c.status("home")?.state; // "active-prins"
   */
  status(peerId: string): PeerN32Status | undefined {
    if (!this.#core.peer(peerId)) return undefined;
    return structuredClone(this.#core.status(peerId));
  }

  /**
   * What the data path needs on every request, without copying the whole status (hot path). `localContextId` is
   * the context to send N32-f on: the current one, or (P11) the one it replaces while the initiator has not yet
   * closed the first N32-c connection nor sent on the new context; null when there is none yet.
   */
  brief(
    peerId: string,
  ):
    | { state: PeerN32Status["state"]; capability: PeerN32Status["capability"]; localContextId: string | null }
    | undefined {
    if (!this.#core.peer(peerId)) return undefined;
    const s = this.#core.status(peerId);
    // the context to SEND on: a new responder context only after step 6 or its first received message (P11)
    return {
      state: s.state,
      capability: s.capability,
      localContextId: this.#core.sendContextId(peerId, s.localContextId),
    };
  }

  /**
   * Where N32-f toward a peer goes (P11 "Negotiation"; the one place the data path asks, n32f-endpoint.ts): what the
   * SEPP of the current association announced in exchange-capability (after a 307: the redirect target), else the
   * configured n32fUri. Cached per association (hot path). Undefined for an unknown peer.
   *
   * @example
   * const ep = n32c.n32fEndpointOf("home"); // { url: "https://10.0.0.7:8443", fqdn, port, expectDnsName, … }
   */
  n32fEndpointOf(peerId: string): N32fEndpoint | undefined {
    const core = this.#core;
    const peer = core.peer(peerId);
    if (!peer) return undefined;
    const a = core.associations.get(peerId);
    return cachedN32fEndpoint(a ?? peer, peer, a?.announced, a?.n32c, (why) =>
      core.log.warn("the peer's announced N32-f endpoint is not used: the configured one is (P11)", {
        peer: peerId,
        detail: why,
      }),
    );
  }

  statusAll(): PeerN32Status[] {
    return this.#core.cfg().peers.map((p) => this.status(p.id)!);
  }

  /** The configuration changed: start initiators of new/changed `initiate` peers, stop those of removed ones. */
  reloadPeers(): void {
    const core = this.#core;
    const peers = new Map(core.cfg().peers.map((p) => [p.id, p]));
    for (const [id, r] of this.#runners) {
      const p = peers.get(id);
      if (!p || JSON.stringify(p) !== this.#seen.get(id)) {
        void r.stop();
        this.#runners.delete(id);
        this.#seen.delete(id);
        if (!p) {
          for (const ctx of core.deps.contexts.byPeer(id)) core.dropContext(id, ctx.localContextId, "removed");
          core.associations.delete(id);
          core.statuses.delete(id);
        }
      }
    }
    for (const id of [...core.statuses.keys()]) if (!peers.has(id)) core.statuses.delete(id);
    for (const p of peers.values()) {
      core.status(p.id).peerFqdn = p.n32Fqdn;
      if (this.#started && p.initiate && !this.#runners.has(p.id)) this.#runner(p).start();
    }
  }

  /**
   * Subscribe to `context-active`, `context-terminated` or `error-report` (a throwing listener is logged).
   *
   * @example
   * n32c.on("context-terminated", (e) => dataPath.peerDown(e.peerId));
   */
  on<K extends keyof N32cEvents>(event: K, cb: (e: N32cEvents[K]) => void): void {
    this.#core.on(event, cb);
  }

  #runner(peer: PeerConfig): PeerInitiator {
    let r = this.#runners.get(peer.id);
    if (!r) {
      r = new PeerInitiator(this.#core, peer.id, peer.initiate);
      this.#runners.set(peer.id, r);
      this.#seen.set(peer.id, JSON.stringify(peer));
    }
    return r;
  }

  #sweepExpired(): void {
    const core = this.#core;
    for (const ctx of core.deps.contexts.list()) {
      if (ctx.isExpired() || ctx.state === "terminated")
        core.dropContext(ctx.peerId, ctx.localContextId, "expired", "idle");
    }
  }
}
