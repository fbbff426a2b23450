// src/transport/h2/stream.ts — the limits of the HTTP/2 layer on Bun's sockets and the state of one stream (RFC 9113
// §5.1): what conn.ts keeps per request while its fields and body arrive and its answer leaves.
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce (server role) */
  maxConcurrentStreams: number;
  /** our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE) and the connection's */
  streamWindow: number;
  connectionWindow: number;
  /** a body beyond this is refused (RST_STREAM CANCEL; client role: an error) */
  maxBody: number;
  /** decoded header list size (RFC 7541 §4.1 sizes), and the octets of one header block */
  maxHeaderList: number;
}

export const DEFAULT_H2_LIMITS: H2Limits = {
  maxConcurrentStreams: 1000,
  streamWindow: 1 << 20,
  connectionWindow: 16 << 20,
  maxBody: 16 << 20,
  maxHeaderList: 65536,
};

/** A response or the reason there is none: fields are [name, value, …] as received. */
export type OnResponse = (err: Error | null, fields: string[], body: Buffer | null) => void;

export interface Stream {
  id: number;
  sendWindow: number;
  recvUnacked: number;
  fields: string[] | null;
  chunks: Buffer[];
  size: number;
  /** data waiting for send window, and whether END_STREAM follows it */
  pending: Buffer | null;
  pendingEnd: boolean;
  cb: OnResponse | null;
  /** client role: the request, sent again when the server refuses the stream unprocessed (REFUSED_STREAM, §8.7) */
  req: { fields: string[]; body: Buffer | null; tries: number } | null;
}

export function newStream(id: number, sendWindow: number): Stream {
  return {
    id,
    sendWindow,
    recvUnacked: 0,
    fields: null,
    chunks: [],
    size: 0,
    pending: null,
    pendingEnd: false,
    cb: null,
    req: null,
  };
}
