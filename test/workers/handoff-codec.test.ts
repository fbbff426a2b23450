// The hand-off messages between data-path workers (src/workers/handoff-codec.ts): every field of a request, its
// connection and an answer comes back as it was written, in one transferable ArrayBuffer; a buffer cut short is
// refused, not read past its end.
import { describe, expect, test } from "bun:test";
import {
  decodeHandoff,
  encodeCancel,
  encodeRequest,
  encodeResponse,
  HandoffCodecError,
  HandoffType,
} from "../../src/workers/handoff-codec.ts";

const req = {
  method: "POST",
  scheme: "https",
  authority: "sepp.5gc.mnc001.mcc262.3gppnetwork.org:443",
  path: "/n32f-forward/v1/n32f-process?x=é€",
  headers: [
    ["content-type", "application/json"],
    ["via", "2.0 a"],
    ["via", "2.0 b"],
    ["x-empty", ""],
  ] as Array<[string, string]>,
  body: new TextEncoder().encode('{"reformattedData":{"aad":"eyJ9"},"ü":"\u{1F600}"}'),
};

describe("hand-off codec", () => {
  test("a request with its connection comes back field for field (repeated and empty headers, UTF-8 path)", () => {
    const chain = [new Uint8Array([0x30, 1, 2, 3]), new Uint8Array(3000).fill(7)];
    const conn = { id: 41, protocol: "TLSv1.3", remoteAddress: "127.0.0.9", chain };
    const ab = encodeRequest(7, "n32f-process", req, conn);
    expect(ab).toBeInstanceOf(ArrayBuffer);
    const m = decodeHandoff(ab);
    if (m.type !== HandoffType.Request) throw new Error("not a request");
    expect(m.id).toBe(7);
    expect(m.kind).toBe("n32f-process");
    expect(m.req.method).toBe(req.method);
    expect(m.req.scheme).toBe(req.scheme);
    expect(m.req.authority).toBe(req.authority);
    expect(m.req.path).toBe(req.path);
    expect(m.req.headers).toEqual(req.headers);
    expect(Buffer.from(m.req.body).equals(Buffer.from(req.body))).toBe(true);
    expect(m.conn?.id).toBe(41);
    expect(m.conn?.protocol).toBe("TLSv1.3");
    expect(m.conn?.remoteAddress).toBe("127.0.0.9");
    expect(m.conn?.chain.map((c) => Buffer.from(c).toString("hex"))).toEqual(
      chain.map((c) => Buffer.from(c).toString("hex")),
    );
  });

  test("an SBI request has no connection; the kinds and an empty body survive", () => {
    for (const kind of ["sbi", "tls-relay"] as const) {
      const m = decodeHandoff(encodeRequest(0xffffffff, kind, { ...req, body: new Uint8Array(0) }, null));
      if (m.type !== HandoffType.Request) throw new Error("not a request");
      expect(m.id).toBe(0xffffffff);
      expect(m.kind).toBe(kind);
      expect(m.conn).toBeNull();
      expect(m.req.body.length).toBe(0);
    }
  });

  test("an answer with a string body arrives as its UTF-8 octets; a bytes body as it was; no body as empty", () => {
    const text = '{"cause":"SYSTEM_FAILURE","detail":"ä\u{1F600}"}';
    const a = decodeHandoff(
      encodeResponse(3, { status: 500, headers: [["content-type", "application/problem+json"]], body: text }),
    );
    if (a.type !== HandoffType.Response) throw new Error("not a response");
    expect(a.res.status).toBe(500);
    expect(a.res.headers).toEqual([["content-type", "application/problem+json"]]);
    expect(Buffer.from(a.res.body as Uint8Array).toString("utf8")).toBe(text);
    const bytes = new Uint8Array([0, 255, 1]);
    const b = decodeHandoff(encodeResponse(4, { status: 200, headers: [], body: bytes }));
    expect(b.type === HandoffType.Response && [...(b.res.body as Uint8Array)]).toEqual([0, 255, 1]);
    const c = decodeHandoff(encodeResponse(5, { status: 204, headers: [] }));
    expect(c.type === HandoffType.Response && (c.res.body as Uint8Array).length).toBe(0);
  });

  test("a cancel names its request", () => {
    expect(decodeHandoff(encodeCancel(99))).toEqual({ type: HandoffType.Cancel, id: 99 });
  });

  test("a buffer cut short or of an unknown type is refused", () => {
    const whole = encodeRequest(1, "sbi", req, null);
    // the encoder's bound leaves slack after the body: cut inside the body's announced length
    const m = decodeHandoff(whole);
    if (m.type !== HandoffType.Request) throw new Error("not a request");
    const end = m.req.body.byteOffset + m.req.body.length;
    for (const cut of [0, 3, 10, end - 1]) expect(() => decodeHandoff(whole.slice(0, cut))).toThrow(HandoffCodecError);
    const bad = new Uint8Array(encodeCancel(1));
    bad[0] = 9;
    expect(() => decodeHandoff(bad.buffer)).toThrow(HandoffCodecError);
  });

  test("more than 65535 headers cannot be encoded (the readers bound headers far below)", () => {
    const many = Array.from({ length: 65536 }, () => ["a", "b"] as [string, string]);
    expect(() => encodeRequest(1, "sbi", { ...req, headers: many }, null)).toThrow(HandoffCodecError);
  });

  test("any header text a reader can produce comes back unchanged (random latin1, BMP and astral characters)", () => {
    // node:http2 gives header values as strings of octets (latin1) and :path likewise; a JS string without lone
    // surrogates survives UTF-8 both ways, whatever the characters
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const char = () => {
      const k = rnd(4);
      if (k === 0) return String.fromCharCode(rnd(0x100)); // latin1, controls included
      if (k === 1) return String.fromCharCode(0x100 + rnd(0xd800 - 0x100)); // BMP below the surrogates
      if (k === 2) return String.fromCharCode(0xe000 + rnd(0x2000)); // BMP above them
      return String.fromCodePoint(0x10000 + rnd(0x10000)); // astral: a surrogate pair
    };
    const str = () => Array.from({ length: rnd(40) }, char).join("");
    for (let i = 0; i < 300; i++) {
      const headers = Array.from({ length: rnd(20) }, () => [str(), str()] as [string, string]);
      const path = `/${str()}`;
      const m = decodeHandoff(encodeRequest(i, "sbi", { ...req, path, headers }, null));
      if (m.type !== HandoffType.Request) throw new Error("not a request");
      expect(m.req.path).toBe(path);
      expect(m.req.headers).toEqual(headers);
      const a = decodeHandoff(encodeResponse(i, { status: 200, headers }));
      expect(a.type === HandoffType.Response && a.res.headers).toEqual(headers);
    }
  });
});
