// src/transport/h2/node-socket.ts — an HTTP/2 connection (conn.ts) on a node:net or node:tls socket: the sockets
// the SEPP already makes (its TLS options, certificate checks, exporter and CONNECT tunnels stay as they are),
// with node:http2's session replaced by conn.ts (docs/PERFORMANCE.md "HTTP/2 on Bun's sockets").
import type { Socket } from "node:net";
import { DEFAULT_H2_LIMITS, H2Conn, type H2Limits, type OnRequest } from "./conn.ts";

export function attachNodeSocket(
  sock: Socket,
  role: "server" | "client",
  onRequest?: OnRequest,
  limits: H2Limits = DEFAULT_H2_LIMITS,
): H2Conn {
  const conn = new H2Conn(
    {
      // the frames are in a buffer the connection reuses: the socket gets its own copy (it may queue it)
      write: (b) => {
        sock.write(Buffer.from(b));
        return b.length;
      },
      end: () => sock.end(),
    },
    role,
    onRequest,
    limits,
  );
  sock.on("data", (d: Buffer) => conn.onData(d));
  sock.on("close", () => conn.onClose());
  sock.on("error", () => conn.onClose());
  return conn;
}
