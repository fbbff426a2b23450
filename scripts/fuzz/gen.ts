// scripts/fuzz/gen.ts — structure-aware input generators of `npm run fuzz`, one per listener, built with fast-check
// (deterministic from the seed): each input starts from a well-formed message of that listener's protocol and
// applies a few structural mutations, or is hostile outright (deep JSON, huge strings, prototype keys, wrong
// types, injected header values). The same kinds of mutations as the fuzz tests (test/fuzz-*.test.ts), sized
// for a campaign. Nothing here is part of the SEPP.
import fc from "fast-check";
import { hostileValue } from "../../test/support/fuzz.ts";

/** One HTTP request to a listener. */
export interface FuzzInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  authority?: string;
  /** admin only: which token to present */
  auth?: "right" | "wrong" | "none";
  /** SBI only: the request is broken at the HTTP/2 level on purpose, and how (scripts/fuzz/sbi-gen.ts) */
  h2Invalid?: string;
}

export const hostile: fc.Arbitrary<unknown> = hostileValue({
  extra: [fc.nat({ max: 5 }).map((i) => ({ encBlockIndex: i }))],
});

const headerValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom("a\r\nx-injected: 1", "262-01", "999-99", "http://169.254.169.254", "gzip", "application/json"),
);

/** A JSON object derived from `base`: members replaced, removed or added, or the whole body replaced. */
export function mutatedJson(base: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = Object.keys(base);
  const one = fc.oneof(
    fc.tuple(fc.constantFrom(...keys), hostile).map(([k, x]) => (o: Record<string, unknown>) => {
      o[k] = x;
    }),
    fc.constantFrom(...keys).map((k) => (o: Record<string, unknown>) => {
      delete o[k];
    }),
    fc.tuple(fc.string({ maxLength: 10 }), hostile).map(([k, x]) => (o: Record<string, unknown>) => {
      o[k] = x;
    }),
  );
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.array(one, { minLength: 1, maxLength: 3 }) },
      { weight: 1, arbitrary: fc.constant([]) },
    )
    .chain((ms) =>
      fc.oneof(
        {
          weight: 8,
          arbitrary: fc.constant(
            (() => {
              const o = structuredClone(base);
              for (const m of ms) m(o);
              return JSON.stringify(o);
            })(),
          ),
        },
        { weight: 1, arbitrary: hostile.map((x) => JSON.stringify(x) ?? "null") },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
      ),
    );
}

/** N32-c (TS 29.573 5.2): the four operations, from a configured peer's connection. */
export function n32cInputs(sender: string): fc.Arbitrary<FuzzInput> {
  const ops: Array<[string, Record<string, unknown>]> = [
    [
      "exchange-capability",
      { sender, supportedSecCapabilityList: ["PRINS", "TLS"], "3GppSbiTargetApiRootSupported": true },
    ],
    [
      "exchange-params",
      { n32fContextId: "0123456789abcdef", sender, jweCipherSuiteList: ["A128GCM"], jwsCipherSuiteList: ["ES256"] },
    ],
    ["n32f-terminate", { n32fContextId: "0123456789abcdef" }],
    ["n32f-error", { n32fContextId: "0123456789abcdef", n32fMessageId: "0000000000000001", n32fErrorType: "FOO" }],
  ];
  return fc
    .tuple(
      fc.constantFrom(...ops),
      fc.oneof({ weight: 9, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom("GET", "PUT") }),
      fc.oneof(
        { weight: 9, arbitrary: fc.constant("application/json") },
        { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
      ),
    )
    .chain(([[op, base], method, ct]) =>
      mutatedJson(base).map((body) => ({
        method,
        path: `/n32c-handshake/v1/${op}`,
        headers: { "content-type": ct },
        body: method === "GET" ? undefined : body,
      })),
    );
}

/** Structural mutations of a DataToIntegrityProtectBlock and its dataToEncrypt (sealed afterwards). */
export type BlockMutation = (g: { block: any; dataToEncrypt: unknown[] }) => void;
export const blockMutations: fc.Arbitrary<BlockMutation[]> = fc.array(
  fc.oneof<fc.Arbitrary<BlockMutation>[]>(
    fc
      .tuple(fc.constantFrom("method", "scheme", "authority", "path", "queryFragment"), hostile)
      .map(([k, x]) => (g) => {
        g.block.requestLine[k] = x;
      }),
    fc
      .tuple(
        fc.constantFrom("method", "scheme", "authority", "path"),
        fc.constantFrom("/../../etc", "//x", "http://evil/", "169.254.169.254", "127.0.0.1:1", "FOO", "[::1]"),
      )
      .map(([k, x]) => (g) => {
        g.block.requestLine[k] = x;
      }),
    fc
      .array(fc.record({ header: fc.string({ maxLength: 12 }), value: fc.oneof(headerValue, hostile) }), {
        maxLength: 5,
      })
      .map((hs) => (g) => {
        g.block.headers = [...(g.block.headers ?? []), ...hs];
      }),
    fc
      .array(
        fc.record(
          {
            iePath: fc.string({ maxLength: 12 }),
            ieValueLocation: fc.constantFrom("BODY", "URI_PARAM"),
            value: hostile,
          },
          { requiredKeys: [] },
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((es) => (g) => {
        g.block.payload = es;
      }),
    fc.array(hostile, { maxLength: 4 }).map((d) => (g) => {
      g.dataToEncrypt = d;
    }),
    fc.tuple(fc.constantFrom("messageId", "authorizedIpxId", "n32fContextId"), hostile).map(([k, x]) => (g) => {
      g.block.metaData[k] = x;
    }),
    fc
      .tuple(fc.constantFrom("statusLine", "requestLine", "headers", "payload", "metaData"), hostile)
      .map(([k, x]) => (g) => {
        g.block[k] = x;
      }),
  ),
  { minLength: 0, maxLength: 3 },
);

/** What goes around the sealed part of an n32f-process request: modificationsBlock garbage, or none. */
export const n32fExtras: fc.Arbitrary<Record<string, unknown> | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: hostile.map((x) => ({ modificationsBlock: x })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.record({ protected: fc.string(), payload: fc.string(), signature: fc.string() }), { maxLength: 3 })
      .map((m) => ({ modificationsBlock: m })),
  },
);

/** The admin API (docs/API.md): known routes with garbage, unknown routes, wrong and missing tokens. Routes that
 *  act on the box without a body (reboot, handshake, terminate, peer removal, key generation, updates) are left
 *  out: a campaign must not reconfigure what it attacks. */
export function adminInputs(): fc.Arbitrary<FuzzInput> {
  const id = fc.oneof(fc.constantFrom("nope", "../x", "%2e%2e", "a".repeat(300)), fc.webSegment());
  return fc
    .record({
      route: fc.oneof<fc.Arbitrary<[string, string]>[]>(
        fc.constantFrom<[string, string]>(
          ["GET", "/v1/status"],
          ["GET", "/v1/config"],
          ["GET", "/v1/config/history"],
          ["GET", "/v1/peers"],
          ["GET", "/v1/keys"],
          ["GET", "/metrics"],
          ["GET", "/v1/openapi.json"],
          ["PUT", "/v1/config"],
          ["POST", "/v1/peers"],
          ["POST", "/v1/keys/identity/csr"],
          ["PUT", "/v1/keys/identity/certificate"],
        ),
        id.map((p): [string, string] => ["GET", `/v1/peers/${p}`]),
        id.map((p): [string, string] => ["PUT", `/v1/peers/${p}`]),
        id.map((p): [string, string] => ["GET", `/v1/peers/${p}/n32`]),
        fc
          .tuple(fc.constantFrom("GET", "POST", "PATCH", "HEAD"), fc.webPath())
          .map(([m, p]): [string, string] => [m, p || "/"]),
      ),
      body: fc.oneof(
        hostile.map((x) => JSON.stringify(x) ?? "null"),
        fc.string({ maxLength: 200 }),
      ),
      ct: fc.constantFrom("application/json", "text/plain", "application/x-pem-file", "x/y"),
      auth: fc.oneof(
        { weight: 8, arbitrary: fc.constant("right" as const) },
        { weight: 1, arbitrary: fc.constant("wrong" as const) },
        { weight: 1, arbitrary: fc.constant("none" as const) },
      ),
    })
    .map(({ route: [method, path], body, ct, auth }) => ({
      method: method!,
      path: path!,
      headers: { "content-type": ct },
      body: method === "GET" || method === "HEAD" ? undefined : body,
      auth,
    }));
}
