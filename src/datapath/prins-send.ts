// src/datapath/prins-send.ts — the cSEPP sending our NF's request under PRINS (TS 33.501 13.2.4.1–13.2.4.4,
// 13.2.4.7; TS 29.573 6.2; N32-PROFILE P1, P3, P8, P11): the request becomes an HttpMessage with the target apiRoot
// in its requestLine, the engine protects it on the peer's active context (a message it cannot carry: the
// ReformatError's ProblemDetails; our context or its keys unusable: 503), it is POSTed to n32f-process on the
// peer's N32-f pool (n32f-clients.ts, next hops by n32f-hops.ts, P11), and the answer is verified (openResponse; a failure is 502 and
// an n32f-error to the peer) or, for a Roaming-Hub-originated error, handled by rh-answer.ts. A peer that lost our
// context gets a new N32-c handshake (N32cService.renegotiate: one per-peer throttle with the n32f-error path).
import type { AsciiText } from "../ascii-text.ts";
import { parseN32fBody } from "../n32f/frame.ts";
import type { H2Response } from "../transport/h2client.ts";
import { AeadKeyError } from "../../hw/aead.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { HttpMethod } from "../model/n32.ts";
import { N32fError, ReformatError } from "../n32f/errors.ts";
import type { HttpMessage } from "../n32f/message.ts";
import { problem } from "../problem.ts";
import { ORIGINATING_NETWORK_ID } from "../sbi/origin.ts";
import type { ResolvedTarget } from "../sbi/target.ts";
import { reportN32fError, type DataPathMetrics, type HandlerDeps } from "./deps.ts";
import { endToEnd, headerOf, problemOut, splitPath, type InboundRequest, type OutboundResponse } from "./http.ts";
import {
  decodedAad,
  forwardingRefusal,
  logN32fFailure,
  nfResponse,
  responseWait,
  upstreamProblem,
} from "./peer-answer.ts";
import { rhErrorAnswer } from "./rh-answer.ts";
import { n32HeaderListProblem } from "../sbi/limits.ts";
import { UpstreamError } from "./upstream.ts";

const N32F_PROCESS = "/n32f-forward/v1/n32f-process";
const DROP_ON_PRINS: ReadonlySet<string> = new Set(["3gpp-sbi-target-apiroot", ORIGINATING_NETWORK_ID]);

export class PrinsSend {
  constructor(
    private readonly d: HandlerDeps,
    private readonly m: DataPathMetrics,
  ) {}

  async send(
    req: InboundRequest,
    target: ResolvedTarget,
    peer: PeerConfig,
    localContextId: string,
    originValue: string,
  ): Promise<OutboundResponse> {
    const cfg = this.d.config();
    const ctx = this.d.contexts.get(localContextId);
    if (ctx?.state !== "active")
      return problemOut(problem(503, "SERVICE_UNAVAILABLE", "N32-f context not active"), [["retry-after", "1"]]);
    const { path, query } = splitPath(req.path);
    const headers = endToEnd(req.headers, DROP_ON_PRINS);
    headers.push([ORIGINATING_NETWORK_ID, originValue]);
    // what the receiving SEPP would refuse is refused here, by the same definition, on the list it would get
    const unfit = n32HeaderListProblem(headers);
    if (unfit) return problemOut(unfit);
    const msg: HttpMessage = {
      kind: "request",
      method: req.method as HttpMethod,
      scheme: target.scheme,
      authority: target.authority,
      path: target.pathPrefix + path,
      query,
      headers,
      body: req.body,
    };
    let wire: { body: AsciiText; messageId: string };
    try {
      wire = this.d.prins.protectRequestPieces(ctx, msg); // sent in its pieces (ascii-text.ts)
    } catch (e) {
      if (e instanceof ReformatError) return problemOut(e.toProblem()); // the NF's message cannot be carried (P3)
      // the engine refused our own context (not active): not the NF's message, the peer's association is at fault
      if (e instanceof N32fError) return problemOut(problem(503, "SERVICE_UNAVAILABLE", e.message));
      // the AEAD token lost the session keys (it was removed and came back): a re-handshake is under way
      if (e instanceof AeadKeyError)
        return problemOut(problem(503, "SERVICE_UNAVAILABLE", "N32-f keys unavailable; re-negotiating"), [
          ["retry-after", "1"],
        ]);
      throw e;
    }
    if (this.d.log.enabled("debug")) {
      // The N32-f message as it crosses N32: the aad is clear by design (encrypted IEs are encBlockIndex references).
      this.d.log.debug("N32-f request sent", {
        peer: peer.id,
        messageId: wire.messageId,
        aad: decodedAad(JSON.parse(wire.body.toString())),
      });
    }
    const wait = responseWait(req.headers, cfg.sbi.requestTimeoutMs);
    let rsp: H2Response;
    try {
      rsp = await this.d.peerClients.request(peer, "POST", N32F_PROCESS, {
        headers: { "content-type": "application/json" },
        body: wire.body,
        timeoutMs: wait.ms,
        maxBodyBytes: cfg.sbi.maxBodyBytes * 2 + 65536,
        signal: req.signal,
        compressible: true,
      });
    } catch (e) {
      logN32fFailure(this.d, peer, e);
      return upstreamProblem(e, "peer SEPP", wait.byNf);
    }
    // a stream that ended without a :status (reset in transit) is no answer at all
    if (!(rsp.status >= 200 && rsp.status <= 599))
      return upstreamProblem(new UpstreamError("reset", "no HTTP status"), "peer SEPP");
    if (rsp.status === 200) {
      let body: unknown;
      try {
        body = parseN32fBody(rsp.text()); // JSON.parse, without it for our own frame
      } catch {
        return problemOut(
          problem(502, "UNSPECIFIED_NF_FAILURE", "the peer SEPP answered with a body that is not JSON"),
        );
      }
      if (this.d.log.enabled("debug"))
        this.d.log.debug("N32-f response received", {
          peer: peer.id,
          messageId: wire.messageId,
          aad: decodedAad(body),
        });
      // an error originated by a Roaming Hub in place of the peer's answer (TS 33.501 13.2.4.7; rh-answer.ts)
      const rh = rhErrorAnswer({
        body,
        ctx,
        peerId: peer.id,
        messageId: wire.messageId,
        sentBody: wire.body,
        trust: this.d.trust(),
        log: this.d.log,
        metrics: this.d.metrics,
      });
      if (rh) return rh;
      let m: HttpMessage;
      try {
        m = this.d.prins.openResponse(ctx, body, {
          method: msg.method!,
          path: msg.path!,
          messageId: wire.messageId,
          callbackType: headerOf(headers, "3gpp-sbi-callback"),
        });
      } catch (e) {
        if (!(e instanceof N32fError)) throw e;
        this.m.n32fErrors.inc({ type: e.errorType, side: "detected" });
        this.d.log.every(`n32f-rsp-${peer.id}-${e.errorType}`, 5000, "warn", "N32-f response refused", {
          peer: peer.id,
          type: e.errorType,
          detail: e.message,
          messageId: wire.messageId,
        });
        reportN32fError(this.d, peer.id, {
          type: e.errorType,
          receiverContextId: ctx.peerContextId,
          messageId: e.messageId ?? wire.messageId,
        });
        return problemOut(
          problem(502, "UNSPECIFIED_NF_FAILURE", `the peer's N32-f response failed verification (${e.errorType})`),
        );
      }
      return nfResponse(this.d, m, msg, peer);
    }
    return forwardingRefusal(rsp, this.m, (cause) => this.d.n32c.renegotiate(peer.id, cause));
  }
}
