// src/n32c/core-types.ts — the shapes N32-c shares (src/n32c/core.ts and everything built on it): operations,
// per-peer status (GET /v1/peers/{id}/n32), events, dependencies, associations, identities, N32cError.
import type { AeadEngine } from "../../hw/aead.ts";
import type { ContextShare } from "./keys.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../metrics.ts";
import type { InvalidParam, N32fErrorInfo, PlmnId } from "../model/n32.ts";
import type { N32fContextStore } from "../n32f/context-store.ts";
import type { N32SchemaName } from "../openapi/validate.ts";
import { SeppError } from "../errors.ts";
import type { PeerAnnouncement } from "./messages.ts";

export const API_PREFIX = "/n32c-handshake/v1";
export type N32cOperation = "exchange-capability" | "exchange-params" | "n32f-terminate" | "n32f-error";

/** States of a peer's N32 association (GET /v1/peers/{id}/n32). */
export type N32State =
  | "idle"
  | "connecting"
  | "negotiating"
  | "params"
  | "active-prins"
  | "active-tls"
  | "backoff"
  | "terminated"
  | "failed";

export interface PeerN32Status {
  peerId: string;
  peerFqdn: string;
  /** our N32-c role in the current (or last) association */
  role: "initiator" | "responder" | null;
  state: N32State;
  /** epoch ms of the last state change */
  since: number;
  capability: "PRINS" | "TLS" | null;
  jweCipherSuite: string | null;
  /** IDs only, never keys */
  localContextId: string | null;
  peerContextId: string | null;
  validUntil: number | null;
  counters: {
    attempts: number;
    successes: number;
    failures: number;
    responderHandshakes: number;
    terminationsSent: number;
    terminationsReceived: number;
    errorsSent: number;
    errorsReceived: number;
  };
  lastError: { at: number; cause: string; detail: string } | null;
  nextRetryAt: number | null;
}

export interface ContextActiveEvent {
  peerId: string;
  capability: "PRINS" | "TLS";
  role: "initiator" | "responder";
  localContextId?: string;
  peerContextId?: string;
}
export interface ContextTerminatedEvent {
  peerId: string;
  capability: "PRINS" | "TLS";
  localContextId?: string;
  reason: "local" | "peer" | "rekey" | "expired" | "policy-mismatch" | "removed" | "stopped";
}
export interface ErrorReportEvent {
  peerId: string;
  info: N32fErrorInfo;
}
export interface N32cEvents {
  "context-active": ContextActiveEvent;
  "context-terminated": ContextTerminatedEvent;
  "error-report": ErrorReportEvent;
}

/** Every N32-c body sent or received (tests re-validate them; never contains keys). */
export interface TraceEvent {
  direction: "sent" | "received";
  kind: "request" | "response";
  operation: N32cOperation;
  schema: N32SchemaName | null;
  status?: number;
  body: unknown;
}

export interface N32cDeps {
  config: () => SeppConfig;
  tls: { key: string; cert: string };
  log: Logger;
  metrics: Registry;
  contexts: N32fContextStore;
  aead: AeadEngine;
  /** data-path workers (src/workers/pool.ts): every new N32-f context is handed to them with a shared block */
  shareContext?: ContextShare;
  now?: () => number;
  /** our N32-f port as bound (announced as senderN32fPort); omitted when unknown */
  n32fPort?: () => number | undefined;
  /** how long an old context stays after a re-handshake (default 5000 ms) */
  retireGraceMs?: number;
  /** test hook: every body sent/received */
  trace?: (e: TraceEvent) => void;
  /**
   * The address to connect to for an N32-c host name (default: the system resolver, inside the TLS connect). The
   * certificate is still checked against the name (SNI and dNSName = the host). Tests map redirect targets to
   * 127.0.0.1 with it.
   */
  resolveHost?: (host: string) => string | Promise<string>;
}

/** An N32-c endpoint: apiRoot and the dNSName its certificate must carry (the peer's, or a redirect target's). */
export interface N32cTarget {
  /** https://host[:port][/prefix] */
  uri: string;
  fqdn: string;
}

/**
 * An N32-c exchange that failed: `code` is the cause recorded in the peer's status (lastError.cause): the peer's
 * ProblemDetails cause, `HTTP_<status>`, or ours (P7). Status 502: the peer, not our client, failed.
 */
export class N32cError extends SeppError {
  override name = "N32cError";
  constructor(code: string, detail: string) {
    super(code, detail, { status: code === "RESOURCE_NOT_FOUND" ? 404 : 502 });
  }
}

/** The active association with a peer (one per peer: the latest). */
export interface Association {
  capability: "PRINS" | "TLS";
  role: "initiator" | "responder";
  localContextId?: string;
  peerContextId?: string;
  enc?: string;
  /** the N32-c endpoint this association was negotiated with when a 307 redirected us (else the peer's n32cUri) */
  n32c?: N32cTarget;
  /** what the SEPP we negotiated with announced in exchange-capability: N32-f goes there (P11, n32f-endpoint.ts) */
  announced?: PeerAnnouncement;
}

export type Identity =
  | { ok: true; peer: PeerConfig | null; plmnIds: PlmnId[]; dnsNames: string[] }
  | { ok: false; reason: string };

/** An initiator's handshake in progress, findable by our context ID (an n32f-error POLICY_MISMATCH may arrive). */
export interface InitiatorPending {
  peerId: string;
  rejected: InvalidParam[] | null;
}

/** An N32-c error answer as an N32cError: the peer's ProblemDetails cause, else `HTTP_<status>`. */
export function fromProblem(
  op: string,
  r: { status: number; problem: { cause?: string; detail?: string } | null },
): N32cError {
  return new N32cError(
    r.problem?.cause ?? `HTTP_${r.status}`,
    `${op}: peer answered ${r.status}${r.problem?.detail ? `: ${r.problem.detail}` : ""}`,
  );
}
