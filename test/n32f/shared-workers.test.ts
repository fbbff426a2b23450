// test/n32f/shared-workers.test.ts — one N32-f context used by several real Bun Worker threads through its
// shared block (src/n32f/shared-counters.ts; issue 11 §3, N32-PROFILE P1): no SEQ is used twice, the 32-bit
// SEQ space ends for all workers at once, and a message accepted by one worker is refused as replayed by another.
import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { createN32fContext } from "../../src/n32f/context.ts";
import { MAX_SEQ } from "../../src/n32f/seq.ts";
import { N32fSharedCounters } from "../../src/n32f/shared-counters.ts";
import { sideParams } from "../support/contexts.ts";
import type { SealedMessage, WorkerRequest } from "../support/n32f-worker.ts";

const INITIATOR_ID = "1111111111111111";
const RESPONDER_ID = "2222222222222222";
const masterHex = randomBytes(64).toString("hex");
const workers: Worker[] = [];
afterAll(() => {
  for (const w of workers) w.terminate();
});

/** Start a worker, wait until its context exists. */
async function startWorker(role: "initiator" | "responder", shared: N32fSharedCounters): Promise<Worker> {
  const w = new Worker(new URL("../support/n32f-worker.ts", import.meta.url).href);
  workers.push(w);
  await ask(w, {
    op: "init",
    role,
    masterHex,
    initiatorId: INITIATOR_ID,
    responderId: RESPONDER_ID,
    buffer: shared.buffer,
  });
  return w;
}

/** Post one request, resolve with the worker's answer (or reject on its error, bounded in time). */
function ask<T = unknown>(w: Worker, req: WorkerRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not answer ${req.op}`)), 20_000);
    w.onmessage = (ev) => {
      clearTimeout(timer);
      resolve(ev.data as T);
    };
    w.onerror = (ev) => {
      clearTimeout(timer);
      reject(new Error(`worker failed: ${ev.message}`));
    };
    w.postMessage(req);
  });
}

describe("N workers × M protections on one shared context", () => {
  test("use N×M distinct SEQs, exactly 0..N×M−1", async () => {
    const N = 3;
    const M = 2000;
    const shared = N32fSharedCounters.create();
    const ws = await Promise.all(Array.from({ length: N }, () => startWorker("initiator", shared)));
    const answers = await Promise.all(ws.map((w) => ask<{ seqs: number[] }>(w, { op: "seal", count: M })));
    const all = answers.flatMap((a) => a.seqs);
    expect(all.length).toBe(N * M);
    expect(new Set(all).size).toBe(N * M);
    expect(Math.min(...all)).toBe(0);
    expect(Math.max(...all)).toBe(N * M - 1);
    expect(shared.sendRequest.next).toBe(N * M);
    expect(shared.sendResponse.next).toBe(0);
  }, 60_000);

  test("the last SEQs before 2^32 are handed out once, then every worker finds the space exhausted", async () => {
    const shared = N32fSharedCounters.create();
    shared.sendRequest.advanceTo(MAX_SEQ - 99); // 100 SEQs left: MAX_SEQ−99 … MAX_SEQ
    const ws = await Promise.all([0, 1, 2].map(() => startWorker("initiator", shared)));
    const answers = await Promise.all(ws.map((w) => ask<{ seqs: number[] }>(w, { op: "seal", count: 80 })));
    const all = answers.flatMap((a) => a.seqs).sort((a, b) => a - b);
    expect(all.length).toBe(100);
    expect(new Set(all).size).toBe(100);
    expect(all[0]).toBe(MAX_SEQ - 99);
    expect(all[99]).toBe(MAX_SEQ);
    expect(shared.sendRequest.next).toBe(MAX_SEQ + 1);
    expect(shared.sendRequest.take()).toBe(-1);
  }, 60_000);
});

describe("replay windows shared by the receiving workers", () => {
  /** K requests sealed by a sender context in this thread (its own, unshared counters). */
  function sealRequests(k: number): SealedMessage[] {
    const master = Buffer.from(masterHex, "hex");
    const sender = createN32fContext(
      sideParams("initiator", { initiatorId: INITIATOR_ID, responderId: RESPONDER_ID, master }),
    );
    const aad = new TextEncoder().encode("aad");
    return Array.from({ length: k }, (_, i) => {
      const { iv, ciphertext, tag } = sender.sealNext("request", aad, new Uint8Array([i & 255]));
      return { iv, aad, ciphertext, tag };
    });
  }

  test("a message accepted by one worker is refused as replayed by another", async () => {
    const shared = N32fSharedCounters.create();
    const [a, b] = await Promise.all([startWorker("responder", shared), startWorker("responder", shared)]);
    const msgs = sealRequests(3);
    type Opened = { accepted: number[]; refused: { index: number; detail: string }[] };
    const first = await ask<Opened>(a!, { op: "open", messages: msgs, order: [0] });
    expect(first.accepted).toEqual([0]);
    const second = await ask<Opened>(b!, { op: "open", messages: msgs, order: [0, 1] });
    expect(second.accepted).toEqual([1]);
    expect(second.refused).toEqual([{ index: 0, detail: "INTEGRITY_CHECK_FAILED: replayed" }]);
    const third = await ask<Opened>(a!, { op: "open", messages: msgs, order: [1, 2] });
    expect(third.accepted).toEqual([2]);
    expect(third.refused.map((r) => r.detail)).toEqual(["INTEGRITY_CHECK_FAILED: replayed"]);
    expect(shared.receiveRequest.accepted).toBe(3);
    expect(shared.receiveRequest.highest).toBe(2);
  }, 60_000);

  test("the same messages opened by several workers at once: each accepted exactly once", async () => {
    const K = 3000;
    const shared = N32fSharedCounters.create();
    const ws = await Promise.all([0, 1, 2].map(() => startWorker("responder", shared)));
    const msgs = sealRequests(K);
    const ids = Array.from({ length: K }, (_, i) => i);
    // started together (a barrier in shared memory), two workers in the same order, so that they race for the
    // same SEQ in the same window word, and one backwards
    const orders = [ids, ids, [...ids].reverse()];
    const barrier = new SharedArrayBuffer(4);
    type Opened = { accepted: number[]; refused: { index: number; detail: string }[] };
    const answers = await Promise.all(
      ws.map((w, i) => ask<Opened>(w, { op: "open", messages: msgs, order: orders[i]!, barrier, parties: ws.length })),
    );
    const accepted = answers.flatMap((a) => a.accepted);
    expect(accepted.length).toBe(K);
    expect(new Set(accepted).size).toBe(K);
    for (const a of answers) for (const r of a.refused) expect(r.detail).toBe("INTEGRITY_CHECK_FAILED: replayed");
    expect(shared.receiveRequest.accepted).toBe(K);
  }, 60_000);
});
