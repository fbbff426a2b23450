// src/transport/h2/reader.ts — a connection's socket reads to whole frames (RFC 9113 §4.1): the client connection
// preface checked first (server role, §3.4), the frames of each read handed on in one pass, a frame the read ends in
// kept until the next reads complete it, and a frame larger than we allow refused from its header alone (§4.2).
// What a frame means is the connection's (core.ts): the reader only cuts.
import * as F from "./frames.ts";

/** Where the whole frames go: the connection (core.ts). */
export interface FrameSink {
  readonly closed: boolean;
  /** one whole frame: its header's fields and its payload b[pos, end) */
  frame(type: number, flags: number, id: number, b: Buffer, pos: number, end: number): void;
  goaway(code: number): void;
}

export class FrameReader {
  /** a frame the last read ended in, and how much of it has arrived (#keepRest) */
  #rest: Buffer | null = null;
  #restLen = 0;
  #prefaceLeft: number;

  constructor(
    private readonly sink: FrameSink,
    server: boolean,
  ) {
    this.#prefaceLeft = server ? F.PREFACE.length : 0;
  }

  /** one socket read */
  read(d: Buffer) {
    let off = 0;
    if (this.#prefaceLeft) {
      const n = Math.min(this.#prefaceLeft, d.length);
      const from = F.PREFACE.length - this.#prefaceLeft;
      if (F.PREFACE.compare(d, 0, n, from, from + n) !== 0) return this.sink.goaway(F.PROTOCOL_ERROR);
      this.#prefaceLeft -= n;
      off = n;
    }
    if (this.#rest) off = this.#completeRest(d, off);
    if (off >= 0) {
      const end = this.#frames(d, off);
      if (end < d.length && !this.sink.closed) this.#keepRest(d, end);
    }
  }

  /**
   * A frame the read ends in (d[from…], incomplete): kept in a buffer of its whole length (of its header while that
   * is incomplete), which the next reads fill. #frames stopped at it, so its length is within the maximum.
   */
  #keepRest(d: Buffer, from: number): void {
    const have = d.length - from;
    this.#rest = Buffer.allocUnsafe(have < 9 ? 9 : 9 + F.lengthAt(d, from));
    this.#restLen = d.copy(this.#rest, 0, from);
  }

  /**
   * The kept frame filled with the octets it still needs from d[off…], and handled once whole: where d goes on, or
   * -1 when d ended first. Each read's octets are copied once at most (concatenating the rest and the read copied
   * most reads of many frames once more, and a frame arriving in small reads over and over).
   */
  #completeRest(d: Buffer, off: number): number {
    let r = this.#rest!;
    if (this.#restLen < 9) {
      const k = Math.min(9 - this.#restLen, d.length - off);
      this.#restLen += d.copy(r, this.#restLen, off, off + k);
      off += k;
      if (this.#restLen < 9) return -1;
      const len = F.lengthAt(r, 0);
      if (len > F.DEFAULT_MAX_FRAME) {
        this.#rest = null;
        this.#frames(r, 0); // refused from its header alone
        return -1;
      }
      if (len > 0) {
        const whole = Buffer.allocUnsafe(9 + len);
        r.copy(whole, 0, 0, 9);
        this.#rest = r = whole;
      }
    }
    const k = Math.min(r.length - this.#restLen, d.length - off);
    this.#restLen += d.copy(r, this.#restLen, off, off + k);
    off += k;
    if (this.#restLen < r.length) return -1;
    this.#rest = null;
    this.#restLen = 0;
    this.#frames(r, 0);
    return this.sink.closed ? -1 : off;
  }

  /** The whole frames of b from `off`: where the first incomplete one begins (b.length when none). */
  #frames(b: Buffer, off: number): number {
    const sink = this.sink;
    while (!sink.closed && b.length - off >= 9) {
      const len = F.lengthAt(b, off);
      if (len > F.DEFAULT_MAX_FRAME) {
        sink.goaway(F.FRAME_SIZE_ERROR);
        return b.length;
      }
      if (b.length - off - 9 < len) break;
      const id = ((b[off + 5]! & 127) << 24) | (b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!;
      sink.frame(b[off + 3]!, b[off + 4]!, id, b, off + 9, off + 9 + len);
      off += 9 + len;
    }
    return off;
  }
}
