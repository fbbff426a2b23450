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
export function nodeSocketWriter(sock: Socket): H2Socket {
  return {
    write: (b) => {
      sock.write(sock.writableLength === 0 ? b : Buffer.from(b));
      return b.length;
    },
    end: () => sock.end(),
  };
}

export function attachNodeSocket(
  sock: Socket,
  role: "server" | "client",
  onRequest?: OnRequest,
  limits: H2Limits = DEFAULT_H2_LIMITS,
): H2Conn {
  const conn = new H2Conn(nodeSocketWriter(sock), role, onRequest, limits);
  sock.on("data", (d: Buffer) => conn.onData(d));
  sock.on("close", () => conn.onClose());
  sock.on("error", () => conn.onClose());
  return conn;
}
