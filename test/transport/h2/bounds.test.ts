// What one HTTP/2 connection of our layer may make the SEPP hold, whatever its peer sends (RFC 9113 §10.5): the frames
// of one field block, the octets of incomplete request bodies, and the answers waiting for a peer that does not read
// them. The first two in memory (octets to onData, what the server writes split into frames), the last on a real
// loopback socket.
import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import tls from "node:tls";
import {
  DEFAULT_H2_LIMITS,
  H2Conn,
  type H2Limits,
  type OnRequest,
  bodyBudget,
} from "../../../src/transport/h2/conn.ts";
import * as F from "../../../src/transport/h2/frames.ts";
import { SERVER_PAUSE_OCTETS, attachNodeSocket } from "../../../src/transport/h2/node-socket.ts";
import { flushAll } from "../../../src/transport/h2/out.ts";
import { PREFACE, dataFrame, frame, goawayOf, headersFrame, parseFrames } from "../../support/h2-frames.ts";
import { FQDN_A, testPki } from "../../support/pki.ts";

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

const SETTINGS = frame(F.SETTINGS, 0, 0);
const request = (id: number, path: string, end: boolean) => {
  const h = headersFrame(id, [
    [":method", "POST"],
    [":scheme", "https"],
    [":authority", "sepp.example"],
    [":path", path],
  ]);
  if (!end) h[4] = F.END_HEADERS;
  return h;
};
const data = (id: number, n: number, end: boolean) => dataFrame(id, Buffer.alloc(n, 0x61), end ? F.END_STREAM : 0);

/** A server-role connection in memory; `rsts` lists the RST_STREAMs it wrote as [stream, code]. */
function memoryServer(onRequest: OnRequest, limits: Partial<H2Limits> = {}) {
  const writes: Buffer[] = [];
  const conn = new H2Conn(
    { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => {} },
    "server",
    onRequest,
    { ...DEFAULT_H2_LIMITS, ...limits },
  );
  const resetsSeen: number[] = [];
  conn.onPeerReset = (id) => resetsSeen.push(id);
  const send = (...b: Buffer[]) => {
    for (const x of b) conn.onData(x);
    flushAll();
  };
  const out = () => Buffer.concat(writes);
  const rsts = () => {
    const r: Array<[number, number]> = [];
    for (const f of parseFrames(out())) if (f.type === F.RST_STREAM) r.push([f.id, f.p.readUInt32BE(0)]);
    return r;
  };
  send(PREFACE, SETTINGS);
  return { conn, send, out, rsts, resetsSeen };
}

describe("in memory", () => {
  test("a field block in empty CONTINUATION frames: at most 64 frames, then GOAWAY ENHANCE_YOUR_CALM", () => {
    const seen: number[] = [];
    const s = memoryServer((_c, id) => seen.push(id));
    const head = request(1, "/a", true);
    head[4] = F.END_STREAM; // no END_HEADERS: CONTINUATIONs follow
    s.send(head);
    for (let i = 0; i < 1000 && !s.conn.closed; i++) s.send(frame(F.CONTINUATION, 0, 1));
    expect(s.conn.closed).toBe(true);
    expect(goawayOf(s.out())?.code).toBe(F.ENHANCE_YOUR_CALM);
    expect(seen).toEqual([]);
    // a block in a few CONTINUATIONs is still one request
    const ok = memoryServer((c, id) => {
      seen.push(id);
      c.respond(id, [":status", "200"], null);
    });
    const whole = request(1, "/a", true).subarray(9);
    const parts = [frame(F.HEADERS, F.END_STREAM, 1, whole.subarray(0, 3))];
    for (let i = 0; i < 10; i++) parts.push(frame(F.CONTINUATION, 0, 1));
    parts.push(frame(F.CONTINUATION, F.END_HEADERS, 1, whole.subarray(3)));
    ok.send(...parts);
    expect(seen).toEqual([1]);
    expect(ok.conn.closed).toBe(false);
  });

  test("incomplete request bodies: a connection holds at most its receive window; the stream over it is refused, the application told", () => {
    const handed: Array<[number, number]> = [];
    const limits = { connectionWindow: 256 * 1024, streamWindow: 128 * 1024, maxBody: 100 * 1024 };
    const s = memoryServer((c, id, _f, body) => {
      handed.push([id, body?.length ?? 0]);
      c.respond(id, [":status", "200"], null);
    }, limits);
    // 8 requests of 100 KB whose last octets never come: 3 × 90 KB fit the 256 KB, the 4th goes over
    for (let id = 1; id <= 15; id += 2) s.send(request(id, "/hold", false), data(id, 16_000, false));
    for (let k = 0; k < 5; k++) for (let id = 1; id <= 15; id += 2) s.send(data(id, 14_800, false));
    const refused = s.rsts().filter(([, code]) => code === F.REFUSED_STREAM);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.map(([id]) => id)).toEqual(s.resetsSeen);
    expect(s.conn.closed).toBe(false);
    const open = [1, 3, 5, 7, 9, 11, 13, 15].filter((id) => s.conn.isOpen(id));
    expect(open.length * 90_000).toBeLessThanOrEqual(limits.connectionWindow);
    // the streams still open complete; what they held is free again, so a new request's body of 100 KB fits
    for (const id of open) s.send(data(id, 10, true));
    expect(handed.map(([id]) => id)).toEqual(open);
    s.send(request(17, "/b", false), data(17, 16_000, false));
    for (let k = 0; k < 5; k++) s.send(data(17, 16_000, false));
    s.send(data(17, 4_000, true));
    expect(handed.at(-1)).toEqual([17, 100_000]);
  });

  test("incomplete request bodies of all a listener's connections: at most its budget; a closed connection gives its share back", () => {
    const budget = bodyBudget();
    const shared = { connectionWindow: 1 << 20, maxBody: 1 << 20, bodyBudget: { max: 300_000, held: 0 } };
    const a = memoryServer(() => {}, shared);
    const b = memoryServer(() => {}, shared);
    expect(budget.max).toBe(8 * DEFAULT_H2_LIMITS.connectionWindow); // a listener's default
    a.send(request(1, "/a", false), data(1, 16_000, false));
    for (let k = 0; k < 12; k++) a.send(data(1, 16_000, false)); // 208 000 held by a
    b.send(request(1, "/b", false), data(1, 16_000, false));
    for (let k = 0; k < 5; k++) b.send(data(1, 16_000, false)); // 96 000 more: over 300 000
    expect(b.rsts()).toEqual([[1, F.REFUSED_STREAM]]);
    expect(shared.bodyBudget.held).toBe(208_000);
    a.conn.onClose(); // its incomplete request is dropped with it
    expect(shared.bodyBudget.held).toBe(0);
    b.send(request(3, "/b", false));
    for (let k = 0; k < 15; k++) b.send(data(3, 16_000, false)); // 240 000: within the budget again
    expect(b.rsts()).toEqual([[1, F.REFUSED_STREAM]]);
    expect(shared.bodyBudget.held).toBe(240_000);
  });

  test("HEADERS again on a stream whose request was handed over: RST_STREAM STREAM_CLOSED, the application told", () => {
    const s = memoryServer(() => {}); // holds the request: no answer yet
    s.send(request(1, "/hold", true), request(1, "/again", true));
    expect(s.rsts()).toEqual([[1, F.STREAM_CLOSED]]);
    expect(s.resetsSeen).toEqual([1]);
    expect(s.conn.closed).toBe(false);
  });
});

describe("stream identifiers", () => {
  test("after the last one (2^31-1, some 10^9 requests) a request is refused as retryable and the connection goes away", () => {
    const writes: Buffer[] = [];
    const c = new H2Conn(
      { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => {} },
      "client",
    );
    // the identifiers a connection uses as if 2^30 - 1 requests had gone before (a loop would take hours)
    (c as unknown as { _nextId: number })._nextId = F.MAX_STREAM_ID;
    c.onData(SETTINGS);
    const got: string[] = [];
    const fields = [":method", "GET", ":scheme", "https", ":authority", "x", ":path", "/"];
    c.request(fields, null, (e, f) => got.push(e ? e.kind : f[1]!));
    c.request(fields, null, (e) => got.push(e ? `${e.kind}: ${e.message}` : "answered"));
    expect(got).toEqual(["refused: stream identifiers of the connection exhausted"]);
    expect(c.goingAway).toBe(true);
    // the last stream is answered, then the connection ends
    c.onData(frame(F.HEADERS, F.END_STREAM | F.END_HEADERS, F.MAX_STREAM_ID, Buffer.from([0x88])));
    expect(got[1]).toBe("200");
    expect(c.closed).toBe(true);
  });
});

describe("a peer that does not read", () => {
  /** a server on our layer whose answers carry a 4 KB field that never repeats (no HPACK index makes them small) */
  async function notReading(kind: "net" | "tls") {
    let handled = 0;
    let maxQueued = 0;
    let n = 0;
    const serve = (sock: net.Socket) =>
      attachNodeSocket(sock, "server", (c, id) => {
        handled++;
        c.respond(id, [":status", "200", "x-pad", `${n++}`.padEnd(4000, "x")], null);
        maxQueued = Math.max(maxQueued, sock.writableLength);
      });
    const pki = kind === "tls" ? await testPki() : null;
    const server = pki
      ? tls.createServer({ key: pki.seppA.keyPem, cert: pki.seppA.chainPem }, serve)
      : net.createServer(serve);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanup.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const client = pki
      ? tls.connect({ host: "127.0.0.1", port, servername: FQDN_A, ca: pki.rootA.certPem })
      : net.connect(port, "127.0.0.1");
    cleanup.push(() => client.destroy());
    client.pause(); // reads nothing
    let received = 0;
    client.on("data", (d: Buffer) => (received += d.length));
    await new Promise<void>((r) => client.once(pki ? "secureConnect" : "connect", () => r()));
    const TOTAL = 20_000; // 80 MB of answers
    const reqs: Buffer[] = [PREFACE, SETTINGS];
    for (let i = 0; i < TOTAL; i++) reqs.push(request(1 + 2 * i, "/", true));
    client.write(Buffer.concat(reqs));
    await new Promise((r) => setTimeout(r, 500));
    // the server stopped reading: most requests are still on their way, and what waited for the client stayed bounded
    // (the pause mark, the kernel's buffers aside, plus what one read's requests were answered with)
    expect(handled).toBeLessThan(TOTAL / 2);
    expect(maxQueued).toBeLessThan(SERVER_PAUSE_OCTETS + (16 << 20));
    client.resume();
    const deadline = Date.now() + 20_000;
    while (handled < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(handled).toBe(TOTAL);
    expect(received).toBeGreaterThan(0);
  }

  const title = `its socket is not read once ${SERVER_PAUSE_OCTETS >> 20} MB of answers wait for it; every request is answered once it reads`;
  test(`node:net: ${title}`, () => notReading("net"), 30_000);
  test(`node:tls: ${title}`, () => notReading("tls"), 30_000);
});
