// The cSEPP's N32-f connection pool (src/datapath/n32f-clients.ts) toward another vendor's SEPP: a real HTTP/2
// server over mutual TLS on 127.0.0.1 with the peer's certificate, which records the connection each request came
// on. minConnections: connections kept per hop from the first request on (sbi.minN32fConnectionsPerPeer, "auto" = 2
// in a data-path worker), so that a peer's kernel can place them on more than one of its workers; requests go to the
// least loaded connection; a spare that cannot be opened does not fail a request and is not retried before the
// back-off.
import { afterEach, describe, expect, test } from "bun:test";
import tls from "node:tls";
import { Hono } from "hono";
import type { SeppConfig } from "../../src/config/schema.ts";
import { PeerN32fClients } from "../../src/datapath/n32f-clients.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import type { N32Env } from "../../src/transport/h2server.ts";
import { memoryLogger } from "../../src/log.ts";
import { admitAnyN32Chain } from "../../src/pki/admission.ts";
import { startN32Server } from "../../src/transport/h2server.ts";
import { H2ConnectError } from "../../src/transport/h2client.ts";
import * as F from "../../src/transport/h2/frames.ts";
import { attachNodeSocket } from "../../src/transport/h2/node-socket.ts";
import { startPeerN32Server } from "../support/n32c-sepp.ts";

import { configInput, parseOrThrow, testPki, testTrust } from "../support/pki.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshDir = freshDirs("n32f-clients-");
const PROCESS = "/n32f-forward/v1/n32f-process";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A peer's N32-f endpoint: answers every POST 200 after `delayMs` and records the connection of each request. */
async function peerEndpoint(o: { delayMs?: number } = {}) {
  const pki = await testPki();
  const conns: number[] = [];
  const app = new Hono<{ Bindings: N32Env }>();
  app.post("*", async (c) => {
    conns.push(c.env.conn.id);
    if (o.delayMs) await Bun.sleep(o.delayMs);
    return c.json({}, 200);
  });
  const server = await startPeerN32Server(pki.seppB, app, closers);
  return { port: server.port, conns, pki };
}

/** Our side's clients toward the peer of `cfg`, with the pool bounds of sbi.* set as given (others: defaults). */
function clientsTo(
  cfg: { current: SeppConfig },
  o: { min?: number; max: number; streams?: number; now?: () => number },
): PeerN32fClients {
  cfg.current = withPool(cfg.current, o);
  const c = new PeerN32fClients({
    config: () => cfg.current,
    tls: () => ({ key: cfg.current.tls.privateKey, cert: cfg.current.tls.certificate }),
    trust: () => TrustStore.fromConfig(cfg.current),
    connectTimeoutMs: 3000,
    now: o.now,
  });
  closers.push(() => c.close());
  return c;
}

const withPool = (c: SeppConfig, o: { min?: number; max: number; streams?: number }): SeppConfig => ({
  ...c,
  sbi: {
    ...c.sbi,
    maxN32fConnectionsPerPeer: o.max,
    streamsPerN32fConnection: o.streams ?? 100,
    minN32fConnectionsPerPeer: o.min ?? "auto",
  },
});

/** our side's configuration toward the peer at `port`; `current` may be replaced (a configuration change) */
const configFor = async (port: number) => ({
  current: parseOrThrow(configInput(await testPki(), "a", `https://127.0.0.1:${port}`, freshDir())),
});
const post = (c: PeerN32fClients, cfg: { current: SeppConfig }) =>
  c.request(cfg.current.peers[0]!, "POST", PROCESS, { body: "{}", timeoutMs: 3000, maxBodyBytes: 4096 });

/** Until `cond` holds (bounded: 3 s). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await Bun.sleep(10);
}

describe("connections kept per peer (sbi.minN32fConnectionsPerPeer)", () => {
  test('"auto" without workers (1): one connection carries every request while it has room', async () => {
    const ep = await peerEndpoint();
    const cfg = await configFor(ep.port);
    const c = clientsTo(cfg, { max: 4 });
    for (let i = 0; i < 5; i++) expect((await post(c, cfg)).status).toBe(200);
    await Bun.sleep(50);
    expect(c.connections("home")).toBe(1);
    expect(new Set(ep.conns).size).toBe(1);
  });

  test("2: a second connection is opened beside the first and requests in flight go to the less loaded one", async () => {
    const ep = await peerEndpoint({ delayMs: 30 });
    const cfg = await configFor(ep.port);
    const c = clientsTo(cfg, { min: 2, max: 4 });
    expect((await post(c, cfg)).status).toBe(200);
    await until(() => c.connections("home") === 2);
    expect(c.connections("home")).toBe(2);
    // 8 requests at once: least loaded first, so 4 on each
    const rs = await Promise.all(Array.from({ length: 8 }, () => post(c, cfg)));
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
    const perConn = new Map<number, number>();
    for (const id of ep.conns.slice(1)) perConn.set(id, (perConn.get(id) ?? 0) + 1);
    expect([...perConn.values()]).toEqual([4, 4]);
    // never more than the minimum while each has room
    expect(c.connections("home")).toBe(2);
  });

  test("within maxConnections: min 3 with max 2 keeps 2", async () => {
    const ep = await peerEndpoint();
    const cfg = await configFor(ep.port);
    const c = clientsTo(cfg, { min: 3, max: 2 });
    for (let i = 0; i < 6; i++) {
      expect((await post(c, cfg)).status).toBe(200);
      await Bun.sleep(20);
    }
    expect(c.connections("home")).toBe(2);
  });

  test("a changed configuration applies from the next request on (no restart)", async () => {
    const ep = await peerEndpoint();
    const cfg = await configFor(ep.port);
    const c = clientsTo(cfg, { max: 4 });
    expect((await post(c, cfg)).status).toBe(200);
    await Bun.sleep(50);
    expect(c.connections("home")).toBe(1);
    cfg.current = withPool(cfg.current, { min: 2, max: 4 });
    expect((await post(c, cfg)).status).toBe(200);
    await until(() => c.connections("home") === 2);
    expect(c.connections("home")).toBe(2);
  });

  test("a spare the peer refuses fails no request and is tried again only after the back-off", async () => {
    // the peer admits one connection from us (its per-peer bound, issue 10 §1) and counts the TLS sessions it checks
    const pki = await testPki();
    let attempts = 0;
    const app = new Hono<{ Bindings: N32Env }>();
    app.post("*", (c) => c.json({}, 200));
    const server = await startN32Server({
      host: "127.0.0.1",
      port: 0,
      tls: { key: pki.seppB.keyPem, cert: pki.seppB.certPem, minVersion: "TLSv1.3" },
      trust: await testTrust(),
      app,
      limits: { maxBodyBytes: 8192, requestTimeoutMs: 3000, maxSessionsPerPeer: 1 },
      admit: (chain, trust) => {
        attempts++;
        return admitAnyN32Chain(chain, trust);
      },
      log: memoryLogger("debug"),
    });
    closers.push(() => server.close());
    const cfg = await configFor(server.port);
    let now = 1_000_000;
    const c = clientsTo(cfg, { min: 2, max: 4, now: () => now });
    expect((await post(c, cfg)).status).toBe(200);
    await until(() => attempts === 2);
    await Bun.sleep(200); // the refused spare settles
    expect(attempts).toBe(2);
    for (let i = 0; i < 5; i++) expect((await post(c, cfg)).status).toBe(200);
    await Bun.sleep(100);
    expect({ attempts, connections: c.connections("home") }).toEqual({ attempts: 2, connections: 1 });
    now += cfg.current.sbi.n32fNextHopBackoffMs + 1;
    expect((await post(c, cfg)).status).toBe(200);
    await until(() => attempts === 3);
    expect(attempts).toBe(3);
  });
});

describe("a request refused unprocessed (RFC 9113 §8.7)", () => {
  /** A peer on our HTTP/2 layer whose first `refusing` connections answer each request with RST_STREAM REFUSED_STREAM
   * and GOAWAY (as a peer does that restarts while requests are on their way); later connections answer 200. */
  async function refusingPeer(refusing: number) {
    const pki = await testPki();
    let connections = 0;
    const answered: number[] = [];
    const server = tls.createServer(
      { key: pki.seppB.keyPem, cert: pki.seppB.certPem, ALPNProtocols: ["h2"] },
      (sock) => {
        const n = ++connections;
        attachNodeSocket(sock, "server", (c, id) => {
          if (n <= refusing) {
            c.reset(id, F.REFUSED_STREAM);
            c.close();
            return;
          }
          answered.push(n);
          c.respond(id, [":status", "200", "content-type", "application/json"], Buffer.from("{}"));
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    return { port: (server.address() as { port: number }).port, answered, connections: () => connections };
  }

  test("sent once more, on a new connection: the NF's request succeeds", async () => {
    const peer = await refusingPeer(1);
    const cfg = await configFor(peer.port);
    const c = clientsTo(cfg, { min: 1, max: 4 });
    expect((await post(c, cfg)).status).toBe(200);
    expect(peer.answered).toEqual([2]);
  });

  test("only once: refused again, the request fails as refused", async () => {
    const peer = await refusingPeer(10);
    const cfg = await configFor(peer.port);
    const c = clientsTo(cfg, { min: 1, max: 4 });
    const e = await post(c, cfg).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(H2ConnectError);
    expect((e as H2ConnectError).failure).toBe("refused");
    expect(peer.answered).toEqual([]);
    expect(peer.connections()).toBe(2);
  });
});
