// n32f-terminate and n32f-error both ways (including over the responder's own N32-c connection toward
// the initiator), NONE/NFTLST teardown of a TLS association, and protection policy mismatch (P7):
// reject (context not activated, n32f-error POLICY_MISMATCH received by the peer) and warn.
import { afterEach, describe, expect, test } from "bun:test";
import type { ErrorReportEvent, ContextTerminatedEvent } from "../../src/n32c/core-types.ts";
import { validateBody } from "../../src/openapi/validate.ts";
import { POLICY_A, POLICY_B, startPair, type Pair } from "../support/pki.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";

type PeerInput = NonNullable<SeppConfigInput["peers"]>[number];

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

function events(p: Pair) {
  const ev = {
    aErr: [] as ErrorReportEvent[],
    bErr: [] as ErrorReportEvent[],
    aTerm: [] as ContextTerminatedEvent[],
    bTerm: [] as ContextTerminatedEvent[],
  };
  p.a.service.on("error-report", (e) => ev.aErr.push(e));
  p.b.service.on("error-report", (e) => ev.bErr.push(e));
  p.a.service.on("context-terminated", (e) => ev.aTerm.push(e));
  p.b.service.on("context-terminated", (e) => ev.bTerm.push(e));
  return ev;
}

/** A fresh pair (kept in `pair` for afterEach), its events recorded, handshaken: the two sides' contexts. */
async function handshaken() {
  pair = await startPair();
  const ev = events(pair);
  await pair.a.service.handshake("home");
  const [ca] = pair.a.contexts.list();
  const [cb] = pair.b.contexts.list();
  return { p: pair, ev, ca: ca!, cb: cb! };
}

describe("terminate", () => {
  test("the initiator terminates: n32f-terminate with the peer's ID, answered with ours; both wiped", async () => {
    const { p, ev, ca, cb } = await handshaken();
    await p.a.service.terminate("home");
    expect(p.a.contexts.size).toBe(0);
    expect(p.b.contexts.size).toBe(0);
    expect(ca.state).toBe("terminated"); // keys destroyed
    expect(cb.state).toBe("terminated");
    expect(p.a.service.status("home")!.state).toBe("terminated");
    expect(p.b.service.status("visited")!.state).toBe("terminated");
    expect(p.b.service.status("visited")!.counters.terminationsReceived).toBe(1);
    const req = p.a.traces.find((t) => t.operation === "n32f-terminate" && t.direction === "sent")!;
    expect(req.body).toEqual({ n32fContextId: cb.localContextId }); // the receiver's own ID
    const rsp = p.b.traces.find((t) => t.operation === "n32f-terminate" && t.direction === "sent")!;
    expect(rsp.body).toEqual({ n32fContextId: ca.localContextId }); // the requester's own ID (P10)
    expect(ev.aTerm.map((e) => e.reason)).toEqual(["local"]);
    expect(ev.bTerm.map((e) => e.reason)).toEqual(["peer"]);
  });

  test("the responder terminates over its own N32-c connection toward the initiator's N32-c URI", async () => {
    pair = await startPair();
    await pair.a.service.handshake("home");
    const sessionsBefore = pair.a.server.sessions();
    await pair.b.service.terminate("visited");
    expect(pair.a.contexts.size).toBe(0);
    expect(pair.b.contexts.size).toBe(0);
    expect(pair.a.service.status("home")!.state).toBe("terminated");
    expect(pair.a.service.status("home")!.counters.terminationsReceived).toBe(1);
    // A's server received the request: it came on a connection the responder opened
    expect(pair.a.traces.some((t) => t.direction === "received" && t.operation === "n32f-terminate")).toBe(true);
    expect(sessionsBefore).toBe(0);
  });

  test("TLS association: NONE (NFTLST) tears it down, from either side", async () => {
    pair = await startPair({ a: (c) => (c.peers![0]!.securityCapabilities = ["TLS"]) });
    await pair.a.service.handshake("home");
    expect(pair.b.service.status("visited")!.state).toBe("active-tls");
    await pair.a.service.terminate("home");
    expect(pair.b.service.status("visited")!.state).toBe("terminated");
    const none = pair.a.traces.filter((t) => t.direction === "sent" && t.operation === "exchange-capability").at(-1)!;
    expect(none.body).toMatchObject({ supportedSecCapabilityList: ["NONE"], supportedFeatures: "1" });
    const answer = pair.b.traces.filter((t) => t.direction === "sent" && t.operation === "exchange-capability").at(-1)!;
    expect(answer.body).toMatchObject({ selectedSecCapability: "NONE" });
    // again, now the responder ends it
    await pair.a.service.handshake("home");
    await pair.b.service.terminate("visited");
    expect(pair.a.service.status("home")!.state).toBe("terminated");
  });

  test("terminating toward an unreachable peer wipes our side and reports the failure", async () => {
    pair = await startPair();
    await pair.a.service.handshake("home");
    await pair.b.server.close();
    await expect(pair.a.service.terminate("home")).rejects.toThrow();
    expect(pair.a.contexts.size).toBe(0);
    expect(pair.a.service.status("home")!.state).toBe("terminated");
    expect(pair.a.service.status("home")!.lastError?.cause).toBe("CONNECTION_FAILED");
  });
});

describe("n32f-error", () => {
  test("error reports both ways: the receiver's context ID, the failed message's ID, 204", async () => {
    const { p, ev, ca, cb } = await handshaken();
    await p.a.service.reportError("home", {
      type: "INTEGRITY_CHECK_FAILED",
      receiverContextId: cb.localContextId,
      messageId: "0123456789abcdef",
    });
    expect(ev.bErr).toEqual([
      {
        peerId: "visited",
        info: {
          n32fMessageId: "0123456789abcdef",
          n32fErrorType: "INTEGRITY_CHECK_FAILED",
          n32fContextId: cb.localContextId,
        },
      },
    ]);
    // the responder reports over its own connection toward the initiator
    await p.b.service.reportError("visited", {
      type: "DECIPHERING_FAILED",
      receiverContextId: ca.localContextId,
      messageId: "fedcba9876543210",
    });
    expect(ev.aErr.map((e) => [e.peerId, e.info.n32fErrorType, e.info.n32fContextId])).toEqual([
      ["home", "DECIPHERING_FAILED", ca.localContextId],
    ]);
    expect(p.a.service.status("home")!.counters.errorsReceived).toBe(1);
    expect(p.b.service.status("visited")!.counters.errorsSent).toBe(1);
    // contexts stay (local reaction is the data path's)
    expect(p.a.contexts.size).toBe(1);
    // an n32f-error naming the SENDER's own ID for the context (a reading of P11's PLMN-mismatch bullet) is
    // taken as the same context: the same peer's ID for it, never another context's
    await p.b.service.reportError("visited", {
      type: "PLMN_ID_MISMATCH",
      receiverContextId: cb.localContextId,
      messageId: "00000000000000aa",
    });
    expect(ev.aErr.at(-1)!.info.n32fContextId).toBe(cb.localContextId);
    expect(p.a.service.status("home")!.counters.errorsReceived).toBe(2);
    // an unknown context ID is refused
    await expect(
      p.a.service.reportError("home", { type: "INTEGRITY_CHECK_FAILED", receiverContextId: "00000000000000ff" }),
    ).rejects.toThrow(/404/);
  });
});

describe("protection policy mismatch (TS 33.501 13.2.3.6)", () => {
  /** A pair whose peer entries get `a` and `b`; the handshake from A fails POLICY_MISMATCH and leaves no context
   *  on either side. The events seen since the start, and the pair. */
  const mismatchedHandshake = async (a: Partial<PeerInput>, b: Partial<PeerInput>) => {
    const p = await startPair({ a: (c) => Object.assign(c.peers![0]!, a), b: (c) => Object.assign(c.peers![0]!, b) });
    pair = p; // closed by afterEach
    const ev = events(p);
    const st = await p.a.service.handshake("home");
    expect(st.state).toBe("failed");
    expect(st.lastError?.cause).toBe("POLICY_MISMATCH");
    expect(p.a.contexts.size).toBe(0);
    expect(p.b.contexts.size).toBe(0);
    return { ev, p };
  };

  test("reject, detected by the responder: n32f-error POLICY_MISMATCH to the initiator, no context anywhere", async () => {
    const { ev, p } = await mismatchedHandshake(
      { protectionPolicy: POLICY_A },
      { protectionPolicy: POLICY_B, partnerPolicy: POLICY_B }, // expects B from A: mismatch
    );
    expect(ev.aErr.length).toBe(1);
    const info = ev.aErr[0]!.info;
    expect(info.n32fErrorType).toBe("POLICY_MISMATCH");
    expect(info.n32fMessageId).toBe("0000000000000000");
    expect(info.policyMismatchList!.length).toBeGreaterThan(0);
    expect(validateBody("N32fErrorInfo", info)).toBeNull();
    expect(p.b.service.status("visited")!.state).toBe("failed");
    expect(p.b.log.lines.some((l) => l.level === "warn" && String(l.msg).includes("policy mismatch"))).toBe(true);
  });

  test("reject, detected by the initiator: n32f-error to the responder, which drops its context", async () => {
    const { ev } = await mismatchedHandshake(
      { protectionPolicy: POLICY_A, partnerPolicy: POLICY_A }, // expects A from B: mismatch
      { protectionPolicy: POLICY_B },
    );
    expect(ev.bErr.map((e) => [e.info.n32fErrorType, e.info.n32fMessageId])).toEqual([
      ["POLICY_MISMATCH", "0000000000000000"],
    ]);
    expect(ev.bTerm.map((e) => e.reason)).toEqual(["policy-mismatch"]);
  });

  test("warn: the mismatch is logged and the context is activated", async () => {
    pair = await startPair({
      a: (c) => Object.assign(c.peers![0]!, { protectionPolicy: POLICY_A }),
      b: (c) =>
        Object.assign(c.peers![0]!, {
          protectionPolicy: POLICY_B,
          partnerPolicy: POLICY_B,
          profile: { onPolicyMismatch: "warn" },
        }),
    });
    const ev = events(pair);
    const st = await pair.a.service.handshake("home");
    expect(st.state).toBe("active-prins");
    expect(pair.b.contexts.size).toBe(1);
    expect(ev.aErr.length).toBe(0);
    expect(pair.b.log.lines.some((l) => l.level === "warn" && String(l.msg).includes("policy mismatch"))).toBe(true);
  });
});
