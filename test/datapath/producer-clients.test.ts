// The pSEPP's connections to producers (src/datapath/producer-clients.ts) against a producer on a real loopback
// socket (h2c, our HTTP/2 layer in the server role): a connection the producer began to end takes no new request.
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import { ProducerClients } from "../../src/datapath/producer-clients.ts";
import type { UpstreamRequest } from "../../src/datapath/upstream.ts";
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
