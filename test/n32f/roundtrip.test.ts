// Round trips reformat() → (JSON over the wire) → reconstruct() over realistic NF messages of every API in the
// default mapping, the project's vectors, every MESSAGE_RECONSTRUCTION_FAILED reason, and property tests.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import type {
  DataToIntegrityProtectBlock,
  FailureReason,
  IeType,
  MetaData,
  ProtectionPolicy,
} from "../../src/model/n32.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import { parseMultipart } from "../../src/n32f/multipart.ts";
import { buildEffectivePolicy } from "../../src/n32f/policy.ts";
import { formatPointer, getAt } from "../../src/n32f/pointer.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { reformat } from "../../src/n32f/reformat.ts";
import { loadFixtures, type Fixture } from "../fixtures/messages/load.ts";
import { partsPolicy } from "../support/fixture-policy.ts";
import { n32fVectors } from "../support/vectors.ts";

const defaults = JSON.parse(
  readFileSync(join(import.meta.dir, "../..", "config", "api-ie-mapping.json"), "utf8"),
) as ProtectionPolicy;
const vectors = n32fVectors();
const meta: MetaData = { n32fContextId: "51b0c7e2aa93f410", messageId: "00c0ffee12345678", authorizedIpxId: "NULL" };
const dec = new TextDecoder();
const enc = new TextEncoder();

/** JSON over the wire, as the JWE layer carries it */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v));

function expectSameBody(fx: Fixture, got: HttpMessage): void {
  const orig = fx.message;
  if (!orig.body || orig.body.byteLength === 0) {
    expect(got.body === undefined || got.body.byteLength === 0).toBe(true);
    return;
  }
  const ct = orig.headers.find(([n]) => n === "content-type")![1];
  if (ct.startsWith("multipart/related")) {
    const mp = fx.multipart!;
    const parts = parseMultipart(got.body!, mp.boundary);
    expect(parts.length).toBe(mp.parts.length);
    const rootIdx = mp.parts.findIndex((p) => p.json !== undefined);
    // the root part comes first in the rebuilt body, the binary parts follow in order
    expect(JSON.parse(dec.decode(parts[0]!.data))).toEqual(mp.parts[rootIdx]!.json);
    const bin = mp.parts.filter((p) => p.json === undefined);
    bin.forEach((p, i) => {
      const g = parts[i + 1]!;
      const hv = (h: Array<[string, string]>, n: string) => h.find(([k]) => k.toLowerCase() === n)?.[1];
      // the Content-ID in the sender's own form (with or without <>; docs/N32F.md, P10): RefToBinaryData.contentId
      // (TS 29.571) must equal what the producer finds in the header
      expect(hv(g.headers, "content-id")).toBe(hv(p.headers, "content-id")!.trim());
      expect(hv(g.headers, "content-type")).toBe(hv(p.headers, "content-type")!);
      expect(hv(g.headers, "content-transfer-encoding")).toBe(hv(p.headers, "content-transfer-encoding"));
      expect(Buffer.from(g.data).equals(Buffer.from(p.data!))).toBe(true);
    });
  } else if (ct.startsWith("application/x-www-form-urlencoded")) {
    expect([...new URLSearchParams(dec.decode(got.body!))]).toEqual([...new URLSearchParams(dec.decode(orig.body))]);
  } else {
    expect(JSON.parse(dec.decode(got.body!))).toEqual(JSON.parse(dec.decode(orig.body)));
  }
}

describe("round trips over realistic NF messages (test/fixtures/messages)", () => {
  const fixtures = loadFixtures();
  test("fixtures cover every API of the default mapping", () => {
    const prefixes = [
      "/nudm-sdm/",
      "/nudm-uecm/",
      "/nudm-ueau/",
      "/nausf-auth/",
      "/namf-comm/",
      "/nsmf-pdusession/",
      "/nnrf-disc/",
      "/oauth2/token",
    ];
    const paths = fixtures.map((f) => f.message.path ?? f.request!.path);
    for (const p of prefixes) expect(paths.some((x) => x.includes(p))).toBe(true);
    expect(fixtures.some((f) => f.message.headers.some(([n]) => n === "3gpp-sbi-callback"))).toBe(true);
  });

  for (const fx of fixtures) {
    test(`${fx.name}: ${fx.description}`, () => {
      const rawText = readFileSync(join(import.meta.dir, "../fixtures", "messages", `${fx.name}.json`), "utf8");
      for (const s of fx.sensitive) expect(rawText).toContain(s); // the check below is not vacuous
      const local = partsPolicy(fx);
      const policy = buildEffectivePolicy(local ? { defaults, local } : { defaults });
      const { block, dataToEncrypt } = reformat(
        fx.message,
        fx.request ? { metaData: meta, policy, request: fx.request } : { metaData: meta, policy },
      );
      const clear = JSON.stringify(block);
      for (const s of fx.sensitive) expect(clear).not.toContain(s);
      expect(dataToEncrypt.length).toBe((clear.match(/encBlockIndex/g) ?? []).length);
      if (fx.sensitive.length > 0) expect(dataToEncrypt.length).toBeGreaterThan(0);

      const got = reconstruct(wire(block), wire(dataToEncrypt), { expect: fx.message.kind });
      expect(got.kind).toBe(fx.message.kind);
      expect(got.method).toBe(fx.message.method);
      expect(got.scheme).toBe(fx.message.scheme);
      expect(got.authority).toBe(fx.message.authority);
      expect(got.path).toBe(fx.message.path);
      expect(got.query).toBe(fx.message.query);
      expect(got.status).toBe(fx.message.status);
      expect(got.headers).toEqual(fx.message.headers);
      expectSameBody(fx, got);
    });
  }
});

describe("multipart Content-ID forms (docs/N32F.md, P10, P11 Multipart)", () => {
  const ct = 'multipart/related; boundary="bb"; type="application/json"';
  const body = (ids: string[]) =>
    Buffer.concat([
      Buffer.from(
        '--bb\r\nContent-Type: application/json\r\n\r\n{"n1SmInfoFromUe":{"contentId":"n1-req"}}\r\n',
        "latin1",
      ),
      ...ids.map((id, i) =>
        Buffer.from(
          `--bb\r\nContent-Type: application/vnd.3gpp.5gnas\r\nContent-Id: ${id}\r\n\r\n\x2e\x05${String.fromCharCode(i + 1)}\r\n`,
          "latin1",
        ),
      ),
      Buffer.from("--bb--\r\n", "latin1"),
    ]);
  const msg = (ids: string[]): HttpMessage => ({
    kind: "request",
    method: "POST",
    scheme: "https",
    authority: "smf.example.org",
    path: "/nsmf-pdusession/v1/pdu-sessions",
    headers: [["content-type", ct]],
    body: body(ids),
  });
  const policy = (encrypt: string[]) =>
    buildEffectivePolicy({
      defaults,
      local: {
        apiIeMappingList: [
          {
            apiSignature: "/nsmf-pdusession/v1/pdu-sessions",
            apiMethod: "POST",
            IeList: encrypt.map((reqIe) => ({ ieLoc: "MULTIPART_BINARY", ieType: "OTHER", reqIe })),
          },
        ],
        dataTypeEncPolicy: ["OTHER"],
      },
    });
  /** a received block of the multipart request above, with `payload` */
  const blockOf = (payload: DataToIntegrityProtectBlock["payload"]): DataToIntegrityProtectBlock => ({
    metaData: meta,
    requestLine: {
      method: "POST",
      scheme: "https",
      authority: "smf.example.org",
      path: "/nsmf-pdusession/v1/pdu-sessions",
      protocolVersion: "HTTP/2",
    },
    headers: [{ header: "content-type", value: ct }],
    payload,
  });
  const idsOf = (m: HttpMessage) =>
    parseMultipart(m.body!, "bb")
      .slice(1)
      .map((p) => p.headers.find(([n]) => n === "content-id")?.[1]);

  test("an id equal to its iePath segment adds nothing to the block; <id> travels in the part's headers; both come back as sent", () => {
    const { block, dataToEncrypt } = reformat(msg(["n1-req", "<n2>"]), {
      metaData: meta,
      policy: buildEffectivePolicy({ defaults }),
    });
    const bin = block.payload!.filter((p) => p.ieValueLocation === "MULTIPART_BINARY");
    expect(bin.map((p) => p.iePath)).toEqual(["/n1-req", "/n2"]);
    expect((bin[0]!.value as { headers?: unknown }).headers).toBeUndefined();
    expect((bin[1]!.value as { headers?: unknown }).headers).toEqual({ "content-id": "<n2>" });
    expect(idsOf(reconstruct(wire(block), wire(dataToEncrypt)))).toEqual(["n1-req", "<n2>"]);
  });

  test("an encrypted part keeps its form too (the form travels inside the encrypted value)", () => {
    const { block, dataToEncrypt } = reformat(msg(["<n1-req>"]), { metaData: meta, policy: policy(["n1-req"]) });
    expect(JSON.stringify(block)).not.toContain('"content-id"');
    expect(dataToEncrypt).toEqual([
      { contentType: "application/vnd.3gpp.5gnas", data: "LgUB", headers: { "content-id": "<n1-req>" } },
    ]);
    expect(idsOf(reconstruct(wire(block), wire(dataToEncrypt)))).toEqual(["<n1-req>"]);
  });

  test("a block without the header rebuilds the iePath segment exactly, adding no <> (P11)", () => {
    const block = blockOf([
      { iePath: "/n1SmInfoFromUe", ieValueLocation: "BODY", value: { contentId: "n1-req" } },
      {
        iePath: "/n1-req",
        ieValueLocation: "MULTIPART_BINARY",
        value: { contentType: "application/vnd.3gpp.5gnas", data: "LgUB" },
      },
    ]);
    expect(idsOf(reconstruct(block, []))).toEqual(["n1-req"]);
  });

  test("a carried content-id that names another part, or two of them, is refused (INVALID_HTTP_HEADER)", () => {
    const block = (headers: Record<string, string>) =>
      blockOf([
        { iePath: "/a", ieValueLocation: "BODY", value: 1 },
        {
          iePath: "/n1-req",
          ieValueLocation: "MULTIPART_BINARY",
          value: { contentType: "application/vnd.3gpp.5gnas", data: "LgUB", headers },
        },
      ]);
    expectFail(block({ "content-id": "n2" }), [], "INVALID_HTTP_HEADER", "/payload/1/value/headers");
    expectFail(block({ "content-id": "<n1-req>x" }), [], "INVALID_HTTP_HEADER", "/payload/1/value/headers");
    expectFail(
      block({ "content-id": "n1-req", "Content-ID": "<n1-req>" }),
      [],
      "INVALID_HTTP_HEADER",
      "/payload/1/value/headers",
    );
    expectFail(
      block({ "content-id": "n1-req\r\nx-injected: 1" }),
      [],
      "INVALID_HTTP_HEADER",
      "/payload/1/value/headers",
    );
    expect(idsOf(reconstruct(block({ "Content-ID": "n1-req" }), []))).toEqual(["n1-req"]);
  });

  test("two Content-IDs on one part are refused when reformatting", () => {
    const twice = Buffer.from(
      "--bb\r\nContent-Type: application/json\r\n\r\n{}\r\n--bb\r\nContent-Type: a/b\r\nContent-ID: x\r\nContent-ID: <x>\r\n\r\n1\r\n--bb--\r\n",
      "latin1",
    );
    expect(() =>
      reformat({ ...msg([]), body: twice }, { metaData: meta, policy: buildEffectivePolicy({ defaults }) }),
    ).toThrow(/two Content-IDs/);
  });
});

describe("project vectors (../shared/spec/vectors/n32f-vectors.json)", () => {
  const policy = buildEffectivePolicy({ defaults });
  const [v1, v2, v3] = vectors.messages as Array<{
    aadObject: DataToIntegrityProtectBlock;
    plaintextObject: { dataToEncrypt: unknown[] } | null;
  }>;

  test("vector 1 (Nudm_SDM GET): sensible request, and reformatting it gives the same block", () => {
    const msg = reconstruct(wire(v1!.aadObject), v1!.plaintextObject!.dataToEncrypt, { expect: "request" });
    expect(msg).toMatchObject({
      kind: "request",
      method: "GET",
      scheme: "https",
      path: "/nudm-sdm/v2/imsi-262010000000001/am-data",
    });
    expect(msg.query).toBe(v1!.aadObject.requestLine!.queryFragment);
    expect(msg.headers.find(([n]) => n === "authorization")?.[1]).toStartWith("Bearer ");
    const again = reformat(msg, { metaData: v1!.aadObject.metaData!, policy });
    expect(again.block).toEqual(v1!.aadObject);
    expect(again.dataToEncrypt).toEqual(v1!.plaintextObject!.dataToEncrypt);
  });

  test("vector 2 (200, nothing encrypted): rebuilt; our split differs (gpsis is UEID, nssai is not split)", () => {
    const msg = reconstruct(wire(v2!.aadObject), v2!.plaintextObject?.dataToEncrypt ?? [], { expect: "response" });
    expect(msg.status).toBe(200);
    const body = JSON.parse(dec.decode(msg.body!));
    expect(body).toEqual({
      gpsis: ["msisdn-491700000001"],
      subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" },
      nssai: { defaultSingleNssais: [{ sst: 1 }] },
    });
    const request = { method: "GET" as const, path: "/nudm-sdm/v2/imsi-262010000000001/am-data" };
    const ours = reformat(msg, { metaData: v2!.aadObject.metaData!, policy, request });
    expect(ours.block.payload!.map((p) => p.iePath)).toEqual(["/gpsis", "/subscribedUeAmbr", "/nssai"]);
    expect(ours.block.payload![0]!.value).toEqual({ encBlockIndex: 0 });
    expect(ours.dataToEncrypt).toEqual([["msisdn-491700000001"]]);
    // both splits rebuild the same body
    expect(JSON.parse(dec.decode(reconstruct(wire(ours.block), ours.dataToEncrypt).body!))).toEqual(body);
    // without UEID only the split of /nssai differs from the vector
    const noUeid = reformat(msg, {
      metaData: v2!.aadObject.metaData!,
      policy: buildEffectivePolicy({ defaults, encryptUeid: false }),
      request,
    });
    expect(noUeid.dataToEncrypt).toEqual([]);
    expect(noUeid.block.payload![2]).toEqual({
      iePath: "/nssai",
      ieValueLocation: "BODY",
      value: { defaultSingleNssais: [{ sst: 1 }] },
    });
  });

  test("vector 3 (Nausf POST on the reverse session): sensible request, same block", () => {
    const msg = reconstruct(wire(v3!.aadObject), v3!.plaintextObject!.dataToEncrypt, { expect: "request" });
    expect(JSON.parse(dec.decode(msg.body!))).toEqual({
      supiOrSuci: "suci-0-234-15-0-0-0-0123456789",
      servingNetworkName: "5G:mnc001.mcc262.3gppnetwork.org",
    });
    const again = reformat(msg, { metaData: v3!.aadObject.metaData!, policy });
    expect(again.block).toEqual(v3!.aadObject);
    expect(again.dataToEncrypt).toEqual(v3!.plaintextObject!.dataToEncrypt);
  });
});

// ---- MESSAGE_RECONSTRUCTION_FAILED, every reason on purpose ----
const baseReq = (): Record<string, any> => ({
  metaData: meta,
  requestLine: {
    method: "POST",
    scheme: "https",
    authority: "ausf.example.org",
    path: "/nausf-auth/v1/ue-authentications",
    protocolVersion: "HTTP/2",
  },
  headers: [{ header: "content-type", value: "application/json" }],
  payload: [{ iePath: "/supiOrSuci", ieValueLocation: "BODY", value: { encBlockIndex: 0 } }],
});

function expectFail(
  block: unknown,
  dte: unknown[] | undefined,
  reason: FailureReason,
  attribute: string,
  expectKind?: "request" | "response",
) {
  let err: unknown;
  try {
    reconstruct(block as DataToIntegrityProtectBlock, dte, expectKind ? { expect: expectKind } : {});
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(N32fError);
  const n = err as N32fError;
  expect(n.errorType).toBe("MESSAGE_RECONSTRUCTION_FAILED");
  expect(n.failureReason).toBe(reason);
  expect(n.attribute).toBe(attribute);
  // never leaks decrypted values into the error
  expect(n.message).not.toContain("SECRET");
}

describe("reconstruct refusals", () => {
  const S = ["SECRET-suci"];
  test("baseline block reconstructs", () => {
    const m = reconstruct(baseReq() as DataToIntegrityProtectBlock, S);
    expect(JSON.parse(dec.decode(m.body!))).toEqual({ supiOrSuci: "SECRET-suci" });
  });
  test("INVALID_INDEX_TO_ENCRYPTED_BLOCK", () => {
    expectFail(baseReq(), [], "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value"); // out of range
    expectFail(baseReq(), undefined, "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value"); // empty plaintext
    const twice = baseReq();
    twice.headers.push({ header: "x-a", value: { encBlockIndex: 0 } });
    expectFail(twice, ["SECRET"], "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value"); // used twice
    const neg = baseReq();
    neg.payload[0].value = { encBlockIndex: -1 };
    expectFail(neg, S, "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value");
    const frac = baseReq();
    frac.payload[0].value = { encBlockIndex: 0.5 };
    expectFail(frac, S, "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value");
    const extra = baseReq();
    extra.payload[0].value = { encBlockIndex: 0, x: 1 };
    expectFail(extra, S, "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value");
    const nested = baseReq();
    nested.payload[0].value = { a: [1, { encBlockIndex: 3 }] };
    expectFail(nested, S, "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/payload/0/value/a/1");
    const path = baseReq();
    path.requestLine.path = "/nudm-sdm/v2/{encBlockIndex:7}/am-data";
    expectFail(path, S, "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/requestLine/path");
    const pathObj = baseReq();
    pathObj.requestLine.path = "/nudm-sdm/v2/{encBlockIndex:1}/am-data";
    expectFail(pathObj, ["SECRET", { not: "a string" }], "INVALID_INDEX_TO_ENCRYPTED_BLOCK", "/requestLine/path");
  });
  test("INVALID_JSON_POINTER", () => {
    const bad = baseReq();
    bad.payload[0].iePath = "supiOrSuci";
    expectFail(bad, S, "INVALID_JSON_POINTER", "/payload/0/iePath");
    const tilde = baseReq();
    tilde.payload[0].iePath = "/a~2";
    expectFail(tilde, S, "INVALID_JSON_POINTER", "/payload/0/iePath");
    const beyond = baseReq();
    beyond.payload.push(
      { iePath: "/list/0", ieValueLocation: "BODY", value: 1 },
      { iePath: "/list/5", ieValueLocation: "BODY", value: 2 },
    );
    expectFail(beyond, S, "INVALID_JSON_POINTER", "/payload/2/iePath");
    const scalar = baseReq();
    scalar.payload.push({ iePath: "/supiOrSuci/x", ieValueLocation: "BODY", value: 1 });
    expectFail(scalar, S, "INVALID_JSON_POINTER", "/payload/1/iePath");
    const loc = baseReq();
    loc.payload[0].ieValueLocation = "HEADER";
    expectFail(loc, S, "INVALID_JSON_POINTER", "/payload/0/ieValueLocation");
    const noValue = baseReq();
    delete noValue.payload[0].value;
    expectFail(noValue, S, "INVALID_JSON_POINTER", "/payload/0/value");
    const notArray = baseReq();
    notArray.payload = { iePath: "/a" };
    expectFail(notArray, S, "INVALID_JSON_POINTER", "/payload");
    const binInJson = baseReq();
    binInJson.payload.push({
      iePath: "/n1",
      ieValueLocation: "MULTIPART_BINARY",
      value: { contentType: "a/b", data: "AA==" },
    });
    expectFail(binInJson, S, "INVALID_JSON_POINTER", "/payload/1/iePath");
    const mp = baseReq();
    mp.headers[0].value = "multipart/related; boundary=xyz";
    mp.payload.push({
      iePath: "/n1",
      ieValueLocation: "MULTIPART_BINARY",
      value: { contentType: "a/b", data: "not base64!" },
    });
    expectFail(mp, S, "INVALID_JSON_POINTER", "/payload/1/value/data");
    const form = baseReq();
    form.headers[0].value = "application/x-www-form-urlencoded";
    form.payload.push({ iePath: "/a/b", ieValueLocation: "BODY", value: "x" });
    expectFail(form, S, "INVALID_JSON_POINTER", "/payload/1/iePath");
    expectFail("not an object", S, "INVALID_JSON_POINTER", "");
    const deep = baseReq();
    let v: unknown = { encBlockIndex: 0 };
    for (let i = 0; i < 300; i++) v = [v];
    deep.payload[0].value = v;
    expectFail(deep, S, "INVALID_JSON_POINTER", `/payload/0/value${"/0".repeat(257)}`);
  });
  test("INVALID_HTTP_HEADER", () => {
    const pseudo = baseReq();
    pseudo.headers.push({ header: ":path", value: "/x" });
    expectFail(pseudo, S, "INVALID_HTTP_HEADER", "/headers/1/header");
    const noLine = baseReq();
    delete noLine.requestLine;
    expectFail(noLine, S, "INVALID_HTTP_HEADER", "/requestLine", "request");
    expectFail(noLine, S, "INVALID_HTTP_HEADER", "/requestLine");
    expectFail(baseReq(), S, "INVALID_HTTP_HEADER", "/statusLine", "response");
    const both = baseReq();
    both.statusLine = "200";
    expectFail(both, S, "INVALID_HTTP_HEADER", "/statusLine");
    const status = { metaData: meta, statusLine: "OK" };
    expectFail(status, [], "INVALID_HTTP_HEADER", "/statusLine", "response");
    const method = baseReq();
    method.requestLine.method = "BREW";
    expectFail(method, S, "INVALID_HTTP_HEADER", "/requestLine/method");
    const authority = baseReq();
    authority.requestLine.authority = "a b";
    expectFail(authority, S, "INVALID_HTTP_HEADER", "/requestLine/authority");
    const crlf = baseReq();
    crlf.headers.push({ header: "x-a", value: { encBlockIndex: 1 } });
    expectFail(crlf, ["SECRET", "v\r\nx-injected: 1"], "INVALID_HTTP_HEADER", "/headers/1/value");
    const nonString = baseReq();
    nonString.headers.push({ header: "x-a", value: 5 });
    expectFail(nonString, S, "INVALID_HTTP_HEADER", "/headers/1/value");
    const slash = baseReq();
    slash.requestLine.path = "/nudm-sdm/v2/{encBlockIndex:1}/am-data";
    expectFail(slash, ["SECRET", "imsi-1/../admin"], "INVALID_HTTP_HEADER", "/requestLine/path");
    const rawPath = baseReq();
    rawPath.requestLine.path = "/a b";
    expectFail(rawPath, S, "INVALID_HTTP_HEADER", "/requestLine/path");
    const query = baseReq();
    query.requestLine.queryFragment = "supi={encBlockIndex:1}";
    expectFail(query, ["SECRET", "x&admin=1"], "INVALID_HTTP_HEADER", "/requestLine/queryFragment");
    const ct = baseReq();
    ct.headers[0].value = "text/plain";
    expectFail(ct, S, "INVALID_HTTP_HEADER", "/headers/0/value");
    const boundary = baseReq();
    boundary.headers[0].value = "multipart/related";
    expectFail(boundary, S, "INVALID_HTTP_HEADER", "/headers/0/value");
  });
});

describe("reconstruct leniencies and decisions (P3, P10)", () => {
  test('{"headerval"}, "HTTP/2 200", upper-case names, connection headers, authorizedIpxId null, {"dataToEncrypt":[]}', () => {
    const block = {
      metaData: { n32fContextId: "9f3c2a7b01d4e6a8", messageId: "1", authorizedIpxId: null },
      statusLine: "HTTP/2 200",
      headers: [
        { header: "Content-Type", value: { headerval: "application/json" } },
        { header: "connection", value: "close" },
        { header: "x-b", value: "2" },
        { header: "x-b", value: "3" },
      ],
      payload: [{ iePath: "/a", ieValueLocation: "BODY", value: 1 }],
    } as unknown as DataToIntegrityProtectBlock;
    const m = reconstruct(block, [], { expect: "response" });
    expect(m.status).toBe(200);
    expect(m.headers).toEqual([
      ["content-type", "application/json"],
      ["x-b", "2"],
      ["x-b", "3"],
    ]);
    expect(dec.decode(m.body!)).toBe('{"a":1}');
  });
  test("an index never referenced is ignored (an RI may remove an encrypted IE it may modify)", () => {
    const m = reconstruct(baseReq() as DataToIntegrityProtectBlock, ["v", "dropped"]);
    expect(dec.decode(m.body!)).not.toContain("dropped");
  });
  test("nested references are substituted; the input block is not mutated", () => {
    const b = baseReq();
    b.payload = [
      { iePath: "/a", ieValueLocation: "BODY", value: { x: { encBlockIndex: 0 }, y: [{ encBlockIndex: 1 }] } },
      { iePath: "/a/z", ieValueLocation: "BODY", value: true },
      { iePath: "/0", ieValueLocation: "BODY", value: "numeric member of an object" },
    ];
    const before = JSON.stringify(b);
    const m = reconstruct(b as DataToIntegrityProtectBlock, ["X", "Y"]);
    expect(JSON.parse(dec.decode(m.body!))).toEqual({
      a: { x: "X", y: ["Y"], z: true },
      "0": "numeric member of an object",
    });
    expect(JSON.stringify(b)).toBe(before);
  });
  test("iePaths rebuild the same members in every message: escapes, nesting, long names; a malformed one is refused each time", () => {
    const long = "n".repeat(300);
    const b = baseReq();
    b.payload = [
      { iePath: "/a~1b", ieValueLocation: "BODY", value: 1 },
      { iePath: "/a~0b", ieValueLocation: "BODY", value: 2 },
      { iePath: "/c/d", ieValueLocation: "BODY", value: 3 },
      { iePath: "/c", ieValueLocation: "BODY", value: { e: 4 } },
      { iePath: `/${long}`, ieValueLocation: "BODY", value: { y: 5 } },
      { iePath: `/${long}/x`, ieValueLocation: "BODY", value: 6 },
    ];
    // the same block three times (the paths are then known), then the tokens of one path must not leak into another
    for (let round = 0; round < 3; round++) {
      const m = reconstruct(wire(b) as DataToIntegrityProtectBlock, []);
      expect(dec.decode(m.body!)).toBe(`{"a/b":1,"a~b":2,"c":{"e":4},"${long}":{"y":5,"x":6}}`);
    }
    const bad = baseReq();
    bad.payload = [{ iePath: "/a~2", ieValueLocation: "BODY", value: 1 }];
    for (let round = 0; round < 2; round++) expectFail(wire(bad), [], "INVALID_JSON_POINTER", "/payload/0/iePath");
  });
  test("__proto__ members are data, never prototypes", () => {
    const b = baseReq();
    b.payload = JSON.parse(
      '[{"iePath":"/__proto__","ieValueLocation":"BODY","value":{"polluted":true}},{"iePath":"/__proto__/x","ieValueLocation":"BODY","value":1}]',
    );
    const m = reconstruct(b as DataToIntegrityProtectBlock, []);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(dec.decode(m.body!))).toEqual(JSON.parse('{"__proto__":{"polluted":true,"x":1}}'));
  });
});

// ---- property tests ----
const key = fc.string({ maxLength: 6 }).filter((k) => k !== "encBlockIndex" && k !== "__proto__");
const jsonLeaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const { json: jsonTree } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: "small" }, jsonLeaf, tie("arr"), tie("obj")),
  arr: fc.array(tie("json"), { maxLength: 4 }),
  obj: fc.dictionary(key, tie("json"), { maxKeys: 5 }),
}));

function allPointers(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  out.push(prefix);
  if (Array.isArray(v)) for (const [i, x] of v.entries()) allPointers(x, [...prefix, String(i)], out);
  else if (v && typeof v === "object")
    for (const k of Object.keys(v)) allPointers((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

const TYPES: IeType[] = ["UEID", "LOCATION", "KEY_MATERIAL", "AUTHENTICATION_MATERIAL", "AUTHORIZATION_TOKEN"];
const bodyAndPointers = jsonTree.chain((body) => {
  const ptrs = allPointers(body);
  return fc.tuple(
    fc.constant(body),
    fc.subarray(ptrs, { maxLength: Math.min(6, ptrs.length) }),
    fc.subarray(TYPES, { minLength: 1 }),
  );
});

describe("properties (fast-check)", () => {
  test("random JSON bodies and random policies round-trip; encrypted values never appear in the clear block", () => {
    fc.assert(
      fc.property(bodyAndPointers, ([body0, pointers, types]) => {
        const body = wire(body0); // the NF sends JSON text
        const local: ProtectionPolicy = {
          apiIeMappingList: [
            {
              apiSignature: "/test/v1/{id}/things",
              apiMethod: "POST",
              IeList: pointers.map((p, i) => ({
                ieLoc: "BODY" as const,
                ieType: types[i % types.length]!,
                reqIe: formatPointer(p),
              })),
            },
          ],
        };
        if (pointers.length === 0)
          local.apiIeMappingList[0]!.IeList.push({ ieLoc: "HEADER", ieType: "UEID", reqIe: "x-none" });
        const policy = buildEffectivePolicy({ defaults: { apiIeMappingList: [] }, local });
        const msg: HttpMessage = {
          kind: "request",
          method: "POST",
          scheme: "https",
          authority: "nf.example.org",
          path: "/api/test/v1/abc/things",
          headers: [["content-type", "application/json"]],
          body: enc.encode(JSON.stringify(body)),
        };
        const { block, dataToEncrypt } = reformat(msg, { metaData: meta, policy });
        const got = reconstruct(wire(block), wire(dataToEncrypt));
        expect(JSON.parse(dec.decode(got.body!))).toEqual(body);
        // rebuild from the clear block alone (markers for the encrypted values): every named IE is a marker
        // or lies inside one, so its value is nowhere in the clear block
        const markers = dataToEncrypt.map((_, i) => `@@enc${i}@@`);
        const clearOnly = JSON.parse(dec.decode(reconstruct(wire(block), markers).body!));
        for (const p of pointers) {
          let covered = false;
          for (let n = 0; n <= p.length && !covered; n++) {
            const v = getAt(clearOnly, p.slice(0, n));
            if (typeof v === "string" && /^@@enc\d+@@$/.test(v)) covered = true;
          }
          expect(covered).toBe(true);
        }
        // each IE encrypted at most once
        expect(new Set(dataToEncrypt).size <= dataToEncrypt.length).toBe(true);
        expect((JSON.stringify(block).match(/encBlockIndex/g) ?? []).length).toBe(dataToEncrypt.length);
      }),
      { numRuns: 300 },
    );
  });
});
