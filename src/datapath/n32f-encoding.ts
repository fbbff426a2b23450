// src/datapath/n32f-encoding.ts — sender-side gzip of n32f-process bodies (N32-PROFILE P11: "a sender compresses
// only toward a next hop that announced gzip"). The next hop announces it in its answer to
// `OPTIONS …/n32f-forward/v1/n32f-process` (`Accept-Encoding`, RFC 9110 12.5.3); n32f-clients.ts asks once per new
// connection and compresses on that connection only bodies of at least `sbi.n32fGzipMinBytes` octets (small
// bodies are not worth the CPU on the hot path). node:zlib, synchronous: the body is in memory and bounded.
import type { AsciiText } from "../ascii-text.ts";
import { constants, gzipSync } from "node:zlib";

/** Whether an Accept-Encoding field value accepts gzip (`gzip` or `x-gzip`, a q-value above 0, or `*` above 0). */
export function acceptsGzip(value: string | undefined): boolean {
  if (!value) return false;
  let star = false;
  for (const item of value.split(",")) {
    const [coding, ...params] = item.split(";").map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) if (p.startsWith("q=")) q = Number(p.slice(2));
    if (!(q > 0)) {
      if (coding === "gzip" || coding === "x-gzip") return false;
      continue;
    }
    if (coding === "gzip" || coding === "x-gzip") return true;
    if (coding === "*") star = true;
  }
  return star;
}

const UTF8 = new TextEncoder();

/**
 * The gzip form of `body` when it is at least `minBytes` octets (0: never) and compressing makes it smaller;
 * undefined otherwise (send it as it is). Level 4: most of a PRINS body is base64url ciphertext, which higher
 * levels barely shrink further.
 */
export function gzipBody(body: string | Uint8Array | AsciiText, minBytes: number): Uint8Array | undefined {
  if (minBytes <= 0) return undefined;
  // a string's UTF-8 length is at least its length: skip the encoding of small bodies
  if (body.length < minBytes) return undefined;
  const raw = body instanceof Uint8Array ? body : UTF8.encode(body.toString());
  const z = gzipSync(raw, { level: 4, strategy: constants.Z_DEFAULT_STRATEGY });
  return z.length < raw.length ? z : undefined;
}
