// test/transport/h2/conformance-client.test.ts — the client role of H2Conn (towards a peer SEPP or a producer NF: an
// untrusted server) against RFC 9113 and RFC 7541, case by case as conformance.test.ts does for the server role, in
// memory: the server's octets go to onData, what the client writes is split into frames, each request's callbacks are
// recorded. A connection error is a GOAWAY with the code, the socket ended, every request called back (the open ones
// failing); a stream error is our RST_STREAM with the code on that stream, that request failing with a clear kind, the
// connection going on. A GET sent after each case must be answered, or fail at once after a connection error or a
// GOAWAY. Each case runs with the server's octets in one read, then one octet per read. Where the RFC allows several
// outcomes, a case lists them all.
import { expect, test } from "bun:test";
import { DEFAULT_H2_LIMITS, H2Conn, type H2Limits, type H2StreamError } from "../../../src/transport/h2/conn.ts";
import * as F from "../../../src/transport/h2/frames.ts";
import { flushAll } from "../../../src/transport/h2/out.ts";
import type { OnResponse } from "../../../src/transport/h2/stream.ts";
import {
  type Frame,
  PREFACE,
  bytes,
  continuation as cont,
  dataFrame as data,
  fieldBlock as block,
  frame,
  parseFrames,
  problemsEachWay,
  rstFrame as rst,
  settingsFrame as settings,
  u32,
  windowUpdate as wu,
} from "../../support/h2-frames.ts";

const { PROTOCOL_ERROR: PROTOCOL, FLOW_CONTROL_ERROR: FLOW, FRAME_SIZE_ERROR: SIZE, END_STREAM, END_HEADERS } = F;
const { REFUSED_STREAM: REFUSED, CANCEL, COMPRESSION_ERROR: COMPRESSION, ENHANCE_YOUR_CALM: CALM } = F;
/** 5.4: "a generic error code (such as PROTOCOL_ERROR or INTERNAL_ERROR) can always be used" for a specific one */
const GENERIC = [PROTOCOL, 2];
type Kind = H2StreamError["kind"];

// ---- what the server sends ----
type Fields = Array<[string, string]>;
const st = (status = "200", more: Fields = []): Fields => [[":status", status], ...more];
const cl = (n: number, status = "200") => st(status, [["content-length", `${n}`]]);
const hdrs = (id: number, f: Fields | Buffer = st(), flags = END_STREAM | END_HEADERS) =>
  frame(F.HEADERS, flags, id, Buffer.isBuffer(f) ? f : block(f));
/** a header section that a body (or more HEADERS) follows */
const head = (id: number, f: Fields = st()) => hdrs(id, f, END_HEADERS);
const ping = (flags = 0, p = Buffer.from("h2-ping!")) => frame(F.PING, flags, 0, p);
const prio = (id: number) => frame(2, 0, id, Buffer.concat([u32(0), bytes(15)]));
const goaway = (last: number, code = 0, debug = "") =>
  frame(F.GOAWAY, 0, 0, Buffer.concat([u32(last, code), Buffer.from(debug)]));
const zeros = (n: number) => Buffer.alloc(n);
const times = (n: number, b: Buffer) => Buffer.concat(Array.from({ length: n }, () => b));
const BLOCK = block(st("200", [["x-b", "22"]]));
const [HEAD, TAIL, T1, T2] = [BLOCK.subarray(0, 4), BLOCK.subarray(4), BLOCK.subarray(4, 7), BLOCK.subarray(7)];
const TRAILERS: Fields = [["x-t", "1"]];
const PROMISED = block(Object.entries({ ":method": "GET", ":scheme": "https", ":path": "/pushed" }));

// ---- running a case ----

type Call = { err: H2StreamError | null; fields: string[]; body: Buffer | null };
interface Run {
  conn: H2Conn;
  writes: Buffer[];
  ended: boolean;
  /** per request in order: its callback's calls, its callback; the requests given up (cancel) */
  calls: Call[][];
  cbs: OnResponse[];
  cancelled: number[];
  /** the case's requests (not the GET after it), what `snap` steps recorded, what became of the GET after it */
  n: number;
  snaps: string[];
  next: string;
}
/** octets from the server, or what the application (the test) does between them */
type Step = Buffer | ((r: Run) => unknown);
type Outcome = { ok: number[] } | { failed: number; kinds: Kind[]; rst: [number, number[]] } | { goaway: number[] };
interface Case {
  name: string;
  send: Step[];
  expect: Outcome[]; // any one of these (none: `check` only)
  check?: (r: Run) => string | null;
  limits?: Partial<H2Limits>;
  /** no server preface first (else an empty SETTINGS, unless the case begins with a SETTINGS frame) */
  raw?: boolean;
}

const frames = (r: Run) => parseFrames(Buffer.concat(r.writes).subarray(PREFACE.length));
const of = (r: Run, type: number, id?: number) => frames(r).filter((f) => f.type === type && (id ?? f.id) === f.id);
/** the error code of a RST_STREAM or GOAWAY, the increment of a WINDOW_UPDATE */
const code = (f: Frame) => f.p.readUInt32BE(f.type === F.GOAWAY ? 4 : 0);
const sent = (r: Run) => of(r, F.HEADERS).map((f) => f.id);
const lastSent = (r: Run) => Math.max(0, ...sent(r));
const dataOf = (r: Run, id: number) => Buffer.concat(of(r, F.DATA, id).map((f) => f.p));
const acks = (r: Run, type: number) => of(r, type).filter((f) => f.flags & F.ACK).length;
const wuSum = (r: Run, id: number) => of(r, F.WINDOW_UPDATE, id).reduce((n, f) => n + code(f), 0);
const said = (k: Call) => (k.err ? k.err.kind : `ok ${k.fields[1]}${k.body ? ` ${k.body}` : ""}`);
/** each request of the case: "-" (no callback), its failure's kind, or "ok <status> <body>" */
const summary = (r: Run) => `${r.calls.slice(0, r.n).map((k) => (k.length ? k.map(said).join("+") : "-"))}`;

type Open = { method?: string; body?: string | Buffer; maxBody?: number; more?: string[] };
function send(r: Run, o: Open = {}): number {
  const calls: Call[] = [];
  const cb: OnResponse = (err, fields, body) => calls.push({ err, fields, body });
  r.calls.push(calls);
  r.cbs.push(cb);
  const fields = [":method", o.method ?? "GET", ":scheme", "https", ":authority", "x", ":path", "/", ...(o.more ?? [])];
  r.conn.request(fields, o.body ?? null, cb, o.maxBody);
  flushAll();
  return r.calls.length - 1;
}
const open = (o?: Open) => (r: Run) => send(r, o);
const GET = open();
/** gives up request i (conn.cancel: its callback is never called) */
const cancel = (i: number) => (r: Run) => r.cancelled.push(i) && r.conn.cancel(r.cbs[i]!);
/** records something of the run at this point, for `check` */
const snap = (f: (r: Run) => string) => (r: Run) => r.snaps.push(f(r));

function run(c: Case, octets: boolean): Run {
  const r = { writes: [], calls: [], cbs: [], cancelled: [], snaps: [], ended: false } as object as Run;
  const socket = { write: (b: Uint8Array) => r.writes.push(Buffer.from(b)) && b.length, end: () => (r.ended = true) };
  r.conn = new H2Conn(socket, "client", undefined, { ...DEFAULT_H2_LIMITS, ...c.limits });
  flushAll();
  const own = Buffer.isBuffer(c.send[0]) && c.send[0][3] === F.SETTINGS;
  for (const s of [...(c.raw || own ? [] : [settings()]), ...c.send]) {
    if (!Buffer.isBuffer(s)) s(r);
    else if (octets) for (let i = 0; i < s.length && !r.conn.closed; i++) r.conn.onData(s.subarray(i, i + 1));
    else if (!r.conn.closed) r.conn.onData(s);
    flushAll();
  }
  r.n = r.calls.length;
  const before = lastSent(r);
  const [first] = r.calls[send(r)]!;
  if (!first && lastSent(r) > before && !r.conn.closed) r.conn.onData(hdrs(lastSent(r)));
  flushAll();
  const last = r.calls[r.n]![0];
  r.next = !last ? "no callback" : !last.err ? "answered" : first ? "failed at once" : `failed: ${last.err.kind}`;
  return r;
}

const names = (codes: number[]) => codes.map(F.errorName).join("|");
const describe = (o: Outcome) =>
  "ok" in o
    ? `request(s) ${o.ok} answered`
    : "goaway" in o
      ? `GOAWAY ${names(o.goaway)}, closed`
      : `request ${o.failed} failed ${o.kinds.join("|") || "(any kind)"}, RST_STREAM ${names(o.rst[1])} on ${o.rst[0]}`;

function verdict(c: Case, r: Run): string | null {
  const fr = frames(r);
  const ga = fr.find((f) => f.type === F.GOAWAY);
  const rsts = fr.filter((f) => f.type === F.RST_STREAM);
  const calls = r.calls.slice(0, r.n);
  const all = calls.every((k, i) => k.length || r.cancelled.includes(i)); // every request called back (not cancelled)
  const matches = (o: Outcome): boolean => {
    if ("goaway" in o) return r.conn.closed && r.ended && !!ga && [...o.goaway, ...GENERIC].includes(code(ga)) && all;
    if (r.conn.closed || ga) return false;
    if ("ok" in o) return o.ok.every((i) => r.calls[i]?.[0]?.err === null) && rsts.every((f) => code(f) === F.NO_ERROR);
    const err = r.calls[o.failed]?.[0]?.err;
    const reset = rsts.some((f) => f.id === o.rst[0] && [...o.rst[1], ...GENERIC].includes(code(f)));
    return !!err && (o.kinds.length === 0 || o.kinds.includes(err.kind)) && reset;
  };
  const problems: string[] = [];
  if (c.expect.length && !c.expect.some(matches)) {
    const end = r.conn.closed ? `GOAWAY ${ga ? F.errorName(code(ga)) : "none"}, ended ${r.ended}` : "connection kept";
    const got = [...rsts.map((f) => `RST_STREAM ${F.errorName(code(f))} on ${f.id}`), end].join(", ");
    problems.push(`expected ${c.expect.map(describe).join(" or ")}; got ${got}; callbacks [${summary(r)}]`);
  }
  for (const [i, k] of calls.entries()) if (k.length > 1) problems.push(`request ${i} called back ${k.length} times`);
  const gone = r.conn.closed || r.conn.goingAway;
  if (r.next !== (gone ? "failed at once" : "answered")) problems.push(`the GET after the case: ${r.next}`);
  const more = c.check?.(r);
  if (more) problems.push(more);
  return problems.length ? `${c.name}: ${problems.join("; ")}` : null;
}

/** a case; `o`: its options, or just its check */
function runCases(cases: Case[]): void {
  expect(problemsEachWay(cases, (c, octets) => verdict(c, run(c, octets)))).toEqual([]);
}
const k = (name: string, send: Step[], expect: Outcome[], o?: Partial<Case> | Case["check"]): Case =>
  typeof o === "function" ? { name, send, expect, check: o } : { name, send, expect, ...o };
const ok = (...ids: number[]): Outcome[] => [{ ok: ids }];
const conn = (...codes: number[]): Outcome[] => [{ goaway: codes }];
/** a stream error on stream `id` (request (id-1)/2): our RST_STREAM with one of `codes`, the request failing */
const strm = (id: number, rst: number[], ...kinds: Kind[]): Outcome[] => [{ failed: id >> 1, kinds, rst: [id, rst] }];
/** a stream error, or as a connection error (5.4.1: "MAY choose to treat a stream error as a connection error") */
const either = (id: number, ...codes: number[]) => [...strm(id, codes), ...conn(...codes)];
/** 8.1.1: a malformed response is a stream error PROTOCOL_ERROR, never handed on */
const mal = (id = 1) => strm(id, [PROTOCOL], "malformed");
/** the callbacks of the case's requests (summary) must be `want` */
const got = (want: string) => (r: Run) => (summary(r) === want ? null : `callbacks [${summary(r)}], not [${want}]`);

/** the preface string, then SETTINGS with ENABLE_PUSH 0; one SETTINGS ACK */
const preface = (r: Run) => {
  const f = frames(r)[0]!;
  const push0 = f.type === F.SETTINGS && !f.flags && /^(?:.{12})*?000200000000/.test(f.p.toString("hex"));
  const good = Buffer.concat(r.writes).subarray(0, 24).equals(PREFACE) && push0 && acks(r, F.SETTINGS) === 1;
  return good ? null : "bad preface or no SETTINGS ACK";
};
test("3.4 connection preface, 6.7 PING, 8.4 PUSH_PROMISE", () =>
  runCases([
    // 3.4: the server's preface is a SETTINGS frame, "the first frame the server sends"; else PROTOCOL_ERROR
    k("3.4 first frame PING", [GET, ping(), settings()], conn(PROTOCOL), { raw: true }),
    k("3.4 first frame SETTINGS ACK", [GET, frame(F.SETTINGS, F.ACK, 0), settings()], conn(PROTOCOL), { raw: true }),
    k("3.4 first frame HEADERS", [GET, hdrs(1), settings()], conn(PROTOCOL), { raw: true }),
    // 3.4: ours is the string and SETTINGS (ENABLE_PUSH 0), a request may precede the server's; 6.5.3: ACK
    k("3.4 valid preface", [GET, settings(), hdrs(1)], ok(0), { raw: true, check: preface }),
    // 6.7: a PING is answered with ACK and the same payload; a PING ACK is not answered
    k("6.7 PING, PING ACK", [GET, ping(0, Buffer.from("abcdefgh")), ping(F.ACK), hdrs(1)], ok(0), {
      check: (r) => (`${of(r, F.PING).map((f) => `${f.flags}${f.p}`)}` === "1abcdefgh" ? null : "PING answers"),
    }),
    // 8.4, 6.5.2: we sent SETTINGS_ENABLE_PUSH 0: a PUSH_PROMISE is a connection error PROTOCOL_ERROR
    k("8.4 PUSH_PROMISE", [GET, frame(5, END_HEADERS, 1, Buffer.concat([u32(2), PROMISED]))], conn(PROTOCOL)),
  ]));

/** a cancelled request: our RST_STREAM CANCEL on stream 1, its callback never called */
const cancelled = (r: Run) => (of(r, F.RST_STREAM, 1).some((f) => code(f) === CANCEL) ? got("-")(r) : "no CANCEL");
test("5.1 stream states and identifiers", () =>
  runCases([
    // 5.1 idle, 5.1.1: a server opens no stream (we take no push): HEADERS on a stream we never opened has an
    // "unexpected stream identifier": a connection error PROTOCOL_ERROR
    k("5.1.1 HEADERS on an idle odd stream", [GET, hdrs(3)], conn(PROTOCOL)),
    k("5.1.1 HEADERS on an even stream", [GET, hdrs(2)], conn(PROTOCOL)),
    // 5.1 idle: "Receiving any frame other than HEADERS or PRIORITY ... MUST be treated as a connection error"
    ...[data(3, "x"), data(2, "x"), rst(3), rst(2), wu(3, 1), wu(2, 1), cont(3, BLOCK)].map((f) =>
      k(`5.1 type ${f[3]} on idle stream ${f[8]}`, [GET, f], conn(PROTOCOL)),
    ),
    // 5.3.2: PRIORITY is allowed on any stream, and ignored
    k("5.3.2 PRIORITY on idle streams", [GET, prio(3), prio(2), hdrs(1)], ok(0)),
    // 5.1 closed: after our RST_STREAM the server may still send what it had sent: "MUST minimally process and then
    // discard" the response, its body, trailers, RST_STREAM, WINDOW_UPDATE; a cancelled request is not called back
    k("5.1 response after our cancel", [GET, cancel(0), head(1), data(1, "x", 0), hdrs(1, TRAILERS)], [], cancelled),
    k("5.1 body after cancel", [GET, head(1), cancel(0), data(1, "x", 0), hdrs(1, TRAILERS), rst(1)], [], cancelled),
    // 6.9: DATA on a closed stream still counts toward the connection window (given back by WINDOW_UPDATE)
    k("6.9 DATA after our cancel", [GET, head(1), cancel(0), times(2, data(1, zeros(16384), 0))], [], {
      limits: { connectionWindow: 65535 },
      check: (r) => cancelled(r) ?? (wuSum(r, 0) === 32768 ? null : `connection WINDOW_UPDATE ${wuSum(r, 0)} of 32768`),
    }),
    // 5.1 closed after END_STREAM: more frames are a connection error STREAM_CLOSED, or discarded (minimal processing)
    k("5.1 DATA after the response", [GET, hdrs(1), data(1, "x")], [...ok(0), ...conn(F.STREAM_CLOSED)]),
    k("5.1 HEADERS after the response", [GET, hdrs(1), hdrs(1)], [...ok(0), ...conn(F.STREAM_CLOSED)]),
  ]));

const bad = (name: string, f: Fields) => k(name, [GET, hdrs(1, f)], mal());
const body = [GET, head(1), data(1, "x", 0)];
/** 1xx responses (without END_STREAM) then a final 200 */
const interim = (...f: Fields[]) => [GET, ...f.map((x) => head(1, x)), hdrs(1)];
test("8.1-8.3, 8.6 malformed and well-formed responses", () =>
  runCases([
    // 8.3.2: one :status, three digits (RFC 9110 15), before the regular fields; 8.3: no other pseudo-header field
    bad("8.3.2 no :status", [["x-a", "1"]]),
    ...["20", "2000", "2x0", ""].map((s) => bad(`8.3.2 :status ${JSON.stringify(s)}`, st(s))),
    bad("8.3.2 :status twice", st("200", [[":status", "200"]])),
    bad("8.3 unknown pseudo-header", st("200", [[":foo", "x"]])),
    bad("8.3 :path in a response", st("200", [[":path", "/"]])),
    bad("8.3 :method first", [[":method", "GET"], ...st()]),
    bad("8.3 :status after a regular field", [["x-a", "1"], ...st()]),
    // 8.2: names in lowercase; 8.2.1: no NUL, CR, LF in values, no leading or trailing whitespace
    bad("8.2 uppercase field name", st("200", [["X-A", "1"]])),
    ...["a\rb", "a\nb", "a\0b", " a"].map((v) => bad(`8.2.1 value ${JSON.stringify(v)}`, st("200", [["x-a", v]]))),
    // 8.2.2: connection-specific fields
    ...["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"].map((n) =>
      bad(`8.2.2 ${n}`, st("200", [[n, "x"]])),
    ),
    // 8.1.1: a content-length other than the sum of the DATA payloads
    k("8.1.1 content-length > DATA", [GET, head(1, cl(5)), data(1, "abc")], mal()),
    k("8.1.1 content-length < DATA", [GET, head(1, cl(2)), data(1, "ab", 0), data(1, "c")], mal()),
    bad("8.1.1 content-length without DATA", cl(1)),
    // 8.1: "a HEADERS frame without the END_STREAM flag set after receiving a final (non-informational) status code"
    // makes it malformed
    k("8.1 trailers without END_STREAM", [...body, head(1, TRAILERS)], mal()),
    k("8.1 a second final response", [GET, head(1), head(1)], mal()),
    k("8.1 1xx after the final response", [GET, head(1), head(1, st("100"))], mal()),
    // 8.3: no pseudo-header field in trailers; 8.2, 8.2.1 hold for every field, trailers included
    k("8.3 pseudo-header in trailers", [...body, hdrs(1, st("204"))], mal()),
    k("8.2 uppercase name in trailers", [...body, hdrs(1, [["X-T", "1"]])], mal()),
    // 8.1: DATA before the header section: malformed, or (5.4.1) a connection error PROTOCOL_ERROR
    k("8.1 DATA before HEADERS", [GET, data(1, "x")], [...mal(), ...conn(PROTOCOL)]),
    k("8.1 DATA after a 1xx", [GET, head(1, st("100")), data(1, "x")], [...mal(), ...conn(PROTOCOL)]),
    // 8.1: zero or more informational responses, then the final one; a trailer section (not handed on)
    k("8.1 100, 103, then 200", interim(st("100"), st("103", [["link", "</a>"]])), ok(0), got("ok 200")),
    k("8.1 trailers", [...body, hdrs(1, TRAILERS)], ok(0), got("ok 200 x")),
    // 8.1: "A HEADERS frame with the END_STREAM flag set that carries an informational status code is malformed"
    k("8.1 1xx with END_STREAM", [GET, hdrs(1, st("100"))], mal()),
    // 8.3.2, 8.2: an informational response is a field section like the final one, as malformed as it can be
    k("8.3.2 :status 1", interim(st("1")), mal()),
    k("8.3.2 :status 1xx", interim(st("1xx")), mal()),
    k("8.2 uppercase name in a 1xx", interim(st("103", [["Link", "</a>"]])), mal()),
    // 8.6: "HTTP/2 removes support for the 101 (Switching Protocols) informational status code": no 1xx to skip
    k("8.6 101", interim(st("101")), mal()),
    // 8.1.1: "A response that is defined to have no content ... MAY have a non-zero content-length header field,
    // even though no content is included in DATA frames": "204 or 304 responses ..., as does the response to a HEAD"
    k("8.1.1 HEAD response with content-length", [open({ method: "HEAD" }), hdrs(1, cl(5))], ok(0)),
    ...["304", "204"].map((s) => k(`8.1.1 ${s} with content-length`, [GET, hdrs(1, cl(5, s))], ok(0))),
  ]));

const ONE = settings(3, 1);
const CAP4 = open({ maxBody: 4 });
test("6.5 SETTINGS, 5.1.2 the server's stream limit", () =>
  runCases([
    // 6.5: an ACK with a payload is a connection error FRAME_SIZE_ERROR
    k("6.5 SETTINGS ACK with payload", [GET, frame(F.SETTINGS, F.ACK, 0, zeros(6))], conn(SIZE)),
    // 6.5.2: "A client MUST treat receipt of ... SETTINGS_ENABLE_PUSH set to 1 as a connection error", 2 too; 0 is fine
    ...[1, 2].map((v) => k(`6.5.2 ENABLE_PUSH ${v}`, [GET, settings(2, v)], conn(PROTOCOL))),
    k("6.5.2 ENABLE_PUSH 0", [GET, settings(2, 0, 0xff, 7), hdrs(1)], ok(0)),
    // 6.5.2: MAX_FRAME_SIZE outside 2^14..2^24-1: PROTOCOL_ERROR; INITIAL_WINDOW_SIZE above 2^31-1: FLOW_CONTROL_ERROR
    ...[16383, 2 ** 24].map((v) => k(`6.5.2 MAX_FRAME_SIZE ${v}`, [GET, settings(5, v)], conn(PROTOCOL))),
    k("6.5.2 INITIAL_WINDOW_SIZE 2^31", [GET, settings(4, 2 ** 31)], conn(FLOW)),
    // 5.1.2: "MUST NOT exceed the limit set by its peer": the 2nd request waits until the 1st ends, however it ends
    k("5.1.2 MAX_CONCURRENT_STREAMS 1", [ONE, GET, GET, snap((r) => `${sent(r)}`), hdrs(1), hdrs(3)], ok(0, 1), (r) =>
      `${r.snaps}|${sent(r)}` === "1|1,3,5" ? null : `HEADERS sent: ${r.snaps}, then ${sent(r)}`,
    ),
    k("5.1.2 after a malformed response", [ONE, GET, GET, hdrs(1, st("2x0")), hdrs(3)], mal(), got("malformed,ok 200")),
    k("5.1.2 after too-large", [ONE, CAP4, GET, head(1), data(1, "12345"), hdrs(3)], [], got("too-large,ok 200")),
    // 6.5.2, 10.5.1: a request over the server's MAX_HEADER_LIST_SIZE is not sent (a node:http2 server ends the whole
    // connection on one); at the limit it is. The GET fields count 167 octets, x-big 37 + its value
    k("6.5.2 MAX_HEADER_LIST_SIZE 300, a request of 301", [settings(6, 300), LONG(97)], [], (r) =>
      `${summary(r)}|${sent(r)}` === "fields-too-large|1" ? null : `callbacks [${summary(r)}], HEADERS on ${sent(r)}`,
    ),
    k("6.5.2 MAX_HEADER_LIST_SIZE 300, a request of 300", [settings(6, 300), LONG(96), hdrs(1)], ok(0)),
    // until the server's first SETTINGS its limit is unknown: a field section over 4 KB waits for them, then goes
    // or fails by them; a small one leaves at once
    ...[
      [settings(), hdrs(1), hdrs(3)],
      [settings(6, 20000), hdrs(1)],
    ].map((then, i) =>
      k(
        `6.5.2 before the server's SETTINGS, a request of 20 KB (${i ? "then 20 000" : "then none"})`,
        [GET, LONG(20000), snap((r) => `${sent(r)}`), ...then],
        [],
        {
          raw: true,
          check: (r) => {
            const want = i ? "1|ok 200,fields-too-large" : "1|ok 200,ok 200";
            return `${r.snaps[0]}|${summary(r)}` === want
              ? null
              : `sent ${r.snaps[0]} before SETTINGS; callbacks [${summary(r)}], not ${want}`;
          },
        },
      ),
    ),
  ]));
const LONG = (n: number) => open({ more: ["x-big", "b".repeat(n)] });

/** the connection ended (after a GOAWAY, with its last stream) */
const ended = (r: Run) => (r.conn.closed && r.ended ? null : "the connection did not end");
/** the server refuses the last stream we opened, as long as the first request is not called back */
const refuseLast = (r: Run) => r.calls[0]!.length || r.conn.onData(rst(lastSent(r), REFUSED));
/** a request body that the connection window (65535) stops, answered in full: its stream is then reset NO_ERROR */
const EARLY = [open({ body: zeros(1e5) }), hdrs(1), rst(1, 0), wu(0, 1e5)];
test("6.8 GOAWAY, 8.7 RST_STREAM, body cap", () =>
  runCases([
    // 6.8: a GOAWAY on a stream other than 0 is a connection error PROTOCOL_ERROR
    k("6.8 GOAWAY on stream 1", [GET, frame(F.GOAWAY, 0, 1, u32(0, 0))], conn(PROTOCOL)),
    // 6.8: streams above the last stream id were not processed: "refused" at once (safe to retry, 8.7); the others may
    // complete; no new stream (a request fails at once); the connection ends with its last stream
    k("6.8 last stream id 1", [GET, GET, GET, goaway(1), snap(summary), hdrs(1)], [], (r) =>
      `${r.snaps}` === "-,refused,refused" ? (got("ok 200,refused,refused")(r) ?? ended(r)) : `at GOAWAY [${r.snaps}]`,
    ),
    // 6.8: a GOAWAY with an error code: the streams above it refused, its code and debug data in the reason
    k("6.8 GOAWAY ENHANCE_YOUR_CALM", [GET, goaway(0, CALM, "slow down")], [], (r) =>
      /ENHANCE_YOUR_CALM: slow down/.test(`${r.calls[0]?.[0]?.err}`) ? (got("refused")(r) ?? ended(r)) : "why?",
    ),
    // 6.8, 8.7: such a stream reset REFUSED_STREAM cannot be sent again here: "refused" at once; the connection ends
    k("6.8 REFUSED_STREAM after GOAWAY", [GET, goaway(1), rst(1, REFUSED)], [], (r) => got("refused")(r) ?? ended(r)),
    k("6.8 RST_STREAM CANCEL after GOAWAY", [GET, goaway(1), rst(1, CANCEL)], [], (r) => got("reset")(r) ?? ended(r)),
    // 8.7: REFUSED_STREAM: not processed, sent again on a new stream (its body too), a bounded number of times
    k("8.7 REFUSED_STREAM once", [open({ body: "abc" }), rst(1, REFUSED), hdrs(3)], ok(0), (r) =>
      `${dataOf(r, 3)}` === "abc" && (of(r, F.DATA, 3)[0]?.flags ?? 0) & END_STREAM ? null : "body not sent again",
    ),
    k("8.7 REFUSED_STREAM again and again", [GET, ...Array(10).fill(refuseLast)], [], (r) =>
      sent(r).length <= 6 ? got("refused")(r) : `sent ${sent(r).length} times`,
    ),
    // 8.7, 7: other codes (an unknown one too: it "MUST NOT trigger any special behavior"): the request fails "reset"
    ...[CANCEL, 2, 0xff].map((c) => k(`8.7 RST_STREAM ${F.errorName(c)}`, [GET, rst(1, c)], [], got("reset"))),
    // 8.1: "a server MAY request that the client abort transmission of a request ... RST_STREAM ... NO_ERROR after
    // sending a complete response": the response stands, no more request DATA (5.1 closed), whatever windows open
    k("8.1 RST_STREAM NO_ERROR after the response", [settings(4, 1 << 20), ...EARLY], ok(0), (r) =>
      dataOf(r, 1).length === 65535 ? null : `${dataOf(r, 1).length} request octets sent, not 65535`,
    ),
    // a response body over the request's cap: RST_STREAM CANCEL (the server may stop), "too-large"; at the cap: fine
    k("body over maxBody", [CAP4, head(1), data(1, "123", 0), data(1, "45")], strm(1, [CANCEL], "too-large")),
    k("body of maxBody", [CAP4, head(1), data(1, "12", 0), data(1, "34")], ok(0), got("ok 200 1234")),
  ]));

const BIG = Buffer.from(Array.from({ length: 102400 }, (_, i) => i % 251));
/** the body, then the windows opening: the stream's by 40000, the connection's, the stream's to the end */
const WINDOWS = [open({ body: BIG }), snap((r) => `${dataOf(r, 1).length}`), wu(1, 40000), wu(0, 1e5), wu(1, 1e5)];
const inOrder = (r: Run) => {
  const d = of(r, F.DATA, 1);
  const ends = d.map((f) => f.flags & END_STREAM).join("");
  const good = dataOf(r, 1).equals(BIG) && ends === `${"0".repeat(d.length - 1)}1` && `${r.snaps}` === "16384";
  return good ? null : `first ${r.snaps} octets, then ${dataOf(r, 1).length} in ${d.length} frames, END_STREAM ${ends}`;
};
test("6.9 WINDOW_UPDATE and flow control", () =>
  runCases([
    // 6.9: increment 0: a stream error PROTOCOL_ERROR, on the connection a connection error
    k("6.9 WINDOW_UPDATE 0 on the connection", [GET, wu(0, 0)], conn(PROTOCOL)),
    k("6.9 WINDOW_UPDATE 0 on a stream", [GET, wu(1, 0)], either(1, PROTOCOL)),
    // 6.9.1: a window above 2^31-1: GOAWAY FLOW_CONTROL_ERROR for the connection, RST_STREAM for a stream (it fails)
    k("6.9.1 connection window above 2^31-1", [GET, wu(0, 2 ** 31 - 1)], conn(FLOW)),
    k("6.9.1 stream window above 2^31-1", [GET, wu(1, 2 ** 31 - 1)], either(1, FLOW)),
    // 6.9.2: an INITIAL_WINDOW_SIZE that takes a window above 2^31-1: connection error FLOW_CONTROL_ERROR
    k("6.9.2 INITIAL_WINDOW_SIZE overflow", [GET, wu(1, 2 ** 31 - 65536), settings(4, 65536)], conn(FLOW)),
    // 6.9.1: DATA beyond the stream window we gave (16384; given back once half is used): FLOW_CONTROL_ERROR
    k("6.9.1 DATA over our window", [GET, head(1), data(1, zeros(8191), 0), data(1, zeros(8194), 0)], either(1, FLOW), {
      limits: { streamWindow: 16384 },
    }),
    // 6.9.1: a body over the windows (16384, 65535) leaves as they open: once, in order, END_STREAM on the last frame
    k("6.9 body over the windows", [settings(4, 16384), ...WINDOWS, hdrs(1)], ok(0), inOrder),
  ]));

const inBlock = (f: Buffer) =>
  k(`6.10 type ${f[3]} on stream ${f[8]} in a block`, [GET, GET, hdrs(1, HEAD, 0), f, cont(1, TAIL)], conn(PROTOCOL));
const EMPTIES = times(1000, cont(1, bytes(), 0));
test("6.10 CONTINUATION", () =>
  runCases([
    // 6.10: a field block in HEADERS and CONTINUATIONs
    k("6.10 HEADERS + CONTINUATIONs", [GET, hdrs(1, HEAD, END_STREAM), cont(1, T1, 0), cont(1, T2)], ok(0)),
    // 6.10: a CONTINUATION not after a HEADERS or CONTINUATION without END_HEADERS, or on stream 0: PROTOCOL_ERROR
    k("6.10 CONTINUATION after END_HEADERS", [GET, head(1), cont(1, BLOCK)], conn(PROTOCOL)),
    k("6.10 CONTINUATION on stream 0", [GET, hdrs(1, HEAD, END_STREAM), cont(0, TAIL)], conn(PROTOCOL)),
    // 6.2, 6.10: any other frame, or a frame of another stream, inside a field block: PROTOCOL_ERROR
    ...[ping(), prio(1), data(1, "x"), hdrs(3), cont(3, TAIL), settings()].map(inBlock),
    // 10.5: empty CONTINUATIONs (the flood of 2024) bounded as in the server role: ENHANCE_YOUR_CALM after 64 frames
    k("10.5 1000 empty CONTINUATIONs", [GET, hdrs(1, HEAD, END_STREAM), EMPTIES, cont(1, TAIL)], conn(CALM)),
  ]));

/** a valid block, then these octets */
const then = (...b: number[]) => Buffer.concat([BLOCK, bytes(...b)]);
const hpack = (name: string, b: Buffer) => k(name, [GET, hdrs(1, b)], conn(COMPRESSION));
const indexed = (n: string, v: string) => bytes(0x40, n.length, ...Buffer.from(n), v.length, ...Buffer.from(v));
const TABLE_1 = Buffer.concat([BLOCK, indexed("x-d", "4"), block([["X-Up", "1"]])]);
const TABLE = [GET, GET, hdrs(1, TABLE_1), hdrs(3, Buffer.concat([block(st()), bytes(0xbe)]))];
const OVER = block(
  st("200", [
    ["x-a", "a".repeat(120)],
    ["x-b", "b".repeat(120)],
    ["x-c", "c".repeat(120)],
  ]),
);
const BIG_FIELDS = [
  GET,
  GET,
  hdrs(1, Buffer.concat([OVER, indexed("x-d", "4")])),
  hdrs(3, Buffer.concat([block(st()), bytes(0xbe)])),
];
test("RFC 7541 HPACK in responses", () =>
  runCases([
    // 9113 4.3: a field block that cannot be decoded is a connection error COMPRESSION_ERROR
    // 7541 6.1: index 0; 2.3.3: an index past both tables
    hpack("7541 6.1 index 0", then(0x80)),
    hpack("7541 2.3.3 index 62, dynamic table empty", then(0xbe)),
    // 7541 4.2: a size update only at the start of a block; 6.3: not above SETTINGS_HEADER_TABLE_SIZE (4096)
    hpack("7541 4.2 size update after a field", then(0x20)),
    hpack("7541 6.3 size update to 4097", Buffer.concat([bytes(0x3f, 0xe2, 0x1f), BLOCK])),
    // 7541 5.2: EOS in a Huffman string, padding over 7 bits; 5.1: an integer too large; 5.2: a truncated string
    hpack("7541 5.2 Huffman EOS", then(0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61)),
    hpack("7541 5.2 Huffman padding of 11 bits", then(0x00, 0x82, 0x1f, 0xff, 0x01, 0x61)),
    hpack("7541 5.1 integer overflow", then(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)),
    hpack("7541 5.2 truncated string", then(0x00, 0x85, 0x61)),
    // 9113 4.3: a block on a stream we cancelled is decoded all the same (the table is the connection's)
    k("4.3 bad block on a cancelled stream", [GET, cancel(0), hdrs(1, then(0x80))], conn(COMPRESSION)),
    // 7541 2.3.2: the dynamic table lives across blocks, through a response reset as malformed too
    k("7541 2.3.2 dynamic table across blocks", TABLE, mal(), got("malformed,ok 200")),
    // 9113 10.5.1: a field section over our SETTINGS_MAX_HEADER_LIST_SIZE fails its request, not the connection;
    // the block is decoded to its end (an entry it adds after the bound is there for the next block, 4.3)
    k("10.5.1 response fields over the list bound", BIG_FIELDS, strm(1, [CANCEL], "too-large"), {
      check: got("too-large,ok 200"),
      limits: { maxHeaderList: 300 },
    }),
  ]));

const INTERIM = times(1000, head(1, st("100")));
test("10.5 what a hostile server can make the client hold or do", () =>
  runCases([
    // 8.1: "zero or more" 1xx; without end they keep the request open (till a caller's timeout) at a decode each:
    // bounded (Go's client: 5), here a stream or connection error after at most 100 (1000 sent, then a 200)
    k("10.5 1000 informational responses", [GET, INTERIM, hdrs(1)], [...strm(1, [PROTOCOL, CALM]), ...conn(CALM)]),
    // 10.5: PING, SETTINGS answers are not flow-controlled: a server that does not read makes us queue them without
    // bound (CVE-2019-9512, -9515); as the server role's guard (listener.ts): ENHANCE_YOUR_CALM, 1000 answers at most
    ...[ping(), settings()].map((f) =>
      k(`10.5 flood of type ${f[3]}`, [GET, times(10000, f)], conn(CALM), {
        check: (r) => (acks(r, f[3]!) <= 1000 ? null : `${acks(r, f[3]!)} answers`),
      }),
    ),
  ]));
