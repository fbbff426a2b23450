// 3gpp-Sbi-Originating-Network-Id (src/sbi/origin.ts): TS 29.500 ABNF, TS 33.501 5.9.3.2, N32-PROFILE P10.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  checkOriginAtReceiver,
  checkOriginAtSender,
  formatOriginatingNetworkId,
  OriginError,
  originMatches,
  parseOriginatingNetworkId,
} from "../../src/sbi/origin.ts";

const OWN = {
  plmnIds: [
    { mcc: "001", mnc: "01" },
    { mcc: "001", mnc: "002" },
  ],
  fqdn: "sepp.5gc.mnc001.mcc001.3gppnetwork.org",
};
const PEER = { plmnIds: [{ mcc: "262", mnc: "01" }] };

describe("parse / format (ABNF)", () => {
  test("the digest's example", () => {
    expect(parseOriginatingNetworkId("262-01; src: SEPP-sepp.5gc.mnc001.mcc262.3gppnetwork.org")).toEqual({
      plmn: { mcc: "262", mnc: "01" },
      src: { type: "SEPP", fqdn: "sepp.5gc.mnc001.mcc262.3gppnetwork.org" },
    });
  });
  test("OWS, NID, SCP source, case-insensitive literals", () => {
    expect(parseOriginatingNetworkId(" \t262-001 ")).toEqual({ plmn: { mcc: "262", mnc: "001" } });
    expect(parseOriginatingNetworkId("262-01-0123456789A")).toEqual({
      plmn: { mcc: "262", mnc: "01" },
      nid: "0123456789a",
    });
    expect(parseOriginatingNetworkId("262-01;src:\tscp-scp1.example.org")).toEqual({
      plmn: { mcc: "262", mnc: "01" },
      src: { type: "SCP", fqdn: "scp1.example.org" },
    });
  });
  const bad = [
    "",
    "262",
    "262-1",
    "262-0001",
    "26-01",
    "2620-01",
    "262_01",
    "262-01-0123456789",
    "262-01-0123456789ab",
    "262-01-0123456789g",
    "262-01; src:SEPP-sepp.example.org", // RWS required after "src:"
    "262-01; src: SEPP-abc",
    "262-01; src: NF-nf.example.org",
    "262-01; src: SEPP-sepp_x.example.org",
    "262-01, 263-01",
    "262-01; src: SEPP-a.example.org; x",
    "262-01\r\nx-injected: 1",
    `262-01; src: SEPP-${"a".repeat(600)}`,
    "ab-cd",
  ];
  for (const v of bad)
    test(`refuses ${JSON.stringify(v.slice(0, 50))}`, () => {
      expect(() => parseOriginatingNetworkId(v)).toThrow(OriginError);
    });
  test("format", () => {
    expect(formatOriginatingNetworkId({ plmn: { mcc: "001", mnc: "01" }, src: { type: "SEPP", fqdn: OWN.fqdn } })).toBe(
      `001-01; src: SEPP-${OWN.fqdn}`,
    );
    expect(formatOriginatingNetworkId({ plmn: { mcc: "001", mnc: "001" }, nid: "00000000abc" })).toBe(
      "001-001-00000000abc",
    );
    expect(() => formatOriginatingNetworkId({ plmn: { mcc: "1", mnc: "01" } })).toThrow(OriginError);
    expect(() => formatOriginatingNetworkId({ plmn: { mcc: "001", mnc: "01" }, nid: "xyz" })).toThrow(OriginError);
    expect(() =>
      formatOriginatingNetworkId({ plmn: { mcc: "001", mnc: "01" }, src: { type: "SEPP", fqdn: "a b\r\nc" } }),
    ).toThrow(OriginError);
  });
  test("property: parse(format(x)) = x", () => {
    const digits = (n: number) =>
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(""));
    fc.assert(
      fc.property(
        digits(3),
        fc.oneof(digits(2), digits(3)),
        fc.option(fc.stringMatching(/^[0-9a-f]{11}$/), { nil: undefined }),
        fc.option(
          fc.record({
            type: fc.constantFrom("SCP" as const, "SEPP" as const),
            fqdn: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{3,40}$/),
          }),
          { nil: undefined },
        ),
        (mcc, mnc, nid, src) => {
          const o = { plmn: { mcc, mnc }, ...(nid !== undefined ? { nid } : {}), ...(src ? { src } : {}) };
          expect(parseOriginatingNetworkId(formatOriginatingNetworkId(o))).toEqual(o);
        },
      ),
    );
  });
  test("originMatches compares the MNC padded to three digits, and NIDs", () => {
    expect(originMatches({ plmn: { mcc: "262", mnc: "001" } }, PEER.plmnIds)).toBe(true);
    expect(originMatches({ plmn: { mcc: "262", mnc: "02" } }, PEER.plmnIds)).toBe(false);
    expect(originMatches({ plmn: { mcc: "262", mnc: "01" }, nid: "0123456789a" }, PEER.plmnIds)).toBe(false);
    expect(
      originMatches({ plmn: { mcc: "262", mnc: "01" }, nid: "0123456789a" }, [
        { mcc: "262", mnc: "001", nid: "0123456789A" },
      ]),
    ).toBe(true);
  });
});

describe("cSEPP (sending SEPP)", () => {
  test("missing: inserts <own PLMN>; src: SEPP-<own FQDN>", () => {
    for (const v of [undefined, null, [] as string[]])
      expect(checkOriginAtSender(v, OWN)).toMatchObject({
        action: "forward",
        inserted: true,
        value: `001-01; src: SEPP-${OWN.fqdn}`,
      });
    expect(checkOriginAtSender(undefined, { ...OWN, insertPlmn: { mcc: "001", mnc: "002" } })).toMatchObject({
      value: `001-002; src: SEPP-${OWN.fqdn}`,
    });
  });
  test("present and ours: forwarded unchanged (trimmed)", () => {
    expect(checkOriginAtSender(" 001-001 ", OWN)).toEqual({
      action: "forward",
      value: "001-001",
      inserted: false,
      parsed: { plmn: { mcc: "001", mnc: "001" } },
    });
    expect(checkOriginAtSender(["001-002; src: SCP-scp.example.org"], OWN)).toMatchObject({
      action: "forward",
      inserted: false,
    });
  });
  test("present and not ours: 403 PLMN_ID_MISMATCH (spoofing)", () => {
    expect(checkOriginAtSender("262-01", OWN)).toMatchObject({
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
    });
  });
  test("malformed or repeated: 400", () => {
    expect(checkOriginAtSender("001-1", OWN)).toMatchObject({
      action: "reject",
      status: 400,
      cause: "MANDATORY_IE_INCORRECT",
    });
    expect(checkOriginAtSender(["001-01", "001-01"], OWN)).toMatchObject({ action: "reject", status: 400 });
  });
  test("no own PLMN is a configuration error", () => {
    expect(() => checkOriginAtSender(undefined, { plmnIds: [], fqdn: OWN.fqdn })).toThrow(OriginError);
  });
});

describe("pSEPP (receiving SEPP)", () => {
  test("the peer's PLMN: forwarded", () => {
    expect(checkOriginAtReceiver("262-001; src: SEPP-sepp.5gc.mnc001.mcc262.3gppnetwork.org", PEER)).toMatchObject({
      action: "forward",
      inserted: false,
    });
  });
  test("another PLMN (incl. ours): 403 PLMN_ID_MISMATCH", () => {
    expect(checkOriginAtReceiver("001-01", PEER)).toMatchObject({
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
    });
    expect(checkOriginAtReceiver("262-02", PEER)).toMatchObject({
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
    });
  });
  test("malformed or repeated: cannot be verified → 403 PLMN_ID_MISMATCH", () => {
    expect(checkOriginAtReceiver("262-01; src: SEPP-x", PEER)).toMatchObject({
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
    });
    expect(checkOriginAtReceiver(["262-01", "262-01"], PEER)).toMatchObject({ action: "reject", status: 403 });
  });
  test("missing: forwarded with a warning (P10)", () => {
    expect(checkOriginAtReceiver(undefined, PEER)).toEqual({
      action: "forward",
      value: null,
      inserted: false,
      parsed: null,
      warning: "3gpp-Sbi-Originating-Network-Id missing",
    });
  });
});
