// src/n32c/ops/n32f-terminate.ts — the responder's n32f-terminate (TS 29.573 5.2.4; N32-PROFILE P7, P10): the
// request names our own context ID; the answer carries the requester's own ID for the same context.
import type { N32fContextInfo } from "../../model/n32.ts";
import * as msg from "../messages.ts";
import type { OperationHandler } from "./kit.ts";

const OP = "n32f-terminate";

export const n32fTerminate: OperationHandler<N32fContextInfo> = (kit, b, id) => {
  const core = kit.core;
  const peer = id.peer;
  if (!peer) return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "client certificate names no configured peer");
  const ctx = core.deps.contexts.get(b.n32fContextId);
  if (!ctx || ctx.peerId !== peer.id)
    return kit.fail(OP, 404, "CONTEXT_NOT_FOUND", "unknown n32fContextId", [{ param: "/n32fContextId" }], peer.id);
  const requesterId = ctx.peerContextId;
  core.dropContext(peer.id, ctx.localContextId, "peer");
  core.status(peer.id).counters.terminationsReceived++;
  core.log.info("N32-f context terminated by the peer", { peer: peer.id, localContextId: ctx.localContextId });
  return kit.send(OP, 200, "N32fContextInfo", msg.n32fContextInfo(requesterId));
};
