// src/datapath/n32f-process.ts — the pSEPP's N32-f receive pipeline for PRINS (TS 29.573 6.2, TS 33.501
// 13.2.4.7; N32-PROFILE P8, P10, P11): POST /n32f-forward/v1/n32f-process (OPTIONS: the content codings it
// accepts). The TLS client must be a configured peer (its TLS settings: TLS 1.2 only where allowed) or a listed
// RI (n32f-sender.ts); a gzip body is inflated under the same bound; the engine opens the message (context by
// n32fContextId, AEAD, replay window, RI modifications, reconstruction) and the context alone says which peer
// sent it; per-peer limits; the P6 RI announcement is answered here, everything else goes to delivery.ts. A
// message that cannot be processed: 403 ProblemDetailsMsgForwarding and n32f-error to the peer over N32-c. The
// AEAD engine having lost the context's keys (a PKCS#11 token removed and back, hw/aead.ts AeadKeyError) is no
// fault of the message: 503 with retry-after, so that the peer retries once the context is re-established.
import { parseN32fBody } from "../n32f/frame.ts";
import zlib from "node:zlib";
import { AeadKeyError } from "../../hw/aead.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import { jsonNestedDeeperThan } from "../json-depth.ts";
import type { N32fContext } from "../n32f/context.ts";
import { N32fError } from "../n32f/errors.ts";
import { receivedIds } from "../n32f/metadata.ts";
import { validateReceivedBlock } from "../openapi/validate.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import type { ProducerDelivery } from "./delivery.ts";
import { reportN32fError, type DataPathDeps, type DataPathMetrics } from "./deps.ts";
import {
  congestionResponse,
  headerOf,
  problemOut,
  type InboundRequest,
  type N32fConn,
  type OutboundResponse,
} from "./http.ts";
import { admissionRefused, n32fSenderOf, risOf } from "./n32f-sender.ts";
import { answerRiAnnouncement, isRiAnnouncement } from "./ri-announce-answer.ts";
import { asBuffer } from "../bytes.ts";
import { peerById } from "../config/peer-index.ts";

export const N32F_PROCESS_PATH = "/n32f-forward/v1/n32f-process";
/** The n32f-process body bound (octets; after inflation for a gzip body, P11): the NF body limit twice plus the JWE envelope. */
export const n32fProcessLimit = (cfg: SeppConfig): number => cfg.sbi.maxBodyBytes * 2 + 65536;
const JSON_CT = /^application\/json\s*(;|$)/i;

/** A block nests an NF body (at most 256 levels, reformat.ts) three levels down: payload[i].value */
const MAX_AAD_DEPTH = 260;

/**
 * The messageId and context ID of an n32f-process body whose aad decodes to a schema-valid block (P11: a message
 * refused before its aad is used is still reported with them); undefined otherwise.
 */
export function readableMetaData(body: unknown): { messageId: string; n32fContextId: string } | undefined {
  const aad = (body as { reformattedData?: { aad?: unknown } } | null)?.reformattedData?.aad;
  if (typeof aad !== "string" || aad.length > 4 * 1024 * 1024) return undefined;
  let block: unknown;
  try {
    const text = Buffer.from(aad, "base64url").toString("utf8");
    // unverified input: bound its nesting before parsing and before the (recursive) schema validator walks it
    if (jsonNestedDeeperThan(text, MAX_AAD_DEPTH)) return undefined;
    block = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (validateReceivedBlock("DataToIntegrityProtectBlock", block)) return undefined;
  // metaData is optional in the block's schema (TS 29.573 6.2.2): a valid block may name no message at all
  return receivedIds(block) ?? undefined;
}

/**
 * P11: a `content-encoding: gzip` n32f-process body, inflated under the same limit as a plain body, counted after
 * inflation. zlib stops at the bound (maxOutputLength), so a compression bomb costs at most `limit` octets of work.
 */
export function inflateBody(
  body: Uint8Array,
  encoding: string | undefined,
  limit: number,
): { ok: true; body: Uint8Array } | { ok: false; status: 400 | 413 | 415; detail: string } {
  const e = encoding?.trim().toLowerCase();
  if (!e || e === "identity") return { ok: true, body };
  if (e !== "gzip") return { ok: false, status: 415, detail: "content-encoding must be gzip or identity" };
  try {
    return { ok: true, body: zlib.gunzipSync(body, { maxOutputLength: limit }) };
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError)
      return { ok: false, status: 413, detail: `inflated body over ${limit} octets` };
    return { ok: false, status: 400, detail: "gzip body cannot be inflated" };
  }
}

export class N32fProcess {
  constructor(
    private readonly d: DataPathDeps,
    private readonly m: DataPathMetrics,
    private readonly delivery: ProducerDelivery,
  ) {}

  /** OPTIONS /n32f-forward/v1/n32f-process (P11): which content codings n32f-process accepts. */
  options(): OutboundResponse {
    return {
      status: 204,
      headers: [
        ["accept-encoding", "gzip, identity"],
        ["allow", "POST, OPTIONS"],
      ],
    };
  }

  /** POST /n32f-forward/v1/n32f-process */
  async handle(req: InboundRequest, conn: N32fConn): Promise<OutboundResponse> {
    const started = performance.now();
    const cfg = this.d.config();
    const sender = n32fSenderOf(conn, cfg, this.d);
    let outcome = "error";
    let peerId = sender?.kind === "peer" ? sender.peer.id : "unknown";
    try {
      if (req.method === "OPTIONS") {
        outcome = "options";
        return this.options();
      }
      if (req.method !== "POST")
        return problemOut(problem(405, "METHOD_NOT_ALLOWED", "n32f-process takes POST"), [["allow", "POST, OPTIONS"]]);
      if (!JSON_CT.test(headerOf(req.headers, "content-type") ?? ""))
        return problemOut(problem(415, "UNSUPPORTED_MEDIA_TYPE", "content-type must be application/json"));
      if (!sender) {
        outcome = "refused";
        admissionRefused(this.d, "n32f-process", conn, "neither a configured roaming partner nor a listed RI");
        return problemOut(
          problem(
            403,
            "NEGOTIATION_NOT_ALLOWED",
            "the TLS client is neither a configured roaming partner nor a listed RI",
          ),
        );
      }
      // P11: N32-f follows the peer's TLS settings (TLS 1.2 only with a peer that allows it)
      if (sender.kind === "peer" && conn.protocol === "TLSv1.2" && !sender.peer.profile.allowTls12) {
        outcome = "refused";
        return problemOut(problem(403, "NEGOTIATION_NOT_ALLOWED", "TLS 1.2 is not allowed with this peer"));
      }
      const inflated = inflateBody(req.body, headerOf(req.headers, "content-encoding"), n32fProcessLimit(cfg));
      if (!inflated.ok) {
        outcome = "refused";
        return problemOut(
          problem(
            inflated.status,
            inflated.status === 413
              ? "PAYLOAD_TOO_LARGE"
              : inflated.status === 415
                ? "UNSUPPORTED_MEDIA_TYPE"
                : "MANDATORY_IE_INCORRECT",
            inflated.detail,
          ),
        );
      }
      // a peer's connection is limited at once; an RI's once its context says which peer sent the message
      let permit = sender.kind === "peer" ? this.d.limits.acquire(sender.peer.id) : null;
      if (permit && !permit.ok) {
        outcome = "congested";
        return congestionResponse(permit);
      }
      let refusedFor: PeerConfig | null = sender.kind === "peer" ? sender.peer : null;
      try {
        const raw = inflated.body;
        let body: unknown;
        try {
          body = parseN32fBody(asBuffer(raw).toString("utf8")); // JSON.parse, without it for our own frame
        } catch {
          return problemOut(problem(400, "MANDATORY_IE_INCORRECT", "body is not JSON"));
        }
        let opened: ReturnType<typeof this.d.prins.openRequest>;
        let peer: PeerConfig;
        try {
          try {
            opened = this.d.prins.openRequest(body, this.d.contexts);
          } catch (e) {
            // a worker may not hold a context made a moment ago in the main thread: ask once, then open again
            if (!(await this.#heldNow(e))) throw e;
            opened = this.d.prins.openRequest(body, this.d.contexts);
          }
          // P11: which peer sent a PRINS message is decided by its N32-f context alone (the JWE authenticates it)
          const ctxPeer = peerById(cfg, opened.ctx.peerId);
          if (sender.kind === "peer" && opened.ctx.peerId !== sender.peer.id)
            throw new N32fError("CONTEXT_NOT_FOUND", "the N32-f context belongs to another peer", {
              messageId: opened.messageId,
            });
          if (!ctxPeer)
            throw new N32fError("CONTEXT_NOT_FOUND", "the N32-f context's peer is no longer configured", {
              messageId: opened.messageId,
            });
          peer = ctxPeer;
          refusedFor = peer;
          // P11: through an RI not listed for this context's peer, a message may be relayed but not modified
          if (sender.kind === "ri" && opened.modifications > 0 && !risOf(opened.ctx).includes(sender.ipxProviderId))
            throw new N32fError(
              "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
              `modified message relayed by RI ${sender.ipxProviderId}, which is not listed for this peer`,
              { messageId: opened.messageId, n32fContextId: opened.ctx.localContextId },
            );
        } catch (e) {
          if (!(e instanceof N32fError)) throw e;
          outcome = "n32f-error";
          return this.#refuse(e, refusedFor, null, body);
        }
        const { ctx, message, messageId } = opened;
        peerId = ctx.peerId;
        // the counterpart of the cSEPP's "N32-f request sent" (prins-send.ts); ids only, no content
        if (this.d.log.enabled("debug")) this.d.log.debug("N32-f request received", { peer: peerId, messageId });
        if (!permit) {
          permit = this.d.limits.acquire(peer.id);
          if (!permit.ok) {
            outcome = "congested";
            return congestionResponse(permit);
          }
        }
        // P6: the RI-relevant parameters are answered by the SEPP itself, before any check or forwarding
        if (isRiAnnouncement(message)) {
          outcome = "ri-announcement";
          return answerRiAnnouncement(this.d, { ctx, peer, message, messageId, rawBody: body });
        }
        const r = await this.delivery.deliver(ctx, peer, message, messageId, req.signal);
        outcome = r.outcome;
        return r.response;
      } catch (e) {
        // opening the request, or protecting the answer (also after the producer answered), needs the keys
        if (!(e instanceof AeadKeyError)) throw e;
        outcome = "keys-unavailable";
        return this.#keysLost(e, refusedFor?.id ?? "unknown");
      } finally {
        if (permit?.ok) permit.permit.release();
      }
    } finally {
      this.m.done(peerId, "prins", "inbound", outcome, (performance.now() - started) / 1000);
    }
  }

  /** The context's keys are gone from the AEAD engine: 503 + retry-after (the peer retries), logged at most every 5 s per peer. */
  #keysLost(e: AeadKeyError, peerId: string): OutboundResponse {
    this.d.log.every(
      `aead-keys-lost-${peerId}`,
      5000,
      "error",
      "N32-f keys unavailable in the AEAD engine; answering 503 until the context is re-established",
      {
        peer: peerId,
        detail: e.message.slice(0, 200),
      },
    );
    return problemOut(problem(503, "SERVICE_UNAVAILABLE", "N32-f keys unavailable; re-negotiating"), [
      ["retry-after", "1"],
    ]);
  }

  /** A worker's unknown context: true when the main thread handed it over (N32cView.awaitContext). */
  async #heldNow(e: unknown): Promise<boolean> {
    const id = e instanceof N32fError && e.errorType === "CONTEXT_NOT_FOUND" ? e.n32fContextId : undefined;
    if (!id || !this.d.n32c.awaitContext || this.d.contexts.get(id)) return false;
    return this.d.n32c.awaitContext(id);
  }

  /**
   * 403 ProblemDetailsMsgForwarding (P8) + n32f-error to the peer. The peer is the TLS client's, or the context's
   * (through an RI); none known (an unknown context through an RI): logged only (P10). A message refused before its
   * aad was used is still reported with its messageId and context when the aad decodes to a valid block (P11).
   */
  #refuse(e: N32fError, knownPeer: PeerConfig | null, ctx: N32fContext | null, body?: unknown): OutboundResponse {
    if (e.messageId === undefined && body !== undefined) {
      const md = readableMetaData(body);
      if (md) {
        e.messageId = md.messageId;
        e.n32fContextId ??= md.n32fContextId;
      }
    }
    const c = ctx ?? (e.n32fContextId ? this.d.contexts.get(e.n32fContextId) : undefined) ?? null;
    const peer = knownPeer ?? (c ? (peerById(this.d.config(), c.peerId) ?? null) : null);
    const peerId = peer?.id ?? "unknown";
    this.m.n32fErrors.inc({ type: e.errorType, side: "detected" });
    this.d.log.every(`n32f-refused-${peerId}-${e.errorType}`, 5000, "warn", "N32-f message refused", {
      peer: peerId,
      type: e.errorType,
      reason: e.failureReason,
      attribute: e.attribute,
      detail: e.message,
      messageId: e.messageId,
      n32fContextId: e.n32fContextId,
    });
    if (peer) {
      const receiverContextId = c && c.peerId === peer.id ? c.peerContextId : undefined;
      const info = e.toN32fErrorInfo(receiverContextId);
      reportN32fError(this.d, peer.id, {
        type: e.errorType,
        receiverContextId,
        messageId: e.messageId,
        failedModificationList: info.failedModificationList,
        errorDetailsList: info.errorDetailsList,
      });
    }
    return { status: 403, headers: [["content-type", PROBLEM_JSON]], body: JSON.stringify(e.toProblem()) };
  }
}
