// test/support/n32-conn.ts — clients for N32 listener connection tests: a raw TLS client that speaks bytes (to see
// whether the server sent any HTTP/2 frame before closing) and an H2Client presenting a given certificate.
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type { DevCert } from "../../src/pki/devpki.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { H2Client } from "../../src/transport/h2client.ts";
import { clientPreface } from "./h2-frames.ts";
import { FQDN_A, PLMN_A, PLMN_B, type TestPki } from "./pki.ts";

export interface RawTls {
  /** application bytes received (HTTP/2 frames), not TLS records */
  received(): Buffer;
  /** TLS handshake done (from the client's point of view) */
  secure: boolean;
  /** resolves when the connection is closed; with the time it took from connect */
  closed: Promise<number>;
  isClosed(): boolean;
  error: string;
  socket: tls.TLSSocket;
}

/** A TLS client with `cert` toward a listener whose certificate is FQDN_A's; sends the HTTP/2 preface unless told not to. */
export function rawTls(
  port: number,
  pki: TestPki,
  cert: DevCert,
  o: { preface?: boolean; localAddress?: string; servername?: string } = {},
): RawTls {
  const chunks: Buffer[] = [];
  const t0 = Date.now();
  let closed = false;
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    servername: o.servername ?? FQDN_A,
    key: cert.keyPem,
    cert: cert.certPem,
    ca: [pki.rootA.certPem, pki.rootB.certPem],
    ALPNProtocols: ["h2"],
    checkServerIdentity: () => undefined,
  });
  const r: RawTls = {
    received: () => Buffer.concat(chunks),
    secure: false,
    closed: new Promise((res) =>
      socket.once("close", () => {
        closed = true;
        res(Date.now() - t0);
      }),
    ),
    isClosed: () => closed,
    error: "",
    socket,
  };
  socket.on("error", (e) => {
    r.error = e.message;
  });
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.once("secureConnect", () => {
    r.secure = true;
    if (o.preface !== false) socket.write(clientPreface());
  });
  return r;
}

/** An N32 client presenting `cert` toward the listener on `port` (server FQDN_A under PLMN A's root). */
export function n32ClientAs(port: number, pki: TestPki, cert: DevCert): Promise<H2Client> {
  const trust = new TrustStore([
    { name: "a", plmnIds: [PLMN_A], roots: [new X509Certificate(pki.rootA.certPem)] },
    { name: "b", plmnIds: [PLMN_B], roots: [new X509Certificate(pki.rootB.certPem)] },
  ]);
  return H2Client.connect({
    url: `https://127.0.0.1:${port}`,
    tls: { key: cert.keyPem, cert: cert.certPem },
    trust,
    expectDnsName: FQDN_A,
    timeoutMs: 3000,
  });
}

/** GET / on a client; the status, or 0 when the request failed (connection closed, reset). */
export async function statusOf(c: H2Client): Promise<number> {
  try {
    return (await c.request("GET", "/", { timeoutMs: 3000, maxBodyBytes: 65536 })).status;
  } catch {
    return 0;
  }
}
