// The PRINS aad and plaintext written with the WebAssembly payload module (src/n32f/wasm/) against the reference
// (reformat() + JSON.stringify): byte-identical octets, or declined (null) so that the reference writes them; never
// octets where the reference refuses. Over the message fixtures, the shared vectors, random JSON texts and their
// canonical forms, and the module's bounds.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import type { HttpMethod, MetaData, ProtectionPolicy } from "../../src/model/n32.ts";
import { hasJsonContentType, type HttpMessage } from "../../src/n32f/message.ts";
import { buildEffectivePolicy, type EffectivePolicy } from "../../src/n32f/policy.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { reformatReferenceText } from "../../src/n32f/text/reformat-text.ts";
import { payloadWasmMemory, payloadWasmTraps, reformatWasm } from "../../src/n32f/wasm/reformat-wasm.ts";
import { loadFixtures, type Fixture } from "../fixtures/messages/load.ts";
import { partsPolicy } from "../support/fixture-policy.ts";
import { testApiPolicy, testApiRequest } from "../support/test-api.ts";
import { n32fVectors } from "../support/vectors.ts";
import { bodyText, jsonText, mutatedText } from "./text-arb.ts";

const metaData: MetaData = {
  n32fContextId: "0123456789abcdef",
  messageId: "fedcba9876543210",
  authorizedIpxId: "NULL",
};
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Both writers on one message: the module's octets equal the reference's UTF-8, or it declined. */
function same(
  msg: HttpMessage,
  policy: EffectivePolicy,
  request?: Fixture["request"],
): "wasm" | "reference" | "refused" {
  const opts = { metaData, policy, request };
  let ref: { aad: string; plaintext: string } | null = null;
  let refError = "";
  try {
    ref = reformatReferenceText(msg, opts);
  } catch (e) {
    refError = String((e as Error).message);
  }
  let w: { aad: string; plaintext: string } | null = null;
  let wError = "";
  try {
    const b = reformatWasm(msg, opts);
    if (b) w = { aad: text.decode(b.aad), plaintext: text.decode(b.plaintext) };
  } catch (e) {
    wError = String((e as Error).message);
  }
  if (!ref) {
    // the head's refusals come from reformatHead() in both; the body's are the reference's alone
    expect(w).toBeNull();
    if (wError) expect(wError).toBe(refError);
    return "refused";
  }
  expect(wError).toBe("");
  if (!w) return "reference";
  expect(w.aad).toBe(ref.aad);
  expect(w.plaintext).toBe(ref.plaintext);
  return "wasm";
}

const fixturePolicy = (fx: Fixture) =>
  buildEffectivePolicy({ defaults: defaults as ProtectionPolicy, local: partsPolicy(fx) });
const isJson = (fx: Fixture) => hasJsonContentType(fx.message);

describe("wasm payload = reference on the message fixtures", () => {
  for (const fx of loadFixtures()) {
    test(`${fx.name}: same aad and plaintext`, () => {
      const by = same(fx.message, fixturePolicy(fx), fx.request);
      // the module really writes the compact JSON bodies (else this compares the reference with itself); the one
      // ProblemDetails is encrypted whole by the default policy, which the module leaves to the reference
      if (isJson(fx) && fx.message.body?.length && fx.name !== "nudm-sdm-not-found.response") expect(by).toBe("wasm");
      else expect(by).toBe("reference");
    });
  }

  test("pretty-printed or with escaped names, the same bodies are left to the reference", () => {
    for (const fx of loadFixtures()) {
      if (!isJson(fx) || !fx.message.body?.length) continue;
      const value = JSON.parse(Buffer.from(fx.message.body).toString());
      for (const t of [JSON.stringify(value, null, 2), JSON.stringify(value).replace(/"([a-z])/, '"\\u0061$1')]) {
        if (t === JSON.stringify(value)) continue;
        expect(same({ ...fx.message, body: utf8.encode(t) }, fixturePolicy(fx), fx.request)).toBe("reference");
      }
    }
  });
});

describe("wasm payload = reference on the shared vectors (n32f-vectors.json)", () => {
  const policy = buildEffectivePolicy({ defaults: defaults as ProtectionPolicy });
  for (const v of n32fVectors().messages) {
    test(v.description, () => {
      const msg = reconstruct(v.aadObject, v.plaintextObject?.dataToEncrypt ?? []);
      const request =
        msg.kind === "response" ? { method: "GET" as HttpMethod, path: "/nudm-sdm/v2/x/am-data" } : undefined;
      same(msg, policy, request);
    });
  }
});

// members and nested IEs the generators produce often (text-arb.ts), a member named "" and a header
const randomPolicy = testApiPolicy(["/a", "/b/a", "/b/1", "/c/0/a", "/x~1y", "/gpsis", "/b/__proto__", "/t~01", "/"]);

function req(body: string | Uint8Array, contentType = "application/json", extra: [string, string][] = []): HttpMessage {
  return testApiRequest(body, [["content-type", contentType], ["x-one", "1"], ...extra]);
}

/** The text JSON.stringify would write for `t`, when `t` is JSON. */
const canonical = (t: string) => {
  try {
    return JSON.stringify(JSON.parse(t)) ?? t;
  } catch {
    return t;
  }
};

// JSON.stringify of values without escapes, fractions or index-like names: the texts the module writes itself
const plainName = fc.constantFrom("a", "b", "c", "q", "gpsis", "supi", "x", "é", "__proto__", "", "a b", "€😀");
const plainValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer({ min: -1e15 + 1, max: 1e15 - 1 }),
    fc.string({ unit: fc.constantFrom("a", "Z", "0", " ", "é", "€", "😀", "-", ":") }),
    fc.constantFrom(true, false, null),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(plainName, tie("v"), { maxKeys: 5 }),
  ),
})).v;
const plainBody = fc.dictionary(plainName, plainValue, { minKeys: 1, maxKeys: 8 }).map((o) => JSON.stringify(o));

test("a name repeated after a nested object, at every depth, is the reference's (each object its own name filter)", () => {
  const bodies = [
    '{"a":{"x":1},"a":2}',
    '{"q":{"a":{"x":1},"a":2}}',
    '{"q":[{"a":{"x":{"y":1}},"a":2}]}',
    '{"b":{"c":{"z":1},"d":[{"e":1}],"c":3}}',
    '{"gpsis":{"k":{"x":1},"k":2},"z":1}',
  ];
  for (const t of bodies) expect(same(req(t), randomPolicy)).toBe("reference");
});

describe("wasm payload = reference on random JSON texts (fast-check)", () => {
  test("canonical bodies the module writes: members the policy encrypts, splits and leaves", () => {
    let byWasm = 0;
    fc.assert(
      fc.property(plainBody, (t) => {
        if (same(req(t), randomPolicy) === "wasm") byWasm++;
      }),
      { numRuns: 3000 },
    );
    expect(byWasm).toBeGreaterThan(1500); // most of them really take the module (arrays on the way to an IE do not)
  });

  test("numbers and strings as JSON.stringify writes them: fractions, escapes, control characters", () => {
    let byWasm = 0;
    // arbitrary doubles (mostly 16–17 digits: the reference's) seldom, so that most bodies are the module's
    const stringified = fc.oneof(
      { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
      {
        weight: 4,
        arbitrary: fc
          .integer({ min: -1e9, max: 1e9 })
          .chain((m) => fc.integer({ min: 0, max: 12 }).map((e) => m / 10 ** e)),
      },
      {
        weight: 4,
        arbitrary: fc.string({
          unit: fc.constantFrom("a", '"', "\\", "\n", "\t", "\u0001", "\u001f", "\u007f", "/", "\u2028", "é"),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(plainName, stringified), { minLength: 1, maxLength: 6 }), (members) => {
        const t = JSON.stringify(Object.fromEntries(members));
        if (same(req(t), randomPolicy) === "wasm") byWasm++;
      }),
      { numRuns: 3000 },
    );
    expect(byWasm).toBeGreaterThan(1000);
  });

  test("numbers and escapes one by one: written where JSON.stringify writes the same text, else the reference's", () => {
    const written = ["0.5", "-0.5", "0.000001", "123456789012.345", "100.25", "0", "-1", "999999999999999"];
    const declined = ["1.50", "1e5", "1E5", "0.0000001", "1234567890123.456", "-0", "1.0", "9999999999999999"];
    for (const v of written) expect(same(req(`{"z":1,"v":${v}}`), randomPolicy)).toBe("wasm");
    for (const v of declined) expect(same(req(`{"z":1,"v":${v}}`), randomPolicy)).toBe("reference");
    const escWritten = ['"a\\"b"', '"\\\\"', '"\\n\\t\\r\\b\\f"', '"\\u0000\\u001f\\u000b\\u001e"'];
    const escDeclined = ['"\\/"', '"\\u0041"', '"\\u001F"', '"\\u000a"', '"\\ud83d\\ude00"', '"\\ud800"', '"\\u0020"'];
    for (const v of escWritten) expect(same(req(`{"z":1,"v":${v}}`), randomPolicy)).toBe("wasm");
    for (const v of escDeclined) expect(same(req(`{"z":1,"v":${v}}`), randomPolicy)).toBe("reference");
    // an escape in a name: the policy's pointers are compared with its octets, so never
    expect(same(req('{"z":1,"a\\nb":2}'), randomPolicy)).toBe("reference");
    expect(same(req('{"gpsis":"a\\"b","z":1}'), randomPolicy)).toBe("wasm"); // an encrypted value with an escape
  });

  test("the generators' texts in canonical form (escapes, numbers JSON.stringify rewrites)", () => {
    fc.assert(
      fc.property(bodyText.map(canonical), (t) => {
        same(req(t), randomPolicy);
      }),
      { numRuns: 3000 },
    );
  });

  test("bodies with whitespace, escapes, repeated and index-like names, odd numbers", () => {
    fc.assert(
      fc.property(bodyText, (t) => {
        same(req(t), randomPolicy);
      }),
      { numRuns: 3000 },
    );
  });

  test("any JSON value as the body, an encrypted root, another JSON media type", () => {
    fc.assert(
      fc.property(jsonText, (t) => {
        same(req(t), randomPolicy);
        same(req(canonical(t)), testApiPolicy([""]));
        same(req(canonical(t), "application/problem+json"), randomPolicy);
      }),
      { numRuns: 1500 },
    );
  });

  test("mutated (mostly invalid) bodies: never octets where the reference refuses", () => {
    fc.assert(
      fc.property(mutatedText, (t) => {
        same(req(t), randomPolicy);
        same(req(canonical(t)), randomPolicy);
      }),
      { numRuns: 3000 },
    );
  });

  test("overlong forms, surrogates, code points over U+10FFFF and cut sequences in a string value", () => {
    const bad = [
      [0xc0, 0xaf],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0xaf],
      [0xf0, 0x80, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
      [0x80],
      [0xf0, 0x9f, 0x98],
    ];
    const good = [
      [0xc2, 0x80],
      [0xdf, 0xbf],
      [0xe0, 0xa0, 0x80],
      [0xed, 0x9f, 0xbf],
      [0xee, 0x80, 0x80],
      [0xf0, 0x90, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf],
    ];
    for (const octets of [...bad, ...good]) {
      const body = new Uint8Array([...utf8.encode('{"a":"x","s":"'), ...octets, ...utf8.encode('"}')]);
      expect(same(req(body), randomPolicy)).toBe(good.includes(octets) ? "wasm" : "refused");
    }
  });

  test("random UTF-8 and non-UTF-8 octets in string values", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (octets) => {
        const body = new Uint8Array([
          ...utf8.encode('{"a":"x","s":"'),
          ...octets.filter((o) => o !== 0x22 && o !== 0x5c),
          ...utf8.encode('"}'),
        ]);
        same(req(body), randomPolicy);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("wasm payload: its bounds and the cases it leaves to the reference", () => {
  test('a member named "" that the policy encrypts is encrypted (not copied in clear)', () => {
    const by = same(req('{"":"secret","z":1}'), randomPolicy);
    expect(by).toBe("wasm");
    const b = reformatWasm(req('{"":"secret","z":1}'), { metaData, policy: randomPolicy })!;
    expect(text.decode(b.aad)).not.toContain("secret");
    expect(text.decode(b.plaintext)).toBe('{"dataToEncrypt":["secret"]}');
  });

  test("more than ten encrypted IEs (encBlockIndex of two digits), after encrypted headers", () => {
    const names = Array.from({ length: 14 }, (_, i) => `e${i}`);
    const policy = buildEffectivePolicy({
      defaults: { apiIeMappingList: [] },
      local: {
        apiIeMappingList: [
          {
            apiSignature: "/test/v1/things",
            apiMethod: "POST",
            IeList: [
              ...names.map((n) => ({ ieLoc: "BODY" as const, ieType: "OTHER" as const, reqIe: `/${n}` })),
              { ieLoc: "HEADER" as const, ieType: "OTHER" as const, reqIe: "x-secret" },
            ],
          },
        ],
        dataTypeEncPolicy: ["OTHER"],
      },
    });
    const body = JSON.stringify(Object.fromEntries(names.map((n, i) => [n, { v: i, s: `é${i}` }])));
    expect(same(req(body, "application/json", [["x-secret", "h€"]]), policy)).toBe("wasm");
    expect(same(req(body), policy)).toBe("wasm");
  });

  test("nesting at and over 256, names at and over 256 per object, a body over 64 KiB", () => {
    for (const d of [200, 255, 256, 257, 300]) {
      same(req(`{"z":${"[".repeat(d - 1)}${"]".repeat(d - 1)}}`), randomPolicy);
      same(req(`{"b":${'{"q":'.repeat(d - 1)}1${"}".repeat(d - 1)}}`), randomPolicy);
    }
    for (const n of [255, 256, 257]) {
      const body = JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i])));
      expect(same(req(body), randomPolicy)).toBe(n <= 256 ? "wasm" : "reference");
    }
    const big = JSON.stringify({ a: 1, z: "x".repeat(70_000) });
    expect(same(req(big), randomPolicy)).toBe("reference");
    const justBelow = JSON.stringify({ a: 1, z: "x".repeat(65_000) });
    expect(same(req(justBelow), randomPolicy)).toBe("wasm");
  });

  test("many small members: the payload entries outgrow the body (the module's output region)", () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`n${i}`, { [`k${i}`]: i }])));
    expect(same(req(body), testApiPolicy(Array.from({ length: 250 }, (_, i) => `/n${i}/q`)))).toBe("wasm");
  });

  test("a policy pointer over 255 octets, or pointers over 8 KiB in all: the reference", () => {
    const long = `/${"p".repeat(300)}`;
    expect(same(req('{"a":1}'), testApiPolicy([long, "/a"]))).toBe("reference");
    const many = Array.from({ length: 100 }, (_, i) => `/${"q".repeat(90)}${i}`);
    expect(same(req('{"a":1}'), testApiPolicy([...many, "/a"]))).toBe("reference");
    // and the next message under a policy it can hold is written again
    expect(same(req('{"a":1}'), randomPolicy)).toBe("wasm");
  });

  test("refused by the reference: never octets from the module", () => {
    expect(same(req('{"x":{"encBlockIndex":1}}'), randomPolicy)).toBe("refused");
    expect(same(req("{"), randomPolicy)).toBe("refused");
    expect(same(req(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), randomPolicy)).toBe("refused");
    same(req('{"a":1}', "text/plain"), randomPolicy);
    same({ ...req(""), body: undefined }, randomPolicy);
    expect(payloadWasmTraps()).toBe(0);
  });

  test("declined part-way or refused: nothing of the message stays in the module's memory", () => {
    // an encrypted member first, then an exponent (declined) or a member named encBlockIndex (refused)
    for (const body of [
      '{"supi":"imsi-001010123456789","ratio":5e-1}',
      '{"supi":"imsi-001010123456789","note":"private-text-of-a-refused-message","x":{"encBlockIndex":0}}',
    ]) {
      expect(same(req(body), testApiPolicy(["/supi"]))).not.toBe("wasm");
      const mem = Buffer.from(payloadWasmMemory());
      expect(mem.indexOf("001010123456789")).toBe(-1);
      expect(mem.indexOf("private-text")).toBe(-1);
    }
  });

  test("a policy pointer that is not well-formed UTF-16 (a lone surrogate): the reference", () => {
    const body = new Uint8Array([...utf8.encode('{"'), 0xef, 0xbf, 0xbd, ...utf8.encode('":"x","b":1}')]);
    expect(same(req(body), testApiPolicy(["/\ud800"]))).toBe("reference");
    expect(same(req(body), randomPolicy)).toBe("wasm");
  });

  test("the clear body and the encrypted values do not stay in the module's memory", () => {
    const b = reformatWasm(req('{"gpsis":["msisdn-4917000000099"],"z":"public"}'), { metaData, policy: randomPolicy })!;
    expect(text.decode(b.plaintext)).toContain("msisdn-4917000000099");
    const mem = Buffer.from(payloadWasmMemory());
    expect(mem.indexOf("msisdn-4917000000099")).toBe(-1);
    // the payload entries (clear by design, P3) are what the module wrote: the body it read is gone
    expect(mem.indexOf('"z":"public"')).toBe(-1);
  });
});
