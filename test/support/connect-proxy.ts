// test/support/connect-proxy.ts — a Roaming Intermediary's N32-c tunnel for tests (N32-PROFILE P11): a real TLS
// server on 127.0.0.1 with its OWN certificate (from an RI CA, or whatever the test gives it), mutual TLS (the
// connecting SEPP's chain must lead to `clientCa`), that answers one HTTP/1.1 `CONNECT host:port` (RFC 9110 9.3.6)
// per connection and then relays bytes both ways. It records what crossed it, so a test can show that only
// ciphertext did. Only loopback targets are relayed (the test network); anything else gets 502.
import net from "node:net";
import tls from "node:tls";

export interface ConnectRecord {
  /** the request head as received (request line and headers) */
  head: string;
  /** the CONNECT target (authority-form) */
  target: string;
  /** the status answered */
  status: number;
}

export interface ConnectProxy {
  port: number;
  /** every CONNECT received, in order */
  connects: ConnectRecord[];
  /** bytes relayed client → target and target → client (after the CONNECT exchange), capped at 4 MiB each */
  relayed(): { up: Buffer; down: Buffer };
  /** TLS connections accepted (handshake completed) */
  accepted: number;
  /** the status to answer from now on (200: relay) */
  answerWith(status: number): void;
  close(): Promise<void>;
}

export interface ConnectProxyOptions {
  /** what the proxy presents (the RI's certificate chain and key) */
  ri: { cert: string; key: string };
  /** roots a client (SEPP) certificate must chain to */
  clientCa: string[];
  port?: number;
  /** the answer to CONNECT (default 200) */
  status?: number;
}

const MAX_HEAD = 8192;
const MAX_RECORD = 4 * 1024 * 1024;
const REASONS: Record<number, string> = { 200: "Connection Established", 403: "Forbidden", 502: "Bad Gateway" };

export async function startConnectProxy(o: ConnectProxyOptions): Promise<ConnectProxy> {
  let status = o.status ?? 200;
  const connects: ConnectRecord[] = [];
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  let upBytes = 0;
  let downBytes = 0;
  const sockets = new Set<net.Socket>();
  const proxy = {
    port: 0,
    connects,
    accepted: 0,
    relayed: () => ({ up: Buffer.concat(up), down: Buffer.concat(down) }),
    answerWith: (s: number) => {
      status = s;
    },
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  } satisfies ConnectProxy;
  const server = tls.createServer(
    {
      cert: o.ri.cert,
      key: o.ri.key,
      ca: o.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      ALPNProtocols: ["http/1.1"],
    },
    (c) => {
      proxy.accepted++;
      sockets.add(c);
      c.on("close", () => sockets.delete(c));
      c.on("error", () => {});
      let head = Buffer.alloc(0);
      const onHead = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > MAX_HEAD) c.destroy();
          return;
        }
        c.off("data", onHead);
        c.pause();
        const text = head.subarray(0, end).toString("latin1");
        const rest = head.subarray(end + 4);
        const m = /^CONNECT (\S+) HTTP\/1\.1$/.exec(text.split("\r\n")[0] ?? "");
        const target = m?.[1] ?? "";
        const hp = /^(127(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(target);
        const answer = !m ? 400 : status !== 200 ? status : hp ? 200 : 502;
        connects.push({ head: text, target, status: answer });
        const reply = (s: number) => `HTTP/1.1 ${s} ${REASONS[s] ?? "Refused"}\r\n`;
        if (answer !== 200) {
          c.end(`${reply(answer)}content-length: 0\r\nconnection: close\r\n\r\n`);
          return;
        }
        let connected = false;
        const t = net.connect(Number(hp![2]), hp![1]!, () => {
          connected = true;
          c.write(`${reply(200)}\r\n`);
          const relay = (d: Buffer, into: Buffer[], dir: "up" | "down") => {
            const n = dir === "up" ? upBytes : downBytes;
            if (n + d.length <= MAX_RECORD) into.push(Buffer.from(d));
            if (dir === "up") upBytes += d.length;
            else downBytes += d.length;
          };
          if (rest.length) {
            relay(rest, up, "up");
            t.write(rest);
          }
          c.on("data", (d: Buffer) => {
            relay(d, up, "up");
            t.write(d);
          });
          t.on("data", (d: Buffer) => {
            relay(d, down, "down");
            c.write(d);
          });
          c.resume();
        });
        sockets.add(t);
        t.on("close", () => {
          sockets.delete(t);
          if (connected) c.destroy();
        });
        // the target cannot be reached: 502 (RFC 9110 9.3.6), then close
        t.on("error", () => {
          if (connected) return c.destroy();
          connects.at(-1)!.status = 502;
          c.end(`${reply(502)}content-length: 0\r\nconnection: close\r\n\r\n`);
        });
        c.on("close", () => t.destroy());
      };
      c.on("data", onHead);
    },
  );
  server.on("tlsClientError", () => {});
  await new Promise<void>((res) => server.listen(o.port ?? 0, "127.0.0.1", () => res()));
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}
