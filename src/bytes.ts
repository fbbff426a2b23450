// src/bytes.ts — a Buffer view of bytes without a copy. A Buffer is returned as it is: reading `.buffer` of a small
// typed array makes the runtime give it an ArrayBuffer of its own (a copy and a slower array), which showed as 3–5 %
// of a SEPP's CPU in TLS mode (docs/PERFORMANCE.md "Writes per loop turn").

/** `bytes` as a Buffer over the same memory. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
