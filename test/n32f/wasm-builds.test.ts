// The two builds of the WebAssembly module (src/n32f/wasm/module.ts: with 128-bit SIMD, which the SEPP runs where the
// platform has it, and without, its fallback) give the same answers and octets for the same input: both halves,
// on canonical and random texts, their mutations and long strings (the SIMD loop's 16-octet steps and tails).
import { expect, test } from "bun:test";
import fc from "fast-check";
import { instantiate, payloadWasmBuild, type PayloadExports } from "../../src/n32f/wasm/module.ts";
import { payloadModule } from "../../src/n32f/wasm/module.ts";
import { jsonText, mutatedText } from "./text-arb.ts";

const simd = instantiate("simd");
const scalar = instantiate("scalar");
const utf8 = new TextEncoder();
const POLICY = ["/a", "/b/c", "/gpsis", "/x/y"];

function run(x: PayloadExports, body: Uint8Array): string {
  const mem = Buffer.from(x.memory.buffer);
  mem.set(body, x.IN.value);
  let o = x.POL.value;
  for (const p of POLICY) {
    mem[o++] = p.length;
    o += mem.write(p, o, "latin1");
  }
  const len = x.payload(body.length, o - x.POL.value, 0);
  const out = mem.toString("latin1", x.OUT.value, x.OUT.value + Math.max(0, x.outLength()));
  const pt = mem.toString("latin1", x.PT.value, x.PT.value + Math.max(0, x.plaintextLength()));
  return `${len}|${out}|${pt}`;
}

function open(x: PayloadExports, aad: Uint8Array, plaintext: Uint8Array): string {
  const mem = Buffer.from(x.memory.buffer);
  mem.set(aad, x.OUT.value);
  const ok = x.aad(aad.length);
  const res = new Int32Array(x.memory.buffer, x.RES.value, 2);
  if (ok < 0) return `${ok}`;
  mem.set(plaintext, x.PT.value);
  const len = x.body(plaintext.length, -1);
  return `${ok}|${res[0]}|${res[1]}|${len}|${len < 0 ? "" : mem.toString("latin1", x.IN.value, x.IN.value + len)}`;
}

const bodies = fc.oneof(
  jsonText,
  mutatedText,
  fc
    .dictionary(fc.constantFrom("a", "b", "gpsis", "x", "é", "a".repeat(40)), fc.jsonValue(), { minKeys: 1 })
    .map((o) => JSON.stringify(o)),
  fc
    .string({ unit: fc.constantFrom("a", '"', "\\", "\u0001", "é", "😀", "\ud800", " ") })
    .map((s) => `{"a":"${s}","b":1}`),
);

test("this machine runs the SIMD build", () => {
  payloadModule();
  expect(payloadWasmBuild()).toBe("simd");
});

test("sending half: the same answer and octets in both builds", () => {
  fc.assert(
    fc.property(bodies, (t) => {
      const b = utf8.encode(t);
      expect(run(simd, b)).toBe(run(scalar, b));
    }),
    { numRuns: 3000 },
  );
});

test("receiving half: the same answer and octets in both builds", () => {
  const entry = (p: string, v: string) => `{"iePath":"${p}","ieValueLocation":"BODY","value":${v}}`;
  fc.assert(
    fc.property(bodies, bodies, fc.nat({ max: 40 }), (v, w, k) => {
      const aad = `{"metaData":{"n32fContextId":"0011223344556677","messageId":"m"},"payload":[${entry("/a/b", v)},${entry(
        `/c${"x".repeat(k)}`,
        '{"encBlockIndex":0}',
      )}]}`;
      const a = utf8.encode(aad);
      const p = utf8.encode(`{"dataToEncrypt":[${w}]}`);
      expect(open(simd, a, p)).toBe(open(scalar, a, p));
    }),
    { numRuns: 3000 },
  );
});

test("strings of every length around the 16-octet steps, with a special octet at every place", () => {
  for (let len = 0; len < 70; len++)
    for (const special of ["", '"', "\\n", "é", "\u0001"])
      for (let at = 0; at <= len; at += 7) {
        const s = "q".repeat(at) + special + "r".repeat(len - at);
        const b = utf8.encode(`{"a":"${s}","bb":"${s}"}`);
        expect(run(simd, b)).toBe(run(scalar, b));
      }
});
