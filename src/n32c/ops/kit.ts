// src/n32c/ops/kit.ts — what every N32-c operation handler of the responder shares (TS 29.573 5.2, 6.1;
// N32-PROFILE P7, P9, P10): the admission steps run before any handler, the answer writers, and the state
// the handlers share (parameter exchanges in progress, the capability selected per peer).
//
// Admission, in this order, for every request: the client certificate (chains to the anchor of its PLMN IDs,
// P9; TLS 1.2 only where the peer allows it) → rate limit (429, per peer, or per connection for an unknown
// certificate) → content type (415) → size (413) → nesting depth and JSON (400) → schema (400 with
// invalidParams). Nothing of the body is used before it validated.
import type { Context } from "hono";
import { jsonNestedDeeperThan } from "../../json-depth.ts";
import type { InvalidParam, SecurityCapability } from "../../model/n32.ts";
import { type N32SchemaName, problemCauseFor, validateBody } from "../../openapi/validate.ts";
import { problem as mkProblem, PROBLEM_JSON } from "../../problem.ts";
import type { ConnInfo, N32Env } from "../../transport/h2server.ts";
import type { Identity, N32cOperation } from "../core-types.ts";
import { samePlmn } from "../../model/plmn.ts";
import type { N32cCore } from "../core.ts";
import * as msg from "../messages.ts";
import type { PeerAnnouncement } from "../messages.ts";
import type { TokenBuckets } from "../ratelimit.ts";

export type Ctx = Context<{ Bindings: N32Env }>;
export type Admitted = Extract<Identity, { ok: true }>;

/** An answer of the responder (status kept for tests and metrics). */
export class Reply {
  constructor(
    readonly status: number,
    readonly response: Response,
  ) {}
}

/** A responder-side parameter exchange, found by the initiator's context ID until its connection closes. */
export interface Negotiation {
  peerId: string;
  localId: string;
  rejected: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/** N32-c bodies nest a few levels (the deepest, ProtectionPolicy, about 6); anything past this is refused. */
const MAX_BODY_DEPTH = 32;

/** The responder's shared state and answer writers, handed to each operation handler. */
export class ResponderKit {
  /** responder-side parameter exchanges by `${peerId}:${initiator context ID}` */
  readonly negotiations = new Map<string, Negotiation>();
  /** last capability selected with a peer on exchange-capability (PRINS gates exchange-params) */
  readonly selected = new Map<string, SecurityCapability>();
  /** what the initiator announced on that exchange-capability (its N32-f endpoint, P11), per peer */
  readonly announced = new Map<string, PeerAnnouncement>();

  constructor(
    readonly core: N32cCore,
    private readonly buckets: TokenBuckets,
  ) {}

  /** A 2xx answer (body validated by its builder). */
  send(op: N32cOperation, status: number, schema: N32SchemaName | null, body: unknown): Reply {
    const core = this.core;
    core.trace({ direction: "sent", kind: "response", operation: op, schema, status, body: body ?? null });
    core.m.requests.inc({ operation: op, status: String(status) });
    if (body === null) return new Reply(status, new Response(null, { status }));
    return new Reply(
      status,
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }),
    );
  }

  /** 307 with `location` (exchange-capability redirect to another SEPP of our PLMN, TS 29.573 Rel-18; P11). */
  redirect(op: N32cOperation, location: string): Reply {
    const core = this.core;
    core.trace({ direction: "sent", kind: "response", operation: op, schema: null, status: 307, body: null });
    core.m.requests.inc({ operation: op, status: "307" });
    return new Reply(307, new Response(null, { status: 307, headers: { location } }));
  }

  /** A ProblemDetails answer (P7 causes), counted and logged once per 10 s per operation, cause and peer. */
  fail(
    op: N32cOperation,
    status: number,
    cause: string,
    detail: string,
    invalidParams?: InvalidParam[],
    peerId?: string,
    headers?: Record<string, string>,
  ): Reply {
    const core = this.core;
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
    return new Reply(
      status,
      new Response(JSON.stringify(p), { status, headers: { "content-type": PROBLEM_JSON, ...headers } }),
    );
  }

  /** The admission steps common to every operation; the validated body and the identified peer, or a Reply. */
  async admit<T>(
    c: Ctx,
    op: N32cOperation,
    schema: N32SchemaName,
  ): Promise<Reply | { body: T; id: Admitted; conn: ConnInfo }> {
    const core = this.core;
    const conn = c.env?.conn;
    if (!conn) return this.fail(op, 500, "SYSTEM_FAILURE", "N32-c must be served by the N32 TLS listener");
    const id = core.identify(conn);
    if (!id.ok) {
      conn.close();
      return this.fail(op, 403, "NEGOTIATION_NOT_ALLOWED", `client certificate refused: ${id.reason}`);
    }
    const peerId = id.peer?.id;
    if (!this.buckets.take(id.peer ? `peer:${id.peer.id}` : `conn:${conn.id}`))
      return this.fail(op, 429, "NF_CONGESTION_RISK", "N32-c request rate limit exceeded", undefined, peerId);
    const ct = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (ct !== "application/json")
      return this.fail(op, 415, "UNSUPPORTED_MEDIA_TYPE", "content-type must be application/json", undefined, peerId);
    const max = core.cfg().n32c.maxBodyBytes;
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (raw.length > max) return this.fail(op, 413, "PAYLOAD_TOO_LARGE", `body over ${max} octets`, undefined, peerId);
    let parsed: unknown;
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
      if (jsonNestedDeeperThan(text, MAX_BODY_DEPTH))
        return this.fail(
          op,
          400,
          "MANDATORY_IE_INCORRECT",
          `body nested deeper than ${MAX_BODY_DEPTH} levels`,
          [{ param: "", reason: "too deep" }],
          peerId,
        );
      parsed = JSON.parse(text);
    } catch {
      return this.fail(
        op,
        400,
        "MANDATORY_IE_INCORRECT",
        "body is not UTF-8 JSON",
        [{ param: "", reason: "not JSON" }],
        peerId,
      );
    }
    const errs = validateBody(schema, parsed);
    core.trace({ direction: "received", kind: "request", operation: op, schema, body: parsed });
    if (errs) return this.fail(op, 400, problemCauseFor(errs), `${schema} does not match the schema`, errs, peerId);
    return { body: parsed as T, id, conn };
  }

  /** End a parameter exchange (connection closed, TTL, replaced); `discard` also drops its context. */
  finish(key: string, discard = false): void {
    const n = this.negotiations.get(key);
    if (!n) return;
    clearTimeout(n.timer);
    this.negotiations.delete(key);
    if (discard && !n.rejected) this.core.dropContext(n.peerId, n.localId, "local");
  }
}

/** One N32-c operation: the validated body, who sent it, on which connection. */
export type OperationHandler<T> = (kit: ResponderKit, body: T, id: Admitted, conn: ConnInfo) => Reply | Promise<Reply>;

export const inPlmns = (list: { mcc: string; mnc: string }[], p: { mcc: string; mnc: string }) =>
  list.some((x) => samePlmn(x, p));
