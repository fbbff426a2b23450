// src/datapath/tls-relay.ts — the pSEPP in TLS mode (TS 33.501 13.1.1.2, 13.1.2; N32-PROFILE P8, P11): a plain
// HTTP/2 request of a peer with an active TLS-mode association on its N32-f connection is routed on
// 3gpp-Sbi-Target-apiRoot (exactly one; removed towards the NF) under the same checks as a PRINS message —
// the TLS client must be a configured peer, its per-peer limits, the originating network against the peer's
// PLMNs (TS 33.517 4.2.2.4), border screening (GSMA FS.36), the egress allow-list (also on the resolved address)
// and callback URIs to telescopic FQDNs (TS 33.501 13.1.1.1). Refusals and the producer's answer go back as plain
// HTTP: there is no protected answer in TLS mode.
import { problem } from "../problem.ts";
import { refusalResponse, type Screening } from "../screening/screening.ts";
import { ORIGINATING_NETWORK_ID } from "../sbi/origin.ts";
import { parseApiRoot, TargetError, type ApiRoot } from "../sbi/api-root.ts";
import { TelescopicError } from "../sbi/telescopic-store.ts";
import { rewriteCallbacks } from "./callback-rewrite.ts";
import { DROP_TARGET_API_ROOT } from "./delivery.ts";
import { egressOf, type DataPathMetrics, type HandlerDeps } from "./deps.ts";
import {
  congestionResponse,
  endToEnd,
  headerOf,
  headersOf,
  problemOut,
  splitPath,
  type InboundRequest,
  type N32fConn,
  type OutboundResponse,
} from "./http.ts";
import { admissionRefused, peerOfConnection } from "./n32f-sender.ts";
import { MAX_CACHED, originAtReceiver } from "./plmn-checks.ts";
import { notUnreachable, UpstreamError } from "./upstream.ts";

const TARGET_API_ROOT = "3gpp-sbi-target-apiroot";

/** Parsed 3gpp-Sbi-Target-apiRoot values (pure; a peer's NFs use few apiRoots). Refusals are not kept. */
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

export class TlsRelay {
  constructor(
    private readonly d: HandlerDeps,
    private readonly m: DataPathMetrics,
    private readonly screening: Screening,
  ) {}

  /** TLS mode: a peer's plain HTTP/2 request on N32-f (TS 33.501 13.1.1.2). */
  async relay(req: InboundRequest, conn: N32fConn): Promise<OutboundResponse> {
    const started = performance.now();
    const cfg = this.d.config();
    const peer = peerOfConnection(conn, cfg, this.d);
    let outcome = "error";
    try {
      if (!peer) {
        outcome = "refused";
        admissionRefused(this.d, "tls-relay", conn, "not a configured roaming partner");
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
        let root: ReturnType<typeof apiRootOf>;
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
        const screened = this.screening.inbound({
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
          body = rewriteCallbacks(this.d, req.method, fullPath, headerOf(req.headers, "content-type"), peer, req.body);
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
          this.screening.answered(screened.ticket, up.status, up.headers, up.body);
          outcome = "ok";
          return { status: up.status, headers: endToEnd(up.headers), body: up.body };
        } catch (e) {
          if (e instanceof UpstreamError && e.kind === "refused-address") {
            outcome = "target-not-allowed";
            return problemOut(problem(403, "TARGET_NOT_ALLOWED", e.message));
          }
          const not = notUnreachable(e, "the target NF");
          if (not) {
            outcome = not.outcome;
            return problemOut(problem(not.status, not.cause, not.detail));
          }
          outcome = "producer-unreachable";
          return problemOut(problem(504, "TARGET_NF_NOT_REACHABLE", "the target NF did not answer"));
        }
      } finally {
        permit.permit.release();
      }
    } finally {
      this.m.done(peer?.id ?? "unknown", "tls", "inbound", outcome, (performance.now() - started) / 1000);
    }
  }
}
