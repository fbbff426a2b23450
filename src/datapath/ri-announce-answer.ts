// src/datapath/ri-announce-answer.ts — the responder side of the P6 announcement (TS 33.501 13.2.2.2, last
// paragraph; N32-PROFILE P6, P10), called by the pSEPP on a verified request BEFORE any forwarding: the
// announcement checked against what the initiator sent on N32-c; 200 with our own values, or 403 POLICY_MISMATCH
// (reported with n32f-error; with onPolicyMismatch: reject the context is given up).
import type { PeerConfig } from "../config/schema/peers.ts";
import type { ProblemDetailsMsgForwarding } from "../model/n32.ts";
import {
  buildRiAnnouncementResponse,
  checkRiAnnouncementRequest,
  expectedPeerRiParams,
  localRiParams,
  RI_ANNOUNCE_PATH,
  RiAnnouncementMismatch,
} from "../n32f/announce.ts";
import type { N32fContext } from "../n32f/context.ts";
import type { HttpMessage } from "../n32f/message.ts";
import { PROBLEM_JSON } from "../problem.ts";
import type { OutboundResponse } from "./http.ts";

import {
  announcementBlockOf,
  ciphertextEmpty,
  counters,
  giveUp,
  metaDataOf,
  protectBlock,
  type RiAnnounceDeps,
} from "./ri-announce-block.ts";

/** Whether a verified, reconstructed request is the P6 announcement (the SEPP handles it itself, never forwards it). */
export function isRiAnnouncement(m: HttpMessage): boolean {
  return m.kind === "request" && m.method === "POST" && m.path === RI_ANNOUNCE_PATH;
}

/** Responder side: the pSEPP found a verified P6 announcement on `ctx` (from `peer`). Never forwarded. */
export function answerRiAnnouncement(
  d: Pick<RiAnnounceDeps, "config" | "log" | "metrics" | "n32c">,
  p: { ctx: N32fContext; peer: PeerConfig; message: HttpMessage; messageId: string; rawBody: unknown },
): OutboundResponse {
  const { ctx, peer, message, messageId } = p;
  const m = counters(d.metrics);
  const cfg = d.config();
  const block = announcementBlockOf(message, {
    n32fContextId: ctx.localContextId,
    messageId,
    authorizedIpxId: ctx.association.authorizedIpxId ?? "NULL",
  });
  try {
    const extra = ciphertextEmpty(p.rawBody)
      ? []
      : [{ param: "/ciphertext", reason: "encrypted content in the announcement" }];
    try {
      checkRiAnnouncementRequest(block, { ownN32Fqdn: cfg.identity.n32Fqdn, params: expectedPeerRiParams(ctx) });
    } catch (e) {
      if (e instanceof RiAnnouncementMismatch)
        throw new RiAnnouncementMismatch([...e.policyMismatchList, ...extra], { messageId });
      throw e;
    }
    if (extra.length) throw new RiAnnouncementMismatch(extra, { messageId });
  } catch (e) {
    if (!(e instanceof RiAnnouncementMismatch)) throw e;
    m.sent.inc({ peer: peer.id, role: "received", result: "mismatch" });
    m.mismatches.inc({ type: "POLICY_MISMATCH", side: "detected" });
    const reject = peer.profile.onPolicyMismatch === "reject";
    d.log.warn("RI-relevant parameters announced over N32-f differ from N32-c (P6)", {
      peer: peer.id,
      messageId,
      policyMismatchList: e.policyMismatchList,
      reaction: peer.profile.onPolicyMismatch,
    });
    const receiverContextId = ctx.peerContextId;
    d.n32c
      .reportError(peer.id, {
        type: "POLICY_MISMATCH",
        receiverContextId,
        messageId,
        policyMismatchList: e.policyMismatchList,
      })
      .catch((err) =>
        d.log.every(`ri-announce-report-${peer.id}`, 10_000, "warn", "n32f-error could not be sent", {
          peer: peer.id,
          error: String(err),
        }),
      );
    if (reject) giveUp(d.n32c, ctx);
    const body: ProblemDetailsMsgForwarding = e.toProblem();
    return { status: 403, headers: [["content-type", PROBLEM_JSON]], body: JSON.stringify(body) };
  }
  m.sent.inc({ peer: peer.id, role: "received", result: "ok" });
  d.log.info("RI-relevant parameters received over N32-f and checked (P6)", {
    peer: peer.id,
    localContextId: ctx.localContextId,
    messageId,
  });
  const rsp = buildRiAnnouncementResponse({ metaData: metaDataOf(ctx, messageId), params: localRiParams(ctx) });
  return { status: 200, headers: [["content-type", "application/json"]], body: protectBlock(ctx, "response", rsp) };
}
