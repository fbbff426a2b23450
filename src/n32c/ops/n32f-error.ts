// src/n32c/ops/n32f-error.ts — the responder's n32f-error (TS 29.573 5.2.5, TS 33.501 13.2.2.3; N32-PROFILE
// P7, P10): a report about one of our contexts (or our handshake in progress); POLICY_MISMATCH drops it.
import type { N32fErrorInfo } from "../../model/n32.ts";
import { announceEnabled } from "../../n32f/announce.ts";
import type { OperationHandler } from "./kit.ts";

const OP = "n32f-error";

/** N32fErrorType values of TS 29.573 (the type itself is an extensible string). */
const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set([
  "INTEGRITY_CHECK_FAILED",
  "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
  "MODIFICATIONS_INSTRUCTIONS_FAILED",
  "DECIPHERING_FAILED",
  "MESSAGE_RECONSTRUCTION_FAILED",
  "CONTEXT_NOT_FOUND",
  "INTEGRITY_KEY_EXPIRED",
  "ENCRYPTION_KEY_EXPIRED",
  "POLICY_MISMATCH",
]);

export const n32fError: OperationHandler<N32fErrorInfo> = (kit, b, id) => {
  const core = kit.core;
  const peer = id.peer;
  if (!peer) return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "client certificate names no configured peer");
  let ctxId: string | undefined;
  if (b.n32fContextId !== undefined) {
    // P7: the ID is ours; P11's PLMN-mismatch bullet can be read as the sender's own ID: accepted too, but only
    // as the ID that this same peer gave for one of its contexts with us (never another peer's context)
    const wanted = b.n32fContextId.toLowerCase();
    const ctx =
      core.deps.contexts.get(b.n32fContextId) ??
      core.deps.contexts.list().find((c) => c.peerId === peer.id && c.peerContextId.toLowerCase() === wanted);
    const pending = core.initiatorPending.get(b.n32fContextId.toLowerCase());
    if (ctx && ctx.peerId === peer.id) ctxId = ctx.localContextId;
    else if (pending && pending.peerId === peer.id) {
      if (b.n32fErrorType === "POLICY_MISMATCH") pending.rejected = b.policyMismatchList ?? [];
    } else
      return kit.fail(OP, 404, "CONTEXT_NOT_FOUND", "unknown n32fContextId", [{ param: "/n32fContextId" }], peer.id);
  }
  core.status(peer.id).counters.errorsReceived++;
  // the type is an extensible string: an unknown one counts as "OTHER", never as a metric label of its own
  const type = KNOWN_ERROR_TYPES.has(b.n32fErrorType) ? b.n32fErrorType : "OTHER";
  core.log.every(`n32f-error-rx:${peer.id}:${type}`, 10_000, "warn", "n32f-error received", {
    peer: peer.id,
    n32fErrorType: b.n32fErrorType.slice(0, 64),
    n32fMessageId: b.n32fMessageId.slice(0, 32),
    n32fContextId: b.n32fContextId,
  });
  // the status shows what the peer reported (GET /v1/peers/{id}/n32 lastError). The reaction to CONTEXT_NOT_FOUND /
  // ENCRYPTION_KEY_EXPIRED about our current context (a new handshake, rate-limited) is the service's.
  if (type !== "POLICY_MISMATCH")
    core.recordError(
      peer.id,
      type,
      `the peer reported ${JSON.stringify(b.n32fErrorType.slice(0, 64))} (n32f-error) for context ${b.n32fContextId ?? "-"}, message ${b.n32fMessageId.slice(0, 32)}`,
    );
  if (b.n32fErrorType === "POLICY_MISMATCH") {
    core.recordError(peer.id, "POLICY_MISMATCH", "the peer reported a protection policy mismatch");
    if (ctxId) {
      // during a parameter exchange: the N32-c policy round was rejected (P7). About an established context it can
      // only be about the P6 announcement, which deactivates it only for a peer configured for P6 (P11)
      let negotiating = false;
      for (const n of kit.negotiations.values())
        if (n.localId === ctxId) {
          n.rejected = true;
          negotiating = true;
        }
      if (negotiating || (announceEnabled(peer) && peer.profile.onPolicyMismatch === "reject"))
        core.dropContext(peer.id, ctxId, "policy-mismatch", "failed");
      else
        core.log.warn("POLICY_MISMATCH about an established context from a peer not configured for P6: kept", {
          peer: peer.id,
          localContextId: ctxId,
        });
    }
  }
  core.emit("error-report", { peerId: peer.id, info: b });
  return kit.send(OP, 204, null, null);
};
