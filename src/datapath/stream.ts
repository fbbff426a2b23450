// src/datapath/stream.ts — reading one request from a node:http2 server stream into an InboundRequest:
// bounded header count, the body through the shared bounded reader (transport/h2stream.ts: 413, 408), and a
// cancellation that fires when the client cancels the stream (so the upstream request is cancelled too).
import type http2 from "node:http2";
import { readBody, sendProblem, type BodyLimits } from "../transport/h2stream.ts";
import { headersFrom, type InboundRequest } from "./http.ts";
import { StreamCancel } from "../transport/h2/cancel.ts";

export { StreamCancel };

export { sendProblem };

export interface ReadLimits extends BodyLimits {
  maxHeaders: number;
}

/** Stream errors end in "close" (handled by the reader); one shared listener keeps them from being thrown. */
const ignore = () => {};

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
  const ac = new StreamCancel();
  readBody(
    stream,
    h["content-length"],
    limits,
    (body) => done({ method, scheme: String(h[":scheme"] ?? scheme), authority, path, headers, body, signal: ac }),
    // the client went away before we answered: cancel the upstream request
    () => {
      if (!stream.headersSent) ac.abort();
    },
  );
}
