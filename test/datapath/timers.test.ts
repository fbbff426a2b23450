import { describe, expect, test } from "bun:test";
import { armTimer, disarmTimer, liveTimers } from "../../src/timers.ts";

/** Resolves after the event loop ran timers due in `ms` (a real timer, not counted). */
const after = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("counted timers (src/timers.ts)", () => {
  test("fire: +1 when armed, -1 when it fires, the callback runs once", async () => {
    const base = liveTimers();
    let runs = 0;
    let seenInside = -1;
    const fired = new Promise<void>((resolve) => {
      armTimer(() => {
        runs++;
        seenInside = liveTimers();
        resolve();
      }, 1);
    });
    expect(liveTimers()).toBe(base + 1);
    await fired;
    expect(seenInside).toBe(base); // already decremented when the callback runs
    expect(liveTimers()).toBe(base);
    await after(5);
    expect(runs).toBe(1);
  });

  test("clear: -1, and the callback never runs", async () => {
    const base = liveTimers();
    let runs = 0;
    const t = armTimer(() => runs++, 1);
    expect(liveTimers()).toBe(base + 1);
    disarmTimer(t);
    expect(liveTimers()).toBe(base);
    await after(10);
    expect(runs).toBe(0);
    expect(liveTimers()).toBe(base);
  });

  test("clear after fire, and clear from inside its own callback: no second decrement", async () => {
    const base = liveTimers();
    let resolve!: () => void;
    const fired = new Promise<void>((r) => (resolve = r));
    // the shape of the callers: a finish() that clears the timer, reached from the timer itself
    const t: ReturnType<typeof setTimeout> = armTimer(() => {
      disarmTimer(t);
      resolve();
    }, 1);
    const other = armTimer(() => {}, 60_000);
    expect(liveTimers()).toBe(base + 2);
    await fired;
    expect(liveTimers()).toBe(base + 1);
    disarmTimer(t); // after it fired (a close event that follows)
    expect(liveTimers()).toBe(base + 1);
    disarmTimer(other);
    expect(liveTimers()).toBe(base);
  });

  test("double clear: one decrement", () => {
    const base = liveTimers();
    const a = armTimer(() => {}, 60_000);
    const b = armTimer(() => {}, 60_000);
    expect(liveTimers()).toBe(base + 2);
    disarmTimer(a);
    disarmTimer(a);
    disarmTimer(a);
    expect(liveTimers()).toBe(base + 1);
    disarmTimer(b);
    expect(liveTimers()).toBe(base);
  });

  test("many armed, some cleared, the rest fire: back to the base count", async () => {
    const base = liveTimers();
    const n = 200;
    let runs = 0;
    const all = new Promise<void>((resolve) => {
      const ts = Array.from({ length: n }, (_, i) =>
        armTimer(
          () => {
            if (++runs === n / 2) resolve();
          },
          1 + (i % 3),
        ),
      );
      expect(liveTimers()).toBe(base + n);
      for (let i = 0; i < n; i += 2) disarmTimer(ts[i]!);
      expect(liveTimers()).toBe(base + n / 2);
    });
    await all;
    expect(liveTimers()).toBe(base);
  });
});
