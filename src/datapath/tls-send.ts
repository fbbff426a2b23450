// src/datapath/tls-send.ts — the cSEPP sending our NF's request in TLS mode (TS 33.501 13.1.1.2, 5.9.3.2;
// N32-PROFILE P8, P11): the NF's own request goes over the N32-f TLS session straight to the peer's N32-f endpoint
// (never through an RI), with :authority = the pSEPP and the target apiRoot in 3gpp-Sbi-Target-apiRoot (only to a
// peer that announced 3GppSbiTargetApiRootSupported, P11; else only the peer's own telescopic FQDNs go). Refused
// before N32: a body with an encBlockIndex member (400; PRINS has the engine check the same) and a header list an
// N32 listener would not take (431). The peer's answer goes back through peer-answer.ts.
import type { H2Response } from "../transport/h2client.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { HttpMethod } from "../model/n32.ts";
import { bodyKind, parseContentType, type HttpMessage } from "../n32f/message.ts";
import { MultipartError, parseMultipart, type MultipartPart } from "../n32f/multipart.ts";
import { N32_LIMITS, n32HeaderListProblem } from "../sbi/limits.ts";
import { problem } from "../problem.ts";
import { ORIGINATING_NETWORK_ID } from "../sbi/origin.ts";
import { formatApiRoot } from "../sbi/api-root.ts";
import { telescopicLabelOf, type ResolvedTarget } from "../sbi/target.ts";
import type { HandlerDeps } from "./deps.ts";
import { endToEnd, headerOf, problemOut, splitPath, type InboundRequest, type OutboundResponse } from "./http.ts";
import { logN32fFailure, nfResponse, responseWait, upstreamProblem } from "./peer-answer.ts";
import { UpstreamError } from "./upstream.ts";
import { asBuffer } from "../bytes.ts";

const TARGET_API_ROOT = "3gpp-sbi-target-apiroot";
const DROP_ON_TLS: ReadonlySet<string> = new Set([TARGET_API_ROOT, ORIGINATING_NETWORK_ID]);

/**
 * A body that may carry a member named encBlockIndex anywhere (TS 33.501 5.9.3.2): cheap scan first. A JSON
 * `\u` escape can spell the name too (`encBlock\u0049ndex`), so such a body goes to the full check as well.
 */
export function containsEncBlockIndex(body: Uint8Array): boolean {
  if (body.length < 13) return false;
  const b = asBuffer(body);
  return b.includes("encBlockIndex") || b.includes("\\u");
}

/**
 * TLS mode relays the NF's headers on N32: a header list over what an N32 listener takes (ours: h2server.ts
 * maxHeaderListSize 16384 octets, counted as in RFC 9113 6.5.2, name + value + 32 each) is refused here with
 * 431 instead of failing at the peer as "not reachable".
 */
const N32_MAX_HEADER_LIST = N32_LIMITS.maxTlsHeaderListSize;

export class TlsSend {
  constructor(private readonly d: HandlerDeps) {}

  async send(
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
    // TS 33.501 13.1.1.2: :authority = the pSEPP's N32-f FQDN (P11: what it announced), the target's apiRoot in
    // 3gpp-Sbi-Target-apiRoot, only toward a peer that announced 3GppSbiTargetApiRootSupported (P11)
    const ep = this.d.n32c.n32fEndpointOf?.(peer.id);
    let path = req.path;
    if (!ep || ep.targetApiRootSupported) {
      headers[TARGET_API_ROOT] = formatApiRoot(target);
      headers[":authority"] = ep?.fqdn ?? peer.n32Fqdn;
    } else {
      // else the target must be one of the peer's own telescopic FQDNs (P8: only the pSEPP maps its labels; we
      // cannot mint one for it): it goes in :authority and the URI as the NF gave it (TS 29.500 6.1)
      if (![peer.n32Fqdn, ep.fqdn].some((d) => telescopicLabelOf(target.host, d) !== null))
        return problemOut(
          problem(
            504,
            "TARGET_NF_NOT_REACHABLE",
            "the peer SEPP does not support 3gpp-Sbi-Target-apiRoot (TLS mode) and the target is not one of its telescopic FQDNs",
          ),
        );
      headers[":authority"] = target.authority;
      path = target.pathPrefix + req.path;
    }
    // what the receiving SEPP would refuse is refused here, by the same definition, on the fields it would get
    const unfit = n32HeaderListProblem(headers);
    if (unfit) return problemOut(unfit);
    let listSize = path.length + 7 + 6 + 5 + 4 * 32; // :path :method :scheme and :status-sized slack
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
    let rsp: H2Response;
    try {
      // TLS mode never runs through an RI that terminates TLS (P11): straight to the peer's N32-f endpoint
      rsp = await this.d.peerClients.request(
        peer,
        req.method,
        path,
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
      logN32fFailure(this.d, peer, e);
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
    return nfResponse(
      this.d,
      out,
      { method: req.method as HttpMethod, path: splitPath(req.path).path } as HttpMessage,
      peer,
    );
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
