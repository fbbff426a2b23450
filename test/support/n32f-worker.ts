// test/support/n32f-worker.ts — a Bun Worker holding one N32-f context whose SEQ counters and replay windows
// are in a shared block (src/n32f/shared-counters.ts), as a data-path worker of issue 11 §3 would. Driven by
// test/n32f/shared-workers.test.ts through postMessage: "seal" M requests (answers their SEQs), "open" sealed
// messages (answers which were accepted and why the others were refused).
import { createN32fContext, type N32cRole, type N32fContext } from "../../src/n32f/context.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { N32fSharedCounters } from "../../src/n32f/shared-counters.ts";
import { sideParams } from "./contexts.ts";

declare const self: Worker;

export interface WorkerInit {
  op: "init";
  role: N32cRole;
  masterHex: string;
  initiatorId: string;
  responderId: string;
  buffer: SharedArrayBuffer;
}
export interface SealedMessage {
  iv: Uint8Array;
  aad: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}
export type WorkerRequest =
  | WorkerInit
  | { op: "seal"; count: number }
  | { op: "open"; messages: SealedMessage[]; order: number[]; barrier?: SharedArrayBuffer; parties?: number };

let ctx: N32fContext | undefined;

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const m = ev.data;
  if (m.op === "init") {
    const master = Buffer.from(m.masterHex, "hex");
    ctx = createN32fContext(sideParams(m.role, { ...m, master }, { shared: N32fSharedCounters.of(m.buffer) }));
    self.postMessage({ op: "ready" });
    return;
  }
  if (!ctx) throw new Error("not initialised");
  if (m.op === "seal") {
    const seqs: number[] = [];
    const aad = new TextEncoder().encode("aad");
    for (let i = 0; i < m.count; i++) {
      try {
        seqs.push(ctx.sealNext("request", aad, new Uint8Array([i & 255])).seq);
      } catch (e) {
        if (e instanceof N32fError && e.errorType === "ENCRYPTION_KEY_EXPIRED") break; // SEQ space exhausted
        throw e;
      }
    }
    self.postMessage({ op: "sealed", seqs });
    return;
  }
  if (m.barrier) {
    // start together with the other workers (bounded spin), so that they contend for the same window words
    const b = new Int32Array(m.barrier);
    Atomics.add(b, 0, 1);
    const until = Date.now() + 10_000;
    while (Atomics.load(b, 0) < (m.parties ?? 1) && Date.now() < until);
  }
  const accepted: number[] = [];
  const refused: { index: number; detail: string }[] = [];
  for (const i of m.order) {
    const s = m.messages[i]!;
    try {
      ctx.openReceived("request", s.iv, s.aad, s.ciphertext, s.tag);
      accepted.push(i);
    } catch (e) {
      if (!(e instanceof N32fError)) throw e;
      refused.push({ index: i, detail: `${e.errorType}: ${e.message}` });
    }
  }
  self.postMessage({ op: "opened", accepted, refused });
};
