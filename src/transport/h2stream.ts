// src/transport/h2stream.ts — the one bounded reader of an HTTP/2 request body and the one ProblemDetails writer
// on a node:http2 server stream, shared by the N32 listener (h2server.ts) and the data path (datapath/stream.ts).
// Bounds: a declared content-length over the cap is answered 413 before any read, the body is counted as it
// arrives (413 at the first octet over the cap, nothing kept), and the whole body must arrive within the timeout
// (408). Timers are counted (timers.ts), so the leak tests see every one of them come back.
import http2 from "node:http2";
import { problem, PROBLEM_JSON } from "../problem.ts";
import { armTimer, disarmTimer } from "../timers.ts";

export interface BodyLimits {
  /** request body cap in octets (413 above) */
  maxBodyBytes: number;
  /** the whole body must have arrived within this (408 after) */
  timeoutMs: number;
}

const EMPTY = new Uint8Array(0);

/** Answer a stream with a ProblemDetails (TS 29.571) and end it; a no-op when the stream is gone. */
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
 * Read the request body of `stream`. Calls `done` once with the body (one chunk as is, several concatenated,
 * none: an empty array), or answers the stream itself (413, 408) and never calls it. `onClose`, when given, runs
 * when the stream closes (the client may have left before the answer). A request with END_STREAM on its HEADERS
 * (most SBI requests, RFC 9113 8.1) has no body to wait for: no timer, no read.
 */
export function readBody(
  stream: http2.ServerHttp2Stream,
  declaredLength: string | undefined,
  limits: BodyLimits,
  done: (body: Uint8Array) => void,
  onClose?: () => void,
): void {
  const max = limits.maxBodyBytes;
  if (declaredLength !== undefined && Number(declaredLength) > max) {
    sendProblem(stream, 413, "PAYLOAD_TOO_LARGE", `body over ${max} octets`);
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
    return;
  }
  if (stream.endAfterHeaders) {
    if (onClose) stream.on("close", onClose);
    done(EMPTY);
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
    if (size > max) {
      finished = true;
      disarmTimer(timer);
      chunks.length = 0;
      sendProblem(stream, 413, "PAYLOAD_TOO_LARGE", `body over ${max} octets`);
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    chunks.push(c);
  });
  stream.on("close", () => {
    disarmTimer(timer);
    finished = true;
    onClose?.();
  });
  stream.on("end", () => {
    if (finished) return;
    finished = true;
    disarmTimer(timer);
    done(size === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
}
