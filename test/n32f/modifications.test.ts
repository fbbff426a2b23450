// Roaming Intermediary modifications (TS 33.501 13.2.4.5–13.2.4.9, N32-PROFILE P5/P10): a test-side RI
// (test/support/ri.ts, signing with jose) modifies real PRINS messages (createN32fContext + protectJwe), the
// receiving SEPP opens the JWE and verifies the modificationsBlock with the RI keys of its association.
// SCAS TS 33.517 4.2.2.2, 4.2.2.3, 4.2.2.7 and 4.2.2.8 appear as named tests.
import { beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { importPKCS8 } from "jose";
import type {
  DataToIntegrityProtectBlock,
  IpxProviderSecInfo,
  N32fReformattedReqMsg,
  ProtectionPolicy,
} from "../../src/model/n32.ts";
import { createN32fContext, type N32fAssociation, type N32fContext } from "../../src/n32f/context.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { openJwe, parseCipherBlock, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { modificationRulesResolver, verifyModifications } from "../../src/n32f/modifications.ts";
import { readRhError, verifyRhError } from "../../src/n32f/rh-error.ts";
import { buildEffectivePolicy } from "../../src/n32f/policy.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { prepareRiKeys, RiKeyError, type RiKeySet } from "../../src/n32f/ri-keys.ts";
import { createRootCa, type DevCa, issueSeppCert, pemToBase64Der } from "../../src/pki/devpki.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { sideParams } from "../support/contexts.ts";
import { currentBlock, TestRi } from "../support/ri.ts";

const INITIATOR_ID = "9f3c2a7b01d4e6a8"; // the peer (sender) is the N32-c initiator here
const RESPONDER_ID = "51b0c7e2aa93f410"; // we (receiver) are the responder
const CRI = "ipx1.example.ipxnetwork.org"; // the peer's RI: first hop, authorizedIpxId
const PRI = "hub2.example-hub.ipxnetwork.org"; // our RI: second hop
const PATH = "/nudm-uecm/v1/{encBlockIndex:0}/registrations/amf-3gpp-access";
const TEMPLATE = "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access";
const enc = new TextEncoder();

// the peer's modification policy (received on N32-c) governs its RI; our local policy governs ours (P10)
const peerPolicy: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: TEMPLATE,
      apiMethod: "PUT",
      IeList: [
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/deregCallbackUri", isModifiable: true },
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/guami", isModifiableByIpx: { [CRI]: true, [PRI]: false } },
        { ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/guami/plmnId", isModifiable: false },
        { ieLoc: "BODY", ieType: "UEID", reqIe: "/pei", isModifiable: true }, // encrypted AND modifiable: the 4.2.2.8 guard still holds
        { ieLoc: "HEADER", ieType: "OTHER", reqIe: "user-agent", isModifiable: true },
        { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "ueId", isModifiable: false },
      ],
    },
  ],
};
const localPolicy: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: TEMPLATE,
      apiMethod: "PUT",
      IeList: [
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/ratType", isModifiable: true },
        { ieLoc: "HEADER", ieType: "OTHER", reqIe: "user-agent", isModifiable: true },
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/deregCallbackUri", isModifiableByIpx: { [PRI]: false } },
      ],
    },
  ],
};
const EMPTY: ProtectionPolicy = { apiIeMappingList: [] };
const peerEff = buildEffectivePolicy({ defaults: EMPTY, peer: peerPolicy });
const localEff = buildEffectivePolicy({ defaults: EMPTY, local: localPolicy });
const policyRules = modificationRulesResolver({ peer: peerEff, local: localEff }, "request", "PUT", PATH);

const SUPI = "imsi-262010000000001";
const TOKEN = "Bearer eyJhbGciOiJFUzI1NiJ9.secret.sig";
const PEI = "imeisv-4370816125816151";
const dataToEncrypt = [SUPI, TOKEN, PEI];

function requestBlock(authorizedIpxId: string = CRI): DataToIntegrityProtectBlock {
  return {
    metaData: { n32fContextId: RESPONDER_ID, messageId: "0123456789abcdef", authorizedIpxId },
    requestLine: {
      method: "PUT",
      scheme: "https",
      authority: "udm.5gc.mnc015.mcc234.3gppnetwork.org",
      path: PATH,
      protocolVersion: "HTTP/2",
    },
    headers: [
      { header: "content-type", value: "application/json" },
      { header: "3gpp-sbi-originating-network-id", value: "262-01; src: SEPP-sepp.5gc.mnc001.mcc262.3gppnetwork.org" },
      { header: "authorization", value: { encBlockIndex: 1 } },
      { header: "user-agent", value: "AMF-amf1.5gc.mnc001.mcc262" },
    ],
    payload: [
      { iePath: "/amfInstanceId", ieValueLocation: "BODY", value: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9" },
      {
        iePath: "/deregCallbackUri",
        ieValueLocation: "BODY",
        value: "https://amf1.5gc.mnc001.mcc262.3gppnetwork.org/dereg",
      },
      { iePath: "/guami", ieValueLocation: "BODY", value: { plmnId: { mcc: "262", mnc: "01" }, amfId: "cafe00" } },
      { iePath: "/ratType", ieValueLocation: "BODY", value: "NR" },
      { iePath: "/pei", ieValueLocation: "BODY", value: { encBlockIndex: 2 } },
    ],
  };
}

let riRoot: DevCa;
let n32Root: DevCa;
let trust: TrustStore;
let cri: TestRi;
let pri: TestRi;
let criOther: TestRi; // same ipxProviderId, learned on ANOTHER association
let hubOther: TestRi; // an RI known only on another association
let peerSeppKey: CryptoKey;
let peerSeppCertB64: string;
let riKeys: RiKeySet; // association A (ours with the peer)
let riKeysB: RiKeySet; // association B (a parallel one)

const master = new Uint8Array(64).map((_, i) => (i * 7 + 3) & 0xff);
const association = (ownRis: IpxProviderSecInfo[], peerRis: IpxProviderSecInfo[]): N32fAssociation => ({
  peerFqdn: "sepp.5gc.mnc001.mcc262.3gppnetwork.org",
  remotePlmnIds: [{ mcc: "262", mnc: "01" }],
  jwsSuite: "ES256",
  localPolicy,
  peerPolicy,
  ownRis,
  peerRis,
  authorizedIpxId: null,
});
function contexts(): { sender: N32fContext; receiver: N32fContext } {
  const o = { initiatorId: INITIATOR_ID, responderId: RESPONDER_ID, master };
  const senderAssociation = association([cri.secInfo()], [pri.secInfo()]);
  const receiverAssociation = association([pri.secInfo()], [cri.secInfo()]);
  const sender = createN32fContext(sideParams("initiator", o, { peerId: "visited", association: senderAssociation }));
  const receiver = createN32fContext(sideParams("responder", o, { peerId: "home", association: receiverAssociation }));
  return { sender, receiver };
}

/** The sending SEPP: a real PRINS request (JWE over the block, the three sensitive values encrypted). */
function send(sender: N32fContext, block = requestBlock()): N32fReformattedReqMsg {
  const jwe = protectJwe(
    sender,
    "request",
    enc.encode(JSON.stringify(block)),
    enc.encode(JSON.stringify({ dataToEncrypt })),
  );
  return { reformattedData: jwe };
}

/** The receiving SEPP: JWE first (P5 order), then the modifications with THIS association's RI keys. */
function receive(receiver: N32fContext, msg: N32fReformattedReqMsg, keys: RiKeySet = riKeys, now?: number) {
  const parsed = parseJwe(msg.reformattedData);
  const { plaintext } = openJwe(receiver, "request", parsed);
  const block = JSON.parse(new TextDecoder().decode(parsed.aad)) as DataToIntegrityProtectBlock;
  const snapshot = structuredClone(block);
  try {
    const patched = verifyModifications({
      block,
      jweTag: msg.reformattedData.tag!,
      modificationsBlock: msg.modificationsBlock,
      riKeys: keys,
      policyRules,
      authorizedIpxId: block.metaData?.authorizedIpxId,
      now,
    });
    return { patched, block, dataToEncrypt: parseCipherBlock(plaintext) };
  } finally {
    expect(block).toEqual(snapshot); // never mutated, also not on failure
  }
}

function failure(fn: () => unknown): N32fError {
  try {
    fn();
  } catch (e) {
    if (e instanceof N32fError) return e;
    throw e;
  }
  throw new Error("expected an N32fError");
}

/** One fresh message through `ris` modifications, expected to fail. */
async function rejected(
  build: (msg: N32fReformattedReqMsg) => Promise<N32fReformattedReqMsg>,
  keys: RiKeySet = riKeys,
) {
  const { sender, receiver } = contexts();
  const msg = await build(send(sender));
  return failure(() => receive(receiver, msg, keys));
}

beforeAll(async () => {
  riRoot = await createRootCa({ name: "RI root" });
  n32Root = await createRootCa({ name: "PLMN 262-01 root" });
  trust = new TrustStore(
    [{ name: "plmn-262-01", plmnIds: [{ mcc: "262", mnc: "01" }], roots: [new X509Certificate(n32Root.certPem)] }],
    [new X509Certificate(riRoot.certPem)],
  );
  [cri, pri, criOther, hubOther] = await Promise.all([
    TestRi.create(riRoot, CRI),
    TestRi.create(riRoot, PRI),
    TestRi.create(riRoot, CRI),
    TestRi.create(riRoot, "hub9.other-hub.ipxnetwork.org"),
  ]);
  const sepp = await issueSeppCert(n32Root, { dnsNames: ["sepp.5gc.mnc001.mcc262.3gppnetwork.org"] });
  peerSeppKey = (await importPKCS8(sepp.keyPem, "ES256")) as CryptoKey;
  peerSeppCertB64 = pemToBase64Der(sepp.certPem);
  riKeys = prepareRiKeys({ ownRis: [pri.secInfo()], peerRis: [cri.secInfo()], trust });
  riKeysB = prepareRiKeys({ ownRis: [hubOther.secInfo()], peerRis: [criOther.secInfo()], trust });
});

describe("accepted modifications", () => {
  test("jose signs an ES256 modification by the cRI of an allowed IE; we verify and apply it", async () => {
    const { sender, receiver } = contexts();
    const msg = await cri.modify(send(sender), (b) => {
      b.payload![1]!.value = "https://amf7.5gc.mnc001.mcc262.3gppnetwork.org/dereg";
    });
    expect(JSON.parse(Buffer.from(msg.modificationsBlock![0]!.protected!, "base64url").toString())).toEqual({
      alg: "ES256",
    });
    const { patched, dataToEncrypt: d } = receive(receiver, msg);
    const expected = requestBlock();
    expected.payload![1]!.value = "https://amf7.5gc.mnc001.mcc262.3gppnetwork.org/dereg";
    expect(patched).toEqual(expected);
    // the whole receive path: the reconstructed request carries the modified IE and the decrypted ones
    const http = reconstruct(patched, d, { expect: "request" });
    const body = JSON.parse(new TextDecoder().decode(http.body));
    expect(body.deregCallbackUri).toBe("https://amf7.5gc.mnc001.mcc262.3gppnetwork.org/dereg");
    expect(body.pei).toBe(PEI);
    expect(http.path).toBe(`/nudm-uecm/v1/${SUPI}/registrations/amf-3gpp-access`);
  });

  test("two RIs chained: cRI (peer policy, isModifiableByIpx) then pRI (local policy) patching its result", async () => {
    const { sender, receiver } = contexts();
    let msg = await cri.modify(send(sender), (b) => {
      (b.payload![2]!.value as { amfId: string }).amfId = "beef01";
      b.headers![3]!.value = "AMF-rewritten-by-cri";
    });
    msg = await pri.modify(msg, (b) => {
      expect(b.headers![3]!.value).toBe("AMF-rewritten-by-cri"); // the pRI sees the cRI's result
      b.payload![3]!.value = "EUTRA";
      b.headers![3]!.value = "AMF-rewritten-by-pri";
    });
    expect(msg.modificationsBlock).toHaveLength(2);
    const { patched } = receive(receiver, msg);
    const expected = requestBlock();
    (expected.payload![2]!.value as { amfId: string }).amfId = "beef01";
    expected.payload![3]!.value = "EUTRA";
    expected.headers![3]!.value = "AMF-rewritten-by-pri";
    expect(patched).toEqual(expected);
    expect(patched).toEqual(currentBlock(msg) as DataToIntegrityProtectBlock); // same result as the RIs computed
  });

  test("explicit ops: remove a modifiable header, add a payload entry for a modifiable IE, move within a modifiable IE, test", async () => {
    const { sender, receiver } = contexts();
    const msg = await cri.modify(send(sender), [
      { op: "test", path: "/payload/3/value", value: "NR" },
      { op: "remove", path: "/headers/3" },
      { op: "add", path: "/payload/-", value: { iePath: "/guami/amfSetId", ieValueLocation: "BODY", value: "3f8" } },
      { op: "move", from: "/payload/2/value/amfId", path: "/payload/2/value/amfIdOld" },
    ]);
    const { patched } = receive(receiver, msg);
    expect(patched.headers!.map((h) => h.header)).toEqual([
      "content-type",
      "3gpp-sbi-originating-network-id",
      "authorization",
    ]);
    expect(patched.payload![5]).toEqual({ iePath: "/guami/amfSetId", ieValueLocation: "BODY", value: "3f8" });
    expect(patched.payload![2]!.value).toEqual({ plmnId: { mcc: "262", mnc: "01" }, amfIdOld: "cafe00" });
  });

  test("a JWS without operations (RI saw the message, changed nothing) and no modificationsBlock at all", async () => {
    const { sender, receiver } = contexts();
    const plain = send(sender);
    expect(receive(receiver, plain).patched).toEqual(requestBlock());
    const msg = await cri.modify(send(sender), null);
    expect(receive(receiver, msg).patched).toEqual(requestBlock());
  });

  test("an RI known by a raw public key (rawPublicKeyList, base64 DER SPKI)", async () => {
    const spki = Buffer.from(
      new X509Certificate(cri.cert.certPem).publicKey.export({ format: "der", type: "spki" }),
    ).toString("base64");
    const keys = prepareRiKeys({ ownRis: [], peerRis: [{ ipxProviderId: CRI, rawPublicKeyList: [spki] }], trust });
    const { sender, receiver } = contexts();
    const msg = await cri.modify(send(sender), [{ op: "replace", path: "/headers/3/value", value: "x" }]);
    expect(receive(receiver, msg, keys).patched.headers![3]!.value).toBe("x");
  });
});

describe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED", () => {
  test("TS 33.517 4.2.2.7 JWS profile restriction: HS256, ES384 and none are discarded", async () => {
    const hs = await rejected((m) =>
      cri.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }], {
        alg: "HS256",
        key: new Uint8Array(32).fill(7),
      }),
    );
    expect(hs.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(hs.failedModificationList).toEqual([
      { ipxId: CRI, n32fErrorType: "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED" },
    ]);
    expect(hs.message).toContain("not ES256");
    const p384 = await TestRi.create(riRoot, CRI, { curve: "P-384" });
    const es384 = await rejected((m) =>
      p384.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }], { alg: "ES384" }),
    );
    expect(es384.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(es384.message).toContain("not ES256");
    const none = await rejected((m) =>
      cri.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }], { alg: "none", rawSignature: "" }),
    );
    expect(none.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(none.messageId).toBe("0123456789abcdef");
    // alg ES256 smuggled in the unprotected header only, and crit
    const unprot = await rejected(async (m) => {
      const out = await cri.modify(m, null);
      const { protected: _p, ...rest } = out.modificationsBlock![0]!;
      return { ...out, modificationsBlock: [{ ...rest, header: { alg: "ES256" } }] };
    });
    expect(unprot.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    const crit = await rejected((m) =>
      cri.modify(m, null, { protectedHeader: { alg: "ES256", crit: ["b64"], b64: true } }),
    );
    expect(crit.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
  });

  test("TS 33.517 4.2.2.2 a patch signed with the peer SEPP's key is discarded", async () => {
    const e = await rejected((m) =>
      cri.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }], { key: peerSeppKey }),
    );
    expect(e.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e.message).toContain("signature does not verify");
  });

  test("TS 33.517 4.2.2.2 a peer SEPP certificate is never an RI key, an RI certificate never an N32-c certificate", () => {
    // a SEPP certificate offered as RI certificate: not under the RI trust store
    expect(() =>
      prepareRiKeys({ ownRis: [], peerRis: [{ ipxProviderId: CRI, certificateList: [peerSeppCertB64] }], trust }),
    ).toThrow(RiKeyError);
    // an RI certificate offered for N32-c TLS: RI roots are not N32 roots (src/pki/trust.ts)
    const r = trust.verifyN32Chain([new X509Certificate(cri.cert.certPem)]);
    expect(r.ok).toBe(false);
    expect(trust.tlsCaPem()).not.toContain(new X509Certificate(riRoot.certPem).toString());
  });

  test("TS 33.517 4.2.2.3 a key learned on another N32 association is refused", async () => {
    // the same RI identity, its key from the parallel association B
    const e = await rejected((m) => criOther.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }]));
    expect(e.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e.message).toContain("signature does not verify");
    // and the other way round: our cRI's key is not valid on association B
    const e2 = await rejected((m) => cri.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }]), riKeysB);
    expect(e2.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    // an RI that only association B knows is an unknown identity here
    const e3 = await rejected(async (m) => {
      const first = await cri.modify(m, null);
      return hubOther.modify(first, [{ op: "replace", path: "/headers/3/value", value: "x" }]);
    });
    expect(e3.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e3.message).toContain("not an RI of this N32 association");
    expect(e3.failedModificationList).toEqual([
      { ipxId: "hub9.other-hub.ipxnetwork.org", n32fErrorType: "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED" },
    ]);
  });

  test("wrong tag (Modifications bound to another JWE) and missing tag", async () => {
    const e = await rejected((m) =>
      cri.modify(m, null, { payload: { tag: Buffer.alloc(16, 1).toString("base64url") } }),
    );
    expect(e.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e.message).toContain("tag");
    const e2 = await rejected((m) => cri.modify(m, null, { payload: { tag: undefined } }));
    expect(e2.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    // a JWS replayed from an earlier message onto a new one
    const { sender, receiver } = contexts();
    const old = await cri.modify(send(sender), [{ op: "replace", path: "/headers/3/value", value: "x" }]);
    const fresh = send(sender);
    const e3 = failure(() => receive(receiver, { ...fresh, modificationsBlock: old.modificationsBlock }));
    expect(e3.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
  });

  test("first identity ≠ authorizedIpxId, and any JWS while authorizedIpxId is NULL", async () => {
    const e = await rejected((m) => pri.modify(m, [{ op: "replace", path: "/payload/3/value", value: "EUTRA" }]));
    expect(e.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e.message).toContain("authorizedIpxId");
    expect(e.failedModificationList?.[0]?.ipxId).toBe(PRI);
    for (const none of ["NULL", "null", ""]) {
      const { sender, receiver } = contexts();
      const msg = await cri.modify(send(sender, requestBlock(none)), null);
      const e2 = failure(() => receive(receiver, msg));
      expect(e2.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
      expect(e2.message).toContain("NULL");
    }
  });

  test("signature bit flip, and a payload changed after signing", async () => {
    const e = await rejected(async (m) => {
      const out = await cri.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }]);
      const jws = out.modificationsBlock![0]!;
      const sig = Buffer.from(jws.signature, "base64url");
      sig[17]! ^= 0x01;
      return { ...out, modificationsBlock: [{ ...jws, signature: sig.toString("base64url") }] };
    });
    expect(e.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e.message).toContain("signature does not verify");
    const e2 = await rejected(async (m) => {
      const out = await cri.modify(m, [{ op: "replace", path: "/headers/3/value", value: "x" }]);
      const jws = out.modificationsBlock![0]!;
      const p = JSON.parse(Buffer.from(jws.payload, "base64url").toString());
      p.operations[0].value = "y";
      return {
        ...out,
        modificationsBlock: [{ ...jws, payload: Buffer.from(JSON.stringify(p)).toString("base64url") }],
      };
    });
    expect(e2.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
  });

  test("unknown identity, unreadable JWS, invalid Modifications, expired RI certificate", async () => {
    const e = await rejected((m) => cri.modify(m, null, { payload: { identity: "ipx7.unknown.ipxnetwork.org" } }));
    expect(e.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e.message).toContain("not an RI of this N32 association");
    for (const bad of [42, { payload: "e30", signature: "!!" }, { protected: "e30", payload: "e30" }]) {
      const e2 = await rejected(async (m) => ({ ...m, modificationsBlock: [bad as never] }));
      expect(e2.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    }
    const e3 = await rejected((m) => cri.modify(m, null, { payload: { identity: "not a fqdn" } }));
    expect(e3.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    const e4 = await rejected((m) => cri.modify(m, null, { payload: { operations: "replace" as never } }));
    expect(e4.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(e4.message).toContain("not a valid Modifications");
    // certificate validity is re-checked at each use (P10 "valid now")
    const { sender, receiver } = contexts();
    const msg = await cri.modify(send(sender), null);
    const later = Date.now() + 400 * 86_400_000;
    expect(failure(() => receive(receiver, msg, riKeys, later)).errorType).toBe(
      "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
    );
  });
});

describe("MODIFICATIONS_INSTRUCTIONS_FAILED", () => {
  const mif = async (ops: unknown[], reason: RegExp, ri: () => TestRi = () => cri, first?: () => TestRi) => {
    const e = await rejected(async (m) => {
      const base = first ? await first().modify(m, null) : m;
      return ri().modify(base, ops as never);
    });
    expect(e.errorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    expect(e.failedModificationList?.[0]?.n32fErrorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    expect(e.message).toMatch(reason);
    return e;
  };

  test("TS 33.517 4.2.2.8 No misplacement of encrypted IEs: inserting an encBlockIndex reference", async () => {
    const e = await mif(
      [{ op: "replace", path: "/payload/1/value", value: { encBlockIndex: 2 } }],
      /encBlockIndex reference/,
    );
    expect(e.message).toContain("encBlockIndex");
    await mif(
      [
        {
          op: "add",
          path: "/payload/-",
          value: { iePath: "/guami/x", ieValueLocation: "BODY", value: { encBlockIndex: 0 } },
        },
      ],
      /encBlockIndex reference/,
    );
    await mif(
      [{ op: "add", path: "/payload/2/value/amfId", value: { nested: { encBlockIndex: 1 } } }],
      /encBlockIndex reference/,
    );
  });

  test("TS 33.517 4.2.2.8 No misplacement of encrypted IEs: moving or copying an encBlockIndex reference", async () => {
    // /pei is modifiable (encrypted though): moving its reference into a clear modifiable IE is still refused
    await mif([{ op: "move", from: "/payload/4/value", path: "/payload/1/value" }], /encBlockIndex reference/);
    await mif([{ op: "copy", from: "/payload/4/value", path: "/payload/2/value/amfId" }], /encBlockIndex reference/);
    await mif([{ op: "copy", from: "/headers/2/value", path: "/headers/3/value" }], /encBlockIndex reference/);
    // replacing the reference by a clear value (dropping the encrypted IE) is refused as well
    await mif(
      [{ op: "replace", path: "/payload/4/value", value: "imeisv-0000000000000000" }],
      /encBlockIndex reference/,
    );
  });

  test("patch touching a protected IE", async () => {
    await mif([{ op: "replace", path: "/payload/0/value", value: "x" }], /not modifiable/); // no rule: not modifiable
    await mif([{ op: "replace", path: "/payload/2/value/plmnId/mcc", value: "999" }], /not modifiable/); // isModifiable false below a modifiable IE
    await mif([{ op: "replace", path: "/payload/2/value", value: { amfId: "x" } }], /contains an IE not modifiable/); // would rewrite /guami/plmnId
    await mif(
      [{ op: "replace", path: "/payload/2/value/amfId", value: "x" }],
      /amfId is not modifiable by hub2/,
      () => pri,
      () => cri,
    ); // isModifiableByIpx[pRI] = false
    await mif(
      [{ op: "replace", path: "/payload/1/value", value: "https://x.example.org/" }],
      /deregCallbackUri is not modifiable by hub2/,
      () => pri,
      () => cri,
    ); // local policy: ByIpx false
    await mif([{ op: "replace", path: "/payload/3/value", value: "EUTRA" }], /not modifiable/); // /ratType only modifiable for our RI
    await mif([{ op: "replace", path: "/headers/0/value", value: "text/plain" }], /not modifiable/);
    await mif([{ op: "replace", path: "/requestLine/path", value: "/x" }], /may not be modified/);
    await mif([{ op: "replace", path: "/metaData/authorizedIpxId", value: PRI }], /may not be modified/);
    await mif([{ op: "replace", path: "/payload/1/iePath", value: "/amfInstanceId" }], /iePath, ieValueLocation never/);
    await mif([{ op: "replace", path: "/headers/3/header", value: "x-other" }], /header name is never modifiable/);
    await mif(
      [{ op: "replace", path: "/headers/3", value: { header: "x-other", value: "v" } }],
      /header name is never modifiable/,
    );
    await mif([{ op: "remove", path: "/payload/0" }], /not modifiable/);
    await mif(
      [{ op: "add", path: "/payload/0", value: { iePath: "/supi", ieValueLocation: "BODY", value: SUPI } }],
      /not modifiable/,
    );
    await mif(
      [{ op: "move", from: "/payload/0/value", path: "/payload/1/value" }],
      /move source: IE \/amfInstanceId is not modifiable/,
    ); // source not modifiable
    await mif([{ op: "add", path: "/headers/-", value: { header: "x-injected", value: "1" } }], /not modifiable/);
    await mif([{ op: "remove", path: "/payload" }], /may not be modified/);
  });

  test("an operation RFC 6902 does not define", async () => {
    const e = await mif([{ op: "frobnicate", path: "/headers/3/value" }], /unknown op/);
    expect(e.message).toContain("unknown op");
  });

  test("invalid JSON pointer", async () => {
    await mif([{ op: "replace", path: "payload/1/value", value: "x" }], /invalid JSON pointer in path/);
    await mif([{ op: "replace", path: "/payload/01/value", value: "x" }], /invalid JSON pointer in path/);
    await mif([{ op: "replace", path: "/payload/1/value~2", value: "x" }], /invalid JSON pointer in path/);
    await mif([{ op: "replace", path: "/payload/-/value", value: "x" }], /invalid JSON pointer in path/);
    await mif([{ op: "copy", from: "/payload/x/value", path: "/payload/1/value" }], /invalid JSON pointer in from/);
  });

  test("index out of range and patches that do not apply", async () => {
    await mif([{ op: "replace", path: "/payload/99/value", value: "x" }], /no (payload|header) entry at this index/);
    await mif(
      [{ op: "add", path: "/payload/50", value: { iePath: "/deregCallbackUri", ieValueLocation: "BODY", value: "x" } }],
      /OPERATION_VALUE_OUT_OF_BOUNDS/,
    );
    await mif([{ op: "remove", path: "/headers/9" }], /no (payload|header) entry at this index/);
    await mif([{ op: "replace", path: "/payload/2/value/missing/deep", value: 1 }], /OPERATION_PATH_UNRESOLVABLE/);
    await mif([{ op: "test", path: "/payload/3/value", value: "EUTRA" }], /TEST_OPERATION_FAILED/);
    await mif([{ op: "add", path: "/payload/1/value/x", value: 1 }], /OPERATION_PATH_UNRESOLVABLE/); // the value is a string, not a container
  });

  test("a valid first JWS and a bad second one: nothing of the first leaks", async () => {
    const { sender, receiver } = contexts();
    let msg = await cri.modify(send(sender), [{ op: "replace", path: "/headers/3/value", value: "changed" }]);
    msg = await pri.modify(msg, [{ op: "replace", path: "/requestLine/authority", value: "evil.example.org" }]);
    const e = failure(() => receive(receiver, msg));
    expect(e.errorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    expect(e.failedModificationList).toEqual([{ ipxId: PRI, n32fErrorType: "MODIFICATIONS_INSTRUCTIONS_FAILED" }]);
    expect(e.toN32fErrorInfo(INITIATOR_ID)).toMatchObject({
      n32fMessageId: "0123456789abcdef",
      n32fErrorType: "MODIFICATIONS_INSTRUCTIONS_FAILED",
    });
  });
});

describe("RI keys of an association (P10)", () => {
  test("certificates must chain to the RI root, name the RI, be valid now and be P-256", async () => {
    const otherRoot = await createRootCa({ name: "rogue RI root" });
    const rogue = await TestRi.create(otherRoot, CRI);
    expect(() => prepareRiKeys({ ownRis: [], peerRis: [rogue.secInfo()], trust })).toThrow(/RI trust store/);
    expect(() =>
      prepareRiKeys({
        ownRis: [],
        peerRis: [{ ...cri.secInfo(), ipxProviderId: "ipx8.example.ipxnetwork.org" }],
        trust,
      }),
    ).toThrow(/dNSName/);
    const p384 = await TestRi.create(riRoot, CRI, { curve: "P-384" });
    expect(() => prepareRiKeys({ ownRis: [], peerRis: [p384.secInfo()], trust })).toThrow(/P-256/);
    const expired = await TestRi.create(riRoot, CRI, {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    expect(() => prepareRiKeys({ ownRis: [], peerRis: [expired.secInfo()], trust })).toThrow(/not valid now/);
    expect(() =>
      prepareRiKeys({ ownRis: [], peerRis: [{ ipxProviderId: CRI, certificateList: ["not base64!"] }], trust }),
    ).toThrow(RiKeyError);
    expect(() => prepareRiKeys({ ownRis: [], peerRis: [{ ipxProviderId: CRI }], trust })).toThrow(RiKeyError);
    const p384raw = Buffer.from(
      new X509Certificate(p384.cert.certPem).publicKey.export({ format: "der", type: "spki" }),
    ).toString("base64");
    expect(() =>
      prepareRiKeys({ ownRis: [], peerRis: [{ ipxProviderId: CRI, rawPublicKeyList: [p384raw] }], trust }),
    ).toThrow(/P-256/);
  });

  test("the key set exposes no key material", () => {
    expect(JSON.stringify(riKeys)).toBe(
      JSON.stringify([
        { ipxProviderId: PRI, sides: ["own"], keys: 1 },
        { ipxProviderId: CRI, sides: ["peer"], keys: 1 },
      ]),
    );
  });
});

describe("Roaming-Hub-originated error (digest §4.5)", () => {
  const metaData = { n32fContextId: INITIATOR_ID, messageId: "fedcba9876543210", authorizedIpxId: CRI };
  const rhMsg = (): N32fReformattedReqMsg => ({
    reformattedData: { aad: Buffer.from(JSON.stringify({ metaData })).toString("base64url"), ciphertext: "" },
  });
  const errorOps = [
    { op: "add" as const, path: "/statusLine", value: "403" },
    { op: "add" as const, path: "/headers", value: [{ header: "content-type", value: "application/problem+json" }] },
    {
      op: "add" as const,
      path: "/payload",
      value: [
        { iePath: "/status", ieValueLocation: "BODY", value: 403 },
        { iePath: "/cause", ieValueLocation: "BODY", value: "IE_ENCRYPTED_BUT_EXPECTED_IN_CLEAR" },
      ],
    },
  ];
  const verifyRh = (msg: N32fReformattedReqMsg, keys: RiKeySet = riKeys, failedJweTag?: string) => {
    const candidate = readRhError(msg);
    expect(candidate).not.toBeNull();
    return verifyRhError({ candidate: candidate!, riKeys: keys, adjacentRhId: PRI, failedJweTag });
  };

  test("recognised by its metadata-only reformattedData; an ordinary message is not", () => {
    expect(readRhError(rhMsg())?.metaData).toEqual(metaData);
    const { sender } = contexts();
    expect(readRhError(send(sender))).toBeNull();
    const extra = {
      reformattedData: {
        aad: Buffer.from(JSON.stringify({ metaData, statusLine: "200" })).toString("base64url"),
        ciphertext: "",
      },
    };
    expect(readRhError(extra)).toBeNull();
    expect(readRhError({ reformattedData: { ...rhMsg().reformattedData, tag: "AAAAAAAAAAAAAAAAAAAAAA" } })).toBeNull();
  });

  test("an error by the adjacent RH, and one originated by the far RI and countersigned by the adjacent RH", async () => {
    const one = verifyRh(await pri.modify(rhMsg(), errorOps));
    expect(one.signers).toEqual([PRI]);
    expect(one.metaData.messageId).toBe("fedcba9876543210");
    expect(one.response?.status).toBe(403);
    expect(JSON.parse(new TextDecoder().decode(one.response!.body))).toEqual({
      status: 403,
      cause: "IE_ENCRYPTED_BUT_EXPECTED_IN_CLEAR",
    });
    const two = verifyRh(await pri.modify(await cri.modify(rhMsg(), errorOps), null));
    expect(two.signers).toEqual([CRI, PRI]);
    expect(two.adjacentRh).toBe(PRI);
    expect(two.block.statusLine).toBe("403");
  });

  test("refused: unsigned, last signer not adjacent, key of another association, other alg, tag of another message", async () => {
    const unsigned = failure(() => verifyRh(rhMsg()));
    expect(unsigned.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    expect(unsigned.messageId).toBe("fedcba9876543210");
    expect(failure(() => verifyRh(hubNotAdjacent)).message).toContain("adjacent");
    expect(failure(() => verifyRh(hubNotAdjacent)).errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    const otherAssoc = failure(() => verifyRh(byPri, riKeysB));
    expect(otherAssoc.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    const hs256 = failure(() => verifyRh(byHs256));
    expect(hs256.errorType).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
    const tagged = await pri.modify(rhMsg(), errorOps, { payload: { tag: Buffer.alloc(16, 9).toString("base64url") } });
    expect(failure(() => verifyRh(tagged, riKeys, Buffer.alloc(16, 8).toString("base64url"))).errorType).toBe(
      "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
    );
    expect(verifyRh(tagged, riKeys, Buffer.alloc(16, 9).toString("base64url")).signers).toEqual([PRI]);
  });

  test("refused: patches touching metaData or inserting an encBlockIndex reference", async () => {
    const meta = failure(() => verifyRh(byPriMeta));
    expect(meta.errorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    expect(meta.message).toContain("statusLine, headers and payload");
    const ref = failure(() => verifyRh(byPriRef));
    expect(ref.errorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    expect(ref.message).toContain("encBlockIndex");
  });

  let hubNotAdjacent: N32fReformattedReqMsg;
  let byPri: N32fReformattedReqMsg;
  let byHs256: N32fReformattedReqMsg;
  let byPriMeta: N32fReformattedReqMsg;
  let byPriRef: N32fReformattedReqMsg;
  beforeAll(async () => {
    hubNotAdjacent = await cri.modify(rhMsg(), errorOps);
    byPri = await pri.modify(rhMsg(), errorOps);
    byHs256 = await pri.modify(rhMsg(), errorOps, { alg: "HS256", key: new Uint8Array(32).fill(3) });
    byPriMeta = await pri.modify(rhMsg(), [
      ...errorOps,
      { op: "replace", path: "/metaData/messageId", value: "0000000000000000" },
    ]);
    byPriRef = await pri.modify(rhMsg(), [
      errorOps[0]!,
      { op: "add", path: "/payload", value: [{ iePath: "/x", ieValueLocation: "BODY", value: { encBlockIndex: 0 } }] },
    ]);
  });
});

describe("property: random RI patches", () => {
  const PATHS = [
    "/payload/0/value",
    "/payload/1/value",
    "/payload/2/value/amfId",
    "/payload/2/value/plmnId/mcc",
    "/payload/2/value",
    "/payload/4/value",
    "/payload/3/value",
    "/headers/2/value",
    "/headers/3/value",
    "/headers/3",
    "/payload/5",
    "/payload/-",
    "/payload/1",
    "/requestLine/path",
    "/metaData/messageId",
    "/payload/1/iePath",
    "/payload/2/value/new",
    // allowed for the cRI: weighted so that a fair share of the runs is accepted
    ...Array(4).fill(["/payload/1/value", "/payload/2/value/amfId", "/headers/3/value", "/payload/2/value/new"]).flat(),
  ];
  const refsOf = (b: DataToIntegrityProtectBlock) => {
    const out: string[] = [];
    for (const p of b.payload ?? [])
      JSON.stringify(p.value, (k, v) => {
        if (k === "encBlockIndex") out.push(`${p.iePath}#${v}`);
        return v;
      });
    for (const h of b.headers ?? []) if (typeof h.value === "object") out.push(`${h.header}#${h.value.encBlockIndex}`);
    return out.sort();
  };
  test("an accepted patch keeps every encBlockIndex reference, metaData and requestLine, and equals RFC 6902 semantics", async () => {
    const fc = (await import("fast-check")).default;
    const { applyPatch, deepClone } = await import("fast-json-patch");
    const value = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.string({ maxLength: 8 }),
      fc.integer({ min: 0, max: 3 }).map((n) => ({ encBlockIndex: n })),
      fc.constant({ iePath: "/deregCallbackUri", ieValueLocation: "BODY", value: "https://x.example.org/" }),
      fc.constant({ header: "user-agent", value: "rand" }),
    );
    const op = fc.oneof(
      fc.record({ op: fc.constantFrom("add", "replace", "test"), path: fc.constantFrom(...PATHS), value }),
      fc.record({ op: fc.constant("remove"), path: fc.constantFrom(...PATHS) }),
      fc.record({
        op: fc.constantFrom("move", "copy"),
        from: fc.constantFrom(...PATHS),
        path: fc.constantFrom(...PATHS),
      }),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 3 }), async (ops) => {
        const { sender, receiver } = contexts();
        const msg = await cri.modify(send(sender), ops as never);
        let patched: DataToIntegrityProtectBlock;
        try {
          patched = receive(receiver, msg).patched;
        } catch (e) {
          expect(e).toBeInstanceOf(N32fError);
          expect((e as N32fError).errorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
          return;
        }
        accepted++;
        const original = requestBlock();
        expect(refsOf(patched)).toEqual(refsOf(original));
        expect(patched.metaData).toEqual(original.metaData);
        expect(patched.requestLine).toEqual(original.requestLine);
        expect(patched).toEqual(applyPatch(original, deepClone(ops), true, false).newDocument);
      }),
      { numRuns: 150 },
    );
    expect(accepted).toBeGreaterThan(0); // the generator does reach allowed patches
  }, 120_000); // 150 signed RI patches: slow on a loaded 2-core machine
});

describe("responses", () => {
  test("a response is checked against rspIe rules of the request's mapping", async () => {
    const rspPolicy: ProtectionPolicy = {
      apiIeMappingList: [
        {
          apiSignature: TEMPLATE,
          apiMethod: "PUT",
          IeList: [
            { ieLoc: "BODY", ieType: "OTHER", rspIe: "/amfInstanceId", isModifiable: true },
            { ieLoc: "BODY", ieType: "OTHER", reqIe: "/ratType", isModifiable: true }, // request only
          ],
        },
      ],
    };
    const rules = modificationRulesResolver(
      { peer: buildEffectivePolicy({ defaults: EMPTY, peer: rspPolicy }) },
      "response",
      "PUT",
      PATH,
    );
    const block: DataToIntegrityProtectBlock = {
      metaData: { n32fContextId: RESPONDER_ID, messageId: "0123456789abcdef", authorizedIpxId: CRI },
      statusLine: "201",
      headers: [{ header: "content-type", value: "application/json" }],
      payload: [
        { iePath: "/amfInstanceId", ieValueLocation: "BODY", value: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9" },
        { iePath: "/ratType", ieValueLocation: "BODY", value: "NR" },
      ],
    };
    const { sender, receiver } = contexts();
    const run = async (ops: unknown[]) => {
      const msg = await cri.modify(
        { reformattedData: protectJwe(sender, "response", enc.encode(JSON.stringify(block)), new Uint8Array(0)) },
        ops as never,
      );
      const parsed = parseJwe(msg.reformattedData);
      openJwe(receiver, "response", parsed);
      const got = JSON.parse(new TextDecoder().decode(parsed.aad)) as DataToIntegrityProtectBlock;
      return verifyModifications({
        block: got,
        jweTag: msg.reformattedData.tag!,
        modificationsBlock: msg.modificationsBlock,
        riKeys,
        policyRules: rules,
        authorizedIpxId: got.metaData?.authorizedIpxId,
      });
    };
    expect((await run([{ op: "replace", path: "/payload/0/value", value: "x" }])).payload![0]!.value).toBe("x");
    let err: unknown;
    await run([{ op: "replace", path: "/payload/1/value", value: "EUTRA" }]).catch((e) => (err = e));
    expect(err).toBeInstanceOf(N32fError);
    expect((err as N32fError).errorType).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
  });
});
