// The text-level PRINS engine (src/n32f/text/) against the reference (reformat() + JSON.stringify): byte-identical
// aad and plaintext, identical refusals, over the message fixtures, the shared vectors and random JSON texts.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import type { HttpMethod, MetaData, ProtectionPolicy } from "../../src/model/n32.ts";
import { hasJsonContentType, type HttpMessage } from "../../src/n32f/message.ts";
import { buildEffectivePolicy, type EffectivePolicy } from "../../src/n32f/policy.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { reformatReferenceText, reformatText, type PrinsTexts } from "../../src/n32f/text/reformat-text.ts";
import { loadFixtures, type Fixture } from "../fixtures/messages/load.ts";
import { partsPolicy } from "../support/fixture-policy.ts";
import { testApiPolicy, testApiRequest } from "../support/test-api.ts";
import { bodyText, jsonText, mutatedText } from "./text-arb.ts";
import { n32fVectors } from "../support/vectors.ts";

const metaData: MetaData = {
  n32fContextId: "0123456789abcdef",
  messageId: "fedcba9876543210",
  authorizedIpxId: "NULL",
};
const utf8 = new TextEncoder();

type Outcome = { ok: Omit<PrinsTexts, "by">; by: PrinsTexts["by"] } | { err: string };

function outcome(f: () => PrinsTexts): Outcome {
  try {
    const { by, ...ok } = f();
    return { ok, by };
  } catch (e) {
    const x = e as { name?: string; status?: number; cause?: unknown; message?: string };
    return { err: `${x.name} ${x.status} ${String(x.cause)} ${x.message}` };
  }
}

/** Runs both engines; expects the same texts or the same error; returns which engine the text side used. */
function same(msg: HttpMessage, policy: EffectivePolicy, request?: Fixture["request"]): Outcome {
  const opts = { metaData, policy, request };
  const ref = outcome(() => reformatReferenceText(msg, opts));
  const txt = outcome(() => reformatText(msg, opts));
  if ("ok" in ref && "ok" in txt) expect(txt.ok).toEqual(ref.ok);
  else expect(txt).toEqual(ref);
  return txt;
}

function fixturePolicy(fx: Fixture): EffectivePolicy {
  return buildEffectivePolicy({ defaults: defaults as ProtectionPolicy, local: partsPolicy(fx) });
}

const isJson = (fx: Fixture) => hasJsonContentType(fx.message);

describe("text engine = reference on the message fixtures", () => {
  for (const fx of loadFixtures()) {
    test(`${fx.name}: same aad and plaintext`, () => {
      const r = same(fx.message, fixturePolicy(fx), fx.request);
      // the fast path is really taken for JSON bodies (else this test would compare the reference with itself)
      if ("by" in r) expect(r.by).toBe(isJson(fx) || !fx.message.body?.length ? "text" : "reference");
      else throw new Error(`fixture refused: ${r.err}`);
    });
  }

  test("the fixtures' JSON bodies pretty-printed and with keys escaped give the same texts", () => {
    for (const fx of loadFixtures()) {
      if (!isJson(fx) || !fx.message.body?.length) continue;
      const value = JSON.parse(Buffer.from(fx.message.body).toString());
      for (const text of [JSON.stringify(value, null, 2), JSON.stringify(value).replace(/\//g, "\\/")]) {
        const r = same({ ...fx.message, body: utf8.encode(text) }, fixturePolicy(fx), fx.request);
        expect("by" in r && r.by).toBe("text");
      }
    }
  });
});

describe("text engine = reference on the shared vectors (n32f-vectors.json)", async () => {
  const vectors = n32fVectors();
  const policy = buildEffectivePolicy({ defaults: defaults as ProtectionPolicy });
  for (const v of vectors.messages) {
    test(v.description, () => {
      const msg = reconstruct(v.aadObject, v.plaintextObject?.dataToEncrypt ?? []);
      const request =
        msg.kind === "response" ? { method: "GET" as HttpMethod, path: "/nudm-sdm/v2/x/am-data" } : undefined;
      const r = same(msg, policy, request);
      expect("by" in r && r.by).toBe("text");
    });
  }
});

// A policy for the random bodies: members and nested IEs the generators produce often.
const randomPolicy = testApiPolicy(["/a", "/b/a", "/b/1", "/c/0/a", "/x~1y", "/gpsis", "/b/__proto__", "/t~01"]);
const rootPolicy = testApiPolicy([""]);

function req(text: string, contentType = "application/json"): HttpMessage {
  return testApiRequest(text, [
    ["content-type", contentType],
    ["x-one", "1"],
  ]);
}

describe("text engine = reference on random JSON texts (fast-check)", () => {
  test("valid bodies: whitespace, escapes, duplicate and index-like names, odd numbers, nesting", () => {
    let textPath = 0;
    fc.assert(
      fc.property(bodyText, (t) => {
        const r = same(req(t), randomPolicy);
        if ("by" in r && r.by === "text") textPath++;
      }),
      { numRuns: 3000 },
    );
    expect(textPath).toBeGreaterThan(1000); // most random bodies take the text path
  });

  test("any JSON value as the body, and an encrypted root", () => {
    fc.assert(
      fc.property(jsonText, (t) => {
        same(req(t), randomPolicy);
        same(req(t), rootPolicy);
        same(req(t, "application/problem+json"), randomPolicy);
      }),
      { numRuns: 1500 },
    );
  });

  test("mutated (mostly invalid) bodies: the same refusal", () => {
    fc.assert(
      fc.property(mutatedText, (t) => {
        same(req(t), randomPolicy);
      }),
      { numRuns: 3000 },
    );
  });

  test("nesting at and over the bound, bytes that are not UTF-8, refused content types, no body", () => {
    for (const d of [255, 256, 257, 300]) {
      same(req(`{"a":${"[".repeat(d - 1)}${"]".repeat(d - 1)}}`), randomPolicy);
      same(req(`{"b":${'{"a":'.repeat(d - 1)}1${"}".repeat(d - 1)}}`), randomPolicy);
    }
    same({ ...req(""), body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }, randomPolicy);
    same(req('{"a":1}', "text/plain"), randomPolicy);
    same(req("a=1&b=2", "application/x-www-form-urlencoded"), randomPolicy);
    same({ ...req(""), body: undefined }, randomPolicy);
    expect("err" in same(req('{"x":{"encBlockIndex":1}}'), randomPolicy)).toBe(true);
    expect("err" in same(req('{"x":{"enc\\u0042lockIndex":1}}'), randomPolicy)).toBe(true);
  });
});
