// Validation of N32 bodies against the official 3GPP OpenAPI schemas (N32-PROFILE intro, P10).
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, webcrypto } from "node:crypto";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { FlattenedSign, generateKeyPair } from "jose";
import * as x509 from "@peculiar/x509";
import { generate, newAjv, OUT_DIR, SCHEMA_FILE, SCHEMA_ID, VALIDATORS_FILE } from "../../scripts/gen-openapi.ts";
import {
  MAX_INVALID_PARAMS,
  MISSING_MEMBER_REASON,
  type N32SchemaName,
  problemCauseFor,
  validateBody,
  validateReceivedBlock,
} from "../../src/openapi/validate.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const REPO = resolve(import.meta.dir, "../..");
const SPEC = resolve(REPO, "..", "shared", "spec");
const SPEC_3GPP = join(SPEC, "3gpp");
const VECTORS = join(SPEC, "vectors", "n32f-vectors.json");
/** a fresh directory per mutated copy of the 3GPP files, all removed after this file's tests */
const freshSpecCopy = freshDirs("gen-openapi-");

interface VectorMessage {
  description: string;
  aadObject: Record<string, unknown>;
  plaintextObject: Record<string, unknown> | null;
  jwe: Record<string, string>;
}

const INIT_FQDN = "sepp1.5gc.mnc001.mcc262.3gppnetwork.org";
const RESP_FQDN = "sepp.5gc.mnc015.mcc234.3gppnetwork.org";
const RI_FQDN = "ipx1.example.ipxnetwork.org";

let vectors: VectorMessage[] = [];
let certB64 = "";
let spkiB64 = "";
let jws: { protected: string; payload: string; signature: string } | undefined;
let modifications: Record<string, unknown> = {};

beforeAll(async () => {
  if (!existsSync(VECTORS)) throw new Error(`${VECTORS} missing: ../shared/spec must sit beside the repository`);
  vectors = (JSON.parse(readFileSync(VECTORS, "utf8")) as { messages: VectorMessage[] }).messages;
  // Real values for the RI security information round (P5): a base64 DER certificate and SPKI.
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: "01",
      name: `CN=${RI_FQDN}`,
      keys,
      signingAlgorithm: alg,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86400e3),
    },
    webcrypto as unknown as Crypto,
  );
  certB64 = Buffer.from(cert.rawData).toString("base64");
  spkiB64 = generateKeyPairSync("ec", { namedCurve: "P-256" })
    .publicKey.export({ type: "spki", format: "der" })
    .toString("base64");
  // A real RI modification JWS (P5) over a real Modifications object bound to the vector JWE's tag.
  const jwe = vectors[2]!.jwe;
  modifications = {
    identity: RI_FQDN,
    operations: [{ op: "replace", path: "/payload/1/value", value: "5G:mnc001.mcc262.3gppnetwork.org" }],
    tag: jwe.tag!,
  };
  const { privateKey } = await generateKeyPair("ES256");
  const signed = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(modifications)))
    .setProtectedHeader({ alg: "ES256" })
    .sign(privateKey);
  jws = { protected: signed.protected!, payload: signed.payload, signature: signed.signature };
});

describe("generated files", () => {
  test("src/openapi is what scripts/gen-openapi.ts produces from ../shared/spec/3gpp", () => {
    expect(existsSync(SPEC_3GPP)).toBe(true);
    const g = generate(SPEC_3GPP);
    expect(readFileSync(join(REPO, OUT_DIR, SCHEMA_FILE), "utf8")).toBe(g.schemaJson);
    expect(readFileSync(join(REPO, OUT_DIR, VALIDATORS_FILE), "utf8")).toBe(g.validatorsTs);
  });

  test("the generated schema keeps only the reachable CommonData types and no OpenAPI-only keywords", () => {
    const schema = JSON.parse(readFileSync(join(REPO, OUT_DIR, SCHEMA_FILE), "utf8")) as {
      $defs: Record<string, unknown>;
    };
    const names = Object.keys(schema.$defs);
    for (const n of ["Fqdn", "PlmnId", "Mcc", "Mnc", "ProblemDetails", "InvalidParam", "PatchItem", "Uinteger"])
      expect(names).toContain(n);
    // CommonData holds hundreds of types; unrelated ones must not be pulled in
    for (const n of ["Guami", "Tai", "Ecgi", "AccessType", "Supi", "Dnn"]) expect(names).not.toContain(n);
    const text = JSON.stringify(schema);
    for (const k of ['"nullable"', '"description"', '"example"', '"discriminator"', '"readOnly"', '"$ref":"TS29'])
      expect(text).not.toContain(k);
    expect(text).toContain('"format":"uuid"');
  });

  test("the runtime validators need no schema compilation (no new Function / eval)", () => {
    const code = readFileSync(join(REPO, OUT_DIR, VALIDATORS_FILE), "utf8");
    expect(code).not.toMatch(/new Function|\beval\(/);
    expect(code).toContain("bun scripts/gen-openapi.ts");
  });
});

describe("generator: OpenAPI 3.0 dialect conversion (on a mutated copy of the 3GPP files)", () => {
  type Y = Record<string, any>;
  const withMutation = (file: string, mutate: (doc: Y) => void): ReturnType<typeof generate> => {
    const dir = freshSpecCopy();
    cpSync(SPEC_3GPP, dir, { recursive: true });
    const doc = parseYaml(readFileSync(join(dir, file), "utf8")) as Y;
    mutate(doc);
    writeFileSync(join(dir, file), stringifyYaml(doc));
    return generate(dir);
  };
  const defsOf = (g: ReturnType<typeof generate>) => (JSON.parse(g.schemaJson) as { $defs: Record<string, Y> }).$defs;
  const TEL = "TS29573_SeppTelescopicFqdnMapping.yaml";

  test("nullable: null added to type and enum, or anyOf with null", () => {
    const g = withMutation(TEL, (d) => {
      const p = d.components.schemas.TelescopicMapping.properties;
      p.telescopicLabel = { type: "string", nullable: true };
      p.kind = { type: "string", enum: ["a", "b"], nullable: true };
      p.pair = { allOf: [{ $ref: "TS29571_CommonData.yaml#/components/schemas/PlmnId" }], nullable: true };
    });
    const p = defsOf(g).TelescopicMapping!.properties;
    expect(p.telescopicLabel).toEqual({ type: ["string", "null"] });
    expect(p.kind).toEqual({ type: ["string", "null"], enum: ["a", "b", null] });
    expect(p.pair).toEqual({ anyOf: [{ allOf: [{ $ref: "#/$defs/PlmnId" }] }, { type: "null" }] });
  });

  test("boolean exclusiveMinimum becomes the numeric form; annotations, x- and unknown formats are dropped", () => {
    const g = withMutation(TEL, (d) => {
      const p = d.components.schemas.TelescopicMapping.properties;
      p.n = {
        type: "integer",
        minimum: 0,
        exclusiveMinimum: true,
        format: "int32",
        description: "d",
        example: 3,
        "x-vendor": 1,
      };
      p.f = { type: "string", format: "no-such-format", readOnly: true, deprecated: true };
    });
    const p = defsOf(g).TelescopicMapping!.properties;
    expect(p.n).toEqual({ type: "integer", exclusiveMinimum: 0, format: "int32" });
    expect(p.f).toEqual({ type: "string" });
  });

  test("siblings of a $ref are ignored, as OpenAPI 3.0 says", () => {
    const g = withMutation(TEL, (d) => {
      d.components.schemas.TelescopicMapping.properties.seppDomain = {
        $ref: "TS29571_CommonData.yaml#/components/schemas/Fqdn",
        description: "x",
        maxLength: 5,
      };
    });
    expect(defsOf(g).TelescopicMapping!.properties.seppDomain).toEqual({ $ref: "#/$defs/Fqdn" });
  });

  test("an untranslatable keyword stops the generator", () => {
    expect(() =>
      withMutation(TEL, (d) => {
        d.components.schemas.TelescopicMapping.properties.telescopicLabel = {
          type: "string",
          contentEncoding: "base64",
        };
      }),
    ).toThrow(/contentEncoding/);
  });

  test("an unresolved reference stops the generator", () => {
    expect(() =>
      withMutation(TEL, (d) => {
        d.components.schemas.TelescopicMapping.properties.seppDomain = {
          $ref: "TS29571_CommonData.yaml#/components/schemas/NoSuchType",
        };
      }),
    ).toThrow(/NoSuchType/);
    expect(() =>
      withMutation(TEL, (d) => {
        d.components.schemas.TelescopicMapping.properties.seppDomain = {
          $ref: "TS29999_Missing.yaml#/components/schemas/X",
        };
      }),
    ).toThrow(/TS29999_Missing/);
  });

  test("a 3GPP change that removes what a P10 leniency relaxes stops the generator", () => {
    expect(() =>
      withMutation("TS29573_JOSEProtectedMessageForwarding.yaml", (d) => {
        d.components.schemas.MetaData.properties.authorizedIpxId = {
          $ref: "TS29571_CommonData.yaml#/components/schemas/Fqdn",
        };
      }),
    ).toThrow(/authorizedIpxId/);
  });
});

// ---- N32-DIGEST §7a wire shapes, with real values ----
const capReq = {
  sender: INIT_FQDN,
  supportedSecCapabilityList: ["PRINS", "TLS"],
  "3GppSbiTargetApiRootSupported": true,
  plmnIdList: [{ mcc: "262", mnc: "01" }],
  targetPlmnId: { mcc: "234", mnc: "15" },
  intendedUsagePurpose: [{ usagePurpose: "ROAMING" }],
  supportedFeatures: "1",
  senderN32fFqdn: "sepp1-n32f.5gc.mnc001.mcc262.3gppnetwork.org",
  senderN32fPort: 443,
};
const capRsp = {
  sender: RESP_FQDN,
  selectedSecCapability: "PRINS",
  plmnIdList: [{ mcc: "234", mnc: "15" }],
  allowedUsagePurpose: [{ usagePurpose: "ROAMING" }],
  supportedFeatures: "1",
};
const paramsCipherReq = {
  n32fContextId: "9f3c2a7b01d4e6a8",
  jweCipherSuiteList: ["A256GCM", "A128GCM"],
  jwsCipherSuiteList: ["ES256"],
  sender: INIT_FQDN,
};
const paramsCipherRsp = {
  n32fContextId: "51b0c7e2aa93f410",
  selectedJweCipherSuite: "A256GCM",
  selectedJwsCipherSuite: "ES256",
  sender: RESP_FQDN,
};
const policy = {
  apiIeMappingList: [
    {
      apiSignature: "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
      apiMethod: "PUT",
      IeList: [{ ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "ueId", isModifiable: false }],
    },
    {
      apiSignature: { callbackType: "Nudm_SDM_Notification" },
      apiMethod: "POST",
      IeList: [
        { ieLoc: "BODY", ieType: "OTHER", reqIe: "/servingNetworkName", isModifiableByIpx: { [RI_FQDN]: true } },
      ],
    },
  ],
  dataTypeEncPolicy: ["UEID", "LOCATION", "KEY_MATERIAL", "AUTHENTICATION_MATERIAL", "AUTHORIZATION_TOKEN"],
};
const paramsPolicyReq = { n32fContextId: "9f3c2a7b01d4e6a8", protectionPolicyInfo: policy };
const paramsPolicyRsp = { n32fContextId: "51b0c7e2aa93f410", selProtectionPolicyInfo: policy };
const ipxInfo = () => ({ ipxProviderId: RI_FQDN, certificateList: [certB64], rawPublicKeyList: [spkiB64] });
const errorReport = {
  n32fMessageId: "00c0ffee12345678",
  n32fErrorType: "MESSAGE_RECONSTRUCTION_FAILED",
  n32fContextId: "51b0c7e2aa93f410",
  errorDetailsList: [{ attribute: "/payload/2", msgReconstructFailReason: "INVALID_INDEX_TO_ENCRYPTED_BLOCK" }],
};
const problemFwd = {
  title: "Forbidden",
  status: 403,
  cause: "INTEGRITY_CHECK_FAILED",
  detail: "AEAD tag mismatch",
  suggestedStatusCode: 502,
  suggestedProblemDetails: { status: 502, cause: "INTEGRITY_CHECK_FAILED", title: "Bad Gateway" },
};
const problem = {
  title: "Bad Request",
  status: 400,
  cause: "MANDATORY_IE_MISSING",
  detail: "sender missing",
  invalidParams: [{ param: "/sender", reason: MISSING_MEMBER_REASON }],
};
const telescopic = {
  telescopicLabel: "a1b2c3d4",
  seppDomain: "sepp.5gc.mnc001.mcc262.3gppnetwork.org",
  foreignFqdn: "udm1.5gc.mnc015.mcc234.3gppnetwork.org",
};

describe("N32-DIGEST §7a wire shapes validate", () => {
  const cases: [string, N32SchemaName, () => unknown][] = [
    ["exchange-capability request", "SecNegotiateReqData", () => capReq],
    ["exchange-capability response", "SecNegotiateRspData", () => capRsp],
    ["exchange-params cipher-suite round", "SecParamExchReqData", () => paramsCipherReq],
    ["exchange-params cipher-suite answer", "SecParamExchRspData", () => paramsCipherRsp],
    ["exchange-params policy round", "SecParamExchReqData", () => paramsPolicyReq],
    ["exchange-params policy answer", "SecParamExchRspData", () => paramsPolicyRsp],
    [
      "exchange-params RI round",
      "SecParamExchReqData",
      () => ({ n32fContextId: "9f3c2a7b01d4e6a8", ipxProviderSecInfoList: [ipxInfo()] }),
    ],
    [
      "exchange-params all rounds in one",
      "SecParamExchReqData",
      () => ({ ...paramsCipherReq, ...paramsPolicyReq, ipxProviderSecInfoList: [ipxInfo()] }),
    ],
    ["n32f-terminate", "N32fContextInfo", () => ({ n32fContextId: "51B0C7E2AA93F410" })],
    ["n32f-error report", "N32fErrorInfo", () => errorReport],
    [
      "n32f-error policy mismatch",
      "N32fErrorInfo",
      () => ({
        n32fMessageId: "0000000000000000",
        n32fErrorType: "POLICY_MISMATCH",
        n32fContextId: "51b0c7e2aa93f410",
        policyMismatchList: [{ param: "/protectionPolicyInfo/dataTypeEncPolicy", reason: "differs" }],
      }),
    ],
    [
      "n32f-error modifications",
      "N32fErrorInfo",
      () => ({
        n32fMessageId: "0000000000000abc",
        n32fErrorType: "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
        failedModificationList: [{ ipxId: RI_FQDN, n32fErrorType: "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED" }],
      }),
    ],
    [
      "n32f-process body with RI modification",
      "N32fReformattedReqMsg",
      () => ({ reformattedData: vectors[2]!.jwe, modificationsBlock: [jws] }),
    ],
    ["n32f-process response", "N32fReformattedRspMsg", () => ({ reformattedData: vectors[1]!.jwe })],
    ["RI Modifications", "Modifications", () => modifications],
    ["ProblemDetailsMsgForwarding", "ProblemDetailsMsgForwarding", () => problemFwd],
    ["ProblemDetails", "ProblemDetails", () => problem],
    ["TelescopicMapping", "TelescopicMapping", () => telescopic],
    ["IpxProviderSecInfo", "IpxProviderSecInfo", ipxInfo],
    ["ProtectionPolicy", "ProtectionPolicy", () => policy],
    ["DataToIntegrityProtectAndCipherBlock", "DataToIntegrityProtectAndCipherBlock", () => vectors[0]!.plaintextObject],
    [
      "DataToIntegrityProtectBlock (object values only)",
      "DataToIntegrityProtectBlock",
      () => ({
        metaData: { n32fContextId: "9f3c2a7b01d4e6a8", messageId: "0000000000000abc", authorizedIpxId: RI_FQDN },
        statusLine: "200",
        headers: [
          { header: "content-type", value: "application/json" },
          { header: "location", value: { encBlockIndex: 0 } },
        ],
        payload: [
          { iePath: "/subscribedUeAmbr", ieValueLocation: "BODY", value: { uplink: "1 Gbps", downlink: "2 Gbps" } },
        ],
      }),
    ],
  ];
  for (const [label, name, value] of cases) {
    test(`${label} (${name})`, () => {
      expect(validateBody(name, value())).toBeNull();
    });
  }
});

describe("rejections", () => {
  type Case = [
    label: string,
    name: N32SchemaName,
    value: () => unknown,
    param: string,
    cause: "MANDATORY_IE_MISSING" | "MANDATORY_IE_INCORRECT",
  ];
  const without = <T extends object>(o: T, k: string): T => {
    const c = structuredClone(o) as Record<string, unknown>;
    delete c[k];
    return c as T;
  };
  const M = "MANDATORY_IE_MISSING" as const;
  const I = "MANDATORY_IE_INCORRECT" as const;
  const aad = () => ({
    metaData: { n32fContextId: "9f3c2a7b01d4e6a8", messageId: "1", authorizedIpxId: "NULL" },
    statusLine: "200",
  });
  const cases: Case[] = [
    ["capability: no sender", "SecNegotiateReqData", () => without(capReq, "sender"), "/sender", M],
    [
      "capability: no list",
      "SecNegotiateReqData",
      () => without(capReq, "supportedSecCapabilityList"),
      "/supportedSecCapabilityList",
      M,
    ],
    [
      "capability: list not an array",
      "SecNegotiateReqData",
      () => ({ ...capReq, supportedSecCapabilityList: "PRINS" }),
      "/supportedSecCapabilityList",
      I,
    ],
    [
      "capability: empty list",
      "SecNegotiateReqData",
      () => ({ ...capReq, supportedSecCapabilityList: [] }),
      "/supportedSecCapabilityList",
      I,
    ],
    [
      "capability: capability a number",
      "SecNegotiateReqData",
      () => ({ ...capReq, supportedSecCapabilityList: ["PRINS", 7] }),
      "/supportedSecCapabilityList/1",
      I,
    ],
    [
      "capability: PlmnId mcc 2 digits",
      "SecNegotiateReqData",
      () => ({ ...capReq, plmnIdList: [{ mcc: "26", mnc: "01" }] }),
      "/plmnIdList/0/mcc",
      I,
    ],
    [
      "capability: PlmnId mnc 4 digits",
      "SecNegotiateReqData",
      () => ({ ...capReq, targetPlmnId: { mcc: "234", mnc: "1500" } }),
      "/targetPlmnId/mnc",
      I,
    ],
    [
      "capability: PlmnId without mnc",
      "SecNegotiateReqData",
      () => ({ ...capReq, targetPlmnId: { mcc: "234" } }),
      "/targetPlmnId/mnc",
      M,
    ],
    ["capability: bad Fqdn", "SecNegotiateReqData", () => ({ ...capReq, sender: "sepp_1.example.org" }), "/sender", I],
    [
      "capability: Fqdn without dot",
      "SecNegotiateReqData",
      () => ({ ...capReq, senderN32fFqdn: "localhost" }),
      "/senderN32fFqdn",
      I,
    ],
    [
      "capability: negative port",
      "SecNegotiateReqData",
      () => ({ ...capReq, senderN32fPort: -1 }),
      "/senderN32fPort",
      I,
    ],
    [
      "capability: supportedFeatures not hex",
      "SecNegotiateReqData",
      () => ({ ...capReq, supportedFeatures: "xyz" }),
      "/supportedFeatures",
      I,
    ],
    [
      "capability: usage purpose missing",
      "SecNegotiateReqData",
      () => ({ ...capReq, intendedUsagePurpose: [{ additionalInfo: "x" }] }),
      "/intendedUsagePurpose/0/usagePurpose",
      M,
    ],
    [
      "capability answer: no selectedSecCapability",
      "SecNegotiateRspData",
      () => without(capRsp, "selectedSecCapability"),
      "/selectedSecCapability",
      M,
    ],
    [
      "capability answer: boolean flag a string",
      "SecNegotiateRspData",
      () => ({ ...capRsp, "3GppSbiTargetApiRootSupported": "true" }),
      "/3GppSbiTargetApiRootSupported",
      I,
    ],
    [
      "capability answer: port list of strings",
      "SecNegotiateRspData",
      () => ({ ...capRsp, senderN32fPortList: ["443"] }),
      "/senderN32fPortList/0",
      I,
    ],
    [
      "params: no n32fContextId",
      "SecParamExchReqData",
      () => without(paramsCipherReq, "n32fContextId"),
      "/n32fContextId",
      M,
    ],
    [
      "params: n32fContextId 15 hex",
      "SecParamExchReqData",
      () => ({ ...paramsCipherReq, n32fContextId: "9f3c2a7b01d4e6a" }),
      "/n32fContextId",
      I,
    ],
    [
      "params: n32fContextId not hex",
      "SecParamExchReqData",
      () => ({ ...paramsCipherReq, n32fContextId: "9f3c2a7b01d4e6ag" }),
      "/n32fContextId",
      I,
    ],
    [
      "params: n32fContextId a number",
      "SecParamExchReqData",
      () => ({ ...paramsCipherReq, n32fContextId: 1234567890123456 }),
      "/n32fContextId",
      I,
    ],
    [
      "params: suites list empty",
      "SecParamExchReqData",
      () => ({ ...paramsCipherReq, jweCipherSuiteList: [] }),
      "/jweCipherSuiteList",
      I,
    ],
    [
      "params: policy without mapping list",
      "SecParamExchReqData",
      () => ({ ...paramsPolicyReq, protectionPolicyInfo: { dataTypeEncPolicy: ["UEID"] } }),
      "/protectionPolicyInfo/apiIeMappingList",
      M,
    ],
    [
      "params: IeList capital I missing",
      "SecParamExchReqData",
      () => ({
        n32fContextId: "9f3c2a7b01d4e6a8",
        protectionPolicyInfo: {
          apiIeMappingList: [{ apiSignature: "/x", apiMethod: "GET", ieList: [{ ieLoc: "BODY", ieType: "UEID" }] }],
        },
      }),
      "/protectionPolicyInfo/apiIeMappingList/0/IeList",
      M,
    ],
    [
      "params answer: no n32fContextId",
      "SecParamExchRspData",
      () => without(paramsCipherRsp, "n32fContextId"),
      "/n32fContextId",
      M,
    ],
    [
      "params answer: suite a number",
      "SecParamExchRspData",
      () => ({ ...paramsCipherRsp, selectedJweCipherSuite: 256 }),
      "/selectedJweCipherSuite",
      I,
    ],
    [
      "params answer: RI list empty",
      "SecParamExchRspData",
      () => ({ ...paramsCipherRsp, ipxProviderSecInfoList: [] }),
      "/ipxProviderSecInfoList",
      I,
    ],
    ["terminate: missing", "N32fContextInfo", () => ({}), "/n32fContextId", M],
    ["terminate: 17 hex", "N32fContextInfo", () => ({ n32fContextId: "51b0c7e2aa93f4100" }), "/n32fContextId", I],
    ["terminate: not an object", "N32fContextInfo", () => ["51b0c7e2aa93f410"], "", I],
    ["error: no n32fMessageId", "N32fErrorInfo", () => without(errorReport, "n32fMessageId"), "/n32fMessageId", M],
    ["error: no n32fErrorType", "N32fErrorInfo", () => without(errorReport, "n32fErrorType"), "/n32fErrorType", M],
    ["error: error type a number", "N32fErrorInfo", () => ({ ...errorReport, n32fErrorType: 4 }), "/n32fErrorType", I],
    [
      "error: detail without reason",
      "N32fErrorInfo",
      () => ({ ...errorReport, errorDetailsList: [{ attribute: "/payload/2" }] }),
      "/errorDetailsList/0/msgReconstructFailReason",
      M,
    ],
    [
      "error: failed modification bad ipxId",
      "N32fErrorInfo",
      () => ({ ...errorReport, failedModificationList: [{ ipxId: "ipx!", n32fErrorType: "X" }] }),
      "/failedModificationList/0/ipxId",
      I,
    ],
    [
      "error: policy mismatch entry without param",
      "N32fErrorInfo",
      () => ({ ...errorReport, policyMismatchList: [{ reason: "x" }] }),
      "/policyMismatchList/0/param",
      M,
    ],
    [
      "process: no reformattedData",
      "N32fReformattedReqMsg",
      () => ({ modificationsBlock: [jws] }),
      "/reformattedData",
      M,
    ],
    [
      "process: no ciphertext",
      "N32fReformattedReqMsg",
      () => ({ reformattedData: without(vectors[0]!.jwe, "ciphertext") }),
      "/reformattedData/ciphertext",
      M,
    ],
    [
      "process: iv a number",
      "N32fReformattedReqMsg",
      () => ({ reformattedData: { ...vectors[0]!.jwe, iv: 12 } }),
      "/reformattedData/iv",
      I,
    ],
    [
      "process: compact JWE string",
      "N32fReformattedReqMsg",
      () => ({ reformattedData: "a.b.c.d.e" }),
      "/reformattedData",
      I,
    ],
    [
      "process: empty modificationsBlock",
      "N32fReformattedReqMsg",
      () => ({ reformattedData: vectors[0]!.jwe, modificationsBlock: [] }),
      "/modificationsBlock",
      I,
    ],
    [
      "process: JWS without signature",
      "N32fReformattedReqMsg",
      () => ({ reformattedData: vectors[0]!.jwe, modificationsBlock: [without(jws!, "signature")] }),
      "/modificationsBlock/0/signature",
      M,
    ],
    ["process response: no reformattedData", "N32fReformattedRspMsg", () => ({}), "/reformattedData", M],
    [
      "process response: header not an object",
      "N32fReformattedRspMsg",
      () => ({ reformattedData: { ...vectors[1]!.jwe, header: "x" } }),
      "/reformattedData/header",
      I,
    ],
    [
      "aad: metaData without messageId",
      "DataToIntegrityProtectBlock",
      () => ({ metaData: { n32fContextId: "9f3c2a7b01d4e6a8", authorizedIpxId: "NULL" } }),
      "/metaData/messageId",
      M,
    ],
    [
      "aad: metaData bad context id",
      "DataToIntegrityProtectBlock",
      () => ({ ...aad(), metaData: { n32fContextId: "ctx", messageId: "1", authorizedIpxId: "NULL" } }),
      "/metaData/n32fContextId",
      I,
    ],
    [
      "aad: requestLine without path",
      "DataToIntegrityProtectBlock",
      () => ({ ...aad(), requestLine: { method: "GET", scheme: "https", authority: "a", protocolVersion: "HTTP/2" } }),
      "/requestLine/path",
      M,
    ],
    [
      "aad: statusLine a number",
      "DataToIntegrityProtectBlock",
      () => ({ ...aad(), statusLine: 200 }),
      "/statusLine",
      I,
    ],
    [
      "aad: header without value",
      "DataToIntegrityProtectBlock",
      () => ({ ...aad(), headers: [{ header: "accept" }] }),
      "/headers/0/value",
      M,
    ],
    [
      "aad: encBlockIndex negative",
      "DataToIntegrityProtectBlock",
      () => ({ ...aad(), headers: [{ header: "accept", value: { encBlockIndex: -1 } }] }),
      "/headers/0/value/encBlockIndex",
      I,
    ],
    [
      "aad: payload without iePath",
      "DataToIntegrityProtectBlock",
      () => ({ ...aad(), payload: [{ ieValueLocation: "BODY", value: {} }] }),
      "/payload/0/iePath",
      M,
    ],
    ["aad: empty headers", "DataToIntegrityProtectBlock", () => ({ ...aad(), headers: [] }), "/headers", I],
    ["plaintext: no dataToEncrypt", "DataToIntegrityProtectAndCipherBlock", () => ({}), "/dataToEncrypt", M],
    [
      "plaintext: dataToEncrypt an object",
      "DataToIntegrityProtectAndCipherBlock",
      () => ({ dataToEncrypt: { 0: "x" } }),
      "/dataToEncrypt",
      I,
    ],
    ["modifications: no identity", "Modifications", () => without(modifications, "identity"), "/identity", M],
    [
      "modifications: identity bad Fqdn",
      "Modifications",
      () => ({ ...modifications, identity: "ipx 1.example.org" }),
      "/identity",
      I,
    ],
    [
      "modifications: patch without path",
      "Modifications",
      () => ({ ...modifications, operations: [{ op: "remove" }] }),
      "/operations/0/path",
      M,
    ],
    [
      "modifications: empty operations",
      "Modifications",
      () => ({ ...modifications, operations: [] }),
      "/operations",
      I,
    ],
    [
      "problem: invalidParam without param",
      "ProblemDetails",
      () => ({ ...problem, invalidParams: [{ reason: "x" }] }),
      "/invalidParams/0/param",
      M,
    ],
    ["problem: status a string", "ProblemDetails", () => ({ ...problem, status: "400" }), "/status", I],
    ["problem: not an object", "ProblemDetails", () => "Bad Request", "", I],
    [
      "problem fwd: suggestedStatusCode a string",
      "ProblemDetailsMsgForwarding",
      () => ({ ...problemFwd, suggestedStatusCode: "502" }),
      "/suggestedStatusCode",
      I,
    ],
    [
      "problem fwd: suggested problem status a string",
      "ProblemDetailsMsgForwarding",
      () => ({ ...problemFwd, suggestedProblemDetails: { status: "x" } }),
      "/suggestedProblemDetails/status",
      I,
    ],
    [
      "problem fwd: base ProblemDetails rules apply",
      "ProblemDetailsMsgForwarding",
      () => ({ ...problemFwd, invalidParams: [] }),
      "/invalidParams",
      I,
    ],
    [
      "telescopic: bad foreignFqdn",
      "TelescopicMapping",
      () => ({ ...telescopic, foreignFqdn: "udm..example.org" }),
      "/foreignFqdn",
      I,
    ],
    [
      "telescopic: label a number",
      "TelescopicMapping",
      () => ({ ...telescopic, telescopicLabel: 5 }),
      "/telescopicLabel",
      I,
    ],
    ["RI info: no ipxProviderId", "IpxProviderSecInfo", () => without(ipxInfo(), "ipxProviderId"), "/ipxProviderId", M],
    [
      "RI info: certificate not a string",
      "IpxProviderSecInfo",
      () => ({ ...ipxInfo(), certificateList: [{ der: certB64 }] }),
      "/certificateList/0",
      I,
    ],
    [
      "policy: IeInfo without ieType",
      "ProtectionPolicy",
      () => ({ apiIeMappingList: [{ apiSignature: "/x", apiMethod: "GET", IeList: [{ ieLoc: "BODY" }] }] }),
      "/apiIeMappingList/0/IeList/0/ieType",
      M,
    ],
    [
      "policy: isModifiableByIpx value not boolean",
      "ProtectionPolicy",
      () => ({
        apiIeMappingList: [
          {
            apiSignature: "/x",
            apiMethod: "GET",
            IeList: [{ ieLoc: "BODY", ieType: "OTHER", isModifiableByIpx: { [RI_FQDN]: "yes" } }],
          },
        ],
      }),
      `/apiIeMappingList/0/IeList/0/isModifiableByIpx/${RI_FQDN}`,
      I,
    ],
    [
      "policy: isModifiableByIpx empty",
      "ProtectionPolicy",
      () => ({
        apiIeMappingList: [
          { apiSignature: "/x", apiMethod: "GET", IeList: [{ ieLoc: "BODY", ieType: "OTHER", isModifiableByIpx: {} }] },
        ],
      }),
      "/apiIeMappingList/0/IeList/0/isModifiableByIpx",
      I,
    ],
    [
      "policy: callback signature without callbackType",
      "ProtectionPolicy",
      () => ({
        apiIeMappingList: [{ apiSignature: {}, apiMethod: "GET", IeList: [{ ieLoc: "BODY", ieType: "OTHER" }] }],
      }),
      "/apiIeMappingList/0/apiSignature",
      I,
    ],
  ];
  for (const [label, name, value, param, cause] of cases) {
    test(`${label} → ${param || "(root)"} ${cause}`, () => {
      const r = validateBody(name, value());
      expect(r).not.toBeNull();
      expect(r!.map((p) => p.param)).toContain(param);
      for (const p of r!) expect(typeof p.reason).toBe("string");
      expect(problemCauseFor(r!)).toBe(cause);
    });
  }

  test("every schema rejects a non-object body", () => {
    const names: N32SchemaName[] = [
      "SecNegotiateReqData",
      "SecNegotiateRspData",
      "SecParamExchReqData",
      "SecParamExchRspData",
      "N32fContextInfo",
      "N32fErrorInfo",
      "N32fReformattedReqMsg",
      "N32fReformattedRspMsg",
      "DataToIntegrityProtectBlock",
      "DataToIntegrityProtectAndCipherBlock",
      "Modifications",
      "ProblemDetails",
      "ProblemDetailsMsgForwarding",
      "TelescopicMapping",
      "IpxProviderSecInfo",
      "ProtectionPolicy",
    ];
    for (const n of names)
      for (const bad of [null, 1, "x", true, []]) {
        const r = validateBody(n, bad);
        expect(r).not.toBeNull();
        expect(r![0]!.param).toBe("");
        expect(problemCauseFor(r!)).toBe("MANDATORY_IE_INCORRECT");
      }
  });

  test("extensible enums accept values outside the list; our code decides what it supports", () => {
    expect(validateBody("SecNegotiateReqData", { ...capReq, supportedSecCapabilityList: ["FUTURE_MODE"] })).toBeNull();
    expect(validateBody("N32fErrorInfo", { ...errorReport, n32fErrorType: "SOMETHING_NEW" })).toBeNull();
  });

  test("a member name from the peer is not echoed back unbounded", () => {
    const huge = "k".repeat(100_000);
    const r = validateBody("ProtectionPolicy", {
      apiIeMappingList: [
        {
          apiSignature: "/x",
          apiMethod: "GET",
          IeList: [{ ieLoc: "BODY", ieType: "OTHER", isModifiableByIpx: { [huge]: 1 } }],
        },
      ],
    });
    expect(r).not.toBeNull();
    expect(r!.length).toBeLessThanOrEqual(MAX_INVALID_PARAMS);
    for (const p of r!) {
      expect(p.param.length).toBeLessThanOrEqual(200);
      expect((p.reason ?? "").length).toBeLessThanOrEqual(120);
    }
  });

  test("an input value is never echoed in a reason", () => {
    const secret = "imsi-262010000000001-secret-value";
    const r = validateBody("SecNegotiateReqData", { ...capReq, sender: secret });
    expect(JSON.stringify(r)).not.toContain(secret);
  });

  test("problemCauseFor: missing only when every entry is a missing member", () => {
    expect(problemCauseFor([{ param: "/a", reason: MISSING_MEMBER_REASON }])).toBe("MANDATORY_IE_MISSING");
    expect(
      problemCauseFor([
        { param: "/a", reason: MISSING_MEMBER_REASON },
        { param: "/b", reason: "must be string" },
      ]),
    ).toBe("MANDATORY_IE_INCORRECT");
    expect(problemCauseFor([])).toBe("MANDATORY_IE_INCORRECT");
    // header value {} : not a string and no encBlockIndex — present but wrong
    const r = validateBody("DataToIntegrityProtectBlock", { headers: [{ header: "accept", value: {} }] });
    expect(problemCauseFor(r!)).toBe("MANDATORY_IE_INCORRECT");
  });

  test("param is an RFC 6901 pointer: ~ and / in a member name are escaped", () => {
    const r = validateBody("ProtectionPolicy", {
      apiIeMappingList: [
        {
          apiSignature: "/x",
          apiMethod: "GET",
          IeList: [{ ieLoc: "BODY", ieType: "OTHER", isModifiableByIpx: { "a/b~c": "no" } }],
        },
      ],
    });
    expect(r).toEqual([{ param: "/apiIeMappingList/0/IeList/0/isModifiableByIpx/a~1b~0c", reason: "must be boolean" }]);
  });

  test("unknown schema name is a programming error", () => {
    expect(() => validateBody("NoSuchSchema" as N32SchemaName, {})).toThrow();
  });
});

describe("unknown extra members are accepted", () => {
  const extra = { futureMember: { nested: [1, 2, 3] }, "x-vendor": "v" };
  test("at the top level of every schema", () => {
    const samples: [N32SchemaName, unknown][] = [
      ["SecNegotiateReqData", capReq],
      ["SecNegotiateRspData", capRsp],
      ["SecParamExchReqData", paramsPolicyReq],
      ["SecParamExchRspData", paramsPolicyRsp],
      ["N32fContextInfo", { n32fContextId: "51b0c7e2aa93f410" }],
      ["N32fErrorInfo", errorReport],
      ["N32fReformattedReqMsg", { reformattedData: vectors[0]!.jwe }],
      ["N32fReformattedRspMsg", { reformattedData: vectors[1]!.jwe }],
      ["DataToIntegrityProtectBlock", { statusLine: "200" }],
      ["DataToIntegrityProtectAndCipherBlock", { dataToEncrypt: [1] }],
      ["Modifications", modifications],
      ["ProblemDetails", problem],
      ["ProblemDetailsMsgForwarding", problemFwd],
      ["TelescopicMapping", telescopic],
      ["IpxProviderSecInfo", ipxInfo()],
      ["ProtectionPolicy", policy],
    ];
    for (const [n, s] of samples) {
      expect(validateBody(n, s)).toBeNull();
      expect(validateBody(n, { ...(s as object), ...extra })).toBeNull();
    }
  });
  test("nested", () => {
    expect(
      validateBody("SecNegotiateReqData", { ...capReq, plmnIdList: [{ mcc: "262", mnc: "01", extra: true }] }),
    ).toBeNull();
    expect(
      validateBody("N32fReformattedReqMsg", {
        reformattedData: { ...vectors[0]!.jwe, extra: 1 },
        modificationsBlock: [{ ...jws, extra: 2 }],
      }),
    ).toBeNull();
    expect(
      validateReceivedBlock("DataToIntegrityProtectBlock", {
        ...vectors[0]!.aadObject,
        metaData: { ...(vectors[0]!.aadObject.metaData as object), extra: 1 },
      }),
    ).toBeNull();
  });
});

describe("P10 receive-side leniencies", () => {
  test("a header value passes exactly when the P10 oneOf [string, IndexToEncryptedValue, {headerval}] holds (the generated 'a string, else that oneOf')", () => {
    // the literal P10 form, compiled here from the generated schema with only the header value replaced
    const schema = JSON.parse(readFileSync(join(REPO, OUT_DIR, SCHEMA_FILE), "utf8"));
    schema.$defs.Rx_EncodedHttpHeaderValue = {
      oneOf: [
        { type: "string" },
        { $ref: "#/$defs/IndexToEncryptedValue" },
        { type: "object", required: ["headerval"], properties: { headerval: { type: "string" } } },
      ],
    };
    const ajv = newAjv(false);
    ajv.addSchema(schema);
    const literal = ajv.getSchema(`${SCHEMA_ID}#/$defs/Rx_DataToIntegrityProtectBlock`)!;
    const meta = { n32fContextId: "0011223344556677", messageId: "m", authorizedIpxId: "NULL" };
    const member = fc.oneof(
      fc.integer({ min: -2, max: 3 }),
      fc.string({ maxLength: 3 }),
      fc.constant(null),
      fc.double(),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.record({ encBlockIndex: member, headerval: member, other: member }, { requiredKeys: [] }),
      fc.anything({ maxDepth: 2 }),
    );
    let strings = 0;
    let objects = 0;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), (values) => {
        const block = { metaData: meta, statusLine: "200", headers: values.map((v) => ({ header: "h", value: v })) };
        const got = validateReceivedBlock("DataToIntegrityProtectBlock", block) === null;
        if (got) for (const v of values) typeof v === "string" ? strings++ : objects++;
        expect(got).toBe(literal(block) as boolean);
      }),
      { numRuns: 3000, seed: 11 },
    );
    // both kinds of accepted value were met, not only refusals
    expect(strings).toBeGreaterThan(100);
    expect(objects).toBeGreaterThan(20);
  });

  test("the received block is checked in one function: no sub-validator called per header or payload entry", () => {
    const code = readFileSync(join(REPO, OUT_DIR, VALIDATORS_FILE), "utf8");
    const fn = /export const Rx_DataToIntegrityProtectBlock = (validate\d+);/.exec(code)![1]!;
    const start = code.indexOf(`function ${fn}(`);
    const body = code.slice(start, code.indexOf("\nfunction ", start + 1));
    // each call would build a new {instancePath, parentData, …} and path string per entry (issue 11)
    expect(body.match(/validate\d+\(data/g)?.filter((c) => c !== `${fn}(data`) ?? []).toEqual([]);
  });

  test("the inlined block check answers as the block whose parts are $refs to the named Rx_ definitions", () => {
    const schema = JSON.parse(readFileSync(join(REPO, OUT_DIR, SCHEMA_FILE), "utf8"));
    const block = schema.$defs.Rx_DataToIntegrityProtectBlock;
    block.properties.requestLine = { $ref: "#/$defs/RequestLine" };
    block.properties.headers.items = { $ref: "#/$defs/Rx_HttpHeader" };
    block.properties.payload.items = { $ref: "#/$defs/Rx_HttpPayload" };
    const ajv = newAjv(false);
    ajv.addSchema(schema);
    const byRefs = ajv.getSchema(`${SCHEMA_ID}#/$defs/Rx_DataToIntegrityProtectBlock`)!;
    const meta = { n32fContextId: "0011223344556677", messageId: "m", authorizedIpxId: "NULL" };
    // mostly what passes, with a wrong or missing part here and there
    const small = fc.oneof(
      { arbitrary: fc.string({ maxLength: 4 }), weight: 12 },
      { arbitrary: fc.integer({ min: -1, max: 2 }), weight: 1 },
      { arbitrary: fc.constant(null), weight: 1 },
    );
    const mostly = (whole: fc.Arbitrary<unknown>, partial: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
      fc.oneof({ arbitrary: whole, weight: 10 }, { arbitrary: partial, weight: 1 });
    const record = <T extends Record<string, fc.Arbitrary<unknown>>>(r: T) =>
      mostly(fc.record(r), fc.record(r, { requiredKeys: [] }));
    const requestLine = record({
      method: mostly(fc.constantFrom("GET", "POST", "PATCH"), small),
      scheme: mostly(fc.constantFrom("http", "https"), small),
      authority: small,
      path: small,
      protocolVersion: small,
      queryFragment: small,
    });
    const header = record({
      header: small,
      value: fc.oneof(small, record({ encBlockIndex: mostly(fc.nat(9), small) }), record({ headerval: small })),
    });
    const payload = record({
      iePath: small,
      ieValueLocation: mostly(fc.constantFrom("BODY", "HEADER"), small),
      value: fc.anything({ maxDepth: 1 }),
    });
    const built = fc.record(
      {
        requestLine: mostly(requestLine, small),
        statusLine: small,
        headers: mostly(fc.array(header, { minLength: 1, maxLength: 4 }), fc.oneof(fc.constant([]), small)),
        payload: mostly(fc.array(payload, { minLength: 1, maxLength: 4 }), fc.oneof(fc.constant([]), small)),
      },
      { requiredKeys: [] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(built, (parts) => {
        const value = { metaData: meta, ...parts };
        const got = validateReceivedBlock("DataToIntegrityProtectBlock", value);
        const ok = byRefs(value) as boolean;
        expect(got === null).toBe(ok);
        if (ok) accepted++;
        // the first failure is reported at the same place
        else expect(got![0]!.param.startsWith(byRefs.errors![0]!.instancePath)).toBe(true);
      }),
      { numRuns: 4000, seed: 7 },
    );
    expect(accepted).toBeGreaterThan(400);
  });

  const meta = { n32fContextId: "9f3c2a7b01d4e6a8", messageId: "00c0ffee12345678", authorizedIpxId: "NULL" };
  const lenient: [string, "DataToIntegrityProtectBlock" | "DataToIntegrityProtectAndCipherBlock", unknown, string][] = [
    [
      "payload value a string",
      "DataToIntegrityProtectBlock",
      { metaData: meta, statusLine: "200", payload: [{ iePath: "/a", ieValueLocation: "BODY", value: "x" }] },
      "/payload/0/value",
    ],
    [
      "payload value an array",
      "DataToIntegrityProtectBlock",
      { metaData: meta, statusLine: "200", payload: [{ iePath: "/a", ieValueLocation: "BODY", value: [1] }] },
      "/payload/0/value",
    ],
    [
      "payload value null",
      "DataToIntegrityProtectBlock",
      { metaData: meta, statusLine: "200", payload: [{ iePath: "", ieValueLocation: "BODY", value: null }] },
      "/payload/0/value",
    ],
    [
      "payload value a number",
      "DataToIntegrityProtectBlock",
      { metaData: meta, statusLine: "200", payload: [{ iePath: "/n", ieValueLocation: "BODY", value: 3 }] },
      "/payload/0/value",
    ],
    [
      "header {headerval}",
      "DataToIntegrityProtectBlock",
      { metaData: meta, statusLine: "200", headers: [{ header: "accept", value: { headerval: "application/json" } }] },
      "/headers/0/value",
    ],
    [
      "authorizedIpxId JSON null",
      "DataToIntegrityProtectBlock",
      { metaData: { ...meta, authorizedIpxId: null }, statusLine: "200" },
      "/metaData/authorizedIpxId",
    ],
    ["empty dataToEncrypt", "DataToIntegrityProtectAndCipherBlock", { dataToEncrypt: [] }, "/dataToEncrypt"],
  ];
  for (const [label, name, value, param] of lenient) {
    test(`${label}: accepted on receive, refused by validateBody`, () => {
      expect(validateReceivedBlock(name, value)).toBeNull();
      const r = validateBody(name, value);
      expect(r).not.toBeNull();
      expect(r!.map((p) => p.param)).toContain(param);
    });
  }

  type Cause = ReturnType<typeof problemCauseFor>;
  const stillBad: [
    string,
    "DataToIntegrityProtectBlock" | "DataToIntegrityProtectAndCipherBlock",
    unknown,
    string,
    Cause,
  ][] = [
    [
      "payload entry without value",
      "DataToIntegrityProtectBlock",
      { metaData: meta, payload: [{ iePath: "/a", ieValueLocation: "BODY" }] },
      "/payload/0/value",
      "MANDATORY_IE_MISSING",
    ],
    [
      "headerval a number",
      "DataToIntegrityProtectBlock",
      { metaData: meta, headers: [{ header: "a", value: { headerval: 5 } }] },
      "/headers/0/value",
      "MANDATORY_IE_INCORRECT",
    ],
    [
      "header value a number",
      "DataToIntegrityProtectBlock",
      { metaData: meta, headers: [{ header: "a", value: 5 }] },
      "/headers/0/value",
      "MANDATORY_IE_INCORRECT",
    ],
    [
      "authorizedIpxId missing",
      "DataToIntegrityProtectBlock",
      { metaData: { n32fContextId: meta.n32fContextId, messageId: "1" } },
      "/metaData/authorizedIpxId",
      "MANDATORY_IE_MISSING",
    ],
    [
      "authorizedIpxId a number",
      "DataToIntegrityProtectBlock",
      { metaData: { ...meta, authorizedIpxId: 0 } },
      "/metaData/authorizedIpxId",
      "MANDATORY_IE_INCORRECT",
    ],
    [
      "context id not hex",
      "DataToIntegrityProtectBlock",
      { metaData: { ...meta, n32fContextId: "zz" } },
      "/metaData/n32fContextId",
      "MANDATORY_IE_INCORRECT",
    ],
    [
      "requestLine scheme a number",
      "DataToIntegrityProtectBlock",
      {
        metaData: meta,
        requestLine: { method: "GET", scheme: 1, authority: "a", path: "/", protocolVersion: "HTTP/2" },
      },
      "/requestLine/scheme",
      "MANDATORY_IE_INCORRECT",
    ],
    ["dataToEncrypt missing", "DataToIntegrityProtectAndCipherBlock", {}, "/dataToEncrypt", "MANDATORY_IE_MISSING"],
    [
      "dataToEncrypt null",
      "DataToIntegrityProtectAndCipherBlock",
      { dataToEncrypt: null },
      "/dataToEncrypt",
      "MANDATORY_IE_INCORRECT",
    ],
  ];
  for (const [label, name, value, param, cause] of stillBad) {
    test(`still refused on receive: ${label}`, () => {
      const r = validateReceivedBlock(name, value);
      expect(r).not.toBeNull();
      expect(r!.map((p) => p.param)).toContain(param);
      expect(problemCauseFor(r!)).toBe(cause);
    });
  }
});

describe("project vectors (../shared/spec/vectors/n32f-vectors.json)", () => {
  test("there are vectors", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(3);
  });
  test("every aadObject validates as a received DataToIntegrityProtectBlock", () => {
    for (const m of vectors) expect(validateReceivedBlock("DataToIntegrityProtectBlock", m.aadObject)).toBeNull();
  });
  test("the decoded JWE aad is the aadObject and validates as received", () => {
    for (const m of vectors) {
      const decoded: unknown = JSON.parse(Buffer.from(m.jwe.aad!, "base64url").toString("utf8"));
      expect(decoded).toEqual(m.aadObject);
      expect(validateReceivedBlock("DataToIntegrityProtectBlock", decoded)).toBeNull();
    }
  });
  test("every non-empty plaintextObject validates (sent and received)", () => {
    let n = 0;
    for (const m of vectors) {
      if (m.plaintextObject === null) continue;
      n++;
      expect(validateBody("DataToIntegrityProtectAndCipherBlock", m.plaintextObject)).toBeNull();
      expect(validateReceivedBlock("DataToIntegrityProtectAndCipherBlock", m.plaintextObject)).toBeNull();
    }
    expect(n).toBeGreaterThan(0);
  });
  test("every vector JWE validates as reformattedData of N32fReformattedReqMsg and RspMsg", () => {
    for (const m of vectors) {
      expect(validateBody("N32fReformattedReqMsg", { reformattedData: m.jwe })).toBeNull();
      expect(validateBody("N32fReformattedRspMsg", { reformattedData: m.jwe })).toBeNull();
    }
  });
  test("the vector with an array payload value needs the receive-side leniency", () => {
    const m = vectors.find(
      (v) =>
        Array.isArray(v.aadObject.payload) &&
        (v.aadObject.payload as { value: unknown }[]).some((p) => Array.isArray(p.value)),
    );
    expect(m).toBeDefined();
    expect(validateBody("DataToIntegrityProtectBlock", m!.aadObject)).not.toBeNull();
  });
});

describe("robustness", () => {
  test("arbitrary JSON never throws and yields null or a bounded, non-empty InvalidParam list", () => {
    const names: N32SchemaName[] = [
      "SecNegotiateReqData",
      "SecParamExchReqData",
      "N32fErrorInfo",
      "N32fReformattedReqMsg",
      "DataToIntegrityProtectBlock",
      "ProtectionPolicy",
      "ProblemDetailsMsgForwarding",
    ];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.jsonValue({ maxDepth: 5 }), (name, value) => {
        for (const r of [
          validateBody(name, value),
          name === "DataToIntegrityProtectBlock" ? validateReceivedBlock(name, value) : null,
        ]) {
          if (r === null) continue;
          expect(r.length).toBeGreaterThan(0);
          expect(r.length).toBeLessThanOrEqual(MAX_INVALID_PARAMS);
          for (const p of r) expect(typeof p.param).toBe("string");
        }
      }),
      { numRuns: 300 },
    );
  });
});
