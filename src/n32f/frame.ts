// src/n32f/frame.ts — an n32f-process body's text (N32fReformattedReqMsg / N32fReformattedRspMsg, TS 29.573 6.2) to
// the value JSON.parse gives for it, reading the frame jwe.ts writes without JSON.parse (issue 11): JSON.parse scans
// every character of the 4–30 KB of base64url one at a time (3 µs for the bench's 4.4 KB body, fresh each message),
// while the frame is five strings found with indexOf() and checked by Buffer's native base64url decoder.
//
// The value is returned only when it is provably JSON.parse's: the text is exactly
//   {"reformattedData":{"protected":"…","aad":"…","iv":"…","ciphertext":"…","tag":"…"}}
// and every string is canonical base64url (RFC 4648 §5, no padding: the alphabet, length ≢ 1 mod 4, zero unused
// bits), so it holds no escape, quote or control character and JSON.parse would give these strings. Anything else
// (spacing, another member order, a modificationsBlock, an escape…) goes to JSON.parse, which then answers or throws
// as before. Nothing is decoded for the caller: parseJwe() decodes (and checks) again (~0.4 µs for a 4 KB aad).
import { isJweMember } from "./jwe.ts";

const OPEN = '{"reformattedData":{"protected":"';
const NAMES = ['","aad":"', '","iv":"', '","ciphertext":"', '","tag":"'] as const;
const CLOSE = '"}}';

/** The value of the n32f-process body `text`: JSON.parse(text), read without it where the frame allows. */
export function parseN32fBody(text: string): unknown {
  return readFrame(text) ?? JSON.parse(text);
}

/** The frame's value, or null when `text` is not exactly the frame of canonical base64url strings. */
export function readFrame(text: string): Record<string, unknown> | null {
  if (!text.startsWith(OPEN)) return null;
  const values: string[] = [];
  let at = OPEN.length;
  for (let k = 0; k < 5; k++) {
    const end = text.indexOf('"', at);
    if (end < 0) return null;
    const v = text.slice(at, end);
    if (!isJweMember(v)) return null;
    values.push(v);
    const next = k < 4 ? NAMES[k]! : CLOSE;
    if (!text.startsWith(next, end)) return null;
    at = end + next.length;
  }
  if (at !== text.length) return null;
  return {
    reformattedData: {
      protected: values[0],
      aad: values[1],
      iv: values[2],
      ciphertext: values[3],
      tag: values[4],
    },
  };
}
