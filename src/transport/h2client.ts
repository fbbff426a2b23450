// src/transport/h2client.ts — N32 client sessions: HTTP/2 over mutual TLS with our certificate, SNI
// (TS 33.501 13.1.0), the server verified against the per-PLMN trust anchors (P9) and its expected
// dNSName, bounded timeouts and response sizes. The TLS socket is created here (tls.connect) and carries our
// HTTP/2 layer (src/transport/h2/), so the TLS exporter of the very connection is available to the N32-c
// initiator (P1).
import type { AsciiText } from "../ascii-text.ts";
import tls from "node:tls";
import { isIP } from "node:net";
import type { X509Certificate } from "node:crypto";
import type { PlmnId } from "../model/n32.ts";
import { certHasDnsName, plmnIdFromDnsName } from "../pki/plmn.ts";
import type { TrustStore } from "../pki/trust.ts";
import { peerChainOf } from "../pki/trust.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { SeppError } from "../errors.ts";
import { openTunnel, type TunnelVia } from "./connect-tunnel.ts";
import type { H2Conn } from "./h2/conn.ts";
import type { CancelSignal } from "./h2/cancel.ts";
import { exchange } from "./h2/exchange.ts";

export type { CancelSignal };
import { type H2Failure, outBodyOf } from "./h2/stream.ts";
import { attachNodeSocket } from "./h2/node-socket.ts";

export interface H2ClientOptions {
  /** https://host:port of the peer's apiRoot */
  url: string;
  tls: { key: string; cert: string };
  trust: TrustStore;
  /** the dNSName the server certificate must carry (the peer's N32 FQDN); also the SNI when the URL host is an IP */
  expectDnsName: string;
  /**
   * The peer's configured PLMN IDs: the server chain is verified against their trust anchor only, inside the TLS
   * handshake (P11 "Trust", TS 33.517 4.2.5). Default: the PLMN ID of `expectDnsName`'s mncXXX.mccYYY labels.
   */
  peerPlmnIds?: PlmnId[];
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** connect + TLS handshake timeout */
  timeoutMs: number;
  /**
   * The server is a Roaming Intermediary (N32-PROFILE P11), not a SEPP: its chain is verified against these RI
   * roots (never the per-PLMN anchors) and its certificate must name `expectDnsName` (the RI's identity).
   */
  riRoots?: X509Certificate[];
  /** :authority of every request (default: the URL's host:port); the peer's N32-f FQDN and port toward an RI */
  authority?: string;
  /**
   * N32-c through Roaming Intermediaries (N32-PROFILE P11): an HTTP/1.1 CONNECT to the URL's host:port through the
   * first of these RIs that grants it (connect-tunnel.ts), then the same mutual TLS with the peer inside the tunnel
   * (the exporter is the peer's). The URL's host is sent to the RI as it is (the RI resolves it).
   */
  via?: readonly TunnelVia[];
}

export interface H2Response {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  text(): string;
}

const EMPTY = new Uint8Array(0);
const UTF8 = new TextDecoder();

/** The words of a failed request (the initiator's logs and state show them). */
function failureText(kind: H2Failure, message: string, method: string, path: string): string {
  if (kind === "timeout") return `${method} ${path} timed out`;
  if (kind === "cancelled") return "cancelled by the client";
  if (kind === "too-large") return "response body over the limit";
  if (kind === "fields-too-large") return message;
  return `${method} ${path} failed: ${message}`;
}

export class H2ConnectError extends SeppError {
  override name = "H2ConnectError";
  /** what the HTTP/2 layer said of a request that failed (none: the connection itself failed) */
  readonly failure: H2Failure | undefined;
  constructor(detail: string, failure?: H2Failure) {
    super("CONNECTION_FAILED", detail, { status: 504, problemCause: "TARGET_NF_NOT_REACHABLE" });
    this.failure = failure;
  }
}

export class H2Client {
  readonly protocol: string | null;
  readonly peerPlmnIds: PlmnId[];
  readonly #socket: tls.TLSSocket;
  readonly #conn: H2Conn;
  readonly #authority: string;

  private constructor(socket: tls.TLSSocket, conn: H2Conn, authority: string, plmnIds: PlmnId[]) {
    this.#socket = socket;
    this.#conn = conn;
    this.#authority = authority;
    this.protocol = socket.getProtocol?.() ?? null;
    this.peerPlmnIds = plmnIds;
  }

  /** no new request can go on this session: it ended, or either side sent GOAWAY (RFC 9113 6.8) */
  get closed(): boolean {
    return !this.#conn.takesRequests;
  }

  /** Open a session; rejects (H2ConnectError) on connect failure, timeout, TLS failure, a server certificate that
   *  does not chain to its PLMN's anchor or does not name `expectDnsName`, or no ALPN h2. */
  static async connect(o: H2ClientOptions): Promise<H2Client> {
    const u = new URL(o.url);
    if (u.protocol !== "https:") throw new H2ConnectError("N32 URI must be https");
    if (o.riRoots?.length === 0) throw new H2ConnectError("no RI trust anchors for this RI");
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const port = Number(u.port || 443);
    if (!o.via?.length) return H2Client.#open(o, u, { host, port });
    let tunnel: tls.TLSSocket;
    try {
      tunnel = await openTunnel(o.via, { host, port }, o);
    } catch (e) {
      throw new H2ConnectError((e as Error).message);
    }
    return H2Client.#open(o, u, { socket: tunnel });
  }

  /** The TLS handshake with the server (straight to host:port, or inside a tunnel) and the HTTP/2 session. */
  static #open(
    o: H2ClientOptions,
    u: URL,
    to: { host: string; port: number } | { socket: tls.TLSSocket },
  ): Promise<H2Client> {
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const servername = isIP(host) ? o.expectDnsName : host;
    const fromName = plmnIdFromDnsName(o.expectDnsName);
    const peerPlmns = o.peerPlmnIds ?? (fromName ? [fromName] : null);
    const tunnel = "socket" in to ? to.socket : null;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (msg: string) => {
        if (settled) return;
        settled = true;
        disarmTimer(timer);
        socket.destroy();
        tunnel?.destroy();
        reject(new H2ConnectError(msg));
      };
      const timer = armTimer(() => fail(`connect to ${u.host} timed out`), o.timeoutMs);
      const socket = tls.connect({
        ...to,
        servername,
        key: o.tls.key,
        cert: o.tls.cert,
        // an RI hop: the RI roots alone; a SEPP: only the anchor of the peer's PLMNs (P11), so a chain to another
        // anchor fails inside the handshake
        ca: o.riRoots
          ? o.riRoots.map((r) => r.toString())
          : peerPlmns
            ? o.trust.tlsCaPemFor(peerPlmns)
            : o.trust.tlsCaPem(),
        rejectUnauthorized: true,
        minVersion: o.minVersion ?? "TLSv1.3",
        maxVersion: o.maxVersion ?? "TLSv1.3",
        ALPNProtocols: ["h2"],
        // inside the handshake: the anchor of the peer's PLMNs, the peer's FQDN, no revoked link (src/pki/trust.ts)
        checkServerIdentity:
          peerPlmns && !o.riRoots ? o.trust.serverCheck(o.expectDnsName, peerPlmns) : () => undefined,
      });
      socket.once("error", (e) => fail(`TLS connection to ${u.host} failed: ${e.message}`));
      socket.once("close", () => fail(`connection to ${u.host} closed during setup`));
      socket.once("secureConnect", () => {
        if (settled) return;
        if (socket.alpnProtocol !== "h2") return fail("peer did not negotiate HTTP/2 (ALPN h2)");
        const chain: X509Certificate[] = peerChainOf(socket);
        let plmnIds: PlmnId[] = [];
        if (o.riRoots) {
          // an RI hop: node:tls verified the chain against the RI roots alone (ca above, rejectUnauthorized)
          if (!chain[0] || !certHasDnsName(chain[0], o.expectDnsName))
            return fail(`RI certificate does not name ${o.expectDnsName}`);
        } else {
          const r = o.trust.verifyN32Chain(chain);
          if (!r.ok) return fail(`peer certificate refused: ${r.reason}`);
          if (!certHasDnsName(r.leaf, o.expectDnsName))
            return fail(`peer certificate does not name ${o.expectDnsName}`);
          plmnIds = r.plmnIds;
        }
        settled = true;
        disarmTimer(timer);
        socket.removeAllListeners("close");
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        const conn = attachNodeSocket(socket, "client");
        if (tunnel) {
          // the tunnel lives as long as the TLS connection inside it, and the other way round
          tunnel.on("error", () => {});
          tunnel.once("close", () => socket.destroy());
          socket.once("close", () => tunnel.destroy());
        }
        resolve(new H2Client(socket, conn, o.authority ?? u.host, plmnIds));
      });
    });
  }

  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    const ekm = this.#socket.exportKeyingMaterial as (l: number, lb: string, c?: Buffer) => Buffer;
    return new Uint8Array(
      ekm.call(this.#socket, length, label, context === undefined ? undefined : Buffer.from(context)),
    );
  }

  peerChain(): X509Certificate[] {
    return peerChainOf(this.#socket);
  }

  /** One request; the response body is capped at `maxBodyBytes` (the stream is reset above it). */
  request(
    method: string,
    path: string,
    init: {
      headers?: Record<string, string>;
      body?: string | Uint8Array | AsciiText;
      timeoutMs: number;
      maxBodyBytes: number;
      signal?: CancelSignal;
    },
  ): Promise<H2Response> {
    if (this.closed) return Promise.reject(new H2ConnectError("session closed"));
    const fields = [":method", method, ":scheme", "https", ":authority", this.#authority, ":path", path];
    for (const k in init.headers) {
      // a pseudo-header field given by the caller (TLS mode's :authority) replaces ours, in place (§8.3)
      const at = k.charCodeAt(0) === 58 ? fields.indexOf(k) : -1;
      if (at >= 0 && at % 2 === 0 && at < 8) fields[at + 1] = init.headers[k]!;
      else fields.push(k.toLowerCase(), init.headers[k]!);
    }
    // text goes to the connection as it is (conn.ts writes it into its buffer as UTF-8)
    const body = outBodyOf(init.body);
    return new Promise((resolve, reject) =>
      exchange(this.#conn, fields, body, init, (err, f, rb) => {
        if (err) return reject(new H2ConnectError(failureText(err.kind, err.message, method, path), err.kind));
        const headers: Record<string, string> = {};
        for (let i = 2; i < f.length; i += 2) {
          const prev = headers[f[i]!];
          headers[f[i]!] = prev === undefined ? f[i + 1]! : `${prev}, ${f[i + 1]}`;
        }
        const rbody: Uint8Array = rb ?? EMPTY;
        resolve({ status: Number(f[1]), headers, body: rbody, text: () => UTF8.decode(rbody) });
      }),
    );
  }

  /** Graceful close (GOAWAY, the open streams finish), bounded. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#conn.closed) {
        this.#socket.destroy();
        return resolve();
      }
      const t = armTimer(() => {
        this.#socket.destroy();
        resolve();
      }, 1000);
      this.#conn.onEnd = () => {
        disarmTimer(t);
        this.#socket.destroy();
        resolve();
      };
      this.#conn.close();
    });
  }
}
