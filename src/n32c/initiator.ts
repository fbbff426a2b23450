// src/n32c/initiator.ts — the initiating side of N32-c, one state machine per peer (TS 33.501 13.2.2.2,
// 13.5; TS 29.573 5.2; N32-PROFILE P1, P7, P10).
//
//   idle ─► connecting ─► negotiating ─┬─► (TLS) ─────────────────────────► active-tls
//                                      └─► (PRINS) params ─► keys, context ─► active-prins ─┐
//   any failure ─► backoff (capped exponential + jitter) ─► connecting …       (auto peers)  │
//              └─► failed                                                     (on demand)   │
//   active-prins ── needsRekey / validity − margin ─► connecting … (new context IDs) ◄───────┘
//                   new context active ─► old context retired after a grace (n32f-terminate)
//
// The first N32-c connection carries exchange-capability and every exchange-params round, gives the
// master key (TLS exporter, P1) and is closed once the parameters are exchanged (P7).
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SecNegotiateRspData } from "../model/n32.ts";
import type { N32fContext } from "../n32f/context.ts";
import type { H2Client } from "../transport/h2client.ts";
import { fromProblem, N32cError, type N32cTarget, type PeerN32Status } from "./core-types.ts";
import { initiatesFirst, type N32cCore } from "./core.ts";
import { exchangeParams } from "./initiator-params.ts";
import * as msg from "./messages.ts";
import { MAX_REDIRECTS, redirectTarget } from "./redirect.ts";

const MAX_TIMER_MS = 1000; // re-check the rekey condition (SEQ threshold) at least this often: one cheap check per peer
const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const sameFqdn = (a: string, b: string) => a.toLowerCase().replace(/\.$/, "") === b.toLowerCase().replace(/\.$/, "");

export class PeerInitiator {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #retire = new Set<ReturnType<typeof setTimeout>>();
  #running: Promise<void> | null = null;
  #client: H2Client | null = null;
  #failures = 0;
  #stopped = false;
  #halted = false;

  constructor(
    private readonly core: N32cCore,
    readonly peerId: string,
    /** retry with backoff and re-handshake by itself (peer.initiate) */
    public auto: boolean,
  ) {}

  /** Start now (auto peers on start-up). */
  start(): void {
    this.#stopped = false;
    this.#halted = false;
    this.#schedule(0);
  }

  /** Run a handshake now (on demand), or join the one in progress. Resolves with the resulting status. */
  async handshake(): Promise<PeerN32Status> {
    this.#stopped = false;
    this.#halted = false;
    this.#clearTimer();
    if (!this.#running) this.#running = this.#attempt(true).finally(() => (this.#running = null));
    await this.#running;
    return this.core.status(this.peerId);
  }

  /** Stop retries and re-handshakes (after a local terminate) until the next handshake() or start(). */
  halt(): void {
    this.#halted = true;
    this.#clearTimer();
    this.core.status(this.peerId).nextRetryAt = null;
  }

  /** Stop everything; aborts a handshake in progress (its connection is closed). Bounded. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimer();
    for (const t of this.#retire) clearTimeout(t);
    this.#retire.clear();
    this.core.status(this.peerId).nextRetryAt = null;
    await this.#client?.close();
    if (this.#running) await Promise.race([this.#running.catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(delayMs: number, what: "attempt" | "rekey-check" = "attempt"): void {
    this.#clearTimer();
    if (this.#stopped || this.#halted) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        if (what === "rekey-check" && !this.#rekeyDue()) return this.#scheduleRekey();
        if (!this.#running) this.#running = this.#attempt().finally(() => (this.#running = null));
      },
      Math.max(0, Math.min(delayMs, 2 ** 31 - 1)),
    );
    this.#timer.unref?.();
  }

  #current(): N32fContext | undefined {
    const a = this.core.associations.get(this.peerId);
    return a?.role === "initiator" && a.localContextId ? this.core.deps.contexts.get(a.localContextId) : undefined;
  }

  #rekeyDue(): boolean {
    const ctx = this.#current();
    return !!ctx && ctx.needsRekey();
  }

  #scheduleRekey(): void {
    const ctx = this.#current();
    if (!ctx || !this.auto) return;
    const due = ctx.validUntil - ctx.rekeyMarginMs - this.core.now();
    this.#schedule(Math.min(Math.max(0, due), MAX_TIMER_MS), "rekey-check");
  }

  /**
   * P11 tie-break: the peer's N32 FQDN sorts lower and it holds the association with us as its initiator: it
   * initiates (and re-keys), we serve as responder; our own timer-driven attempts wait.
   */
  #deferToPeer(peer: { n32Fqdn: string }): boolean {
    const a = this.core.associations.get(this.peerId);
    if (a?.role !== "responder") return false;
    return initiatesFirst(peer.n32Fqdn, this.core.cfg().identity.n32Fqdn);
  }

  async #attempt(onDemand = false): Promise<void> {
    const core = this.core;
    const peer = core.peer(this.peerId);
    if (!peer || this.#stopped) return;
    if (!onDemand && this.#deferToPeer(peer)) {
      this.#failures = 0;
      this.#schedule(MAX_TIMER_MS); // look again: the peer's association may end
      return;
    }
    let abandoned = false;
    core.initiating.set(this.peerId, {
      abandon: () => {
        abandoned = true;
        void this.#client?.close();
      },
    });
    const st = core.status(this.peerId);
    st.counters.attempts++;
    st.nextRetryAt = null;
    // a re-handshake, or one beside an association we serve as responder: the active one stays usable meanwhile
    // (looked up at each step: the peer's simultaneous handshake may have made us its responder meanwhile, P11
    // tie-break; an active association's state is never overwritten by our attempt's progress)
    const step = (s: "connecting" | "negotiating" | "params") => {
      if (!core.associations.has(this.peerId)) core.setState(this.peerId, s, { role: "initiator" });
    };
    let client = null as H2Client | null; // the connection in use (closed in `finally`)
    let target: N32cTarget = core.targetOf(peer);
    try {
      // a new N32-c connection to `target` (the peer, or where a 307 sent us), and exchange-capability on it
      const open = async (): Promise<H2Client> => {
        const c = await core.connect(peer, target);
        this.#client = client = c;
        if (this.#stopped) throw new N32cError("STOPPED", "service stopping");
        // abandoned while connecting (P11 tie-break): the peer's handshake went on; ours must not start anew
        if (abandoned) throw new N32cError("ABANDONED", "the peer's simultaneous handshake goes on (P11)");
        return c;
      };
      const negotiate = (c: H2Client, body: unknown) =>
        core.post<SecNegotiateRspData>(
          c,
          peer,
          "exchange-capability",
          body,
          "SecNegotiateReqData",
          "SecNegotiateRspData",
          target,
        );
      step("connecting");
      let c = await open();
      step("negotiating");
      // with RIs configured or announced for this peer, PRINS is the only capability offered (P11)
      const offered = core.capabilitiesFor(peer);
      if (!offered.length)
        throw new N32cError("NEGOTIATION_NOT_ALLOWED", "RIs are configured for this peer but PRINS is not allowed");
      const req = msg.secNegotiateReq(core.me(), {
        capabilities: offered,
        targetPlmnId: peer.plmnIds[0],
        purposes: peer.intendedUsagePurpose,
      });
      let r = await negotiate(c, req);
      // Rel-18: 307 = redirect to another SEPP of the peer (redirect.ts: what is followed, at most MAX_REDIRECTS)
      for (let hops = 0; r.status === 307; hops++) {
        if (hops >= MAX_REDIRECTS)
          throw new N32cError("REDIRECT_NOT_ALLOWED", `exchange-capability: more than ${MAX_REDIRECTS} redirects`);
        const next = redirectTarget(r.location, peer);
        if (!next.ok)
          throw new N32cError("REDIRECT_NOT_ALLOWED", `exchange-capability: redirect not followed: ${next.reason}`);
        core.log.info("exchange-capability redirected (307)", { peer: peer.id, to: next.target.uri });
        await c.close();
        this.#client = client = null;
        target = next.target;
        c = await open();
        r = await negotiate(c, req);
      }
      if (!r.body) throw fromProblem("exchange-capability", r);
      const rsp = r.body;
      // the SEPP we talk to: the peer's N32 FQDN, or the redirect target's (its certificate names it)
      if (!sameFqdn(rsp.sender, peer.n32Fqdn) && !sameFqdn(rsp.sender, target.fqdn))
        throw new N32cError("NEGOTIATION_NOT_ALLOWED", "exchange-capability: sender is not the peer");
      // P11: N32-f goes to what this SEPP announced (n32f-endpoint.ts); after a 307, the redirect target's
      const redirected = {
        ...(target.uri !== peer.n32cUri ? { n32c: target } : {}),
        announced: msg.announcementOf(rsp),
      };
      const sel = rsp.selectedSecCapability as "PRINS" | "TLS";
      if (sel !== "PRINS" && sel !== "TLS")
        throw new N32cError("NEGOTIATION_NOT_ALLOWED", `peer selected ${String(sel).slice(0, 20)}`);
      if (!offered.includes(sel))
        throw new N32cError("NEGOTIATION_NOT_ALLOWED", `peer selected ${sel}, which we did not offer`);
      if (peer.intendedUsagePurpose.length && !rsp.allowedUsagePurpose?.length && rsp.rejectedUsagePurpose?.length)
        throw new N32cError("NEGOTIATION_NOT_ALLOWED", "no common usage purpose");
      if (sel === "TLS") {
        await c.close();
        this.#succeeded();
        core.activate(this.peerId, { capability: "TLS", role: "initiator", ...redirected }, null);
        core.log.info("N32 association active (TLS), as initiator", { peer: peer.id });
        return;
      }
      step("params");
      const ctx = await exchangeParams(core, c, peer, target);
      const previous = core.associations.get(this.peerId);
      this.#succeeded();
      core.activate(
        this.peerId,
        {
          capability: "PRINS",
          role: "initiator",
          localContextId: ctx.localContextId,
          peerContextId: ctx.peerContextId,
          enc: ctx.enc,
          ...redirected,
        },
        ctx.validUntil,
      );
      core.log.info("N32-f context active, as initiator", {
        peer: peer.id,
        localContextId: ctx.localContextId,
        peerContextId: ctx.peerContextId,
        enc: ctx.enc,
      });
      if (previous?.localContextId && !sameId(previous.localContextId, ctx.localContextId))
        this.#retireLater(peer, previous.localContextId, previous.peerContextId, previous.n32c);
      this.#scheduleRekey();
    } catch (e) {
      if (abandoned) {
        // P11: the peer's simultaneous handshake goes on; ours ends silently (no error, no report, no backoff)
        core.log.info("N32-c handshake abandoned: the peer's simultaneous handshake goes on (P11 tie-break)", {
          peer: this.peerId,
        });
        this.#schedule(MAX_TIMER_MS);
      } else this.#failed(e);
    } finally {
      core.initiating.delete(this.peerId);
      this.#client = null;
      await client?.close();
    }
  }

  #succeeded(): void {
    const st = this.core.status(this.peerId);
    st.counters.successes++;
    this.#failures = 0;
    this.core.m.handshakes.inc({ peer: this.peerId, result: "ok" });
  }

  #failed(e: unknown): void {
    const core = this.core;
    const st = core.status(this.peerId);
    st.counters.failures++;
    this.#failures++;
    const cause = e instanceof N32cError ? e.code : "CONNECTION_FAILED";
    const detail = e instanceof Error ? e.message : String(e);
    core.recordError(this.peerId, cause, detail);
    core.m.handshakes.inc({ peer: this.peerId, result: "failed" });
    core.log.every(`n32c-handshake-failed:${this.peerId}:${cause}`, 30_000, "warn", "N32-c handshake failed", {
      peer: this.peerId,
      cause,
      detail,
      failures: this.#failures,
    });
    // a failed attempt never hides an association that is still active (ours as initiator, or one we serve)
    const stillActive = core.associations.has(this.peerId);
    if (this.auto && !this.#stopped && !this.#halted) {
      const cfg = core.cfg().n32c;
      const cap = Math.min(cfg.retryMaxMs, cfg.retryInitialMs * 2 ** Math.min(this.#failures - 1, 30));
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2); // "equal jitter": never a busy retry
      st.nextRetryAt = core.now() + delay;
      if (!stillActive) core.setState(this.peerId, "backoff", { role: "initiator" });
      this.#schedule(delay);
    } else if (!stillActive) {
      core.setState(this.peerId, "failed", { role: "initiator" });
    }
  }

  /** After a re-handshake: keep the old context for a grace period, then tell the peer and wipe it. */
  #retireLater(peer: PeerConfig, localId: string, peerCtxId: string | undefined, target: N32cTarget | undefined): void {
    const grace = this.core.deps.retireGraceMs ?? 5000;
    const t = setTimeout(async () => {
      this.#retire.delete(t);
      if (!this.core.deps.contexts.get(localId)) return;
      if (peerCtxId) {
        try {
          await this.core.sendOnce(
            peer,
            "n32f-terminate",
            msg.n32fContextInfo(peerCtxId),
            "N32fContextInfo",
            "N32fContextInfo",
            target,
          );
          this.core.status(peer.id).counters.terminationsSent++;
        } catch (e) {
          this.core.log.every(
            `n32c-retire:${peer.id}`,
            30_000,
            "warn",
            "could not terminate the old N32-f context at the peer",
            { peer: peer.id, error: e },
          );
        }
      }
      this.core.dropContext(peer.id, localId, "rekey");
    }, grace);
    t.unref?.();
    this.#retire.add(t);
  }
}
