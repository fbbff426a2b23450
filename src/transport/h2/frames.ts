// src/transport/h2/frames.ts — HTTP/2 frame constants (RFC 9113 §6, §7, §11.2) and the output buffer a connection
// writes its frames into: one growable buffer per connection, written to the socket in one call per loop turn (the
// batching that node:http2 on Bun lacks: it flushes the socket per stream end, docs/PERFORMANCE.md).

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

// frame types (§6)
export const DATA = 0;
export const HEADERS = 1;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

// flags
export const END_STREAM = 1;
export const ACK = 1;
export const END_HEADERS = 4;
export const PADDED = 8;
export const PRIORITY = 0x20;

// error codes (§7)
export const NO_ERROR = 0;
export const PROTOCOL_ERROR = 1;
export const FLOW_CONTROL_ERROR = 3;
export const STREAM_CLOSED = 5;
export const FRAME_SIZE_ERROR = 6;
export const REFUSED_STREAM = 7;
export const CANCEL = 8;
export const COMPRESSION_ERROR = 9;
export const ENHANCE_YOUR_CALM = 11;
const ERROR_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];
/** The §7 name of an error code (a peer's code we do not know: in hex), for errors and logs. */
export const errorName = (code: number): string => ERROR_NAMES[code] ?? `0x${code.toString(16)}`;

// settings (§6.5.2)
export const SETTINGS_HEADER_TABLE_SIZE = 1;
export const SETTINGS_ENABLE_PUSH = 2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 4;
export const SETTINGS_MAX_FRAME_SIZE = 5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 6;

/** the largest flow-control window (§6.9.1) */
export const MAX_WINDOW = 2 ** 31 - 1;
/** the largest stream identifier (§5.1.1: 31 bits) */
export const MAX_STREAM_ID = 2 ** 31 - 1;
/** the frame size every peer accepts until it says more (§4.2); we never ask for more */
export const DEFAULT_MAX_FRAME = 16384;

/** The 24-bit length field of the frame header at b[at] (§4.1). */
export function lengthAt(b: Uint8Array, at: number): number {
  return (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
}

/** Frames queued for one socket write. */
export class FrameOut {
  buf = Buffer.allocUnsafe(16384);
  len = 0;

  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  put(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** `text` as UTF-8, whose length in octets the caller measured (`n`) */
  putText(text: string, n: number): void {
    this.room(n);
    const w = this.buf.write(text, this.len, n, "utf8");
    if (w !== n) throw new Error(`bug: ${w} of ${n} octets of text written`);
    this.len += n;
  }

  /** ASCII `text` (each character one octet), its length in octets the text's */
  putAscii(text: string): void {
    this.room(text.length);
    this.len += this.buf.write(text, this.len, text.length, "latin1");
  }

  /** b[start, end) copied in without a view of it (a subarray per frame cost 4–6 % of a SEPP's samples) */
  putRange(b: Buffer, start: number, end: number): void {
    this.room(end - start);
    this.len += b.copy(this.buf, this.len, start, end);
  }

  /** a frame header (§4.1); the caller writes `length` payload octets after it */
  header(length: number, type: number, flags: number, stream: number): void {
    this.room(9 + length);
    const o = this.buf;
    const p = this.len;
    o[p] = length >>> 16;
    o[p + 1] = (length >>> 8) & 255;
    o[p + 2] = length & 255;
    o[p + 3] = type;
    o[p + 4] = flags;
    o.writeUInt32BE(stream, p + 5);
    this.len = p + 9;
  }

  u32(v: number): void {
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }

  /** a frame whose payload is 32-bit words: WINDOW_UPDATE, RST_STREAM, GOAWAY (§6.4, §6.8, §6.9) */
  words(type: number, stream: number, ...values: number[]): void {
    this.header(4 * values.length, type, 0, stream);
    for (const v of values) this.u32(v);
  }
}

/**
 * The connection error a frame's header alone makes (§6: which frames belong to stream 0, which have a fixed
 * length), or 0. PUSH_PROMISE is always one: we never enable push, and a server never receives it (§8.4).
 */
export function frameError(type: number, flags: number, stream: number, length: number): number {
  switch (type) {
    case DATA:
    case HEADERS:
    case CONTINUATION:
      return stream === 0 ? PROTOCOL_ERROR : 0;
    case 2: // PRIORITY (§6.3)
      return stream === 0 ? PROTOCOL_ERROR : length !== 5 ? FRAME_SIZE_ERROR : 0;
    case RST_STREAM:
      return stream === 0 ? PROTOCOL_ERROR : length !== 4 ? FRAME_SIZE_ERROR : 0;
    case SETTINGS:
      return stream !== 0 ? PROTOCOL_ERROR : length % 6 || (flags & ACK && length) ? FRAME_SIZE_ERROR : 0;
    case PING:
      return stream !== 0 ? PROTOCOL_ERROR : length !== 8 ? FRAME_SIZE_ERROR : 0;
    case GOAWAY:
      return stream !== 0 ? PROTOCOL_ERROR : length < 8 ? FRAME_SIZE_ERROR : 0;
    case WINDOW_UPDATE:
      return length !== 4 ? FRAME_SIZE_ERROR : 0;
    case PUSH_PROMISE:
      return PROTOCOL_ERROR;
    default:
      return 0; // unknown types are ignored (§5.5)
  }
}

/**
 * The content of a HEADERS or DATA payload b[pos, end) once padding (and HEADERS priority fields) are removed (§6.1,
 * §6.2): [start, stop], or null when the padding does not fit (a connection error PROTOCOL_ERROR).
 */
export function content(
  b: Uint8Array,
  pos: number,
  end: number,
  flags: number,
  priority: boolean,
): [number, number] | null {
  let start = pos;
  let stop = end;
  if (flags & PADDED) {
    if (pos >= end) return null;
    start++;
    stop -= b[pos]!;
  }
  if (priority && flags & PRIORITY) start += 5;
  return start > stop ? null : [start, stop];
}

/**
 * The additional debug data of a received GOAWAY (§6.8) as text for our errors and logs: the peer's own words, so
 * at most 128 octets, anything but printable ASCII replaced by "?".
 */
export function goawayDebug(p: Buffer): string {
  return p.length > 8 ? p.toString("latin1", 8, Math.min(p.length, 8 + 128)).replace(/[^\x20-\x7e]/g, "?") : "";
}
