// src/datapath/peer-answer.ts — what our NF gets back from the cSEPP (TS 33.501 13.1.1.1, 13.2.4.7; TS 29.500
// 5.2.3.3, 6.10.9; N32-PROFILE P8, P11): the peer's answer with the URIs our NF will use next rewritten to
// telescopic FQDNs (Location of 201/3xx, HAL _links, NF discovery results), the peer's refusal of our N32-f
// message turned into the ProblemDetails the peer suggested (else 502; 413/429/503 keep their status, with a
// valid retry-after), and an N32-f request without an answer turned into 504/502/499. The wait is the configured
// one, or shorter when the NF asked with 3gpp-Sbi-Max-Rsp-Time.
import type { PeerConfig } from "../config/schema/peers.ts";
import type { ProblemDetails, ProblemDetailsMsgForwarding } from "../model/n32.ts";
import { bodyKind, parseContentType, type HttpMessage } from "../n32f/message.ts";
import { validateBody } from "../openapi/validate.ts";
import { problem } from "../problem.ts";
import { rewriteSearchResult } from "../sbi/telescopic-discovery.ts";
import {
  peerUriFilter,
  rewriteLinks,
  rewriteLocation,
  type RewriteOptions,
  type SbiEndpoint,
} from "../sbi/telescopic-rewrite.ts";
import { TelescopicError, type TelescopicStore } from "../sbi/telescopic-store.ts";
import type { H2Response } from "../transport/h2client.ts";
import type { Logger } from "../log.ts";
import { samePlmn } from "../model/plmn.ts";
import type { DataPathMetrics } from "./deps.ts";
import { headerOf, problemOut, type OutboundResponse } from "./http.ts";
import { notUnreachable, UpstreamError } from "./upstream.ts";
import { asBuffer } from "../bytes.ts";

const MAX_RSP_TIME = "3gpp-sbi-max-rsp-time";
const DISCOVERY_RE = /\/nnrf-disc\/v1\/nf-instances$/;

/** What the answer handling needs of the data path. */
export interface PeerAnswerDeps {
  log: Logger;
  telescopic: TelescopicStore;
  sbiEndpoint: () => SbiEndpoint;
}

/** An N32-f request that got no answer is logged (rate-limited): a TLS version or trust mismatch shows here. */
export function logN32fFailure(d: Pick<PeerAnswerDeps, "log">, peer: PeerConfig, e: unknown): void {
  if (e instanceof UpstreamError && e.kind === "cancelled") return;
  d.log.every(`n32f-send-${peer.id}`, 10_000, "warn", "N32-f request to the peer failed", {
    peer: peer.id,
    error: (e instanceof Error ? e.message : String(e)).slice(0, 300),
  });
}

/**
 * The error statuses an NF understands (TS 29.500 Table 5.2.7.1-1, the 4xx and 5xx it lists for SBI). A peer's
 * suggestedStatusCode outside them (499, 450, …) is not handed to our NF: it gets 502, as with no suggestion (P8).
 */
const SBI_ERROR_STATUS: ReadonlySet<number> = new Set([
  400, 401, 403, 404, 405, 408, 409, 410, 411, 412, 413, 414, 415, 429, 500, 501, 502, 503, 504,
]);

/**
 * The peer's answer other than 200 to our n32f-process: 403 ProblemDetailsMsgForwarding (P8) when the peer could not
 * process our message, or an HTTP-level refusal. `onContextLost` is called for CONTEXT_NOT_FOUND and
 * ENCRYPTION_KEY_EXPIRED (P11: re-negotiate).
 */
export function forwardingRefusal(
  rsp: H2Response,
  m: DataPathMetrics,
  onContextLost: (cause: string) => void,
): OutboundResponse {
  let p: ProblemDetailsMsgForwarding | null = null;
  try {
    p = JSON.parse(rsp.text());
  } catch {
    /* not JSON */
  }
  if (rsp.status === 403 && p && typeof p === "object" && typeof p.cause === "string") {
    m.n32fErrors.inc({ type: p.cause, side: "reported" });
    // P11: the peer lost our context (it restarted) or holds it past its life: like the same n32f-error
    // (this request fails as the peer suggests; the next ones go on the new context; the N32-c service holds the
    // one per-peer throttle shared with the n32f-error path)
    if (p.cause === "CONTEXT_NOT_FOUND" || p.cause === "ENCRYPTION_KEY_EXPIRED") onContextLost(p.cause);
  }
  // The peer's suggestion (P8) first; its HTTP-level refusals that tell the NF what to do keep their status:
  // 429/503 (back off, with the peer's retry-after) and 413 (the message is too large for the peer); else 502.
  const passThrough = rsp.status === 413 || rsp.status === 429 || rsp.status === 503;
  const suggested = p?.suggestedStatusCode;
  const status =
    typeof suggested === "number" && SBI_ERROR_STATUS.has(suggested) ? suggested : passThrough ? rsp.status : 502;
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

/** the member a HAL body's links are in, searched for in every 2xx body (as octets: no conversion per search) */
const LINKS = Buffer.from('"_links"');

/** The answer to our NF; URIs in it that our NF will use next are rewritten to telescopic FQDNs. */
export function nfResponse(
  d: PeerAnswerDeps,
  m: HttpMessage,
  request: HttpMessage,
  peer: PeerConfig,
): OutboundResponse {
  let body = m.body;
  let headers = m.headers;
  const status = m.status ?? 502;
  // built only for an answer that carries such URIs (the hot path is a 200 without _links)
  let sf: { sbi: SbiEndpoint; filter: RewriteOptions } | undefined;
  const uris = () => (sf ??= { sbi: d.sbiEndpoint(), filter: peerUriFilter(peer) });
  const refuse = (what: string, e: Error) => {
    d.log.every(`rsp-uri-${peer.id}`, 5000, "warn", "a URI in the peer's response could not be rewritten", {
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
        n === "location" ? [n, rewriteLocation(v, d.telescopic, uris().sbi, uris().filter)] : [n, v],
      );
    } catch (e) {
      if (!(e instanceof TelescopicError)) throw e;
      return refuse("Location", e);
    }
  }
  // HAL links of a JSON body (Nausf UEAuthenticationCtx, EapSession: TS 29.509)
  if (status >= 200 && status < 300 && body && body.length > 8 && asBuffer(body).includes(LINKS)) {
    const ct = parseContentType(headerOf(headers, "content-type") ?? "");
    if (ct && bodyKind(ct.mediaType) === "json") {
      try {
        const r = rewriteLinks(JSON.parse(Buffer.from(body).toString("utf8")), d.telescopic, uris().sbi, uris().filter);
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
      const r = rewriteSearchResult(JSON.parse(Buffer.from(body).toString("utf8")), d.telescopic, d.sbiEndpoint(), {
        hostFilter: (_h, plmn) => !!plmn && peer.plmnIds.some((p) => samePlmn(p, plmn)),
        peerId: peer.id, // the mappings count against this peer's share of the table
      });
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
  }
  // it answered, but not with a well-formed HTTP/2 message (502), or our request was over what it takes (431): as
  // for the producers (upstream.ts)
  const not = notUnreachable(e, `the ${what}`);
  if (not) return problemOut(problem(not.status, not.cause, not.detail));
  if (e instanceof UpstreamError) return problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", `${what} not reachable`));
  const msg = e instanceof Error ? e.message : String(e);
  if (/timed out/.test(msg)) return timedOut();
  // the N32 client (transport/h2client.ts) resets a response over maxBodyBytes with this message: the peer
  // answered, too much (502), it is not unreachable (504)
  if (/over the limit/.test(msg)) return problemOut(problem(502, "UNSPECIFIED_NF_FAILURE", `${what} answer too large`));
  return problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", `${what} not reachable`));
}
