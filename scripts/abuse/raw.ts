// scripts/abuse/raw.ts — building blocks of the attacker process: raw TCP and TLS connections toward the SEPP under
// attack that count what happens to them (admitted, closed by the server and after how long, GOAWAY codes), bounded
// loops, and a captured TLS ClientHello for the slow-handshake attack.
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { FRAME, frame } from "../../test/support/h2-frames.ts";
import type { AttackTarget } from "./world.ts";

export {
  clientPreface,
  continuation,
  findGoaway,
  FRAME,
  frame,
  headersFrame,
  rstFrame,
  PREFACE,
} from "../../test/support/h2-frames.ts";

/** What an attack reports (printed as one JSON line by the attacker process). */
export type Summary = Record<string, number | string>;

export const SETTINGS_ACK = frame(FRAME.SETTINGS, 0x1, 0);

export function ping(n: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(n >>> 0, 4);
  return frame(FRAME.PING, 0, 0, p);
}

/** A SETTINGS frame with one parameter (INITIAL_WINDOW_SIZE = 65535: a value that changes nothing). */
export function settingsFrame(): Buffer {
  const p = Buffer.alloc(6);
  p.writeUInt16BE(0x4, 0);
  p.writeUInt32BE(65535, 2);
  return frame(FRAME.SETTINGS, 0, 0, p);
}

/** Counts HTTP/2 frames in a received byte stream without keeping it (RFC 9113 4.1); the first GOAWAY's code. */
export class FrameCounter {
  byType = new Map<number, number>();
  goaway: number | null = null;
  total = 0;
  #head = Buffer.alloc(0);
  #skip = 0;

  feed(c: Buffer): void {
    let off = 0;
    while (off < c.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, c.length - off);
        // a GOAWAY payload: the code is at payload offset 4..8 (kept in the head buffer)
        if (this.#head.length > 0) this.#head = Buffer.concat([this.#head, c.subarray(off, off + n)]);
        this.#skip -= n;
        off += n;
        if (this.#skip === 0 && this.#head.length >= 17) {
          this.goaway ??= this.#head.readUInt32BE(13);
          this.#head = Buffer.alloc(0);
        } else if (this.#skip === 0) this.#head = Buffer.alloc(0);
        continue;
      }
      const need = 9 - this.#head.length;
      const take = Math.min(need, c.length - off);
      this.#head = Buffer.concat([this.#head, c.subarray(off, off + take)]);
      off += take;
      if (this.#head.length < 9) return;
      const len = this.#head.readUIntBE(0, 3);
      const type = this.#head[3]!;
      this.total++;
      this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
      this.#skip = len;
      // keep the header (and then the payload) only for a GOAWAY
      if (type !== FRAME.GOAWAY || len < 8) this.#head = Buffer.alloc(0);
      if (len === 0) this.#head = Buffer.alloc(0);
    }
  }

  count(type: number): number {
    return this.byType.get(type) ?? 0;
  }
}

export interface Conn {
  socket: net.Socket;
  /** connected (TCP) or, for TLS, handshake complete */
  ready: Promise<boolean>;
  closed: Promise<void>;
  isClosed(): boolean;
  /** the server closed it (not us) */
  closedByServer(): boolean;
  /** ms from connect to close */
  lifetime(): number;
  /** application bytes received (a bounded prefix) */
  received(): Buffer;
  /** HTTP/2 frames received (parsed as they come, when the connection speaks HTTP/2) */
  frames: FrameCounter;
  destroy(): void;
}

function track(socket: net.Socket, readyEvent: "connect" | "secureConnect", keepBytes: number): Conn {
  const t0 = performance.now();
  const chunks: Buffer[] = [];
  let kept = 0;
  let closed = false;
  let byUs = false;
  let t1 = 0;
  socket.on("error", () => {});
  const frames = new FrameCounter();
  socket.on("data", (c: Buffer) => {
    frames.feed(c);
    if (kept < keepBytes) {
      chunks.push(c);
      kept += c.length;
    }
  });
  const closedP = new Promise<void>((r) =>
    socket.once("close", () => {
      closed = true;
      t1 = performance.now();
      r();
    }),
  );
  const ready = new Promise<boolean>((r) => {
    socket.once(readyEvent, () => r(true));
    socket.once("close", () => r(false));
  });
  return {
    socket,
    ready,
    closed: closedP,
    isClosed: () => closed,
    closedByServer: () => closed && !byUs,
    lifetime: () => (closed ? t1 : performance.now()) - t0,
    received: () => Buffer.concat(chunks),
    frames,
    destroy() {
      if (!closed) byUs = true;
      socket.destroy();
    },
  };
}

export function tcpConn(port: number, localAddress: string, keepBytes = 4096): Conn {
  return track(net.connect({ port, host: "127.0.0.1", localAddress }), "connect", keepBytes);
}

/** mutual TLS toward the N32 listener presenting `who`'s certificate */
export function n32TlsConn(t: AttackTarget, who: "partner" | "nonPeer", keepBytes = 4096): Conn {
  const s = tls.connect({
    host: "127.0.0.1",
    port: t.n32Port,
    servername: t.n32Fqdn,
    cert: readFileSync(who === "partner" ? t.partnerCert : t.nonPeerCert, "utf8"),
    key: readFileSync(who === "partner" ? t.partnerKey : t.nonPeerKey, "utf8"),
    ca: [readFileSync(t.victimRoot, "utf8")],
    ALPNProtocols: ["h2"],
    checkServerIdentity: () => undefined,
  });
  return track(s, "secureConnect", keepBytes);
}

/** A real ClientHello (what tls.connect sends first), captured from a local listener of our own. */
export function captureClientHello(t: AttackTarget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((sock) => {
      sock.once("data", (d: Buffer) => {
        resolve(d);
        sock.destroy();
        srv.close();
      });
    });
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      const c = tls.connect({
        host: "127.0.0.1",
        port,
        servername: t.n32Fqdn,
        cert: readFileSync(t.partnerCert, "utf8"),
        key: readFileSync(t.partnerKey, "utf8"),
        ALPNProtocols: ["h2"],
      });
      c.on("error", () => {});
      setTimeout(() => reject(new Error("no ClientHello")), 5000).unref();
    });
  });
}

/** true once `ms` have passed since the call */
export function deadline(ms: number): () => boolean {
  const end = performance.now() + ms;
  return () => performance.now() >= end;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Write without letting our own buffers grow: waits for 'drain' (bounded by `maxWaitMs`). */
export async function writeBounded(c: Conn, b: Buffer, maxWaitMs = 1000): Promise<boolean> {
  if (c.isClosed()) return false;
  if (c.socket.write(b)) return true;
  await Promise.race([new Promise((r) => c.socket.once("drain", r)), c.closed, sleep(maxWaitMs)]);
  return !c.isClosed();
}

/** Whether `c` is up (connected, TLS handshake done) within `ms`. */
export function upWithin(c: Conn, ms: number): Promise<boolean> {
  return Promise.race([c.ready, sleep(ms).then(() => false)]);
}

/** Median of a list (0 when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
