// src/ascii-text.ts — text given as its pieces, every one ASCII: the n32f-process body as the PRINS engine makes it
// (its frame and the JWE members, all base64url). The HTTP/2 layer writes the pieces one after the other into the DATA
// frame (transport/h2/core.ts), so the text is never joined into one string: joining it (a template literal's rope,
// flattened by the first read of it) was a 1.3–2.7 KB copy per message and SEPP, and under load each allocated KB
// costs 0.25–0.4 µs (docs/PERFORMANCE.md "What an allocated kilobyte costs under load"; "Fewer bytes per request",
// 2.).

/**
 * ASCII text in pieces: `length` is its length in octets, `toString()` the whole text (joined where a path needs
 * it: gzip, a debug log, the RH-error check, a worker handoff). The maker vouches that every piece is ASCII
 * (U+0000–U+007F), so that its UTF-8 is its Latin-1 and its octets are its characters.
 */
export class AsciiText {
  readonly length: number;

  constructor(readonly pieces: readonly string[]) {
    let n = 0;
    for (const p of pieces) n += p.length;
    this.length = n;
  }

  toString(): string {
    return this.pieces.join("");
  }
}
