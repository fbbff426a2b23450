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
const MAX_CONNECTIONS = 64;

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
  server.maxConnections = MAX_CONNECTIONS;
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
