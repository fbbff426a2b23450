// src/datapath/n32f-encoding.ts: which Accept-Encoding answers announce gzip (RFC 9110 12.5.3), and when a body is
// gzipped (threshold, only when smaller).
import { expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { acceptsGzip, gzipBody } from "../../src/datapath/n32f-encoding.ts";

test("acceptsGzip: gzip / x-gzip / * with q > 0 announce it; q=0, identity only, absent or empty do not", () => {
  expect(acceptsGzip("gzip, identity")).toBe(true);
  expect(acceptsGzip("identity;q=0.5, GZIP;q=0.1")).toBe(true);
  expect(acceptsGzip("x-gzip")).toBe(true);
  expect(acceptsGzip("*")).toBe(true);
  expect(acceptsGzip("gzip;q=0, *")).toBe(false);
  expect(acceptsGzip("*;q=0")).toBe(false);
  expect(acceptsGzip("identity")).toBe(false);
  expect(acceptsGzip("br, deflate")).toBe(false);
  expect(acceptsGzip("")).toBe(false);
  expect(acceptsGzip(undefined)).toBe(false);
  expect(acceptsGzip("gzip;q=abc")).toBe(false);
});

test("gzipBody: below the threshold or with threshold 0 nothing; above it the gzip form when smaller", () => {
  const big = JSON.stringify({ a: "x".repeat(20000) });
  expect(gzipBody("short", 100)).toBeUndefined();
  expect(gzipBody(big, 0)).toBeUndefined();
  const z = gzipBody(big, 1000)!;
  expect(z.length).toBeLessThan(big.length);
  expect(gunzipSync(z).toString()).toBe(big);
  // incompressible bytes: sent as they are
  expect(gzipBody(crypto.getRandomValues(new Uint8Array(4096)), 1000)).toBeUndefined();
});
