// src/datapath/psepp.ts — the receiving side for a roaming partner's requests to our producers (pSEPP):
//  PRINS (TS 33.501 13.2.4.7; TS 29.573 6.2; N32-PROFILE P8, P10): POST /n32f-forward/v1/n32f-process →
//    verify (context, AEAD, replay, RI modifications) and rebuild the NF request → the TLS peer must be the
//    context's peer → PLMN checks (TS 33.517 4.2.2.4) → egress allow-list (never an open relay) → deliver
//    over h2c/TLS → protect the producer's response → 200 N32fReformattedRspMsg. A message that cannot be
//    processed: 403 ProblemDetailsMsgForwarding and n32f-error to the peer over N32-c. The AEAD engine having
//    lost the context's keys (a PKCS#11 token removed and back, hw/aead.ts AeadKeyError) is no fault of the
//    message: 503 with retry-after, so that the peer retries once the context is re-established.
//  TLS mode (TS 33.501 13.1.1.2, 13.1.2): any other request on N32-f from a peer with an active TLS
//    association is routed on 3gpp-Sbi-Target-apiRoot (removed towards the NF) under the same checks.
import zlib from "node:zlib";
import { AeadKeyError } from "../../hw/aead.ts";
import { validateReceivedBlock } from "../openapi/validate.ts";
import { jsonNestedDeeperThan } from "../json-depth.ts";
import { certHasDnsName } from "../pki/plmn.ts";
import { N32fError } from "../n32f/errors.ts";
import { ReformatError } from "../n32f/reformat.ts";
import { bodyKind, parseContentType, type HttpMessage } from "../n32f/message.ts";
import {
  buildMultipart,
  MultipartError,
  parseMultipart,
  rootPartIndex,
  type MultipartPart,
} from "../n32f/multipart.ts";
import type { N32fContext } from "../n32f/context.ts";
import type { PeerConfig, SeppConfig } from "../config/schema.ts";
import type { HttpMethod, PlmnId, PlmnIdNid } from "../model/n32.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import { checkOriginAtReceiver, ORIGINATING_NETWORK_ID, type OriginOutcome } from "../sbi/origin.ts";
import { parseApiRoot, TargetError, type ApiRoot } from "../sbi/target.ts";
import { TelescopicError } from "../sbi/telescopic-store.ts";
import {
  findUriRewriteRule,
  peerUriFilter,
  rewriteRequestUris,
  rewriteVsmfPduSessionUri,
} from "../sbi/telescopic-rewrite.ts";
import type { ConnInfo } from "../transport/h2server.ts";
import type { CancelSignal } from "../transport/h2client.ts";
import { dataPathMetrics, egressOf, type DataPathDeps } from "./deps.ts";
import {
  congestionResponse,
  endToEnd,
  headerOf,
  headersOf,
  problemOut,
  splitPath,
  type InboundRequest,
  type OutboundResponse,
} from "./http.ts";
import { UpstreamError } from "./upstream.ts";
import { refusalMessage, refusalResponse, Screening } from "../screening/screening.ts";
import { answerRiAnnouncement, isRiAnnouncement } from "./ri-announce.ts";

export const N32F_PROCESS_PATH = "/n32f-forward/v1/n32f-process";
/** The n32f-process body bound (octets; after inflation for a gzip body, P11): the NF body limit twice plus the JWE envelope. */
export const n32fProcessLimit = (cfg: SeppConfig): number => cfg.sbi.maxBodyBytes * 2 + 65536;
const TARGET_API_ROOT = "3gpp-sbi-target-apiroot";
const JSON_CT = /^application\/json\s*(;|$)/i;
const PDU_SESSIONS_RE = /\/nsmf-pdusession\/v1\/pdu-sessions$/;
const DROP_TARGET_API_ROOT: ReadonlySet<string> = new Set([TARGET_API_ROOT]);
const BEARER_JWT_RE = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;
/** Bounds of the small per-process caches below (entries; the map starts over when full) and of a cached token payload. */
const MAX_CACHED = 256;
const MAX_CACHED_CLAIMS_CHARS = 2048;

const plmnEq = (a: PlmnId, b: PlmnId) => a.mcc === b.mcc && a.mnc.padStart(3, "0") === b.mnc.padStart(3, "0");

/** The configured peer behind an N32 TLS connection (certificate verified against the per-PLMN anchors, P9). */
export function peerOfConnection(
  conn: ConnInfo,
  cfg: SeppConfig,
  deps: Pick<DataPathDeps, "trust">,
): PeerConfig | null {
  const cached = conn.data.get("datapath.peer") as { cfg: SeppConfig; peer: PeerConfig | null } | undefined;
  if (cached && cached.cfg === cfg) return cached.peer;
  let peer: PeerConfig | null = null;
  const r = deps.trust().verifyN32Chain(conn.peerChain());
  if (r.ok) {
    const names = new Set(r.dnsNames.map((n) => n.toLowerCase()));
    const candidate = cfg.peers.find((p) => names.has(p.n32Fqdn.toLowerCase()));
    // every PLMN of the certificate must be one of the peer's (TS 33.501 13.1.2, P8)
    if (candidate && r.plmnIds.every((x) => candidate.plmnIds.some((y) => plmnEq(x, y)))) peer = candidate;
  }
  conn.data.set("datapath.peer", { cfg, peer });
  return peer;
}

/** Who holds the other end of an N32-f TLS connection (N32-PROFILE P11). */
export type N32fSender = { kind: "peer"; peer: PeerConfig } | { kind: "ri"; ipxProviderId: string };

/** The RI identities of the RI security information exchanged on a context's association (ours and the peer's). */
export function risOf(ctx: N32fContext): string[] {
  const a = ctx.association;
  return [...a.ownRis, ...a.peerRis].map((r) => r.ipxProviderId.toLowerCase().replace(/\.$/, ""));
}

/**
 * The sender of N32-f on a TLS connection: a configured peer SEPP (per-PLMN anchors, P9), or a Roaming Intermediary
 * (P11): a certificate issued under the RI trust store whose dNSName is the identity of an RI in the RI security
 * information exchanged with at least one peer (live contexts). Anything else: null. The RI verdict depends on
 * the live associations, so it is kept per connection only while the set of contexts is the same.
 */
export function n32fSenderOf(
  conn: ConnInfo,
  cfg: SeppConfig,
  deps: Pick<DataPathDeps, "trust" | "contexts">,
): N32fSender | null {
  const peer = peerOfConnection(conn, cfg, deps);
  if (peer) return { kind: "peer", peer };
  const chain = conn.peerChain();
  const leaf = chain[0];
  if (!leaf) return null;
  const listed = new Set<string>();
  for (const c of deps.contexts.list()) if (c.state === "active") for (const id of risOf(c)) listed.add(id);
  const trust = deps.trust();
  for (const id of listed)
    if (certHasDnsName(leaf, id) && trust.verifyRiCert(chain, id) === null) return { kind: "ri", ipxProviderId: id };
  return null;
}

/**
 * The messageId and context ID of an n32f-process body whose aad decodes to a schema-valid block (P11: a message
 * refused before its aad is used is still reported with them); undefined otherwise.
 */
/** A block nests an NF body (at most 256 levels, reformat.ts) three levels down: payload[i].value */
const MAX_AAD_DEPTH = 260;

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
  const md = (block as { metaData: { messageId: string; n32fContextId: string } }).metaData;
  return /^[\x20-\x7e]{1,64}$/.test(md.messageId)
    ? { messageId: md.messageId, n32fContextId: md.n32fContextId }
    : undefined;
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

/** The consumer PLMN of a token's claims segment (base64url JSON), per segment: an NF sends the same token for its lifetime. */
const claimsPlmn = new Map<string, PlmnId | null | "malformed">();

/** The consumer PLMN asserted in an OAuth2 access token (TS 29.510 AccessTokenClaims.consumerPlmnId), if any. */
export function tokenConsumerPlmn(authorization: string | undefined): PlmnId | null | "malformed" {
  if (!authorization) return null;
  const m = BEARER_JWT_RE.exec(authorization.trim());
  if (!m) return null; // not a JWT: nothing to check here, the producer validates its tokens
  const segment = m[2]!;
  let r = claimsPlmn.get(segment);
  if (r === undefined) {
    r = consumerPlmnOfClaims(segment);
    if (segment.length <= MAX_CACHED_CLAIMS_CHARS) {
      if (claimsPlmn.size >= MAX_CACHED) claimsPlmn.clear();
      claimsPlmn.set(segment, r);
    }
  }
  return r === null || r === "malformed" ? r : { mcc: r.mcc, mnc: r.mnc };
}

function consumerPlmnOfClaims(segment: string): PlmnId | null | "malformed" {
  try {
    const claims = JSON.parse(Buffer.from(segment, "base64url").toString("utf8")) as {
      consumerPlmnId?: { mcc?: unknown; mnc?: unknown };
    };
    const c = claims?.consumerPlmnId;
    if (c === undefined) return null;
    if (typeof c?.mcc !== "string" || typeof c?.mnc !== "string") return "malformed";
    return { mcc: c.mcc, mnc: c.mnc };
  } catch {
    return "malformed";
  }
}

/** TLS mode: parsed 3gpp-Sbi-Target-apiRoot values (pure; a peer's NFs use few apiRoots). Refusals are not kept. */
const apiRoots = new Map<string, ApiRoot>();

function apiRootOf(value: string): ApiRoot {
  let r = apiRoots.get(value);
  if (!r) {
    r = parseApiRoot(value); // throws TargetError
    if (value.length <= 512) {
      if (apiRoots.size >= MAX_CACHED) apiRoots.clear();
      apiRoots.set(value, r);
    }
  }
  return r;
}

/** checkOriginAtReceiver per PLMN list (the context's or the peer's: the same array object on every request) and header value. */
const originOutcomes = new WeakMap<readonly PlmnIdNid[], Map<string, OriginOutcome>>();

export function originAtReceiver(values: string[], plmnIds: readonly PlmnIdNid[]): OriginOutcome {
  // absent → a key no header value can be (no LF in HTTP field values); repeated → not kept
  const key = values.length === 0 ? "\n" : values.length === 1 ? values[0]! : null;
  if (key === null) return checkOriginAtReceiver(values, { plmnIds });
  let m = originOutcomes.get(plmnIds);
  if (!m) originOutcomes.set(plmnIds, (m = new Map()));
  let r = m.get(key);
  if (!r) {
    r = checkOriginAtReceiver(values, { plmnIds });
    if (key.length <= 512) {
      if (m.size >= MAX_CACHED) m.clear();
      m.set(key, r);
    }
  }
  return r;
}

export class PSepp {
  readonly #m;
  readonly #screening: Screening;
  constructor(private readonly d: DataPathDeps & { sbiEndpoint: () => { scheme: "http" | "https"; port?: number } }) {
    this.#m = dataPathMetrics(d.metrics);
    this.#screening = d.screening ?? new Screening(d);
  }

  /** A TLS client refused on N32-f: a security event (TS 33.117 4.2.3.6.1), at most one line per 10 s and
   *  certificate subject; the subject and source address identify the client, nothing of the request is logged. */
  #admissionRefused(plane: string, conn: ConnInfo, reason: string): void {
    const subject = conn.peerChain()[0]?.subject.replaceAll("\n", ", ") ?? "none";
    this.d.log.every(`n32f-admission-${subject}`, 10_000, "warn", "N32-f client refused", {
      category: "security",
      event: "n32-admission-refused",
      plane,
      reason,
      subject,
      source: conn.socket.remoteAddress,
    });
  }

  /** OPTIONS /n32f-forward/v1/n32f-process (P11): which content codings n32f-process accepts. */
  n32fProcessOptions(): OutboundResponse {
    return {
      status: 204,
      headers: [
        ["accept-encoding", "gzip, identity"],
        ["allow", "POST, OPTIONS"],
      ],
    };
  }

  /** POST /n32f-forward/v1/n32f-process */
  async n32fProcess(req: InboundRequest, conn: ConnInfo): Promise<OutboundResponse> {
    const started = performance.now();
    const cfg = this.d.config();
    const sender = n32fSenderOf(conn, cfg, this.d);
    let outcome = "error";
    let peerId = sender?.kind === "peer" ? sender.peer.id : "unknown";
    try {
      if (req.method === "OPTIONS") {
        outcome = "options";
        return this.n32fProcessOptions();
      }
      if (req.method !== "POST")
        return problemOut(problem(405, "METHOD_NOT_ALLOWED", "n32f-process takes POST"), [["allow", "POST, OPTIONS"]]);
      if (!JSON_CT.test(headerOf(req.headers, "content-type") ?? ""))
        return problemOut(problem(415, "UNSUPPORTED_MEDIA_TYPE", "content-type must be application/json"));
      if (!sender) {
        outcome = "refused";
        this.#admissionRefused("n32f-process", conn, "neither a configured roaming partner nor a listed RI");
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
          body = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8"));
        } catch {
          return problemOut(problem(400, "MANDATORY_IE_INCORRECT", "body is not JSON"));
        }
        let opened;
        let peer: PeerConfig;
        try {
          opened = this.d.prins.openRequest(body, this.d.contexts);
          // P11: which peer sent a PRINS message is decided by its N32-f context alone (the JWE authenticates it)
          const ctxPeer = cfg.peers.find((p) => p.id === opened!.ctx.peerId);
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
        const r = await this.#deliver(ctx, peer, message, messageId, req.signal);
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
      this.#m.done(peerId, "prins", "inbound", outcome, (performance.now() - started) / 1000);
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
    const peer = knownPeer ?? (c ? (this.d.config().peers.find((p) => p.id === c.peerId) ?? null) : null);
    const peerId = peer?.id ?? "unknown";
    this.#m.n32fErrors.inc({ type: e.errorType, side: "detected" });
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
      this.#report(peer, {
        type: e.errorType,
        receiverContextId,
        messageId: e.messageId,
        failedModificationList: info.failedModificationList,
        errorDetailsList: info.errorDetailsList,
      });
    }
    return { status: 403, headers: [["content-type", PROBLEM_JSON]], body: JSON.stringify(e.toProblem()) };
  }

  /** n32f-error to the peer over N32-c (in the background; a failure is logged, rate-limited). */
  #report(peer: PeerConfig, r: Parameters<DataPathDeps["n32c"]["reportError"]>[1]): void {
    this.d.n32c.reportError(peer.id, r).catch((err) =>
      this.d.log.every(`n32f-report-${peer.id}`, 10_000, "warn", "n32f-error could not be sent", {
        peer: peer.id,
        error: String(err),
      }),
    );
  }

  /**
   * TS 33.501 13.2.4.7, TS 33.517 4.2.2.4 (P11, replacing P10's "no n32f-error"): a serving PLMN mismatch is also
   * signalled on N32-c with the message's messageId and the context (P7: the n32fContextId of an n32f-error is its
   * receiver's own ID, which is how the peer finds the context).
   */
  #reportMismatch(ctx: N32fContext, peer: PeerConfig, messageId: string): void {
    this.#report(peer, { type: "PLMN_ID_MISMATCH", receiverContextId: ctx.peerContextId, messageId });
  }

  /** Checks, delivery to the producer and the protected answer. */
  async #deliver(
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
            body: this.d.prins.protectResponse(ctx, m, req),
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
              body: this.d.prins.protectResponse(
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
      this.#m.n32fErrors.inc({ type: "PLMN_ID_MISMATCH", side: "detected" });
      this.d.log.warn("PLMN ID mismatch in 3gpp-Sbi-Originating-Network-Id", {
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
    if (consumer === "malformed" || (consumer && !remote.some((p) => plmnEq(p, consumer)))) {
      this.#m.n32fErrors.inc({ type: "PLMN_ID_MISMATCH", side: "detected" });
      this.d.log.warn("access token consumer PLMN is not the peer's", { peer: peer.id, messageId });
      this.#reportMismatch(ctx, peer, messageId);
      return {
        response: mismatchForwarding("the access token's consumer PLMN is not the sending peer's"),
        outcome: "plmn-mismatch",
      };
    }
    // border screening (GSMA FS.36; src/screening/): refusals go back inside the protected answer (P10)
    const screened = this.#screening.inbound({ ...msg, peer, remotePlmnIds: remote, messageId });
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
      body = this.#rewriteCallbacks(msg.method!, msg.path!, headerOf(msg.headers, "content-type"), peer, body);
    } catch (e) {
      if (!(e instanceof TelescopicError)) throw e;
      return answer(problemMessage(e.status, e.problemCause, e.message), "refused");
    }
    const headers = endToEnd(msg.headers, DROP_TARGET_API_ROOT);
    let up;
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
      this.d.log.every(`producer-${peer.id}`, 5000, "warn", "producer not reachable", {
        peer: peer.id,
        error: (e as Error).message,
      });
      return answer(
        problemMessage(504, "TARGET_NF_NOT_REACHABLE", "the target NF did not answer"),
        "producer-unreachable",
      );
    }
    this.#screening.answered(screened.ticket, up.status, up.headers, up.body);
    return answer({ kind: "response", status: up.status, headers: endToEnd(up.headers), body: up.body }, "ok");
  }

  /** The body with callback URIs rewritten: a JSON body, or the JSON root part of multipart/related (Nsmf_PDUSession create with N1 SM binary). */
  #rewriteCallbacks(
    method: string,
    path: string,
    contentType: string | undefined,
    peer: PeerConfig,
    body: Uint8Array | undefined,
  ): Uint8Array | undefined {
    if (!body || body.length === 0 || !contentType) return body;
    // only requests that a rewrite rule names carry such URIs: the others are not parsed at all
    if (!findUriRewriteRule(method, path) && !isPduSessionCreate(method, path)) return body;
    const ct = parseContentType(contentType);
    const kind = ct ? bodyKind(ct.mediaType) : null;
    if (kind === "json") return this.#rewriteJson(method, path, peer, body) ?? body;
    if (kind !== "multipart" || !ct) return body;
    const boundary = ct.params.get("boundary");
    if (!boundary) return body;
    let parts: MultipartPart[];
    try {
      parts = parseMultipart(body, boundary);
    } catch (e) {
      if (e instanceof MultipartError) return body; // the producer judges its own malformed input
      throw e;
    }
    const rootIndex = rootPartIndex(parts, ct.params.get("start"));
    const root = parts[rootIndex];
    if (!root) return body;
    const out = this.#rewriteJson(method, path, peer, root.data);
    if (!out) return body;
    parts[rootIndex] = { headers: root.headers.filter(([n]) => n !== "content-length"), data: out };
    return buildMultipart(boundary, parts);
  }

  /** A rewritten JSON document, or null when it is not JSON or nothing was rewritten. */
  #rewriteJson(method: string, path: string, peer: PeerConfig, json: Uint8Array): Uint8Array | null {
    const filter = peerUriFilter(peer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(json).toString("utf8"));
    } catch {
      return null;
    }
    const sbi = this.d.sbiEndpoint();
    const r1 = rewriteRequestUris(method, path, parsed, this.d.telescopic, sbi, filter);
    let out = r1.body;
    let n = r1.rewritten;
    if (isPduSessionCreate(method, path)) {
      const r2 = rewriteVsmfPduSessionUri(out, this.d.telescopic, sbi, filter);
      out = r2.body;
      n += r2.rewritten;
    }
    return n > 0 ? Buffer.from(JSON.stringify(out)) : null;
  }

  /** TLS mode: a peer's plain HTTP/2 request on N32-f (TS 33.501 13.1.1.2). */
  async tlsRelay(req: InboundRequest, conn: ConnInfo): Promise<OutboundResponse> {
    const started = performance.now();
    const cfg = this.d.config();
    const peer = peerOfConnection(conn, cfg, this.d);
    let outcome = "error";
    try {
      if (!peer) {
        outcome = "refused";
        this.#admissionRefused("tls-relay", conn, "not a configured roaming partner");
        return problemOut(
          problem(403, "NEGOTIATION_NOT_ALLOWED", "the TLS client is not a configured roaming partner"),
        );
      }
      if (this.d.n32c.brief(peer.id)?.state !== "active-tls") {
        outcome = "refused";
        return problemOut(problem(403, "NEGOTIATION_NOT_ALLOWED", "no TLS-mode N32 association with this peer"));
      }
      const permit = this.d.limits.acquire(peer.id);
      if (!permit.ok) {
        outcome = "congested";
        return congestionResponse(permit);
      }
      try {
        const roots = headersOf(req.headers, TARGET_API_ROOT);
        if (roots.length !== 1)
          return problemOut(
            problem(400, "MANDATORY_IE_MISSING", "exactly one 3gpp-Sbi-Target-apiRoot is required in TLS mode"),
          );
        let root;
        try {
          root = apiRootOf(roots[0]!);
        } catch (e) {
          if (e instanceof TargetError) return problemOut(problem(400, "MANDATORY_IE_INCORRECT", e.message));
          throw e;
        }
        const origin = originAtReceiver(headersOf(req.headers, ORIGINATING_NETWORK_ID), peer.plmnIds);
        if (origin.action === "reject") {
          outcome = "plmn-mismatch";
          return problemOut(problem(403, "PLMN_ID_MISMATCH", origin.detail));
        }
        const { path, query } = splitPath(req.path);
        const fullPath = root.pathPrefix + path;
        const screened = this.#screening.inbound({
          ...req,
          peer,
          remotePlmnIds: peer.plmnIds,
          path: fullPath,
          query,
          authority: root.authority,
        });
        if (!screened.ok) {
          outcome = "screened";
          return refusalResponse(screened.refusal);
        }
        const decision = egressOf(peer).check({
          scheme: root.scheme,
          host: root.host,
          port: root.port,
          path: fullPath,
        });
        if (!decision.ok) {
          outcome = "target-not-allowed";
          return problemOut(problem(403, "TARGET_NOT_ALLOWED", `target not allowed: ${decision.detail}`));
        }
        const headers = endToEnd(req.headers, DROP_TARGET_API_ROOT);
        // topology hiding in TLS mode too: callback URIs of the partner's request (TS 33.501 13.1.1.1)
        let body: Uint8Array | undefined;
        try {
          body = this.#rewriteCallbacks(req.method, fullPath, headerOf(req.headers, "content-type"), peer, req.body);
        } catch (e) {
          if (!(e instanceof TelescopicError)) throw e;
          outcome = "refused";
          return problemOut(e.toProblem());
        }
        try {
          const up = await this.d.producers.request(
            { scheme: root.scheme, host: root.host, port: root.port ?? (root.scheme === "https" ? 443 : 80) },
            (addr) => egressOf(peer).checkResolvedAddress(addr),
            {
              method: req.method,
              path: decision.path + (query !== undefined ? `?${query}` : ""),
              authority: root.authority,
              headers,
              body,
              timeoutMs: cfg.sbi.requestTimeoutMs,
              maxBodyBytes: cfg.sbi.maxBodyBytes,
              signal: req.signal,
            },
          );
          this.#screening.answered(screened.ticket, up.status, up.headers, up.body);
          outcome = "ok";
          return { status: up.status, headers: endToEnd(up.headers), body: up.body };
        } catch (e) {
          if (e instanceof UpstreamError && e.kind === "refused-address") {
            outcome = "target-not-allowed";
            return problemOut(problem(403, "TARGET_NOT_ALLOWED", e.message));
          }
          outcome = "producer-unreachable";
          return problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", "the target NF did not answer"));
        }
      } finally {
        permit.permit.release();
      }
    } finally {
      this.#m.done(peer?.id ?? "unknown", "tls", "inbound", outcome, (performance.now() - started) / 1000);
    }
  }
}

const isPduSessionCreate = (method: string, path: string) => method === "POST" && PDU_SESSIONS_RE.test(path);

/** A ProblemDetails answer carried back to the NF inside the protected response (P10). */
function problemMessage(status: number, cause: string, detail: string): HttpMessage {
  return {
    kind: "response",
    status,
    headers: [["content-type", PROBLEM_JSON]],
    body: Buffer.from(JSON.stringify(problem(status, cause, detail))),
  };
}

/** P10/P11: 403 ProblemDetailsMsgForwarding, cause PLMN_ID_MISMATCH, suggestedStatusCode 403 (+ n32f-error, P11). */
function mismatchForwarding(detail: string): OutboundResponse {
  return {
    status: 403,
    headers: [["content-type", PROBLEM_JSON]],
    body: JSON.stringify({
      title: "Forbidden",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
      detail,
      suggestedStatusCode: 403,
    }),
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

export type { HttpMethod };
