// bench/alloc.ts — bytes allocated per operation on the PRINS data path, in process, through the real engine
// (issue 11, "Allocations per request"): `bun bench/alloc.ts [N]` (default N = 20000 per phase).
//
// JSC counts every byte it allocates in a GC cycle (cells, butterflies, strings, ArrayBuffer contents: its
// "bytes allocated this cycle"), and with BUN_JSC_logGC=1 prints the count when an allocation makes it start a
// collection. The script re-executes itself with that option and sums the counts between two markers:
//   start of a phase: Bun.gc(true) (the count starts at 0), a marker;
//   the phase: N operations;
//   end: 4 KiB filler arrays until the next collection starts (seen as a change of heapSize(), which
//   moves only at a collection), a marker with the number of fillers.
// Bytes of the phase = the counts printed between the markers − fillers × the cost of one filler (calibrated the
// same way in a phase of fillers alone). Exact to one filler (4 KiB / N per operation), deterministic run to run.
//
// Phases: the bench:e2e message (GET am-data with its headers; the bench NF's 441-octet 200 answer) through each
// step of the PRINS hop with the default policy, as the SEPPs run them:
//   csepp.protect   PrinsEngine.protectRequestPieces of the request as PrinsSend builds it (+ the endToEnd header copy)
//   psepp.open      the received n32f-process body (Buffer) → text → parseN32fBody (frame.ts) → openRequest
//   psepp.protect   protectResponsePieces of the producer's answer (the body in pieces, as the data path sends it)
//   csepp.open      the n32f-process 200 body → text → parseN32fBody → openResponse
// Inputs of the open phases are made before the phase (each message is opened once: the replay window).
import { heapSize } from "bun:jsc";
import { writeSync } from "node:fs";
import { SoftwareAeadEngine } from "../hw/aead.ts";
import defaults from "../config/api-ie-mapping.json" with { type: "json" };
import { endToEnd } from "../src/datapath/http.ts";
import { PrinsEngine, type RequestRef } from "../src/n32f/engine.ts";
import { openJwe, parseCipherBlock, parseJwe, protectJwe } from "../src/n32f/jwe.ts";
import { parseN32fBody } from "../src/n32f/frame.ts";
import { reconstruct } from "../src/n32f/reconstruct.ts";
import { readAadWasm } from "../src/n32f/wasm/open-wasm.ts";
import { validateBody, validateReceivedBlock } from "../src/openapi/validate.ts";
import type { HttpMessage } from "../src/n32f/message.ts";
import type { ProtectionPolicy } from "../src/model/n32.ts";
import { TrustStore } from "../src/pki/trust.ts";
import { contextPair } from "../test/support/contexts.ts";
import { AM_DATA } from "./nf-h2.ts";

const N = Number(process.argv[2] ?? 20000);
if (!(Number.isInteger(N) && N >= 100 && N <= 1_000_000)) {
  console.error("N must be an integer in 100..1000000");
  process.exit(2);
}

// ------------------------------------------------------------------------------------------------ parent

if (!process.env.BUN_JSC_logGC) {
  const child = Bun.spawn([process.execPath, import.meta.path, ...process.argv.slice(2)], {
    env: { ...process.env, BUN_JSC_logGC: "1" },
    stdout: "inherit",
    stderr: "pipe",
  });
  const text = await new Response(child.stderr).text();
  const code = await child.exited;
  if (code !== 0) {
    console.error(
      text
        .split("\n")
        .filter((l) => !l.startsWith("[GC") && !l.startsWith("GC END"))
        .join("\n"),
    );
    process.exit(code);
  }
  const phases: Array<{ name: string; n: number; bytes: number; fillers: number }> = [];
  let cur: { name: string; n: number; bytes: number; fillers: number } | null = null;
  for (const line of text.split("\n")) {
    let m = /^@@start (\S+) (\d+)$/.exec(line);
    if (m) {
      cur = { name: m[1]!, n: Number(m[2]), bytes: 0, fillers: 0 };
      continue;
    }
    m = /^@@end (\d+)$/.exec(line);
    if (m && cur) {
      cur.fillers = Number(m[1]);
      phases.push(cur);
      cur = null;
      continue;
    }
    m = /bytes allocated this cycle: (\d+)/.exec(line);
    if (m && cur) cur.bytes += Number(m[1]);
  }
  const cal = phases.find((p) => p.name === "filler");
  if (!cal) throw new Error("no calibration phase");
  const perFiller = cal.bytes / (cal.n + cal.fillers);
  console.log(
    `# bytes allocated per operation (JSC count), N = ${N} per phase; one filler = ${perFiller.toFixed(0)} B`,
  );
  let total = 0;
  for (const p of phases) {
    if (p.name === "filler") continue;
    const per = (p.bytes - p.fillers * perFiller) / p.n;
    if (/^[cp]sepp\./.test(p.name)) total += per;
    console.log(`${p.name.padEnd(16)} ${per.toFixed(0).padStart(7)} B  (±${(perFiller / p.n).toFixed(0)})`);
  }
  console.log(`alloc engine hop total ${total.toFixed(0)} B per request`);
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------ child

const mark = (s: string) => writeSync(2, `${s}\n`);
const keep: { last: unknown } = { last: null };
/** A filler: a 4 KiB array of doubles lives in JSC's own heap, so heapSize() moves only when a collection ran
 *  (an ArrayBuffer's contents count as extra memory at once, and would move it every time). */
const filler = () => new Array(512).fill(0.5);
const WARM = 1000;

/** `op(i)` for i < WARM (JIT tiers, caches), then measured for i in WARM..WARM+n-1 (inputs: n + WARM of them). */
function phase(name: string, n: number, op: (i: number) => void, warm = WARM): void {
  for (let i = 0; i < warm; i++) op(i);
  Bun.gc(true);
  mark(`@@start ${name} ${n}`);
  for (let i = warm; i < warm + n; i++) op(i);
  const h = heapSize();
  let fillers = 0;
  while (heapSize() === h) {
    keep.last = filler();
    fillers++;
  }
  mark(`@@end ${fillers}`);
  keep.last = null;
}

phase("filler", 20000, () => {
  keep.last = filler();
});

const prins = new PrinsEngine({
  defaults: defaults as ProtectionPolicy,
  riTrust: { verifyRiCert: (c, id, now) => new TrustStore([]).verifyRiCert(c, id, now) },
});
const pair = contextPair({ engine: new SoftwareAeadEngine(), validForMs: 3_600_000 });

const TOKEN = `Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ iss: "nrf", sub: "amf-1", aud: "nudm-sdm", scope: "nudm-sdm", exp: 4102444800, consumerPlmnId: { mcc: "234", mnc: "15" } })).toString("base64url")}.c2lnbmF0dXJl`;
// the request's headers as the cSEPP's SBI server reads them (bench/e2e-run.ts's h2load request)
const inboundHeaders: Array<[string, string]> = [
  ["accept", "application/json"],
  ["authorization", TOKEN],
  ["user-agent", "AMF-6a0c4a4e-0f4e-4a38-9a33-7a0f1b5b0a01"],
];
const DROP: ReadonlySet<string> = new Set(["3gpp-sbi-target-apiroot", "3gpp-sbi-originating-network-id"]);
const EMPTY = new Uint8Array(0);
const request = (): HttpMessage => {
  const headers = endToEnd(inboundHeaders, DROP);
  headers.push(["3gpp-sbi-originating-network-id", "234-15"]);
  return {
    kind: "request",
    method: "GET",
    scheme: "http",
    authority: "udm.5gc.mnc001.mcc262.3gppnetwork.org:8080",
    path: "/nudm-sdm/v2/imsi-262010000000001/am-data",
    query: "plmn-id=%7B%22mcc%22%3A%22234%22%2C%22mnc%22%3A%2215%22%7D",
    headers,
    body: EMPTY,
  };
};
const amData = Buffer.from(JSON.stringify(AM_DATA));
const response = (): HttpMessage => ({
  kind: "response",
  status: 200,
  headers: [
    ["content-type", "application/json"],
    ["date", "Thu, 03 Dec 2026 10:00:00 GMT"],
  ],
  body: amData,
});
const ref = (messageId: string): RequestRef => ({
  method: "GET",
  path: "/nudm-sdm/v2/imsi-262010000000001/am-data",
  messageId,
});

// warm-up (JIT tiers; the first calls build caches kept per policy)
for (let i = 0; i < 3000; i++) {
  const w = prins.protectRequest(pair.c, request());
  const o = prins.openRequest(parseN32fBody(w.body), pair.pStore);
  const r = prins.protectResponse(pair.p, response(), ref(o.messageId));
  keep.last = prins.openResponse(pair.c, parseN32fBody(r), ref(w.messageId));
}

phase("csepp.protect", N, () => {
  keep.last = prins.protectRequestPieces(pair.c, request()); // as PrinsSend: the body in its pieces, never joined
});

let bodies: Buffer[] = Array.from({ length: N + WARM }, () =>
  Buffer.from(prins.protectRequest(pair.c, request()).body),
);
phase("psepp.open", N, (i) => {
  const raw = bodies[i]!;
  keep.last = prins.openRequest(parseN32fBody(raw.toString("utf8")), pair.pStore);
});

phase("psepp.protect", N, () => {
  keep.last = prins.protectResponsePieces(pair.p, response(), ref("0123456789abcdef")); // as delivery.ts
});

const ids = Array.from({ length: N + WARM }, (_, i) => i.toString(16).padStart(16, "0"));
bodies = ids.map((id) => Buffer.from(prins.protectResponse(pair.p, response(), ref(id))));
phase("csepp.open", N, (i) => {
  keep.last = prins.openResponse(pair.c, parseN32fBody(bodies[i]!.toString("utf8")), ref(ids[i]!));
});

// ALLOC_TEXT=1: the protect phases again with the opt-in text reformatting (reformatEngine "text")
if (process.env.ALLOC_TEXT) {
  const textEngine = new PrinsEngine({
    defaults: defaults as ProtectionPolicy,
    riTrust: { verifyRiCert: (c, id, now) => new TrustStore([]).verifyRiCert(c, id, now) },
    reformatEngine: "text",
  });
  phase("t.csepp.protect", N, () => {
    keep.last = textEngine.protectRequest(pair.c, request());
  });
  phase("t.psepp.protect", N, () => {
    keep.last = textEngine.protectResponse(pair.p, response(), ref("0123456789abcdef"));
  });
}

// ALLOC_DETAIL=1: the steps of both opens as the engine runs them (engine.ts #parseOuter, #open), one phase each:
// the request (a GET: its aad parsed whole, then checked and rebuilt by the reference steps) and the answer (its aad
// read by the WebAssembly module). Each phase repeats one step on the same input (no AEAD: it would refuse a replay).
if (process.env.ALLOC_DETAIL) {
  const steps = (dir: "req" | "rsp", body: Buffer) => {
    const text = body.toString("utf8");
    const outer = parseN32fBody(text) as { reformattedData: unknown };
    const parsed = parseJwe(outer.reformattedData);
    const aad = Buffer.from(parsed.aad); // parseJwe's aad is a view of a reused buffer
    phase(`d.${dir}.body-text`, N, () => {
      keep.last = body.toString("utf8");
    });
    phase(`d.${dir}.frame`, N, () => {
      keep.last = parseN32fBody(text);
    });
    phase(`d.${dir}.validate-outer`, N, () => {
      keep.last = validateBody(dir === "req" ? "N32fReformattedReqMsg" : "N32fReformattedRspMsg", outer);
    });
    phase(`d.${dir}.parseJwe`, N, () => {
      keep.last = parseJwe(outer.reformattedData);
    });
    return aad;
  };
  // the request: a fresh one, opened once here for its plaintext (the steps after the AEAD need it)
  const reqBody = Buffer.from(prins.protectRequest(pair.c, request()).body);
  const reqAad = steps("req", reqBody);
  const block = JSON.parse(reqAad.toString("utf8"));
  const ctx = pair.pStore.get(block.metaData.n32fContextId)!;
  const opened = parseJwe((parseN32fBody(reqBody.toString("utf8")) as { reformattedData: unknown }).reformattedData);
  const plaintext = Buffer.from(openJwe(ctx, "request", opened).plaintext);
  const dataToEncrypt = parseCipherBlock(plaintext);
  phase("d.req.aad-text+parse", N, () => {
    keep.last = JSON.parse(reqAad.toString("utf8"));
  });
  phase("d.req.parseCipherBlock", N, () => {
    keep.last = parseCipherBlock(plaintext);
  });
  phase("d.req.validate-block", N, () => {
    keep.last = validateReceivedBlock("DataToIntegrityProtectBlock", block);
  });
  phase("d.req.reconstruct", N, () => {
    keep.last = reconstruct(block, dataToEncrypt, { expect: "request" });
  });
  // the answer: the module reads its aad (the rebuild after the AEAD is measured by csepp.open as a whole)
  const rspAad = steps("rsp", Buffer.from(prins.protectResponse(pair.p, response(), ref("0123456789abcdef"))));
  phase("d.rsp.readAadWasm", N, () => {
    keep.last = readAadWasm(rspAad);
  });
  const pt = Buffer.from('{"dataToEncrypt":[]}');
  phase("d.protectJwe", N, () => {
    keep.last = protectJwe(pair.p, "response", rspAad, pt);
  });
}
