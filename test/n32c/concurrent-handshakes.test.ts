// Concurrent handshakes with one peer join instead of racing (one exchange, one new context): on-demand calls
// (admin API, data path, src/sepp.ts after an n32f-error) and the initiator's own rekey timer. A received
// n32f-error shows in the peer's status (lastError), with unknown types bounded. Two real SEPPs on loopback.
import { afterEach, describe, expect, test } from "bun:test";
import type { N32fErrorType } from "../../src/model/n32.ts";
import type { TraceEvent } from "../../src/n32c/core-types.ts";
import { startPair, type Pair } from "../support/pki.ts";
import { waitFor } from "../../scripts/lib/pair.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

const capabilityExchanges = (traces: TraceEvent[]) =>
  traces.filter((t) => t.direction === "sent" && t.kind === "request" && t.operation === "exchange-capability").length;

/** Call `f` (once) when the SEPP sends its next exchange-capability request, i.e. while a handshake is running. */
function onNextCapabilityRequest(traces: TraceEvent[], f: () => void): void {
  const push = traces.push.bind(traces);
  let armed = true;
  traces.push = (...items: TraceEvent[]) => {
    const n = push(...items);
    if (
      armed &&
      items.some((t) => t.direction === "sent" && t.kind === "request" && t.operation === "exchange-capability")
    ) {
      armed = false;
      f();
    }
    return n;
  };
}

describe("concurrent handshakes with one peer", () => {
  test("five concurrent handshake(peerId) calls join one exchange: one context each side, same result", async () => {
    pair = await startPair();
    const { a, b } = pair;
    const results = await Promise.all(Array.from({ length: 5 }, () => a.service.handshake("home")));
    expect(capabilityExchanges(a.traces)).toBe(1);
    expect(a.contexts.size).toBe(1);
    expect(b.contexts.size).toBe(1);
    const ids = new Set(results.map((r) => r.localContextId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBe(a.contexts.list()[0]!.localContextId);
    for (const r of results) expect(r.state).toBe("active-prins");
    expect(a.service.status("home")!.counters.attempts).toBe(1);
    expect(b.service.status("visited")!.counters.responderHandshakes).toBe(1);
  });

  test("handshake(peerId) while the rekey timer's handshake runs joins it: one new context, not two", async () => {
    pair = await startPair({
      a: (c) => {
        c.n32c!.rekeySeqThreshold = 10;
        c.peers![0]!.initiate = true;
      },
      retireGraceMs: 60_000, // keep the old contexts: every context made is counted below
    });
    const { a, b } = pair;
    a.service.start();
    await waitFor("first association", () => a.service.status("home")!.state === "active-prins", 5000, 10);
    const first = a.service.status("home")!.localContextId!;
    expect(capabilityExchanges(a.traces)).toBe(1);

    // the timer's re-handshake is on the wire: three on-demand calls arrive now (n32f-error reaction, admin, data path)
    const joined: Promise<unknown>[] = [];
    onNextCapabilityRequest(a.traces, () => {
      for (let i = 0; i < 3; i++) joined.push(a.service.handshake("home"));
    });
    a.contexts.get(first)!.advanceSendSeq("request", 11); // past rekeySeqThreshold: the timer (≤ 1 s) re-handshakes
    await waitFor("the rekey timer's handshake", () => joined.length === 3, 5000, 10);
    const results = (await Promise.all(joined)) as { localContextId: string | null }[];
    const st = a.service.status("home")!;
    expect(st.localContextId).not.toBe(first);
    for (const r of results) expect(r.localContextId).toBe(st.localContextId);
    expect(capabilityExchanges(a.traces)).toBe(2);
    expect(st.counters.attempts).toBe(2);
    expect(a.contexts.size).toBe(2); // the old one (in its grace) and exactly one new one
    expect(b.contexts.size).toBe(2);
  });

  test("an n32f-error about our current context shows in the status; the re-negotiation it triggers joins a running one", async () => {
    pair = await startPair();
    const { a, b } = pair;
    await a.service.handshake("home");
    const cur = a.service.status("home")!;
    expect(cur.lastError).toBeNull();

    // like src/sepp.ts: re-negotiate on CONTEXT_NOT_FOUND about the current context; a second caller at the same time
    const reactions: Promise<unknown>[] = [];
    a.service.on("error-report", (e) => {
      if (e.info.n32fErrorType === "CONTEXT_NOT_FOUND")
        reactions.push(a.service.handshake("home"), a.service.handshake("home"));
    });
    await b.service.reportError("visited", {
      type: "CONTEXT_NOT_FOUND",
      receiverContextId: cur.localContextId!,
      messageId: "0123456789abcdef",
    });
    const st = a.service.status("home")!;
    expect(st.counters.errorsReceived).toBe(1);
    expect(st.lastError?.cause).toBe("CONTEXT_NOT_FOUND");
    expect(st.lastError?.detail).toContain(cur.localContextId!);
    expect(reactions.length).toBe(2);
    await Promise.all(reactions);
    expect(capabilityExchanges(a.traces)).toBe(2);
    expect(a.service.status("home")!.localContextId).not.toBe(cur.localContextId);

    // an n32f-error type outside TS 29.573's list is shown as OTHER (bounded metric labels)
    const now = a.service.status("home")!;
    await b.service.reportError("visited", {
      type: "SOMETHING_NEW" as N32fErrorType,
      receiverContextId: now.localContextId!,
    });
    expect(a.service.status("home")!.lastError?.cause).toBe("OTHER");
    expect(a.service.status("home")!.lastError?.detail).toContain("SOMETHING_NEW");
    const metrics = a.metrics.render();
    expect(metrics).toContain('sepp_n32c_errors_total{cause="OTHER"} 1');
    expect(metrics).not.toContain('cause="SOMETHING_NEW"');
  });
});
