// P6 announcement of the RI-relevant parameters over N32-f (TS 33.501 13.2.2.2 step 7, N32-PROFILE P6/P10):
// built by one SEPP, protected with a real PRINS context (empty plaintext), opened and checked by the other, both
// directions; every difference from what N32-c agreed is a POLICY_MISMATCH with a policyMismatchList.
import { beforeAll, describe, expect, test } from "bun:test";
import type { DataToIntegrityProtectBlock, IpxProviderSecInfo, ProtectionPolicy } from "../../src/model/n32.ts";
import { validateBody, validateReceivedBlock } from "../../src/openapi/validate.ts";
import {
  buildRiAnnouncementRequest,
  buildRiAnnouncementResponse,
  checkRiAnnouncementRequest,
  checkRiAnnouncementResponse,
  expectedPeerRiParams,
  isRiAnnouncementRequest,
  localRiParams,
  modificationPolicyPart,
  RiAnnouncementMismatch,
  RI_ANNOUNCE_PATH,
} from "../../src/n32f/announce.ts";
import { createN32fContext, type N32fAssociation, type N32fContext } from "../../src/n32f/context.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { openJwe, parseCipherBlock, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { createRootCa } from "../../src/pki/devpki.ts";
import { sideParams } from "../support/contexts.ts";
import { TestRi } from "../support/ri.ts";

const INI_ID = "9f3c2a7b01d4e6a8";
const RSP_ID = "51b0c7e2aa93f410";
const INI_FQDN = "sepp.5gc.mnc001.mcc262.3gppnetwork.org";
const RSP_FQDN = "sepp.5gc.mnc015.mcc234.3gppnetwork.org";
const CRI = "ipx1.example.ipxnetwork.org";
const PRI = "hub2.example-hub.ipxnetwork.org";
const enc = new TextEncoder();
const master = new Uint8Array(64).map((_, i) => (i * 13 + 1) & 0xff);

const iniPolicy: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
      apiMethod: "PUT",
      IeList: [
        { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "ueId" },
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/deregCallbackUri", isModifiable: true },
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/guami", isModifiableByIpx: { [CRI]: true } },
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/ratType", isModifiable: false },
      ],
    },
    {
      apiSignature: "/nausf-auth/v1/ue-authentications",
      apiMethod: "POST",
      IeList: [{ ieLoc: "BODY", ieType: "UEID", reqIe: "/supiOrSuci" }],
    },
  ],
  dataTypeEncPolicy: ["UEID", "LOCATION"],
};
const rspPolicy: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: { callbackType: "Nudm_UECM_DeregistrationNotification" },
      apiMethod: "POST",
      IeList: [{ ieLoc: "HEADER", ieType: "OTHER", reqIe: "user-agent", isModifiable: true }],
    },
  ],
};

let cri: IpxProviderSecInfo;
let pri: IpxProviderSecInfo;

function association(own: "ini" | "rsp", over: Partial<N32fAssociation> = {}): N32fAssociation {
  const ini = own === "ini";
  return {
    peerFqdn: ini ? RSP_FQDN : INI_FQDN,
    remotePlmnIds: [ini ? { mcc: "234", mnc: "15" } : { mcc: "262", mnc: "01" }],
    jwsSuite: "ES256",
    localPolicy: ini ? iniPolicy : rspPolicy,
    peerPolicy: ini ? rspPolicy : iniPolicy,
    ownRis: ini ? [cri] : [pri],
    peerRis: ini ? [pri] : [cri],
    authorizedIpxId: ini ? CRI : PRI,
    ...over,
  };
}
function pair(
  rspOver: Partial<N32fAssociation> = {},
  iniOver: Partial<N32fAssociation> = {},
): { ini: N32fContext; rsp: N32fContext } {
  const o = { initiatorId: INI_ID, responderId: RSP_ID, master, enc: "A128GCM" } as const;
  return {
    ini: createN32fContext(sideParams("initiator", o, { peerId: "home", association: association("ini", iniOver) })),
    rsp: createN32fContext(sideParams("responder", o, { peerId: "visited", association: association("rsp", rspOver) })),
  };
}

const EMPTY = new Uint8Array(0);
const MESSAGE_ID = "00112233aabbccdd";

/** Initiator → responder: the announcement over a real JWE with an empty plaintext; returns the block the responder reads. */
function announce(
  ini: N32fContext,
  rsp: N32fContext,
  mutate?: (b: DataToIntegrityProtectBlock) => void,
): DataToIntegrityProtectBlock {
  const block = buildRiAnnouncementRequest({
    metaData: { n32fContextId: ini.peerContextId, messageId: MESSAGE_ID, authorizedIpxId: "NULL" },
    responderN32Fqdn: RSP_FQDN,
    params: localRiParams(ini),
  });
  mutate?.(block);
  const jwe = protectJwe(ini, "request", enc.encode(JSON.stringify(block)), EMPTY);
  expect(jwe.ciphertext).toBe(""); // nothing encrypted (P6)
  const parsed = parseJwe(jwe);
  const { plaintext } = openJwe(rsp, "request", parsed);
  expect(parseCipherBlock(plaintext)).toEqual([]);
  return JSON.parse(new TextDecoder().decode(parsed.aad));
}

function answer(
  rsp: N32fContext,
  ini: N32fContext,
  mutate?: (b: DataToIntegrityProtectBlock) => void,
): DataToIntegrityProtectBlock {
  const block = buildRiAnnouncementResponse({
    metaData: { n32fContextId: rsp.peerContextId, messageId: MESSAGE_ID, authorizedIpxId: "NULL" },
    params: localRiParams(rsp),
  });
  mutate?.(block);
  const parsed = parseJwe(protectJwe(rsp, "response", enc.encode(JSON.stringify(block)), EMPTY));
  openJwe(ini, "response", parsed);
  return JSON.parse(new TextDecoder().decode(parsed.aad));
}

function mismatch(fn: () => void): RiAnnouncementMismatch {
  try {
    fn();
  } catch (e) {
    if (e instanceof RiAnnouncementMismatch) return e;
    throw e;
  }
  throw new Error("expected POLICY_MISMATCH");
}

beforeAll(async () => {
  const root = await createRootCa({ name: "RI root" });
  cri = (await TestRi.create(root, CRI)).secInfo();
  pri = (await TestRi.create(root, PRI)).secInfo();
});

describe("P6 announcement", () => {
  test("initiator → responder → initiator: built, protected, opened and checked both directions", () => {
    const { ini, rsp } = pair();
    const req = announce(ini, rsp);
    expect(isRiAnnouncementRequest(req)).toBe(true);
    expect(req.requestLine).toEqual({
      method: "POST",
      scheme: "https",
      authority: RSP_FQDN,
      path: RI_ANNOUNCE_PATH,
      protocolVersion: "HTTP/2",
    });
    expect(req.headers).toEqual([{ header: "content-type", value: "application/json" }]);
    expect(req.payload!.map((p) => p.iePath)).toEqual([
      "/n32fContextId",
      "/selectedJweCipherSuite",
      "/selectedJwsCipherSuite",
      "/protectionPolicyInfo",
      "/ipxProviderSecInfoList",
    ]);
    expect(req.payload!.every((p) => p.ieValueLocation === "BODY")).toBe(true);
    expect(req.payload![0]!.value).toBe(INI_ID); // the initiator's own context ID
    expect(validateReceivedBlock("DataToIntegrityProtectBlock", req)).toBeNull();
    checkRiAnnouncementRequest(req, { ownN32Fqdn: RSP_FQDN, params: expectedPeerRiParams(rsp) });

    const rspBlock = answer(rsp, ini);
    expect(rspBlock.statusLine).toBe("200");
    expect(rspBlock.payload!.map((p) => p.iePath)).toEqual([
      "/n32fContextId",
      "/selectedJweCipherSuite",
      "/selectedJwsCipherSuite",
      "/selProtectionPolicyInfo",
      "/ipxProviderSecInfoList",
    ]);
    expect(rspBlock.payload![0]!.value).toBe(RSP_ID);
    expect(validateReceivedBlock("DataToIntegrityProtectBlock", rspBlock)).toBeNull();
    checkRiAnnouncementResponse(rspBlock, { params: expectedPeerRiParams(ini), requestMessageId: MESSAGE_ID });
  });

  test("the modification-policy part: only modifiable IEs, no dataTypeEncPolicy, omitted when empty", () => {
    expect(modificationPolicyPart(iniPolicy)).toEqual({
      apiIeMappingList: [
        {
          apiSignature: "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
          apiMethod: "PUT",
          IeList: [
            { ieLoc: "BODY", ieType: "OTHER", reqIe: "/deregCallbackUri", isModifiable: true },
            { ieLoc: "BODY", ieType: "OTHER", reqIe: "/guami", isModifiableByIpx: { [CRI]: true } },
          ],
        },
      ],
    });
    expect(validateBody("ProtectionPolicy", modificationPolicyPart(iniPolicy))).toBeNull();
    expect(modificationPolicyPart({ apiIeMappingList: [iniPolicy.apiIeMappingList[1]!] })).toBeUndefined();
    // no policy and no RIs: those members are left out, and the check still passes on both sides
    const { ini, rsp } = pair({ peerPolicy: undefined, peerRis: [] }, { localPolicy: undefined, ownRis: [] });
    const req = announce(ini, rsp);
    expect(req.payload!.map((p) => p.iePath)).toEqual([
      "/n32fContextId",
      "/selectedJweCipherSuite",
      "/selectedJwsCipherSuite",
    ]);
    checkRiAnnouncementRequest(req, { ownN32Fqdn: RSP_FQDN, params: expectedPeerRiParams(rsp) });
  });

  test("order of mappings, IEs, RI entries and FQDN case do not matter", () => {
    const { ini, rsp } = pair();
    const req = announce(ini, rsp, (b) => {
      const pol = b.payload![3]!.value as ProtectionPolicy;
      pol.apiIeMappingList[0]!.IeList.reverse();
      b.payload![4]!.value = [{ ...cri, ipxProviderId: CRI.toUpperCase() }];
      b.requestLine!.authority = RSP_FQDN.toUpperCase();
    });
    checkRiAnnouncementRequest(req, { ownN32Fqdn: RSP_FQDN, params: expectedPeerRiParams(rsp) });
  });
});

describe("POLICY_MISMATCH", () => {
  test("responder: announced modification policy differs from the one received on N32-c", () => {
    // what the responder holds as the initiator's policy says /ratType is modifiable too
    const other: ProtectionPolicy = structuredClone(iniPolicy);
    other.apiIeMappingList[0]!.IeList[3]!.isModifiable = true;
    const { ini, rsp } = pair({ peerPolicy: other });
    const e = mismatch(() =>
      checkRiAnnouncementRequest(announce(ini, rsp), { ownN32Fqdn: RSP_FQDN, params: expectedPeerRiParams(rsp) }),
    );
    expect(e).toBeInstanceOf(N32fError);
    expect(e.errorType).toBe("POLICY_MISMATCH");
    expect(e.policyMismatchList).toEqual([
      { param: "/protectionPolicyInfo", reason: "modification policy differs from N32-c" },
    ]);
    const info = e.toN32fErrorInfo(INI_ID);
    expect(info).toMatchObject({
      n32fMessageId: MESSAGE_ID,
      n32fErrorType: "POLICY_MISMATCH",
      n32fContextId: INI_ID,
      policyMismatchList: e.policyMismatchList,
    });
    expect(validateBody("N32fErrorInfo", info)).toBeNull();
    const pd = e.toProblem();
    expect(pd).toMatchObject({ status: 403, cause: "POLICY_MISMATCH", invalidParams: e.policyMismatchList });
    expect(validateBody("ProblemDetailsMsgForwarding", pd)).toBeNull();
  });

  test("responder: RI list, cipher suites, context ID, request line: every difference is listed", () => {
    const { ini, rsp } = pair();
    const req = announce(ini, rsp, (b) => {
      b.payload![0]!.value = "0000000000000001";
      b.payload![1]!.value = "A256GCM";
      b.payload![2]!.value = "ES384";
      b.payload![4]!.value = [cri, pri];
      b.requestLine!.authority = "sepp.5gc.mnc099.mcc234.3gppnetwork.org";
      b.headers = [{ header: "content-type", value: "text/plain" }];
    });
    const e = mismatch(() =>
      checkRiAnnouncementRequest(req, { ownN32Fqdn: RSP_FQDN, params: expectedPeerRiParams(rsp) }),
    );
    expect(e.policyMismatchList.map((p) => p.param).sort()).toEqual(
      [
        "/requestLine/authority",
        "/headers",
        "/n32fContextId",
        "/selectedJweCipherSuite",
        "/selectedJwsCipherSuite",
        "/ipxProviderSecInfoList",
      ].sort(),
    );
  });

  test("responder: a missing member, an invalid value, an encrypted value, a repeated member", () => {
    const { ini, rsp } = pair();
    const exp = { ownN32Fqdn: RSP_FQDN, params: expectedPeerRiParams(rsp) };
    const missing = mismatch(() =>
      checkRiAnnouncementRequest(
        announce(ini, rsp, (b) => void b.payload!.splice(4, 1)),
        exp,
      ),
    );
    expect(missing.policyMismatchList).toEqual([
      { param: "/ipxProviderSecInfoList", reason: "RI security information differs from N32-c" },
    ]);
    const invalid = mismatch(() =>
      checkRiAnnouncementRequest(
        announce(ini, rsp, (b) => {
          b.payload![3]!.value = { apiIeMappingList: "x" };
        }),
        exp,
      ),
    );
    expect(invalid.policyMismatchList).toEqual([
      { param: "/protectionPolicyInfo", reason: "not a valid ProtectionPolicy" },
    ]);
    const encd = mismatch(() =>
      checkRiAnnouncementRequest(
        announce(ini, rsp, (b) => {
          b.payload![0]!.value = { encBlockIndex: 0 };
        }),
        exp,
      ),
    );
    expect(encd.policyMismatchList.map((p) => p.param)).toEqual(["/payload/0/value", "/n32fContextId"]);
    const twice = mismatch(() =>
      checkRiAnnouncementRequest(
        announce(ini, rsp, (b) => void b.payload!.push({ ...b.payload![1]!, value: "A128GCM" })),
        exp,
      ),
    );
    expect(twice.policyMismatchList).toEqual([{ param: "/payload/5", reason: "/selectedJweCipherSuite repeated" }]);
  });

  test("initiator: the responder's answer differs (policy, RIs, status, messageId)", () => {
    const { ini, rsp } = pair({}, { peerRis: [], peerPolicy: iniPolicy });
    const block = answer(rsp, ini);
    const e = mismatch(() =>
      checkRiAnnouncementResponse(block, { params: expectedPeerRiParams(ini), requestMessageId: MESSAGE_ID }),
    );
    expect(e.policyMismatchList.map((p) => p.param)).toEqual(["/selProtectionPolicyInfo", "/ipxProviderSecInfoList"]);
    const { ini: i2, rsp: r2 } = pair();
    const bad = answer(r2, i2, (b) => {
      b.statusLine = "403";
      b.metaData!.messageId = "ffffffffffffffff";
    });
    const e2 = mismatch(() =>
      checkRiAnnouncementResponse(bad, { params: expectedPeerRiParams(i2), requestMessageId: MESSAGE_ID }),
    );
    expect(e2.policyMismatchList.map((p) => p.param)).toEqual(["/statusLine", "/metaData/messageId"]);
  });

  test("an ordinary NF request is not the announcement", () => {
    expect(
      isRiAnnouncementRequest({
        requestLine: {
          method: "POST",
          scheme: "https",
          authority: RSP_FQDN,
          path: "/nausf-auth/v1/ue-authentications",
          protocolVersion: "HTTP/2",
        },
      }),
    ).toBe(false);
    expect(isRiAnnouncementRequest({ statusLine: "200" })).toBe(false);
  });
});
