// src/screening/operations.ts: the operation table tries only the templates of a path's shape (method, number of
// segments, last segment) and finds the operation without splitting the path: the same answers as trying every
// template in weight order, as the table did before (test/support/operation-oracle.ts), on the shipped operation lists
// and random ones.
import { describe, expect, test } from "bun:test";
import { OperationTable, type OperationSpec } from "../../src/screening/operations.ts";
import { SCREENING_DEFAULTS } from "../../src/screening/rules.ts";
import { oracle } from "../support/operation-oracle.ts";

let seed = 5;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return (seed >>> 12) % n; // the high bits: the low ones of this generator repeat with a short period
};
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
const METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"];
const VALUES = [
  "imsi-262010000000001",
  "x",
  "a%2Fb",
  "%41%42",
  "%zz",
  "shared-data",
  "v2",
  "nudm-sdm",
  "registrations",
];

/** A path for a template: its variables filled, maybe behind a deployment prefix, maybe with a trailing slash. */
function pathFor(s: OperationSpec): string {
  const resource = s.resource!.replace(/\{[^{}/]+\}/g, () => pick(VALUES));
  const before = Array.from({ length: rnd(4) }, () => pick(["app", "nudm-sdm", "v1", "", "sepp"])).join("/");
  const api = s.api && s.version ? `/${s.api}/${s.version}` : "";
  return `${before ? `/${before}` : ""}${api}${resource}${rnd(8) === 0 ? "/" : ""}`;
}

/** Random operations: literal and variable segments, variables inside segments, APIs without version (bare). */
function randomSpecs(n: number): OperationSpec[] {
  const seg = () => pick(["am-data", "{supi}", "{ueId}", "sdm-subscriptions", "{a}-{b}", "x.json", "{id}.json", ""]);
  return Array.from({ length: n }, () => {
    const resource = `/${Array.from({ length: 1 + rnd(3) }, seg).join("/")}`;
    return rnd(5) === 0
      ? { method: pick(METHODS), resource }
      : {
          api: pick(["nudm-sdm", "nudm-uecm", "nausf-auth"]),
          version: pick(["v1", "v2"]),
          method: pick(METHODS),
          resource,
        };
  });
}

describe("operation table", () => {
  test("the shipped lists (home, visited): every template's paths and random others match as every template tried in order", () => {
    for (const specs of [SCREENING_DEFAULTS.operations.home, SCREENING_DEFAULTS.operations.visited]) {
      const table = new OperationTable(specs);
      const ref = oracle(specs);
      for (const s of specs)
        if (s.resource)
          for (let k = 0; k < 20; k++) {
            const method = rnd(4) === 0 ? pick(METHODS) : s.method!;
            const path = pathFor(s);
            expect([method, path, table.match(method, path)]).toEqual([method, path, ref(method, path)]);
          }
    }
  });

  test("edges: a path without leading slash, a bare template '/' reached after the last segment, empty segments", () => {
    const specs: OperationSpec[] = [
      ...SCREENING_DEFAULTS.operations.home,
      { method: "GET", resource: "/" },
      { method: "PUT", resource: "/{x}" },
    ];
    const table = new OperationTable(specs);
    const ref = oracle(specs);
    const paths = [
      "x/nudm-sdm/v2/imsi-1/am-data",
      "nudm-sdm/v2/imsi-1/am-data",
      "/a/b",
      "a/b",
      "/",
      "",
      "//nudm-sdm/v2/imsi-1/am-data",
      "/nudm-sdm/v2",
      "/nudm-sdm/v2/",
      "/a/b/c/d/e/f/g/nudm-sdm/v2/imsi-1/am-data",
      "/a/b/c/d/nudm-sdm/v2/imsi-1/am-data",
      "x/a/b/c/d/nudm-sdm/v2/imsi-1/am-data",
    ];
    let found = 0;
    for (const path of paths)
      for (const method of ["GET", "PUT"]) {
        const r = table.match(method, path);
        if (r) found++;
        expect([method, path, r]).toEqual([method, path, ref(method, path)]);
      }
    expect(found).toBeGreaterThan(8);
  });

  test("random operation lists and paths, percent-encoded and empty segments, bare operations", () => {
    for (let round = 0; round < 200; round++) {
      const specs = randomSpecs(1 + rnd(30));
      const table = new OperationTable(specs);
      const ref = oracle(specs);
      for (let k = 0; k < 30; k++) {
        const s = pick(specs);
        const path = rnd(6) === 0 ? `/${Array.from({ length: rnd(7) }, () => pick(VALUES)).join("/")}` : pathFor(s);
        const method = rnd(3) === 0 ? pick(METHODS) : s.method!;
        expect([method, path, table.match(method, path)]).toEqual([method, path, ref(method, path)]);
      }
    }
  });
});
