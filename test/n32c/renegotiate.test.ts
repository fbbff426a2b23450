// The N32-c service re-negotiates when the peer says it lost our current context (n32f-error CONTEXT_NOT_FOUND /
// ENCRYPTION_KEY_EXPIRED, P11 "Errors"), at most once per 5 s per peer, and never for a report about an old context.
import { afterEach, expect, test } from "bun:test";
import { startPair, type Pair } from "../support/pki.ts";
import { waitFor } from "../../scripts/lib/pair.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

test("n32f-error CONTEXT_NOT_FOUND about our current context: one new handshake, a second report within 5 s none", async () => {
  pair = await startPair();
  const first = await pair.a.service.handshake("home");
  expect(first.state).toBe("active-prins");
  const ours = first.localContextId!;
  // B reports our (A's) context as unknown
  await pair.b.service.reportError("visited", { type: "CONTEXT_NOT_FOUND", receiverContextId: ours });
  await waitFor("a second handshake", () => pair!.a.service.status("home")!.counters.successes === 2, 5000, 10);
  const renewed = pair.a.service.status("home")!;
  expect(renewed.localContextId).not.toBe(ours);
  // the same report about the new context inside the 5 s window starts nothing
  await pair.b.service.reportError("visited", {
    type: "CONTEXT_NOT_FOUND",
    receiverContextId: renewed.localContextId!,
  });
  await Bun.sleep(300);
  expect(pair.a.service.status("home")!.counters.attempts).toBe(renewed.counters.attempts);
  expect(pair.a.service.renegotiate("home", "test")).toBe(false);
});

test("n32f-error about an old context of ours (still in its re-key grace) starts no handshake", async () => {
  pair = await startPair({ retireGraceMs: 10_000 });
  const old = (await pair.a.service.handshake("home")).localContextId!;
  await pair.a.service.handshake("home"); // re-key: the old context stays in its grace period
  const before = pair.a.service.status("home")!.counters.attempts;
  await pair.b.service.reportError("visited", { type: "ENCRYPTION_KEY_EXPIRED", receiverContextId: old });
  await Bun.sleep(300);
  expect(pair.a.service.status("home")!.counters.attempts).toBe(before);
});
