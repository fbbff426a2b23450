import { describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { ConfigStore } from "../../src/config/store.ts";
import { parseConfig } from "../../src/config/schema.ts";
import defaultConfig from "../../config/default.json" with { type: "json" };
import { freshDirs } from "../support/tmp-dirs.ts";

const dir = freshDirs("sepp-store-").root;

const peer = (id: string, fqdn: string) => ({
  id,
  n32Fqdn: fqdn,
  plmnIds: [{ mcc: "262", mnc: "01" }],
  n32cUri: "https://127.0.0.1:9443",
});

describe("configuration schema", () => {
  test("the embedded default is valid and gets the profile defaults", () => {
    const r = parseConfig(defaultConfig);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.n32c.contextValiditySeconds).toBe(86400);
    expect(r.config.n32c.rekeySeqThreshold).toBe(2 ** 31);
    expect(r.config.keystore.backend).toBe("software");
  });

  test("peer defaults follow N32-PROFILE (P1, P6, P7)", () => {
    const r = parseConfig({ ...defaultConfig, peers: [peer("home", "sepp.5gc.mnc001.mcc262.3gppnetwork.org")] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.config.peers[0]!;
    expect(p.profile).toEqual({
      tls12ExporterContext: "empty",
      kdfContextId: "initiator",
      allowTls12: false,
      onPolicyMismatch: "reject",
    });
    expect(p.securityCapabilities).toEqual(["PRINS", "TLS"]);
    expect(p.jweCipherSuites).toEqual(["A256GCM", "A128GCM"]);
  });

  test("unknown members, bad values and cross-field conflicts are all reported", () => {
    const bad = {
      ...defaultConfig,
      identitty: {},
      peers: [peer("home", "sepp.example.org"), { ...peer("home", "not an fqdn"), profile: { kdfContextId: "both" } }],
    };
    const r = parseConfig(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths.some((p) => p.includes("identitty"))).toBe(true);
    expect(paths.some((p) => p.startsWith("/peers/1/n32Fqdn"))).toBe(true);
    expect(paths.some((p) => p.startsWith("/peers/1/profile/kdfContextId"))).toBe(true);
  });

  test("the re-handshake margin must be below the context validity", () => {
    const r = parseConfig({ ...defaultConfig, n32c: { contextValiditySeconds: 60, rekeyMarginSeconds: 60 } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContain("/n32c/rekeyMarginSeconds");
    expect(parseConfig({ ...defaultConfig, n32c: { contextValiditySeconds: 60, rekeyMarginSeconds: 59 } }).ok).toBe(
      true,
    );
  });

  test("a PLMN may belong to one trust anchor only (TS 33.501 13.1.2)", () => {
    const tls = {
      ...defaultConfig.tls,
      trustAnchors: [
        { name: "a", plmnIds: [{ mcc: "262", mnc: "01" }], roots: ["a.pem"] },
        { name: "b", plmnIds: [{ mcc: "262", mnc: "001" }], roots: ["b.pem"] },
      ],
    };
    const r = parseConfig({ ...defaultConfig, tls });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.reason).toContain("262-001");
  });
});

describe("configuration store", () => {
  const path = join(dir, "sepp.db");

  test("a refused change changes nothing; a good one is versioned and survives reopening", () => {
    const s = new ConfigStore(path);
    expect(s.empty).toBe(true);
    const first = s.apply(defaultConfig, "bootstrap");
    expect(first.ok).toBe(true);
    let notified = 0;
    s.onChange(() => notified++);
    const refused = s.apply({ ...defaultConfig, peers: [peer("BAD ID", "sepp.example.org")] }, "test");
    expect(refused.ok).toBe(false);
    expect(s.version).toBe(1);
    expect(notified).toBe(0);
    const good = s.apply({ ...defaultConfig, peers: [peer("home", "sepp.5gc.mnc001.mcc262.3gppnetwork.org")] }, "test");
    expect(good.ok).toBe(true);
    expect(notified).toBe(1);
    expect(s.version).toBe(2);
    s.close();

    const again = new ConfigStore(path);
    expect(again.version).toBe(2);
    expect(again.config.peers.map((p) => p.id)).toEqual(["home"]);
    expect(again.history().map((h) => h.source)).toEqual(["test", "bootstrap"]);
    again.close();
  });

  test("guards refuse a change atomically", () => {
    const s = new ConfigStore(join(dir, "guard.db"));
    s.apply(defaultConfig, "bootstrap");
    s.addGuard((next, prev) =>
      prev && next.storage.dir !== prev.storage.dir ? [{ path: "/storage/dir", reason: "cannot change" }] : [],
    );
    const r = s.apply({ ...defaultConfig, storage: { dir: "elsewhere" } }, "test");
    expect(r.ok).toBe(false);
    expect(s.config.storage.dir).toBe("var");
    s.close();
  });

  test("a restart of the version that last started writes nothing; a new version is recorded", () => {
    const path = join(dir, "started.db");
    const s = new ConfigStore(path);
    s.apply(defaultConfig, "bootstrap");
    s.markStarted(1);
    const startedAt = () =>
      new Database(path, { readonly: true })
        .query<{ started_at: string }, []>("SELECT started_at FROM config_started")
        .get()!.started_at;
    const first = startedAt();
    const bytes = () => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0) + statSync(path).size;
    const before = bytes();
    Bun.sleepSync(5);
    s.markStarted(1); // a restart: no write (no WAL frame, no fsync on the start path)
    expect(bytes()).toBe(before);
    expect(startedAt()).toBe(first);
    expect(s.lastStarted()).toBe(1);
    s.apply({ ...defaultConfig, peers: [peer("home", "sepp.5gc.mnc001.mcc262.3gppnetwork.org")] }, "test");
    s.markStarted(2);
    expect(s.lastStarted()).toBe(2);
    expect(startedAt() > first).toBe(true);
    s.close();
  });
});
