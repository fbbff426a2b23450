// src/n32c/responder.ts — the N32-c server side: hono routes under /n32c-handshake/v1/ (TS 29.573 5.2,
// 6.1; TS 33.501 13.2.2, 13.5) with every check of N32-PROFILE P7, P9, P10.
//
// Order of checks for every request: the client certificate (chains to the anchor of its PLMN IDs, P9;
// TLS 1.2 only where the peer allows it) → rate limit (429, per peer, or per connection for an unknown
// certificate) → content type (415) → size (413) → JSON (400) → schema (400 with invalidParams) → the
// operation's own checks. Nothing of the body is used before it validated.
import { Hono, type Context } from "hono";
import type { PeerConfig } from "../config/schema.ts";
import type {
  InvalidParam,
  N32fContextInfo,
  N32fErrorInfo,
  N32Purpose,
  SecNegotiateReqData,
  SecParamExchReqData,
  SecurityCapability,
} from "../model/n32.ts";
import { problem as mkProblem, PROBLEM_JSON } from "../problem.ts";
import { jsonNestedDeeperThan } from "../json-depth.ts";
import { problemCauseFor, validateBody, type N32SchemaName } from "../openapi/validate.ts";
import type { N32Env, ConnInfo } from "../transport/h2server.ts";
import type { JweEnc } from "../n32f/context.ts";
import { API_PREFIX, N32cError, plmnKeyOf, type Identity, type N32cCore, type N32cOperation } from "./core.ts";
import * as msg from "./messages.ts";
import { buildContext, exportMaster } from "./keys.ts";
import { comparePolicies } from "./policy.ts";
import { authorizedIpxIdOf, checkPeerRiSecInfo, ownRiSecInfo } from "./ri.ts";
import { TokenBuckets } from "./ratelimit.ts";

type Ctx = Context<{ Bindings: N32Env }>;

/** A responder-side parameter exchange, found by the initiator's context ID until its connection closes. */
interface Negotiation {
  peerId: string;
  localId: string;
  rejected: boolean;
  timer: ReturnType<typeof setTimeout>;
}

const MAX_NEGOTIATIONS = 256;
/** N32fErrorType values of TS 29.573 (the type itself is an extensible string). */
const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set([
  "INTEGRITY_CHECK_FAILED",
  "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
  "MODIFICATIONS_INSTRUCTIONS_FAILED",
  "DECIPHERING_FAILED",
  "MESSAGE_RECONSTRUCTION_FAILED",
  "CONTEXT_NOT_FOUND",
  "INTEGRITY_KEY_EXPIRED",
  "ENCRYPTION_KEY_EXPIRED",
  "POLICY_MISMATCH",
]);
const NEGOTIATION_TTL_MS = 60_000;

class Reply {
  constructor(
    readonly status: number,
    readonly response: Response,
  ) {}
}

export interface Responder {
  app: Hono<{ Bindings: N32Env }>;
  /** forget negotiations of a stopped service */
  stop(): void;
  /** last capability selected with a peer on exchange-capability (PRINS gates exchange-params) */
  selected: Map<string, SecurityCapability>;
}

/** Responder contexts kept per peer (current, one in its re-key grace, spares); a new one replaces the oldest. */
const MAX_RESPONDER_CONTEXTS_PER_PEER = 4;
/** N32-c bodies nest a few levels (the deepest, ProtectionPolicy, about 6); anything past this is refused. */
const MAX_BODY_DEPTH = 32;

export function createResponder(core: N32cCore): Responder {
  const app = new Hono<{ Bindings: N32Env }>();
  const buckets = new TokenBuckets(() => core.cfg().n32c.maxRequestsPerSecond, core.now);
  const negotiations = new Map<string, Negotiation>();
  const selected = new Map<string, SecurityCapability>();

  const send = (op: N32cOperation, status: number, schema: N32SchemaName | null, body: unknown): Reply => {
    core.trace({ direction: "sent", kind: "response", operation: op, schema, status, body: body ?? null });
    core.m.requests.inc({ operation: op, status: String(status) });
    if (body === null) return new Reply(status, new Response(null, { status }));
    return new Reply(
      status,
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }),
    );
  };

  const fail = (
    op: N32cOperation,
    status: number,
    cause: string,
    detail: string,
    invalidParams?: InvalidParam[],
    peerId?: string,
  ): Reply => {
    const p = msg.problemBody(mkProblem(status, cause, detail, invalidParams));
    core.trace({ direction: "sent", kind: "response", operation: op, schema: "ProblemDetails", status, body: p });
    core.m.requests.inc({ operation: op, status: String(status) });
    core.m.errors.inc({ cause });
    // an admission refusal (unknown or unauthorised partner, P7) is a security event (TS 33.117 4.2.3.6.1)
    core.log.every(`n32c-refused:${op}:${cause}:${peerId ?? "?"}`, 10_000, "warn", "N32-c request refused", {
      ...(cause === "NEGOTIATION_NOT_ALLOWED" ? { category: "security", event: "n32-admission-refused" } : {}),
      operation: op,
      status,
      cause,
      detail,
      peer: peerId,
    });
    return new Reply(status, new Response(JSON.stringify(p), { status, headers: { "content-type": PROBLEM_JSON } }));
  };

  /** Common checks; returns the validated body and the identified peer, or a Reply. */
  async function admit<T>(
    c: Ctx,
    op: N32cOperation,
    schema: N32SchemaName,
  ): Promise<Reply | { body: T; id: Extract<Identity, { ok: true }>; conn: ConnInfo }> {
    const conn = c.env?.conn;
    if (!conn) return fail(op, 500, "SYSTEM_FAILURE", "N32-c must be served by the N32 TLS listener");
    const id = core.identify(conn);
    if (!id.ok) {
      conn.close();
      return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", `client certificate refused: ${id.reason}`);
    }
    if (!buckets.take(id.peer ? `peer:${id.peer.id}` : `conn:${conn.id}`))
      return fail(op, 429, "NF_CONGESTION_RISK", "N32-c request rate limit exceeded", undefined, id.peer?.id);
    const ct = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (ct !== "application/json")
      return fail(op, 415, "UNSUPPORTED_MEDIA_TYPE", "content-type must be application/json", undefined, id.peer?.id);
    const max = core.cfg().n32c.maxBodyBytes;
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (raw.length > max) return fail(op, 413, "PAYLOAD_TOO_LARGE", `body over ${max} octets`, undefined, id.peer?.id);
    let parsed: unknown;
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
      if (jsonNestedDeeperThan(text, MAX_BODY_DEPTH))
        return fail(
          op,
          400,
          "MANDATORY_IE_INCORRECT",
          `body nested deeper than ${MAX_BODY_DEPTH} levels`,
          [{ param: "", reason: "too deep" }],
          id.peer?.id,
        );
      parsed = JSON.parse(text);
    } catch {
      return fail(
        op,
        400,
        "MANDATORY_IE_INCORRECT",
        "body is not UTF-8 JSON",
        [{ param: "", reason: "not JSON" }],
        id.peer?.id,
      );
    }
    const errs = validateBody(schema, parsed);
    core.trace({ direction: "received", kind: "request", operation: op, schema, body: parsed });
    if (errs) return fail(op, 400, problemCauseFor(errs), `${schema} does not match the schema`, errs, id.peer?.id);
    return { body: parsed as T, id, conn };
  }

  const route = <T>(
    op: N32cOperation,
    schema: N32SchemaName,
    h: (body: T, id: Extract<Identity, { ok: true }>, conn: ConnInfo) => Reply | Promise<Reply>,
  ) =>
    app.post(`${API_PREFIX}/${op}`, async (c) => {
      try {
        const a = await admit<T>(c as Ctx, op, schema);
        if (a instanceof Reply) return a.response;
        return (await h(a.body, a.id, a.conn)).response;
      } catch (e) {
        core.log.error("N32-c handler failed", { operation: op, error: e });
        return fail(op, 500, "SYSTEM_FAILURE", "internal error").response;
      }
    });

  const inPlmns = (list: { mcc: string; mnc: string }[], p: { mcc: string; mnc: string }) =>
    list.some((x) => plmnKeyOf(x) === plmnKeyOf(p));

  // ---- exchange-capability (TS 33.501 13.5, P7) ----
  route<SecNegotiateReqData>("exchange-capability", "SecNegotiateReqData", async (b, id) => {
    const op = "exchange-capability";
    const peer = core.peerByFqdn(b.sender);
    if (!peer) return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "sender is not a configured peer");
    const sender = b.sender.toLowerCase().replace(/\.$/, "");
    if (!id.dnsNames.some((n) => n.replace(/\.$/, "") === sender))
      return fail(
        op,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "sender is not a dNSName of the client certificate",
        undefined,
        peer.id,
      );
    if (!id.plmnIds.some((p) => inPlmns(peer.plmnIds, p)))
      return fail(
        op,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "client certificate carries none of the peer's PLMN IDs",
        undefined,
        peer.id,
      );
    for (const p of b.plmnIdList ?? []) {
      if (!inPlmns(id.plmnIds, p) || !inPlmns(peer.plmnIds, p))
        return fail(
          op,
          403,
          "NEGOTIATION_NOT_ALLOWED",
          `PLMN ${plmnKeyOf(p)} is not allowed for this sender`,
          [{ param: "/plmnIdList" }],
          peer.id,
        );
    }
    if (b.targetPlmnId && !inPlmns(core.cfg().identity.plmnIds, b.targetPlmnId))
      return fail(
        op,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "targetPlmnId is not served by this SEPP",
        [{ param: "/targetPlmnId" }],
        peer.id,
      );

    const list = b.supportedSecCapabilityList;
    if (list.length === 1 && list[0] === "NONE") return teardown(peer);

    const hasRis = peer.roamingIntermediaries.length > 0;
    const choice = list.find(
      (cap) =>
        (cap === "PRINS" || cap === "TLS") &&
        peer.securityCapabilities.includes(cap as "PRINS" | "TLS") &&
        !(cap === "TLS" && hasRis),
    );
    if (!choice) return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "no common security capability", undefined, peer.id);
    const intended = (b.intendedUsagePurpose ?? []).map((x) => x.usagePurpose as N32Purpose);
    const allowed = intended.filter((x) => peer.intendedUsagePurpose.includes(x as never));
    const rejected = intended.filter((x) => !peer.intendedUsagePurpose.includes(x as never));
    selected.set(peer.id, choice);
    if (choice === "TLS" && (intended.length === 0 || allowed.length > 0)) {
      core.status(peer.id).counters.responderHandshakes++;
      core.m.handshakes.inc({ peer: peer.id, result: "ok" });
      core.activate(peer.id, { capability: "TLS", role: "responder" }, null);
      core.log.info("N32 association active (TLS), as responder", { peer: peer.id });
    }
    return send(
      op,
      200,
      "SecNegotiateRspData",
      msg.secNegotiateRsp(core.me(), { selected: choice, allowed, rejected }),
    );
  });

  /** ["NONE"] from an established peer tears the association down (NFTLST, P7). */
  function teardown(peer: PeerConfig): Reply {
    const op = "exchange-capability";
    const cur = core.associations.get(peer.id);
    if (!cur)
      return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "NONE from a peer without an association", undefined, peer.id);
    core.associations.delete(peer.id);
    selected.delete(peer.id);
    if (cur.localContextId) core.dropContext(peer.id, cur.localContextId, "peer");
    else core.emit("context-terminated", { peerId: peer.id, capability: cur.capability, reason: "peer" });
    core.status(peer.id).counters.terminationsReceived++;
    core.setState(peer.id, "terminated", { localContextId: null, peerContextId: null, validUntil: null });
    core.log.info("N32 association torn down by the peer (NONE)", { peer: peer.id });
    return send(op, 200, "SecNegotiateRspData", msg.secNegotiateRsp(core.me(), { selected: "NONE" }));
  }

  // ---- exchange-params (TS 33.501 13.2.2.2, P7, P10) ----
  route<SecParamExchReqData>("exchange-params", "SecParamExchReqData", async (b, id, conn) => {
    const op = "exchange-params";
    const peer = id.peer;
    if (!peer) return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "client certificate names no configured peer");
    if (
      b.sender !== undefined &&
      b.sender.toLowerCase().replace(/\.$/, "") !== peer.n32Fqdn.toLowerCase().replace(/\.$/, "")
    )
      return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "sender is not the TLS peer", [{ param: "/sender" }], peer.id);
    if (selected.get(peer.id) !== "PRINS")
      return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "PRINS was not selected with this peer", undefined, peer.id);
    const key = `${peer.id}:${b.n32fContextId.toLowerCase()}`;
    const cfg = core.cfg();
    let enc: JweEnc | undefined;
    let neg = negotiations.get(key);

    if (b.jweCipherSuiteList !== undefined) {
      // cipher-suite round: first JWE suite of the initiator's list that we allow; ES256 for JWS (P7, P10)
      if (!(b.jwsCipherSuiteList ?? [msg.JWS_SUITE]).includes(msg.JWS_SUITE))
        return fail(
          op,
          403,
          "NEGOTIATION_NOT_ALLOWED",
          "jwsCipherSuiteList without ES256",
          [{ param: "/jwsCipherSuiteList" }],
          peer.id,
        );
      enc = b.jweCipherSuiteList.find((s): s is JweEnc => peer.jweCipherSuites.includes(s as JweEnc));
      if (!enc)
        return fail(
          op,
          403,
          "NEGOTIATION_NOT_ALLOWED",
          "no common JWE cipher suite",
          [{ param: "/jweCipherSuiteList" }],
          peer.id,
        );
      if (neg) finish(key, true);
      if (negotiations.size >= MAX_NEGOTIATIONS)
        return fail(op, 429, "NF_CONGESTION_RISK", "too many parameter exchanges in progress", undefined, peer.id);
      // bounded per peer: a peer that keeps negotiating (or lost its state) replaces its oldest responder
      // contexts instead of filling the store that every peer shares
      const older = core.deps.contexts
        .byPeer(peer.id)
        .filter((c) => c.role === "responder")
        .sort((x, y) => x.createdAt - y.createdAt);
      for (let i = 0; i <= older.length - MAX_RESPONDER_CONTEXTS_PER_PEER; i++)
        core.dropContext(peer.id, older[i]!.localContextId, "rekey");
      const localId = core.deps.contexts.newContextId();
      const master = exportMaster(conn, conn.protocol, peer);
      try {
        const ctx = buildContext({
          role: "responder",
          localContextId: localId,
          peerContextId: b.n32fContextId,
          initiatorContextId: b.n32fContextId,
          enc,
          master,
          peer,
          remotePlmnIds: id.plmnIds,
          localPolicy: peer.protectionPolicy,
          ownRis: ownRiSecInfo(peer, cfg.storage.dir),
          peerRis: [],
          authorizedIpxId: authorizedIpxIdOf(peer),
          engine: core.deps.aead,
          validitySeconds: cfg.n32c.contextValiditySeconds,
          rekeySeqThreshold: cfg.n32c.rekeySeqThreshold,
          rekeyMarginSeconds: cfg.n32c.rekeyMarginSeconds,
          now: core.now,
        });
        core.deps.contexts.add(ctx);
        neg = { peerId: peer.id, localId, rejected: false, timer: setTimeout(() => finish(key), NEGOTIATION_TTL_MS) };
        neg.timer.unref?.();
        negotiations.set(key, neg);
        conn.onClose(() => finish(key));
        core.status(peer.id).counters.responderHandshakes++;
        core.m.handshakes.inc({ peer: peer.id, result: "ok" });
        core.activate(
          peer.id,
          { capability: "PRINS", role: "responder", localContextId: localId, peerContextId: b.n32fContextId, enc },
          ctx.validUntil,
        );
        core.log.info("N32-f context created, as responder", {
          peer: peer.id,
          localContextId: localId,
          peerContextId: b.n32fContextId,
          enc,
        });
      } catch (e) {
        core.deps.contexts.releaseContextId(localId);
        throw e;
      } finally {
        master.fill(0);
      }
    } else if (!neg) {
      return fail(
        op,
        404,
        "CONTEXT_NOT_FOUND",
        "no parameter exchange with this n32fContextId",
        [{ param: "/n32fContextId" }],
        peer.id,
      );
    }
    if (neg.rejected)
      return fail(
        op,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "parameter exchange rejected (policy mismatch)",
        undefined,
        peer.id,
      );
    const ctx = core.deps.contexts.get(neg.localId);
    if (!ctx)
      return fail(
        op,
        404,
        "CONTEXT_NOT_FOUND",
        "the N32-f context of this exchange is gone",
        [{ param: "/n32fContextId" }],
        peer.id,
      );

    if (b.ipxProviderSecInfoList) {
      const err = checkPeerRiSecInfo(b.ipxProviderSecInfoList, core.trust(), new Date(core.now()));
      if (err) {
        core.dropContext(peer.id, neg.localId, "local", "failed");
        finish(key, true);
        core.recordError(peer.id, "NEGOTIATION_NOT_ALLOWED", err);
        return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", err, [{ param: "/ipxProviderSecInfoList" }], peer.id);
      }
      ctx.association.peerRis = b.ipxProviderSecInfoList;
    }
    if (b.protectionPolicyInfo) {
      ctx.association.peerPolicy = b.protectionPolicyInfo;
      const mismatch = peer.partnerPolicy ? comparePolicies(b.protectionPolicyInfo, peer.partnerPolicy) : [];
      if (mismatch.length) {
        core.log.warn("protection policy mismatch (TS 33.501 13.2.3.6)", {
          peer: peer.id,
          policyMismatchList: mismatch,
          reaction: peer.profile.onPolicyMismatch,
        });
        if (peer.profile.onPolicyMismatch === "reject") {
          neg.rejected = true;
          core.dropContext(peer.id, neg.localId, "policy-mismatch", "failed");
          core.recordError(peer.id, "POLICY_MISMATCH", "the peer's protection policy differs from the agreed one");
          // P7/P10: n32f-error over our own N32-c connection toward the initiator, before we answer
          await reportPolicyMismatch(peer, b.n32fContextId, mismatch);
          return fail(op, 403, "POLICY_MISMATCH", "protection policy differs from the agreed one", mismatch, peer.id);
        }
      }
    }
    return send(
      op,
      200,
      "SecParamExchRspData",
      msg.secParamExchRsp({
        n32fContextId: neg.localId,
        sender: cfg.identity.n32Fqdn,
        jweSuite: enc,
        policy: b.protectionPolicyInfo ? peer.protectionPolicy : undefined,
        // our RIs (when we have any) in the answer to the cipher-suite round and to the RI round: an initiator
        // without own RIs sends no RI round, yet must learn ours (SecParamExchRspData carries the list in any
        // answer; docs/N32C.md "RI information")
        ris: b.ipxProviderSecInfoList || b.jweCipherSuiteList !== undefined ? ctx.association.ownRis : undefined,
      }),
    );
  });

  async function reportPolicyMismatch(
    peer: PeerConfig,
    initiatorContextId: string,
    mismatch: InvalidParam[],
  ): Promise<void> {
    const body = msg.n32fErrorInfo({
      type: "POLICY_MISMATCH",
      receiverContextId: initiatorContextId,
      policyMismatchList: mismatch,
    });
    try {
      const r = await core.sendOnce(peer, "n32f-error", body, "N32fErrorInfo", null);
      core.status(peer.id).counters.errorsSent++;
      if (r.status !== 204)
        core.log.warn("n32f-error not accepted by the peer", {
          peer: peer.id,
          status: r.status,
          cause: r.problem?.cause,
        });
    } catch (e) {
      core.log.every(`n32f-error-send:${peer.id}`, 10_000, "warn", "could not send n32f-error to the peer", {
        peer: peer.id,
        error: e,
      });
    }
  }

  function finish(key: string, discard = false): void {
    const n = negotiations.get(key);
    if (!n) return;
    clearTimeout(n.timer);
    negotiations.delete(key);
    if (discard && !n.rejected) core.dropContext(n.peerId, n.localId, "local");
  }

  // ---- n32f-terminate (P7, P10) ----
  route<N32fContextInfo>("n32f-terminate", "N32fContextInfo", (b, id) => {
    const op = "n32f-terminate";
    const peer = id.peer;
    if (!peer) return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "client certificate names no configured peer");
    const ctx = core.deps.contexts.get(b.n32fContextId);
    if (!ctx || ctx.peerId !== peer.id)
      return fail(op, 404, "CONTEXT_NOT_FOUND", "unknown n32fContextId", [{ param: "/n32fContextId" }], peer.id);
    const requesterId = ctx.peerContextId;
    core.dropContext(peer.id, ctx.localContextId, "peer");
    core.status(peer.id).counters.terminationsReceived++;
    core.log.info("N32-f context terminated by the peer", { peer: peer.id, localContextId: ctx.localContextId });
    return send(op, 200, "N32fContextInfo", msg.n32fContextInfo(requesterId));
  });

  // ---- n32f-error (P7, P10) ----
  route<N32fErrorInfo>("n32f-error", "N32fErrorInfo", (b, id) => {
    const op = "n32f-error";
    const peer = id.peer;
    if (!peer) return fail(op, 403, "NEGOTIATION_NOT_ALLOWED", "client certificate names no configured peer");
    let ctxId: string | undefined;
    if (b.n32fContextId !== undefined) {
      const ctx = core.deps.contexts.get(b.n32fContextId);
      const pending = core.initiatorPending.get(b.n32fContextId.toLowerCase());
      if (ctx && ctx.peerId === peer.id) ctxId = ctx.localContextId;
      else if (pending && pending.peerId === peer.id) {
        if (b.n32fErrorType === "POLICY_MISMATCH") pending.rejected = b.policyMismatchList ?? [];
      } else return fail(op, 404, "CONTEXT_NOT_FOUND", "unknown n32fContextId", [{ param: "/n32fContextId" }], peer.id);
    }
    core.status(peer.id).counters.errorsReceived++;
    // the type is an extensible string: an unknown one counts as "OTHER", never as a metric label of its own
    const type = KNOWN_ERROR_TYPES.has(b.n32fErrorType) ? b.n32fErrorType : "OTHER";
    core.log.every(`n32f-error-rx:${peer.id}:${type}`, 10_000, "warn", "n32f-error received", {
      peer: peer.id,
      n32fErrorType: b.n32fErrorType.slice(0, 64),
      n32fMessageId: b.n32fMessageId.slice(0, 32),
      n32fContextId: b.n32fContextId,
    });
    // the status shows what the peer reported (GET /v1/peers/{id}/n32 lastError). The reaction to CONTEXT_NOT_FOUND /
    // ENCRYPTION_KEY_EXPIRED about our current context (a new handshake) is the composition's (src/sepp.ts); it joins
    // a handshake already in progress with that peer (PeerInitiator.handshake), as does the rekey timer.
    if (type !== "POLICY_MISMATCH")
      core.recordError(
        peer.id,
        type,
        `the peer reported ${JSON.stringify(b.n32fErrorType.slice(0, 64))} (n32f-error) for context ${b.n32fContextId ?? "-"}, message ${b.n32fMessageId.slice(0, 32)}`,
      );
    if (b.n32fErrorType === "POLICY_MISMATCH") {
      core.recordError(peer.id, "POLICY_MISMATCH", "the peer reported a protection policy mismatch");
      if (ctxId) {
        for (const n of negotiations.values()) if (n.localId === ctxId) n.rejected = true;
        core.dropContext(peer.id, ctxId, "policy-mismatch", "failed");
      }
    }
    core.emit("error-report", { peerId: peer.id, info: b });
    return send(op, 204, null, null);
  });

  app.notFound((c) => {
    const p = msg.problemBody(mkProblem(404, "RESOURCE_NOT_FOUND", "no such N32-c resource"));
    return c.newResponse(JSON.stringify(p), 404, { "content-type": PROBLEM_JSON });
  });

  return {
    app,
    selected,
    stop() {
      for (const k of [...negotiations.keys()]) finish(k);
    },
  };
}

export { N32cError };
