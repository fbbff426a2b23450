// test/n32f/text-arb.ts — fast-check generators of JSON TEXT (not values) for the text-engine tests: whitespace,
// every escape form, duplicate and index-like names, numbers JSON.stringify rewrites (1e400, -0, 1.0), deep
// nesting; and mutations that make a text invalid.
import fc from "fast-check";

const ws = fc.constantFrom("", "", "", " ", "\n", "\t ", "\r\n  ");

const numberText = fc.oneof(
  fc.constantFrom(
    "0",
    "-0",
    "1.0",
    "1e400",
    "-1e400",
    "1E2",
    "0.1",
    "1e-7",
    "2.5e+3",
    "1.5",
    "-0.0",
    "123456789012345",
    "1234567890123456",
    "12345678901234567890",
    "9007199254740993",
    "5e-324",
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);

const stringText = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.string({ unit: "grapheme" }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    '"\\u0041"',
    '"\\/"',
    '"a\\nb"',
    '"\\u001f"',
    '"\\u001F"',
    '"\\u0008"',
    '"\\ud83d\\ude00"',
    '"\\ud800"',
    '"\\udc00x"',
    '"a\\u0000b"',
    '"é€😀"',
    '"\u2028\u2029"',
    '"\\"\\\\"',
    '"\u007f"',
  ),
);

export const nameText = fc.oneof(
  fc.constantFrom(
    '"a"',
    '"b"',
    '"c"',
    '"supi"',
    '"gpsis"',
    '"0"',
    '"1"',
    '"10"',
    '"-1"',
    '"__proto__"',
    '"x/y"',
    '"t~1"',
    '""',
    '"a\\nb"',
    '"\\u0061"',
    '"enc\\u0042lockIndex"',
    '"encBlockIndex"',
    '"é"',
  ),
  stringText,
);

/** JSON text of any value, up to `depth` containers deep. */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberText,
    stringText,
    fc.constantFrom("true", "false", "null"),
    fc
      .array(fc.tuple(ws, tie("v"), ws), { maxLength: 5 })
      .chain((els) => ws.map((w) => `[${w}${els.map(([a, v, b]) => `${a}${v}${b}`).join(",")}]`)),
    fc
      .array(fc.tuple(ws, nameText, ws, ws, tie("v"), ws), { maxLength: 6 })
      .chain((ms) => ws.map((w) => `{${w}${ms.map(([a, n, b, c, v, d]) => `${a}${n}${b}:${c}${v}${d}`).join(",")}}`)),
  ),
})).v;

/** Root objects whose members the test policy encrypts (names a, b, gpsis, x/y …). */
export const bodyText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.tuple(ws, nameText, ws, jsonText), { maxLength: 8 })
      .chain((ms) =>
        fc.tuple(ws, ws).map(([w1, w2]) => `${w1}{${ms.map(([a, n, b, v]) => `${a}${n}${b}:${v}`).join(",")}}${w2}`),
      ),
  },
  { weight: 1, arbitrary: jsonText },
);

/** A text and a random change of it (cut, a character inserted or replaced): mostly invalid JSON. */
export const mutatedText: fc.Arbitrary<string> = fc
  .tuple(
    bodyText,
    fc.nat(),
    fc.constantFrom("", ",", "}", "]", '"', "\\", "x", "\u0001", "0", " ", ":", "{", "["),
    fc.boolean(),
  )
  .map(([t, at, ch, replace]) => {
    const i = t.length ? at % t.length : 0;
    return t.slice(0, i) + ch + t.slice(replace ? i + 1 : i);
  });
