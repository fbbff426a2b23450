// Re-handshake before key life ends (N32-PROFILE P1): new context IDs, the new keys agree on both sides,
// and the old context is retired (both sides) after a short grace.
import { afterEach, expect, test } from "bun:test";
import { openJwe, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { startPair, type Pair } from "../support/pki.ts";
import { waitFor } from "../../scripts/lib/pair.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

test("validity 3 s, margin 2 s: the initiator re-handshakes with new IDs and retires the old context", async () => {
  const lifetime = (c: { n32c?: object }) =>
    Object.assign(c.n32c!, { contextValiditySeconds: 3, rekeyMarginSeconds: 2 });
  pair = await startPair({
    a: (c) => {
      lifetime(c);
      c.peers![0]!.initiate = true;
    },
    b: lifetime,
    retireGraceMs: 100,
  });
  const { a, b } = pair;
  const terminated: string[] = [];
  a.service.on("context-terminated", (e) => terminated.push(`a:${e.reason}`));
  b.service.on("context-terminated", (e) => terminated.push(`b:${e.reason}`));
  a.service.start();
  await waitFor("first association", () => a.service.status("home")!.state === "active-prins", 5000, 10);
  const old = { a: a.service.status("home")!.localContextId!, b: a.service.status("home")!.peerContextId! };
  const t0 = Date.now();
  await waitFor("re-handshake", () => a.service.status("home")!.localContextId !== old.a, 6000, 10);
  // not before validity − margin (1 s after creation; allow scheduling slack)
  expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
  const st = a.service.status("home")!;
  expect(st.state).toBe("active-prins");
  expect(st.peerContextId).not.toBe(old.b);
  expect(st.counters.successes).toBe(2);
  expect(b.service.status("visited")!.localContextId).toBe(st.peerContextId);
  // old contexts retired on both sides after the grace; the new ones work
  await waitFor("old contexts retired", () => !a.contexts.get(old.a) && !b.contexts.get(old.b), 3000, 10);
  expect(terminated.sort()).toEqual(["a:rekey", "b:peer"]);
  const ca = a.contexts.get(st.localContextId!)!;
  const cb = b.contexts.get(st.peerContextId!)!;
  const enc = new TextEncoder();
  const jwe = protectJwe(ca, "request", enc.encode("{}"), enc.encode("after rekey"));
  expect(new TextDecoder().decode(openJwe(cb, "request", parseJwe(jwe)).plaintext)).toBe("after rekey");
});

test("a send counter past rekeySeqThreshold triggers a re-handshake", async () => {
  pair = await startPair({
    a: (c) => {
      c.n32c!.rekeySeqThreshold = 10;
      c.peers![0]!.initiate = true;
    },
    retireGraceMs: 50,
  });
  const { a } = pair;
  a.service.start();
  await waitFor("first association", () => a.service.status("home")!.state === "active-prins", 5000, 10);
  const first = a.service.status("home")!.localContextId!;
  a.contexts.get(first)!.advanceSendSeq("request", 11);
  await waitFor(
    "re-handshake after the SEQ threshold",
    () => a.service.status("home")!.localContextId !== first,
    5000,
    10,
  );
  await waitFor("old context retired", () => !a.contexts.get(first), 3000, 10);
});

test("reloadPeers: a new initiating peer starts; a removed peer's contexts and status go", async () => {
  pair = await startPair();
  const { a } = pair;
  a.service.start();
  const saved = structuredClone(a.input.peers!);
  a.update((c) => (c.peers = []));
  a.service.reloadPeers();
  expect(a.service.statusAll()).toEqual([]);
  a.update((c) => (c.peers = saved.map((p) => ({ ...p, initiate: true }))));
  a.service.reloadPeers();
  await waitFor("handshake after reload", () => a.service.status("home")?.state === "active-prins", 5000, 10);
  expect(a.contexts.size).toBe(1);
  a.update((c) => (c.peers = []));
  a.service.reloadPeers();
  expect(a.contexts.size).toBe(0);
  expect(a.service.status("home")).toBeUndefined();
});
