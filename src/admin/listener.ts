// src/admin/listener.ts — the socket of the local REST API: HTTP/1.1 on loopback, HTTPS (optionally with client
// certificates) anywhere else (schema.ts refuses a non-loopback host without listeners.admin.tls).
//
// node:http(s) through @hono/node-server rather than Bun.serve: Bun.serve answers an oversized request head
// itself with an empty 431 before any handler runs, while node:http reports it as `clientError`, so that every
// error of this API — 431 included — is a ProblemDetails. The source address reaches the app as
// `c.env.incoming.socket.remoteAddress` (per-source limits in auth.ts).
import { createAdaptorServer } from "@hono/node-server";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import type { TlsMaterial } from "../config/startcheck.ts";

/** Largest request head (request line and headers) accepted; above it: 431 ProblemDetails. */
export const MAX_ADMIN_HEADER_BYTES = 16 * 1024;
/** A request head must arrive within this (slow-header clients are cut off). */
const HEADERS_TIMEOUT_MS = 10_000;
/** A whole request must arrive within this… */
export const REQUEST_TIMEOUT_MS = 30_000;
/** …except a firmware bundle upload (POST /v1/system/update, hundreds of MB over a management link). */
export const UPLOAD_TIMEOUT_MS = 15 * 60_000;
const isUpload = (method: string | undefined, url: string | undefined) =>
  method === "POST" && (url === "/v1/system/update" || url?.startsWith("/v1/system/update?") === true);
/**
 * Connections the listener serves at once; one more is closed at accept (and logged). Counted by us, not by the
 * runtime: Bun counts a connection until its `close` event runs, which under a flood of short connections comes well
 * after the connection is done (8 clients opening a connection per request, 4 000–6 000 a second, were counted as
 * 76–377; a bound of 64, later 128 per source, reset some of their requests: ninth and tenth sessions). A connection
 * whose answer we ended (`Connection: close`) or that is destroyed serves nothing more and is not counted, however
 * late its `close` event. The runtime's own bound stays as a backstop at RUNTIME_BACKSTOP times this.
 */
export const MAX_ADMIN_CONNECTIONS = 256;
const RUNTIME_BACKSTOP = 4;
/**
 * Connections one source address may hold: one host that opens connections and sends nothing (each is cut only by
 * the head timeout) cannot take the slots of the operator's (the listener on a management network). Half the total.
 */
export const MAX_ADMIN_CONNECTIONS_PER_SOURCE = 128;

/** The connections of `set` still served (not destroyed, our side not ended): the others leave the set. */
function served(set: Set<Socket>): number {
  for (const s of set) if (s.destroyed || s.writableEnded) set.delete(s);
  return set.size;
}

export interface AdminListenerOptions {
  host: string;
  port: number;
  /** HTTPS with this material; a non-empty `ca` requires and verifies client certificates */
  tls?: TlsMaterial & { ca: string[] };
  fetch: (req: Request, env: unknown) => Response | Promise<Response>;
  log: Logger;
  /** bounds in ms (tests shorten them): a whole request, and a bundle upload */
  requestTimeoutMs?: number;
  uploadTimeoutMs?: number;
  /** MAX_ADMIN_CONNECTIONS and MAX_ADMIN_CONNECTIONS_PER_SOURCE unless given (tests) */
  maxConnections?: number;
  maxConnectionsPerSource?: number;
}

export interface AdminListener {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A ProblemDetails written straight to a socket whose request could not be parsed. */
function rawProblem(status: number, title: string, cause: string, detail: string): string {
  const body = JSON.stringify({ ...problem(status, cause, detail), title });
  return (
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: ${PROBLEM_JSON}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}

export async function startAdminListener(o: AdminListenerOptions): Promise<AdminListener> {
  const server = createAdaptorServer({
    fetch: o.fetch,
    ...(o.tls
      ? {
          createServer: createHttpsServer,
          serverOptions: {
            cert: o.tls.cert,
            key: o.tls.key,
            minVersion: "TLSv1.2",
            ...(o.tls.ca.length ? { ca: o.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
            maxHeaderSize: MAX_ADMIN_HEADER_BYTES,
          },
        }
      : { serverOptions: { maxHeaderSize: MAX_ADMIN_HEADER_BYTES } }),
  }) as Server;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  // node:http has one server-wide request timeout: the upload's, with the usual one armed per request below
  server.requestTimeout = o.uploadTimeoutMs ?? UPLOAD_TIMEOUT_MS;
  server.prependListener("request", (req, res) => {
    if (isUpload(req.method, req.url)) return;
    const t = setTimeout(() => req.socket.destroy(), o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
    res.once("close", () => clearTimeout(t));
  });
  const maxConnections = o.maxConnections ?? MAX_ADMIN_CONNECTIONS;
  const maxPerSource = o.maxConnectionsPerSource ?? MAX_ADMIN_CONNECTIONS_PER_SOURCE;
  server.maxConnections = maxConnections * RUNTIME_BACKSTOP;
  // no silent refusal: one line per 10 s and bound, with the count so far
  const refusedSoFar = { total: 0, source: 0 };
  const refused = (bound: "total" | "source", fields: Record<string, string | number>) => {
    refusedSoFar[bound]++;
    o.log.every(
      `admin-connections-${bound}`,
      10_000,
      "warn",
      "admin connection refused: the listener's bound reached",
      {
        bound: bound === "total" ? "maxConnections" : "maxConnectionsPerSource",
        ...fields,
        refusedSoFar: refusedSoFar[bound],
      },
    );
  };
  server.on("drop", () => refused("total", { maxConnections }));
  // counted from accept (the raw TCP socket, before TLS) until it is served no more (see MAX_ADMIN_CONNECTIONS); the
  // sets are pruned only when at a bound, so a request pays nothing for it otherwise
  const all = new Set<Socket>();
  const perSource = new Map<string, Set<Socket>>();
  server.on("connection", (socket: Socket) => {
    const source = socket.remoteAddress ?? "unknown";
    if (all.size >= maxConnections && served(all) >= maxConnections) {
      refused("total", { maxConnections });
      socket.destroy();
      return;
    }
    let mine = perSource.get(source);
    if (mine && mine.size >= maxPerSource && served(mine) >= maxPerSource) {
      refused("source", { source, maxConnectionsPerSource: maxPerSource });
      socket.destroy();
      return;
    }
    if (!mine) {
      mine = new Set();
      perSource.set(source, mine);
    }
    all.add(socket);
    mine.add(socket);
    socket.once("close", () => {
      all.delete(socket);
      mine.delete(socket);
      if (mine.size === 0 && perSource.get(source) === mine) perSource.delete(source);
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const answer =
      err.code === "HPE_HEADER_OVERFLOW"
        ? rawProblem(
            431,
            "Request Header Fields Too Large",
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            `request head over ${MAX_ADMIN_HEADER_BYTES} bytes`,
          )
        : rawProblem(400, "Bad Request", "MANDATORY_IE_INCORRECT", "malformed HTTP request");
    socket.end(answer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => o.log.error("admin listener error", { error: e.message }));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    port,
    url: `${o.tls ? "https" : "http"}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
