// src/transport/connect-tunnel.ts — N32-c through a Roaming Intermediary (N32-PROFILE P11): an HTTP/1.1
// `CONNECT host:port` (RFC 9110 9.3.6) sent over TLS to the RI (its certificate checked against the RI trust store,
// dNSName = its ipxProviderId). On a 2xx answer the TLS connection to the RI is a byte tunnel to the peer's N32-c
// endpoint; the caller (h2client.ts) runs the end-to-end mutual TLS with the peer SEPP inside it, so the RI sees
// ciphertext only and the TLS exporter is the peer's (P1). `3gpp-Connect-Req-Info` is not sent (P11: its syntax is
// not settled in Rel-18). Hand-written (one request line, one status line): https-proxy-agent is shaped for an
// http.Agent (it wants a ClientRequest and runs the inner TLS itself), while the inner TLS here is h2client.ts's.
import tls from "node:tls";
import { isIP } from "node:net";
import type { X509Certificate } from "node:crypto";
import { certHasDnsName } from "../pki/plmn.ts";
import { parsePemCerts, peerChainOf } from "../pki/trust.ts";
import { resolvePem } from "../config/pem.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { SeppError } from "../errors.ts";

/** One RI offering CONNECT, as the N32-c client uses it. */
export interface TunnelVia {
  /** https://host:port of the RI's CONNECT proxy */
  url: string;
  /** the RI's identity: a dNSName its TLS certificate must carry */
  ipxProviderId: string;
  /** the roots its chain must lead to (never the per-PLMN anchors) */
  riRoots: readonly X509Certificate[];
}

/**
 * The RIs of a peer's configuration (`peers[].n32cVia`, in order) as tunnels: each RI's own trust anchors (paths
 * relative to `dataDir`), else every root of the RI trust store.
 */
export function tunnelViasOf(
  list: readonly { uri: string; ipxProviderId: string; trustAnchors?: readonly string[] | undefined }[],
  dataDir: string,
  riRoots: readonly X509Certificate[],
): TunnelVia[] {
  return list.map((h) => ({
    url: h.uri,
    ipxProviderId: h.ipxProviderId,
    riRoots: h.trustAnchors?.length ? h.trustAnchors.flatMap((r) => parsePemCerts(resolvePem(r, dataDir))) : riRoots,
  }));
}

export interface TunnelOptions {
  /** our client certificate toward the RI (the RI may authenticate its customer) */
  tls: { key: string; cert: string };
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** per RI: TCP + TLS + CONNECT answer */
  timeoutMs: number;
}

/** A CONNECT answer's head larger than this is refused (a 2xx head is a status line and a few headers). */
export const MAX_CONNECT_HEAD_BYTES = 8192;

/**
 * The tunnel could not be opened. `connectStatus` is the RI's non-2xx answer to CONNECT when there was one (the
 * last RI's when several were tried); `code` CONNECTION_FAILED as every N32 connect failure.
 */
export class TunnelError extends SeppError {
  override name = "TunnelError";
  readonly connectStatus: number | undefined;
  constructor(detail: string, connectStatus?: number) {
    super("CONNECTION_FAILED", detail, { status: 504, problemCause: "TARGET_NF_NOT_REACHABLE" });
    this.connectStatus = connectStatus;
  }
}

/** RFC 9110 authority-form: host:port, an IPv6 literal in brackets. */
export function authorityForm(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Printable ASCII only, bounded: an RI's reason phrase goes into logs and the peer's last error. */
const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, "?").slice(0, 60);

/**
 * Open a tunnel to `target` through the first RI of `vias` that grants it, tried in order (several IPX providers
 * per partner are normal, P11). Resolves with the TLS socket to that RI, paused, positioned at the first tunnelled
 * byte; rejects with a TunnelError naming every RI's failure (e.g. "ipx-a.example.net: CONNECT answered 403
 * Forbidden"), so the status reaches the peer's last error.
 */
export async function openTunnel(
  vias: readonly TunnelVia[],
  target: { host: string; port: number },
  o: TunnelOptions,
): Promise<tls.TLSSocket> {
  if (vias.length === 0) throw new TunnelError("no RI to tunnel through");
  const reasons: string[] = [];
  let lastStatus: number | undefined;
  for (const via of vias) {
    try {
      return await openOne(via, target, o);
    } catch (e) {
      if (e instanceof TunnelError && e.connectStatus !== undefined) lastStatus = e.connectStatus;
      reasons.push(`${via.ipxProviderId}: ${(e as Error).message}`);
    }
  }
  throw new TunnelError(`N32-c through RI failed: ${reasons.join("; ")}`, lastStatus);
}

function openOne(via: TunnelVia, target: { host: string; port: number }, o: TunnelOptions): Promise<tls.TLSSocket> {
  const u = new URL(via.url);
  if (u.protocol !== "https:") return Promise.reject(new TunnelError("RI URI must be https"));
  if (via.riRoots.length === 0) return Promise.reject(new TunnelError("no RI trust anchors for this RI"));
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 443);
  const authority = authorityForm(target.host, target.port);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (msg: string, status?: number) => {
      if (settled) return;
      settled = true;
      disarmTimer(timer);
      socket.destroy();
      reject(new TunnelError(msg, status));
    };
    const timer = armTimer(() => fail(`CONNECT through ${u.host} timed out`), o.timeoutMs);
    const socket = tls.connect({
      host,
      port,
      servername: isIP(host) ? via.ipxProviderId : host,
      key: o.tls.key,
      cert: o.tls.cert,
      ca: via.riRoots.map((r) => r.toString()),
      rejectUnauthorized: true,
      minVersion: o.minVersion ?? "TLSv1.3",
      maxVersion: o.maxVersion ?? "TLSv1.3",
      ALPNProtocols: ["http/1.1"],
      // the name checked is the RI's identity (below), whatever the URI's host
      checkServerIdentity: () => undefined,
    });
    socket.once("error", (e) => fail(`TLS connection to ${u.host} failed: ${e.message}`));
    socket.once("close", () => fail(`connection to ${u.host} closed before the CONNECT answer`));
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_CONNECT_HEAD_BYTES) fail("CONNECT answer head over the limit");
        return;
      }
      if (end > MAX_CONNECT_HEAD_BYTES) return fail("CONNECT answer head over the limit");
      socket.removeListener("data", onData);
      const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m) return fail(`CONNECT answer is not HTTP/1.1: ${clean(statusLine)}`);
      const status = Number(m[1]);
      // RFC 9110 9.3.6: any 2xx means the tunnel is up; everything else fails this attempt with that status
      if (status < 200 || status > 299) return fail(`CONNECT answered ${status} ${clean(m[2] ?? "")}`.trim(), status);
      settled = true;
      disarmTimer(timer);
      socket.removeAllListeners("close");
      socket.removeAllListeners("error");
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.once("secureConnect", () => {
      const alpn = socket.alpnProtocol;
      if (alpn && alpn !== "http/1.1") return fail(`RI negotiated ${clean(String(alpn))}, not http/1.1`);
      // node:tls verified the chain against the RI roots alone (ca above, rejectUnauthorized)
      const leaf = peerChainOf(socket)[0];
      if (!leaf || !certHasDnsName(leaf, via.ipxProviderId))
        return fail(`RI certificate does not name ${via.ipxProviderId}`);
      socket.on("data", onData);
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    });
  });
}
