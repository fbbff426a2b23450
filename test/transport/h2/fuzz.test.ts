// Random frame sequences into both roles of H2Conn, in memory (the conformance files hold the cases one by one):
// whatever a peer sends, onData returns — an exception out of it would leave the socket's data handler and end the
// process — and a connection that ended stays ended. Fixed seeds, so a failure is found again.
import { expect, test } from "bun:test";
import { DEFAULT_H2_LIMITS, H2Conn } from "../../../src/transport/h2/conn.ts";
import { flushAll } from "../../../src/transport/h2/out.ts";
import { PREFACE, frame, headersFrame } from "../../support/h2-frames.ts";

/** a small deterministic generator (an LCG: enough to spread the cases, and a seed finds one again) */
function generator(seed: number) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  return { rnd, int: (n: number) => Math.floor(rnd() * n) };
}

const GET = headersFrame(1, [
  [":method", "GET"],
  [":scheme", "https"],
  [":authority", "x"],
  [":path", "/"],
]).subarray(9);
const FLAGS = [0, 1, 4, 5, 8, 0x20, 0x25, 0x2d];

/** mostly known frame types on the first streams, with valid, empty, control-sized or random payloads */
function randomFrame(g: ReturnType<typeof generator>): Buffer {
  const type = g.rnd() < 0.8 ? g.int(10) : g.int(256);
  const flags = g.rnd() < 0.5 ? FLAGS[g.int(FLAGS.length)]! : g.int(256);
  const id = g.rnd() < 0.2 ? 0 : g.rnd() < 0.7 ? 1 + 2 * g.int(4) : g.int(0x7fffffff);
  const r = g.rnd();
  let p: Buffer;
  if (type === 1 && r < 0.6) {
    p = Buffer.from(GET);
    if (g.rnd() < 0.3) p[g.int(p.length)] = g.int(256);
  } else {
    p = Buffer.alloc(r < 0.3 ? 0 : r < 0.6 ? [4, 5, 6, 8][g.int(4)]! : g.int(300));
    for (let i = 0; i < p.length; i++) p[i] = g.int(256);
  }
  return frame(type, flags, id, p);
}

function fuzz(role: "server" | "client", seed: number, runs: number): string[] {
  const g = generator(seed);
  const problems: string[] = [];
  for (let n = 0; n < runs; n++) {
    const c = new H2Conn(
      { write: (b: Uint8Array) => b.length, end: () => {} },
      role,
      (conn, id) => {
        if (g.rnd() < 0.5) conn.respond(id, [":status", "200"], g.rnd() < 0.5 ? Buffer.alloc(g.int(70_000)) : null);
      },
      DEFAULT_H2_LIMITS,
    );
    const parts: Buffer[] = role === "server" ? [PREFACE, frame(4, 0, 0)] : [frame(4, 0, 0)];
    if (role === "client")
      for (let i = 0; i < 3; i++) {
        const body = g.rnd() < 0.5 ? Buffer.alloc(g.int(100_000)) : null;
        c.request([":method", "POST", ":scheme", "https", ":authority", "x", ":path", "/"], body, () => {});
      }
    for (let i = 1 + g.int(12); i > 0; i--) parts.push(randomFrame(g));
    const all = Buffer.concat(parts);
    try {
      if (g.rnd() < 0.5) c.onData(all);
      else
        for (let o = 0; o < all.length && !c.closed; ) {
          const m = 1 + g.int(40);
          c.onData(all.subarray(o, o + m));
          o += m;
        }
      flushAll();
      const closed = c.closed;
      if (g.rnd() < 0.3) c.close();
      flushAll();
      if (closed && !c.closed) problems.push(`${role} run ${n}: an ended connection came back`);
      c.onClose();
    } catch (e) {
      problems.push(`${role} run ${n} (seed ${seed}): ${(e as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
    }
  }
  return problems.slice(0, 5);
}

test("server role: 3000 random frame sequences, in one read or in pieces: onData never throws", () => {
  expect(fuzz("server", 1, 1500)).toEqual([]);
  expect(fuzz("server", 99, 1500)).toEqual([]);
});

test("client role (three requests open, bodies up to 100 KB): 3000 random sequences, onData never throws", () => {
  expect(fuzz("client", 7, 1500)).toEqual([]);
  expect(fuzz("client", 12345, 1500)).toEqual([]);
});
