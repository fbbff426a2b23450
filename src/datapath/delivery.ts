// src/datapath/delivery.ts — the pSEPP delivering a verified PRINS request to our producer (TS 33.501 13.2.4.7,
// 13.1.1.1; TS 33.517 4.2.2.4; N32-PROFILE P8, P10, P11): the originating network and the access token's consumer
// PLMN must be the context's peer's (a mismatch: 403 PLMN_ID_MISMATCH and n32f-error), border screening (GSMA
// FS.36), the peer's egress allow-list (never an open relay; the resolved address is checked too), callback URIs
// to telescopic FQDNs, then h2c/TLS to the producer. Whatever the producer answers — or the ProblemDetails that
// stands for a refusal here — goes back to the partner's NF inside the protected response (P10), under the
// request's messageId.
import type { PeerConfig } from "../config/schema/peers.ts";
import type { N32fContext } from "../n32f/context.ts";
import type { HttpMessage } from "../n32f/message.ts";
import { ReformatError } from "../n32f/errors.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import { refusalMessage, type Screening } from "../screening/screening.ts";
import { ORIGINATING_NETWORK_ID } from "../sbi/origin.ts";
import { TelescopicError } from "../sbi/telescopic-store.ts";
import type { CancelSignal } from "../transport/h2client.ts";
import { rewriteCallbacks } from "./callback-rewrite.ts";
import { samePlmn } from "../model/plmn.ts";
import { egressOf, reportN32fError, type DataPathMetrics, type HandlerDeps } from "./deps.ts";
import { endToEnd, headerOf, headersOf, type OutboundResponse } from "./http.ts";
import { mismatchForwarding, originAtReceiver, tokenConsumerPlmn } from "./plmn-checks.ts";
import { notUnreachable, UpstreamError } from "./upstream.ts";

/** The header that names the target in TLS mode; never sent on to a producer. */
export const DROP_TARGET_API_ROOT: ReadonlySet<string> = new Set(["3gpp-sbi-target-apiroot"]);

export class ProducerDelivery {
  constructor(
    private readonly d: HandlerDeps,
    private readonly m: DataPathMetrics,
    private readonly screening: Screening,
  ) {}

  /**
   * TS 33.501 13.2.4.7, TS 33.517 4.2.2.4 (P11, replacing P10's "no n32f-error"): a serving PLMN mismatch is also
   * signalled on N32-c with the message's messageId and the context (P7: the n32fContextId of an n32f-error is its
   * receiver's own ID, which is how the peer finds the context).
   */
  #reportMismatch(ctx: N32fContext, peer: PeerConfig, messageId: string): void {
    reportN32fError(this.d, peer.id, { type: "PLMN_ID_MISMATCH", receiverContextId: ctx.peerContextId, messageId });
  }

  /**
   * A security event's log line, at most `screening.securityEventsPerSecond` a second per peer and kind, as the
   * screening's own (a sender repeating the fault would otherwise write a line per message); every event is counted
   * in sepp_n32f_errors_total whether its line is written or not.
   */
  #securityEvent(peer: PeerConfig, kind: string, msg: string, fields: Record<string, unknown>): void {
    const perSecond = this.d.config().screening.securityEventsPerSecond;
    this.d.log.every(`security:${kind}:${peer.id}`, 1000 / perSecond, "warn", msg, { category: "security", ...fields });
  }

  /** Checks, delivery to the producer and the protected answer. */
  async deliver(
    ctx: N32fContext,
    peer: PeerConfig,
    msg: HttpMessage,
    messageId: string,
    signal: CancelSignal,
  ): Promise<{ response: OutboundResponse; outcome: string }> {
    const cfg = this.d.config();
    const req = {
      method: msg.method!,
      path: msg.path!,
      messageId,
      callbackType: headerOf(msg.headers, "3gpp-sbi-callback"),
    };
    const answer = (m: HttpMessage, outcome: string) => {
      try {
        return {
          response: {
            status: 200,
            headers: [["content-type", "application/json"]] as Array<[string, string]>,
            body: this.d.prins.protectResponsePieces(ctx, m, req),
          },
          outcome,
        };
      } catch (e) {
        if (e instanceof ReformatError) {
          // the producer's response cannot be carried: tell the NF through the normal path (P10)
          return {
            response: {
              status: 200,
              headers: [["content-type", "application/json"]] as Array<[string, string]>,
              body: this.d.prins.protectResponsePieces(
                ctx,
                problemMessage(e.status === 415 ? 415 : 400, e.problemCause, e.message),
                req,
              ),
            },
            outcome: "unreformattable-response",
          };
        }
        throw e;
      }
    };
    // TS 33.517 4.2.2.4: PLMN IDs in the message must be the peer's (N32-f context remote PLMNs).
    const origin = originAtReceiver(
      headersOf(msg.headers, ORIGINATING_NETWORK_ID),
      ctx.association.remotePlmnIds.length ? ctx.association.remotePlmnIds : peer.plmnIds,
    );
    if (origin.action === "reject") {
      this.m.n32fErrors.inc({ type: "PLMN_ID_MISMATCH", side: "detected" });
      this.#securityEvent(peer, "origin", "PLMN ID mismatch in 3gpp-Sbi-Originating-Network-Id", {
        peer: peer.id,
        messageId,
        detail: origin.detail,
      });
      this.#reportMismatch(ctx, peer, messageId);
      return { response: mismatchForwarding(origin.detail), outcome: "plmn-mismatch" };
    }
    if (origin.warning)
      this.d.log.every(`origin-missing-${peer.id}`, 10_000, "warn", origin.warning, { peer: peer.id });
    const consumer = tokenConsumerPlmn(headerOf(msg.headers, "authorization"));
    const remote = ctx.association.remotePlmnIds.length ? ctx.association.remotePlmnIds : peer.plmnIds;
    if (consumer === "malformed" || (consumer && !remote.some((p) => samePlmn(p, consumer)))) {
      this.m.n32fErrors.inc({ type: "PLMN_ID_MISMATCH", side: "detected" });
      this.#securityEvent(peer, "token", "access token consumer PLMN is not the peer's", { peer: peer.id, messageId });
      this.#reportMismatch(ctx, peer, messageId);
      return {
        response: mismatchForwarding("the access token's consumer PLMN is not the sending peer's"),
        outcome: "plmn-mismatch",
      };
    }
    // border screening (GSMA FS.36; src/screening/): refusals go back inside the protected answer (P10)
    const screened = this.screening.inbound({ ...msg, peer, remotePlmnIds: remote, messageId });
    if (!screened.ok) return answer(refusalMessage(screened.refusal), "screened");
    // egress allow-list
    const url = { scheme: msg.scheme ?? "https", host: hostOf(msg.authority ?? ""), port: portOf(msg.authority ?? "") };
    const decision = egressOf(peer).check({
      scheme: url.scheme,
      host: url.host,
      port: url.port,
      path: msg.path ?? "/",
    });
    if (!decision.ok) {
      this.d.log.every(`egress-${peer.id}-${decision.reason}`, 5000, "warn", "target outside the egress allow-list", {
        peer: peer.id,
        reason: decision.reason,
        detail: decision.detail,
      });
      return answer(
        problemMessage(403, "TARGET_NOT_ALLOWED", `target not allowed: ${decision.detail}`),
        "target-not-allowed",
      );
    }
    // topology hiding: URIs in the partner's request that its NFs will be called back on (TS 33.501 13.1.1.1)
    let body = msg.body;
    try {
      body = rewriteCallbacks(this.d, msg.method!, msg.path!, headerOf(msg.headers, "content-type"), peer, body);
    } catch (e) {
      if (!(e instanceof TelescopicError)) throw e;
      return answer(problemMessage(e.status, e.problemCause, e.message), "refused");
    }
    const headers = endToEnd(msg.headers, DROP_TARGET_API_ROOT);
    let up: Awaited<ReturnType<typeof this.d.producers.request>>;
    try {
      up = await this.d.producers.request(
        {
          scheme: url.scheme as "http" | "https",
          host: url.host,
          port: url.port ?? (url.scheme === "https" ? 443 : 80),
        },
        (addr) => egressOf(peer).checkResolvedAddress(addr),
        {
          method: msg.method!,
          path: decision.path + (msg.query !== undefined ? `?${msg.query}` : ""),
          authority: msg.authority!,
          headers,
          body,
          timeoutMs: cfg.sbi.requestTimeoutMs,
          maxBodyBytes: cfg.sbi.maxBodyBytes,
          signal,
        },
      );
    } catch (e) {
      if (e instanceof UpstreamError && e.kind === "refused-address")
        return answer(
          problemMessage(403, "TARGET_NOT_ALLOWED", `target not allowed: ${e.message}`),
          "target-not-allowed",
        );
      if (e instanceof UpstreamError && e.kind === "cancelled")
        return { response: { status: 499, headers: [] }, outcome: "cancelled" };
      const not = notUnreachable(e, "the target NF");
      if (not) return answer(problemMessage(not.status, not.cause, not.detail), not.outcome);
      this.d.log.every(`producer-${peer.id}`, 5000, "warn", "producer not reachable", {
        peer: peer.id,
        error: (e as Error).message,
      });
      return answer(
        problemMessage(504, "TARGET_NF_NOT_REACHABLE", "the target NF did not answer"),
        "producer-unreachable",
      );
    }
    this.screening.answered(screened.ticket, up.status, up.headers, up.body);
    return answer({ kind: "response", status: up.status, headers: endToEnd(up.headers), body: up.body }, "ok");
  }
}

/** A ProblemDetails answer carried back to the NF inside the protected response (P10). */
function problemMessage(status: number, cause: string, detail: string): HttpMessage {
  return {
    kind: "response",
    status,
    headers: [["content-type", PROBLEM_JSON]],
    body: Buffer.from(JSON.stringify(problem(status, cause, detail))),
  };
}

function hostOf(authority: string): string {
  if (authority.startsWith("[")) return authority.slice(1, authority.indexOf("]"));
  const i = authority.lastIndexOf(":");
  return (i >= 0 ? authority.slice(0, i) : authority).toLowerCase();
}

function portOf(authority: string): number | null {
  const m = /:(\d{1,5})$/.exec(authority);
  return m ? Number(m[1]) : null;
}
