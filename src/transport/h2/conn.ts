// src/transport/h2/conn.ts — one HTTP/2 connection (RFC 9113) on a Bun socket, whole messages in and out (the
// shape of the SEPP's data path: InboundRequest → OutboundResponse). A server role hands each complete request
// (fields + body) to onRequest and answers with respond(); a client role sends requests and calls back with the
// complete response. All frames of one socket read are parsed in one pass, and what they cause on any connection
// is written with one socket write per connection at the end of that read (flushAll). Flow control both ways
// (§5.2, §6.9), SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION and padding; priorities ignored (§5.3.2 allows
// it), no server push (ENABLE_PUSH 0). A connection error ends the connection with GOAWAY (§5.4.1).
// Not yet the SEPP's data path (which runs on node:http2 with its border guards, src/transport/h2server.ts):
// bench:e2e measures it as `bun-raw-chain` (docs/PERFORMANCE.md "HTTP/2 on Bun's sockets").
import type { Socket } from "bun";
import * as F from "./frames.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import { SocketOut, flushAll, schedule } from "./out.ts";
import { DEFAULT_H2_LIMITS, type H2Limits, type OnResponse, type Stream, newStream } from "./stream.ts";

export { DEFAULT_H2_LIMITS, flushAll, type H2Limits, type OnResponse };
/** A complete request on a server-role connection: fields are [name, value, …] as received. */
export type OnRequest = (c: H2Conn, stream: number, fields: string[], body: Buffer | null) => void;

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
  #waiting: Array<{ fields: string[]; body: Buffer | null; cb: OnResponse; tries: number }> = [];
  closed = false;

  constructor(
    readonly socket: Pick<Socket<unknown>, "write" | "end">,
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
        : [
            F.SETTINGS_MAX_CONCURRENT_STREAMS,
            limits.maxConcurrentStreams,
            F.SETTINGS_INITIAL_WINDOW_SIZE,
            limits.streamWindow,
          ];
    this.#out.header(settings.length * 3, F.SETTINGS, 0, 0);
    for (let i = 0; i < settings.length; i += 2) {
      this.#out.buf.writeUInt16BE(settings[i]!, this.#out.len);
      this.#out.buf.writeUInt32BE(settings[i + 1]!, this.#out.len + 2);
      this.#out.len += 6;
    }
    if (limits.connectionWindow > 65535) this.#out.words(F.WINDOW_UPDATE, 0, limits.connectionWindow - 65535);
    schedule(this.#out);
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
    this.#out.dirty();
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
    if (end && this.role === "server") this.#streams.delete(s.id);
  }

  // ---- server role ----

  /** The response to a request stream; fields start with :status. Ignored when the stream is gone. */
  respond(id: number, fields: readonly string[], body: Buffer | null): void {
    const s = this.#streams.get(id);
    if (!s || this.closed) return;
    this.#headers(id, fields, !body?.length);
    if (body?.length) this.#data(s, body, true);
    else this.#streams.delete(id);
    schedule(this.#out);
  }

  reset(id: number, code = F.CANCEL): void {
    const s = this.#streams.get(id);
    if (!s || this.closed) return;
    this.#streams.delete(id);
    this.#blocked.delete(s);
    this.#out.words(F.RST_STREAM, id, code);
    schedule(this.#out);
  }

  // ---- client role ----

  /** A request: fields start with the pseudo-header fields (§8.3.1). The callback runs exactly once. */
  request(fields: string[], body: Buffer | null, cb: OnResponse, tries = 0): void {
    if (this.closed) {
      cb(new Error("connection closed"), [], null);
      return;
    }
    if (this.#streams.size >= this.#peerMaxStreams) {
      this.#waiting.push({ fields, body, cb, tries });
      return;
    }
    const s = this.#stream(this.#nextId);
    this.#nextId += 2;
    s.cb = cb;
    s.req = { fields, body, tries };
    this.#headers(s.id, fields, !body?.length);
    if (body?.length) this.#data(s, body, true);
    schedule(this.#out);
  }

  #stream(id: number): Stream {
    const s = newStream(id, this.#peerStreamWindow);
    this.#streams.set(id, s);
    return s;
  }

  // ---- input ----

  onData(d: Buffer): void {
    const b = this.#rest ? Buffer.concat([this.#rest, d]) : d;
    let off = 0;
    if (this.#prefaceLeft) {
      const n = Math.min(this.#prefaceLeft, b.length);
      const from = F.PREFACE.length - this.#prefaceLeft;
      if (F.PREFACE.compare(b, 0, n, from, from + n) !== 0) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
      this.#prefaceLeft -= n;
      off = n;
    }
    while (!this.closed && b.length - off >= 9) {
      const len = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
      if (len > F.DEFAULT_MAX_FRAME) {
        this.goaway(F.FRAME_SIZE_ERROR);
        return;
      }
      if (b.length - off - 9 < len) break;
      const id = ((b[off + 5]! & 127) << 24) | (b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!;
      this.#onFrame(b[off + 3]!, b[off + 4]!, id, b, off + 9, off + 9 + len);
      off += 9 + len;
    }
    this.#rest = off < b.length && !this.closed ? Buffer.from(b.subarray(off)) : null;
    if (this.#out.len) this.#out.dirty();
    flushAll();
  }

  /** one frame; its payload is b[pos, end) */
  #onFrame(type: number, flags: number, id: number, b: Buffer, pos: number, end: number): void {
    if (this.#cont && (type !== F.CONTINUATION || id !== this.#cont.id)) {
      this.goaway(F.PROTOCOL_ERROR);
      return;
    }
    if (type === F.DATA) {
      this.#onDataFrame(flags, id, b, pos, end);
      return;
    }
    if (type === F.HEADERS) {
      if (id === 0) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
      let start = pos;
      let stop = end;
      if (flags & F.PADDED) {
        if (pos >= end) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        start++;
        stop -= b[pos]!;
      }
      if (flags & F.PRIORITY) start += 5;
      if (start > stop) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
      if (flags & F.END_HEADERS) {
        this.#onHeaders(id, flags, b, start, stop);
        return;
      }
      this.#cont = { id, flags, parts: [Buffer.from(b.subarray(start, stop))], size: stop - start };
      return;
    }
    const p = b.subarray(pos, end);
    switch (type) {
      case F.CONTINUATION: {
        const c = this.#cont;
        if (!c) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        c.size += p.length;
        if (c.size > this.limits.maxHeaderList) {
          this.goaway(F.ENHANCE_YOUR_CALM);
          return;
        }
        c.parts.push(Buffer.from(p));
        if (flags & F.END_HEADERS) {
          this.#cont = null;
          const block = Buffer.concat(c.parts);
          this.#onHeaders(id, c.flags, block, 0, block.length);
        }
        return;
      }
      case F.RST_STREAM: {
        if (id === 0 || p.length !== 4) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        const s = this.#streams.get(id);
        if (!s) return;
        this.#streams.delete(id);
        this.#blocked.delete(s);
        const code = p.readUInt32BE(0);
        if (code === F.REFUSED_STREAM && s.req && s.req.tries < 3 && s.cb) {
          this.#waiting.unshift({ fields: s.req.fields, body: s.req.body, cb: s.cb, tries: s.req.tries + 1 });
        } else s.cb?.(new Error(`stream reset by the peer (code ${code})`), [], null);
        this.#drainWaiting();
        return;
      }
      case F.SETTINGS:
        if (id !== 0) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        if (p.length % 6 || (flags & F.ACK && p.length)) {
          this.goaway(F.FRAME_SIZE_ERROR);
          return;
        }
        if (flags & F.ACK) return;
        if (!this.#peerSettingsSeen) {
          this.#peerSettingsSeen = true;
          this.#peerMaxStreams = Number.POSITIVE_INFINITY; // unless this SETTINGS names a limit
        }
        for (let i = 0; i < p.length && !this.closed; i += 6) this.#setting(p.readUInt16BE(i), p.readUInt32BE(i + 2));
        this.#out.header(0, F.SETTINGS, F.ACK, 0);
        this.#unblock();
        {
          this.#drainWaiting();
          return;
        }
      case F.PUSH_PROMISE: {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      } // we sent ENABLE_PUSH 0; a client never receives it either (§8.4)
      case F.PING:
        if (id !== 0) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        if (p.length !== 8) {
          this.goaway(F.FRAME_SIZE_ERROR);
          return;
        }
        if (flags & F.ACK) return;
        this.#out.header(8, F.PING, F.ACK, 0);
        this.#out.put(p);
        this.#out.dirty();
        return;
      case F.GOAWAY: {
        if (id !== 0 || p.length < 8) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        const last = p.readUInt32BE(0) & 0x7fffffff;
        this.#peerMaxStreams = 0; // no new streams on this connection (§6.8)
        if (this.role === "client")
          for (const [sid, s] of this.#streams)
            if (sid > last) {
              this.#streams.delete(sid);
              s.cb?.(new Error("the peer is going away (GOAWAY)"), [], null);
            }
        for (const w of this.#waiting.splice(0)) w.cb(new Error("the peer is going away (GOAWAY)"), [], null);
        return;
      }
      case F.WINDOW_UPDATE: {
        if (p.length !== 4) {
          this.goaway(F.FRAME_SIZE_ERROR);
          return;
        }
        const inc = p.readUInt32BE(0) & 0x7fffffff;
        if (inc === 0) {
          this.goaway(F.PROTOCOL_ERROR);
          return;
        }
        if (id === 0) {
          this.#sendWindow += inc;
          if (this.#sendWindow > F.MAX_WINDOW) {
            this.goaway(F.FLOW_CONTROL_ERROR);
            return;
          }
        } else {
          const s = this.#streams.get(id);
          if (s) s.sendWindow += inc;
          if (s && s.sendWindow > F.MAX_WINDOW) {
            this.reset(id, F.FLOW_CONTROL_ERROR);
            return;
          }
        }
        this.#unblock();
        return;
      }
      default:
        return; // PRIORITY and unknown frame types are ignored (§5.5, §5.3.2)
    }
  }

  #setting(k: number, v: number): void {
    if (k === F.SETTINGS_HEADER_TABLE_SIZE) this.#enc.setMax(v);
    else if (k === F.SETTINGS_ENABLE_PUSH) {
      if (v > 1) this.goaway(F.PROTOCOL_ERROR);
    } else if (k === F.SETTINGS_MAX_CONCURRENT_STREAMS) this.#peerMaxStreams = v;
    else if (k === F.SETTINGS_INITIAL_WINDOW_SIZE) {
      if (v > F.MAX_WINDOW) {
        this.goaway(F.FLOW_CONTROL_ERROR);
        return;
      }
      const delta = v - this.#peerStreamWindow;
      this.#peerStreamWindow = v;
      for (const s of this.#streams.values()) s.sendWindow += delta;
    } else if (k === F.SETTINGS_MAX_FRAME_SIZE) {
      if (v < 16384 || v > 16777215) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
      this.#peerMaxFrame = Math.min(v, 65536);
    }
  }

  #unblock(): void {
    for (const s of this.#blocked) if (s.pending) this.#data(s, s.pending, s.pendingEnd);
  }

  #onDataFrame(flags: number, id: number, b: Buffer, pos: number, stop: number): void {
    const length = stop - pos;
    if (id === 0) {
      this.goaway(F.PROTOCOL_ERROR);
      return;
    }
    this.#recvUnacked += length;
    if (this.#recvUnacked > this.limits.connectionWindow) {
      this.goaway(F.FLOW_CONTROL_ERROR);
      return;
    }
    if (this.#recvUnacked >= this.limits.connectionWindow / 2) {
      this.#out.words(F.WINDOW_UPDATE, 0, this.#recvUnacked);
      this.#recvUnacked = 0;
      this.#out.dirty();
    }
    const s = this.#streams.get(id);
    if (!s?.fields) {
      const highest = this.role === "server" ? this.#lastPeerStream : this.#nextId - 2;
      if (id > highest) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      } // DATA on an idle stream (§6.1)
      return; // a stream already closed or reset: counted for the connection window, dropped
    }
    let start = pos;
    let end = stop;
    if (flags & F.PADDED) {
      if (pos >= stop) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
      start++;
      end -= b[pos]!;
      if (start > end) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
    }
    s.recvUnacked += length;
    if (s.recvUnacked > this.limits.streamWindow) {
      this.goaway(F.FLOW_CONTROL_ERROR);
      return;
    }
    if (end > start) {
      s.size += end - start;
      if (s.size > this.limits.maxBody) {
        this.reset(id, F.CANCEL);
        s.cb?.(new Error("body larger than the limit"), [], null);
        return;
      }
      const chunk = Buffer.allocUnsafe(end - start);
      b.copy(chunk, 0, start, end);
      s.chunks.push(chunk);
    }
    if (flags & F.END_STREAM) this.#complete(s);
    else if (s.recvUnacked >= this.limits.streamWindow / 2) {
      this.#out.words(F.WINDOW_UPDATE, id, s.recvUnacked);
      s.recvUnacked = 0;
      this.#out.dirty();
    }
  }

  #onHeaders(id: number, flags: number, b: Buffer, start: number, end: number): void {
    let fields: string[];
    try {
      fields = this.#dec.decode(b, start, end);
    } catch {
      this.goaway(F.COMPRESSION_ERROR);
      return;
    }
    let s = this.#streams.get(id);
    if (this.role === "server" && !s) {
      if (id % 2 === 0 || id <= this.#lastPeerStream) {
        this.goaway(F.PROTOCOL_ERROR);
        return;
      }
      this.#lastPeerStream = id;
      if (this.#streams.size >= this.limits.maxConcurrentStreams) {
        this.#out.words(F.RST_STREAM, id, F.REFUSED_STREAM);
        this.#out.dirty();
        return;
      }
      s = this.#stream(id);
    }
    if (!s) return; // a response on a stream we gave up
    if (s.fields === null) {
      if (this.role === "client" && fields[0] === ":status" && fields[1]!.startsWith("1")) return; // 1xx (§8.1)
      s.fields = fields;
    } // a second block is a trailer section: not forwarded (the SBI does not use trailers)
    if (flags & F.END_STREAM) this.#complete(s);
  }

  #complete(s: Stream): void {
    const body = s.chunks.length === 0 ? null : s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks);
    s.chunks = [];
    if (this.role === "server") {
      this.onRequest(this, s.id, s.fields!, body);
      return;
    }
    this.#streams.delete(s.id);
    s.cb!(null, s.fields!, body);
    this.#drainWaiting();
  }

  #drainWaiting(): void {
    while (this.#waiting.length && this.#streams.size < this.#peerMaxStreams) {
      const w = this.#waiting.shift()!;
      this.request(w.fields, w.body, w.cb, w.tries);
    }
  }

  /** Ends the connection: GOAWAY with the code (§6.8), then the socket; open streams fail. */
  goaway(code: number): void {
    if (this.closed) return;
    this.#out.words(F.GOAWAY, 0, this.#lastPeerStream, code);
    this.flush();
    this.onClose();
    this.socket.end();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.#out.forget();
    const streams = [...this.#streams.values()];
    const waiting = this.#waiting;
    this.#streams.clear();
    this.#waiting = [];
    for (const s of streams) s.cb?.(new Error("connection closed"), [], null);
    for (const w of waiting) w.cb(new Error("connection closed"), [], null);
  }
}
