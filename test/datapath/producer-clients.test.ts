// The pSEPP's connections to producers (src/datapath/producer-clients.ts) against a producer on a real loopback
// socket (h2c, our HTTP/2 layer in the server role): a connection the producer began to end takes no new request;
// a request it refused unprocessed is sent once more.
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import { ProducerClients } from "../../src/datapath/producer-clients.ts";
import { UpstreamError, type UpstreamRequest } from "../../src/datapath/upstream.ts";
import * as F from "../../src/transport/h2/frames.ts";
import type { H2Conn } from "../../src/transport/h2/conn.ts";
import { attachNodeSocket } from "../../src/transport/h2/node-socket.ts";

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

const get = (path: string): UpstreamRequest => ({
  method: "GET",
  path,
  authority: "udm.example",
  headers: [],
  timeoutMs: 5000,
  maxBodyBytes: 1 << 20,
});

test("after the producer's GOAWAY (a request still open on it), a new request goes on a new connection", async () => {
  const conns: H2Conn[] = [];
  let held: (() => void) | null = null;
  const server = net.createServer((sock) => {
    const c = attachNodeSocket(sock, "server", (conn, id, f) => {
      const path = f[f.indexOf(":path") + 1];
      if (path === "/hold") held = () => conn.respond(id, [":status", "200"], null);
      else {
        conn.respond(id, [":status", "200", "x-conn", `${conns.indexOf(conn)}`], null);
        if (path === "/last") conn.close(); // graceful GOAWAY; the held request keeps the connection open
      }
    });
    conns.push(c);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => server.close());
  const clients = new ProducerClients({ connectTimeoutMs: 2000, maxSessions: 8 });
  cleanup.push(() => clients.close());
  const target = { scheme: "http" as const, host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
  const ok = () => ({ ok: true as const });
  const holding = clients.request(target, ok, get("/hold"));
  const last = await clients.request(target, ok, get("/last"));
  expect(last.headers).toContainEqual(["x-conn", "0"]);
  await new Promise((r) => setTimeout(r, 50)); // the GOAWAY arrives
  const next = await clients.request(target, ok, get("/next"));
  expect(next.status).toBe(200);
  expect(next.headers).toContainEqual(["x-conn", "1"]);
  // the first connection still answers the request it had taken, then ends
  held!();
  expect((await holding).status).toBe(200);
});

/** A producer whose first `refusing` connections refuse each request unprocessed as they go away (RST_STREAM
 * REFUSED_STREAM, GOAWAY: a producer shutting down), later ones answer 200 with their number. */
async function refusingProducer(refusing: number) {
  let connections = 0;
  const server = net.createServer((sock) => {
    const n = ++connections;
    attachNodeSocket(sock, "server", (conn, id) => {
      if (n <= refusing) {
        conn.reset(id, F.REFUSED_STREAM);
        conn.close();
      } else conn.respond(id, [":status", "200", "x-conn", `${n}`], null);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => server.close());
  const clients = new ProducerClients({ connectTimeoutMs: 2000, maxSessions: 8 });
  cleanup.push(() => clients.close());
  const target = { scheme: "http" as const, host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
  return { clients, target, connections: () => connections };
}
const anyAddress = () => ({ ok: true as const });

test("a request refused unprocessed (RFC 9113 §8.7) is sent once more, on a new connection", async () => {
  const p = await refusingProducer(1);
  const r = await p.clients.request(p.target, anyAddress, get("/x"));
  expect(r.status).toBe(200);
  expect(r.headers).toContainEqual(["x-conn", "2"]);
});

test("only once: refused again, it fails (504 'not reachable' for the data path)", async () => {
  const p = await refusingProducer(10);
  const e = await p.clients.request(p.target, anyAddress, get("/x")).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(UpstreamError);
  expect((e as UpstreamError).kind).toBe("reset");
  expect(p.connections()).toBe(2);
});
