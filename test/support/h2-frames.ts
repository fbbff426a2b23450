// test/support/h2-frames.ts — hand-built HTTP/2 frames (RFC 9113) for connection-level attack tests: a client
// that sends what a well-behaved library never would (HEADERS + RST_STREAM in one write, the rapid reset of
// CVE-2023-44487; a TCP connection that never sends the preface). Headers are HPACK literals without indexing
// (RFC 7541 6.2.2), so no dynamic table is involved.
import net from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
/** RFC 9113 7 */
export const ENHANCE_YOUR_CALM = 0xb;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function hpackLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, "latin1");
  const v = Buffer.from(value, "latin1");
  if (n.length > 126 || v.length > 126) throw new RangeError("test HPACK literal too long");
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/** A HEADERS frame with END_STREAM | END_HEADERS carrying the given header list (pseudo-headers first). */
export function headersFrame(streamId: number, headers: Array<[string, string]>): Buffer {
  return frame(FRAME.HEADERS, 0x5, streamId, Buffer.concat(headers.map(([k, v]) => hpackLiteral(k, v))));
}

export function rstFrame(streamId: number, code = 8 /* CANCEL */): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

/** The client connection preface with an empty SETTINGS frame. */
export function clientPreface(): Buffer {
  return Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]);
}

/** The first GOAWAY frame in received bytes (the frames before it skipped), or null. */
export function goawayOf(buf: Buffer): { lastStreamId: number; code: number; debug: string; after: number[] } | null {
  let off = 0;
  const types: number[] = [];
  while (off + 9 <= buf.length) {
    const len = buf.readUIntBE(off, 3);
    const type = buf[off + 3]!;
    if (off + 9 + len > buf.length) break;
    if (type === FRAME.GOAWAY && len >= 8)
      return {
        lastStreamId: buf.readUInt32BE(off + 9) & 0x7fffffff,
        code: buf.readUInt32BE(off + 9 + 4),
        debug: buf.toString("latin1", off + 17, off + 9 + len),
        after: types,
      };
    types.push(type);
    off += 9 + len;
  }
  return null;
}

/** Scan received bytes for a GOAWAY frame; its error code, or null. Skips the frames before it. */
export function findGoaway(buf: Buffer): number | null {
  return goawayOf(buf)?.code ?? null;
}

/** A plain TCP connection that collects what it receives and reports when it closes. */
export interface RawConn {
  socket: net.Socket;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function rawConnect(port: number, host = "127.0.0.1"): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const socket = net.connect(port, host);
    const closedP = new Promise<void>((r) =>
      socket.once("close", () => {
        closed = true;
        r();
      }),
    );
    socket.on("data", (c: Buffer) => {
      if (chunks.length < 10_000) chunks.push(c);
    });
    socket.once("error", (e) => (socket.connecting ? reject(e) : undefined));
    socket.on("error", () => {});
    socket.once("connect", () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed: closedP,
        isClosed: () => closed,
      }),
    );
  });
}

// ---- the building blocks of the conformance catalogues (test/transport/h2/conformance*.test.ts) ----

export const bytes = (...b: number[]) => Buffer.from(b);
export const u32 = (...v: number[]) =>
  Buffer.concat(v.map((x) => bytes(x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255)));
/** a SETTINGS frame of [identifier, value, …] */
export const settingsFrame = (...kv: number[]) =>
  frame(FRAME.SETTINGS, 0, 0, Buffer.concat(kv.map((v, i) => (i % 2 ? u32(v) : bytes(v >> 8, v & 255)))));
export const windowUpdate = (id: number, inc: number) => frame(8, 0, id, u32(inc));
/** a field block of HPACK literals without indexing (the dynamic table untouched) */
export const fieldBlock = (f: Array<[string, string]>) => headersFrame(1, f).subarray(9);
/** DATA (END_STREAM by default) and CONTINUATION (END_HEADERS by default) */
export const dataFrame = (id: number, d: string | Buffer, flags = 1) => frame(FRAME.DATA, flags, id, Buffer.from(d));
export const continuation = (id: number, b: Buffer, flags = 4) => frame(9, flags, id, b);

export type Frame = { type: number; flags: number; id: number; p: Buffer };
/** the whole frames of written octets (an incomplete one at the end is left out) */
export function parseFrames(b: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let o = 0, len = 0; o + 9 <= b.length; o += 9 + len) {
    len = b.readUIntBE(o, 3);
    if (o + 9 + len > b.length) break;
    out.push({
      type: b[o + 3]!,
      flags: b[o + 4]!,
      id: b.readUInt32BE(o + 5) & 0x7fffffff,
      p: b.subarray(o + 9, o + 9 + len),
    });
  }
  return out;
}

/** Each case with its octets in one read, then one octet per read: what went wrong either way (none: []). */
export function problemsEachWay<C>(cases: C[], check: (c: C, octetByOctet: boolean) => string | null): string[] {
  const problems: string[] = [];
  for (const c of cases) {
    const whole = check(c, false);
    const split = check(c, true);
    if (whole) problems.push(whole);
    if (split && split !== whole) problems.push(`${split} (one octet per read)`);
  }
  return problems;
}
