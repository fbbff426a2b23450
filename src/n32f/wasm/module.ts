// src/n32f/wasm/module.ts — the WebAssembly module of the PRINS engine (assembly/: payload.ts the sending half, open.ts
// the receiving half), instantiated once per thread at its first use; its exports and the layout of its memory.
import { PAYLOAD_WASM_BASE64, PAYLOAD_WASM_SIMD_BASE64 } from "./payload.gen.ts";

export interface PayloadExports {
  memory: WebAssembly.Memory;
  payload(len: number, policyLen: number, first: number): number;
  plaintextLength(): number;
  outLength(): number;
  aad(len: number): number;
  body(ptLen: number, headElems: number): number;
  bodyLength(): number;
  wipe(): void;
  comparedOctets(): number;
  IN: WebAssembly.Global;
  MAX_IN: WebAssembly.Global;
  POL: WebAssembly.Global;
  MAX_POL: WebAssembly.Global;
  OUT: WebAssembly.Global;
  PT: WebAssembly.Global;
  RES: WebAssembly.Global;
  USED: WebAssembly.Global;
  PT_END: WebAssembly.Global;
}

/** The module's exports and its layout, instantiated at the first use in this thread. */
export interface Instance {
  x: PayloadExports;
  mem: Buffer;
  in: number;
  maxIn: number;
  pol: number;
  maxPol: number;
  out: number;
  pt: number;
  /** the end of the plaintext region (PT..PT_END); AssemblyScript's static data lies beyond it */
  ptEnd: number;
  /** the receiving half's fields (open.ts frame()), as i32 */
  res: Int32Array;
  used: number;
}
let instance: Instance | null = null;
let build: "simd" | "scalar" | null = null;

/**
 * The module's exports, of the SIMD build where the platform's WebAssembly has 128-bit SIMD (JavaScriptCore on x64
 * and arm64 does), else of the scalar build; both from the same source (gen-wasm.ts), the same octets out.
 */
export function instantiate(which: "simd" | "scalar"): PayloadExports {
  const bytes = Buffer.from(which === "simd" ? PAYLOAD_WASM_SIMD_BASE64 : PAYLOAD_WASM_BASE64, "base64");
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: {
      // AssemblyScript's abort(): the module is built with --noAssert and calls none; a call is a trap like any other
      abort() {
        throw new Error("payload.wasm abort");
      },
    },
  }).exports as unknown as PayloadExports;
}

/** Which build this thread runs ("simd" or "scalar"; null before the first use). */
export function payloadWasmBuild(): "simd" | "scalar" | null {
  return build;
}

export function payloadModule(): Instance {
  if (instance) return instance;
  build = WebAssembly.validate(Buffer.from(PAYLOAD_WASM_SIMD_BASE64, "base64")) ? "simd" : "scalar";
  const x = instantiate(build);
  instance = {
    x,
    mem: Buffer.from(x.memory.buffer),
    in: x.IN.value,
    maxIn: x.MAX_IN.value,
    pol: x.POL.value,
    maxPol: x.MAX_POL.value,
    out: x.OUT.value,
    pt: x.PT.value,
    ptEnd: x.PT_END.value,
    res: new Int32Array(x.memory.buffer, x.RES.value, 16),
    used: x.USED.value,
  };
  return instance;
}

/** The module's linear memory (tests: what stays in it after a message). */
export function payloadWasmMemory(): ArrayBuffer {
  return payloadModule().x.memory.buffer;
}
