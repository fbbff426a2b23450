// StreamCancel (src/transport/h2/cancel.ts): the per-request cancellation handed to the N32-f and producer clients
// in place of an AbortController's signal must behave like one where the clients rely on it.
import { describe, expect, test } from "bun:test";
import { StreamCancel } from "../../../src/transport/h2/cancel.ts";

describe("StreamCancel", () => {
  test("fires each listener once, in order; removed and late listeners are never called", () => {
    const c = new StreamCancel();
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    const gone = () => calls.push("gone");
    c.addEventListener("abort", a, { once: true });
    c.addEventListener("abort", gone);
    c.addEventListener("abort", b);
    c.removeEventListener("abort", gone);
    c.removeEventListener("abort", () => {}); // unknown listener: no effect
    expect(c.aborted).toBe(false);
    c.abort();
    c.abort();
    expect(c.aborted).toBe(true);
    c.addEventListener("abort", () => calls.push("late"));
    c.abort();
    expect(calls).toEqual(["a", "b"]);
  });

  test("a throwing listener does not keep the others from running", () => {
    const c = new StreamCancel();
    let ran = false;
    c.addEventListener("abort", () => {
      throw new Error("boom");
    });
    c.addEventListener("abort", () => (ran = true));
    expect(() => c.abort()).not.toThrow();
    expect(ran).toBe(true);
  });

  test("a listener removed after the abort (a settled request cleaning up) is harmless", () => {
    const c = new StreamCancel();
    const f = () => {};
    c.addEventListener("abort", f);
    c.abort();
    expect(() => c.removeEventListener("abort", f)).not.toThrow();
  });
});
