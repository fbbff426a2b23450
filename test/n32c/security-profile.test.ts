// P11 security profiles (TS 33.501 13.2.2.2, the alternative to exchanging policies in steps 2a/2c): the
// `securityProfile` extension member in the policy round, agreed (same id and version on both sides: its policies
// in force both ways) or not (the responder answers its full policy, the initiator compares, 13.2.3.6). Real N32-c
// over mutual TLS on loopback (test/support/pki.ts).
import { afterEach, expect, test } from "bun:test";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { parseConfig } from "../../src/config/schema.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { fullPolicy, profilePolicy } from "../../src/n32c/policies.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import { validateBody } from "../../src/openapi/validate.ts";
import { DEFAULT_POLICY } from "../../src/n32c/policies.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { FQDN_A, PLMN_A, PLMN_B, POLICY_B, type Pair, rawClient, rawPost, startPair } from "../support/pki.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

const N32_DEFAULT = { id: "n32-default", version: 1 };
/** A profile whose policy lets an RI modify one IE (a modification policy only the profile carries). */
const IPX_POLICY: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: "/nsmf-pdusession/v1/pdu-sessions/{smContextRef}/modify",
      apiMethod: "POST",
      IeList: [{ ieLoc: "BODY", ieType: "OTHER", reqIe: "/cause", isModifiable: true }],
    },
  ],
};
const withProfile =
  (ref: { id: string; version: number }, defs: Array<{ version: number }> = []) =>
  (c: SeppConfigInput) => {
    c.securityProfiles = defs.map((d) => ({ id: "ipx-roaming", version: d.version, protectionPolicy: IPX_POLICY }));
    c.peers![0]!.securityProfile = ref;
  };

/** The exchange-params bodies `side` sent / received. */
const params = (p: Pair, side: "a" | "b", direction: "sent" | "received") =>
  p[side].traces
    .filter((t) => t.operation === "exchange-params" && t.direction === direction)
    .map((t) => ({ kind: t.kind, body: t.body as Record<string, unknown> }));

/** Every N32-c body either side sent validates against the official (unmodified) schema. */
function expectAllSentValid(p: Pair): void {
  for (const side of ["a", "b"] as const)
    for (const t of p[side].traces.filter((x) => x.direction === "sent" && x.schema))
      expect({ op: t.operation, errs: validateBody(t.schema!, t.body) }).toEqual({ op: t.operation, errs: null });
}

test("n32-default v1 on both sides: securityProfile instead of protectionPolicyInfo, echoed without selProtectionPolicyInfo, in force both ways", async () => {
  pair = await startPair({ a: withProfile(N32_DEFAULT), b: withProfile(N32_DEFAULT) });
  const st = await pair.a.service.handshake("home");
  expect(st.state).toBe("active-prins");
  const req = params(pair, "a", "sent").find((x) => x.kind === "request" && x.body.securityProfile);
  expect(req?.body.securityProfile).toEqual(N32_DEFAULT);
  expect(params(pair, "a", "sent").some((x) => x.body.protectionPolicyInfo)).toBe(false);
  const rsp = params(pair, "a", "received").find((x) => x.kind === "response" && x.body.securityProfile);
  expect(rsp?.body.securityProfile).toEqual(N32_DEFAULT);
  expect(params(pair, "a", "received").some((x) => x.body.selProtectionPolicyInfo)).toBe(false);
  expectAllSentValid(pair);
  // the profile's policies (P4 default mapping, nothing modifiable) are in force on both sides, both ways
  const expected = profilePolicy([], N32_DEFAULT)!;
  expect(expected.apiIeMappingList.length).toBe(DEFAULT_POLICY.apiIeMappingList.length);
  expect(JSON.stringify(expected)).not.toContain("isModifiable");
  const ca = pair.a.contexts.get(st.localContextId!)!;
  const cb = pair.b.contexts.get(st.peerContextId!)!;
  for (const c of [ca, cb]) {
    expect(c.association.localPolicy).toEqual(expected);
    expect(c.association.peerPolicy).toEqual(expected);
  }
});

test("n32-default v1 is built in: a responder with no profile and no per-peer additions agrees to it", async () => {
  pair = await startPair({ a: withProfile(N32_DEFAULT) });
  const st = await pair.a.service.handshake("home");
  expect(st.state).toBe("active-prins");
  const rsp = params(pair, "a", "received").find((x) => x.kind === "response" && x.body.securityProfile);
  expect(rsp?.body.securityProfile).toEqual(N32_DEFAULT);
  expect(pair.b.contexts.get(st.peerContextId!)!.association.peerPolicy).toEqual(profilePolicy([], N32_DEFAULT));
});

test("a configured profile (name, version) with a modification policy is in force both ways", async () => {
  const ref = { id: "ipx-roaming", version: 3 };
  pair = await startPair({ a: withProfile(ref, [{ version: 3 }]), b: withProfile(ref, [{ version: 3 }]) });
  const st = await pair.a.service.handshake("home");
  expect(st.state).toBe("active-prins");
  const expected = fullPolicy(IPX_POLICY);
  const ca = pair.a.contexts.get(st.localContextId!)!;
  const cb = pair.b.contexts.get(st.peerContextId!)!;
  const engine = new PrinsEngine({ defaults: DEFAULT_POLICY, riTrust: TrustStore.fromConfig(pair.a.cfg()) });
  for (const c of [ca, cb]) {
    expect(c.association.localPolicy).toEqual(expected);
    expect(c.association.peerPolicy).toEqual(expected);
    // the modification policy of the profile applies to what the peer's RIs may change, and to ours
    const p = engine.policiesOf(c);
    for (const mods of [p.peerMods, p.ownMods]) expect(JSON.stringify(mods.mappings)).toContain('"isModifiable":true');
  }
  expectAllSentValid(pair);
});

for (const reaction of ["reject", "warn"] as const) {
  test(`a responder with another version answers its full policy; the initiator compares full policies (${reaction})`, async () => {
    pair = await startPair({
      a: (c) => {
        withProfile({ id: "ipx-roaming", version: 3 }, [{ version: 3 }])(c);
        c.peers![0]!.profile = { onPolicyMismatch: reaction };
      },
      b: (c) => {
        // B's version 4 of the profile has other content
        c.securityProfiles = [{ id: "ipx-roaming", version: 4, protectionPolicy: POLICY_B }];
        c.peers![0]!.securityProfile = { id: "ipx-roaming", version: 4 };
      },
    });
    const st = await pair.a.service.handshake("home");
    const rsp = params(pair, "a", "received").find((x) => x.kind === "response" && x.body.selProtectionPolicyInfo);
    // B's full policy is its own profile's (v4): no securityProfile in its answer
    expect(rsp?.body.securityProfile).toBeUndefined();
    expect(rsp?.body.selProtectionPolicyInfo).toEqual(fullPolicy(POLICY_B));
    expectAllSentValid(pair);
    if (reaction === "reject") {
      expect(st.state).toBe("failed");
      expect(st.lastError?.cause).toBe("POLICY_MISMATCH");
    } else {
      expect(st.state).toBe("active-prins");
      const ca = pair.a.contexts.get(st.localContextId!)!;
      expect(ca.association.localPolicy).toEqual(fullPolicy(IPX_POLICY));
      expect(ca.association.peerPolicy).toEqual(fullPolicy(POLICY_B));
    }
  });
}

test("a responder whose full policy differs from the indicated profile: the initiator finds the mismatch (13.2.3.6)", async () => {
  pair = await startPair({
    a: withProfile(N32_DEFAULT),
    b: (c) => Object.assign(c.peers![0]!, { protectionPolicy: POLICY_B }), // additions: B does not agree to the profile
  });
  const st = await pair.a.service.handshake("home");
  expect(st.state).toBe("failed");
  expect(st.lastError?.cause).toBe("POLICY_MISMATCH");
  const rsp = params(pair, "a", "received").find((x) => x.kind === "response" && x.body.selProtectionPolicyInfo);
  expect(rsp?.body.securityProfile).toBeUndefined();
  expect(rsp?.body.selProtectionPolicyInfo).toEqual(fullPolicy(POLICY_B));
  // B was told (n32f-error POLICY_MISMATCH) and holds no context
  await Bun.sleep(100);
  expect(pair.b.contexts.byPeer("visited").length).toBe(0);
  await pair.close();
  // with warn: active, B's full policy in force as the peer's
  pair = await startPair({
    a: (c) => {
      withProfile(N32_DEFAULT)(c);
      c.peers![0]!.profile = { onPolicyMismatch: "warn" };
    },
    b: (c) => Object.assign(c.peers![0]!, { protectionPolicy: POLICY_B }),
  });
  const st2 = await pair.a.service.handshake("home");
  expect(st2.state).toBe("active-prins");
  const ca = pair.a.contexts.get(st2.localContextId!)!;
  expect(ca.association.peerPolicy).toEqual(fullPolicy(POLICY_B));
  expect(ca.association.localPolicy).toEqual(profilePolicy([], N32_DEFAULT));
});

test("a malformed securityProfile is refused with 400 MANDATORY_IE_INCORRECT; an unknown one is answered with the full policy", async () => {
  pair = await startPair();
  const c = await rawClient(pair.b, pair.pki.seppA);
  try {
    expect(
      (
        await rawPost(c, "exchange-capability", {
          sender: FQDN_A,
          supportedSecCapabilityList: ["PRINS"],
          plmnIdList: [PLMN_A],
          targetPlmnId: PLMN_B,
        })
      ).status,
    ).toBe(200);
    const id = "00000000000000b7";
    const r1 = await rawPost(c, "exchange-params", {
      n32fContextId: id,
      jweCipherSuiteList: ["A256GCM"],
      sender: FQDN_A,
    });
    expect(r1.status).toBe(200);
    for (const bad of [
      { id: "n32-default" },
      { id: "n32-default", version: "1" },
      "n32-default",
      { id: "", version: 1 },
    ]) {
      const r = await rawPost(c, "exchange-params", { n32fContextId: id, securityProfile: bad });
      expect(r.status).toBe(400);
      expect(r.body.cause).toBe("MANDATORY_IE_INCORRECT");
      expect(r.body.invalidParams).toEqual([{ param: "/securityProfile" }]);
    }
    const r = await rawPost(c, "exchange-params", {
      n32fContextId: id,
      securityProfile: { id: "unknown", version: 9 },
    });
    expect(r.status).toBe(200);
    expect(r.body.securityProfile).toBeUndefined();
    expect(r.body.selProtectionPolicyInfo).toEqual(fullPolicy());
  } finally {
    await c.close();
  }
});

test("configuration: a peer's profile must be defined, once, and excludes protectionPolicy", async () => {
  pair = await startPair();
  const base = structuredClone(pair.a.input);
  const issues = (mutate: (c: SeppConfigInput) => void) => {
    const c = structuredClone(base);
    mutate(c);
    const r = parseConfig(c);
    return r.ok ? [] : r.issues.map((i) => i.path);
  };
  expect(issues(withProfile(N32_DEFAULT))).toEqual([]);
  expect(issues(withProfile({ id: "ipx-roaming", version: 2 }, [{ version: 3 }]))).toEqual([
    "/peers/0/securityProfile",
  ]);
  expect(issues(withProfile({ id: "ipx-roaming", version: 3 }, [{ version: 3 }, { version: 3 }]))).toEqual([
    "/securityProfiles/1",
  ]);
  expect(
    issues((c) => {
      withProfile(N32_DEFAULT)(c);
      c.securityProfiles = [{ id: "n32-default", version: 1, protectionPolicy: IPX_POLICY }];
    }),
  ).toEqual(["/securityProfiles/0"]);
  expect(
    issues((c) => {
      withProfile(N32_DEFAULT)(c);
      c.peers![0]!.protectionPolicy = POLICY_B;
    }),
  ).toEqual(["/peers/0/protectionPolicy"]);
});
