// src/transport/h2/stream.ts — the limits of the HTTP/2 layer on Bun's sockets and the state of one stream (RFC 9113
// §5.1): what conn.ts keeps per request while its fields and body arrive and its answer leaves.
import { asBuffer } from "../../bytes.ts";
import type { AsciiText } from "../../ascii-text.ts";
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce (server role) */
  maxConcurrentStreams: number;
  /** our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE) and the connection's */
  streamWindow: number;
  connectionWindow: number;
  /** a request body beyond this is refused (RST_STREAM CANCEL); a client's request may set a lower cap */
  maxBody: number;
  /** decoded header list size (RFC 7541 §4.1 sizes), and the octets of one header block */
  maxHeaderList: number;
  /**
   * server role: the octets of incomplete request bodies that all connections sharing this object may hold (one per
   * listener: listener.ts, h2server.ts); each connection alone holds at most its receive window (conn.ts)
   */
  bodyBudget?: BodyBudget;
}

/** What the connections of one listener hold of incomplete request bodies, and the most they may. */
export interface BodyBudget {
  readonly max: number;
  held: number;
}

/** a listener's budget: 8 connections' windows (128 MB by default), far more than any legitimate burst needs */
export function bodyBudget(connectionWindow = DEFAULT_CONNECTION_WINDOW): BodyBudget {
  return { max: 8 * connectionWindow, held: 0 };
}

const DEFAULT_CONNECTION_WINDOW = 16 << 20;
export const DEFAULT_H2_LIMITS: H2Limits = {
  maxConcurrentStreams: 1000,
  streamWindow: 1 << 20,
  connectionWindow: DEFAULT_CONNECTION_WINDOW,
  maxBody: 16 << 20,
  maxHeaderList: 65536,
};

/** Why a request got no response (client role). */
export type H2Failure =
  | "closed"
  | "reset"
  | "refused"
  | "too-large"
  | "malformed"
  | "cancelled"
  | "timeout"
  /** the request's header fields are over the peer's SETTINGS_MAX_HEADER_LIST_SIZE: not sent */
  | "fields-too-large";

export class H2StreamError extends Error {
  override name = "H2StreamError";
  constructor(
    readonly kind: H2Failure,
    message: string,
  ) {
    super(message);
  }
}

/** A response or the reason there is none: fields are [name, value, …] as received, :status first. */
export type OnResponse = (err: H2StreamError | null, fields: string[], body: Buffer | null) => void;

/**
 * A body to send: octets, text that leaves as UTF-8, or ASCII text in pieces; text is written straight into the
 * connection's buffer when it fits one DATA frame (no Buffer of its own: an n32f-process body made as text would
 * otherwise be one more 4-30 KB allocation per message), pieces one after the other (never joined).
 */
export type OutBody = Buffer | string | AsciiText;

/** A message body as the callers hold it → what the connection sends: none when empty, text as it is, octets as a Buffer. */
export function outBodyOf(b: Uint8Array | string | AsciiText | undefined): OutBody | null {
  if (!b || b.length === 0) return null;
  return b instanceof Uint8Array ? asBuffer(b) : b;
}

/** A request waiting for a stream (the peer's SETTINGS_MAX_CONCURRENT_STREAMS), or sent again after REFUSED_STREAM. */
export interface Queued {
  fields: string[];
  body: OutBody | null;
  cb: OnResponse;
  maxBody: number;
  tries: number;
}

export interface Stream {
  id: number;
  sendWindow: number;
  recvUnacked: number;
  fields: string[] | null;
  chunks: Buffer[];
  size: number;
  /** server role: octets of `chunks` counted against the connection's bound (core.ts _held) */
  held: number;
  /** client role: informational (1xx) responses received */
  informational: number;
  /** data waiting for send window, and whether END_STREAM follows it */
  pending: Buffer | null;
  pendingEnd: boolean;
  /** in the connection's list of streams waiting for a window (core.ts _blocked) */
  blocked: boolean;
  /** the most body octets this stream may receive */
  maxBody: number;
  /** server role: END_STREAM received (the request is complete) */
  complete: boolean;
  /** client role: the request, sent again when the server refuses the stream unprocessed (REFUSED_STREAM, §8.7) */
  req: Queued | null;
}

export function newStream(id: number, sendWindow: number, maxBody: number): Stream {
  return {
    id,
    sendWindow,
    maxBody,
    complete: false,
    recvUnacked: 0,
    fields: null,
    chunks: [],
    size: 0,
    held: 0,
    informational: 0,
    pending: null,
    pendingEnd: false,
    blocked: false,
    req: null,
  };
}

/** Fails a request: its callback gets the reason, once. */
export function fail(cb: OnResponse, kind: H2Failure, msg: string): void {
  cb(new H2StreamError(kind, msg), [], null);
}
