// N32-c negotiation of P11 "Negotiation": full effective policies in the policy round (P4 defaults merged with
// the per-peer additions), selProtectionPolicyInfo always answered, TS 33.501 13.2.3.6 over full policies, and
// a later round in force at once. Real N32-c over mutual TLS on loopback (test/support/pki.ts).
import { afterEach, expect, test } from "bun:test";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { DEFAULT_POLICY, fullPolicy } from "../../src/n32c/policies.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import {
  FQDN_A,
  PLMN_A,
  PLMN_B,
  POLICY_A,
  type Pair,
  RI_ID,
  rawClient,
  rawPost,
  startPair,
  testPki,
} from "../support/pki.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

const bodies = (p: Pair, side: "a" | "b", direction: "sent" | "received", kind: "request" | "response") =>
  p[side].traces
    .filter((t) => t.operation === "exchange-params" && t.direction === direction && t.kind === kind)
    .map((t) => t.body as Record<string, unknown>);

test("policy round: both sides send their full effective policy, also with no per-peer additions", async () => {
  pair = await startPair({ a: (c) => Object.assign(c.peers![0]!, { protectionPolicy: POLICY_A }) });
  expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
  const sent = bodies(pair, "a", "sent", "request").find((b) => b.protectionPolicyInfo);
  expect(sent?.protectionPolicyInfo).toEqual(fullPolicy(POLICY_A));
  // B has no additions: it still answers the policy round with its full policy (the P4 defaults)
  const answer = bodies(pair, "a", "received", "response").find((b) => b.selProtectionPolicyInfo);
  const defaults = answer?.selProtectionPolicyInfo as ProtectionPolicy;
  expect(defaults).toEqual(fullPolicy());
  expect(defaults.apiIeMappingList.length).toBe(DEFAULT_POLICY.apiIeMappingList.length);
  expect(defaults.dataTypeEncPolicy).toEqual(
    expect.arrayContaining(["UEID", "LOCATION", "KEY_MATERIAL", "AUTHENTICATION_MATERIAL", "AUTHORIZATION_TOKEN"]),
  );
  // and what is in force on both sides is those full policies
  const [ca] = pair.a.contexts.list();
  const cb = pair.b.contexts.get(ca!.peerContextId)!;
  expect(cb.association.peerPolicy).toEqual(fullPolicy(POLICY_A));
  expect(ca!.association.peerPolicy).toEqual(fullPolicy());
});

test("13.2.3.6 over full policies: an agreed policy equal to the peer's additions matches; one it lacks does not", async () => {
  // A agreed that B adds nothing: B's full policy (the defaults) matches the agreed one in full
  const noAdditions: ProtectionPolicy = { apiIeMappingList: [DEFAULT_POLICY.apiIeMappingList[0]!] };
  pair = await startPair({ a: (c) => Object.assign(c.peers![0]!, { partnerPolicy: noAdditions }) });
  expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
  await pair.close();
  // A agreed on POLICY_A's addition from B, which B does not make: mismatch, rejected
  pair = await startPair({ a: (c) => Object.assign(c.peers![0]!, { partnerPolicy: POLICY_A }) });
  const st = await pair.a.service.handshake("home");
  expect(st.state).toBe("failed");
  expect(st.lastError?.cause).toBe("POLICY_MISMATCH");
});

test("a later round is in force at once: the engine's policy for the context follows the policy round", async () => {
  pair = await startPair();
  const c = await rawClient(pair.b, pair.pki.seppA);
  const cap = await rawPost(c, "exchange-capability", {
    sender: FQDN_A,
    supportedSecCapabilityList: ["PRINS"],
    plmnIdList: [PLMN_A],
    targetPlmnId: PLMN_B,
  });
  expect(cap.status).toBe(200);
  const id = "00000000000000a1";
  const r1 = await rawPost(c, "exchange-params", {
    n32fContextId: id,
    jweCipherSuiteList: ["A256GCM"],
    sender: FQDN_A,
  });
  expect(r1.status).toBe(200);
  const ctx = pair.b.contexts.get(r1.body.n32fContextId)!;
  const engine = new PrinsEngine({ defaults: DEFAULT_POLICY, riTrust: TrustStore.fromConfig(pair.b.cfg()) });
  const before = engine.policiesOf(ctx);
  expect(before.peerMods.mappings.length).toBe(0); // nothing received from the peer yet
  const r2 = await rawPost(c, "exchange-params", { n32fContextId: id, protectionPolicyInfo: fullPolicy(POLICY_A) });
  expect(r2.status).toBe(200);
  const after = engine.policiesOf(ctx);
  expect(after).not.toBe(before);
  expect(after.peerMods.mappings.length).toBe(fullPolicy(POLICY_A).apiIeMappingList.length);
  await c.close();
});

test("RIs configured for the peer: the initiator offers PRINS only, even where TLS comes first in its list", async () => {
  const pki = await testPki();
  pair = await startPair({
    a: (c) =>
      Object.assign(c.peers![0]!, {
        securityCapabilities: ["TLS", "PRINS"],
        roamingIntermediaries: [{ ipxProviderId: RI_ID, side: "own", certificates: [pki.ri.certPem] }],
      }),
    b: (c) => Object.assign(c.peers![0]!, { securityCapabilities: ["TLS", "PRINS"] }),
  });
  const st = await pair.a.service.handshake("home");
  expect(st.capability).toBe("PRINS");
  const offer = pair.a.traces.find((t) => t.operation === "exchange-capability" && t.direction === "sent");
  expect((offer!.body as { supportedSecCapabilityList: string[] }).supportedSecCapabilityList).toEqual(["PRINS"]);
});

test("RIs announced by the peer (none configured here): the responder accepts no TLS, and offers none itself", async () => {
  const pki = await testPki();
  pair = await startPair({
    a: (c) =>
      Object.assign(c.peers![0]!, {
        roamingIntermediaries: [{ ipxProviderId: RI_ID, side: "own", certificates: [pki.ri.certPem] }],
      }),
  });
  expect((await pair.a.service.handshake("home")).capability).toBe("PRINS"); // B learns A's RI in the RI round
  expect(pair.b.cfg().peers[0]!.roamingIntermediaries).toEqual([]);
  const c = await rawClient(pair.b, pair.pki.seppA);
  const r = await rawPost(c, "exchange-capability", {
    sender: FQDN_A,
    supportedSecCapabilityList: ["TLS"],
    plmnIdList: [PLMN_A],
  });
  expect(r.status).toBe(403);
  expect(r.body.cause).toBe("NEGOTIATION_NOT_ALLOWED");
  await c.close();
  // B as initiator toward A now offers PRINS only
  await pair.b.service.handshake("visited");
  const offer = pair.b.traces.find(
    (t) => t.operation === "exchange-capability" && t.direction === "sent" && t.kind === "request",
  );
  expect((offer!.body as { supportedSecCapabilityList: string[] }).supportedSecCapabilityList).toEqual(["PRINS"]);
});

for (const p6 of [false, true]) {
  test(`n32f-error POLICY_MISMATCH about an established context: ${p6 ? "dropped for a peer configured for P6" : "kept for a peer not configured for P6 (the default)"}`, async () => {
    pair = await startPair({
      a: (c) => Object.assign(c.peers![0]!, { profile: p6 ? { announceToRi: true } : {} }),
    });
    const st = await pair.a.service.handshake("home");
    await pair.b.service.reportError("visited", {
      type: "POLICY_MISMATCH",
      receiverContextId: st.localContextId!,
      messageId: "0123456789abcdef",
      policyMismatchList: [{ param: "/selectedJweCipherSuite" }],
    });
    const after = pair.a.service.status("home")!;
    expect(after.counters.errorsReceived).toBe(1);
    expect(after.lastError?.cause).toBe("POLICY_MISMATCH");
    expect(after.state).toBe(p6 ? "failed" : "active-prins");
    expect(pair.a.contexts.get(st.localContextId!) !== undefined).toBe(!p6);
  });
}
