// bench/wasm-format.ts — the sending half of the PRINS engine with and without its WebAssembly part: the JWE aad and
// plaintext of a JSON NF body written by src/n32f/wasm/ (reformatEngine "wasm", the default) against the reference
// (reformat() + JSON.stringify), alone and within the whole protect step (PrinsEngine.protect*: JWE, n32f-process
// body). `npm run bench:wasm-format` (= bun bench/wasm-format.ts; BENCH_MS / BENCH_RUNS as bench/lib/alternate.ts).
// It first checks every message fixture and the bench:n32f cases: the module's octets equal the reference's UTF-8,
// or it declines (the reference writes that message); a difference stops it.
// Results: docs/PERFORMANCE.md "A format engine in WebAssembly".
import { hasJsonContentType, type HttpMessage } from "../src/n32f/message.ts";
import type { ReformatOptions } from "../src/n32f/reformat.ts";
import { reformatReferenceText } from "../src/n32f/text/reformat-text.ts";
import { reformatWasm } from "../src/n32f/wasm/reformat-wasm.ts";
import { fixtures, largeCase, smallCase, typicalCase, type Case } from "./n32f/cases.ts";
import { oursProtect, oursRefProtect, pairFor, prinsRef } from "./n32f/pipelines.ts";
import { alternate, MS, RUNS, timeOf } from "./lib/alternate.ts";

const td = new TextDecoder();
const scratch = Buffer.allocUnsafe(1 << 18);

async function setUp(c: Case) {
  const p = await pairFor(c);
  const opts: ReformatOptions = {
    metaData: { n32fContextId: p.sender.peerContextId, messageId: "bench-wasm-format-0001", authorizedIpxId: "NULL" },
    policy: prinsRef.policiesOf(p.sender).encryption,
    request: c.request,
  };
  return { p, opts };
}

/** The reference as the engine uses it: the texts, then their UTF-8 in one reused buffer. */
function referenceOctets(msg: HttpMessage, opts: ReformatOptions): number {
  const t = reformatReferenceText(msg, opts);
  const n = scratch.write(t.aad, 0, "utf8");
  return t.plaintext ? n + scratch.write(t.plaintext, n, "utf8") : n;
}

const isJsonBody = (m: HttpMessage): boolean => !!m.body && m.body.byteLength > 0 && hasJsonContentType(m);

// ------------------------------------------------------------------------------------------------ checks

let identical = 0;
const declined: string[] = [];
let notJson = 0;
const all: Case[] = [
  ...fixtures
    .filter((f) => !f.multipart)
    .map((f) => ({
      size: "small" as const,
      what: f.name,
      message: f.message,
      request: f.request && { ...f.request, messageId: "m" },
    })),
  smallCase(),
  typicalCase(),
  largeCase(),
];
for (const c of all) {
  const { opts } = await setUp(c);
  const ref = reformatReferenceText(c.message, opts);
  const w = reformatWasm(c.message, opts);
  if (!w) {
    if (isJsonBody(c.message)) declined.push(c.what);
    else notJson++;
    continue;
  }
  if (td.decode(w.aad) !== ref.aad || td.decode(w.plaintext) !== ref.plaintext)
    throw new Error(`${c.what}: the module's aad or plaintext differs from the reference's`);
  identical++;
}
console.log(`bench:wasm-format  bun ${Bun.version}  ${RUNS} alternating runs × ${MS} ms, median (min–max), wall`);
console.log(
  `checked ${all.length} messages: ${identical} byte-identical; declined by the module (the reference writes them): ${declined.length ? declined.join(", ") : "none"}; without a JSON body: ${notJson}`,
);

// ------------------------------------------------------------------------------------------------ timing

const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const fmt = (a: number[]) =>
  `${(med(a) / 1000).toFixed(2)} (${(Math.min(...a) / 1000).toFixed(2)}–${(Math.max(...a) / 1000).toFixed(2)})`;
let closing = "";
for (const c of [smallCase(), typicalCase()]) {
  const { p, opts } = await setUp(c);
  const octets = alternate(
    () => timeOf(() => referenceOctets(c.message, opts)),
    () => timeOf(() => reformatWasm(c.message, opts)!.aad.length),
  );
  const protect = alternate(
    () => timeOf(() => oursRefProtect(c, p).length),
    () => timeOf(() => oursProtect(c, p).length),
  );
  const r = (x: { a: number[]; b: number[] }) => (med(x.a) / med(x.b)).toFixed(2);
  console.log(`\n${c.size}: ${c.what}, body ${c.message.body?.byteLength ?? 0} B`);
  console.log("  µs/message          reference              wasm                   reference / wasm");
  console.log(`  aad + plaintext     ${fmt(octets.a).padEnd(22)} ${fmt(octets.b).padEnd(22)} ${r(octets)}`);
  console.log(`  protect             ${fmt(protect.a).padEnd(22)} ${fmt(protect.b).padEnd(22)} ${r(protect)}`);
  closing = `wasm-format ${c.size}: protect reference ${(med(protect.a) / 1000).toFixed(2)} µs, wasm ${(med(protect.b) / 1000).toFixed(2)} µs; ratio ${r(protect)}`;
}
console.log(closing);
