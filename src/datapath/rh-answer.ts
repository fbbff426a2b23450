// src/datapath/rh-answer.ts — an error originated by a Roaming Hub (or other Roaming Intermediary) in place of
// the peer's answer to our n32f-process request (TS 33.501 5.9.3.2, 13.2.4.5.2a, 13.2.4.7; N32-DIGEST §3.7
// step 1, §4.5). The shape is recognised and verified by src/n32f/rh-error.ts (pure); this module applies it to
// the cSEPP's pending request: the error must name the message we sent (messageId, the peer's context ID), be
// signed last by the RI adjacent to us on this association (our authorized RI), and bind to our JWE tag when it
// carries one. A verified error reaches the NF as the RH wrote it (or 502 when it gave no status line); one that
// does not verify is never believed (502, logged). Nothing is reported to the peer SEPP: it did not send it.
import type { AsciiText } from "../ascii-text.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../metrics.ts";
import type { N32fContext } from "../n32f/context.ts";
import { N32fError } from "../n32f/errors.ts";
import { readRhError, verifyRhError } from "../n32f/rh-error.ts";
import { riKeysOf, type RiTrust } from "../n32f/ri-keys.ts";
import { problem } from "../problem.ts";
import { problemOut, type OutboundResponse } from "./http.ts";

export interface RhAnswerInput {
  /** the parsed answer body to our n32f-process request */
  body: unknown;
  ctx: N32fContext;
  peerId: string;
  /** metaData.messageId of the request we sent */
  messageId: string;
  /** the request body we sent (its JWE tag binds the RH's Modifications when they carry one) */
  sentBody: string | AsciiText;
  trust: RiTrust;
  log: Logger;
  metrics: Registry;
  now?: number;
}

/** null when the answer is not an RH-originated error; else what the NF gets. */
export function rhErrorAnswer(i: RhAnswerInput): OutboundResponse | null {
  const candidate = readRhError(i.body);
  if (!candidate) return null;
  const m = i.metrics.counter(
    "sepp_rh_errors_total",
    "Errors originated by a Roaming Hub/Intermediary in place of the peer's answer, by peer and result (accepted|refused)",
  );
  const refuse = (detail: string, type?: string) => {
    m.inc({ peer: i.peerId, result: "refused" });
    i.log.every(`rh-error-refused-${i.peerId}`, 5000, "warn", "RH-originated error refused", {
      peer: i.peerId,
      messageId: i.messageId,
      type,
      detail,
    });
    return problemOut(
      problem(502, "UNSPECIFIED_NF_FAILURE", "an unverifiable error arrived in place of the peer's answer"),
    );
  };
  const md = candidate.metaData;
  if (md.messageId !== i.messageId) return refuse("the error names another N32-f message");
  if (md.n32fContextId.toLowerCase() !== i.ctx.peerContextId.toLowerCase())
    return refuse("the error names another N32-f context");
  const adjacent = i.ctx.association.authorizedIpxId ?? i.ctx.association.ownRis[0]?.ipxProviderId;
  if (!adjacent) return refuse("no Roaming Intermediary on this association");
  let sentTag: string | undefined;
  try {
    const t = (JSON.parse(i.sentBody.toString()) as { reformattedData?: { tag?: unknown } }).reformattedData?.tag;
    if (typeof t === "string") sentTag = t;
  } catch {
    /* our own body: always JSON */
  }
  let rh: ReturnType<typeof verifyRhError>;
  try {
    rh = verifyRhError({
      candidate,
      riKeys: riKeysOf(i.ctx.association, i.trust),
      adjacentRhId: adjacent,
      failedJweTag: sentTag,
      now: i.now,
    });
  } catch (e) {
    if (!(e instanceof N32fError)) throw e;
    return refuse(e.message, e.errorType);
  }
  m.inc({ peer: i.peerId, result: "accepted" });
  // a line a second per peer at most: an intermediary (or a peer through it) repeating errors would write one per
  // message; sepp_rh_errors_total counts every one
  i.log.every(`rh-error-accepted-${i.peerId}`, 1000, "warn", "RH-originated error in place of the peer's answer", {
    peer: i.peerId,
    messageId: i.messageId,
    rh: rh.adjacentRh,
    signers: rh.signers,
    status: rh.response?.status,
  });
  if (!rh.response || rh.response.status === undefined)
    return problemOut(
      problem(502, "UNSPECIFIED_NF_FAILURE", `roaming intermediary ${rh.adjacentRh} reported an error`),
    );
  return { status: rh.response.status, headers: rh.response.headers, body: rh.response.body };
}
