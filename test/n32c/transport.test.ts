// The N32 listener (src/transport/h2server.ts): mutual TLS required, HTTP/2 only (ALPN h2), TLS 1.3 by
// default, bounded bodies (413 before reading on), the connection handed to the hono handler.
import { afterAll, beforeAll, expect, test } from "bun:test";
import tls from "node:tls";
import { Hono } from "hono";
import { X509Certificate } from "node:crypto";
import { memoryLogger } from "../../src/log.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { startN32Server, type N32Env, type N32Server } from "../../src/transport/h2server.ts";
import { H2Client } from "../../src/transport/h2client.ts";
import { FQDN_B, PLMN_A, PLMN_B, testPki, type TestPki } from "../support/pki.ts";

let pki: TestPki;
let server: N32Server;
let trust: TrustStore;
const seen: { protocol: string | null; peer: string; ekm: string }[] = [];

beforeAll(async () => {
  pki = await testPki();
  trust = new TrustStore([
    { name: "a", plmnIds: [PLMN_A], roots: [new X509Certificate(pki.rootA.certPem)] },
    { name: "b", plmnIds: [PLMN_B], roots: [new X509Certificate(pki.rootB.certPem)] },
  ]);
  const app = new Hono<{ Bindings: N32Env }>();
  app.post("/echo", async (c) => {
    const conn = c.env.conn;
    const body = await c.req.text();
    seen.push({
      protocol: conn.protocol,
      peer: conn.peerChain()[0]?.subjectAltName ?? "",
      ekm: Buffer.from(conn.exportKeyingMaterial(32, "EXPORTER_TEST", new Uint8Array(0))).toString("hex"),
    });
    return c.json({ length: body.length });
  });
  server = await startN32Server({
    host: "127.0.0.1",
    port: 0,
    tls: { key: pki.seppB.keyPem, cert: pki.seppB.certPem },
    trust,
    app,
    limits: { maxBodyBytes: 1000 },
    log: memoryLogger(),
  });
});
afterAll(async () => {
  await server.close();
});

const connect = (o: Partial<Parameters<typeof H2Client.connect>[0]> = {}) =>
  H2Client.connect({
    url: `https://127.0.0.1:${server.port}`,
    tls: { key: pki.seppA.keyPem, cert: pki.seppA.certPem },
    trust,
    expectDnsName: FQDN_B,
    timeoutMs: 3000,
    ...o,
  });

test("the handler sees the TLS 1.3 connection, the peer certificate and the same exporter output as the client", async () => {
  const c = await connect();
  const r = await c.request("POST", "/echo", {
    headers: { "content-type": "text/plain" },
    body: "hello",
    timeoutMs: 3000,
    maxBodyBytes: 1000,
  });
  expect(r.status).toBe(200);
  expect(JSON.parse(r.text())).toEqual({ length: 5 });
  expect(c.protocol).toBe("TLSv1.3");
  const last = seen.at(-1)!;
  expect(last.protocol).toBe("TLSv1.3");
  expect(last.peer).toContain("mnc001.mcc262");
  expect(last.ekm).toBe(Buffer.from(c.exportKeyingMaterial(32, "EXPORTER_TEST", new Uint8Array(0))).toString("hex"));
  await c.close();
});

test("body over the limit → 413, both with a declared content-length and streamed", async () => {
  const c = await connect();
  const big = "x".repeat(5000);
  const r1 = await c
    .request("POST", "/echo", { headers: { "content-length": "5000" }, body: big, timeoutMs: 3000, maxBodyBytes: 1000 })
    .catch((e) => e);
  const r2 = await c.request("POST", "/echo", { body: big, timeoutMs: 3000, maxBodyBytes: 1000 }).catch((e) => e);
  for (const r of [r1, r2]) {
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text()).cause).toBe("PAYLOAD_TOO_LARGE");
  }
  await c.close();
});

test("a client without a certificate is refused", async () => {
  const sock = tls.connect({
    host: "127.0.0.1",
    port: server.port,
    servername: FQDN_B,
    ca: trust.tlsCaPem(),
    ALPNProtocols: ["h2"],
    checkServerIdentity: () => undefined,
  });
  const outcome = await new Promise<string>((resolve) => {
    sock.on("error", () => resolve("error"));
    sock.on("close", () => resolve("closed"));
    sock.on("secureConnect", () => sock.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    setTimeout(() => resolve("open"), 3000);
  });
  expect(["error", "closed"]).toContain(outcome);
  sock.destroy();
});

test("HTTP/1.1 only (no ALPN h2) is refused", async () => {
  const sock = tls.connect({
    host: "127.0.0.1",
    port: server.port,
    servername: FQDN_B,
    ca: trust.tlsCaPem(),
    key: pki.seppA.keyPem,
    cert: pki.seppA.certPem,
    ALPNProtocols: ["http/1.1"],
    checkServerIdentity: () => undefined,
  });
  const outcome = await new Promise<string>((resolve) => {
    sock.on("error", () => resolve("error"));
    sock.on("close", () => resolve("closed"));
    sock.on("secureConnect", () => sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    sock.on("data", (d) => resolve(String(d).startsWith("HTTP/1.1 200") ? "served" : "other"));
    setTimeout(() => resolve("open"), 3000);
  });
  expect(outcome).not.toBe("served");
  expect(outcome).not.toBe("open");
  sock.destroy();
});

test("the client refuses a server whose certificate does not name the expected peer", async () => {
  await expect(connect({ expectDnsName: "sepp.other.mnc410.mcc310.3gppnetwork.org" })).rejects.toThrow(/does not name/);
});
