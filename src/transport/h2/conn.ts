// src/transport/h2/conn.ts — one HTTP/2 connection (RFC 9113) on a socket, whole messages in and out (the shape of
// the SEPP's data path: a request with its body, a response with its body). A server role hands each complete,
// well-formed request to onRequest and answers with respond(); a client role sends requests and calls back once
// per request with the complete response or the reason there is none. All frames of one socket read are parsed
// in one pass, and what they cause on any connection leaves in one socket write per connection at the end of that
// read (out.ts). The frames, windows and control of the connection are core.ts; here the streams: requests and
// responses, malformed messages as stream errors (fields.ts), content-length against the body, REFUSED_STREAM sent
// again, the peer's stream limit, body caps, cancellation. The socket is the caller's: node-socket.ts joins
// a node:net/node:tls socket (whose TLS checks stay as they are), a Bun socket fits as it is.
import * as F from "./frames.ts";
import { fieldSectionSize, H2Core } from "./core.ts";
import { declaredLength, malformedRequest, malformedResponse, malformedTrailers } from "./fields.ts";
import { LIST_TOO_LARGE } from "./hpack.ts";
import { type H2Socket, schedule } from "./out.ts";
import {
  bodyBudget,
  DEFAULT_H2_LIMITS,
  type H2Limits,
  type H2Failure,
  H2StreamError,
  type OnResponse,
  type OutBody,
  type Stream,
  fail,
  newStream,
} from "./stream.ts";

export { bodyBudget, DEFAULT_H2_LIMITS, type H2Limits, type H2Socket, H2StreamError, type OnResponse, type OutBody };
/** A complete request on a server-role connection: fields are [name, value, …] as received, pseudo-fields first. */
export type OnRequest = (c: H2Conn, stream: number, fields: string[], body: Buffer | null) => void;

/** requests queued on one connection while the peer's SETTINGS_MAX_CONCURRENT_STREAMS are in use */
const MAX_WAITING = 4096;
/**
 * The largest field section a request sends before the peer's first SETTINGS, whose SETTINGS_MAX_HEADER_LIST_SIZE
 * is unknown until then; a larger one waits for them (one round trip, on a new connection only). An SBI request's
 * fields are mostly under 2 KB (an access token included); servers take 8 KB or more.
 */
const EARLY_FIELDS = 4096;
/** informational (1xx) responses to one request at most (§10.5: each is work for us; a request needs one or two) */
const MAX_INFORMATIONAL = 8;

export class H2Conn extends H2Core {
  // server-role hooks of a listener (listener.ts, sbi-server.ts): the peer reset a stream we had not answered; a
  // request's fields arrived and its body follows; its body went over maxBody (the hook answers, 413; the stream is
  // closed after the answer). PING/SETTINGS: onControl (core.ts).
  onPeerReset: ((id: number) => void) | null = null;
  onBodyStart: ((id: number, fields: string[]) => void) | null = null;
  onTooLarge: ((id: number) => void) | null = null;
  /** server role: a request whose field section is over the list bound (answer it, e.g. 431); none: it is reset */
  onFieldsTooLarge: ((id: number) => void) | null = null;
  /** why the peer's GOAWAY ended this connection, for the requests it refuses */
  private _goneAway: string | null = null;

  constructor(
    socket: H2Socket,
    role: "server" | "client",
    public onRequest: OnRequest = () => {},
    limits: H2Limits = DEFAULT_H2_LIMITS,
  ) {
    super(socket, role, limits);
  }

  // ---- server role ----

  /** The response to a request stream; fields start with :status. Ignored when the stream is gone. */
  respond(id: number, fields: readonly string[], body: OutBody | null): void {
    const s = this._streams.get(id);
    if (!s || this.closed) return;
    this._headers(id, fields, !body?.length);
    if (body?.length) this._data(s, body, true);
    else this._closeServerStream(s);
    schedule(this._out);
    this._endIfDone();
  }

  /** whether a request stream is still open (not reset by the client, not answered) */
  isOpen(id: number): boolean {
    return this._streams.has(id);
  }

  reset(id: number, code = F.CANCEL): void {
    const s = this._streams.get(id);
    if (s && !this.closed) this._rst(s, code);
  }

  // ---- client role ----

  /**
   * A request: fields start with the pseudo-header fields (§8.3.1). The callback runs exactly once; a response body
   * over `maxBody` resets the stream and fails it ("too-large").
   */
  request(fields: string[], body: OutBody | null, cb: OnResponse, maxBody = this.limits.maxBody, tries = 0) {
    if (this.closed || this._closing)
      return this._goneAway ? fail(cb, "refused", this._goneAway) : fail(cb, "closed", "connection closed");
    const size = fieldSectionSize(fields);
    if (size > this._peerMaxHeaderList)
      return fail(
        cb,
        "fields-too-large",
        `header fields of ${size} octets, over the peer's SETTINGS_MAX_HEADER_LIST_SIZE ${this._peerMaxHeaderList}`,
      );
    // a large field section waits for the peer's first SETTINGS (its limit is unknown until then; a small one
    // leaves at once, as any request on a new connection does)
    if (this._streams.size >= this._peerMaxStreams || (size > EARLY_FIELDS && !this._peerSettingsSeen)) {
      // bounded: the callers bound their requests in flight per peer; this is the last line
      if (this._waiting.length >= MAX_WAITING) return fail(cb, "refused", "too many requests waiting for a stream");
      this._waiting.push({ fields, body, cb, maxBody, tries });
      return;
    }
    if (this._nextId > F.MAX_STREAM_ID) {
      // §5.1.1: no stream identifier left (after 2^30 requests): the connection ends with its open streams, and the
      // caller's pool opens another (it sees takesRequests false)
      this.close();
      return fail(cb, "refused", "stream identifiers of the connection exhausted");
    }
    const s = newStream(this._nextId, this._peerStreamWindow, maxBody);
    this._nextId += 2;
    this._streams.set(s.id, s);
    s.req = { fields, body, cb, maxBody, tries };
    this._headers(s.id, fields, !body?.length);
    if (body?.length) this._data(s, body, true);
    schedule(this._out);
  }

  /** Gives up the request whose callback is `cb` (RST_STREAM CANCEL when sent); the callback is not called. */
  cancel(cb: OnResponse): void {
    const w = this._waiting.findIndex((q) => q.cb === cb);
    if (w >= 0) {
      this._waiting.splice(w, 1);
      return;
    }
    for (const s of this._streams.values())
      if (s.req?.cb === cb) {
        if (!this.closed) this._rst(s, F.CANCEL);
        this._drainWaiting();
        return;
      }
  }

  protected _drainWaiting(): void {
    if (!this._peerSettingsSeen) return; // what waits before them is sent once they arrive (_onSettings)
    while (this._waiting.length && this._streams.size < this._peerMaxStreams && !this.closed) {
      const w = this._waiting.shift()!;
      this.request(w.fields, w.body, w.cb, w.maxBody, w.tries);
    }
  }

  protected _onReset(id: number, code: number): void {
    const s = this._streams.get(id);
    if (!s) {
      if (this._idle(id)) this.goaway(F.PROTOCOL_ERROR); // §5.1, §6.4: RST_STREAM on an idle stream
      return;
    }
    this._streams.delete(id);
    this._unqueue(s);
    this._release(s);
    this.lastActive = performance.now();
    if (this.role === "server") {
      this.onPeerReset?.(id);
      this._endIfDone();
      return;
    }
    const q = s.req;
    // refused unprocessed (§8.7): safe to send again, a few times (on this connection while it takes new streams)
    if (q && code === F.REFUSED_STREAM && q.tries < 3 && !this._closing)
      this._waiting.unshift({ ...q, tries: q.tries + 1 });
    else if (q)
      fail(q.cb, code === F.REFUSED_STREAM ? "refused" : "reset", `stream reset by the peer (${F.errorName(code)})`);
    this._drainWaiting();
    this._endIfDone();
  }

  protected _onGoaway(last: number, code: number, debug: string): void {
    this._peerMaxStreams = 0; // no new streams on this connection (§6.8); the ones up to `last` may still finish
    const why = `the peer is going away (GOAWAY ${F.errorName(code)}${debug === "" ? "" : `: ${debug}`})`;
    this._goneAway = why;
    // nothing new on it (a request now fails at once instead of waiting for a stream): it ends with its last stream.
    // Set before the refused requests are called back: one sent again (a pool's resend) must not come back here
    this._closing = true;
    if (this.role === "client")
      for (const [id, s] of this._streams.entries())
        if (id > last) {
          // not processed (§6.8): the rest of its body stays here
          this._streams.delete(id);
          this._unqueue(s);
          s.pending = null;
          if (s.req) fail(s.req.cb, "refused", why);
        }
    for (const w of this._waiting.splice(0)) fail(w.cb, "refused", why);
    this._endIfDone();
  }

  protected _onDataFrame(flags: number, id: number, b: Buffer, pos: number, end: number) {
    this._recvUnacked += end - pos;
    if (this._recvUnacked > this.limits.connectionWindow) return this.goaway(F.FLOW_CONTROL_ERROR);
    if (this._recvUnacked >= this.limits.connectionWindow / 2) {
      this._out.words(F.WINDOW_UPDATE, 0, this._recvUnacked);
      this._recvUnacked = 0;
    }
    const s = this._streams.get(id);
    if (!s?.fields || s.complete) {
      // DATA on a stream never opened (§5.1 idle, §6.1), or after END_STREAM (§5.1 half-closed remote: STREAM_CLOSED)
      if (s || this._idle(id)) return this.goaway(F.PROTOCOL_ERROR);
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
          this._release(s);
          s.complete = false;
          this.onTooLarge(id);
          return;
        }
        return this._streamError(s, F.CANCEL, "too-large", `body over ${s.maxBody} octets`);
      }
      // a body whole in this one frame stays a view of the read (no copy: 1.6–2.3 KB less allocated per PRINS request
      // and SEPP, docs/PERFORMANCE.md "Fewer bytes per request", 1.). The read stays alive while the body
      // does, so only a read no longer than the stream's body bound is kept (each stream still holds at most its
      // bound); a body of several frames is copied as before (its reads would add up) and concatenated at the end.
      if (flags & F.END_STREAM && s.chunks.length === 0 && b.length <= s.maxBody) s.chunks.push(b.subarray(c[0], c[1]));
      else {
        const chunk = Buffer.allocUnsafe(n);
        b.copy(chunk, 0, c[0], c[1]);
        s.chunks.push(chunk);
      }
      if (this.role === "server") {
        // the incomplete requests of one connection hold at most its receive window of body octets (one body cap if
        // larger), those of all connections of its listener at most their budget (limits.bodyBudget): the window is
        // given again as DATA arrives (a request is handed on whole), so without these bounds each stream could hold
        // its body cap. The stream that goes over was not processed: REFUSED_STREAM, the client may send it again
        s.held += n;
        this._held += n;
        const budget = this.limits.bodyBudget;
        if (budget) budget.held += n;
        if (
          (this._held > this.limits.connectionWindow && this._held > this.limits.maxBody) ||
          (budget && budget.held > budget.max)
        )
          return this._streamError(s, F.REFUSED_STREAM);
      }
    }
    if (flags & F.END_STREAM) this._complete(s);
    else if (s.recvUnacked >= this.limits.streamWindow / 2) {
      this._out.words(F.WINDOW_UPDATE, id, s.recvUnacked);
      s.recvUnacked = 0;
    }
  }

  protected _onHeaders(id: number, flags: number, b: Buffer, start: number, end: number) {
    let fields: string[];
    try {
      fields = this._dec.decode(b, start, end);
    } catch {
      return this.goaway(F.COMPRESSION_ERROR); // the decoder's state is lost with the block (§4.3)
    }
    let s = this._streams.get(id);
    if (this.role === "server" && !s) {
      if (id <= this._lastPeerStream && id % 2 === 1 && this._resetByUs(id)) return; // sent before our reset (§5.1)
      if (id % 2 === 0 || id <= this._lastPeerStream) return this.goaway(F.PROTOCOL_ERROR);
      this._lastPeerStream = id;
      // above the last stream of our GOAWAY (not processed, §6.8), or beyond our concurrency (§5.1.2)
      if (id > this._goawayLast || this._streams.size >= this.limits.maxConcurrentStreams) {
        this._noteReset(id);
        return this._out.words(F.RST_STREAM, id, F.REFUSED_STREAM);
      }
      s = newStream(id, this._peerStreamWindow, this.limits.maxBody);
      this._streams.set(id, s);
      this.lastActive = performance.now();
    }
    if (!s) {
      // client role: a response on a stream we gave up (§5.1 closed: discarded), or on one never opened (§5.1.1)
      if (this._idle(id)) this.goaway(F.PROTOCOL_ERROR);
      return;
    }
    if (fields === LIST_TOO_LARGE) return this._fieldsTooLarge(s, flags);
    if (s.fields === null) {
      if (this.role === "client" && fields[0] === ":status" && fields[1]?.charCodeAt(0) === 49) {
        const bad = informationalProblem(fields, flags, ++s.informational);
        if (bad) this._malformed(s, bad);
        return;
      }
      const bad = this.role === "server" ? malformedRequest(fields) : malformedResponse(fields);
      if (bad) return this._malformed(s, bad);
      s.fields = fields;
      if (this.role === "server" && !(flags & F.END_STREAM)) this.onBodyStart?.(id, fields);
    } else if (s.complete)
      return this._streamError(s, F.STREAM_CLOSED); // §5.1 half-closed (remote)
    else {
      // a trailer section (§8.1): not forwarded, the SBI defines none; but as malformed as a header section can be
      if (!(flags & F.END_STREAM)) return this._malformed(s, "a second field section without END_STREAM");
      const bad = malformedTrailers(fields);
      if (bad) return this._malformed(s, bad);
    }
    if (flags & F.END_STREAM) this._complete(s);
  }

  /**
   * A field section over our SETTINGS_MAX_HEADER_LIST_SIZE, decoded (the table is in step) but not kept: the message
   * is refused, not the connection (§10.5.1). A request: answered by the application (onFieldsTooLarge: 431), else
   * reset; a response, an informational one or trailers: the stream fails as too large.
   */
  protected _fieldsTooLarge(s: Stream, flags: number) {
    const why = `header fields over ${this.limits.maxHeaderList} octets`;
    if (this.role === "server" && s.fields === null && this.onFieldsTooLarge) {
      s.fields = []; // answerable; what DATA follows is dropped once the answer closes the stream (§8.1)
      if (flags & F.END_STREAM) s.complete = true;
      return this.onFieldsTooLarge(s.id);
    }
    this._streamError(s, this.role === "server" ? F.PROTOCOL_ERROR : F.CANCEL, "too-large", why);
  }

  /** §8.1.1: a malformed message is a stream error PROTOCOL_ERROR */
  protected _malformed(s: Stream, why: string) {
    this._streamError(s, F.PROTOCOL_ERROR, "malformed", `malformed response: ${why}`);
  }

  /**
   * A stream error of the peer's making (§5.4.2): RST_STREAM with `code`. Server role: the request is not answered,
   * and the application forgets it as for the peer's own reset (onPeerReset: a listener's reset-flood guard counts
   * it too, listener.ts). Client role: the request fails with `kind`; one waiting for a stream takes its place.
   */
  protected _streamError(s: Stream, code: number, kind: H2Failure = "reset", why = "") {
    const known = s.fields !== null;
    this._rst(s, code);
    if (this.role === "server") {
      if (known) this.onPeerReset?.(s.id);
      return;
    }
    if (s.req) fail(s.req.cb, kind, why || `stream error ${F.errorName(code)}`);
    this._drainWaiting();
  }

  protected _complete(s: Stream) {
    const body = s.chunks.length === 0 ? null : s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks);
    s.chunks = [];
    s.complete = true;
    this._release(s);
    // §8.1.1: a content-length that is not the body's length; a response defined to have no content (to a HEAD, a
    // 204 or a 304: RFC 9110 6.4.1) may declare one, but carries no DATA (a request's fields[1] is its method)
    const status = this.role === "client" ? s.fields![1] : "";
    if (s.req?.fields[1] === "HEAD" || status === "204" || status === "304") {
      if (s.size > 0) return this._malformed(s, "content in a response that has none");
    } else {
      const declared = declaredLength(s.fields!);
      if (declared >= 0 && declared !== s.size)
        return this._malformed(s, "content-length is not the length of the body");
    }
    if (this.role === "server") return this.onRequest(this, s.id, s.fields!, body);
    this._streams.delete(s.id);
    if (s.pending) {
      // the response came before the whole request body (§8.1): the rest is not needed; the stream is closed
      // without error (the server's own RST_STREAM NO_ERROR may cross it, and is then a frame on a closed stream)
      this._unqueue(s);
      s.pending = null;
      this._out.words(F.RST_STREAM, s.id, F.NO_ERROR);
    }
    s.req!.cb(null, s.fields!, body);
    this._drainWaiting();
    this._endIfDone();
  }
}

/** An informational response (§8.1) that is not one: malformed, ending the stream, 101 (§8.6), or one too many. */
function informationalProblem(fields: string[], flags: number, nth: number): string | null {
  if (flags & F.END_STREAM) return "an informational response ends the stream";
  if (fields[1] === "101") return "101 is not used in HTTP/2";
  if (nth > MAX_INFORMATIONAL) return "too many informational responses";
  return malformedResponse(fields);
}
