// test/transport/h2/conformance.test.ts — the server role of H2Conn against RFC 9113 (HTTP/2) and RFC 7541 (HPACK),
// case by case as h2spec does, in memory: the client's octets go to onData, what the server writes is split into
// frames. A connection error is a GOAWAY with the code and the socket ended; a stream error is a RST_STREAM with the
// code on that stream while the connection goes on. After each case a valid GET is sent on the next stream id: it
// must be answered after a stream error and must never reach onRequest after a connection error. Each case runs
// with its octets in one read, then one octet per read. Where the RFC allows several outcomes, a case lists them all.
import { expect, test } from "bun:test";
import { DEFAULT_H2_LIMITS, H2Conn, type H2Limits, type OnRequest } from "../../../src/transport/h2/conn.ts";
import * as F from "../../../src/transport/h2/frames.ts";
import { flushAll } from "../../../src/transport/h2/out.ts";
import {
  type Frame,
  PREFACE,
  bytes,
  continuation as cont,
  dataFrame as data,
  fieldBlock as block,
  frame,
  goawayOf,
  parseFrames,
  problemsEachWay,
  rstFrame,
  settingsFrame as settings,
  u32,
  windowUpdate as wu,
} from "../../support/h2-frames.ts";

const { PROTOCOL_ERROR: PROTOCOL, FLOW_CONTROL_ERROR: FLOW, FRAME_SIZE_ERROR: SIZE, END_STREAM, END_HEADERS } = F;
const CLOSED = 5; // STREAM_CLOSED
const COMPRESSION = F.COMPRESSION_ERROR;
/** 3.4: after an invalid preface the GOAWAY MAY be omitted */
const NO_GOAWAY = -1;
/** 5.4: "a generic error code (such as PROTOCOL_ERROR or INTERNAL_ERROR) can always be used" for a specific one */
const GENERIC = [PROTOCOL, 2];

// ---- what the client sends ----
type Fields = Array<[string, string]>;
const req = (path = "/", more: Fields = [], method = "GET"): Fields => [
  [":method", method],
  [":scheme", "https"],
  [":authority", "sepp.example"],
  [":path", path],
  ...more,
];
const hdrs = (id: number, f: Fields | Buffer, flags = END_STREAM | END_HEADERS) =>
  frame(F.HEADERS, flags, id, Buffer.isBuffer(f) ? f : block(f));
const get = (id: number, path = "/") => hdrs(id, req(path));
const ping = (flags = 0, id = 0, p = Buffer.from("h2-ping!")) => frame(F.PING, flags, id, p);
const prio = (id: number, dep: number) => frame(2, 0, id, Buffer.concat([u32(dep), bytes(15)]));
const goaway = frame(F.GOAWAY, 0, 0, u32(0, 0));
const withCl = (n: number) => hdrs(1, req("/", [["content-length", `${n}`]]), END_HEADERS);
const BLOCK = block(req());
const [HEAD, TAIL, T1, T2] = [BLOCK.subarray(0, 4), BLOCK.subarray(4), BLOCK.subarray(4, 7), BLOCK.subarray(7)];
/** a trailer section, with END_STREAM or without; a request reset as malformed (uppercase name) */
const [TRAILERS, MORE] = [hdrs(1, [["x-t", "1"]]), hdrs(1, [["x-t", "1"]], END_HEADERS)];
/** pad length 3, exclusive dependency on 0, weight 16, the block, 3 octets of padding */
const PAD_PRIO = Buffer.concat([bytes(3, 1 << 7, 0, 0, 0, 15), BLOCK, bytes(0, 0, 0)]);
const RESET = hdrs(1, req("/", [["X-Up", "1"]]), END_HEADERS);
const STATUS_200 = [":status", "200"];
const answer = (id: number) => (s: H2Conn) => s.respond(id, STATUS_200, null);

// ---- running a case ----

/** octets from the client, or what the application does between them */
type Step = Buffer | ((s: H2Conn) => void);
/** served: no RST_STREAM with an error, the next request answered, and those streams too */
type Outcome = { ok: number[] } | { rst: number; codes: number[] } | { goaway: number[] };
interface Case {
  name: string;
  send: Step[];
  /** any one of these (none: `check` only) */
  expect: Outcome[];
  /** [stream, n]: the request on that stream reaches onRequest at most n times */
  handled?: [number, number];
  check?: (r: Run) => string | null;
  limits?: Partial<H2Limits>;
  /** no client preface first */
  raw?: boolean;
  /** the stream of the valid GET after the case (0: none); by default the odd id after the highest one used */
  next?: number;
}
type Run = { server: H2Conn; out: Buffer; frames: Frame[]; seen: [number, string[]][]; ended: boolean; next: number };

const ok = (...ids: number[]): Outcome[] => [{ ok: ids }];
const conn = (...codes: number[]): Outcome[] => [{ goaway: codes }];
/** a stream error kept to its stream, as this gateway does (the other requests on the connection go on) */
const strm = (id: number, ...codes: number[]): Outcome[] => [{ rst: id, codes }];
/** a stream error, or the same as a connection error (5.4.1: "MAY choose to treat a stream error as a connection
 * error") */
const either = (id: number, ...codes: number[]) => [...strm(id, ...codes), ...conn(...codes)];
// RFC 7540 5.3.1 made a stream depending on itself a stream error PROTOCOL_ERROR (h2spec still tests it); RFC 9113
// 5.3.2 deprecates the priority signals and keeps no such rule: ignoring the dependency is allowed too
const selfDep = (...ids: number[]) => [...ok(...ids), ...either(1, PROTOCOL)];

function run(c: Case, octets: boolean): Run {
  const writes: Buffer[] = [];
  const seen: Array<[number, string[]]> = [];
  const ends: number[] = [];
  const onRequest: OnRequest = (conn, id, fields) => {
    seen.push([id, fields]);
    const path = fields[fields.indexOf(":path") + 1];
    if (path !== "/hold") conn.respond(id, STATUS_200, path === "/body" ? Buffer.from("0123456789") : null);
  };
  const socket = { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => ends.push(1) };
  const server = new H2Conn(socket, "server", onRequest, { ...DEFAULT_H2_LIMITS, ...c.limits });
  let next = c.next ?? 1;
  if (c.next === undefined)
    for (const s of c.send)
      if (Buffer.isBuffer(s)) for (const f of parseFrames(s)) if (f.id % 2) next = Math.max(next, f.id + 2);
  for (const s of [...(c.raw ? [] : [PREFACE, settings()]), ...c.send, ...(next ? [get(next)] : [])]) {
    if (!Buffer.isBuffer(s)) s(server);
    else if (octets) for (let i = 0; i < s.length && !server.closed; i++) server.onData(s.subarray(i, i + 1));
    else if (!server.closed) server.onData(s);
    flushAll();
  }
  const out = Buffer.concat(writes);
  return { server, out, frames: parseFrames(out), seen, ended: ends.length > 0, next };
}

const of = (r: Run, type: number, id?: number) => r.frames.filter((f) => f.type === type && (id ?? f.id) === f.id);
const handled = (r: Run, id: number) => r.seen.some(([i]) => i === id);
const answered = (r: Run, id: number) => handled(r, id) && of(r, F.HEADERS, id).length > 0;
const acks = (r: Run) => of(r, F.SETTINGS).filter((f) => f.flags & F.ACK).length;
const code = (f: Frame) => f.p.readUInt32BE(0);
const names = (codes: number[]) => codes.map((c) => (c === NO_GOAWAY ? "no GOAWAY" : F.errorName(c))).join("|");
const describe = (o: Outcome) =>
  "ok" in o
    ? `served ${o.ok}`
    : "rst" in o
      ? `RST_STREAM ${names(o.codes)} on stream ${o.rst}, connection kept`
      : `GOAWAY ${names(o.goaway)}, connection closed`;

function verdict(c: Case, r: Run): string | null {
  const g = goawayOf(r.out);
  const nextOk = r.next === 0 || answered(r, r.next);
  const rsts = of(r, F.RST_STREAM);
  const matches = (o: Outcome): boolean => {
    if ("goaway" in o)
      return (
        r.server.closed &&
        r.ended &&
        !handled(r, r.next) &&
        (g ? [...o.goaway, ...GENERIC].includes(g.code) : o.goaway.includes(NO_GOAWAY))
      );
    if (r.server.closed || g || !nextOk) return false;
    if ("rst" in o) return rsts.some((f) => f.id === o.rst && [...o.codes, ...GENERIC].includes(code(f)));
    return o.ok.every((id) => answered(r, id)) && rsts.every((f) => code(f) === F.NO_ERROR);
  };
  const problems: string[] = [];
  if (c.expect.length && !c.expect.some(matches)) {
    const kept = [...rsts.map((f) => `RST_STREAM ${F.errorName(code(f))} on stream ${f.id}`), "connection kept"];
    const got = r.server.closed ? `GOAWAY ${g ? F.errorName(g.code) : "none"}, closed: ${r.ended}` : kept.join(", ");
    const next = r.next === 0 ? "" : `, next request ${answered(r, r.next) ? "" : "not "}answered`;
    problems.push(`expected ${c.expect.map(describe).join(" or ")}; got ${got}${next}`);
  }
  const [id, max] = c.handled ?? [0, 0];
  const n = r.seen.filter(([i]) => i === id).length;
  if (n > max) problems.push(`the request on stream ${id} reached onRequest ${n} time(s)`);
  const more = c.check?.(r);
  if (more) problems.push(more);
  return problems.length ? `${c.name}: ${problems.join("; ")}` : null;
}

function runCases(cases: Case[]): void {
  expect(problemsEachWay(cases, (c, octets) => verdict(c, run(c, octets)))).toEqual([]);
}
const k = (name: string, send: Step[], expect: Outcome[], o?: Partial<Case>): Case => ({ name, send, expect, ...o });

test("3.4 connection preface", () =>
  runCases([
    // 3.4: an invalid preface is a connection error PROTOCOL_ERROR (the GOAWAY MAY be omitted)
    k("3.4 wrong preface", [Buffer.from("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n")], conn(PROTOCOL, NO_GOAWAY), { raw: true }),
    // 3.4: the string "MUST be followed by a SETTINGS frame": another frame first makes the preface invalid
    k("3.4 first frame not SETTINGS", [PREFACE, ping(), settings()], conn(PROTOCOL, NO_GOAWAY), { raw: true }),
    // 3.4: the server's preface is a SETTINGS frame, the first it sends; the client's SETTINGS is acknowledged (6.5.3)
    k("3.4 valid preface", [], ok(), {
      check: (r) => (r.frames[0]?.type === F.SETTINGS && !r.frames[0].flags && acks(r) === 1 ? null : "bad preface"),
    }),
  ]));

test("4.1, 4.2, 5.5, 8.4 frame format, frame size, extensions", () =>
  runCases([
    // 4.2: a frame of SETTINGS_MAX_FRAME_SIZE (16384: we announce no other) is accepted; a larger one is a
    // FRAME_SIZE_ERROR, which for DATA on a stream may be a stream error, for a field block a connection error
    k("4.2 DATA of 16384", [withCl(16384), data(1, Buffer.alloc(16384))], ok(1)),
    k("4.2 DATA of 16385", [hdrs(1, req(), END_HEADERS), data(1, Buffer.alloc(16385))], either(1, SIZE)),
    k("4.2 HEADERS of 16385", [hdrs(1, Buffer.alloc(16385, 0x82))], conn(SIZE)),
    // 4.1: undefined flags and the reserved bit of the stream identifier are ignored
    k("4.1 undefined flags", [ping(0xfe), hdrs(1, req(), 0xd7)], ok(1), {
      check: (r) => (of(r, F.PING).some((f) => f.p.toString() === "h2-ping!") ? null : "no PING ACK"),
    }),
    k("4.1 reserved bit set", [Buffer.concat([get(1).subarray(0, 5), bytes(0x80), get(1).subarray(6)])], ok(1)),
    // 5.5: frames of unknown types are discarded (on stream 0, on an idle stream, between requests), but in the
    // middle of a field block they are a connection error PROTOCOL_ERROR
    k("5.5 unknown frame types", [frame(0x10, 0xff, 0, bytes(1)), frame(0xfa, 0, 1), get(1), frame(0x20, 0, 3)], ok(1)),
    k("5.5 unknown type in a block", [hdrs(1, HEAD, END_STREAM), frame(0xfa, 0, 1), cont(1, TAIL)], conn(PROTOCOL)),
    // 8.4: a client cannot push: PUSH_PROMISE is a connection error PROTOCOL_ERROR
    k("8.4 PUSH_PROMISE", [get(1, "/hold"), frame(5, 4, 1, Buffer.concat([u32(2), BLOCK]))], conn(PROTOCOL)),
  ]));

test("5.1 stream states and identifiers, 5.1.2 concurrency", () =>
  runCases([
    // 5.1 idle: "Receiving any frame other than HEADERS or PRIORITY ... MUST be treated as a connection error"
    k("5.1 DATA on an idle stream", [data(1, "x")], conn(PROTOCOL)),
    k("5.1 DATA on an idle even stream", [get(1), get(3), data(2, "x")], conn(PROTOCOL)),
    k("5.1, 6.4 RST_STREAM on an idle stream", [rstFrame(1)], conn(PROTOCOL)),
    k("5.1 WINDOW_UPDATE on an idle stream", [get(1), wu(3, 1)], conn(PROTOCOL)),
    k("5.1, 6.10 CONTINUATION on an idle stream", [cont(1, BLOCK)], conn(PROTOCOL)),
    // 5.1 half-closed (remote): any frame but WINDOW_UPDATE, PRIORITY, RST_STREAM: stream error STREAM_CLOSED
    k("5.1 HEADERS+END_STREAM on half-closed", [get(1, "/hold"), get(1)], either(1, CLOSED), { handled: [1, 1] }),
    k("5.1 HEADERS on half-closed", [get(1, "/hold"), MORE], either(1, CLOSED), { handled: [1, 1] }),
    // 5.1, 6.9: those three are allowed there; WINDOW_UPDATE and RST_STREAM on a closed stream are no error either
    k("5.1 WU, PRIORITY, RST_STREAM", [get(1, "/hold"), wu(1, 1), prio(1, 0), get(3), wu(3, 1), rstFrame(3)], ok()),
    // 5.1 closed: other frames there MAY be a connection error STREAM_CLOSED, or are discarded ("can perform this
    // minimal processing for all streams that are in the closed state"); 6.1 makes DATA a stream error STREAM_CLOSED
    k("5.1 DATA on a closed stream", [get(1), data(1, "x")], [...ok(), ...either(1, CLOSED)]),
    // 5.1 closed: after sending RST_STREAM on an open stream an endpoint "MUST minimally process and then discard"
    // the frames the peer had already sent on it, trailers included
    k("5.1 DATA, trailers after our RST_STREAM", [RESET, data(1, "x", 0), TRAILERS], strm(1, PROTOCOL)),
    // 5.1.1: a new stream's id is greater than all the client opened, else a connection error PROTOCOL_ERROR
    k("5.1.1 decreasing stream id", [get(5), get(3)], conn(PROTOCOL), { handled: [3, 0] }),
    k("5.1.1 even stream id", [get(2)], conn(PROTOCOL), { handled: [2, 0] }),
    // 5.1.1, 5.1 closed: a reused id is unexpected (PROTOCOL_ERROR) or a frame on a closed stream (see above)
    k("5.1.1 stream id reused", [get(1), get(1)], [...ok(), ...either(1, CLOSED)], { handled: [1, 1] }),
    // 5.1.2: a HEADERS above SETTINGS_MAX_CONCURRENT_STREAMS: stream error PROTOCOL_ERROR or REFUSED_STREAM
    k("5.1.2 over MAX_CONCURRENT_STREAMS", [get(1, "/hold"), get(3, "/hold"), get(5), answer(1)], strm(5, 7), {
      limits: { maxConcurrentStreams: 2 },
      handled: [5, 0],
    }),
  ]));

test("5.4.1, 6.8 GOAWAY", () =>
  runCases([
    // 6.8: a GOAWAY on a stream other than 0 is a connection error PROTOCOL_ERROR
    k("6.8 GOAWAY on stream 1", [frame(F.GOAWAY, 0, 1, u32(0, 0))], conn(PROTOCOL)),
    // 5.4.1: the GOAWAY of a connection error names the last stream received from the peer
    k("5.4.1 last stream id", [get(1), get(3), ping(0, 1)], conn(PROTOCOL), {
      check: (r) => (goawayOf(r.out)?.lastStreamId === 3 ? null : "last stream id not 3"),
    }),
    // 6.8: after the client's GOAWAY the streams it opened may still complete
    k("6.8 answer after the client's GOAWAY", [get(1, "/hold"), goaway, answer(1)], [], {
      next: 0,
      check: (r) => (answered(r, 1) ? null : "stream 1 not answered"),
    }),
    // 6.8: after our GOAWAY the connection ends with its last stream, also when the peer resets that one
    k("6.8 the peer resets the last stream after our GOAWAY", [get(1, "/hold"), (s) => s.close(), rstFrame(1)], [], {
      next: 0,
      check: (r) => (r.ended ? null : "the connection did not end"),
    }),
    // 6.8: "Endpoints SHOULD always send a GOAWAY frame before closing a connection": ours names the last stream
    k("6.8 our GOAWAY before the end", [get(1, "/hold"), goaway, answer(1)], [], {
      next: 0,
      check: (r) => (r.ended && goawayOf(r.out)?.lastStreamId === 1 ? null : "ended without a GOAWAY naming stream 1"),
    }),
    // 6.8: once a GOAWAY is sent, its sender ignores streams above its last stream id: they were "not processed" and
    // the client may send them again on another connection (a first GOAWAY with 2^31-1, as 6.8 recommends, is fine)
    k("6.8 a stream above our GOAWAY's last stream id", [get(1, "/hold"), (s) => s.close(), get(3)], [], {
      next: 0,
      check: (r) => ((goawayOf(r.out)?.lastStreamId ?? 0) < 3 && handled(r, 3) ? "stream 3 was processed" : null),
    }),
  ]));

test("6.1 DATA, 6.2 HEADERS, 6.3 PRIORITY, 6.4 RST_STREAM", () =>
  runCases([
    // 6.1, 6.2, 6.3, 6.4: these frames always identify a stream; on stream 0: connection error PROTOCOL_ERROR
    ...[data(0, "x"), hdrs(0, req()), frame(2, 0, 0, Buffer.alloc(5)), rstFrame(0)].map((f) =>
      k(`6 frame type ${f[3]} on stream 0`, [f], conn(PROTOCOL)),
    ),
    // 6.1: padding as long as the payload or longer: connection error PROTOCOL_ERROR; padding that fits is removed
    // and is not content (8.1.1: content-length counts the data only)
    k("6.1 DATA pad length = payload", [hdrs(1, req(), 4), frame(0, 9, 1, bytes(4, 97, 0, 0))], conn(PROTOCOL)),
    k("6.1 DATA pad length > payload", [hdrs(1, req(), 4), frame(0, 9, 1, bytes(9, 97))], conn(PROTOCOL)),
    k("6.1 padded DATA", [withCl(1), frame(0, 9, 1, bytes(2, 97, 0, 0))], ok(1)),
    // 6.1, 5.1: DATA on a half-closed (remote) stream: stream error STREAM_CLOSED
    k("6.1 DATA on half-closed (remote)", [get(1, "/hold"), data(1, "x")], either(1, CLOSED)),
    // 6.2: padding longer than the payload: connection error PROTOCOL_ERROR; pad length, priority fields and
    // padding are not part of the field block
    k("6.2 HEADERS padding too long", [hdrs(1, Buffer.concat([bytes(200), BLOCK]), 5 | F.PADDED)], conn(PROTOCOL)),
    k("6.2 padded + priority", [hdrs(1, PAD_PRIO, END_STREAM | END_HEADERS | F.PADDED | F.PRIORITY)], ok(1)),
    // RFC 9113 keeps no rule on a stream depending on itself (see selfDep)
    k("6.2 HEADERS depending on itself", [hdrs(1, Buffer.concat([u32(1), bytes(15), BLOCK]), 0x25)], selfDep(1)),
    k("6.3 PRIORITY depending on itself", [get(1, "/hold"), prio(1, 1)], selfDep()),
    // 6.3: a length other than 5 is a stream error FRAME_SIZE_ERROR; PRIORITY is allowed in every state
    k("6.3 PRIORITY of 4 octets", [get(1, "/hold"), frame(2, 0, 1, Buffer.alloc(4))], either(1, SIZE)),
    k("6.3 PRIORITY on idle, closed streams", [prio(3, 0), get(1), prio(1, 0), get(3)], ok(1, 3)),
    // 6.4: a length other than 4 is a connection error FRAME_SIZE_ERROR; after RST_STREAM nothing more on the stream
    k("6.4 RST_STREAM of 3 octets", [get(1, "/hold"), frame(3, 0, 1, Buffer.alloc(3))], conn(SIZE)),
    k("6.4 response after RST_STREAM", [get(1, "/hold"), rstFrame(1), answer(1)], ok(), {
      check: (r) => (of(r, F.HEADERS, 1).length ? "a response on the reset stream" : null),
    }),
  ]));

test("6.5 SETTINGS, 6.7 PING", () =>
  runCases([
    // 6.5: ACK with a payload, or a length not a multiple of 6: FRAME_SIZE_ERROR; on a stream: PROTOCOL_ERROR
    k("6.5 SETTINGS ACK with payload", [frame(F.SETTINGS, F.ACK, 0, Buffer.alloc(6))], conn(SIZE)),
    k("6.5 SETTINGS on stream 1", [frame(F.SETTINGS, 0, 1)], conn(PROTOCOL)),
    k("6.5 SETTINGS of 3 octets", [frame(F.SETTINGS, 0, 0, Buffer.alloc(3))], conn(SIZE)),
    // 6.5.2: ENABLE_PUSH other than 0 or 1, MAX_FRAME_SIZE outside 2^14..2^24-1: PROTOCOL_ERROR; INITIAL_WINDOW_SIZE
    // above 2^31-1: FLOW_CONTROL_ERROR
    k("6.5.2 ENABLE_PUSH 2", [settings(2, 2)], conn(PROTOCOL)),
    k("6.5.2 MAX_FRAME_SIZE 16383", [settings(5, 16383)], conn(PROTOCOL)),
    k("6.5.2 MAX_FRAME_SIZE 2^24", [settings(5, 2 ** 24)], conn(PROTOCOL)),
    k("6.5.2 INITIAL_WINDOW_SIZE 2^31", [settings(4, 2 ** 31)], conn(FLOW)),
    // 6.5.2: the limits themselves are valid, unknown settings ignored; 6.5.3: each SETTINGS acknowledged
    k("6.5.2 valid, unknown", [settings(5, 16384, 5, 2 ** 24 - 1, 2, 1, 4, 2 ** 31 - 1, 0xff, 7), settings()], ok(), {
      check: (r) => (acks(r) === 3 ? null : `${acks(r)} SETTINGS ACKs for 3 SETTINGS`),
    }),
    // 6.5.2, RFC 7541 4.2: after HEADER_TABLE_SIZE 0 our next field block starts with a table size update to 0
    k("6.5.2 HEADER_TABLE_SIZE 0", [settings(1, 0)], ok(), {
      check: (r) => (of(r, F.HEADERS)[0]?.p[0] === 0x20 ? null : "no size update at the start of the next block"),
    }),
    // 6.7: a PING is answered with ACK and the same payload; a PING with ACK is not answered; on a stream:
    // PROTOCOL_ERROR; a length other than 8: FRAME_SIZE_ERROR
    k("6.7 PING", [ping(0, 0, Buffer.from("abcdefgh"))], ok(), {
      check: (r) => (of(r, F.PING).some((f) => f.flags === F.ACK && `${f.p}` === "abcdefgh") ? null : "no PING ACK"),
    }),
    k("6.7 PING ACK", [ping(F.ACK)], ok(), { check: (r) => (of(r, F.PING).length ? "a PING ACK was answered" : null) }),
    k("6.7 PING on stream 1", [ping(0, 1)], conn(PROTOCOL)),
    k("6.7 PING of 6 octets", [ping(0, 0, Buffer.alloc(6))], conn(SIZE)),
  ]));

/** the DATA frames of the response on stream 1: their lengths, and whether the last ends the stream */
const dataOf1 = (lens: number[], end: boolean) => (r: Run) => {
  const d = of(r, F.DATA, 1);
  const got = `${d.map((f) => f.p.length)}, END_STREAM ${!!((d.at(-1)?.flags ?? 0) & END_STREAM)}`;
  return got === `${lens}, END_STREAM ${end}` ? null : `DATA on stream 1: ${got}`;
};

test("6.9 WINDOW_UPDATE and flow control", () =>
  runCases([
    // 6.9: increment 0: a stream error PROTOCOL_ERROR, on the connection a connection error; a length other than 4:
    // connection error FRAME_SIZE_ERROR
    k("6.9 WINDOW_UPDATE 0 on the connection", [wu(0, 0)], conn(PROTOCOL)),
    k("6.9 WINDOW_UPDATE 0 on a stream", [get(1, "/hold"), wu(1, 0)], either(1, PROTOCOL)),
    k("6.9 WINDOW_UPDATE of 3 octets", [frame(F.WINDOW_UPDATE, 0, 0, Buffer.alloc(3))], conn(SIZE)),
    // 6.9.1: a window above 2^31-1: GOAWAY FLOW_CONTROL_ERROR for the connection, RST_STREAM for a stream
    k("6.9.1 connection window above 2^31-1", [wu(0, 2 ** 31 - 1)], conn(FLOW)),
    k("6.9.1 stream window above 2^31-1", [get(1, "/hold"), wu(1, 2 ** 31 - 1)], either(1, FLOW)),
    // 6.9.2: an INITIAL_WINDOW_SIZE that takes a window above 2^31-1: connection error FLOW_CONTROL_ERROR
    k("6.9.2 INITIAL_WINDOW_SIZE overflow", [get(1, "/hold"), wu(1, 2 ** 31 - 65536), settings(4, 65536)], conn(FLOW)),
    // 6.9.1, 6.9.2: no more DATA than the window; the last value in a SETTINGS applies (6.5.3); a window can go
    // below zero and DATA waits until WINDOW_UPDATEs make it positive
    k("6.9.2 INITIAL_WINDOW_SIZE 1", [settings(4, 100, 4, 1), get(1, "/body"), wu(1, 9)], ok(), {
      check: dataOf1([1, 9], true),
    }),
    k("6.9.2 negative window", [settings(4, 5), get(1, "/body"), settings(4, 0), wu(1, 3), wu(1, 3)], ok(), {
      check: dataOf1([5, 1], false),
    }),
  ]));

test("6.10 CONTINUATION", () =>
  runCases([
    // 6.10: a field block in HEADERS and CONTINUATIONs
    k("6.10 HEADERS + CONTINUATIONs", [hdrs(1, HEAD, END_STREAM), cont(1, T1, 0), cont(1, T2)], ok(1)),
    // 6.10: a CONTINUATION not after a HEADERS or CONTINUATION without END_HEADERS, or on stream 0: PROTOCOL_ERROR
    k("6.10 CONTINUATION after END_HEADERS", [get(1, "/hold"), cont(1, BLOCK)], conn(PROTOCOL)),
    k("6.10 CONTINUATION on stream 0", [hdrs(1, HEAD, END_STREAM), cont(0, TAIL)], conn(PROTOCOL)),
    // 6.2, 6.10: any other frame, or a frame of another stream, inside a field block: PROTOCOL_ERROR
    ...[ping(), prio(1, 0), data(1, "x"), get(3), cont(3, TAIL), settings()].map((f) =>
      k(`6.10 type ${f[3]} on stream ${f[8]} in a field block`, [hdrs(1, HEAD, 0), f, cont(1, TAIL)], conn(PROTOCOL)),
    ),
  ]));

const malformed = (name: string, send: Step[]) => k(name, send, strm(1, PROTOCOL), { handled: [1, 0] });
const bad = (name: string, f: Fields) => malformed(name, [hdrs(1, f)]);
const body = [hdrs(1, req(), END_HEADERS), data(1, "x", 0)];
const noPseudo = (n: string) => req().filter(([m]) => m !== n);

// 8.1.1: a malformed request is a stream error PROTOCOL_ERROR, and never forwarded
test("8.1-8.3, 8.5 malformed requests", () =>
  runCases([
    // 8.2, 8.2.1: names in lowercase, without 0x00-0x20, 0x7f-0xff, or a colon outside pseudo-header fields
    bad("8.2 uppercase field name", req("/", [["X-Foo", "1"]])),
    bad("8.2.1 space in a field name", req("/", [["x foo", "1"]])),
    bad("8.2.1 colon in a field name", req("/", [["x:foo", "1"]])),
    // 8.2.1: values without NUL, CR, LF, and without leading or trailing space or tab
    ...["a\rb", "a\nb", "a\0b", " a", "a\t"].map((v) =>
      bad(`8.2.1 value ${JSON.stringify(v)}`, req("/", [["x-a", v]])),
    ),
    bad("8.2.1 LF in :path", req("/a\nb")),
    // 8.2.2: connection-specific fields; te with "trailers" only
    ...["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"].map((n) =>
      bad(`8.2.2 ${n}`, req("/", [[n, "x"]])),
    ),
    bad("8.2.2 te: gzip", req("/", [["te", "gzip"]])),
    // 8.3: undefined pseudo-header fields, response ones in a request, after a regular field, repeated
    bad("8.3 unknown pseudo-header", req("/", [[":foo", "x"]])),
    bad("8.3 :status in a request", [[":status", "200"], ...req()]),
    bad("8.3 pseudo after a regular field", [...noPseudo(":path"), ["x-a", "1"], [":path", "/"]]),
    bad("8.3 :path twice", [...req(), [":path", "/"]]),
    bad("8.3 :method twice", [[":method", "GET"], ...req()]),
    // 8.3.1: exactly one :method, :scheme, :path (CONNECT aside); :path not empty for https
    ...[":method", ":scheme", ":path"].map((n) => bad(`8.3.1 no ${n}`, noPseudo(n))),
    bad("8.3.1 empty :path", req("")),
    // 8.5: a CONNECT request has :method and :authority, no :scheme or :path
    bad("8.5 CONNECT with :scheme and :path", req("/", [], "CONNECT")),
    bad("8.5 CONNECT without :authority", [[":method", "CONNECT"]]),
    // 8.1.1: content-length other than the sum of the DATA payloads
    malformed("8.1.1 content-length > DATA", [withCl(5), data(1, "abc")]),
    malformed("8.1.1 content-length < DATA", [withCl(2), data(1, "ab", 0), data(1, "c")]),
    bad("8.1.1 content-length without DATA", req("/", [["content-length", "1"]])),
    // (a method is any token: one named like a 304 status is no response without a body)
    bad("8.1.1 content-length, method 304", req("/", [["content-length", "1"]], "304")),
    // 8.1: a HEADERS without END_STREAM after the header section
    malformed("8.1 trailers without END_STREAM", [...body, MORE]),
    // 8.3: no pseudo-header fields in a trailer section; 8.2, 8.2.1 hold for every field, trailers included
    malformed("8.3 pseudo-header in trailers", [...body, hdrs(1, [[":path", "/x"]])]),
    malformed("8.2 uppercase name in trailers", [...body, hdrs(1, [["X-T", "1"]])]),
    malformed("8.2.1 LF in a trailer value", [...body, hdrs(1, [["x-t", "a\nb"]])]),
    // 8.1, 8.2.2: a well-formed request with te: trailers and a trailer section is handed over
    k("8.1 with trailers", [hdrs(1, req("/", [["te", "trailers"]]), END_HEADERS), data(1, "x", 0), TRAILERS], ok(1)),
  ]));

const hpack = (name: string, ...b: number[]) =>
  k(name, [hdrs(1, Buffer.concat([BLOCK, bytes(...b)]))], conn(COMPRESSION), { handled: [1, 0] });
const indexed = (n: string, v: string) => bytes(0x40, n.length, ...Buffer.from(n), v.length, ...Buffer.from(v));

// RFC 9113 4.3: a field block that cannot be decoded is a connection error COMPRESSION_ERROR
test("RFC 7541 HPACK", () =>
  runCases([
    // 7541 6.1: index 0; 2.3.3: an index past both tables
    hpack("7541 6.1 index 0", 0x80),
    hpack("7541 2.3.3 index 62, dynamic table empty", 0xbe),
    // 7541 4.2: a size update only at the start of a block; 6.3: not above SETTINGS_HEADER_TABLE_SIZE (4096)
    hpack("7541 4.2 table size update after a field", 0x20),
    k("7541 6.3 size update to 4097", [hdrs(1, Buffer.concat([bytes(0x3f, 0xe2, 0x1f), BLOCK]))], conn(COMPRESSION)),
    // 7541 5.2: EOS in a Huffman string, padding over 7 bits, padding that is not the EOS prefix
    hpack("7541 5.2 Huffman EOS", 0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61),
    hpack("7541 5.2 Huffman padding of 11 bits", 0x00, 0x82, 0x1f, 0xff, 0x01, 0x61),
    hpack("7541 5.2 Huffman padding of 0 bits", 0x00, 0x81, 0x18, 0x01, 0x61),
    // 7541 5.1: an integer beyond the implementation's limits; 5.2: a string longer than the block
    hpack("7541 5.1 integer overflow", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
    hpack("7541 5.2 truncated string", 0x00, 0x85, 0x61),
    // 7541 2.3.2: the dynamic table lives across blocks, also through a stream reset as malformed (9113 4.3)
    k(
      "7541 2.3.2 dynamic table across blocks",
      [
        hdrs(1, Buffer.concat([BLOCK, indexed("x-a", "1"), block([["X-Up", "1"]])])),
        hdrs(3, Buffer.concat([BLOCK, indexed("x-b", "2")])),
        hdrs(5, Buffer.concat([BLOCK, bytes(0xbe, 0xbf)])),
      ],
      strm(1, PROTOCOL),
      {
        check: (r) =>
          `${r.seen.find(([i]) => i === 5)?.[1].slice(8)}` === "x-b,2,x-a,1" ? null : "stream 5: wrong fields",
      },
    ),
    // 9113 10.5.1: a field section over our SETTINGS_MAX_HEADER_LIST_SIZE: the request is refused (here, with no
    // application hook, reset), not the connection; the block is decoded to its end, so that an entry it adds after
    // the bound is there for the next block (4.3)
    k(
      "10.5.1 request fields over the list bound",
      [
        hdrs(
          1,
          Buffer.concat([
            block(
              req("/", [
                ["x-a", "a".repeat(120)],
                ["x-b", "b".repeat(120)],
              ]),
            ),
            indexed("x-c", "3"),
          ]),
        ),
        hdrs(3, Buffer.concat([BLOCK, bytes(0xbe)])),
      ],
      strm(1, PROTOCOL),
      {
        limits: { maxHeaderList: 300 },
        handled: [1, 0],
        check: (r) => (`${r.seen.find(([i]) => i === 3)?.[1].slice(8)}` === "x-c,3" ? null : "stream 3: wrong fields"),
      },
    ),
  ]));
