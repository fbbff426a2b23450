// src/transport/h2/core.ts — what every HTTP/2 connection of our layer does whatever its role (RFC 9113): the
// connection preface and SETTINGS, the frames of each read (reader.ts cuts them), the output of HEADERS and DATA
// within the peer's windows (§6.9) and its one socket write per event-loop turn (out.ts), control frames, and the end of the
// connection (graceful GOAWAY or at once). conn.ts adds the streams' meaning: requests, responses, hooks.
import { AsciiText } from "../../ascii-text.ts";
import * as F from "./frames.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import { IdTable } from "./id-table.ts";
import { FrameReader, type FrameSink } from "./reader.ts";
import { type H2Socket, SocketOut, afterRead, schedule } from "./out.ts";
import { type H2Limits, type OutBody, type Queued, type Stream, fail } from "./stream.ts";

/** what is left of a text body once it is in the frame buffer */
const EMPTY_BODY = Buffer.alloc(0);
/** the frames of one field block at most (HEADERS and CONTINUATIONs; a peer's 16 KB frames need 5 for 64 KB) */
const MAX_BLOCK_FRAMES = 64;
/** PING + SETTINGS from a peer no listener guard watches, per window (the listeners' default bound) */
const MAX_CONTROL = 1000;
const CONTROL_WINDOW_MS = 10_000;

/** A field section's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (§6.5.2): name and value octets + 32 each. */
export function fieldSectionSize(fields: readonly string[]): number {
  let n = 16 * fields.length; // fields are [name, value, …]: 32 a field
  for (let i = 0; i < fields.length; i++) n += fields[i]!.length; // latin1: a char an octet (hpack.ts)
  return n;
}

export abstract class H2Core implements FrameSink {
  protected readonly _streams = new IdTable<Stream>();
  protected readonly _dec: HpackDecoder;
  protected readonly _enc = new HpackEncoder();
  protected readonly _out: SocketOut;
  /**
   * streams with data waiting for a window, in the order they blocked: an array and a flag on each stream, not a Set
   * (a stream that blocks and unblocks is add + delete churn, whose removed entries Bun 1.4.5's Set keeps reachable
   * until a full collection: id-table.ts)
   */
  protected readonly _blocked: Stream[] = [];
  readonly #reader: FrameReader;
  protected _sendWindow = 65535;
  protected _peerStreamWindow = 65535;
  protected _peerMaxFrame = F.DEFAULT_MAX_FRAME;
  /** until the peer's first SETTINGS: 100, the least §6.5.2 recommends a peer to allow */
  protected _peerMaxStreams = 100;
  protected _peerSettingsSeen = false;
  /** the peer's SETTINGS_MAX_HEADER_LIST_SIZE (§6.5.2: none announced, no limit) */
  protected _peerMaxHeaderList = Number.POSITIVE_INFINITY;
  protected _recvUnacked = 0;
  protected _lastPeerStream = 0;
  protected _nextId = 1;
  protected _cont: { id: number; flags: number; parts: Buffer[]; size: number } | null = null;
  /** §3.4: the peer's preface ends with a SETTINGS frame, the first frame it sends */
  protected _awaitSettings = true;
  /** the last stream id of the GOAWAY close() sent: streams the peer opens above it are refused (§6.8) */
  protected _goawayLast = F.MAX_STREAM_ID;
  protected _goawaySent = false;
  /**
   * server role: the last streams we reset while the peer could still send on them. Their frames in flight are
   * discarded, not a connection error (§5.1 closed: "MUST minimally process and then discard"); the RFC lets the
   * period be bounded, here by the last 32 resets.
   */
  protected readonly _resetIds = new Int32Array(32);
  protected _resetNext = 0;
  /** server role: octets of request bodies held while their requests are incomplete (bounded: conn.ts) */
  protected _held = 0;
  #controls = 0;
  #controlStart = 0;
  protected _waiting: Queued[] = [];
  closed = false;
  protected _closing = false;
  /** a GOAWAY was sent or received: no new stream; the connection ends with its last open one */
  get goingAway(): boolean {
    return this._closing;
  }
  /** a new request can go on this connection: it has not ended, and neither side sent GOAWAY (§6.8) */
  get takesRequests(): boolean {
    return !this.closed && !this._closing;
  }
  /** called once when the connection ends, whichever side ended it */
  onEnd: (() => void) | null = null;
  /** each PING or SETTINGS from the peer (a listener's flood guard, listener.ts) */
  onControl: ((kind: "ping" | "settings") => void) | null = null;
  /** when a server stream last opened or ended (performance.now()): the idle timeout counts from it */
  lastActive = performance.now();

  constructor(
    readonly socket: H2Socket,
    readonly role: "server" | "client",
    readonly limits: H2Limits,
  ) {
    this._dec = new HpackDecoder(4096, limits.maxHeaderList);
    this._out = new SocketOut(socket);
    this.#reader = new FrameReader(this, role === "server");
    if (role === "client") this._out.put(F.PREFACE);
    const settings =
      role === "client"
        ? [F.SETTINGS_ENABLE_PUSH, 0, F.SETTINGS_INITIAL_WINDOW_SIZE, limits.streamWindow]
        : [F.SETTINGS_MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams];
    // the header-list bound we enforce is announced too (§6.5.2: advisory; a peer that keeps to it is never cut off)
    if (role === "server") settings.push(F.SETTINGS_INITIAL_WINDOW_SIZE, limits.streamWindow);
    settings.push(F.SETTINGS_MAX_HEADER_LIST_SIZE, limits.maxHeaderList);
    this._out.header(settings.length * 3, F.SETTINGS, 0, 0);
    for (let i = 0; i < settings.length; i += 2) {
      this._out.buf.writeUInt16BE(settings[i]!, this._out.len);
      this._out.buf.writeUInt32BE(settings[i + 1]!, this._out.len + 2);
      this._out.len += 6;
    }
    if (limits.connectionWindow > 65535) this._out.words(F.WINDOW_UPDATE, 0, limits.connectionWindow - 65535);
    schedule(this._out);
  }

  /** streams open now (requests in flight) */
  get streams(): number {
    return this._streams.size;
  }

  /**
   * The size of a field section (§6.5.2: each field's name and value octets plus 32) when it is over the peer's
   * SETTINGS_MAX_HEADER_LIST_SIZE, else 0. Advisory in HTTP/2, but a peer over whose limit we send may end the whole
   * connection (a node:http2 server answers GOAWAY COMPRESSION_ERROR), failing every other request on it (§10.5.1).
   */
  fieldsOverPeerLimit(fields: readonly string[]): number {
    const n = fieldSectionSize(fields);
    return n > this._peerMaxHeaderList ? n : 0;
  }

  /** the peer's SETTINGS_MAX_HEADER_LIST_SIZE (Infinity: none announced) */
  get peerMaxHeaderList(): number {
    return this._peerMaxHeaderList;
  }

  // ---- output ----

  flush(): void {
    if (!this.closed) this._out.flush();
  }

  /** the socket can take more: what a short write left */
  onDrain(): void {
    if (!this.closed) this._out.drain();
  }

  protected _headers(id: number, fields: readonly string[], end: boolean): void {
    const length = this._enc.encodeLength(fields);
    const block = this._enc.buffer;
    let off = 0;
    let type = F.HEADERS;
    do {
      const n = Math.min(this._peerMaxFrame, length - off);
      const last = off + n === length;
      this._out.header(n, type, (type === F.HEADERS && end ? F.END_STREAM : 0) | (last ? F.END_HEADERS : 0), id);
      this._out.putRange(block, off, off + n);
      off += n;
      type = F.CONTINUATION;
    } while (off < length);
  }

  /** DATA within the connection's and the stream's send windows; the rest waits for WINDOW_UPDATE (§6.9). */
  protected _data(s: Stream, body: OutBody, end: boolean): void {
    if (!Buffer.isBuffer(body)) {
      // text that fits one frame and the windows is written into the frame buffer (ASCII pieces one after the other,
      // their length their octets); other text becomes octets
      const text = body;
      const ascii = text instanceof AsciiText;
      const n = ascii ? text.length : Buffer.byteLength(text, "utf8");
      if (n > Math.min(this._sendWindow, s.sendWindow, this._peerMaxFrame))
        body = ascii ? Buffer.from(text.toString(), "latin1") : Buffer.from(text, "utf8");
      else {
        this._out.header(n, F.DATA, end ? F.END_STREAM : 0, s.id);
        if (ascii) for (const p of text.pieces) this._out.putAscii(p);
        else this._out.putText(text, n);
        this._sendWindow -= n;
        s.sendWindow -= n;
        body = EMPTY_BODY;
      }
    }
    let off = 0;
    while (off < body.length) {
      const n = Math.min(body.length - off, this._sendWindow, s.sendWindow, this._peerMaxFrame);
      if (n <= 0) break;
      this._out.header(n, F.DATA, off + n === body.length && end ? F.END_STREAM : 0, s.id);
      this._out.putRange(body, off, off + n);
      this._sendWindow -= n;
      s.sendWindow -= n;
      off += n;
    }
    this._out.dirty();
    if (off < body.length) {
      s.pending = body.subarray(off);
      s.pendingEnd = end;
      if (!s.blocked) {
        s.blocked = true;
        this._blocked.push(s);
      }
      return;
    }
    s.pending = null;
    this._unqueue(s);
    if (end && this.role === "server") this._closeServerStream(s);
  }

  /** our side of a server stream is done: forget it; a request still arriving is stopped (§8.1: NO_ERROR) */
  protected _closeServerStream(s: Stream): void {
    this._streams.delete(s.id);
    this.lastActive = performance.now();
    if (!s.complete) {
      this._release(s);
      this._noteReset(s.id);
      this._out.words(F.RST_STREAM, s.id, F.NO_ERROR);
    }
  }

  protected _rst(s: Stream, code: number): void {
    this._streams.delete(s.id);
    this.lastActive = performance.now();
    this._unqueue(s);
    this._release(s);
    if (!s.complete) this._noteReset(s.id);
    this._out.words(F.RST_STREAM, s.id, code);
    schedule(this._out);
    this._endIfDone();
  }

  // ---- input ----

  onData(d: Buffer) {
    this.#reader.read(d);
    afterRead(this._out);
  }

  /** one whole frame of a read (reader.ts): the connection-wide checks, then its meaning (_onFrame) */
  frame(type: number, flags: number, id: number, b: Buffer, pos: number, end: number) {
    const err = F.frameError(type, flags, id, end - pos);
    if (err) return this.goaway(err);
    // §6.10: nothing but the block's CONTINUATIONs until its end; §3.4: the peer's preface ends with its SETTINGS
    if (this._cont && (type !== F.CONTINUATION || id !== this._cont.id)) return this.goaway(F.PROTOCOL_ERROR);
    if (this._awaitSettings) {
      if (type !== F.SETTINGS || flags & F.ACK) return this.goaway(F.PROTOCOL_ERROR);
      this._awaitSettings = false;
    }
    this._onFrame(type, flags, id, b, pos, end);
  }

  /** one frame whose header frameError accepted; its payload is b[pos, end) */
  protected _onFrame(type: number, flags: number, id: number, b: Buffer, pos: number, end: number) {
    if (type === F.DATA) return this._onDataFrame(flags, id, b, pos, end);
    if (type === F.HEADERS) {
      const c: [number, number] | null =
        flags & (F.PADDED | F.PRIORITY) ? F.content(b, pos, end, flags, true) : [pos, end];
      if (!c) return this.goaway(F.PROTOCOL_ERROR);
      if (flags & F.END_HEADERS) return this._onHeaders(id, flags, b, c[0], c[1]);
      this._cont = { id, flags, parts: [Buffer.from(b.subarray(c[0], c[1]))], size: c[1] - c[0] };
      return;
    }
    const p = b.subarray(pos, end);
    if (type === F.CONTINUATION) {
      const c = this._cont;
      if (!c) return this.goaway(F.PROTOCOL_ERROR);
      c.size += p.length;
      // empty CONTINUATIONs add no octets: their number is bounded too (the CONTINUATION flood of 2024)
      if (c.size > this.limits.maxHeaderList || c.parts.length >= MAX_BLOCK_FRAMES)
        return this.goaway(F.ENHANCE_YOUR_CALM);
      c.parts.push(Buffer.from(p));
      if (!(flags & F.END_HEADERS)) return;
      this._cont = null;
      const block = Buffer.concat(c.parts);
      return this._onHeaders(id, c.flags, block, 0, block.length);
    }
    if (type === F.RST_STREAM) return this._onReset(id, p.readUInt32BE(0));
    if (type === F.SETTINGS) return this._onSettings(flags, p);
    if (type === F.PING) {
      if (flags & F.ACK) return;
      this._control("ping");
      if (this.closed) return;
      this._out.header(8, F.PING, F.ACK, 0);
      this._out.put(p);
      return;
    }
    if (type === F.GOAWAY) return this._onGoaway(p.readUInt32BE(0) & 0x7fffffff, p.readUInt32BE(4), F.goawayDebug(p));
    if (type === F.WINDOW_UPDATE) return this._onWindowUpdate(id, p.readUInt32BE(0) & 0x7fffffff);
    // PRIORITY and unknown frame types are ignored (§5.3.2, §5.5)
  }

  protected _onSettings(flags: number, p: Buffer) {
    if (flags & F.ACK) return;
    this._control("settings");
    if (this.closed) return;
    if (!this._peerSettingsSeen) {
      this._peerSettingsSeen = true;
      this._peerMaxStreams = Number.POSITIVE_INFINITY; // unless this SETTINGS names a limit
    }
    for (let i = 0; i < p.length && !this.closed; i += 6) {
      const k = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (k === F.SETTINGS_HEADER_TABLE_SIZE) this._enc.setMax(v);
      // §6.5.2: 0 or 1; a server announces no other than 0
      else if (k === F.SETTINGS_ENABLE_PUSH && (v > 1 || (v === 1 && this.role === "client")))
        this.goaway(F.PROTOCOL_ERROR);
      else if (k === F.SETTINGS_MAX_CONCURRENT_STREAMS) this._peerMaxStreams = v;
      else if (k === F.SETTINGS_MAX_HEADER_LIST_SIZE) this._peerMaxHeaderList = v;
      else if (k === F.SETTINGS_INITIAL_WINDOW_SIZE) {
        if (v > F.MAX_WINDOW) return this.goaway(F.FLOW_CONTROL_ERROR);
        const delta = v - this._peerStreamWindow;
        this._peerStreamWindow = v;
        for (const s of this._streams.values()) {
          s.sendWindow += delta;
          // §6.9.2: a change that takes any window above 2^31-1 is a connection error
          if (s.sendWindow > F.MAX_WINDOW) return this.goaway(F.FLOW_CONTROL_ERROR);
        }
      } else if (k === F.SETTINGS_MAX_FRAME_SIZE) {
        if (v < 16384 || v > 16777215) return this.goaway(F.PROTOCOL_ERROR);
        this._peerMaxFrame = Math.min(v, 65536);
      }
    }
    if (this.closed) return;
    this._out.header(0, F.SETTINGS, F.ACK, 0);
    this._unblock();
    this._drainWaiting();
  }

  protected _onWindowUpdate(id: number, inc: number) {
    if (inc === 0) return this.goaway(F.PROTOCOL_ERROR);
    if (id === 0) {
      this._sendWindow += inc;
      if (this._sendWindow > F.MAX_WINDOW) return this.goaway(F.FLOW_CONTROL_ERROR);
    } else {
      const s = this._streams.get(id);
      if (!s) {
        if (this._idle(id)) this.goaway(F.PROTOCOL_ERROR); // §5.1: WINDOW_UPDATE on an idle stream
        return;
      }
      s.sendWindow += inc;
      if (s.sendWindow > F.MAX_WINDOW) return this._streamError(s, F.FLOW_CONTROL_ERROR);
    }
    this._unblock();
  }

  /** each stream that was blocked when the window opened, once, in order (a copy: _data() takes it off the list) */
  protected _unblock(): void {
    if (this._blocked.length === 0) return;
    for (const s of this._blocked.slice()) if (s.pending) this._data(s, s.pending, s.pendingEnd);
  }

  /**
   * A PING or SETTINGS from the peer: each makes us answer (§10.5, CVE-2019-9512/9515). A listener's guard counts
   * them (onControl, with its configured bound); without one (the client role) at most MAX_CONTROL per 10 s.
   */
  protected _control(kind: "ping" | "settings") {
    if (this.onControl) return this.onControl(kind);
    const now = performance.now();
    if (now - this.#controlStart > CONTROL_WINDOW_MS) {
      this.#controlStart = now;
      this.#controls = 0;
    }
    if (++this.#controls > MAX_CONTROL) this.goaway(F.ENHANCE_YOUR_CALM);
  }

  /** §5.1: a stream neither side has opened yet (a server opens none; a client accepts no push) */
  protected _idle(id: number): boolean {
    return (id & 1) === (this.role === "client" ? 1 : 0) ? id >= this._nextId : id > this._lastPeerStream;
  }

  /** server role: a stream we reset while the peer could still send on it */
  protected _noteReset(id: number): void {
    if (this.role !== "server") return;
    this._resetIds[this._resetNext] = id;
    this._resetNext = (this._resetNext + 1) & 31;
  }

  /** whether `id` is among the last streams we reset while the peer could still send on them */
  protected _resetByUs(id: number): boolean {
    return this._resetIds.includes(id);
  }

  /** the body octets `s` holds no longer count against the connection's bound */
  protected _release(s: Stream): void {
    this._held -= s.held;
    if (this.limits.bodyBudget) this.limits.bodyBudget.held -= s.held;
    s.held = 0;
  }

  /** `s` off the list of blocked streams (at most the connection's concurrent streams: a scan) */
  protected _unqueue(s: Stream): void {
    if (!s.blocked) return;
    s.blocked = false;
    this._blocked.splice(this._blocked.indexOf(s), 1);
  }

  protected abstract _onDataFrame(flags: number, id: number, b: Buffer, pos: number, end: number): void;
  protected abstract _onHeaders(id: number, flags: number, b: Buffer, start: number, end: number): void;
  protected abstract _onReset(id: number, code: number): void;
  protected abstract _streamError(s: Stream, code: number): void;
  protected abstract _onGoaway(last: number, code: number, debug: string): void;
  protected abstract _drainWaiting(): void;

  /** Graceful end (§6.8): GOAWAY NO_ERROR, nothing new; the socket ends once the open streams are done. */
  close(): void {
    if (this.closed || this._closing) return;
    this._closing = true;
    for (const w of this._waiting.splice(0)) fail(w.cb, "closed", "connection closing");
    this._goawayLast = this._lastPeerStream;
    this._goawaySent = true;
    this._out.words(F.GOAWAY, 0, this._lastPeerStream, F.NO_ERROR);
    schedule(this._out);
    this._endIfDone();
  }

  protected _endIfDone(): void {
    if (!this._closing || this._streams.size > 0 || this.closed) return;
    // §6.8: a GOAWAY before the end (when the peer's GOAWAY began it), so the peer knows what was processed
    if (!this._goawaySent) this._out.words(F.GOAWAY, 0, this._lastPeerStream, F.NO_ERROR);
    this._out.flush();
    this.onClose();
    this.socket.end();
  }

  /**
   * Ends the connection at once: GOAWAY with the code (§6.8) and, if given, `debug` (ASCII: why, for the peer's
   * logs), then the socket; open streams fail.
   */
  goaway(code: number, debug = ""): void {
    if (this.closed) return;
    if (debug === "") this._out.words(F.GOAWAY, 0, this._lastPeerStream, code);
    else {
      this._out.header(8 + debug.length, F.GOAWAY, 0, 0);
      this._out.u32(this._lastPeerStream);
      this._out.u32(code);
      this._out.putText(debug, debug.length);
    }
    this._out.flush();
    this.onClose();
    this.socket.end();
  }

  /** the socket closed (or we closed it): every request still open fails */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this._out.forget();
    const open = this._streams.values();
    const waiting = this._waiting;
    this._streams.clear();
    if (this.limits.bodyBudget) this.limits.bodyBudget.held -= this._held;
    this._held = 0;
    this._waiting = [];
    for (const s of open) if (s.req) fail(s.req.cb, "closed", "connection closed");
    for (const w of waiting) fail(w.cb, "closed", "connection closed");
    this.onEnd?.();
  }
}
