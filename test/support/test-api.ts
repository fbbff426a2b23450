// The test API the format engines' equivalence tests use (test/n32f/text.test.ts, wasm.test.ts, open-wasm.test.ts):
// POST /test/v1/things, whose listed body IEs are encrypted, and a request of it with a given body.
import type { HttpMessage } from "../../src/n32f/message.ts";
import { buildEffectivePolicy, type EffectivePolicy } from "../../src/n32f/policy.ts";

const utf8 = new TextEncoder();

/** The effective policy of the test API with `ies` (JSON pointers into the request body) encrypted. */
export function testApiPolicy(ies: readonly string[]): EffectivePolicy {
  return buildEffectivePolicy({
    defaults: { apiIeMappingList: [] },
    local: {
      apiIeMappingList: [
        {
          apiSignature: "/test/v1/things",
          apiMethod: "POST",
          IeList: ies.map((reqIe) => ({ ieLoc: "BODY" as const, ieType: "OTHER" as const, reqIe })),
        },
      ],
      dataTypeEncPolicy: ["OTHER"],
    },
  });
}

/** A request of the test API with this body and these headers. */
export function testApiRequest(
  body: string | Uint8Array,
  headers: Array<[string, string]> = [["content-type", "application/json"]],
): HttpMessage {
  return {
    kind: "request",
    method: "POST",
    scheme: "https",
    authority: "nf.example.org",
    path: "/test/v1/things",
    headers,
    body: typeof body === "string" ? utf8.encode(body) : body,
  };
}
