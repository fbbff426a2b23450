// The HTTP/2 layer on Bun's sockets (src/transport/h2/conn.ts) on real loopback sockets: against node:http2 (another
// implementation) as client and as server, flow control with windows smaller than the bodies, CONTINUATION, a
// peer's stream limit, and the connection errors it must raise (GOAWAY with the code, connection closed).
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { edenGC, fullGC } from "bun:jsc";
import http2 from "node:http2";
import { createHash, randomBytes } from "node:crypto";
import type { Socket, TCPSocketListener } from "bun";
import { FRAME, PREFACE, findGoaway, frame } from "../../support/h2-frames.ts";
import { EARLY_WRITE_OCTETS, flushAll } from "../../../src/transport/h2/out.ts";
import { AsciiText } from "../../../src/ascii-text.ts";
import {
  DEFAULT_H2_LIMITS,
  H2Conn,
  type H2Limits,
  type H2StreamError,
  type OnRequest,
  type OutBody,
} from "../../../src/transport/h2/conn.ts";

type S = Socket<H2Conn | undefined>;
const handlers = {
  data: (s: S, d: Buffer) => s.data?.onData(d),
  drain: (s: S) => s.data?.onDrain(),
  close: (s: S) => s.data?.onClose(),
  error: (s: S) => s.data?.onClose(),
};
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function serve(onRequest: OnRequest, limits: H2Limits = DEFAULT_H2_LIMITS): TCPSocketListener<H2Conn | undefined> {
  const l = Bun.listen<H2Conn | undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      ...handlers,
      open: (s) => {
        s.data = new H2Conn(s, "server", onRequest, limits);
      },
    },
  });
  cleanup.push(() => l.stop(true));
  return l;
}

async function connect(port: number): Promise<H2Conn> {
  const s = await Bun.connect<H2Conn | undefined>({
    hostname: "127.0.0.1",
    port,
    socket: {
      ...handlers,
      open: (s) => {
        s.data ??= new H2Conn(s, "client");
      },
    },
  });
  s.data ??= new H2Conn(s, "client");
  const c = s.data;
  cleanup.push(() => s.end());
  return c;
}

function request(c: H2Conn, fields: string[], body: OutBody | null) {
  return new Promise<{ fields: string[]; body: Buffer | null }>((resolve, reject) =>
    c.request(fields, body, (err, f, b) => (err ? reject(err) : resolve({ fields: f, body: b }))),
  );
}
const field = (f: string[], name: string) => f[f.indexOf(name) + 1];
const sha = (b: Buffer | null) =>
  createHash("sha256")
    .update(b ?? Buffer.alloc(0))
    .digest("hex");
const get = (path: string, port: number) => [
  ":method",
  "GET",
  ":scheme",
  "http",
  ":authority",
  `127.0.0.1:${port}`,
  ":path",
  path,
];

/** an echo server: answers with the request's body, its digest and its path */
const echo: OnRequest = (c, id, f, body) =>
  c.respond(id, [":status", "200", "x-path", field(f, ":path")!, "x-sha", sha(body)], body);

describe("server role, node:http2 as the client", () => {
  test("GET and a POST whose body is larger than our windows: both answered, the body byte for byte", async () => {
    const small = { ...DEFAULT_H2_LIMITS, streamWindow: 65535, connectionWindow: 65535 };
    const l = serve(echo, small);
    const client = http2.connect(`http://127.0.0.1:${l.port}`);
    cleanup.push(() => client.close());
    const call = (method: string, body?: Buffer) =>
      new Promise<{ status: number; sha: string; body: Buffer }>((resolve, reject) => {
        const st = client.request({ ":method": method, ":path": "/a?b=c" }, { endStream: !body });
        const chunks: Buffer[] = [];
        let h: http2.IncomingHttpHeaders = {};
        st.on("response", (x) => (h = x));
        st.on("data", (d: Buffer) => chunks.push(d));
        st.on("end", () =>
          resolve({ status: Number(h[":status"]), sha: String(h["x-sha"]), body: Buffer.concat(chunks) }),
        );
        st.on("error", reject);
        if (body) st.end(body);
      });
    const g = await call("GET");
    expect(g.status).toBe(200);
    expect(g.body.length).toBe(0);
    const big = randomBytes(300_000); // > 65535: the client waits for our WINDOW_UPDATEs, we for its
    const p = await call("POST", big);
    expect(p.status).toBe(200);
    expect(p.sha).toBe(sha(big));
    expect(p.body.equals(big)).toBe(true);
  });

  test("a body above maxBody is refused with RST_STREAM; the connection serves on", async () => {
    const l = serve(echo, { ...DEFAULT_H2_LIMITS, maxBody: 1000 });
    const client = http2.connect(`http://127.0.0.1:${l.port}`);
    cleanup.push(() => client.close());
    const refused = await new Promise<number>((resolve) => {
      const st = client.request({ ":method": "POST", ":path": "/" });
      st.on("close", () => resolve(st.rstCode));
      st.on("error", () => {});
      st.resume();
      st.end(Buffer.alloc(5000));
    });
    expect(refused).toBe(http2.constants.NGHTTP2_CANCEL);
    const ok = await new Promise<number>((resolve) => {
      const st = client.request({ ":method": "GET", ":path": "/" });
      st.on("response", (h) => resolve(Number(h[":status"])));
      st.resume();
    });
    expect(ok).toBe(200);
  });
});

describe("settings", () => {
  test("a server announces its stream, window and header-list bounds; node:http2 reads them", async () => {
    const l = serve(echo, { ...DEFAULT_H2_LIMITS, maxConcurrentStreams: 7, maxHeaderList: 9000 });
    const client = http2.connect(`http://127.0.0.1:${l.port}`);
    cleanup.push(() => client.close());
    const s = await new Promise<http2.Settings>((resolve) => client.once("remoteSettings", resolve));
    expect(s.maxConcurrentStreams).toBe(7);
    expect(s.maxHeaderListSize).toBe(9000);
    expect(s.initialWindowSize).toBe(DEFAULT_H2_LIMITS.streamWindow);
  });
});

describe("client role, node:http2 as the server", () => {
  test("a POST larger than the server's window, a header block that needs CONTINUATION, a large answer", async () => {
    const answer = randomBytes(200_000);
    const server = http2.createServer({ maxHeaderListPairs: 2000, settings: { maxHeaderListSize: 1 << 20 } });
    server.on("stream", (st: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
      const chunks: Buffer[] = [];
      st.on("data", (d: Buffer) => chunks.push(d));
      st.on("end", () => {
        const got = Buffer.concat(chunks);
        st.respond({ ":status": 201, "x-sha": sha(got), "x-long": String(h["x-long"]).length });
        st.end(answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanup.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    const c = await connect(port);
    const body = randomBytes(250_000);
    const long = "v".repeat(20_000); // one block > 16384 octets: HEADERS + CONTINUATION
    const r = await request(c, [...get("/p", port).map((x) => (x === "GET" ? "POST" : x)), "x-long", long], body);
    expect(field(r.fields, ":status")).toBe("201");
    expect(field(r.fields, "x-sha")).toBe(sha(body));
    expect(field(r.fields, "x-long")).toBe(String(long.length));
    expect(r.body!.equals(answer)).toBe(true);
  });
});

describe("our client to our server", () => {
  test("300 concurrent requests beyond the server's 10 streams: each answer is its own request's", async () => {
    const l = serve((c, id, f, b) => setTimeout(() => echo(c, id, f, b), 1), {
      ...DEFAULT_H2_LIMITS,
      maxConcurrentStreams: 10,
    });
    const c = await connect(l.port);
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        request(c, get(`/n/${i}`, l.port), i % 3 ? Buffer.from(`body ${i}`) : null),
      ),
    );
    answers.forEach((a, i) => {
      expect(field(a.fields, "x-path")).toBe(`/n/${i}`);
      expect(a.body?.toString() ?? null).toBe(i % 3 ? `body ${i}` : null);
    });
  });
});

describe("text bodies", () => {
  test("a request and a response given as text leave as their UTF-8 octets: in one frame, over several, empty", async () => {
    const l = serve((c, id, _f, body) =>
      c.respond(id, [":status", "200", "x-sha", sha(body)], `${body?.toString("utf8") ?? ""}✓`),
    );
    const c = await connect(l.port);
    const long = "ünïcödé 𝄞 ".repeat(2000); // ~34 KB of UTF-8: above a frame, sent as octets
    for (const text of ["plain", "ünïcödé ✓ 𝄞", "lone \ud800 surrogate", long, ""]) {
      const a = await request(c, get("/t", l.port), text);
      expect(field(a.fields, "x-sha")).toBe(sha(text ? Buffer.from(text, "utf8") : null));
      expect(a.body?.equals(Buffer.from(`${text}✓`, "utf8"))).toBe(true);
    }
  });

  test("ASCII text in pieces leaves as the octets of the joined text: in one frame, over several, empty", async () => {
    const l = serve((c, id, _f, body) =>
      c.respond(id, [":status", "200"], new AsciiText(["<", body?.toString() ?? "", ">"])),
    );
    const c = await connect(l.port);
    const piece = "abcdefghij".repeat(700); // 7000 octets: three of them are above one 16 KB frame
    for (const pieces of [['{"a":', '"b"', "}"], [piece, "-", piece, "-", piece], [], ["", ""]]) {
      const joined = pieces.join("");
      const a = await request(c, get("/p", l.port), new AsciiText(pieces));
      expect(a.body?.toString("latin1")).toBe(`<${joined}>`);
    }
  });
});

describe("writes", () => {
  /** a socket in memory: what the connection writes, one entry per write */
  const memory = () => {
    const writes: Buffer[] = [];
    return { writes, socket: { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => {} } };
  };
  const turn = () => new Promise<void>((r) => setImmediate(r));
  const post = (i: number) => get(`/p${i}`, 1).map((v) => (v === "GET" ? "POST" : v));

  test("what the reads of one loop turn cause on a connection leaves in one write, after the turn", async () => {
    const cm = memory();
    const client = new H2Conn(cm.socket, "client");
    const answers = [request(client, get("/one", 1), null), request(client, get("/two", 1), Buffer.from("2"))];
    await turn();
    const sm = memory();
    const server = new H2Conn(sm.socket, "server", echo);
    const reads = Buffer.concat(cm.writes.splice(0));
    // the client's preface, SETTINGS and both requests, delivered as reads of a few octets each
    for (let i = 0; i < reads.length; i += 7) server.onData(reads.subarray(i, i + 7));
    expect(sm.writes.length).toBe(0); // nothing leaves during the reads
    await turn();
    expect(sm.writes.length).toBe(1); // SETTINGS, its ACK and both answers in one write
    client.onData(Buffer.concat(sm.writes.splice(0)));
    const [one, two] = await Promise.all(answers);
    expect(field(one?.fields ?? [], "x-path")).toBe("/one");
    expect(two?.body?.toString()).toBe("2");
  });

  test("once a TLS record's worth (16 KB) is queued in a turn it leaves at once; the rest after the turn, in order", async () => {
    const cm = memory();
    const client = new H2Conn(cm.socket, "client");
    // 14 POSTs of 3000 octets each (about a PRINS request's n32f body), queued in one turn
    const bodies = Array.from({ length: 14 }, (_, i) => Buffer.alloc(3000, 0x41 + i));
    const answers = bodies.map((b, i) => request(client, post(i), b));
    // during the turn: every write but the last holds at least 16 KB; at most 16 KB and a request were queued
    const during = cm.writes.map((w) => w.length);
    expect(during.length).toBeGreaterThanOrEqual(2);
    for (const n of during) {
      expect(n).toBeGreaterThanOrEqual(EARLY_WRITE_OCTETS);
      expect(n).toBeLessThan(EARLY_WRITE_OCTETS + 3000 + 200);
    }
    await turn();
    expect(cm.writes.length).toBe(during.length + 1); // the rest, after the turn
    // the server reads the writes in order and answers every request with its own body
    const sm = memory();
    const server = new H2Conn(sm.socket, "server", echo);
    for (const w of cm.writes.splice(0)) server.onData(w);
    await turn();
    for (const w of sm.writes.splice(0)) client.onData(w);
    const got = await Promise.all(answers);
    got.forEach((a, i) => {
      expect(field(a.fields, "x-path")).toBe(`/p${i}`);
      expect(a.body?.equals(bodies[i]!)).toBe(true);
    });
  });

  // Streams that waited for a window were kept in a Set: each blocked request was add + delete churn, and Bun 1.4.5's
  // Set keeps removed entries reachable until a full collection (id-table.ts). Seen failing with the Set: none of the
  // 180 requests' callbacks collected by the young collection (three runs).
  test("a stream that waited for a window is garbage at the next young-generation collection", async () => {
    // sockets in memory that copy into one buffer each (no allocation per write that would start a collection)
    const pipe = () => {
      const buf = Buffer.alloc(1 << 20);
      let len = 0;
      return {
        socket: {
          write: (b: Uint8Array) => {
            len += Buffer.from(b.buffer, b.byteOffset, b.length).copy(buf, len);
            return b.length;
          },
          end: () => {},
        },
        take: () => {
          const view = buf.subarray(0, len);
          len = 0;
          return view;
        },
      };
    };
    const toServer = pipe();
    const toClient = pipe();
    const client = new H2Conn(toServer.socket, "client");
    // stream windows smaller than the bodies: every request waits for its stream's WINDOW_UPDATE
    const limits = { ...DEFAULT_H2_LIMITS, streamWindow: 4096, connectionWindow: 65_535 };
    const server = new H2Conn(toClient.socket, "server", (c, id) => c.respond(id, [":status", "204"], null), limits);
    // pumped by hand (flushAll: no loop turn, so no collection starts in between)
    const pump = () => {
      flushAll();
      server.onData(toServer.take());
      flushAll();
      client.onData(toClient.take());
    };
    pump(); // the SETTINGS both ways first: the client then keeps to the server's small stream window
    // a registry, not WeakRefs: a WeakRef keeps its target alive to the end of the job
    let collected = 0;
    const registry = new FinalizationRegistry<number>((i) => {
      if (i >= 20) collected++;
    });
    let answered = 0;
    let blocked = 0;
    const body = Buffer.alloc(6000, 0x41);
    // 20 at a time
    const send = (from: number) => {
      for (let i = from; i < from + 20; i++) {
        const token = { i };
        registry.register(token, i);
        client.request(post(i), body, (err, f) => {
          if (!err && f[1] === "204" && token.i === i) answered++;
        });
      }
      blocked += (client as unknown as { _blocked: unknown[] })._blocked.length;
      for (let k = 0; k < 20 && answered < from + 20; k++) pump();
    };
    send(0);
    fullGC(); // both connections are old, as long-lived ones are
    (() => {
      for (let from = 20; from < 200; from += 20) send(from);
    })();
    edenGC();
    for (let k = 0; k < 3; k++) await new Promise((r) => setTimeout(r, 0)); // the registry's callbacks
    expect(answered).toBe(200);
    expect(blocked).toBeGreaterThan(150); // streams did wait for a window
    // of 180; a collection that starts within the job (the full suite's heap) promotes the requests in flight at that
    // moment, up to 20 each time: seen 158 once. With the Set: none.
    expect(collected).toBeGreaterThan(120);
  });

  test("a stream refused by the server's GOAWAY sends no more of its body when the window opens (RFC 9113 6.8)", async () => {
    const cm = memory();
    const client = new H2Conn(cm.socket, "client");
    client.onData(frame(FRAME.SETTINGS, 0, 0)); // the server's (empty) SETTINGS
    const body = Buffer.alloc(70_000, 0x42);
    let refused = "";
    client.request(post(1), body, () => {}); // stream 1 takes the connection's whole initial window (65 535)
    client.request(post(2), body, (err) => {
      refused = err?.message ?? "";
    }); // stream 3: all of its body waits
    flushAll();
    cm.writes.splice(0);
    const goaway = Buffer.alloc(8);
    goaway.writeUInt32BE(1, 0); // last stream 1: stream 3 was not processed
    const more = (id: number) => {
      const p = Buffer.alloc(4);
      p.writeUInt32BE(200_000, 0);
      return frame(0x8 /* WINDOW_UPDATE */, 0, id, p);
    };
    client.onData(Buffer.concat([frame(FRAME.GOAWAY, 0, 0, goaway), more(0), more(1), more(3)]));
    flushAll();
    expect(refused).toContain("GOAWAY");
    // the frames written after the window opened: the rest of stream 1, nothing of stream 3
    const out = Buffer.concat(cm.writes.splice(0));
    const dataOf = new Map<number, number>();
    for (let at = 0; at + 9 <= out.length; ) {
      const len = out.readUIntBE(at, 3);
      if (out[at + 3] === FRAME.DATA) {
        const id = out.readUInt32BE(at + 5) & 0x7fffffff;
        dataOf.set(id, (dataOf.get(id) ?? 0) + len);
      }
      at += 9 + len;
    }
    expect(dataOf.get(1)).toBe(70_000 - 65_535);
    expect(dataOf.get(3)).toBeUndefined();
  });

  test("a SETTINGS_INITIAL_WINDOW_SIZE that takes a stream's window above 2^31-1: GOAWAY FLOW_CONTROL_ERROR (RFC 9113 6.9.2)", () => {
    const cm = memory();
    const client = new H2Conn(cm.socket, "client");
    client.onData(frame(FRAME.SETTINGS, 0, 0));
    let failed = "";
    client.request(post(1), Buffer.alloc(10), (err) => {
      failed = err?.message ?? "";
    });
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(2 ** 31 - 1 - (65_535 - 10), 0); // the stream's window, 10 octets of it used, to 2^31-1
    const initial = Buffer.alloc(6);
    initial.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
    initial.writeUInt32BE(65_536, 2); // one more than the default: the stream's window would be 2^31
    client.onData(Buffer.concat([frame(0x8, 0, 1, inc), frame(FRAME.SETTINGS, 0, 0, initial)]));
    flushAll();
    // what it wrote after its own connection preface
    expect(findGoaway(Buffer.concat(cm.writes.splice(0)).subarray(PREFACE.length))).toBe(0x3); // FLOW_CONTROL_ERROR
    expect(client.closed).toBe(true);
    expect(failed).not.toBe("");
  });

  test("while the socket holds a backlog (a peer that does not read), nothing is written early: no copy per 16 KB", async () => {
    const writes: number[] = [];
    // a socket that takes 100 octets of the first write and nothing after it
    const socket = {
      write: (b: Uint8Array) => {
        writes.push(b.length);
        return writes.length === 1 ? 100 : 0;
      },
      end: () => {},
    };
    const client = new H2Conn(socket, "client");
    const concat = spyOn(Buffer, "concat");
    try {
      for (let i = 0; i < 20; i++) client.request(post(i), Buffer.alloc(3000, 0x41), () => {});
      expect(writes.length).toBe(1); // the first 16 KB; the socket kept most of it back
      expect(concat).toHaveBeenCalledTimes(0); // the rest waits in the connection's buffer, not copied onto the backlog
      await turn();
      expect(writes.length).toBe(1);
      expect(concat).toHaveBeenCalledTimes(1); // once, after the turn
    } finally {
      concat.mockRestore();
    }
  });
});

describe("reads", () => {
  const turn = () => new Promise<void>((r) => setImmediate(r));
  /** what a client writes for `n` POSTs of varied sizes (its preface, SETTINGS, HEADERS and DATA frames) */
  async function clientBytes(n: number) {
    const writes: Buffer[] = [];
    const client = new H2Conn(
      { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => {} },
      "client",
    );
    const bodies = Array.from({ length: n }, (_, i) => Buffer.alloc(1 + ((i * 2749) % 3000), 0x30 + (i % 50)));
    for (const [i, b] of bodies.entries())
      client.request(
        get(`/r${i}`, 1).map((v) => (v === "GET" ? "POST" : v)),
        b,
        () => {},
      );
    await turn();
    return { bytes: Buffer.concat(writes), bodies };
  }

  test("frames cut anywhere by the reads arrive whole, each octet copied at most about twice however the reads cut them", async () => {
    const { bytes, bodies } = await clientBytes(30); // ~45 KB: within the initial windows, no WINDOW_UPDATE needed
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (const maxRead of [3, 11, 700, 9000, 40_000]) {
      const got: Array<{ path: string; body: Buffer | null }> = [];
      const server = new H2Conn({ write: (b: Uint8Array) => b.length, end: () => {} }, "server", (_c, _id, f, body) =>
        got.push({ path: field(f, ":path")!, body }),
      );
      // the octets of the buffers the reads allocate (Buffer.from, allocUnsafe, concat), the bodies' own included
      const spies = [spyOn(Buffer, "from"), spyOn(Buffer, "allocUnsafe"), spyOn(Buffer, "concat")];
      let allocated = 0;
      try {
        for (let i = 0; i < bytes.length; ) {
          const n = 1 + (rnd() % maxRead);
          server.onData(bytes.subarray(i, i + n));
          i += n;
        }
        for (const sp of spies)
          for (const r of sp.mock.results) allocated += (r.value as Buffer | undefined)?.length ?? 0;
      } finally {
        for (const sp of spies) sp.mockRestore();
      }
      expect(got.map((g) => g.path)).toEqual(bodies.map((_, i) => `/r${i}`));
      for (const [i, g] of got.entries()) expect(g.body?.equals(bodies[i]!)).toBe(true);
      // every octet is copied into a new buffer at most about twice (the frame it was split in, the body it belongs
      // to), however the reads cut the frames: not a whole read again per split frame, nor a frame again per read
      expect(allocated).toBeLessThan(2.5 * bytes.length);
    }
  });

  test("a body whole in one frame is kept as a view of its read only while the read is within the stream's body bound; a body of several frames is copied", async () => {
    const { bytes, bodies } = await clientBytes(3);
    const got: Array<Buffer | null> = [];
    const server = (maxBody: number) =>
      new H2Conn(
        { write: (b: Uint8Array) => b.length, end: () => {} },
        "server",
        (_c, _id, _f, body) => got.push(body),
        { ...DEFAULT_H2_LIMITS, maxBody },
      );
    // one read holding all three requests (~5 KB): within a 1 MB bound each body is a view of that read
    const read = Buffer.from(bytes);
    server(1 << 20).onData(read);
    expect(got.map((b) => b?.buffer)).toEqual([read.buffer, read.buffer, read.buffer]);
    for (const [i, b] of got.entries()) expect(b?.equals(bodies[i]!)).toBe(true);
    // the same read against a 3000-octet bound (each body is within it, the read is not): each body has its own octets
    got.length = 0;
    server(3000).onData(Buffer.from(bytes));
    expect(got.length).toBe(3);
    for (const [i, b] of got.entries()) {
      expect(b?.buffer.byteLength).toBe(bodies[i]!.length);
      expect(b?.equals(bodies[i]!)).toBe(true);
    }
    // a body over two frames (a smaller max frame size on the sending side): copied, then joined
    const writes: Buffer[] = [];
    const client = new H2Conn(
      { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => {} },
      "client",
    );
    const big = Buffer.alloc(20_000, 0x41); // over one 16 KB frame
    client.request(
      get("/big", 1).map((v) => (v === "GET" ? "POST" : v)),
      big,
      () => {},
    );
    await turn();
    got.length = 0;
    const whole = Buffer.concat(writes);
    server(1 << 20).onData(whole);
    expect(got.length).toBe(1);
    expect(got[0]?.buffer).not.toBe(whole.buffer);
    expect(got[0]?.equals(big)).toBe(true);
  });
});

describe("client role: what it refuses and how it ends", () => {
  test("a malformed response, or one whose content-length is not its body's, fails with 'malformed'", async () => {
    const l = serve((c, id, f) => {
      const path = field(f, ":path");
      if (path === "/upper") c.respond(id, [":status", "200", "Bad-Name", "x"], null);
      else if (path === "/length") c.respond(id, [":status", "200", "content-length", "10"], Buffer.from("abc"));
      else c.respond(id, [":status", "200", "content-length", "3"], Buffer.from("abc"));
    });
    const c = await connect(l.port);
    for (const path of ["/upper", "/length"]) {
      const err = await request(c, get(path, l.port), null).then(
        () => null,
        (e: H2StreamError) => e,
      );
      expect(err?.kind).toBe("malformed");
    }
    const ok = await request(c, get("/fine", l.port), null);
    expect(ok.body?.toString()).toBe("abc");
  });

  test("a response body over the request's cap fails with 'too-large'; cancel() gives a request up silently", async () => {
    let held: (() => void) | null = null;
    const l = serve((c, id, f) => {
      if (field(f, ":path") === "/slow") held = () => c.respond(id, [":status", "200"], null);
      else c.respond(id, [":status", "200"], Buffer.alloc(5000));
    });
    const c = await connect(l.port);
    const big = await new Promise<H2StreamError | null>((resolve) =>
      c.request(get("/big", l.port), null, (e) => resolve(e), 1000),
    );
    expect(big?.kind).toBe("too-large");
    let called = false;
    const cb = () => {
      called = true;
    };
    c.request(get("/slow", l.port), null, cb);
    await Bun.sleep(20);
    c.cancel(cb);
    (held as (() => void) | null)?.();
    await Bun.sleep(20);
    expect(called).toBe(false);
    expect(c.streams).toBe(0);
  });

  test("requests waiting for a stream are bounded: past 4096 waiting, one more is refused at once", async () => {
    const l = serve(() => {}, { ...DEFAULT_H2_LIMITS, maxConcurrentStreams: 1 }); // never answers
    const c = await connect(l.port);
    c.request(get("/first", l.port), null, () => {});
    await Bun.sleep(30); // the server's SETTINGS (1 stream) have arrived
    const refused: Array<string | undefined> = [];
    for (let i = 0; i < 4097; i++) c.request(get(`/w${i}`, l.port), null, (e) => refused.push(e?.kind));
    expect(refused).toEqual(["refused"]); // only the 4097th: 4096 wait
  });

  test("close(): the request in flight is answered, a new one fails, then the connection ends", async () => {
    let held: (() => void) | null = null;
    const l = serve((c, id) => {
      held = () => c.respond(id, [":status", "204"], null);
    });
    const c = await connect(l.port);
    const inFlight = request(c, get("/a", l.port), null);
    await Bun.sleep(20);
    let ended = false;
    c.onEnd = () => {
      ended = true;
    };
    c.close();
    await expect(request(c, get("/b", l.port), null)).rejects.toThrow("connection closed");
    expect(ended).toBe(false);
    (held as (() => void) | null)?.();
    expect(field((await inFlight).fields, ":status")).toBe("204");
    expect(ended).toBe(true);
  });

  test("the server's GOAWAY: the stream after its last fails naming code and reason, a new request fails at once, the one before is answered, then the connection ends", async () => {
    // a server written frame by frame: its SETTINGS, then (once streams 1 and 3 arrived) GOAWAY with last stream 1
    let peer: Socket<undefined> | null = null;
    let headers = 0;
    const l = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (s) => {
          peer = s;
          s.write(frame(4, 0, 0, Buffer.alloc(0)));
        },
        data: (s, d: Buffer) => {
          // count HEADERS frames (type 1) after the 24-octet preface: enough for this test's small frames
          for (let off = headers === 0 ? 24 : 0; off + 9 <= d.length; off += 9 + d.readUIntBE(off, 3)) {
            if (d[off + 3] === 1 && ++headers === 2) {
              const p = Buffer.alloc(8);
              p.writeUInt32BE(1, 0);
              p.writeUInt32BE(11, 4);
              s.write(frame(7, 0, 0, Buffer.concat([p, Buffer.from("too much")])));
            }
          }
        },
      },
    });
    cleanup.push(() => l.stop(true));
    const c = await connect(l.port);
    let ended = false;
    c.onEnd = () => {
      ended = true;
    };
    const first = request(c, get("/a", l.port), null);
    const second = request(c, get("/b", l.port), null);
    await expect(second).rejects.toThrow("the peer is going away (GOAWAY ENHANCE_YOUR_CALM: too much)");
    expect(c.goingAway).toBe(true);
    await expect(request(c, get("/c", l.port), null)).rejects.toThrow("GOAWAY ENHANCE_YOUR_CALM: too much");
    expect(ended).toBe(false); // stream 1 is still open
    (peer as Socket<undefined> | null)!.write(frame(1, 0x5, 1, Buffer.from([0x89]))); // :status 204, END_STREAM
    expect(field((await first).fields, ":status")).toBe("204");
    expect(ended).toBe(true);
  });
});

describe("connection errors", () => {
  /** raw octets to our server; resolves with what it wrote back before closing */
  async function raw(port: number, bytes: Buffer): Promise<Buffer> {
    const got: Buffer[] = [];
    return new Promise((resolve) => {
      void Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (s) => void s.write(bytes),
          data: (_s, d) => void got.push(Buffer.from(d)),
          close: () => resolve(Buffer.concat(got)),
          error: () => resolve(Buffer.concat(got)),
        },
      });
    });
  }
  const settings = frame(4, 0, 0, Buffer.alloc(0));

  test("a wrong preface: GOAWAY PROTOCOL_ERROR and the connection closed", async () => {
    const l = serve(echo);
    expect(findGoaway(await raw(l.port, Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))).toBe(1);
  });

  test("DATA on stream 0, HEADERS on an even stream, a frame above 16384: the right codes", async () => {
    const l = serve(echo);
    expect(findGoaway(await raw(l.port, Buffer.concat([PREFACE, settings, frame(0, 1, 0, Buffer.from("x"))])))).toBe(1);
    expect(findGoaway(await raw(l.port, Buffer.concat([PREFACE, settings, frame(1, 5, 2, Buffer.from([0x82]))])))).toBe(
      1,
    );
    const oversize = Buffer.concat([PREFACE, settings, frame(0, 0, 1, Buffer.alloc(16385))]);
    expect(findGoaway(await raw(l.port, oversize))).toBe(6);
  });

  test("the same errors when the octets arrive one at a time (the frame kept between reads)", () => {
    const cases: Array<[Buffer, number]> = [
      [frame(0, 1, 0, Buffer.from("x")), 1], // DATA on stream 0
      [frame(0, 0, 1, Buffer.alloc(16385)), 6], // above 16384
      [Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]), 6], // a header announcing 16 MB: refused from it alone
      [frame(1, 5, 1, Buffer.from([0x80])), 9], // an undecodable header block
      [Buffer.concat([frame(1, 0, 1, Buffer.from([0x82])), frame(0, 0, 1, Buffer.from("x"))]), 1], // DATA inside a header block
    ];
    for (const [bad, code] of cases) {
      const writes: Buffer[] = [];
      const server = new H2Conn(
        { write: (b: Uint8Array) => writes.push(Buffer.from(b)) && b.length, end: () => {} },
        "server",
        echo,
      );
      const bytes = Buffer.concat([PREFACE, settings, bad, frame(4, 0, 0)]);
      for (let i = 0; i < bytes.length && !server.closed; i++) server.onData(bytes.subarray(i, i + 1));
      expect(server.closed).toBe(true);
      expect(findGoaway(Buffer.concat(writes))).toBe(code);
    }
  });

  test("an undecodable header block: GOAWAY COMPRESSION_ERROR", async () => {
    const l = serve(echo);
    const bad = Buffer.concat([PREFACE, settings, frame(1, 5, 1, Buffer.from([0x80]))]); // index 0
    expect(findGoaway(await raw(l.port, bad))).toBe(9);
  });

  test("a header block in CONTINUATIONs beyond maxHeaderList: GOAWAY ENHANCE_YOUR_CALM", async () => {
    const l = serve(echo, { ...DEFAULT_H2_LIMITS, maxHeaderList: 4096 });
    const parts = [frame(1, 0, 1, Buffer.alloc(3000, 0x82))];
    for (let i = 0; i < 3; i++) parts.push(frame(9, 0, 1, Buffer.alloc(3000, 0x82)));
    expect(findGoaway(await raw(l.port, Buffer.concat([PREFACE, settings, ...parts])))).toBe(11);
  });
});
