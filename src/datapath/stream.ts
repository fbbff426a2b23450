// src/datapath/stream.ts — reading one request from a node:http2 server stream into an InboundRequest:
// bounded body (413 before reading more), bounded header count, a timeout for the body, and an AbortSignal
// that fires when the client cancels the stream (so the upstream request is cancelled too).
import http2 from "node:http2";
import { problem, PROBLEM_JSON } from "../problem.ts";
import { headersFrom, type InboundRequest } from "./http.ts";
import type { CancelSignal } from "../transport/h2client.ts";
import { armTimer, disarmTimer } from "../timers.ts";

export interface ReadLimits {
  maxBodyBytes: number;
  maxHeaders: number;
  timeoutMs: number;
}

const EMPTY = new Uint8Array(0);
/** Stream errors end in "close" (handled below); one shared listener keeps them from being thrown. */
const ignore = () => {};

export function sendProblem(stream: http2.ServerHttp2Stream, status: number, cause: string, detail: string): void {
  if (stream.destroyed || stream.closed) return;
  try {
    if (!stream.headersSent) stream.respond({ ":status": status, "content-type": PROBLEM_JSON });
    stream.end(JSON.stringify(problem(status, cause, detail)));
  } catch {
    stream.destroy();
  }
}

/**
 * The cancellation of one inbound request (its client left before the answer): what the clients need of an
 * AbortSignal (aborted, abort listeners), in plain JS: no native AbortController and EventTarget per request.
 * Like an AbortSignal, it fires once, and a listener added after that is never called.
 */
export class StreamCancel implements CancelSignal {
  aborted = false;
  #listeners: Array<() => void> | null = null;

  /** `options` is accepted for AbortSignal compatibility: every listener runs at most once anyway. */
  addEventListener(_type: "abort", listener: () => void, _options?: { once?: boolean }): void {
    if (!this.aborted) (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const l = this.#listeners;
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l!.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.#listeners;
    this.#listeners = null;
    if (!l) return;
    for (const f of l) {
      try {
        f();
      } catch {
        // as with EventTarget, one failing listener does not keep the others from running
      }
    }
  }
}

/** Read the request; calls `done` once with the request, or answers the stream itself (4xx) and never calls it. */
export function readInbound(
  stream: http2.ServerHttp2Stream,
  h: http2.IncomingHttpHeaders,
  scheme: string,
  limits: ReadLimits,
  done: (req: InboundRequest) => void,
): void {
  stream.on("error", ignore);
  const method = String(h[":method"] ?? "");
  const path = String(h[":path"] ?? "");
  const authority = String(h[":authority"] ?? h.host ?? "");
  if (!method || !path.startsWith("/") || !authority) {
    sendProblem(stream, 400, "MANDATORY_IE_MISSING", ":method, :path and :authority are required");
    return;
  }
  const headers = headersFrom(h);
  if (headers.length > limits.maxHeaders) {
    sendProblem(stream, 431, "MANDATORY_IE_INCORRECT", `more than ${limits.maxHeaders} headers`);
    return;
  }
  const declared = h["content-length"];
  if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
    sendProblem(stream, 413, "PAYLOAD_TOO_LARGE", `body over ${limits.maxBodyBytes} octets`);
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
    return;
  }
  const ac = new StreamCancel();
  if (stream.endAfterHeaders) {
    // END_STREAM on HEADERS (a GET, most SBI requests): no body to wait for, no timer, no read (RFC 9113 8.1)
    stream.on("close", () => {
      // the client went away before we answered: cancel the upstream request (no DOMException otherwise)
      if (!stream.headersSent) ac.abort();
    });
    done({ method, scheme: String(h[":scheme"] ?? scheme), authority, path, headers, body: EMPTY, signal: ac });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const timer = armTimer(() => {
    if (finished) return;
    finished = true;
    sendProblem(stream, 408, "TIMED_OUT_REQUEST", "request body not received in time");
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }, limits.timeoutMs);
  stream.on("data", (c: Buffer) => {
    if (finished) return;
    size += c.length;
    if (size > limits.maxBodyBytes) {
      finished = true;
      disarmTimer(timer);
      chunks.length = 0;
      sendProblem(stream, 413, "PAYLOAD_TOO_LARGE", `body over ${limits.maxBodyBytes} octets`);
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    chunks.push(c);
  });
  stream.on("close", () => {
    disarmTimer(timer);
    finished = true;
    if (!stream.headersSent) ac.abort();
  });
  stream.on("end", () => {
    if (finished) return;
    finished = true;
    disarmTimer(timer);
    const body = size === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    done({ method, scheme: String(h[":scheme"] ?? scheme), authority, path, headers, body, signal: ac });
  });
}
