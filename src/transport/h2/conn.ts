// src/transport/h2/conn.ts — one HTTP/2 connection (RFC 9113) on a socket, whole messages in and out (the shape of
// the SEPP's data path: a request with its body, a response with its body). A server role hands each complete,
// well-formed request to onRequest and answers with respond(); a client role sends requests and calls back once
// per request with the complete response or the reason there is none. All frames of one socket read are parsed
// in one pass, and what they cause on any connection leaves in one socket write per connection at the end of that
// read (out.ts). Flow control both ways (§5.2, §6.9), SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION, padding;
// priorities ignored (§5.3.2), no server push (ENABLE_PUSH 0); malformed messages are stream errors (fields.ts).
// A connection error ends the connection with GOAWAY (§5.4.1). The socket is the caller's: node-socket.ts joins
// a node:net/node:tls socket (whose TLS checks stay as they are), a Bun socket fits as it is.
import * as F from "./frames.ts";
import { declaredLength, malformedRequest, malformedResponse } from "./fields.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import { type H2Socket, SocketOut, flushAll, schedule } from "./out.ts";
import {
  DEFAULT_H2_LIMITS,
  type H2Limits,
  H2StreamError,
  type OnResponse,
  type Queued,
  type Stream,
  newStream,
} from "./stream.ts";

export { DEFAULT_H2_LIMITS, flushAll, type H2Limits, type H2Socket, H2StreamError, type OnResponse };
/** A complete request on a server-role connection: fields are [name, value, …] as received, pseudo-fields first. */
export type OnRequest = (c: H2Conn, stream: number, fields: string[], body: Buffer | null) => void;

const fail = (cb: OnResponse, kind: H2StreamError["kind"], msg: string) => cb(new H2StreamError(kind, msg), [], null);

export class H2Conn {
  readonly #streams = new Map<number, Stream>();
  readonly #dec: HpackDecoder;
  readonly #enc = new HpackEncoder();
  readonly #out: SocketOut;
  readonly #blocked = new Set<Stream>();
  #rest: Buffer | null = null;
  #prefaceLeft: number;
  #sendWindow = 65535;
  #peerStreamWindow = 65535;
  #peerMaxFrame = F.DEFAULT_MAX_FRAME;
  /** until the peer's first SETTINGS: 100, the least §6.5.2 recommends a peer to allow */
  #peerMaxStreams = 100;
  #peerSettingsSeen = false;
  #recvUnacked = 0;
  #lastPeerStream = 0;
  #nextId = 1;
  #cont: { id: number; flags: number; parts: Buffer[]; size: number } | null = null;
  #waiting: Queued[] = [];
  closed = false;
  #closing = false;
  /** called once when the connection ends, whichever side ended it */
  onEnd: (() => void) | null = null;
  // server-role hooks of a listener's guards (listener.ts): each PING or SETTINGS from the peer; the peer reset a
  // stream we had not answered; a request's fields arrived and its body follows; its body went over maxBody (the
  // hook answers, 413; the stream is closed after the answer)
  onControl: ((kind: "ping" | "settings") => void) | null = null;
  onPeerReset: ((id: number) => void) | null = null;
  onBodyStart: ((id: number, fields: string[]) => void) | null = null;
  onTooLarge: ((id: number) => void) | null = null;
  /** when a server stream last opened or ended (performance.now()): the idle timeout counts from it */
  lastActive = performance.now();

  constructor(
    readonly socket: H2Socket,
    readonly role: "server" | "client",
    readonly onRequest: OnRequest = () => {},
    readonly limits: H2Limits = DEFAULT_H2_LIMITS,
  ) {
    this.#dec = new HpackDecoder(4096, limits.maxHeaderList);
    this.#out = new SocketOut(socket);
    this.#prefaceLeft = role === "server" ? F.PREFACE.length : 0;
    if (role === "client") this.#out.put(F.PREFACE);
    const settings =
      role === "client"
        ? [F.SETTINGS_ENABLE_PUSH, 0, F.SETTINGS_INITIAL_WINDOW_SIZE, limits.streamWindow]
        : [F.SETTINGS_MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams];
    if (role === "server") settings.push(F.SETTINGS_INITIAL_WINDOW_SIZE, limits.streamWindow);
    this.#out.header(settings.length * 3, F.SETTINGS, 0, 0);
    for (let i = 0; i < settings.length; i += 2) {
      this.#out.buf.writeUInt16BE(settings[i]!, this.#out.len);
      this.#out.buf.writeUInt32BE(settings[i + 1]!, this.#out.len + 2);
      this.#out.len += 6;
    }
    if (limits.connectionWindow > 65535) this.#out.words(F.WINDOW_UPDATE, 0, limits.connectionWindow - 65535);
    schedule(this.#out);
  }

  /** streams open now (requests in flight) */
  get streams(): number {
    return this.#streams.size;
  }

  // ---- output ----

  flush(): void {
    if (!this.closed) this.#out.flush();
  }

  /** the socket can take more: what a short write left */
  onDrain(): void {
    if (!this.closed) this.#out.drain();
  }

  #headers(id: number, fields: readonly string[], end: boolean): void {
    const block = this.#enc.encode(fields);
    let off = 0;
    let type = F.HEADERS;
    do {
      const n = Math.min(this.#peerMaxFrame, block.length - off);
      const last = off + n === block.length;
      this.#out.header(n, type, (type === F.HEADERS && end ? F.END_STREAM : 0) | (last ? F.END_HEADERS : 0), id);
      this.#out.put(block.subarray(off, off + n));
      off += n;
      type = F.CONTINUATION;
    } while (off < block.length);
  }

  /** DATA within the connection's and the stream's send windows; the rest waits for WINDOW_UPDATE (§6.9). */
  #data(s: Stream, body: Buffer, end: boolean): void {
    let off = 0;
    while (off < body.length) {
      const n = Math.min(body.length - off, this.#sendWindow, s.sendWindow, this.#peerMaxFrame);
      if (n <= 0) break;
      this.#out.header(n, F.DATA, off + n === body.length && end ? F.END_STREAM : 0, s.id);
      this.#out.put(body.subarray(off, off + n));
      this.#sendWindow -= n;
      s.sendWindow -= n;
      off += n;
    }
    this.#out.dirty();
    if (off < body.length) {
      s.pending = body.subarray(off);
      s.pendingEnd = end;
      this.#blocked.add(s);
      return;
    }
    s.pending = null;
    this.#blocked.delete(s);
    if (end && this.role === "server") this.#closeServerStream(s);
  }

  /** our side of a server stream is done: forget it; a request still arriving is stopped (§8.1: NO_ERROR) */
  #closeServerStream(s: Stream): void {
    this.#streams.delete(s.id);
    this.lastActive = performance.now();
    if (!s.complete) this.#out.words(F.RST_STREAM, s.id, F.NO_ERROR);
  }

  #rst(s: Stream, code: number): void {
    this.#streams.delete(s.id);
    this.lastActive = performance.now();
    this.#blocked.delete(s);
    this.#out.words(F.RST_STREAM, s.id, code);
    schedule(this.#out);
    this.#endIfDone();
  }

  // ---- server role ----

  /** The response to a request stream; fields start with :status. Ignored when the stream is gone. */
  respond(id: number, fields: readonly string[], body: Buffer | null): void {
    const s = this.#streams.get(id);
    if (!s || this.closed) return;
    this.#headers(id, fields, !body?.length);
    if (body?.length) this.#data(s, body, true);
    else this.#closeServerStream(s);
    schedule(this.#out);
    this.#endIfDone();
  }

  /** whether a request stream is still open (not reset by the client, not answered) */
  isOpen(id: number): boolean {
    return this.#streams.has(id);
  }

  reset(id: number, code = F.CANCEL): void {
    const s = this.#streams.get(id);
    if (s && !this.closed) this.#rst(s, code);
  }

  // ---- client role ----

  /**
   * A request: fields start with the pseudo-header fields (§8.3.1). The callback runs exactly once; a response body
   * over `maxBody` resets the stream and fails it ("too-large").
   */
  request(fields: string[], body: Buffer | null, cb: OnResponse, maxBody = this.limits.maxBody, tries = 0) {
    if (this.closed || this.#closing) return fail(cb, "closed", "connection closed");
    if (this.#streams.size >= this.#peerMaxStreams) {
      this.#waiting.push({ fields, body, cb, maxBody, tries });
      return;
    }
    const s = newStream(this.#nextId, this.#peerStreamWindow, maxBody);
    this.#nextId += 2;
    this.#streams.set(s.id, s);
    s.req = { fields, body, cb, maxBody, tries };
    this.#headers(s.id, fields, !body?.length);
    if (body?.length) this.#data(s, body, true);
    schedule(this.#out);
  }

  /** Gives up the request whose callback is `cb` (RST_STREAM CANCEL when sent); the callback is not called. */
  cancel(cb: OnResponse): void {
    const w = this.#waiting.findIndex((q) => q.cb === cb);
    if (w >= 0) {
      this.#waiting.splice(w, 1);
      return;
    }
    for (const s of this.#streams.values())
      if (s.req?.cb === cb) {
        if (!this.closed) this.#rst(s, F.CANCEL);
        this.#drainWaiting();
        return;
      }
  }

  #drainWaiting(): void {
    while (this.#waiting.length && this.#streams.size < this.#peerMaxStreams && !this.closed) {
      const w = this.#waiting.shift()!;
      this.request(w.fields, w.body, w.cb, w.maxBody, w.tries);
    }
  }

  // ---- input ----

  onData(d: Buffer) {
    const b = this.#rest ? Buffer.concat([this.#rest, d]) : d;
    let off = 0;
    if (this.#prefaceLeft) {
      const n = Math.min(this.#prefaceLeft, b.length);
      const from = F.PREFACE.length - this.#prefaceLeft;
      if (F.PREFACE.compare(b, 0, n, from, from + n) !== 0) return this.goaway(F.PROTOCOL_ERROR);
      this.#prefaceLeft -= n;
      off = n;
    }
    while (!this.closed && b.length - off >= 9) {
      const len = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
      if (len > F.DEFAULT_MAX_FRAME) return this.goaway(F.FRAME_SIZE_ERROR);
      if (b.length - off - 9 < len) break;
      const type = b[off + 3]!;
      const flags = b[off + 4]!;
      const id = ((b[off + 5]! & 127) << 24) | (b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!;
      const err = F.frameError(type, flags, id, len);
      if (err) return this.goaway(err);
      if (this.#cont && (type !== F.CONTINUATION || id !== this.#cont.id)) return this.goaway(F.PROTOCOL_ERROR);
      this.#onFrame(type, flags, id, b, off + 9, off + 9 + len);
      off += 9 + len;
    }
    this.#rest = off < b.length && !this.closed ? Buffer.from(b.subarray(off)) : null;
    if (this.#out.len) this.#out.dirty();
    flushAll();
  }

  /** one frame whose header frameError accepted; its payload is b[pos, end) */
  #onFrame(type: number, flags: number, id: number, b: Buffer, pos: number, end: number) {
    if (type === F.DATA) return this.#onDataFrame(flags, id, b, pos, end);
    if (type === F.HEADERS) {
      const c: [number, number] | null =
        flags & (F.PADDED | F.PRIORITY) ? F.content(b, pos, end, flags, true) : [pos, end];
      if (!c) return this.goaway(F.PROTOCOL_ERROR);
      if (flags & F.END_HEADERS) return this.#onHeaders(id, flags, b, c[0], c[1]);
      this.#cont = { id, flags, parts: [Buffer.from(b.subarray(c[0], c[1]))], size: c[1] - c[0] };
      return;
    }
    const p = b.subarray(pos, end);
    if (type === F.CONTINUATION) {
      const c = this.#cont;
      if (!c) return this.goaway(F.PROTOCOL_ERROR);
      c.size += p.length;
      if (c.size > this.limits.maxHeaderList) return this.goaway(F.ENHANCE_YOUR_CALM);
      c.parts.push(Buffer.from(p));
      if (!(flags & F.END_HEADERS)) return;
      this.#cont = null;
      const block = Buffer.concat(c.parts);
      return this.#onHeaders(id, c.flags, block, 0, block.length);
    }
    if (type === F.RST_STREAM) return this.#onReset(id, p.readUInt32BE(0));
    if (type === F.SETTINGS) return this.#onSettings(flags, p);
    if (type === F.PING) {
      if (flags & F.ACK) return;
      this.onControl?.("ping");
      if (this.closed) return;
      this.#out.header(8, F.PING, F.ACK, 0);
      this.#out.put(p);
      return;
    }
    if (type === F.GOAWAY) return this.#onGoaway(p.readUInt32BE(0) & 0x7fffffff);
    if (type === F.WINDOW_UPDATE) return this.#onWindowUpdate(id, p.readUInt32BE(0) & 0x7fffffff);
    // PRIORITY and unknown frame types are ignored (§5.3.2, §5.5)
  }

  #onReset(id: number, code: number): void {
    const s = this.#streams.get(id);
    if (!s) return;
    this.#streams.delete(id);
    this.#blocked.delete(s);
    this.lastActive = performance.now();
    if (this.role === "server") {
      this.onPeerReset?.(id);
      return;
    }
    const q = s.req;
    // refused unprocessed (§8.7): safe to send again, a few times
    if (q && code === F.REFUSED_STREAM && q.tries < 3) this.#waiting.unshift({ ...q, tries: q.tries + 1 });
    else if (q) fail(q.cb, code === F.REFUSED_STREAM ? "refused" : "reset", `stream reset by the peer (code ${code})`);
    this.#drainWaiting();
  }

  #onSettings(flags: number, p: Buffer) {
    if (flags & F.ACK) return;
    this.onControl?.("settings");
    if (this.closed) return;
    if (!this.#peerSettingsSeen) {
      this.#peerSettingsSeen = true;
      this.#peerMaxStreams = Number.POSITIVE_INFINITY; // unless this SETTINGS names a limit
    }
    for (let i = 0; i < p.length && !this.closed; i += 6) {
      const k = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (k === F.SETTINGS_HEADER_TABLE_SIZE) this.#enc.setMax(v);
      else if (k === F.SETTINGS_ENABLE_PUSH && v > 1) this.goaway(F.PROTOCOL_ERROR);
      else if (k === F.SETTINGS_MAX_CONCURRENT_STREAMS) this.#peerMaxStreams = v;
      else if (k === F.SETTINGS_INITIAL_WINDOW_SIZE) {
        if (v > F.MAX_WINDOW) return this.goaway(F.FLOW_CONTROL_ERROR);
        const delta = v - this.#peerStreamWindow;
        this.#peerStreamWindow = v;
        for (const s of this.#streams.values()) s.sendWindow += delta;
      } else if (k === F.SETTINGS_MAX_FRAME_SIZE) {
        if (v < 16384 || v > 16777215) return this.goaway(F.PROTOCOL_ERROR);
        this.#peerMaxFrame = Math.min(v, 65536);
      }
    }
    if (this.closed) return;
    this.#out.header(0, F.SETTINGS, F.ACK, 0);
    this.#unblock();
    this.#drainWaiting();
  }

  #onGoaway(last: number): void {
    this.#peerMaxStreams = 0; // no new streams on this connection (§6.8); the ones up to `last` may still finish
    if (this.role === "client")
      for (const [id, s] of this.#streams)
        if (id > last) {
          this.#streams.delete(id);
          if (s.req) fail(s.req.cb, "refused", "the peer is going away (GOAWAY)");
        }
    for (const w of this.#waiting.splice(0)) fail(w.cb, "refused", "the peer is going away (GOAWAY)");
  }

  #onWindowUpdate(id: number, inc: number) {
    if (inc === 0) return this.goaway(F.PROTOCOL_ERROR);
    if (id === 0) {
      this.#sendWindow += inc;
      if (this.#sendWindow > F.MAX_WINDOW) return this.goaway(F.FLOW_CONTROL_ERROR);
    } else {
      const s = this.#streams.get(id);
      if (!s) return;
      s.sendWindow += inc;
      if (s.sendWindow > F.MAX_WINDOW) return this.reset(id, F.FLOW_CONTROL_ERROR);
    }
    this.#unblock();
  }

  #unblock(): void {
    for (const s of this.#blocked) if (s.pending) this.#data(s, s.pending, s.pendingEnd);
  }

  #onDataFrame(flags: number, id: number, b: Buffer, pos: number, end: number) {
    this.#recvUnacked += end - pos;
    if (this.#recvUnacked > this.limits.connectionWindow) return this.goaway(F.FLOW_CONTROL_ERROR);
    if (this.#recvUnacked >= this.limits.connectionWindow / 2) {
      this.#out.words(F.WINDOW_UPDATE, 0, this.#recvUnacked);
      this.#recvUnacked = 0;
    }
    const s = this.#streams.get(id);
    if (!s?.fields || s.complete) {
      // DATA on a stream never opened (§6.1), or after END_STREAM (§5.1 half-closed remote: STREAM_CLOSED)
      if (id > (this.role === "server" ? this.#lastPeerStream : this.#nextId - 2) || s)
        return this.goaway(F.PROTOCOL_ERROR);
      return; // a stream we closed or reset: counted for the connection window, dropped
    }
    const c: [number, number] | null = flags & F.PADDED ? F.content(b, pos, end, flags, false) : [pos, end];
    if (!c) return this.goaway(F.PROTOCOL_ERROR);
    s.recvUnacked += end - pos;
    if (s.recvUnacked > this.limits.streamWindow) return this.goaway(F.FLOW_CONTROL_ERROR);
    const n = c[1] - c[0];
    if (n > 0) {
      s.size += n;
      if (s.size > s.maxBody) {
        if (this.role === "server" && this.onTooLarge) {
          s.maxBody = Number.POSITIVE_INFINITY; // the rest is dropped below; the hook answers
          s.chunks = [];
          s.complete = false;
          this.onTooLarge(id);
          return;
        }
        this.#rst(s, F.CANCEL);
        if (s.req) fail(s.req.cb, "too-large", `body over ${s.maxBody} octets`);
        return;
      }
      const chunk = Buffer.allocUnsafe(n);
      b.copy(chunk, 0, c[0], c[1]);
      s.chunks.push(chunk);
    }
    if (flags & F.END_STREAM) this.#complete(s);
    else if (s.recvUnacked >= this.limits.streamWindow / 2) {
      this.#out.words(F.WINDOW_UPDATE, id, s.recvUnacked);
      s.recvUnacked = 0;
    }
  }

  #onHeaders(id: number, flags: number, b: Buffer, start: number, end: number) {
    let fields: string[];
    try {
      fields = this.#dec.decode(b, start, end);
    } catch {
      return this.goaway(F.COMPRESSION_ERROR); // the decoder's state is lost with the block (§4.3)
    }
    let s = this.#streams.get(id);
    if (this.role === "server" && !s) {
      if (id % 2 === 0 || id <= this.#lastPeerStream) return this.goaway(F.PROTOCOL_ERROR);
      this.#lastPeerStream = id;
      if (this.#streams.size >= this.limits.maxConcurrentStreams)
        return this.#out.words(F.RST_STREAM, id, F.REFUSED_STREAM);
      s = newStream(id, this.#peerStreamWindow, this.limits.maxBody);
      this.#streams.set(id, s);
      this.lastActive = performance.now();
    }
    if (!s) return; // a response on a stream we gave up
    if (s.fields === null) {
      if (this.role === "client" && fields[0] === ":status" && fields[1]!.startsWith("1")) return; // 1xx (§8.1)
      const bad = this.role === "server" ? malformedRequest(fields) : malformedResponse(fields);
      if (bad) return this.#malformed(s, bad);
      s.fields = fields;
      if (this.role === "server" && !(flags & F.END_STREAM)) this.onBodyStart?.(id, fields);
    } else if (!(flags & F.END_STREAM)) return this.#malformed(s, "a second field section without END_STREAM");
    // (a second section is a trailer section: not forwarded, the SBI defines none)
    if (flags & F.END_STREAM) this.#complete(s);
  }

  /** §8.1.1: a stream error PROTOCOL_ERROR; the client's request fails */
  #malformed(s: Stream, why: string): void {
    this.#rst(s, F.PROTOCOL_ERROR);
    if (s.req) fail(s.req.cb, "malformed", `malformed response: ${why}`);
  }

  #complete(s: Stream) {
    const body = s.chunks.length === 0 ? null : s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks);
    s.chunks = [];
    s.complete = true;
    const declared = declaredLength(s.fields!);
    // §8.1.1: a content-length that is not the body's length (a HEAD response and a 304 carry none)
    if (declared >= 0 && declared !== s.size && !(s.req?.fields[1] === "HEAD" || s.fields![1] === "304"))
      return this.#malformed(s, "content-length is not the length of the body");
    if (this.role === "server") return this.onRequest(this, s.id, s.fields!, body);
    this.#streams.delete(s.id);
    s.req!.cb(null, s.fields!, body);
    this.#drainWaiting();
    this.#endIfDone();
  }

  /** Graceful end (§6.8): GOAWAY NO_ERROR, nothing new; the socket ends once the open streams are done. */
  close(): void {
    if (this.closed || this.#closing) return;
    this.#closing = true;
    for (const w of this.#waiting.splice(0)) fail(w.cb, "closed", "connection closing");
    this.#out.words(F.GOAWAY, 0, this.#lastPeerStream, F.NO_ERROR);
    schedule(this.#out);
    this.#endIfDone();
  }

  #endIfDone(): void {
    if (!this.#closing || this.#streams.size > 0 || this.closed) return;
    this.#out.flush();
    this.onClose();
    this.socket.end();
  }

  /** Ends the connection at once: GOAWAY with the code (§6.8), then the socket; open streams fail. */
  goaway(code: number): void {
    if (this.closed) return;
    this.#out.words(F.GOAWAY, 0, this.#lastPeerStream, code);
    this.#out.flush();
    this.onClose();
    this.socket.end();
  }

  /** the socket closed (or we closed it): every request still open fails */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.#out.forget();
    const open = [...this.#streams.values()];
    const waiting = this.#waiting;
    this.#streams.clear();
    this.#waiting = [];
    for (const s of open) if (s.req) fail(s.req.cb, "closed", "connection closed");
    for (const w of waiting) fail(w.cb, "closed", "connection closed");
    this.onEnd?.();
  }
}
