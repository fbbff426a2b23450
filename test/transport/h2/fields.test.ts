// Malformed field sections (src/transport/h2/fields.ts, RFC 9113 §8.2, §8.3): what a proxy must not pass on.
import { describe, expect, test } from "bun:test";
import { declaredLength, malformedRequest, malformedResponse } from "../../../src/transport/h2/fields.ts";

const req = (...extra: string[]) => [
  ":method",
  "GET",
  ":scheme",
  "https",
  ":authority",
  "a.example",
  ":path",
  "/x",
  ...extra,
];

describe("malformedRequest", () => {
  test("a well-formed request passes, with repeated fields and an empty value", () => {
    expect(malformedRequest(req("accept", "application/json", "via", "a", "via", "b", "x-empty", ""))).toBeNull();
    expect(malformedRequest([":method", "POST", ":path", "/", ":scheme", "http", ":authority", "h"])).toBeNull();
  });

  test.each([
    ["upper-case name", req("Accept", "x")],
    ["space in a name", req("a b", "x")],
    ["non-ASCII name", req("é", "x")],
    ["CR in a value", req("x", "a\rb")],
    ["LF in a value", req("x", "a\nb")],
    ["NUL in a value", req("x", "a\0b")],
    ["leading space in a value", req("x", " a")],
    ["trailing tab in a value", req("x", "a\t")],
    ["connection-specific field", req("connection", "close")],
    ["transfer-encoding", req("transfer-encoding", "chunked")],
    ["te other than trailers", req("te", "gzip")],
    ["two different content-lengths", req("content-length", "1", "content-length", "2")],
    ["content-length not a number", req("content-length", "1x")],
    ["pseudo-header after a regular field", [...req("accept", "x"), ":path", "/y"]],
    ["unknown pseudo-header", [":status", "200", ...req()]],
    ["repeated :path", [":path", "/a", ...req()]],
    ["no :method", [":scheme", "http", ":path", "/", ":authority", "h"]],
    ["no :path", [":method", "GET", ":scheme", "http", ":authority", "h"]],
    ["method not a token", [":method", "G T", ":scheme", "http", ":path", "/", ":authority", "h"]],
    ["CONNECT", [":method", "CONNECT", ":authority", "h:443"]],
  ])("refused: %s", (_why, f) => {
    expect(malformedRequest(f)).not.toBeNull();
  });

  test("te: trailers and one content-length repeated with the same value are allowed", () => {
    expect(malformedRequest(req("te", "trailers", "content-length", "3", "content-length", "3"))).toBeNull();
    expect(declaredLength(req("content-length", "3"))).toBe(3);
    expect(declaredLength(req())).toBe(-1);
  });
});

describe("malformedResponse", () => {
  test(":status first and three digits; the regular fields as for requests", () => {
    expect(malformedResponse([":status", "200", "content-type", "application/json"])).toBeNull();
    expect(malformedResponse([":status", "20"])).not.toBeNull();
    expect(malformedResponse(["content-type", "x", ":status", "200"])).not.toBeNull();
    expect(malformedResponse([":status", "200", ":path", "/"])).not.toBeNull();
    expect(malformedResponse([":status", "200", "Upper", "x"])).not.toBeNull();
  });
});
