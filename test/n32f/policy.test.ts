// Policy (P4, P10): the generated default mapping, merging that only adds protection, apiSignature matching,
// callbacks, modification rules.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { IeInfo, ProtectionPolicy } from "../../src/model/n32.ts";
import {
  ALWAYS_ENCRYPTED,
  buildEffectivePolicy,
  iesToEncrypt,
  matchesSuffix,
  modificationRules,
  type Segment,
} from "../../src/n32f/policy.ts";
import { parsePointer } from "../../src/n32f/pointer.ts";
import { formatMapping, generateApiIeMapping } from "../../scripts/gen-api-ie-mapping.ts";
import { repairQuotedScalars } from "../../scripts/lib/gen-common.ts";

const root = join(import.meta.dir, "../..");
const specDir = join(root, "..", "shared", "spec", "3gpp");
const committedText = readFileSync(join(root, "config", "api-ie-mapping.json"), "utf8");
const defaults = JSON.parse(committedText) as ProtectionPolicy;

function find(sig: string | { callbackType: string }, method: string): IeInfo[] {
  const m = defaults.apiIeMappingList.find(
    (x) => JSON.stringify(x.apiSignature) === JSON.stringify(sig) && x.apiMethod === method,
  );
  if (!m) throw new Error(`no mapping ${JSON.stringify(sig)} ${method}`);
  return m.IeList;
}

describe("default mapping (config/api-ie-mapping.json) generated from the 3GPP OpenAPI files", () => {
  test("re-running the generator in memory gives the committed file byte for byte", () => {
    expect(formatMapping(generateApiIeMapping(specDir))).toBe(committedText);
  });
  test("covers the roaming APIs with the IEs of TS 33.501 5.9.3.3", () => {
    for (const prefix of [
      "/nudm-sdm/v2/",
      "/nudm-uecm/v1/",
      "/nudm-ueau/v1/",
      "/nausf-auth/v1/",
      "/namf-comm/v1/",
      "/nsmf-pdusession/v1/",
      "/nnrf-disc/v1/",
      "/oauth2/token",
    ])
      expect(
        defaults.apiIeMappingList.some((m) => typeof m.apiSignature === "string" && m.apiSignature.startsWith(prefix)),
      ).toBe(true);
    // [apiSignature, apiMethod, one IE its IeList holds]
    const expected: Array<[string | { callbackType: string }, string, IeInfo]> = [
      ["/nudm-sdm/v2/{supi}/am-data", "GET", { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "supi" }],
      [
        "/nausf-auth/v1/ue-authentications",
        "POST",
        { ieLoc: "BODY", ieType: "AUTHENTICATION_MATERIAL", rspIe: "/5gAuthData" },
      ],
      ["/nausf-auth/v1/ue-authentications", "POST", { ieLoc: "BODY", ieType: "UEID", reqIe: "/supiOrSuci" }],
      [
        "/nausf-auth/v1/ue-authentications/{authCtxId}/5g-aka-confirmation",
        "PUT",
        { ieLoc: "BODY", ieType: "KEY_MATERIAL", rspIe: "/kseaf" },
      ],
      [
        "/nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data",
        "POST",
        { ieLoc: "BODY", ieType: "AUTHENTICATION_MATERIAL", rspIe: "/authenticationVector" },
      ],
      [
        "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
        "PUT",
        { ieLoc: "HEADER", ieType: "UEID", rspIe: "location" },
      ],
      ["/nsmf-pdusession/v1/pdu-sessions", "POST", { ieLoc: "BODY", ieType: "LOCATION", reqIe: "/ueLocation" }],
      ["/nnrf-disc/v1/nf-instances", "GET", { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "supi" }],
      ["/oauth2/token", "POST", { ieLoc: "BODY", ieType: "AUTHORIZATION_TOKEN", rspIe: "/access_token" }],
      [
        "/namf-comm/v1/ue-contexts/{ueContextId}/transfer",
        "POST",
        { ieLoc: "BODY", ieType: "KEY_MATERIAL", rspIe: "/ueContext/seafData" },
      ],
      [
        { callbackType: "Namf_Communication_onN1N2MessageNotify" },
        "POST",
        { ieLoc: "BODY", ieType: "LOCATION", reqIe: "/ncgi" },
      ],
    ];
    for (const [sig, method, ie] of expected) expect(find(sig, method)).toContainEqual(ie);
  });
  test("every entry is concrete and well formed; output sorted", () => {
    for (const m of defaults.apiIeMappingList) {
      expect(m.IeList.length).toBeGreaterThan(0);
      for (const ie of m.IeList) {
        const name = ie.reqIe ?? ie.rspIe!;
        if (ie.ieLoc === "BODY") {
          expect(parsePointer(name)).not.toBeNull();
          expect(name).not.toContain("*");
        }
        if (ie.ieLoc === "HEADER") expect(name).toBe(name.toLowerCase());
      }
    }
    const keys = defaults.apiIeMappingList.map(
      (m) =>
        (typeof m.apiSignature === "string" ? `0${m.apiSignature}` : `1${m.apiSignature.callbackType}`) +
        " " +
        m.apiMethod,
    );
    expect(keys).toEqual([...keys].sort());
  });
  test("the YAML repair only touches under-indented quoted continuation lines", () => {
    const broken = "a:\n  b:\n    description: 'first line\n    second line \"q\"'\n    type: object\n";
    expect(() => parse(broken)).toThrow();
    expect(parse(repairQuotedScalars(broken))).toEqual({
      a: { b: { description: 'first line second line "q"', type: "object" } },
    });
    const fine = "a: 'one'\nb: 'it''s'\nc:\n  d: 'x\n    y'\n";
    expect(repairQuotedScalars(fine)).toBe(fine);
  });
});

describe("buildEffectivePolicy (P4: only ever adds protection)", () => {
  test("always-encrypted types, UEID by default, negotiated types added", () => {
    const p = buildEffectivePolicy({ defaults });
    for (const t of ALWAYS_ENCRYPTED) expect(p.encryptedTypes.has(t)).toBe(true);
    expect(p.encryptedTypes.has("UEID")).toBe(true);
    expect(p.encryptedTypes.has("OTHER")).toBe(false);
    const noUe = buildEffectivePolicy({ defaults, encryptUeid: false });
    expect(noUe.encryptedTypes.has("UEID")).toBe(false);
    expect(noUe.encryptedTypes.has("LOCATION")).toBe(true);
    expect(iesToEncrypt(noUe, "request", "GET", "/nudm-sdm/v2/imsi-1/am-data").pathVars).toEqual([]);
    const more = buildEffectivePolicy({ defaults, encryptUeid: false, dataTypeEncPolicy: ["OTHER", "UEID"] });
    expect(more.encryptedTypes.has("UEID") && more.encryptedTypes.has("OTHER")).toBe(true);
  });
  test("local and peer mappings add IEs; a peer cannot declassify a default IE", () => {
    const peer: ProtectionPolicy = {
      apiIeMappingList: [
        {
          apiSignature: "/nausf-auth/v1/ue-authentications",
          apiMethod: "POST",
          IeList: [
            { ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/supiOrSuci" },
            { ieLoc: "BODY", ieType: "LOCATION", reqIe: "/cellCagInfo" },
          ],
        },
      ],
    };
    const p = buildEffectivePolicy({ defaults, peer });
    const ies = iesToEncrypt(p, "request", "POST", "/nausf-auth/v1/ue-authentications");
    expect(ies.bodyPointers).toContainEqual(["supiOrSuci"]);
    expect(ies.bodyPointers).toContainEqual(["cellCagInfo"]);
    expect(ies.headers.has("authorization")).toBe(true);
  });
});

describe("apiSignature matching (P10)", () => {
  const local: ProtectionPolicy = {
    apiIeMappingList: [
      {
        apiSignature: "/nx/v1/{a}/items",
        apiMethod: "GET",
        IeList: [{ ieLoc: "HEADER", ieType: "UEID", reqIe: "x-generic" }],
      },
      {
        apiSignature: "/nx/v1/{a}/{b}",
        apiMethod: "GET",
        IeList: [{ ieLoc: "HEADER", ieType: "UEID", reqIe: "x-less-specific" }],
      },
      {
        apiSignature: "/nx/v1/{z}/items",
        apiMethod: "GET",
        IeList: [
          { ieLoc: "HEADER", ieType: "UEID", reqIe: "x-same-specificity" },
          { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "z" },
        ],
      },
      {
        apiSignature: "/nx/v1/{a}/items",
        apiMethod: "PUT",
        IeList: [{ ieLoc: "HEADER", ieType: "UEID", reqIe: "x-put" }],
      },
      {
        apiSignature: { callbackType: "Nx_Notify" },
        apiMethod: "POST",
        IeList: [{ ieLoc: "BODY", ieType: "LOCATION", reqIe: "/cell" }],
      },
      {
        apiSignature: "/nx/v1/{a}/items",
        apiMethod: "POST",
        IeList: [
          { ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/note", isModifiable: true },
          { ieLoc: "HEADER", ieType: "NONSENSITIVE", rspIe: "x-r", isModifiableByIpx: { "ipx1.example.org": true } },
          { ieLoc: "BODY", ieType: "UEID", reqIe: "/supi" },
        ],
      },
    ],
  };
  const p = buildEffectivePolicy({ defaults: { apiIeMappingList: [] }, local });
  test("suffix at segment boundaries; most literal segments wins; equally specific ones merge", () => {
    const ies = iesToEncrypt(p, "request", "GET", "/prefix/root/nx/v1/imsi-1/items");
    expect([...ies.headers].sort()).toEqual(["authorization", "x-generic", "x-same-specificity"]);
    expect(ies.pathVars).toEqual([{ name: "z", fromEnd: 1 }]);
    expect([...iesToEncrypt(p, "request", "GET", "/nx/v1/imsi-1/other").headers].sort()).toEqual([
      "authorization",
      "x-less-specific",
    ]);
    expect([...iesToEncrypt(p, "request", "GET", "/anx/v1/imsi-1/items").headers]).toEqual(["authorization"]);
    expect([...iesToEncrypt(p, "request", "GET", "/nx/v1//items").headers]).toEqual(["authorization"]);
    expect([...iesToEncrypt(p, "request", "PUT", "/nx/v1/i/items").headers].sort()).toEqual(["authorization", "x-put"]);
    expect([...iesToEncrypt(p, "request", "DELETE", "/nx/v1/i/items").headers]).toEqual(["authorization"]);
  });
  test("callbacks are matched by their 3gpp-Sbi-Callback type, whatever the path", () => {
    expect(iesToEncrypt(p, "request", "POST", "/any/callback/uri", "Nx_Notify").bodyPointers).toEqual([["cell"]]);
    expect(iesToEncrypt(p, "request", "POST", "/any/callback/uri").bodyPointers).toEqual([]);
  });
  test("a single match reuses the precompiled plan (no per-message work)", () => {
    const a = iesToEncrypt(p, "request", "PUT", "/nx/v1/i/items");
    expect(iesToEncrypt(p, "request", "PUT", "/x/nx/v1/other/items")).toBe(a);
  });
  test("modificationRules returns the IEs with isModifiable / isModifiableByIpx of the matching mapping", () => {
    expect(modificationRules(p, "request", "POST", "/nx/v1/i/items")).toEqual([
      { ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/note", isModifiable: true },
    ]);
    expect(modificationRules(p, "response", "POST", "/nx/v1/i/items")).toEqual([
      { ieLoc: "HEADER", ieType: "NONSENSITIVE", rspIe: "x-r", isModifiableByIpx: { "ipx1.example.org": true } },
    ]);
    expect(modificationRules(p, "request", "GET", "/nx/v1/i/items")).toEqual([]);
  });
});

describe("matchesSuffix (the path read in place) against the path cut into its segments", () => {
  /** path segments (raw), without the empty leading one */
  function pathSegments(path: string): string[] {
    const s = path.split("/");
    if (s[0] === "") s.shift();
    return s;
  }
  /** the reading before issue 11's change: cut the path, compare its last segments */
  function bySegments(template: readonly Segment[], path: string): boolean {
    const segs = pathSegments(path);
    if (template.length > segs.length) return false;
    const off = segs.length - template.length;
    return template.every((t, i) => (t.literal !== undefined ? t.literal === segs[off + i] : segs[off + i] !== ""));
  }
  const PARTS = ["", "a", "ab", "b", "nudm-sdm", "v2", "am-data"];

  test("every path of up to 5 segments and every template of up to 4 over a small alphabet", () => {
    const templates: Segment[][] = [[]];
    for (let n = 1; n <= 4; n++)
      for (const t of templates.filter((x) => x.length === n - 1))
        for (const p of [...PARTS.filter((x) => x !== "").map((literal) => ({ literal })), { varName: "v" }])
          templates.push([...t, p]);
    const paths = new Set<string>([""]);
    for (let n = 0; n < 4; n++)
      for (const p of [...paths]) for (const part of ["", "a", "ab", "v2"]) paths.add(`${p}/${part}`);
    for (const p of [...paths]) if (p.startsWith("/")) paths.add(p.slice(1)); // without the leading "/" too
    let checked = 0;
    for (const t of templates)
      for (const p of paths) {
        expect([t, p, matchesSuffix(t, p)]).toEqual([t, p, bySegments(t, p)]);
        checked++;
      }
    expect(checked).toBeGreaterThan(50_000);
  });

  test("the bench message's path and its neighbours", () => {
    const t: Segment[] = [{ varName: "supi" }, { literal: "am-data" }];
    expect(matchesSuffix(t, "/nudm-sdm/v2/imsi-001010000000001/am-data")).toBe(true);
    expect(matchesSuffix(t, "/nudm-sdm/v2//am-data")).toBe(false);
    expect(matchesSuffix(t, "/am-data")).toBe(false);
    expect(matchesSuffix(t, "/x/am-data/")).toBe(false);
    expect(matchesSuffix(t, "x/am-data")).toBe(true);
    expect(matchesSuffix(t, "/x/am-datax")).toBe(false);
  });
});
