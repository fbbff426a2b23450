// The pSEPP's per-request PLMN checks keep their results per token payload and per header value
// (src/datapath/psepp.ts): the answers must be those of the full checks, every time, for every PLMN list.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { originAtReceiver, tokenConsumerPlmn } from "../../src/datapath/plmn-checks.ts";
import { checkOriginAtReceiver } from "../../src/sbi/origin.ts";
import type { PlmnIdNid } from "../../src/model/n32.ts";

const jwt = (claims: unknown) =>
  `Bearer eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;

describe("pSEPP checks with kept results", () => {
  test("tokenConsumerPlmn: same answers on repeat, callers cannot alter the kept result", () => {
    const cases: Array<[string | undefined, unknown]> = [
      [undefined, null],
      ["Basic abc", null],
      [jwt({ sub: "amf" }), null],
      [jwt({ consumerPlmnId: { mcc: "234", mnc: "15" } }), { mcc: "234", mnc: "15" }],
      [`  ${jwt({ consumerPlmnId: { mcc: "234", mnc: "15" } })} `, { mcc: "234", mnc: "15" }],
      [jwt({ consumerPlmnId: { mcc: 234, mnc: "15" } }), "malformed"],
      [jwt({ consumerPlmnId: null }), "malformed"],
      ["Bearer a.bm90IGpzb24.c", "malformed"],
    ];
    for (let round = 0; round < 3; round++)
      for (const [h, want] of cases) {
        const r = tokenConsumerPlmn(h);
        expect(r).toEqual(want as never);
        if (r && typeof r === "object") r.mcc = "999"; // must not reach the next caller
      }
  });

  test("tokenConsumerPlmn: huge and many distinct payloads give the same answers (bounded cache)", () => {
    const big = jwt({ consumerPlmnId: { mcc: "001", mnc: "01" }, pad: "x".repeat(5000) });
    for (let i = 0; i < 2; i++) expect(tokenConsumerPlmn(big)).toEqual({ mcc: "001", mnc: "01" });
    for (let i = 0; i < 600; i++)
      expect(
        tokenConsumerPlmn(jwt({ consumerPlmnId: { mcc: "234", mnc: String(i % 100).padStart(2, "0") }, n: i })),
      ).toEqual({ mcc: "234", mnc: String(i % 100).padStart(2, "0") });
  });

  test("originAtReceiver = checkOriginAtReceiver for any values and PLMN lists, repeated", () => {
    const lists: PlmnIdNid[][] = [
      [{ mcc: "234", mnc: "15" }],
      [
        { mcc: "262", mnc: "001" },
        { mcc: "234", mnc: "015" },
      ],
      [{ mcc: "234", mnc: "15", nid: "0123456789a" }],
    ];
    const value = fc.oneof(
      fc.constantFrom(
        "234-15",
        "234-015",
        "262-01",
        "234-15; src: SEPP-sepp.example.org",
        "234-15-0123456789A",
        "",
        " 234-15 ",
        "x",
        "234-15;src:SEPP-a.b",
      ),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3 }), fc.integer({ min: 0, max: 2 }), (values, li) => {
        const plmnIds = lists[li]!;
        const want = checkOriginAtReceiver(values, { plmnIds });
        expect(originAtReceiver(values, plmnIds)).toEqual(want);
        expect(originAtReceiver(values, plmnIds)).toEqual(want);
      }),
      { numRuns: 3000 },
    );
    // absent vs an empty value are different answers
    expect(originAtReceiver([], lists[0]!).action).toBe("forward");
    expect(originAtReceiver([""], lists[0]!).action).toBe("reject");
  });
});
