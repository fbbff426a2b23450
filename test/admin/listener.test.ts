// The admin listener (src/admin/listener.ts, src/admin/auth.ts, schema.ts): a non-loopback address needs TLS,
// client certificates when configured, a 431 is a ProblemDetails, wrong tokens are limited per source address.
// Real sockets and real TLS on loopback; 127.0.0.2 plays a second source address.
import { afterAll, describe, expect, test } from "bun:test";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import defaultConfig from "../../config/default.json" with { type: "json" };
import { createAdminApp } from "../../src/admin/app.ts";
import { type AdminListener, MAX_ADMIN_HEADER_BYTES, startAdminListener } from "../../src/admin/listener.ts";
import { isLoopbackHost } from "../../src/config/schema/listeners.ts";
import { parseConfig } from "../../src/config/schema.ts";
import { ConfigStore } from "../../src/config/store.ts";
import { createLogger, memoryLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import { createRootCa, issueSeppCert } from "../../src/pki/devpki.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const listeners: AdminListener[] = [];
afterAll(async () => {
  for (const l of listeners) await l.close();
});
// registered after the hook above (bun runs afterAll hooks in registration order): removed once the listeners closed
const dir = freshDirs("sepp-admin-listener-").root;

const TOKEN = "t0ken-for-listener-tests";
const store = new ConfigStore(join(dir, "sepp.db"));
store.apply(defaultConfig, "bootstrap");
const log = createLogger({ level: "error", sink: () => {} });
const app = createAdminApp({
  store,
  token: () => TOKEN,
  metrics: new Registry(),
  status: () => ({ version: "test" }),
  health: () => ({ healthy: true, checks: {} }),
  authLimits: { maxFailures: 5, windowMs: 60_000 },
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function call(
  port: number,
  o: {
    path?: string;
    headers?: Record<string, string>;
    from?: string;
    tls?: { ca: string; cert?: string; key?: string };
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = {
      host: "127.0.0.1",
      port,
      path: o.path ?? "/v1/status",
      headers: o.headers ?? {},
      localAddress: o.from ?? "127.0.0.1",
      ...(o.tls ? { ...o.tls, servername: "admin.sepp.example.org" } : {}),
    };
    const req = (o.tls ? httpsRequest : httpRequest)(opts, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("listeners.admin: loopback, or TLS", () => {
  test("a non-loopback host without TLS is refused; loopback and TLS are accepted", () => {
    const withAdmin = (admin: object) =>
      parseConfig({ ...defaultConfig, listeners: { ...defaultConfig.listeners, admin } });
    for (const host of ["0.0.0.0", "::", "10.1.2.3", "192.0.2.7", "[::]", "admin.example.org", "128.0.0.1"]) {
      const r = withAdmin({ host, port: 8080 });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(["/listeners/admin/tls"]);
      expect(withAdmin({ host, port: 8080, tls: { certificate: "a.pem", privateKey: "k.pem" } }).ok).toBe(true);
    }
    for (const host of ["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"])
      expect(isLoopbackHost(host)).toBe(true);
    expect(withAdmin({ host: "127.0.0.1", port: 0 }).ok).toBe(true);
  });

  test("TLS with client certificates: only a client with a certificate from the CA gets through", async () => {
    const serverCa = await createRootCa({ name: "admin server root" });
    const clientCa = await createRootCa({ name: "admin client root" });
    const otherCa = await createRootCa({ name: "someone else" });
    const server = await issueSeppCert(serverCa, { dnsNames: ["admin.sepp.example.org"] });
    const client = await issueSeppCert(clientCa, { dnsNames: ["operator.example.org"] });
    const stranger = await issueSeppCert(otherCa, { dnsNames: ["operator.example.org"] });
    const l = await startAdminListener({
      host: "127.0.0.1",
      port: 0,
      tls: { cert: server.chainPem, key: server.keyPem, ca: [clientCa.certPem] },
      fetch: app.fetch,
      log,
    });
    listeners.push(l);
    expect(l.url).toBe(`https://127.0.0.1:${l.port}`);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await call(l.port, {
      headers: auth,
      tls: { ca: serverCa.certPem, cert: client.chainPem, key: client.keyPem },
    });
    expect(ok.status).toBe(200);
    await expect(call(l.port, { headers: auth, tls: { ca: serverCa.certPem } })).rejects.toThrow();
    await expect(
      call(l.port, { headers: auth, tls: { ca: serverCa.certPem, cert: stranger.chainPem, key: stranger.keyPem } }),
    ).rejects.toThrow();
    // plain HTTP on the TLS port gets nothing
    await expect(call(l.port, { headers: auth })).rejects.toThrow();
  });
});

describe("admin errors and brute-force protection", () => {
  test("an oversized request head: 431 ProblemDetails", async () => {
    const l = await startAdminListener({ host: "127.0.0.1", port: 0, fetch: app.fetch, log });
    listeners.push(l);
    const r = await call(l.port, { headers: { "x-big": "a".repeat(MAX_ADMIN_HEADER_BYTES + 100) } });
    expect(r.status).toBe(431);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(r.body)).toMatchObject({ status: 431, cause: "REQUEST_HEADER_FIELDS_TOO_LARGE" });
    // the listener goes on serving
    expect((await call(l.port, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  test("repeated wrong tokens: 429 for that source only, the right token from another source still works", async () => {
    const l = await startAdminListener({ host: "127.0.0.1", port: 0, fetch: app.fetch, log });
    listeners.push(l);
    const wrong = { authorization: "Bearer not-the-token-at-all" };
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(l.port, { headers: wrong, from: "127.0.0.2" })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const limited = await call(l.port, { headers: { authorization: `Bearer ${TOKEN}` }, from: "127.0.0.2" });
    expect(limited.status).toBe(429); // once limited, no more guesses: the right token is not even compared
    expect(limited.headers["content-type"]).toBe("application/problem+json");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.parse(limited.body)).toMatchObject({ status: 429, cause: "TOO_MANY_REQUESTS" });
    const other = await call(l.port, { headers: { authorization: `Bearer ${TOKEN}` }, from: "127.0.0.1" });
    expect(other.status).toBe(200);
  });
});

describe("connection bounds", () => {
  /** `n` connections from `from` that begin a request head and never finish it; resolves once they are connected */
  const hold = (port: number, n: number, from: string) =>
    Promise.all(
      Array.from({ length: n }, () => {
        const s = connect({ port, host: "127.0.0.1", localAddress: from }, () =>
          s.write("GET /v1/status HTTP/1.1\r\n"),
        );
        s.on("error", () => {});
        return new Promise<Socket>((r) => s.once("connect", () => r(s)));
      }),
    );
  const refusals = (mem: { lines: Array<Record<string, unknown>> }) =>
    mem.lines.filter((x) => x.msg === "admin connection refused: the listener's bound reached");
  /** a request from `from`: its status, or the error code when the connection was refused (retried while held ones
   *  are still being counted: the runtime sees a new connection some time after its accept) */
  const statusFrom = async (port: number, from: string, want: number | string) => {
    let got: number | string = "";
    for (let i = 0; i < 60 && got !== want; i++) {
      got = await call(port, { from }).then(
        (a) => a.status,
        (e: NodeJS.ErrnoException) => e.code ?? String(e),
      );
      if (got !== want) await Bun.sleep(100);
    }
    return got;
  };

  /** a listener answering "ok" with these bounds, and its log */
  const bounded = async (maxConnections: number, maxConnectionsPerSource: number) => {
    const mem = memoryLogger("info");
    const l = await startAdminListener({
      host: "127.0.0.1",
      port: 0,
      fetch: () => new Response("ok"),
      log: mem,
      maxConnections,
      maxConnectionsPerSource,
    });
    listeners.push(l);
    return { l, mem };
  };

  test("over the total bound a connection is closed at accept and logged; once one closes, a request is answered", async () => {
    const { l, mem } = await bounded(4, 100);
    const held = await hold(l.port, 4, "127.0.0.2");
    expect(await statusFrom(l.port, "127.0.0.1", "ECONNRESET")).toBe("ECONNRESET");
    expect(refusals(mem)[0]).toMatchObject({ level: "warn", bound: "maxConnections", maxConnections: 4 });
    for (const s of held) s.destroy();
    expect(await statusFrom(l.port, "127.0.0.1", 200)).toBe(200);
  });

  test("a flood of short connections (a request each) is never refused: only connections still served count", async () => {
    const { l, mem } = await bounded(16, 8);
    // 8 clients in another process, a new connection per request, for 2 s (thousands a second): the runtime sees
    // their close events long after their answers (counted 76–377 at once), and bounds of 64 and 128 reset requests
    const client = `import http from "node:http";
      let ok = 0, failed = 0;
      const end = performance.now() + 2000;
      const one = () => new Promise((res) => {
        const req = http.request({ host: "127.0.0.1", port: ${l.port}, path: "/", agent: false }, (r) => {
          r.resume(); r.on("end", () => { ok++; res(); });
        });
        req.on("error", () => { failed++; res(); });
        req.end();
      });
      await Promise.all(Array.from({ length: 8 }, async () => { while (performance.now() < end) await one(); }));
      console.log(JSON.stringify({ ok, failed }));`;
    const p = Bun.spawn([process.execPath, "-e", client], { stdout: "pipe", stderr: "pipe" });
    const out = JSON.parse(await new Response(p.stdout).text()) as { ok: number; failed: number };
    expect(out.ok).toBeGreaterThan(1000);
    expect(out.failed).toBe(0);
    expect(refusals(mem)).toEqual([]);
  });

  test("one source holding connections it never uses does not take the slots of another source", async () => {
    const { l, mem } = await bounded(16, 4);
    const held = await hold(l.port, 20, "127.0.0.2");
    expect(await statusFrom(l.port, "127.0.0.2", "ECONNRESET")).toBe("ECONNRESET");
    expect(refusals(mem)[0]).toMatchObject({ bound: "maxConnectionsPerSource", source: "127.0.0.2" });
    // the operator's address: answered (without the per-source bound the other source held all 16 slots)
    expect(await statusFrom(l.port, "127.0.0.1", 200)).toBe(200);
    for (const s of held) s.destroy();
  });
});

describe("request time bounds", () => {
  /** Sends the head and part of a body, then stalls; resolves with how long the server kept the socket open. */
  function stall(port: number, path: string, waitMs: number): Promise<"cut" | "open"> {
    return new Promise((resolve) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-length": "100" },
      });
      const t = setTimeout(() => {
        req.destroy();
        resolve("open");
      }, waitMs);
      req.on("error", () => {
        clearTimeout(t);
        resolve("cut");
      });
      req.on("response", () => {
        clearTimeout(t);
        resolve("cut");
      });
      req.write("{");
    });
  }

  test("a stalled request is cut after the request bound; a stalled bundle upload is not (its own, longer bound)", async () => {
    const l = await startAdminListener({
      host: "127.0.0.1",
      port: 0,
      // every route reads its whole body before answering, as the config and upload routes do
      fetch: async (req: Request) => new Response(await req.text()),
      log,
      requestTimeoutMs: 300,
      uploadTimeoutMs: 5_000,
    });
    listeners.push(l);
    expect(await stall(l.port, "/v1/config", 2_000)).toBe("cut");
    expect(await stall(l.port, "/v1/system/update", 1_500)).toBe("open");
  });
});
