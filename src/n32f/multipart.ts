// src/n32f/multipart.ts — multipart/related bodies (RFC 2387, RFC 2046 5.1; TS 29.500 6.1.2.4) as used by
// SBI for binary N1/N2 content, split and rebuilt for N32-f (N32-PROFILE P3, P10). Pure, bounded.
// Hand-written: we need byte-exact binary parts from a Uint8Array and nothing else; the web FormData parser
// only knows multipart/form-data and loses part headers.
import { Buffer } from "node:buffer";
import { SeppError } from "../errors.ts";
import { asBuffer } from "../bytes.ts";

export const MAX_PARTS = 64;
export const MAX_PART_HEADER_BYTES = 8192;

export interface MultipartPart {
  /** part headers, names lowercased, in order */
  headers: Array<[name: string, value: string]>;
  data: Uint8Array;
}

export class MultipartError extends SeppError {
  override name = "MultipartError";
  constructor(detail: string) {
    super("INVALID_MULTIPART", detail, { status: 400, problemCause: "MANDATORY_IE_INCORRECT" });
  }
}

const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

export function isValidBoundary(b: string): boolean {
  return BOUNDARY.test(b);
}

/** Split a multipart body into its parts; throws MultipartError when malformed or over the bounds. */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  if (!isValidBoundary(boundary)) throw new MultipartError("invalid multipart boundary");
  const buf = asBuffer(body);
  const dash = Buffer.from(`--${boundary}`, "latin1");
  const delim = Buffer.from(`\r\n--${boundary}`, "latin1");
  // first delimiter: at the very start or after a preamble line
  let pos: number;
  if (buf.subarray(0, dash.length).equals(dash)) pos = dash.length;
  else {
    const i = buf.indexOf(delim);
    if (i < 0) throw new MultipartError("multipart boundary not found");
    pos = i + delim.length;
  }
  const parts: MultipartPart[] = [];
  for (;;) {
    // after a delimiter: "--" closes, else optional whitespace then CRLF
    if (buf[pos] === 45 && buf[pos + 1] === 45) return parts;
    while (buf[pos] === 32 || buf[pos] === 9) pos++;
    if (buf[pos] !== 13 || buf[pos + 1] !== 10) throw new MultipartError("malformed multipart delimiter line");
    pos += 2;
    const next = buf.indexOf(delim, pos);
    if (next < 0) throw new MultipartError("multipart body not closed");
    if (parts.length >= MAX_PARTS) throw new MultipartError(`more than ${MAX_PARTS} multipart parts`);
    parts.push(parsePart(buf.subarray(pos, next)));
    pos = next + delim.length;
  }
}

function parsePart(raw: Buffer): MultipartPart {
  let headEnd: number;
  let bodyStart: number;
  if (raw[0] === 13 && raw[1] === 10) {
    headEnd = 0;
    bodyStart = 2;
  } else {
    headEnd = raw.indexOf("\r\n\r\n");
    if (headEnd < 0) throw new MultipartError("multipart part without header/body separator");
    bodyStart = headEnd + 4;
  }
  if (headEnd > MAX_PART_HEADER_BYTES) throw new MultipartError("multipart part headers too large");
  const headers: Array<[string, string]> = [];
  if (headEnd > 0) {
    for (const line of raw.subarray(0, headEnd).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new MultipartError("malformed multipart part header");
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) throw new MultipartError("malformed multipart part header name");
      headers.push([name, line.slice(colon + 1).trim()]);
    }
  }
  return { headers, data: new Uint8Array(raw.buffer, raw.byteOffset + bodyStart, raw.byteLength - bodyStart) };
}

/** Serialise parts with the given boundary (CRLF line ends, no preamble/epilogue). */
export function buildMultipart(boundary: string, parts: readonly MultipartPart[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\n`;
    for (const [n, v] of p.headers) head += `${n}: ${v}\r\n`;
    head += "\r\n";
    chunks.push(Buffer.from(head, "latin1"), p.data, Buffer.from("\r\n", "latin1"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, "latin1"));
  return new Uint8Array(Buffer.concat(chunks));
}

/** RFC 2392 Content-ID without its angle brackets. */
export function stripContentId(v: string): string {
  const t = v.trim();
  return t.startsWith("<") && t.endsWith(">") ? t.slice(1, -1) : t;
}

/** A part's Content-ID (its first Content-ID header) without angle brackets; undefined when it has none. */
export function contentIdOf(part: MultipartPart): string | undefined {
  const h = part.headers.find(([n]) => n === "content-id");
  return h ? stripContentId(h[1]) : undefined;
}

/**
 * The root part of a multipart/related body (RFC 2387 3.2; TS 29.500 6.1.2.4): the part whose Content-ID the
 * `start` parameter names, else the first part. -1 when `start` names no part. Used by the N32-f reformatting
 * and by the pSEPP's callback rewriting, so that both take the same part as the root.
 */
export function rootPartIndex(parts: readonly MultipartPart[], start: string | undefined): number {
  if (start === undefined) return 0;
  const startId = stripContentId(start);
  return parts.findIndex((p) => contentIdOf(p) === startId);
}

/**
 * The root part of a multipart/related body whose Content-Type has these parameters (`boundary`, `start`), or
 * undefined when `start` names no part; throws MultipartError for a malformed body. For the readers that need only
 * the root (border screening's PLMN rules and body validation).
 */
export function multipartRoot(body: Uint8Array, params: ReadonlyMap<string, string>): MultipartPart | undefined {
  const parts = parseMultipart(body, params.get("boundary") ?? "");
  return parts[rootPartIndex(parts, params.get("start"))];
}
