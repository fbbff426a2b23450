// Types of the two data files of hpack.js that hpack.ts reads (RFC 7541 appendices A and B).
declare module "hpack.js/lib/hpack/static-table.js" {
  export const table: Array<{ name: string; value: string }>;
}
declare module "hpack.js/lib/hpack/huffman.js" {
  /** per symbol 0–256: [code length in bits, code] */
  export const encode: Array<[number, number]>;
}
