// src/transport/h2/node-socket.ts — an HTTP/2 connection (conn.ts) on a node:net or node:tls socket: the sockets
// the SEPP already makes (its TLS options, certificate checks, exporter and CONNECT tunnels stay as they are),
// with node:http2's session replaced by conn.ts (docs/PERFORMANCE.md "HTTP/2 on Bun's sockets").
import type { Socket } from "node:net";
import { DEFAULT_H2_LIMITS, H2Conn, type H2Limits, type H2Socket, type OnRequest } from "./conn.ts";

/**
 * The connection's way to a node:net / node:tls socket. `b` is a view of the connection's frame buffer, which it
 * writes again after this call (frames.ts FrameOut): nothing may keep it. With nothing queued in the socket's stream,
 * Bun's socket takes the octets within the call: what the kernel does not take now it copies into a buffer of its
 * own, so no copy of ours is needed (a `Buffer.from` per write cost 1.2–2.5 µs per 4.4 KB request and hop;
 * docs/PERFORMANCE.md "One copy less per write"). Behind queued octets the stream keeps the chunk itself until the
 * socket drains: then it gets its own copy. test/transport/h2/node-socket.test.ts holds the runtime to this (a
 * reader that does not read while the writer reuses one buffer).
 */
export function nodeSocketWriter(sock: Socket, pauseAbove = Number.POSITIVE_INFINITY): H2Socket {
  return {
    write: (b) => {
      sock.write(sock.writableLength === 0 ? b : Buffer.from(b));
      if (sock.writableLength > pauseAbove && !sock.isPaused()) {
        sock.pause();
        sock.once("drain", () => sock.resume());
      }
      return b.length;
    },
    end: () => sock.end(),
  };
}

/**
 * Server role: once this many octets wait in the socket for a peer that does not read them, the socket is not read
 * either until they have left (RFC 9113 §10.5). Without it, a client that sends requests and never reads the
 * answers grows our memory without bound: HEADERS, RST_STREAM and PING answers are not flow-controlled. Bounded then
 * by this plus what one read's requests cause (at most the stream limit's answers). Not in the client role: two
 * SEPPs that both stopped reading while their writes wait would wait for each other.
 */
export const SERVER_PAUSE_OCTETS = 1 << 20;

export function attachNodeSocket(
  sock: Socket,
  role: "server" | "client",
  onRequest?: OnRequest,
  limits: H2Limits = DEFAULT_H2_LIMITS,
): H2Conn {
  const writer = nodeSocketWriter(sock, role === "server" ? SERVER_PAUSE_OCTETS : Number.POSITIVE_INFINITY);
  const conn = new H2Conn(writer, role, onRequest, limits);
  sock.on("data", (d: Buffer) => conn.onData(d));
  sock.on("close", () => conn.onClose());
  sock.on("error", () => conn.onClose());
  return conn;
}
