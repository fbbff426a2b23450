// src/datapath/ri-announce.ts — the RI-relevant parameters over N32-f (TS 33.501 13.2.2.2, last paragraph;
// N32-PROFILE P6, P10), wired to real traffic. The pure blocks and checks live in src/n32f/announce.ts; this
// module sends them (RiAnnouncer); ri-announce-answer.ts answers them, ri-announce-block.ts is what both share.
//
//  initiator (RiAnnouncer): right after a PRINS context in which we are the N32-c initiator becomes active
//    (n32c "context-active"), when the peer's `profile.announceToRi` says so (P11: off by default), POST one n32f-process request whose aad is the announcement block and whose plaintext is
//    empty (nothing encrypted, P2); verify the 200 answer (AEAD, RI modifications, messageId) and check the
//    responder's values against N32-c. Mismatch: POLICY_MISMATCH reported with n32f-error and a
//    policyMismatchList; with `onPolicyMismatch: reject` the context is deactivated.
//  responder (answerRiAnnouncement, called by the pSEPP on a verified request BEFORE any forwarding): check
//    the announcement against what the initiator sent on N32-c; 200 with our own values, or 403 POLICY_MISMATCH.
import type { H2Response } from "../transport/h2client.ts";
import {
  announceEnabled,
  buildRiAnnouncementRequest,
  checkRiAnnouncementResponse,
  expectedPeerRiParams,
  localRiParams,
  RI_ANNOUNCE_PATH,
  RiAnnouncementMismatch,
} from "../n32f/announce.ts";
import { newMessageId } from "../n32f/engine.ts";
import { N32fError } from "../n32f/errors.ts";
import type { HttpMessage } from "../n32f/message.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { peerById } from "../config/peer-index.ts";

import {
  announcementBlockOf,
  ciphertextEmpty,
  counters,
  giveUp,
  metaDataOf,
  protectBlock,
  type RiAnnounceDeps,
} from "./ri-announce-block.ts";

const N32F_PROCESS = "/n32f-forward/v1/n32f-process";
/** An announcement answer is small (a policy and a few certificates): bounded well below the data path limit. */
const MAX_ANSWER_BYTES = 1 << 20;
/** waits between attempts to send the announcement when the N32-f path fails (then it is given up, logged) */
const RETRY_DELAYS_MS = [250, 1000, 3000];
/** after a POLICY_MISMATCH answer: how long the deactivated context waits for the peer's n32f-error about it */
const REPORT_GRACE_MS = 2000;

/** P6/P11: whether we announce to this peer (per-peer `announceToRi`, off by default). */
export { announceEnabled };

export type { RiAnnounceDeps };

export type RiAnnounceResult =
  | { result: "ok"; messageId: string }
  | { result: "mismatch"; messageId: string; policyMismatchList: Array<{ param: string; reason?: string }> }
  | { result: "refused"; messageId: string; status: number; cause?: string }
  | { result: "failed"; messageId: string; detail: string }
  | { result: "skipped"; reason: string };

/** Initiator side: sends the announcement after a PRINS context we initiated becomes active. */
export class RiAnnouncer {
  readonly #d: RiAnnounceDeps;
  readonly #m;
  readonly #pending = new Set<Promise<unknown>>();
  /** pending retry waits: timer → its resolve, so stop() ends them (the announcement then sees #stopped) */
  readonly #timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  #stopped = false;

  constructor(d: RiAnnounceDeps) {
    this.#d = d;
    this.#m = counters(d.metrics);
  }

  /** Listener for n32c "context-active"; fire-and-forget (the outcome is logged and counted). */
  onContextActive(e: {
    peerId: string;
    capability: "PRINS" | "TLS";
    role: "initiator" | "responder";
    localContextId?: string;
  }): void {
    if (e.capability !== "PRINS" || e.role !== "initiator" || !e.localContextId) return;
    const p = this.announce(e.peerId, e.localContextId).catch((err) =>
      this.#d.log.error("RI announcement failed", { peer: e.peerId, error: err }),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Announcements in flight (for an orderly stop and leak checks). */
  inflight(): number {
    return this.#pending.size;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const [t, resolve] of this.#timers) {
      disarmTimer(t);
      this.#timers.delete(t);
      resolve();
    }
    await Promise.allSettled([...this.#pending]);
  }

  /** A bounded wait that stop() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = armTimer(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.set(t, resolve);
    });
  }

  /** Send the P6 announcement on the context `localContextId` of `peerId` and check the answer. */
  async announce(peerId: string, localContextId: string): Promise<RiAnnounceResult> {
    const d = this.#d;
    const cfg = d.config();
    const peer = peerById(cfg, peerId);
    const ctx = d.contexts.get(localContextId);
    if (!peer) return { result: "skipped", reason: "unknown peer" };
    if (!announceEnabled(peer)) return { result: "skipped", reason: "announceToRi off" };
    if (ctx?.state !== "active") return { result: "skipped", reason: "context not active" };
    const messageId = newMessageId();
    const req = buildRiAnnouncementRequest({
      metaData: metaDataOf(ctx, messageId),
      responderN32Fqdn: peer.n32Fqdn,
      params: localRiParams(ctx),
    });
    const count = (result: string) => this.#m.sent.inc({ peer: peer.id, role: "sent", result });
    let rsp: H2Response;
    // the N32-f path may still be coming up when the context becomes active: a few bounded attempts, each a
    // fresh JWE (new SEQ) of the same block and messageId
    for (let attempt = 1; ; attempt++) {
      try {
        rsp = await d.peerClients.request(peer, "POST", N32F_PROCESS, {
          headers: { "content-type": "application/json" },
          body: protectBlock(ctx, "request", req),
          timeoutMs: cfg.sbi.requestTimeoutMs,
          maxBodyBytes: MAX_ANSWER_BYTES,
        });
        break;
      } catch (e) {
        const last = attempt >= RETRY_DELAYS_MS.length + 1 || this.#stopped;
        d.log.warn("RI announcement could not be sent (P6)", {
          peer: peer.id,
          messageId,
          attempt,
          error: String(e),
          retry: !last,
        });
        if (!last) await this.#sleep(RETRY_DELAYS_MS[attempt - 1]!);
        if (last || this.#stopped || ctx.state !== "active") {
          count("failed");
          return { result: "failed", messageId, detail: String(e) };
        }
      }
    }
    if (rsp.status !== 200) {
      let cause: string | undefined;
      try {
        const p = JSON.parse(rsp.text()) as { cause?: unknown };
        if (typeof p?.cause === "string") cause = p.cause.slice(0, 64);
      } catch {
        /* not JSON */
      }
      count("refused");
      this.#m.mismatches.inc({ type: cause === "POLICY_MISMATCH" ? cause : "OTHER", side: "reported" });
      // P11: an error answer is logged and counted; only a POLICY_MISMATCH (from a peer configured for P6, as
      // every peer we announce to is) deactivates the context, and only with onPolicyMismatch: reject
      const drop = cause === "POLICY_MISMATCH" && peer.profile.onPolicyMismatch === "reject";
      d.log.warn("RI announcement refused by the peer (P6)", {
        peer: peer.id,
        messageId,
        status: rsp.status,
        cause,
        reaction: drop ? "context deactivated" : "none",
      });
      if (drop) {
        // no more traffic on it now; wiped after a short grace unless the peer's n32f-error (sent with the
        // answer) wipes it first, so that report still finds the context it names
        ctx.deactivate();
        const t = armTimer(() => {
          this.#timers.delete(t);
          d.n32c.dropContext?.(ctx.peerId, ctx.localContextId);
        }, REPORT_GRACE_MS);
        this.#timers.set(t, () => {});
      }
      return { result: "refused", messageId, status: rsp.status, cause };
    }
    let body: unknown;
    let message: HttpMessage;
    try {
      try {
        body = JSON.parse(rsp.text());
      } catch {
        throw new N32fError("MESSAGE_RECONSTRUCTION_FAILED", "announcement answer is not JSON", {
          failureReason: "INVALID_JSON_POINTER",
          messageId,
        });
      }
      message = d.prins.openResponse(ctx, body, { method: "POST", path: RI_ANNOUNCE_PATH, messageId });
    } catch (e) {
      if (!(e instanceof N32fError)) throw e;
      count("failed");
      this.#m.mismatches.inc({ type: e.errorType, side: "detected" });
      d.log.warn("RI announcement answer refused (P6)", {
        peer: peer.id,
        messageId,
        type: e.errorType,
        detail: e.message,
      });
      d.n32c
        .reportError(peer.id, {
          type: e.errorType,
          receiverContextId: ctx.peerContextId,
          messageId,
          failedModificationList: e.failedModificationList,
        })
        .catch((err) =>
          d.log.every(`ri-announce-report-${peer.id}`, 10_000, "warn", "n32f-error could not be sent", {
            peer: peer.id,
            error: String(err),
          }),
        );
      return { result: "failed", messageId, detail: `${e.errorType}: ${e.message}` };
    }
    const block = announcementBlockOf(message, {
      n32fContextId: ctx.localContextId,
      messageId,
      authorizedIpxId: "NULL",
    });
    let list: Array<{ param: string; reason?: string }> = [];
    try {
      checkRiAnnouncementResponse(block, { params: expectedPeerRiParams(ctx) });
    } catch (e) {
      if (!(e instanceof RiAnnouncementMismatch)) throw e;
      list = e.policyMismatchList;
    }
    if (!ciphertextEmpty(body))
      list.push({ param: "/ciphertext", reason: "encrypted content in the announcement answer" });
    if (list.length === 0) {
      count("ok");
      d.log.info("RI-relevant parameters announced over N32-f; the peer's answer matches N32-c (P6)", {
        peer: peer.id,
        localContextId,
        messageId,
      });
      return { result: "ok", messageId };
    }
    count("mismatch");
    this.#m.mismatches.inc({ type: "POLICY_MISMATCH", side: "detected" });
    d.log.warn("the peer's RI-relevant parameters over N32-f differ from N32-c (P6)", {
      peer: peer.id,
      messageId,
      policyMismatchList: list,
      reaction: peer.profile.onPolicyMismatch,
    });
    d.n32c
      .reportError(peer.id, {
        type: "POLICY_MISMATCH",
        receiverContextId: ctx.peerContextId,
        messageId,
        policyMismatchList: list,
      })
      .catch((err) =>
        d.log.every(`ri-announce-report-${peer.id}`, 10_000, "warn", "n32f-error could not be sent", {
          peer: peer.id,
          error: String(err),
        }),
      );
    if (peer.profile.onPolicyMismatch === "reject") giveUp(d.n32c, ctx);
    return { result: "mismatch", messageId, policyMismatchList: list };
  }
}
