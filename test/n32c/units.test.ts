// Pure parts of N32-c: policy mismatch comparison (TS 33.501 13.2.3.6), token buckets (429), own bodies
// always schema-valid (builders throw otherwise).
import { expect, test } from "bun:test";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { comparePolicies } from "../../src/n32c/policy.ts";
import { TokenBuckets } from "../../src/n32c/ratelimit.ts";
import * as msg from "../../src/n32c/messages.ts";
import { validateBody } from "../../src/openapi/validate.ts";
import { FQDN_A, PLMN_A, PLMN_B, POLICY_A, POLICY_B } from "../support/pki.ts";

test("comparePolicies: equal up to order; each difference named", () => {
  const shuffled: ProtectionPolicy = {
    apiIeMappingList: [...POLICY_A.apiIeMappingList].reverse().map((m) => ({ ...m, IeList: [...m.IeList].reverse() })),
    dataTypeEncPolicy: [...POLICY_A.dataTypeEncPolicy!].reverse(),
  };
  expect(comparePolicies(shuffled, POLICY_A)).toEqual([]);
  const d = comparePolicies(POLICY_B, POLICY_A);
  expect(d.map((x) => x.param).sort()).toEqual(["/apiIeMappingList", "/apiIeMappingList/0", "/dataTypeEncPolicy"]);
  const modChanged: ProtectionPolicy = {
    ...POLICY_B,
    apiIeMappingList: [
      {
        ...POLICY_B.apiIeMappingList[0]!,
        IeList: [{ ...POLICY_B.apiIeMappingList[0]!.IeList[0]!, isModifiable: true }],
      },
    ],
  };
  expect(comparePolicies(modChanged, POLICY_B)).toEqual([
    { param: "/apiIeMappingList/0/IeList", reason: expect.stringContaining("differs") },
  ]);
  // isModifiable absent = false
  const explicitFalse: ProtectionPolicy = {
    ...POLICY_A,
    apiIeMappingList: [
      {
        ...POLICY_A.apiIeMappingList[0]!,
        IeList: POLICY_A.apiIeMappingList[0]!.IeList.map((ie) => ({ ...ie, isModifiable: false })),
      },
    ],
  };
  expect(comparePolicies(explicitFalse, POLICY_A)).toEqual([]);
});

test("TokenBuckets: burst of `rate`, refill over time, keys independent, bounded", () => {
  let now = 0;
  const b = new TokenBuckets(
    () => 3,
    () => now,
    2,
  );
  expect([b.take("p"), b.take("p"), b.take("p"), b.take("p")]).toEqual([true, true, true, false]);
  expect(b.take("q")).toBe(true);
  now += 334;
  expect(b.take("p")).toBe(true);
  expect(b.take("p")).toBe(false);
  b.take("r"); // evicts the least recently used key ("q")
  expect([b.take("q"), b.take("q"), b.take("q"), b.take("q")]).toEqual([true, true, true, false]);
});

test("TokenBuckets: a clock that went back takes no tokens (before: an hour back refused the peer for an hour)", () => {
  let now = 10_000_000;
  const b = new TokenBuckets(
    () => 2,
    () => now,
  );
  expect([b.take("p"), b.take("p"), b.take("p")]).toEqual([true, true, false]);
  now -= 3_600_000; // the wall clock stepped back by NTP
  expect(b.take("p")).toBe(false); // nothing earned across the step
  now += 500;
  expect(b.take("p")).toBe(true); // half a second after it: one token earned, none taken for the step
  now += 500;
  expect(b.take("p")).toBe(true);
});

test("builders produce schema-valid bodies and refuse invalid ones", () => {
  const me = { n32Fqdn: FQDN_A, plmnIds: [PLMN_A], n32fPorts: [8443, 9443] };
  const bodies: [Parameters<typeof validateBody>[0], unknown][] = [
    [
      "SecNegotiateReqData",
      msg.secNegotiateReq(me, { capabilities: ["PRINS", "TLS"], targetPlmnId: PLMN_B, purposes: ["ROAMING"] }),
    ],
    ["SecNegotiateReqData", msg.secNegotiateNoneReq(me)],
    [
      "SecNegotiateRspData",
      msg.secNegotiateRsp(me, { selected: "PRINS", allowed: ["ROAMING"], rejected: ["SMS_INTERCONNECT"] }),
    ],
    [
      "SecParamExchReqData",
      msg.secParamExchReq({
        n32fContextId: "0011223344556677",
        sender: FQDN_A,
        jweCipherSuites: ["A256GCM"],
        policy: POLICY_A,
      }),
    ],
    [
      "SecParamExchRspData",
      msg.secParamExchRsp({ n32fContextId: "0011223344556677", jweSuite: "A256GCM", policy: POLICY_B }),
    ],
    ["N32fContextInfo", msg.n32fContextInfo("0011223344556677")],
    [
      "N32fErrorInfo",
      msg.n32fErrorInfo({
        type: "POLICY_MISMATCH",
        receiverContextId: "0011223344556677",
        policyMismatchList: [{ param: "/x" }],
      }),
    ],
  ];
  for (const [schema, body] of bodies) expect(validateBody(schema, body)).toBeNull();
  expect(bodies[0]![1]).toMatchObject({
    supportedFeatures: "1",
    senderN32fPort: 8443,
    "3GppSbiTargetApiRootSupported": true,
  });
  expect(bodies[2]![1]).toMatchObject({ senderN32fFqdn: FQDN_A, senderN32fPortList: [8443, 9443] });
  expect(() => msg.n32fContextInfo("xyz")).toThrow(msg.InvalidOwnBodyError);
  expect(() =>
    msg.secNegotiateReq({ ...me, n32Fqdn: "not a fqdn" }, { capabilities: ["PRINS"], purposes: [] }),
  ).toThrow(msg.InvalidOwnBodyError);
});
