// One definition of PLMN identity (src/model/plmn.ts): a 2-digit MNC equals its 3-digit form with a leading zero.
import { describe, expect, test } from "bun:test";
import { fiveGcDomainOf, plmnKey, samePlmn } from "../../src/model/plmn.ts";

describe("PLMN identity", () => {
  test("a 2-digit MNC is the same PLMN as its 3-digit form, in either order; other digits or another MCC are not", () => {
    expect(samePlmn({ mcc: "262", mnc: "01" }, { mcc: "262", mnc: "001" })).toBe(true);
    expect(samePlmn({ mcc: "262", mnc: "001" }, { mcc: "262", mnc: "01" })).toBe(true);
    expect(samePlmn({ mcc: "262", mnc: "01" }, { mcc: "262", mnc: "01" })).toBe(true);
    expect(samePlmn({ mcc: "262", mnc: "01" }, { mcc: "262", mnc: "010" })).toBe(false);
    expect(samePlmn({ mcc: "262", mnc: "10" }, { mcc: "262", mnc: "100" })).toBe(false);
    expect(samePlmn({ mcc: "262", mnc: "01" }, { mcc: "263", mnc: "01" })).toBe(false);
  });
  test("samePlmn agrees with comparing the 3-digit forms, for every pair of MNC spellings of 0 to 4 digits", () => {
    const spellings = ["", "0", "1", "00", "01", "10", "15", "000", "001", "010", "015", "100", "150", "0015", "1234"];
    const mnc3 = (m: string) => (m.length >= 3 ? m : m.padStart(3, "0"));
    for (const x of spellings)
      for (const y of spellings)
        expect([x, y, samePlmn({ mcc: "234", mnc: x }, { mcc: "234", mnc: y })]).toEqual([x, y, mnc3(x) === mnc3(y)]);
  });
  test("keys and 5GC domains use the 3-digit MNC", () => {
    expect(plmnKey({ mcc: "262", mnc: "01" })).toBe("262-001");
    expect(plmnKey({ mcc: "310", mnc: "410" })).toBe("310-410");
    expect(fiveGcDomainOf({ mcc: "234", mnc: "15" })).toBe("5gc.mnc015.mcc234.3gppnetwork.org");
  });
});
