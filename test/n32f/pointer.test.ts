// RFC 6901 JSON Pointer (src/n32f/pointer.ts), the one pointer module of src/: the examples of RFC 6901
// section 5, malformed pointers, and property tests of escape/unescape, format/parse and walking (getAt, setAt)
// over JSON values whose member names carry `~`, `/`, digits and `__proto__`.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  appendToken,
  escapeToken,
  formatPointer,
  getAt,
  parsePointer,
  setAt,
  unescapeToken,
} from "../../src/n32f/pointer.ts";

/** Tokens made mostly of the characters that matter to RFC 6901, plus any string. */
const tokenArb = fc.oneof(
  fc.string({ unit: fc.constantFrom("~", "/", "0", "1", "a", "~0", "~1", "/~"), maxLength: 8 }),
  fc.constantFrom("", "0", "10", "01", "-1", "__proto__", "constructor", "~", "/", "*"),
  fc.string({ maxLength: 12 }),
);

/** JSON values whose member names come from tokenArb (a `__proto__` member is an own property, as JSON.parse makes it). */
const { json: jsonArb } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie("json"), { maxLength: 4 }),
    fc
      .array(fc.tuple(tokenArb, tie("json")), { maxLength: 4 })
      .map((entries) =>
        JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`),
      ),
  ),
}));

/** The RFC's own reading of a pointer, token by token, with no shortcut: what parsePointer must agree with. */
function referenceParse(p: string): string[] | null {
  if (p === "") return [];
  if (!p.startsWith("/")) return null;
  const out: string[] = [];
  for (const raw of p.slice(1).split("/")) {
    let t = "";
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== "~") t += raw[i];
      else if (raw[i + 1] === "0" || raw[i + 1] === "1") t += raw[++i] === "0" ? "~" : "/";
      else return null;
    }
    out.push(t);
  }
  return out;
}

/** Every node of a JSON value with the tokens that lead to it (own members only, as JSON has). */
function nodes(v: unknown, path: string[] = [], out: [string[], unknown][] = []): [string[], unknown][] {
  out.push([path, v]);
  if (Array.isArray(v)) for (const [i, x] of v.entries()) nodes(x, [...path, String(i)], out);
  else if (typeof v === "object" && v !== null)
    for (const k of Object.keys(v)) nodes((v as Record<string, unknown>)[k], [...path, k], out);
  return out;
}

describe("RFC 6901 JSON Pointer", () => {
  test("the examples of RFC 6901 section 5 resolve to the values the RFC lists", () => {
    const doc = JSON.parse(
      '{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\\\j":5,"k\\"l":6," ":7,"m~n":8}',
    );
    const cases: [string, unknown][] = [
      ["", doc],
      ["/foo", doc.foo],
      ["/foo/0", "bar"],
      ["/", 0],
      ["/a~1b", 1],
      ["/c%d", 2],
      ["/e^f", 3],
      ["/g|h", 4],
      ["/i\\j", 5],
      ['/k"l', 6],
      ["/ ", 7],
      ["/m~0n", 8],
    ];
    for (const [p, want] of cases) {
      const tokens = parsePointer(p);
      expect(tokens).not.toBeNull();
      expect(getAt(doc, tokens!)).toBe(want);
      expect(formatPointer(tokens!)).toBe(p);
    }
  });

  test("a malformed pointer is refused: no leading slash, or a ~ not followed by 0 or 1", () => {
    for (const p of ["a", "a/b", "~0", "/~", "/a~", "/~2", "/a~b/c", "/ok/~x", "/~01/~"])
      expect(parsePointer(p)).toBeNull();
    expect(parsePointer("/~01")).toEqual(["~1"]);
    expect(parsePointer("/~10")).toEqual(["/0"]);
  });

  test("unescapeToken(escapeToken(t)) is t, and an escaped token has no / and only ~0 or ~1", () => {
    fc.assert(
      fc.property(tokenArb, (t) => {
        const e = escapeToken(t);
        expect(unescapeToken(e)).toBe(t);
        expect(e.includes("/")).toBe(false);
        expect(/~(?![01])/.test(e)).toBe(false);
        if (!t.includes("~") && !t.includes("/")) expect(e).toBe(t);
      }),
      { numRuns: 2000 },
    );
  });

  test("parsePointer(formatPointer(tokens)) is tokens, and appendToken extends a pointer by one token", () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { maxLength: 6 }), tokenArb, (tokens, next) => {
        const p = formatPointer(tokens);
        expect(parsePointer(p)).toEqual(tokens);
        expect(appendToken(p, next)).toBe(formatPointer([...tokens, next]));
        expect(parsePointer(appendToken(p, next))).toEqual([...tokens, next]);
      }),
      { numRuns: 2000 },
    );
  });

  test("parsePointer agrees with a token-by-token reading of the RFC on any string, well-formed or not", () => {
    const pointerish = fc.oneof(
      fc.string({ unit: fc.constantFrom("/", "~", "0", "1", "2", "a", "~0", "~1"), maxLength: 16 }),
      fc.string({ maxLength: 16 }).map((s) => `/${s}`),
      fc.string({ maxLength: 16 }),
    );
    fc.assert(
      fc.property(pointerish, (p) => {
        const got = parsePointer(p);
        expect(got).toEqual(referenceParse(p));
        if (got !== null) expect(formatPointer(got)).toBe(p);
      }),
      { numRuns: 5000 },
    );
  });

  test("walking: the pointer of every node of a JSON value, formatted and parsed back, gets that very node", () => {
    fc.assert(
      fc.property(jsonArb, (doc) => {
        for (const [path, node] of nodes(doc)) expect(getAt(doc, parsePointer(formatPointer(path))!)).toBe(node);
      }),
      { numRuns: 500 },
    );
  });

  test("walking: getAt of an absent member, an index out of range or a non-index on an array is undefined", () => {
    fc.assert(
      fc.property(jsonArb, tokenArb, (doc, extra) => {
        for (const [path, node] of nodes(doc)) {
          const absent = Array.isArray(node)
            ? !/^(0|[1-9][0-9]*)$/.test(extra) || Number(extra) >= node.length
            : typeof node === "object" && node !== null
              ? !Object.hasOwn(node, extra)
              : true;
          if (absent) expect(getAt(doc, [...path, extra])).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });

  test("walking: setAt writes at the pointer of any node, leaves the input unchanged and every other node in place", () => {
    fc.assert(
      fc.property(jsonArb, fc.nat(), (doc, pick) => {
        if (typeof doc !== "object" || doc === null) return;
        const all = nodes(doc).filter(([p]) => p.length > 0);
        if (all.length === 0) return;
        const [path] = all[pick % all.length]!;
        const before = JSON.stringify(doc);
        const marker = { marker: true };
        const out = setAt(doc, path, marker, new WeakSet());
        expect(JSON.stringify(doc)).toBe(before);
        expect(getAt(out, path)).toBe(marker);
        const under = (p: string[]) => p.length >= path.length && path.every((t, i) => p[i] === t);
        for (const [p, node] of nodes(doc))
          if (!under(p) && (typeof node !== "object" || node === null)) expect(getAt(out, p)).toBe(node);
      }),
      { numRuns: 500 },
    );
  });
});
