// src/n32f/frame.ts — an n32f-process body's text (N32fReformattedReqMsg / N32fReformattedRspMsg, TS 29.573 6.2) to
// the value JSON.parse gives for it, reading the frame jwe.ts writes without JSON.parse (issue 11): JSON.parse scans
// every character of the 4–30 KB of base64url one at a time (3–4 µs for the bench's 4.4 KB body, fresh each message),
// while the frame is one scan for what would need an escape and five strings found with indexOf() (~1.1 µs).
//
// The value is returned only when it is provably JSON.parse's: the text is exactly
//   {"reformattedData":{"protected":"…","aad":"…","iv":"…","ciphertext":"…","tag":"…"}}
// and holds no backslash and no control character (U+0000–U+001F), so each string is a JSON string without escapes
// (its end is the next quote) and JSON.parse would give these strings. Anything else (spacing, another member order,
// a modificationsBlock, an escape, a control character JSON.parse refuses…) goes to JSON.parse, which then answers or
// throws as before. Whether the strings are base64url is parseJwe()'s to check, as for JSON.parse's value.

/** What would make a string's JSON value differ from its text, or JSON.parse refuse it. */
const ESCAPE_OR_CONTROL = /[\\\x00-\x1f]/;

// the frame's text around its five strings, as the engine writes it (engine.ts #protect) and readFrame() reads it
export const FRAME_OPEN = '{"reformattedData":{"protected":"';
export const FRAME_AAD = '","aad":"';
export const FRAME_IV = '","iv":"';
export const FRAME_CIPHERTEXT = '","ciphertext":"';
export const FRAME_TAG = '","tag":"';
export const FRAME_CLOSE = '"}}';
const NAMES = [FRAME_AAD, FRAME_IV, FRAME_CIPHERTEXT, FRAME_TAG] as const;

/** The value of the n32f-process body `text`: JSON.parse(text), read without it where the frame allows. */
export function parseN32fBody(text: string): unknown {
  return readFrame(text) ?? JSON.parse(text);
}

/** The frame's value, or null when `text` is not exactly the frame, or holds a backslash or control character. */
export function readFrame(text: string): Record<string, unknown> | null {
  if (!text.startsWith(FRAME_OPEN) || ESCAPE_OR_CONTROL.test(text)) return null;
  const values: string[] = [];
  let at = FRAME_OPEN.length;
  for (let k = 0; k < 5; k++) {
    const end = text.indexOf('"', at);
    if (end < 0) return null;
    values.push(text.slice(at, end));
    const next = k < 4 ? NAMES[k]! : FRAME_CLOSE;
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
