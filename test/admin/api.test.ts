import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigStore } from "../../src/config/store.ts";
import { createAdminApp, REDACTED } from "../../src/admin/app.ts";
import { Registry } from "../../src/metrics.ts";
import defaultConfig from "../../config/default.json" with { type: "json" };
import { contractChecked } from "../support/admin-contract.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const dir = freshDirs("sepp-admin-").root;

const TOKEN = "t0ken-for-tests-only";
const store = new ConfigStore(join(dir, "sepp.db"));
const inlineKey = "-----BEGIN PRIVATE KEY-----\nTESTONLYNOTAKEY\n-----END PRIVATE KEY-----\n";
store.apply({ ...defaultConfig, tls: { ...defaultConfig.tls, privateKey: inlineKey } }, "bootstrap");
const metrics = new Registry();
metrics.counter("sepp_test_total", "test counter").inc({ peer: "home" }, 3);
const terminated: string[] = [];
// every response this suite sees is checked against the served OpenAPI document
const app = contractChecked(
  createAdminApp({
    store,
    token: () => TOKEN,
    metrics,
    status: () => ({ version: "test" }),
    health: () => ({ healthy: true, checks: { config: "ok" } }),
    n32: {
      status: (id) => ({ peerId: id, state: "idle" }),
      handshake: async (id) => ({ peerId: id, state: "active-prins" }),
      terminate: async (id) => void terminated.push(id),
    },
  }),
);
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };
const peer = {
  id: "home",
  n32Fqdn: "sepp.5gc.mnc001.mcc262.3gppnetwork.org",
  plmnIds: [{ mcc: "262", mnc: "01" }],
  n32cUri: "https://127.0.0.1:9443",
};

describe("admin API", () => {
  test("health needs no token; everything else answers 401 without it", async () => {
    expect((await app.request("/v1/health")).status).toBe(200);
    for (const [m, p] of [
      ["GET", "/v1/status"],
      ["GET", "/v1/config"],
      ["GET", "/metrics"],
      ["POST", "/v1/peers"],
      ["GET", "/nope"],
    ] as const) {
      const r = await app.request(p, { method: m });
      expect(r.status).toBe(401);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
    }
    const wrong = await app.request("/v1/status", { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  test("GET /v1/config never returns an inline private key, and PUT of the redacted value keeps it", async () => {
    const r = await app.request("/v1/config", { headers: auth });
    const body = (await r.json()) as any;
    expect(body.tls.privateKey).toBe(REDACTED);
    expect(JSON.stringify(body)).not.toContain("TESTONLYNOTAKEY");
    const put = await app.request("/v1/config", {
      method: "PUT",
      headers: json,
      body: JSON.stringify({ ...body, peers: [peer] }),
    });
    expect(put.status).toBe(200);
    expect(store.config.tls.privateKey).toBe(inlineKey);
    expect(store.config.peers[0]!.id).toBe("home");
  });

  test("a bad configuration change is refused whole, with every reason", async () => {
    const before = store.version;
    const cfg = (await (await app.request("/v1/config", { headers: auth })).json()) as Record<string, unknown>;
    const bad = {
      ...cfg,
      listeners: { admin: { host: "127.0.0.1", port: 70000 } },
      peers: [{ ...peer, id: "Bad Id" }],
    };
    const r = await app.request("/v1/config", { method: "PUT", headers: json, body: JSON.stringify(bad) });
    expect(r.status).toBe(400);
    const p = (await r.json()) as any;
    expect(p.cause).toBe("INVALID_CONFIGURATION");
    const params = p.invalidParams.map((i: { param: string }) => i.param);
    expect(params.some((x: string) => x.startsWith("/listeners"))).toBe(true);
    expect(params.some((x: string) => x.startsWith("/peers/0/id"))).toBe(true);
    expect(store.version).toBe(before);
  });

  test("malformed JSON, wrong content type and stale If-Match are refused", async () => {
    expect((await app.request("/v1/config", { method: "PUT", headers: json, body: "{nope" })).status).toBe(400);
    expect(
      (
        await app.request("/v1/config", {
          method: "PUT",
          headers: { ...auth, "content-type": "text/plain" },
          body: "{}",
        })
      ).status,
    ).toBe(415);
    const r = await app.request("/v1/config", { method: "PUT", headers: { ...json, "if-match": '"1"' }, body: "{}" });
    expect(r.status).toBe(412);
  });

  test("peer CRUD", async () => {
    const second = {
      ...peer,
      id: "partner2",
      n32Fqdn: "sepp.5gc.mnc015.mcc234.3gppnetwork.org",
      plmnIds: [{ mcc: "234", mnc: "15" }],
    };
    const created = await app.request("/v1/peers", { method: "POST", headers: json, body: JSON.stringify(second) });
    expect(created.status).toBe(201);
    expect(
      (await app.request("/v1/peers", { method: "POST", headers: json, body: JSON.stringify(second) })).status,
    ).toBe(409);
    const dup = await app.request("/v1/peers", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ...second, id: "partner3" }),
    });
    expect(dup.status).toBe(400); // same FQDN as partner2: refused by the whole-config check
    const list = (await (await app.request("/v1/peers", { headers: auth })).json()) as any;
    expect(list.map((p: { id: string }) => p.id)).toEqual(["home", "partner2"]);
    const upd = await app.request("/v1/peers/partner2", {
      method: "PUT",
      headers: json,
      body: JSON.stringify({ ...second, initiate: false }),
    });
    expect(upd.status).toBe(200);
    expect(store.config.peers[1]!.initiate).toBe(false);
    const mismatch = await app.request("/v1/peers/partner2", {
      method: "PUT",
      headers: json,
      body: JSON.stringify({ ...second, id: "other" }),
    });
    expect(mismatch.status).toBe(400);
    expect((await app.request("/v1/peers/partner2/n32", { headers: auth })).status).toBe(200);
    const hs = await app.request("/v1/peers/partner2/n32/handshake", { method: "POST", headers: auth });
    expect(((await hs.json()) as any).state).toBe("active-prins");
    expect((await app.request("/v1/peers/partner2", { method: "DELETE", headers: auth })).status).toBe(204);
    expect(terminated).toEqual(["partner2"]);
    expect((await app.request("/v1/peers/partner2", { headers: auth })).status).toBe(404);
    expect((await app.request("/v1/peers/partner2/n32", { headers: auth })).status).toBe(404);
  });

  test("metrics in Prometheus text format", async () => {
    const r = await app.request("/metrics", { headers: auth });
    expect(r.headers.get("content-type")).toContain("text/plain");
    const t = await r.text();
    expect(t).toContain("# TYPE sepp_test_total counter");
    expect(t).toContain('sepp_test_total{peer="home"} 3');
  });

  test("GET /v1/openapi.json: an OpenAPI 3.1 document whose schemas come from the validators", async () => {
    const r = await app.request("/v1/openapi.json", { headers: auth });
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, unknown>; components: any };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/v1/peers/{peerId}");
    // generated from PeerSchema: its id pattern and strictness are there, not a hand-written copy
    expect(doc.components.schemas.Peer.properties.id.pattern).toBe("^[a-z0-9][a-z0-9-]{0,62}$");
    expect(doc.components.schemas.Config.additionalProperties).toBe(false);
    expect(doc.components.schemas.Config.properties.listeners.properties.admin.properties.tls).toBeDefined();
  });
});
