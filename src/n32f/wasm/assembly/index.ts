// src/n32f/wasm/assembly/index.ts — the module's exports: the sending half (payload.ts) and the receiving half
// (open.ts), one module so that a thread holds one instance (scripts/gen-wasm.ts compiles this file).
export { IN, MAX_IN, POL, MAX_POL, OUT, PT, payload, plaintextLength, outLength } from "./payload";
export { RES, USED, aad, body, bodyLength, wipe, comparedOctets } from "./open";
export { PT_END } from "./json";
