// src/n32c/client.ts — the client side of one N32-c exchange (TS 33.501 13.2.2.2 step 5, N32-PROFILE P10): a new
// mutually authenticated TLS connection toward the peer's N32-c URI (or a redirect target, or through our RIs by
// CONNECT, P11), one POST with the request traced and the answer validated before use. N32cCore's connect/post/
// sendOnce are these functions.
import { isIP } from "node:net";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { ProblemDetails } from "../model/n32.ts";
import { samePlmn } from "../model/plmn.ts";
import { validateBody, type N32SchemaName } from "../openapi/validate.ts";
import type { TrustStore } from "../pki/trust.ts";
import { tunnelViasOf } from "../transport/connect-tunnel.ts";
import { H2Client } from "../transport/h2client.ts";
import {
  API_PREFIX,
  N32cError,
  type N32cDeps,
  type N32cOperation,
  type N32cTarget,
  type TraceEvent,
} from "./core-types.ts";

/** What an exchange needs of N32cCore. */
export interface N32cClientHost {
  readonly deps: Pick<N32cDeps, "tls" | "resolveHost">;
  cfg(): SeppConfig;
  trust(): TrustStore;
  trace(e: TraceEvent): void;
}

/** The peer's configured N32-c endpoint. */
export function targetOf(peer: PeerConfig): N32cTarget {
  return { uri: peer.n32cUri, fqdn: peer.n32Fqdn };
}

/**
 * A new N32-c connection to the peer's configured N32-c URI (or `target`, a redirect), server verified (P9:
 * chains to the anchor of its PLMN IDs, names `target.fqdn`) and carrying one of the peer's PLMN IDs.
 */
export async function connect(
  core: N32cClientHost,
  peer: PeerConfig,
  target: N32cTarget = targetOf(peer),
): Promise<H2Client> {
  const cfg = core.cfg();
  let url = target.uri;
  const u = new URL(target.uri);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  // P11: through our RIs with HTTP CONNECT when configured (the RI resolves the host name then)
  const via = tunnelViasOf(peer.n32cVia, cfg.storage.dir, core.trust().riRoots);
  if (core.deps.resolveHost && !isIP(host) && via.length === 0) {
    const addr = await core.deps.resolveHost(host);
    u.hostname = isIP(addr) === 6 ? `[${addr}]` : addr;
    url = u.toString();
  }
  const client = await H2Client.connect({
    url,
    tls: core.deps.tls,
    trust: core.trust(),
    expectDnsName: target.fqdn,
    peerPlmnIds: peer.plmnIds,
    minVersion: peer.profile.allowTls12 ? "TLSv1.2" : "TLSv1.3",
    timeoutMs: cfg.n32c.requestTimeoutMs,
    via,
  });
  if (!client.peerPlmnIds.some((p) => peer.plmnIds.some((q) => samePlmn(p, q)))) {
    await client.close();
    throw new N32cError("NEGOTIATION_NOT_ALLOWED", "peer certificate carries none of the peer's configured PLMN IDs");
  }
  return client;
}

/**
 * POST one N32-c request on `client`. A 2xx body is validated against `rspSchema` before it is returned
 * (an invalid one throws); an error answer returns its ProblemDetails (when valid).
 */
export async function post<T>(
  core: N32cClientHost,
  client: H2Client,
  peer: PeerConfig,
  op: N32cOperation,
  body: unknown,
  reqSchema: N32SchemaName,
  rspSchema: N32SchemaName | null,
  target: N32cTarget = targetOf(peer),
): Promise<{ status: number; body: T | null; problem: ProblemDetails | null; location?: string }> {
  const cfg = core.cfg();
  core.trace({ direction: "sent", kind: "request", operation: op, schema: reqSchema, body });
  const base = new URL(target.uri).pathname.replace(/\/+$/, "");
  const res = await client.request("POST", `${base}${API_PREFIX}/${op}`, {
    headers: { "content-type": "application/json", accept: "application/json, application/problem+json" },
    body: JSON.stringify(body),
    timeoutMs: cfg.n32c.requestTimeoutMs,
    maxBodyBytes: cfg.n32c.maxBodyBytes,
  });
  const ct = (res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  let parsed: unknown;
  if (res.body.length) {
    try {
      parsed = JSON.parse(res.text());
    } catch {
      parsed = undefined;
    }
  }
  if (res.status >= 200 && res.status < 300) {
    if (!rspSchema) {
      core.trace({
        direction: "received",
        kind: "response",
        operation: op,
        schema: null,
        status: res.status,
        body: parsed ?? null,
      });
      return { status: res.status, body: null, problem: null };
    }
    if (ct !== "application/json" || parsed === undefined)
      throw new N32cError("MANDATORY_IE_INCORRECT", `${op}: peer answered ${res.status} without a JSON body`);
    const errs = validateBody(rspSchema, parsed);
    core.trace({
      direction: "received",
      kind: "response",
      operation: op,
      schema: rspSchema,
      status: res.status,
      body: parsed,
    });
    if (errs)
      throw new N32cError(
        errs.length && errs.every((e) => e.reason === "mandatory member missing")
          ? "MANDATORY_IE_MISSING"
          : "MANDATORY_IE_INCORRECT",
        `${op}: invalid ${rspSchema} from peer: ${errs.map((e) => e.param).join(", ")}`,
      );
    return { status: res.status, body: parsed as T, problem: null };
  }
  let problem: ProblemDetails | null = null;
  if (parsed !== undefined && validateBody("ProblemDetails", parsed) === null) problem = parsed as ProblemDetails;
  core.trace({
    direction: "received",
    kind: "response",
    operation: op,
    schema: problem ? "ProblemDetails" : null,
    status: res.status,
    body: parsed ?? null,
  });
  return { status: res.status, body: null, problem, location: res.headers.location };
}

/** One request over a fresh connection (the responder's own N32-c connection, terminate, error report). */
export async function sendOnce<T>(
  core: N32cClientHost,
  peer: PeerConfig,
  op: N32cOperation,
  body: unknown,
  reqSchema: N32SchemaName,
  rspSchema: N32SchemaName | null,
  target?: N32cTarget,
) {
  const client = await connect(core, peer, target);
  try {
    return await post<T>(core, client, peer, op, body, reqSchema, rspSchema, target);
  } finally {
    await client.close();
  }
}
