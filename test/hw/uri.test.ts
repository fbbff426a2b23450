// PKCS#11 URIs (RFC 7512): parsing, refusal of unknown attributes and PINs, token matching, formatting round trip.
import { expect, test } from "bun:test";
import { CKA, CKO } from "../../hw/pkcs11/constants.ts";
import { formatPkcs11Uri, objectTemplate, parsePkcs11Uri, tokenMatches } from "../../hw/pkcs11/uri.ts";

test("RFC 7512 examples parse", () => {
  expect(parsePkcs11Uri("pkcs11:")).toEqual({});
  expect(parsePkcs11Uri("pkcs11:object=my-pubkey;type=public")).toEqual({ object: "my-pubkey", type: "public" });
  const u = parsePkcs11Uri(
    "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
  );
  expect(u.token).toBe("The Software PKCS#11 Softtoken");
  expect(u.manufacturer).toBe("Snake Oil, Inc.");
  expect(u.type).toBe("cert");
  expect([...u.id!]).toEqual([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]);
  expect(u.serial).toBe("");
  expect(
    parsePkcs11Uri(
      "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?module-path=/usr/lib/libsofthsm2.so",
    ).modulePath,
  ).toBe("/usr/lib/libsofthsm2.so");
  expect(parsePkcs11Uri("pkcs11:slot-id=3;x-vendor=1").slotId).toBe(3);
  expect(parsePkcs11Uri("pkcs11:object=%E2%82%AC").object).toBe("€");
});

test("bad URIs are refused with the reason; a PIN in the URI is refused without echoing it", () => {
  expect(() => parsePkcs11Uri("pkcs12:token=a")).toThrow(/starts with pkcs11:/);
  expect(() => parsePkcs11Uri("pkcs11:token=a;token=b")).toThrow(/repeated/);
  expect(() => parsePkcs11Uri("pkcs11:type=secret")).toThrow(/type must be/);
  expect(() => parsePkcs11Uri("pkcs11:foo=bar")).toThrow(/unknown path attribute foo/);
  expect(() => parsePkcs11Uri("pkcs11:object=a%2")).toThrow(/percent-encoding/);
  expect(() => parsePkcs11Uri("pkcs11:object=a b")).toThrow(/percent-encode/);
  expect(() => parsePkcs11Uri("pkcs11:slot-id=x")).toThrow(/decimal/);
  expect(() => parsePkcs11Uri("pkcs11:object")).toThrow(/without a value/);
  expect(() => parsePkcs11Uri("pkcs11:object=%FF")).toThrow(/UTF-8/);
  expect(() => parsePkcs11Uri(`pkcs11:token=x${"a".repeat(5000)}`)).toThrow(/too long/);
  let msg = "";
  try {
    parsePkcs11Uri("pkcs11:token=a?pin-value=s3cr3t-pin");
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toContain("pin-value is not accepted");
  expect(msg).not.toContain("s3cr3t");
});

test("token matching uses every given token attribute; absent ones match anything", () => {
  const info = { label: "sepp", manufacturer: "SoftHSM project", model: "SoftHSM v2", serial: "abc" };
  expect(tokenMatches(parsePkcs11Uri("pkcs11:token=sepp"), info)).toBe(true);
  expect(tokenMatches(parsePkcs11Uri("pkcs11:token=sepp;serial=abc;model=SoftHSM%20v2"), info)).toBe(true);
  expect(tokenMatches(parsePkcs11Uri("pkcs11:token=sepp;serial=abd"), info)).toBe(false);
  expect(tokenMatches(parsePkcs11Uri("pkcs11:token=Sepp"), info)).toBe(false);
  expect(tokenMatches(parsePkcs11Uri("pkcs11:slot-id=2"), info, 3)).toBe(false);
  expect(tokenMatches(parsePkcs11Uri("pkcs11:"), info)).toBe(true);
});

test("object attributes become a C_FindObjectsInit template; format/parse round trip", () => {
  const u = parsePkcs11Uri("pkcs11:token=t;object=sepp-identity;type=private;id=%01%02");
  expect(objectTemplate(u)).toEqual([
    [CKA.CLASS, CKO.PRIVATE_KEY],
    [CKA.LABEL, "sepp-identity"],
    [CKA.ID, Uint8Array.of(1, 2)],
  ]);
  const cases = [
    { token: "a;b?c d", object: "key/1", type: "secret-key" as const, id: Uint8Array.of(0, 255, 65) },
    { token: "€ token", serial: "0011", modulePath: "/usr/lib/softhsm/libsofthsm2.so" },
    {},
  ];
  for (const c of cases) expect(parsePkcs11Uri(formatPkcs11Uri(c))).toEqual(c);
  expect(formatPkcs11Uri({ token: "sepp", object: "sepp-identity", type: "private", id: Uint8Array.of(0xab) })).toBe(
    "pkcs11:token=sepp;object=sepp-identity;type=private;id=%AB",
  );
});
