// reformat(): refusals (P3), headers, URI parameters, JSON splitting (P3/P10), multipart and form carriage.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HttpMethod, MetaData, ProtectionPolicy } from "../../src/model/n32.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import { buildEffectivePolicy } from "../../src/n32f/policy.ts";
import { contentIdOf, rootPartIndex, type MultipartPart } from "../../src/n32f/multipart.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { ReformatError } from "../../src/n32f/errors.ts";
import { reformat } from "../../src/n32f/reformat.ts";
import { multipartBytes } from "../fixtures/messages/load.ts";

const defaults = JSON.parse(
  readFileSync(join(import.meta.dir, "../..", "config", "api-ie-mapping.json"), "utf8"),
) as ProtectionPolicy;
const metaData: MetaData = {
  n32fContextId: "51b0c7e2aa93f410",
  messageId: "0123456789abcdef",
  authorizedIpxId: "NULL",
};
const enc = new TextEncoder();
const dec = new TextDecoder();
const policy = buildEffectivePolicy({ defaults });

function req(over: Partial<HttpMessage> & { json?: unknown; text?: string } = {}): HttpMessage {
  const { json, text, ...rest } = over;
  const m: HttpMessage = {
    kind: "request",
    method: "POST",
    scheme: "https",
    authority: "nf.example.org",
    path: "/test/v1/things",
    headers: [["content-type", "application/json"]],
    ...rest,
  };
  if (json !== undefined) m.body = enc.encode(JSON.stringify(json));
  if (text !== undefined) m.body = enc.encode(text);
  return m;
}

function refused(msg: HttpMessage, status: number, cause: string, p = policy) {
  let err: unknown;
  try {
    reformat(msg, { metaData, policy: p });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ReformatError);
  expect((err as ReformatError).status).toBe(status);
  expect((err as ReformatError).problemCause).toBe(cause);
  return err as ReformatError;
}

function testPolicy(
  ies: ProtectionPolicy["apiIeMappingList"][number]["IeList"],
  sig = "/test/v1/things",
  method: HttpMethod = "POST",
) {
  return buildEffectivePolicy({
    defaults: { apiIeMappingList: [] },
    local: { apiIeMappingList: [{ apiSignature: sig, apiMethod: method, IeList: ies }] },
  });
}

describe("refusals (P3): ReformatError with the status for the NF", () => {
  test("415 for content types not carried over N32-f", () => {
    refused(req({ headers: [["content-type", "text/plain"]], text: "hello" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    refused(req({ headers: [], text: "{}" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    refused(req({ headers: [["content-type", "application/json; =bad"]], text: "{}" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    const mp = multipartBytes("b", [{ headers: [["Content-Type", "application/xml"]], data: enc.encode("<a/>") }]);
    refused(
      req({ headers: [["content-type", 'multipart/related; boundary=b; type="application/xml"']], body: mp }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  });
  test("400 for malformed JSON and invalid UTF-8", () => {
    refused(req({ text: '{"a":' }), 400, "MANDATORY_IE_INCORRECT");
    refused(req({ body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }), 400, "MANDATORY_IE_INCORRECT");
  });
  test("400 for a member named encBlockIndex anywhere, in any escaping (TS 33.501 5.9.3.2)", () => {
    const e = refused(req({ json: { a: [{ b: { encBlockIndex: 0 } }] } }), 400, "MANDATORY_IE_INCORRECT");
    expect(e.message).toContain("encBlockIndex");
    refused(req({ text: '{"a":{"encBlock\\u0049ndex":1}}' }), 400, "MANDATORY_IE_INCORRECT");
    // the string value "encBlockIndex" is not a member name
    expect(() =>
      reformat(req({ json: { note: "encBlockIndex", "x\u00e9": "\\u" } }), { metaData, policy }),
    ).not.toThrow();
  });
  test("400 for repeated, malformed or reserved form parameters", () => {
    const form = (text: string) =>
      req({ path: "/oauth2/token", headers: [["content-type", "application/x-www-form-urlencoded"]], text });
    refused(form("scope=a&grant_type=client_credentials&scope=b"), 400, "MANDATORY_IE_INCORRECT");
    refused(form("scope=%E0%A4%A"), 400, "MANDATORY_IE_INCORRECT");
    refused(form("encBlockIndex=0"), 400, "MANDATORY_IE_INCORRECT");
  });
  test("400 for malformed multipart bodies", () => {
    const ct = (p: string) => [["content-type", `multipart/related; ${p}`]] as Array<[string, string]>;
    const root = { headers: [["Content-Type", "application/json"]] as Array<[string, string]>, data: enc.encode("{}") };
    const bin = (h: Array<[string, string]>) => ({ headers: h, data: new Uint8Array([1, 2, 3]) });
    refused(
      req({ headers: ct("type=application/json"), body: multipartBytes("b", [root]) }),
      400,
      "MANDATORY_IE_INCORRECT",
    ); // no boundary
    refused(
      req({ headers: ct("boundary=b"), text: "--b\r\nContent-Type: application/json\r\n\r\n{}" }),
      400,
      "MANDATORY_IE_INCORRECT",
    ); // not closed
    refused(
      req({ headers: ct("boundary=b"), body: multipartBytes("b", [root, bin([["Content-Type", "a/b"]])]) }),
      400,
      "MANDATORY_IE_MISSING",
    );
    refused(
      req({ headers: ct("boundary=b"), body: multipartBytes("b", [root, bin([["Content-ID", "x"]])]) }),
      400,
      "MANDATORY_IE_MISSING",
    );
    refused(
      req({
        headers: ct("boundary=b"),
        body: multipartBytes("b", [
          root,
          bin([
            ["Content-Type", "a/b"],
            ["Content-ID", "x"],
          ]),
          bin([
            ["Content-Type", "a/b"],
            ["Content-ID", "<x>"],
          ]),
        ]),
      }),
      400,
      "MANDATORY_IE_INCORRECT",
    );
    refused(
      req({ headers: ct('boundary=b; start="<nope>"'), body: multipartBytes("b", [root]) }),
      400,
      "MANDATORY_IE_INCORRECT",
    );
    refused(
      req({
        headers: ct("boundary=b"),
        body: multipartBytes("b", [{ headers: root.headers, data: enc.encode('{"encBlockIndex":1}') }]),
      }),
      400,
      "MANDATORY_IE_INCORRECT",
    );
  });
  test("400 for a path or query that is not RFC 3986 (so {encBlockIndex:N} tokens are unambiguous)", () => {
    refused(
      req({ path: "/nudm-sdm/v2/{encBlockIndex:0}/am-data", method: "GET", headers: [] }),
      400,
      "MANDATORY_IE_INCORRECT",
    );
    refused(req({ query: "a={encBlockIndex:0}", method: "GET", headers: [] }), 400, "MANDATORY_IE_INCORRECT");
    refused(req({ path: "relative", method: "GET", headers: [] }), 400, "MANDATORY_IE_INCORRECT");
    refused({ kind: "request", headers: [] }, 400, "MANDATORY_IE_MISSING");
  });
});

describe("request line, URI parameters and headers", () => {
  test("requestLine, statusLine, no payload for an empty body", () => {
    const r = reformat(req({ method: "GET", query: "a=1", headers: [["accept", "application/json"]] }), {
      metaData,
      policy,
    });
    expect(r.block).toEqual({
      metaData,
      requestLine: {
        method: "GET",
        scheme: "https",
        authority: "nf.example.org",
        path: "/test/v1/things",
        protocolVersion: "HTTP/2",
        queryFragment: "a=1",
      },
      headers: [{ header: "accept", value: "application/json" }],
    });
    const s = reformat({ kind: "response", status: 204, headers: [] }, { metaData, policy });
    expect(s.block).toEqual({ metaData, statusLine: "204" });
    expect(s.dataToEncrypt).toEqual([]);
  });
  test("connection-specific headers, pseudo-headers and 3gpp-Sbi-Target-apiRoot are left out; names lowercased; repeats kept", () => {
    const r = reformat(
      req({
        method: "GET",
        headers: [
          [":authority", "x"],
          ["Connection", "keep-alive"],
          ["keep-alive", "1"],
          ["proxy-connection", "x"],
          ["te", "trailers"],
          ["transfer-encoding", "chunked"],
          ["upgrade", "h2c"],
          ["host", "x"],
          ["content-length", "0"],
          ["3gpp-sbi-target-apiroot", "https://udm.example.org"],
          ["Via", "1"],
          ["via", "2"],
        ],
      }),
      { metaData, policy },
    );
    expect(r.block.headers).toEqual([
      { header: "via", value: "1" },
      { header: "via", value: "2" },
    ]);
  });
  test("authorization is AUTHORIZATION_TOKEN on every API, each value encrypted once", () => {
    const r = reformat(
      req({
        method: "DELETE",
        path: "/unknown/api",
        headers: [
          ["authorization", "Bearer a"],
          ["authorization", "Bearer b"],
        ],
      }),
      { metaData, policy },
    );
    expect(r.block.headers).toEqual([
      { header: "authorization", value: { encBlockIndex: 0 } },
      { header: "authorization", value: { encBlockIndex: 1 } },
    ]);
    expect(r.dataToEncrypt).toEqual(["Bearer a", "Bearer b"]);
  });
  test("path variables are found at segment boundaries behind an apiRoot prefix; raw text is encrypted", () => {
    const r = reformat(req({ method: "GET", path: "/pfx/nudm-sdm/v2/imsi-26201%30000/am-data", headers: [] }), {
      metaData,
      policy,
    });
    expect(r.block.requestLine!.path).toBe("/pfx/nudm-sdm/v2/{encBlockIndex:0}/am-data");
    expect(r.dataToEncrypt).toEqual(["imsi-26201%30000"]);
    const none = reformat(req({ method: "GET", path: "/nudm-sdm/v2/imsi-1/am-datax", headers: [] }), {
      metaData,
      policy,
    });
    expect(none.dataToEncrypt).toEqual([]);
  });
  test("query parameters matched after percent-decoding; a URI_PARAM is encrypted as path variable and query parameter", () => {
    const p = testPolicy([{ ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "supi" }], "/test/v1/{supi}/x", "GET");
    const r = reformat(
      req({ method: "GET", path: "/test/v1/imsi-1/x", query: "su%70i=imsi-1&b=2&supi&supi=imsi-2", headers: [] }),
      { metaData, policy: p },
    );
    expect(r.block.requestLine!.path).toBe("/test/v1/{encBlockIndex:0}/x");
    expect(r.block.requestLine!.queryFragment).toBe("su%70i={encBlockIndex:1}&b=2&supi&supi={encBlockIndex:2}");
    expect(r.dataToEncrypt).toEqual(["imsi-1", "imsi-1", "imsi-2"]);
    const back = reconstruct(JSON.parse(JSON.stringify(r.block)), r.dataToEncrypt);
    expect(back.path).toBe("/test/v1/imsi-1/x");
    expect(back.query).toBe("su%70i=imsi-1&b=2&supi&supi=imsi-2");
  });
  test("path variables and query parameters are replaced in place as the split-and-join reference does (fast-check)", () => {
    // the reference: the path cut into its segments and joined again, the query split at "&" (the code before
    // the in-place protectPath and protectQuery; docs/PERFORMANCE.md "Streams kept by a Map", 9.)
    const refPath = (path: string, fromEnds: number[], out: string[]): string => {
      const segs = path.split("/").slice(1);
      const idx = fromEnds
        .map((f) => segs.length - 1 - f)
        .filter((i) => i >= 0)
        .sort((a, b) => a - b);
      for (const i of idx) if (segs[i] !== "") segs[i] = `{encBlockIndex:${out.push(segs[i]!) - 1}}`;
      return `/${segs.join("/")}`;
    };
    const refQuery = (query: string, names: Set<string>, out: string[]): string =>
      query
        .split("&")
        .map((q) => {
          const eq = q.indexOf("=");
          if (eq < 0) return q;
          let name = q.slice(0, eq);
          try {
            name = decodeURIComponent(name.replace(/\+/g, " "));
          } catch {}
          return names.has(name) ? `${q.slice(0, eq)}={encBlockIndex:${out.push(q.slice(eq + 1)) - 1}}` : q;
        })
        .join("&");
    const one = testPolicy([{ ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "supi" }], "/test/v1/{supi}/x", "GET");
    const two = testPolicy(
      [
        { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "supi" },
        { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "gpsi" },
      ],
      "/test/v1/{supi}/x/{gpsi}",
      "GET",
    );
    const seg = fc.stringMatching(/^(?:[a-z0-9.~-]|%[0-9A-F]{2}){1,6}$/);
    const prefix = fc.array(fc.oneof(seg, fc.constant("")), { maxLength: 3 });
    const param = fc.tuple(
      fc.constantFrom("supi", "gpsi", "su%70i", "%73upi", "s+upi", "a", ""),
      fc.option(fc.stringMatching(/^(?:[a-z0-9=-]|%[0-9A-F]{2}){0,5}$/), { nil: undefined }),
    );
    const query = fc
      .array(param, { maxLength: 5 })
      .map((ps) => ps.map(([n, v]) => (v === undefined ? n : `${n}=${v}`)).join("&"));
    fc.assert(
      fc.property(prefix, seg, seg, fc.option(query, { nil: undefined }), fc.boolean(), (pre, a, b, q, both) => {
        const path = both
          ? `/${[...pre, "test", "v1", a, "x", b].join("/")}`
          : `/${[...pre, "test", "v1", a, "x"].join("/")}`;
        const m = req({ method: "GET", path, query: q, headers: [] });
        const r = reformat(m, { metaData, policy: both ? two : one });
        const want: string[] = [];
        expect(r.block.requestLine!.path).toBe(refPath(path, both ? [2, 0] : [1], want));
        if (q)
          expect(r.block.requestLine!.queryFragment).toBe(
            refQuery(q, new Set(both ? ["supi", "gpsi"] : ["supi"]), want),
          );
        expect(r.dataToEncrypt).toEqual(want);
      }),
      { numRuns: 3000 },
    );
  });
  test("HEADER IEs of a mapping; response IEs come from rspIe of the request's mapping", () => {
    const p = testPolicy([
      { ieLoc: "HEADER", ieType: "LOCATION", reqIe: "x-cell", rspIe: "x-cell-rsp" },
      { ieLoc: "BODY", ieType: "KEY_MATERIAL", rspIe: "/k" },
      { ieLoc: "URI_PARAM", ieType: "UEID", rspIe: "ignored" },
    ]);
    const rq = reformat(
      req({
        headers: [
          ["x-cell", "c1"],
          ["x-cell-rsp", "c2"],
        ],
      }),
      { metaData, policy: p },
    );
    expect(rq.dataToEncrypt).toEqual(["c1"]);
    const rs = reformat(
      {
        kind: "response",
        status: 200,
        headers: [
          ["content-type", "application/json"],
          ["x-cell-rsp", "c2"],
        ],
        body: enc.encode('{"k":"K","j":1}'),
      },
      { metaData, policy: p, request: { method: "POST", path: "/test/v1/things" } },
    );
    expect(rs.dataToEncrypt).toEqual(["c2", "K"]);
    // without the request, only the global IEs apply
    const bare = reformat({ kind: "response", status: 200, headers: [["x-cell-rsp", "c2"]] }, { metaData, policy: p });
    expect(bare.dataToEncrypt).toEqual([]);
  });
});

describe("JSON payload splitting (P3, P10)", () => {
  const body = (json: unknown, ies: string[]) =>
    reformat(req({ json }), {
      metaData,
      policy: testPolicy(ies.map((reqIe) => ({ ieLoc: "BODY" as const, ieType: "UEID" as const, reqIe }))),
    });
  const back = (r: ReturnType<typeof reformat>) =>
    JSON.parse(dec.decode(reconstruct(JSON.parse(JSON.stringify(r.block)), r.dataToEncrypt).body!));

  test("one entry per top-level member; split down to the IE; siblings stay whole (not copied)", () => {
    const json = { a: 1, b: { c: { d: "secret", e: [1, 2] }, f: "x" }, g: [true] };
    const r = body(json, ["/b/c/d"]);
    expect(r.block.payload).toEqual([
      { iePath: "/a", ieValueLocation: "BODY", value: 1 },
      { iePath: "/b/c/d", ieValueLocation: "BODY", value: { encBlockIndex: 0 } },
      { iePath: "/b/c/e", ieValueLocation: "BODY", value: [1, 2] },
      { iePath: "/b/f", ieValueLocation: "BODY", value: "x" },
      { iePath: "/g", ieValueLocation: "BODY", value: [true] },
    ]);
    expect(r.dataToEncrypt).toEqual(["secret"]);
    expect(back(r)).toEqual(json);
  });
  test("array members are split by index; an absent IE is not encrypted", () => {
    const json = { list: [{ s: "a" }, { s: "b", t: 2 }] };
    const r = body(json, ["/list/1/s", "/absent", "/list/9/s"]);
    expect(r.block.payload!.map((p) => p.iePath)).toEqual(["/list/0", "/list/1/s", "/list/1/t"]);
    expect(r.dataToEncrypt).toEqual(["b"]);
    expect(back(r)).toEqual(json);
  });
  test("each IE at most once: an IE inside an encrypted member, or named twice, is covered once", () => {
    const json = { av: { rand: "R", autn: "A" }, z: 0 };
    const r = body(json, ["/av/rand", "/av", "/av/autn", "/av"]);
    expect(r.block.payload![0]).toEqual({ iePath: "/av", ieValueLocation: "BODY", value: { encBlockIndex: 0 } });
    expect(r.dataToEncrypt).toEqual([{ rand: "R", autn: "A" }]);
    const merged = buildEffectivePolicy({
      defaults,
      local: {
        apiIeMappingList: [
          {
            apiSignature: "/nausf-auth/v1/ue-authentications",
            apiMethod: "POST",
            IeList: [{ ieLoc: "BODY", ieType: "OTHER", reqIe: "/supiOrSuci" }],
          },
        ],
        dataTypeEncPolicy: ["OTHER"],
      },
    });
    const twice = reformat(
      req({ path: "/nausf-auth/v1/ue-authentications", json: { supiOrSuci: "suci-1", servingNetworkName: "n" } }),
      { metaData, policy: merged },
    );
    expect(twice.dataToEncrypt).toEqual(["suci-1"]);
  });
  test("numeric member names: the empty object is announced first; the receiver then keeps an object", () => {
    const json = { "0": { s: "x", t: 1 }, "1": "y", a: { "7": "z", "8": 1 } };
    const r = body(json, ["/0/s", "/a/7"]);
    expect(r.block.payload!.slice(0, 3)).toEqual([
      { iePath: "", ieValueLocation: "BODY", value: {} },
      { iePath: "/0", ieValueLocation: "BODY", value: {} },
      { iePath: "/0/s", ieValueLocation: "BODY", value: { encBlockIndex: 0 } },
    ]);
    expect(back(r)).toEqual(json);
    expect(back(body({ "3": 1 }, []))).toEqual({ "3": 1 });
  });
  test('roots: {} / [] / scalar / array are one entry with iePath ""; the root itself can be the IE', () => {
    for (const json of [{}, [], 5, "s", null, [1, { a: 2 }]]) {
      const r = body(json, []);
      expect(r.block.payload).toEqual([{ iePath: "", ieValueLocation: "BODY", value: json }]);
      expect(back(r)).toEqual(json);
    }
    const whole = body({ a: 1 }, [""]);
    expect(whole.block.payload).toEqual([{ iePath: "", ieValueLocation: "BODY", value: { encBlockIndex: 0 } }]);
    const arr = body([{ s: 1 }, 2], ["/0/s"]);
    expect(arr.block.payload!.map((p) => p.iePath)).toEqual(["/0/s", "/1"]);
    expect(back(arr)).toEqual([{ s: 1 }, 2]);
  });
  test("member names with / and ~ are escaped (RFC 6901)", () => {
    const json = { "a/b": { "c~d": "s" } };
    const r = body(json, ["/a~1b/c~0d"]);
    expect(r.block.payload).toEqual([{ iePath: "/a~1b/c~0d", ieValueLocation: "BODY", value: { encBlockIndex: 0 } }]);
    expect(back(r)).toEqual(json);
  });
  test("application/problem+json and +json types are JSON", () => {
    for (const ct of [
      "application/problem+json",
      "application/3gppHal+json",
      "application/merge-patch+json; charset=utf-8",
    ]) {
      const r = reformat(req({ headers: [["content-type", ct]], json: { a: 1 } }), { metaData, policy });
      expect(r.block.payload).toEqual([{ iePath: "/a", ieValueLocation: "BODY", value: 1 }]);
    }
  });
});

describe("multipart/related and form bodies (P3, P10)", () => {
  test("root by start, binary parts base64 with extra headers, encrypted part by Content-ID", () => {
    const parts = [
      {
        headers: [
          ["Content-Type", "application/vnd.3gpp.ngap"],
          ["Content-ID", "<n2>"],
          ["Content-Transfer-Encoding", "binary"],
        ] as Array<[string, string]>,
        data: new Uint8Array([0, 13, 10, 45, 45, 255]),
      },
      {
        headers: [
          ["Content-Type", "application/json"],
          ["Content-ID", "<root>"],
        ] as Array<[string, string]>,
        data: enc.encode('{"supi":"imsi-1","n2":{"contentId":"n2"}}'),
      },
      {
        headers: [
          ["Content-Type", "application/vnd.3gpp.5gnas"],
          ["Content-ID", "n1"],
        ] as Array<[string, string]>,
        data: new Uint8Array([1, 2, 3]),
      },
    ];
    const p = testPolicy([
      { ieLoc: "MULTIPART_BINARY", ieType: "OTHER", reqIe: "n1" },
      { ieLoc: "BODY", ieType: "UEID", reqIe: "/supi" },
    ]);
    const p2 = buildEffectivePolicy({
      defaults: { apiIeMappingList: [] },
      local: { apiIeMappingList: p.mappings as any, dataTypeEncPolicy: ["OTHER"] },
    });
    const msg = req({
      headers: [["content-type", 'multipart/related; boundary="bb"; type="application/json"; start="<root>"']],
      body: multipartBytes("bb", parts),
    });
    const r = reformat(msg, { metaData, policy: p2 });
    expect(r.block.payload).toEqual([
      { iePath: "/supi", ieValueLocation: "BODY", value: { encBlockIndex: 0 } },
      { iePath: "/n2", ieValueLocation: "BODY", value: { contentId: "n2" } },
      {
        iePath: "/n2",
        ieValueLocation: "MULTIPART_BINARY",
        value: {
          contentType: "application/vnd.3gpp.ngap",
          data: "AA0KLS3/",
          // P11 Multipart: "<n2>" is not the iePath segment "n2": the NF's form travels in the part's headers
          headers: { "content-id": "<n2>", "content-transfer-encoding": "binary" },
        },
      },
      { iePath: "/n1", ieValueLocation: "MULTIPART_BINARY", value: { encBlockIndex: 1 } },
    ]);
    // the part sent as "Content-ID: n1" is the iePath segment exactly: nothing more to carry (P11)
    expect(r.dataToEncrypt).toEqual(["imsi-1", { contentType: "application/vnd.3gpp.5gnas", data: "AQID" }]);
    const got = reconstruct(JSON.parse(JSON.stringify(r.block)), r.dataToEncrypt);
    const text = Buffer.from(got.body!).toString("latin1");
    expect(text).toStartWith(
      '--bb\r\ncontent-type: application/json\r\ncontent-id: <root>\r\n\r\n{"supi":"imsi-1","n2":{"contentId":"n2"}}\r\n',
    );
    expect(text).toContain(
      "--bb\r\ncontent-type: application/vnd.3gpp.ngap\r\ncontent-id: <n2>\r\ncontent-transfer-encoding: binary\r\n\r\n\u0000\r\n--\u00ff\r\n",
    );
    expect(text).toEndWith(
      "--bb\r\ncontent-type: application/vnd.3gpp.5gnas\r\ncontent-id: n1\r\n\r\n\u0001\u0002\u0003\r\n--bb--\r\n",
    );
  });
  test("P11 multipart Content-ID: the receiver rebuilds a part's Content-ID as its iePath segment exactly, no <> added; a carried content-id wins", () => {
    const block = {
      metaData,
      statusLine: "200",
      headers: [{ header: "content-type", value: 'multipart/related; boundary="x"; type="application/json"' }],
      payload: [
        { iePath: "/n1", ieValueLocation: "BODY", value: { contentId: "n1msg" } },
        {
          iePath: "/n1msg",
          ieValueLocation: "MULTIPART_BINARY",
          value: { contentType: "application/vnd.3gpp.5gnas", data: "AQID" },
        },
        {
          iePath: "/n2msg",
          ieValueLocation: "MULTIPART_BINARY",
          value: { contentType: "application/vnd.3gpp.ngap", data: "BAU=", headers: { "content-id": "<n2msg>" } },
        },
      ],
    };
    const text = Buffer.from(reconstruct(block as any, []).body!).toString("latin1");
    expect(text).toContain("content-type: application/vnd.3gpp.5gnas\r\ncontent-id: n1msg\r\n\r\n");
    expect(text).toContain("content-type: application/vnd.3gpp.ngap\r\ncontent-id: <n2msg>\r\n\r\n");
  });
  test("form parameters in order, decoded, with the encrypted ones referenced", () => {
    const p = testPolicy([{ ieLoc: "BODY", ieType: "AUTHORIZATION_TOKEN", reqIe: "/client_secret" }], "/oauth2/token");
    const msg = req({
      path: "/oauth2/token",
      headers: [["content-type", "application/x-www-form-urlencoded"]],
      text: "grant_type=client_credentials&scope=a+b&client_secret=s%26x&&flag",
    });
    const r = reformat(msg, { metaData, policy: p });
    expect(r.block.payload).toEqual([
      { iePath: "/grant_type", ieValueLocation: "BODY", value: "client_credentials" },
      { iePath: "/scope", ieValueLocation: "BODY", value: "a b" },
      { iePath: "/client_secret", ieValueLocation: "BODY", value: { encBlockIndex: 0 } },
      { iePath: "/flag", ieValueLocation: "BODY", value: "" },
    ]);
    expect(r.dataToEncrypt).toEqual(["s&x"]);
    const got = reconstruct(JSON.parse(JSON.stringify(r.block)), r.dataToEncrypt);
    expect(dec.decode(got.body!)).toBe("grant_type=client_credentials&scope=a+b&client_secret=s%26x&flag=");
  });
});

describe("multipart/related root part (RFC 2387 start), shared by reformat and the pSEPP's callback rewriting", () => {
  const part = (...ids: string[]): MultipartPart => ({
    headers: [["content-type", "application/json"], ...ids.map((v): [string, string] => ["content-id", v])],
    data: new Uint8Array(0),
  });
  const parts = [part("<json>"), part("n1"), part(), part("<n2>", "other")];
  test("no start: the first part; start with or without <>: the part with that Content-ID; unknown: -1", () => {
    expect(rootPartIndex(parts, undefined)).toBe(0);
    expect(rootPartIndex(parts, "<n1>")).toBe(1);
    expect(rootPartIndex(parts, "n1")).toBe(1);
    expect(rootPartIndex(parts, "json")).toBe(0);
    expect(rootPartIndex(parts, "n2")).toBe(3);
    expect(rootPartIndex(parts, "nope")).toBe(-1);
  });
  test("a part's Content-ID is its first Content-ID header, without angle brackets", () => {
    expect(parts.map(contentIdOf)).toEqual(["json", "n1", undefined, "n2"]);
    expect(rootPartIndex(parts, "other")).toBe(-1);
  });
});
