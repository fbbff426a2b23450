// src/workers/handoff-codec.ts — the messages of a request handed from one data-path worker to another
// (src/workers/handoff.ts; docs/ARCHITECTURE.md "Worker model"): each is one ArrayBuffer, transferred rather
// than structured-cloned (measured: a 4.4 KB request and its 2 KB answer cost ~25 µs of CPU per round trip as
// objects, ~12 µs as one transferred buffer). Pure: no I/O. Layout (little-endian):
//   u8 type | u32 id | …
//   request:  u8 kind | str method | str scheme | str authority | str path | headers | conn | bytes body
//   response: u16 status | headers | bytes body
//   cancel:   (nothing more)
//   str = u32 octets + UTF-8; bytes = u32 octets + octets; headers = u16 count + (str, str)*;
//   conn = u8 0 | u8 1 + f64 id + str protocol + str remoteAddress + u16 count + bytes (DER, leaf first)*
import { AsciiText } from "../ascii-text.ts";
import type { HandlerKind, InboundRequest, OutboundResponse } from "../datapath/http.ts";
import { SeppError } from "../errors.ts";

export enum HandoffType {
  Request = 1,
  Response = 2,
  Cancel = 3,
}

const KINDS: readonly HandlerKind[] = ["n32f-process", "tls-relay", "sbi"];

/** What the serving worker knows of the TLS connection that carried a request (no socket: another thread owns it). */
export interface ConnDescriptor {
  /** the connection's number in the sending worker */
  id: number;
  protocol: string | null;
  remoteAddress: string | undefined;
  /** the peer's certificate chain as DER, leaf first */
  chain: Uint8Array[];
}

export type HandedRequest = Omit<InboundRequest, "signal">;

export type HandoffMessage =
  | { type: HandoffType.Request; id: number; kind: HandlerKind; req: HandedRequest; conn: ConnDescriptor | null }
  | { type: HandoffType.Response; id: number; res: OutboundResponse }
  | { type: HandoffType.Cancel; id: number };

/** A hand-off message that cannot be written or read (a bug: only our own workers write them); answers 500. */
export class HandoffCodecError extends SeppError {
  override name = "HandoffCodecError";
  constructor(message: string) {
    super("HANDOFF_MESSAGE_INVALID", message, { status: 500, problemCause: "SYSTEM_FAILURE" });
  }
}

const strBound = (s: string) => 4 + s.length * 3;
const headersBound = (h: ReadonlyArray<[string, string]>) => {
  let n = 2;
  for (const [k, v] of h) n += strBound(k) + strBound(v);
  return n;
};

class Writer {
  readonly buf: Buffer;
  readonly view: DataView;
  off = 0;
  constructor(bound: number) {
    // its own ArrayBuffer (transferable), not zero-filled: every octet read is written first, lengths are explicit
    this.buf = Buffer.allocUnsafeSlow(bound);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, bound);
  }
  u8(x: number) {
    this.view.setUint8(this.off, x);
    this.off += 1;
  }
  u16(x: number) {
    if (x > 0xffff) throw new HandoffCodecError("count over 65535");
    this.view.setUint16(this.off, x, true);
    this.off += 2;
  }
  u32(x: number) {
    this.view.setUint32(this.off, x, true);
    this.off += 4;
  }
  f64(x: number) {
    this.view.setFloat64(this.off, x, true);
    this.off += 8;
  }
  str(s: string) {
    // header names and values are ASCII as a rule: written octet by octet, without a native call per string
    const buf = this.buf;
    const at = this.off + 4;
    let n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        n = buf.write(s, at, "utf8");
        break;
      }
      buf[at + i] = c;
    }
    this.u32(n);
    this.off += n;
  }
  bytes(b: Uint8Array | string | undefined) {
    if (typeof b === "string") return this.str(b);
    const n = b?.length ?? 0;
    this.u32(n);
    if (n) this.buf.set(b!, this.off);
    this.off += n;
  }
  headers(h: ReadonlyArray<[string, string]>) {
    this.u16(h.length);
    for (const [k, v] of h) {
      this.str(k);
      this.str(v);
    }
  }
  /** the written part (the rest of the bound is never read: every length is explicit) */
  done(): ArrayBuffer {
    return this.buf.buffer as ArrayBuffer;
  }
}

class Reader {
  readonly buf: Buffer;
  readonly view: DataView;
  off = 0;
  constructor(ab: ArrayBuffer) {
    this.buf = Buffer.from(ab);
    this.view = new DataView(ab);
  }
  #need(n: number) {
    if (this.off + n > this.buf.length) throw new HandoffCodecError("truncated hand-off message");
  }
  u8() {
    this.#need(1);
    return this.view.getUint8(this.off++);
  }
  u16() {
    this.#need(2);
    const x = this.view.getUint16(this.off, true);
    this.off += 2;
    return x;
  }
  u32() {
    this.#need(4);
    const x = this.view.getUint32(this.off, true);
    this.off += 4;
    return x;
  }
  f64() {
    this.#need(8);
    const x = this.view.getFloat64(this.off, true);
    this.off += 8;
    return x;
  }
  str() {
    const n = this.u32();
    this.#need(n);
    const s = this.buf.toString("utf8", this.off, this.off + n);
    this.off += n;
    return s;
  }
  /** a view into the transferred buffer: the receiver owns it, no copy */
  bytes() {
    const n = this.u32();
    this.#need(n);
    const b = new Uint8Array(this.buf.buffer, this.off, n);
    this.off += n;
    return b;
  }
  headers() {
    const n = this.u16();
    const h: Array<[string, string]> = new Array(n);
    for (let i = 0; i < n; i++) h[i] = [this.str(), this.str()];
    return h;
  }
}

export function encodeRequest(
  id: number,
  kind: HandlerKind,
  req: HandedRequest,
  conn: ConnDescriptor | null,
): ArrayBuffer {
  let bound = 1 + 4 + 1 + strBound(req.method) + strBound(req.scheme) + strBound(req.authority) + strBound(req.path);
  bound += headersBound(req.headers) + 1 + 4 + req.body.length;
  if (conn) {
    bound += 8 + strBound(conn.protocol ?? "") + strBound(conn.remoteAddress ?? "") + 2;
    for (const c of conn.chain) bound += 4 + c.length;
  }
  const w = new Writer(bound);
  w.u8(HandoffType.Request);
  w.u32(id);
  w.u8(KINDS.indexOf(kind));
  w.str(req.method);
  w.str(req.scheme);
  w.str(req.authority);
  w.str(req.path);
  w.headers(req.headers);
  if (conn) {
    w.u8(1);
    w.f64(conn.id);
    w.str(conn.protocol ?? "");
    w.str(conn.remoteAddress ?? "");
    w.u16(conn.chain.length);
    for (const c of conn.chain) w.bytes(c);
  } else w.u8(0);
  w.bytes(req.body);
  return w.done();
}

export function encodeResponse(id: number, res: OutboundResponse): ArrayBuffer {
  const body = res.body instanceof AsciiText ? res.body.toString() : res.body; // pieces: their text, as a string
  const bodyBound = typeof body === "string" ? strBound(body) : 4 + (body?.length ?? 0);
  const w = new Writer(1 + 4 + 2 + headersBound(res.headers) + bodyBound);
  w.u8(HandoffType.Response);
  w.u32(id);
  w.u16(res.status);
  w.headers(res.headers);
  w.bytes(body);
  return w.done();
}

export function encodeCancel(id: number): ArrayBuffer {
  const w = new Writer(5);
  w.u8(HandoffType.Cancel);
  w.u32(id);
  return w.done();
}

export function decodeHandoff(ab: ArrayBuffer): HandoffMessage {
  const r = new Reader(ab);
  const type = r.u8();
  const id = r.u32();
  if (type === HandoffType.Cancel) return { type, id };
  if (type === HandoffType.Response) {
    const status = r.u16();
    const headers = r.headers();
    return { type, id, res: { status, headers, body: r.bytes() } };
  }
  if (type !== HandoffType.Request) throw new HandoffCodecError(`unknown hand-off message type ${type}`);
  const kind = KINDS[r.u8()];
  if (!kind) throw new HandoffCodecError("unknown handler kind");
  const method = r.str();
  const scheme = r.str();
  const authority = r.str();
  const path = r.str();
  const headers = r.headers();
  let conn: ConnDescriptor | null = null;
  if (r.u8() === 1) {
    const cid = r.f64();
    const protocol = r.str() || null;
    const remoteAddress = r.str() || undefined;
    const chain: Uint8Array[] = new Array(r.u16());
    for (let i = 0; i < chain.length; i++) chain[i] = r.bytes();
    conn = { id: cid, protocol, remoteAddress, chain };
  }
  return { type, id, kind, req: { method, scheme, authority, path, headers, body: r.bytes() }, conn };
}
