// src/datapath/csepp.ts — the sending side for our NFs' requests towards roaming partners (cSEPP,
// TS 33.501 13.1.1, 13.2.4.1; TS 29.500 6.1; N32-PROFILE P3, P8; digest §3.6, §3.9, §5.2):
//  1. target: a telescopic FQDN in :authority wins over 3gpp-Sbi-Target-apiRoot (TS 33.517 4.2.2.9);
//  2. the peer that serves the target's PLMN; our own PLMN is never a target;
//  3. per-peer limits (429 NF_CONGESTION_RISK);
//  4. 3gpp-Sbi-Originating-Network-Id checked against our PLMNs, inserted when missing (TS 33.501 5.9.3.2);
//  5. PRINS: protect with the engine, POST n32f-process to the peer's N32-f endpoint, verify the response;
//     TLS: relay over the N32-f TLS connection with :authority = the peer's FQDN, apiRoot kept in the header;
//  6. topology hiding of the peer's answers (TS 33.501 13.1.1.1): NF discovery results, the Location of 201/3xx
//     and the HAL _links hrefs of JSON bodies become telescopic FQDNs, so that our NF's next request comes back
//     to us (e.g. the Nausf 5G-AKA confirmation PUT).
// Failures reach the NF as ProblemDetails; an N32-f failure in the peer's response is reported with n32f-error.
import { formatApiRoot, resolveTarget, TargetError, type ResolvedTarget } from "../sbi/target.ts";
import { checkOriginAtSender, ORIGINATING_NETWORK_ID, type OriginOutcome } from "../sbi/origin.ts";
import { TelescopicError, type TelescopicEntry } from "../sbi/telescopic-store.ts";
import {
  peerUriFilter,
  rewriteLinks,
  rewriteLocation,
  type RewriteOptions,
  type SbiEndpoint,
} from "../sbi/telescopic-rewrite.ts";
import { rewriteSearchResult } from "../sbi/telescopic-discovery.ts";
import { N32fError } from "../n32f/errors.ts";
import { AeadKeyError } from "../../hw/aead.ts";
import { ReformatError } from "../n32f/reformat.ts";
import { bodyKind, parseContentType, type HttpMessage } from "../n32f/message.ts";
import { MultipartError, parseMultipart, type MultipartPart } from "../n32f/multipart.ts";
import type { HttpMethod, ProblemDetails, ProblemDetailsMsgForwarding } from "../model/n32.ts";
import { N32_LIMITS, n32HeaderListProblem } from "../sbi/limits.ts";
import { problem } from "../problem.ts";
import { validateBody } from "../openapi/validate.ts";
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
import { dataPathMetrics, isOwnPlmn, peerForPlmn, seppDomainOf, type DataPathDeps } from "./deps.ts";
import { UpstreamError } from "./upstream.ts";
import { rhErrorAnswer } from "./rh-answer.ts";
import type { PeerConfig, SeppConfig } from "../config/schema.ts";

const TARGET_API_ROOT = "3gpp-sbi-target-apiroot";
const N32F_PROCESS = "/n32f-forward/v1/n32f-process";
const DROP_ON_PRINS: ReadonlySet<string> = new Set([TARGET_API_ROOT, ORIGINATING_NETWORK_ID]);
const DROP_ON_TLS: ReadonlySet<string> = new Set([TARGET_API_ROOT, ORIGINATING_NETWORK_ID]);
const MAX_RSP_TIME = "3gpp-sbi-max-rsp-time";
const DISCOVERY_RE = /\/nnrf-disc\/v1\/nf-instances$/;

/**
 * A body that may carry a member named encBlockIndex anywhere (TS 33.501 5.9.3.2): cheap scan first. A JSON
 * `\u` escape can spell the name too (`encBlock\u0049ndex`), so such a body goes to the full check as well.
 */
export function containsEncBlockIndex(body: Uint8Array): boolean {
  if (body.length < 13) return false;
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return b.includes("encBlockIndex") || b.includes("\\u");
}

/**
 * TLS mode relays the NF's headers on N32: a header list over what an N32 listener takes (ours: h2server.ts
 * maxHeaderListSize 16384 octets, counted as in RFC 9113 6.5.2, name + value + 32 each) is refused here with
 * 431 instead of failing at the peer as "not reachable".
 */
const N32_MAX_HEADER_LIST = N32_LIMITS.maxTlsHeaderListSize;

/** Resolved (non-telescopic) targets and origin verdicts kept per configuration; a map starts over when full. */
const MAX_CACHED_TARGETS = 1024;
const MAX_CACHED_ORIGINS = 256;

export class CSepp {
  readonly #m;
  #perCfg: { cfg: SeppConfig; targets: Map<string, ResolvedTarget>; origins: Map<string, OriginOutcome> } | null = null;
  constructor(private readonly d: DataPathDeps & { sbiEndpoint: () => { scheme: "http" | "https"; port?: number } }) {
    this.#m = dataPathMetrics(d.metrics);
  }

  async handle(req: InboundRequest): Promise<OutboundResponse> {
    const started = performance.now();
    const cfg = this.d.config();
    let mode = "none";
    let peerId = "none";
    let outcome = "error";
    try {
      // 1. target: a result that does not come from the telescopic table depends on these request fields and
      //    the configuration alone, and is kept per configuration (an NF sends the same target again and again)
      let entry: TelescopicEntry | null = null;
      const apiRoots = headersOf(req.headers, TARGET_API_ROOT);
      const key =
        apiRoots.length === 0
          ? `${req.scheme}\n${req.authority}`
          : apiRoots.length === 1
            ? `${req.scheme}\n${req.authority}\n${apiRoots[0]}`
            : null;
      const cache = this.#cached(cfg).targets;
      let target = key === null ? undefined : cache.get(key);
      if (!target) {
        try {
          target = resolveTarget(
            { scheme: req.scheme, authority: req.authority, targetApiRoot: apiRoots },
            {
              seppDomain: seppDomainOf(cfg),
              ownHosts: [cfg.identity.n32Fqdn],
              resolveLabel: (l) => (entry = this.d.telescopic.resolve(l)),
            },
          );
        } catch (e) {
          if (e instanceof TargetError) return problemOut(e.toProblem());
          throw e;
        }
        if (key !== null && target.via !== "telescopic") {
          if (cache.size >= MAX_CACHED_TARGETS) cache.clear();
          cache.set(key, target);
        }
      }
      // 2. peer: by the target's PLMN; a telescopic label whose host names none (an IP literal) by the peer it
      //    came from (stored with the label by our pSEPP, telescopic-store.ts peerId)
      let peer: PeerConfig | undefined;
      if (target.plmn) {
        if (isOwnPlmn(cfg, target.plmn))
          return problemOut(problem(400, "MANDATORY_IE_INCORRECT", "the target is in our own PLMN"));
        peer = peerForPlmn(cfg, target.plmn);
        if (!peer) return problemOut(problem(403, "TARGET_NOT_ALLOWED", "no roaming partner serves the target PLMN"));
      } else {
        const bound = target.via === "telescopic" ? (entry as TelescopicEntry | null)?.peerId : null;
        if (!bound)
          return problemOut(
            problem(400, "MANDATORY_IE_INCORRECT", "the target host names no PLMN (…mncXXX.mccYYY.3gppnetwork.org)"),
          );
        peer = cfg.peers.find((p) => p.id === bound);
        if (!peer)
          return problemOut(
            problem(403, "TARGET_NOT_ALLOWED", "the roaming partner of this telescopic FQDN is no longer configured"),
          );
      }
      peerId = peer.id;
      // 2b. what the receiving SEPP would refuse is refused here, by the same definition (src/sbi/limits.ts)
      const unfit = n32HeaderListProblem(req.headers);
      if (unfit) return problemOut(unfit);
      // 3. limits
      const permit = this.d.limits.acquire(peer.id);
      if (!permit.ok) {
        outcome = "congested";
        return congestionResponse(permit);
      }
      try {
        // 4. originating network
        const origin = this.#originAtSender(cfg, headersOf(req.headers, ORIGINATING_NETWORK_ID));
        if (origin.action === "reject") {
          outcome = "refused";
          return problemOut(problem(origin.status, origin.cause, origin.detail));
        }
        const st = this.d.n32c.brief(peer.id);
        if (st?.state === "active-prins" && st.localContextId) {
          mode = "prins";
          const r = await this.#prins(req, target, peer, st.localContextId, origin.value!);
          outcome = r.status < 400 ? "ok" : r.status === 429 ? "congested" : "error";
          return r;
        }
        if (st?.state === "active-tls") {
          mode = "tls";
          const r = await this.#tls(req, target, peer, origin.value!);
          outcome = r.status < 400 ? "ok" : r.status === 429 ? "congested" : "error";
          return r;
        }
        outcome = "no-association";
        this.d.log.every(`no-assoc-${peer.id}`, 10_000, "warn", "no active N32 association with the peer", {
          peer: peer.id,
          state: st?.state,
        });
        return problemOut(problem(503, "SERVICE_UNAVAILABLE", "no active N32 association with the roaming partner"), [
          ["retry-after", "1"],
        ]);
      } finally {
        permit.permit.release();
      }
    } finally {
      this.#m.done(peerId, mode, "outbound", outcome, (performance.now() - started) / 1000);
    }
  }

  /** An N32-f request that got no answer is logged (rate-limited): a TLS version or trust mismatch shows here. */
  #logN32fFailure(peer: PeerConfig, e: unknown): void {
    if (e instanceof UpstreamError && e.kind === "cancelled") return;
    this.d.log.every(`n32f-send-${peer.id}`, 10_000, "warn", "N32-f request to the peer failed", {
      peer: peer.id,
      error: (e instanceof Error ? e.message : String(e)).slice(0, 300),
    });
  }

  #cached(cfg: SeppConfig): { targets: Map<string, ResolvedTarget>; origins: Map<string, OriginOutcome> } {
    if (this.#perCfg?.cfg !== cfg) this.#perCfg = { cfg, targets: new Map(), origins: new Map() };
    return this.#perCfg;
  }

  /** checkOriginAtSender, its verdict kept per configuration and header value (absent: a key no value can be). */
  #originAtSender(cfg: SeppConfig, values: string[]): OriginOutcome {
    const key = values.length === 0 ? "\n" : values.length === 1 && values[0]!.length <= 512 ? values[0]! : null;
    const origins = this.#cached(cfg).origins;
    let r = key === null ? undefined : origins.get(key);
    if (!r) {
      r = checkOriginAtSender(values, { plmnIds: cfg.identity.plmnIds, fqdn: cfg.identity.n32Fqdn });
      if (key !== null) {
        if (origins.size >= MAX_CACHED_ORIGINS) origins.clear();
        origins.set(key, r);
      }
    }
    return r;
  }

  async #prins(
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
    let wire: { body: string; messageId: string };
    try {
      wire = this.d.prins.protectRequest(ctx, msg);
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
        aad: decodedAad(JSON.parse(wire.body)),
      });
    }
    const wait = responseWait(req.headers, cfg.sbi.requestTimeoutMs);
    let rsp;
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
      this.#logN32fFailure(peer, e);
      return upstreamProblem(e, "peer SEPP", wait.byNf);
    }
    // a stream that ended without a :status (reset in transit) is no answer at all
    if (!(rsp.status >= 200 && rsp.status <= 599))
      return upstreamProblem(new UpstreamError("reset", "no HTTP status"), "peer SEPP");
    if (rsp.status === 200) {
      let body: unknown;
      try {
        body = JSON.parse(rsp.text());
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
        this.#m.n32fErrors.inc({ type: e.errorType, side: "detected" });
        this.d.log.every(`n32f-rsp-${peer.id}-${e.errorType}`, 5000, "warn", "N32-f response refused", {
          peer: peer.id,
          type: e.errorType,
          detail: e.message,
          messageId: wire.messageId,
        });
        this.d.n32c
          .reportError(peer.id, {
            type: e.errorType,
            receiverContextId: ctx.peerContextId,
            messageId: e.messageId ?? wire.messageId,
          })
          .catch((err) =>
            this.d.log.every(`n32f-report-${peer.id}`, 10_000, "warn", "n32f-error could not be sent", {
              peer: peer.id,
              error: String(err),
            }),
          );
        return problemOut(
          problem(502, "UNSPECIFIED_NF_FAILURE", `the peer's N32-f response failed verification (${e.errorType})`),
        );
      }
      return this.#nfResponse(m, msg, peer);
    }
    // 403 ProblemDetailsMsgForwarding (P8): the peer could not process our message.
    let p: ProblemDetailsMsgForwarding | null = null;
    try {
      p = JSON.parse(rsp.text());
    } catch {
      /* not JSON */
    }
    if (rsp.status === 403 && p && typeof p === "object" && typeof p.cause === "string") {
      this.#m.n32fErrors.inc({ type: p.cause, side: "reported" });
      // P11: the peer lost our context (it restarted) or holds it past its life: like the same n32f-error
      // (this request fails as the peer suggests; the next ones go on the new context). The N32-c service holds
      // the one per-peer throttle shared with the n32f-error path.
      if (p.cause === "CONTEXT_NOT_FOUND" || p.cause === "ENCRYPTION_KEY_EXPIRED")
        this.d.n32c.renegotiate(peer.id, p.cause);
    }
    // The peer's suggestion (P8) first; its HTTP-level refusals that tell the NF what to do keep their status:
    // 429/503 (back off, with the peer's retry-after) and 413 (the message is too large for the peer); else 502.
    const passThrough = rsp.status === 413 || rsp.status === 429 || rsp.status === 503;
    const suggested = p?.suggestedStatusCode;
    const status =
      Number.isInteger(suggested) && suggested! >= 400 && suggested! < 600
        ? suggested!
        : passThrough
          ? rsp.status
          : 502;
    const retryAfter = rsp.headers["retry-after"];
    const extra: Array<[string, string]> =
      (status === 429 || status === 503) && retryAfter && /^\d{1,6}$/.test(retryAfter)
        ? [["retry-after", retryAfter]]
        : [];
    // the peer's suggestion reaches our NF only as a valid, small ProblemDetails with a cause (it comes from the network)
    const suggestedPd = p?.suggestedProblemDetails;
    const usable =
      !!suggestedPd &&
      typeof suggestedPd === "object" &&
      !Array.isArray(suggestedPd) &&
      typeof suggestedPd.cause === "string" &&
      !validateBody("ProblemDetails", suggestedPd) &&
      JSON.stringify(suggestedPd).length <= 4096;
    const nfProblem: ProblemDetails = usable
      ? { ...suggestedPd, status }
      : problem(
          status,
          typeof p?.cause === "string" && /^[A-Z0-9_]{1,64}$/.test(p.cause) ? p.cause : "UNSPECIFIED_NF_FAILURE",
          `the peer SEPP refused the message (${rsp.status})`,
        );
    return problemOut(nfProblem, extra);
  }

  async #tls(
    req: InboundRequest,
    target: ResolvedTarget,
    peer: PeerConfig,
    originValue: string,
  ): Promise<OutboundResponse> {
    const cfg = this.d.config();
    if (containsEncBlockIndex(req.body) && hasEncBlockIndexMember(req.body, headerOf(req.headers, "content-type")))
      return problemOut(problem(400, "MANDATORY_IE_INCORRECT", "the body contains an encBlockIndex member"));
    const headers: Record<string, string> = {};
    for (const [n, v] of endToEnd(req.headers, DROP_ON_TLS))
      headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`;
    headers[ORIGINATING_NETWORK_ID] = originValue;
    // TS 33.501 13.1.1.2: :authority = the pSEPP, the target's apiRoot in 3gpp-Sbi-Target-apiRoot
    headers[TARGET_API_ROOT] = formatApiRoot(target);
    headers[":authority"] = peer.n32Fqdn;
    let listSize = req.path.length + 7 + 6 + 5 + 4 * 32; // :path :method :scheme and :status-sized slack
    for (const n in headers) listSize += n.length + headers[n]!.length + 32;
    if (listSize > N32_MAX_HEADER_LIST)
      return problemOut(
        problem(
          431,
          "MANDATORY_IE_INCORRECT",
          `request header fields over ${N32_MAX_HEADER_LIST} octets cannot cross N32`,
        ),
      );
    const wait = responseWait(req.headers, cfg.sbi.requestTimeoutMs);
    let rsp;
    try {
      // TLS mode never runs through an RI that terminates TLS (P11): straight to the peer's N32-f endpoint
      rsp = await this.d.peerClients.request(
        peer,
        req.method,
        req.path,
        {
          headers,
          body: req.body.length ? req.body : undefined,
          timeoutMs: wait.ms,
          maxBodyBytes: cfg.sbi.maxBodyBytes,
          signal: req.signal,
        },
        { direct: true },
      );
    } catch (e) {
      this.#logN32fFailure(peer, e);
      return upstreamProblem(e, "peer SEPP", wait.byNf);
    }
    if (!(rsp.status >= 200 && rsp.status <= 599))
      return upstreamProblem(new UpstreamError("reset", "no HTTP status"), "peer SEPP");
    const out: HttpMessage = {
      kind: "response",
      status: rsp.status,
      headers: endToEnd(Object.entries(rsp.headers)),
      body: rsp.body,
    };
    return this.#nfResponse(
      out,
      { method: req.method as HttpMethod, path: splitPath(req.path).path } as HttpMessage,
      peer,
    );
  }

  /** The answer to our NF; URIs in it that our NF will use next are rewritten to telescopic FQDNs. */
  #nfResponse(m: HttpMessage, request: HttpMessage, peer: PeerConfig): OutboundResponse {
    let body = m.body;
    let headers = m.headers;
    const status = m.status ?? 502;
    // built only for an answer that carries such URIs (the hot path is a 200 without _links)
    let sf: { sbi: SbiEndpoint; filter: RewriteOptions } | undefined;
    const uris = () => (sf ??= { sbi: this.d.sbiEndpoint(), filter: peerUriFilter(peer) });
    const refuse = (what: string, e: Error) => {
      this.d.log.every(`rsp-uri-${peer.id}`, 5000, "warn", "a URI in the peer's response could not be rewritten", {
        peer: peer.id,
        what,
        detail: e.message.slice(0, 200),
      });
      return problemOut(
        problem(502, "UNSPECIFIED_NF_FAILURE", `${what} in the peer's response could not be rewritten: ${e.message}`),
      );
    };
    // Location of a created resource or a redirect (TS 29.500 5.2.3.2.x; 6.10.9)
    if (status === 201 || (status >= 300 && status < 400)) {
      try {
        headers = headers.map(([n, v]) =>
          n === "location" ? [n, rewriteLocation(v, this.d.telescopic, uris().sbi, uris().filter)] : [n, v],
        );
      } catch (e) {
        if (!(e instanceof TelescopicError)) throw e;
        return refuse("Location", e);
      }
    }
    // HAL links of a JSON body (Nausf UEAuthenticationCtx, EapSession: TS 29.509)
    if (
      status >= 200 &&
      status < 300 &&
      body &&
      body.length > 8 &&
      Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes('"_links"')
    ) {
      const ct = parseContentType(headerOf(headers, "content-type") ?? "");
      if (ct && bodyKind(ct.mediaType) === "json") {
        try {
          const r = rewriteLinks(
            JSON.parse(Buffer.from(body).toString("utf8")),
            this.d.telescopic,
            uris().sbi,
            uris().filter,
          );
          if (r.rewritten > 0) body = Buffer.from(JSON.stringify(r.body));
        } catch (e) {
          // a body that is not JSON after all has no links to rewrite: the NF gets it as the producer sent it
          if (!(e instanceof TelescopicError) && !(e instanceof SyntaxError)) throw e;
          if (e instanceof SyntaxError) return { status, headers, body };
          return refuse("_links", e);
        }
      }
    }
    if (request.method === "GET" && m.status === 200 && DISCOVERY_RE.test(request.path ?? "") && body?.length) {
      try {
        const r = rewriteSearchResult(
          JSON.parse(Buffer.from(body).toString("utf8")),
          this.d.telescopic,
          this.d.sbiEndpoint(),
          {
            hostFilter: (_h, plmn) =>
              !!plmn &&
              peer.plmnIds.some((p) => p.mcc === plmn.mcc && p.mnc.padStart(3, "0") === plmn.mnc.padStart(3, "0")),
            peerId: peer.id, // the mappings count against this peer's share of the table
          },
        );
        body = Buffer.from(JSON.stringify(r.body));
      } catch (e) {
        if (!(e instanceof TelescopicError) && !(e instanceof SyntaxError)) throw e;
        return problemOut(
          problem(502, "UNSPECIFIED_NF_FAILURE", `NF discovery result could not be rewritten: ${e.message}`),
        );
      }
    }
    return { status, headers, body };
  }
}

/**
 * The decoded `aad` (DataToIntegrityProtectBlock, TS 29.573 6.1.5.3) of an N32fReformattedReqMsg/RspMsg, for the
 * debug log: it crosses N32 in clear by design (encrypted IEs are encBlockIndex references). A body that is not
 * such a message yields a short marker, never its content (nothing from the network is logged unchecked).
 */
export function decodedAad(msg: unknown): unknown {
  const aad = (msg as { reformattedData?: { aad?: unknown } } | null)?.reformattedData?.aad;
  if (typeof aad !== "string" || aad.length > 4 * 1024 * 1024) return "(no aad)";
  try {
    return JSON.parse(Buffer.from(aad, "base64url").toString("utf8"));
  } catch {
    return "(aad not JSON)";
  }
}

/**
 * Whether a JSON body, or a JSON part of a multipart/related body (the root part carries the IEs, TS 29.500
 * 6.1.2.4), has a member named encBlockIndex at any depth (bounded). Under PRINS the engine checks the same.
 */
export function hasEncBlockIndexMember(body: Uint8Array, contentType?: string): boolean {
  const ct = contentType ? parseContentType(contentType) : null;
  if (ct && bodyKind(ct.mediaType) === "multipart") {
    const boundary = ct.params.get("boundary");
    if (!boundary) return false;
    let parts: MultipartPart[];
    try {
      parts = parseMultipart(body, boundary);
    } catch (e) {
      if (e instanceof MultipartError) return true; // not readable: cannot show it is free of the member
      throw e;
    }
    return parts.some((p) => {
      const pt = parseContentType(p.headers.find(([n]) => n === "content-type")?.[1] ?? "application/json");
      return !!pt && bodyKind(pt.mediaType) === "json" && hasEncBlockIndexMember(p.data);
    });
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return false; // not JSON: no member names
  }
  const stack: unknown[] = [v];
  let seen = 0;
  while (stack.length && seen++ < 100_000) {
    const x = stack.pop();
    if (x && typeof x === "object") {
      if (!Array.isArray(x) && Object.hasOwn(x, "encBlockIndex")) return true;
      for (const y of Array.isArray(x) ? x : Object.values(x)) stack.push(y);
    }
  }
  return false;
}

/**
 * How long the cSEPP waits for the answer: the configured limit, or less when the NF said so with
 * 3gpp-Sbi-Max-Rsp-Time (TS 29.500 5.2.3.3: milliseconds, 1*5DIGIT; the header itself travels on end to end).
 */
export function responseWait(
  headers: ReadonlyArray<[string, string]>,
  configuredMs: number,
): { ms: number; byNf: boolean } {
  const v = headerOf(headers, MAX_RSP_TIME)?.trim();
  if (!v || !/^\d{1,5}$/.test(v)) return { ms: configuredMs, byNf: false };
  const ms = Math.max(1, Number(v));
  return ms < configuredMs ? { ms, byNf: true } : { ms: configuredMs, byNf: false };
}

export function upstreamProblem(e: unknown, what: string, byNf = false): OutboundResponse {
  const timedOut = () =>
    byNf
      ? problemOut(problem(504, "TIMED_OUT_REQUEST", `${what}: no answer within the NF's 3gpp-Sbi-Max-Rsp-Time`))
      : problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", `${what} did not answer in time`));
  if (e instanceof UpstreamError) {
    if (e.kind === "timeout") return timedOut();
    if (e.kind === "cancelled") return problemOut(problem(499, "CANCELLED", "request cancelled"));
    if (e.kind === "too-large") return problemOut(problem(502, "UNSPECIFIED_NF_FAILURE", `${what} answer too large`));
    return problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", `${what} not reachable`));
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (/timed out/.test(msg)) return timedOut();
  // the N32 client (transport/h2client.ts) resets a response over maxBodyBytes with this message: the peer
  // answered, too much (502), it is not unreachable (504)
  if (/over the limit/.test(msg)) return problemOut(problem(502, "UNSPECIFIED_NF_FAILURE", `${what} answer too large`));
  return problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", `${what} not reachable`));
}
