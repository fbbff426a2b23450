// test/n32f/replay-shared.test.ts — the shared-memory SEQ counter and replay window (src/n32f/seq.ts,
// src/n32f/replay-shared.ts) decide exactly as the single-process ones (the context's own counter, ReplayWindow) when
// used from one thread: property tests over random sequences with window edges, far jumps and the end of the
// 32-bit space (N32-PROFILE P1). The multi-worker behaviour is in test/n32f/shared-workers.test.ts.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REPLAY_WINDOW, ReplayWindow } from "../../src/n32f/replay.ts";
import { SHARED_REPLAY_WORDS, SharedReplayWindow } from "../../src/n32f/replay-shared.ts";
import { createN32fContext, type N32fContext } from "../../src/n32f/context.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { MAX_SEQ, SharedSeq } from "../../src/n32f/seq.ts";
import { N32fSharedCounters } from "../../src/n32f/shared-counters.ts";
import { sideParams } from "../support/contexts.ts";

const sharedWindow = () => new SharedReplayWindow(new Uint32Array(new SharedArrayBuffer(SHARED_REPLAY_WORDS * 4)), 0);

/** A SEQ relative to the last one: repeats, window edges, small and far jumps, anywhere in 0..2^32−1. */
const step = fc.oneof(
  fc.integer({ min: -REPLAY_WINDOW - 2, max: REPLAY_WINDOW + 2 }).map((d) => ({ rel: d })),
  fc
    .constantFrom(-REPLAY_WINDOW, -REPLAY_WINDOW + 1, -REPLAY_WINDOW - 1, 0, 1, -1, 8192, -8192, 8191, 8193)
    .map((d) => ({ rel: d })),
  fc.integer({ min: 0, max: MAX_SEQ }).map((s) => ({ abs: s })),
  fc.integer({ min: 1, max: 2 ** 24 }).map((d) => ({ rel: d * 8 })), // same slot and bit, other block
  fc.constantFrom(0, MAX_SEQ, MAX_SEQ - 1, MAX_SEQ - REPLAY_WINDOW).map((s) => ({ abs: s })),
);

function compare(start: number, steps: ({ rel: number } | { abs: number })[]): void {
  const ref = new ReplayWindow();
  const sh = sharedWindow();
  let last = start;
  for (const st of steps) {
    const seq = "abs" in st ? st.abs : Math.min(MAX_SEQ, Math.max(0, last + st.rel));
    expect(sh.check(seq)).toBe(ref.check(seq));
    const a = ref.accept(seq);
    expect(sh.accept(seq)).toBe(a);
    expect(sh.highest).toBe(ref.highest);
    expect(sh.accepted).toBe(ref.accepted);
    last = seq;
  }
}

describe("SharedReplayWindow decides as ReplayWindow (one thread)", () => {
  test("random sequences from 0, with repeats, window edges and far jumps", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 300 }), (steps) => compare(0, steps)),
      { numRuns: 300 },
    );
  });

  test("random sequences near the end of the 32-bit space", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 300 }), (steps) =>
        compare(MAX_SEQ - 3 * REPLAY_WINDOW, [{ abs: MAX_SEQ - 3 * REPLAY_WINDOW }, ...steps]),
      ),
      { numRuns: 200 },
    );
  });

  test("edges spelled out: first SEQ 0, older than the window, a jump of one window and of 2^29 SEQs", () => {
    const w = sharedWindow();
    expect(w.highest).toBe(-1);
    expect(w.accept(0)).toBe(true);
    expect(w.accept(0)).toBe(false);
    expect(w.accept(REPLAY_WINDOW)).toBe(true);
    expect(w.accept(0)).toBe(false); // 0 ≤ 4096 − 4096: older than the window
    expect(w.accept(1)).toBe(true); // in (0, 4096]
    expect(w.accept(REPLAY_WINDOW + 2 ** 29)).toBe(true); // same slot and tag bits modulo 2^29 would alias a naïve ring
    expect(w.accept(REPLAY_WINDOW + 2 ** 29 - 8192)).toBe(false);
    expect(w.accept(MAX_SEQ)).toBe(true);
    expect(w.accept(MAX_SEQ)).toBe(false);
    expect(w.accept(MAX_SEQ - REPLAY_WINDOW + 1)).toBe(true);
    expect(w.accept(MAX_SEQ - REPLAY_WINDOW)).toBe(false);
    expect(w.accept(-1)).toBe(false);
    expect(w.accept(MAX_SEQ + 1)).toBe(false);
    expect(w.accept(1.5)).toBe(false);
    expect(w.highest).toBe(MAX_SEQ);
  });
});

/** A context as createN32fContext makes it, with its own counters or with a shared block. */
function context(shared?: N32fSharedCounters): N32fContext {
  const ids = { initiatorId: "1111111111111111", responderId: "2222222222222222" };
  const master = new Uint8Array(64).fill(7);
  return createN32fContext(sideParams("initiator", { ...ids, master, enc: "A128GCM", validForMs: 60_000 }, { shared }));
}

/** sealNext's SEQ, or "exhausted" (ENCRYPTION_KEY_EXPIRED). */
function seal(c: N32fContext): number | string {
  try {
    return c.sealNext("request", new Uint8Array(0), new Uint8Array(1)).seq;
  } catch (e) {
    if (e instanceof N32fError) return e.errorType;
    throw e;
  }
}

describe("a context on a shared block counts as one with its own counter (one thread)", () => {
  test("random seal/advance sequences, including the end of the 32-bit space", () => {
    const op = fc.oneof(
      fc.constant({ take: 1 }),
      fc.integer({ min: 0, max: MAX_SEQ + 1 }).map((to) => ({ to })),
      fc.integer({ min: 0, max: 3 }).map((d) => ({ to: MAX_SEQ + 1 - d })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const local = context();
        const shared = context(N32fSharedCounters.create());
        for (const o of ops) {
          if ("take" in o) {
            for (let i = 0; i < 3; i++) expect(seal(shared)).toBe(seal(local));
          } else {
            let le: unknown = null;
            let se: unknown = null;
            try {
              local.advanceSendSeq("request", o.to);
            } catch (e) {
              le = e;
            }
            try {
              shared.advanceSendSeq("request", o.to);
            } catch (e) {
              se = e;
            }
            expect(se === null).toBe(le === null);
          }
          expect(shared.counters()).toEqual(local.counters());
          expect(shared.needsRekey()).toBe(local.needsRekey());
        }
      }),
      { numRuns: 200 },
    );
  });

  test("the last SEQ is 2^32 − 1, then take() answers −1 for ever", () => {
    const s = new SharedSeq(new Uint32Array(new SharedArrayBuffer(8)), 0);
    s.advanceTo(MAX_SEQ - 1);
    expect([s.take(), s.take(), s.take(), s.take()]).toEqual([MAX_SEQ - 1, MAX_SEQ, -1, -1]);
    expect(s.next).toBe(MAX_SEQ + 1);
    expect(() => s.advanceTo(5)).toThrow(RangeError);
  });

  test("needs shared memory", () => {
    expect(() => new SharedSeq(new Uint32Array(2), 0)).toThrow(TypeError);
    expect(() => new SharedReplayWindow(new Uint32Array(SHARED_REPLAY_WORDS), 0)).toThrow(TypeError);
    expect(() => N32fSharedCounters.of(new SharedArrayBuffer(16))).toThrow(RangeError);
  });
});
