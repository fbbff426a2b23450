// Data across firmware versions (src/config/migrate.ts): forward migration after keeping a copy, a failed migration
// changes nothing, a rolled-back firmware restores the copy of its schema and keeps the newer store aside.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { backupPath, type Migration, migrateStore, storeSchema } from "../../src/config/migrate.ts";
import { ConfigStore } from "../../src/config/store.ts";
import { checkManifest, compareVersions } from "../../src/system/bundle-check.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshDir = freshDirs("sepp-migrate-");
const log = { info: () => {}, warn: () => {} };
const base = {
  identity: { n32Fqdn: "sepp.5gc.mnc001.mcc001.3gppnetwork.org", plmnIds: [{ mcc: "001", mnc: "01" }] },
  listeners: { n32: { host: "127.0.0.1", port: 0 }, admin: { host: "127.0.0.1", port: 0 } },
  tls: {
    certificate: "c.pem",
    privateKey: "k.pem",
    trustAnchors: [{ name: "a", plmnIds: [{ mcc: "001", mnc: "01" }], roots: ["r.pem"] }],
  },
};
/** schema 2 of a future firmware: the admin token file renamed in every stored configuration, a new table */
const V2: Migration[] = [
  {
    to: 2,
    sql: ["CREATE TABLE peers_seen (peer TEXT PRIMARY KEY)"],
    config: (c) => ({ ...c, admin: { tokenFile: "token-v2" } }),
  },
];

function freshStore(dir: string): string {
  const path = join(dir, "sepp.db");
  migrateStore(path, log);
  const s = new ConfigStore(path);
  expect(s.apply(base, "test").ok).toBe(true);
  s.close();
  return path;
}

test("a new store is stamped with the current schema; an unchanged schema migrates nothing", () => {
  const dir = freshDir();
  const path = freshStore(dir);
  expect(storeSchema(path)).toBe(1);
  expect(migrateStore(path, log)).toEqual({ from: 1, to: 1 });
  expect(readdirSync(dir).filter((f) => f.endsWith(".bak"))).toEqual([]);
});

test("forward migration keeps a copy of the old store first, then migrates store and configuration", () => {
  const dir = freshDir();
  const path = freshStore(dir);
  const r = migrateStore(path, log, V2);
  expect(r).toMatchObject({ from: 1, to: 2, copy: backupPath(path, 1) });
  expect(storeSchema(path)).toBe(2);
  expect(storeSchema(backupPath(path, 1))).toBe(1);
  const s = new ConfigStore(path);
  expect(s.config.admin.tokenFile).toBe("token-v2");
  s.close();
  const old = new ConfigStore(backupPath(path, 1));
  expect(old.config.admin.tokenFile).toBe("admin.token");
  old.close();
});

test("a migration that fails leaves the store exactly as it was", () => {
  const dir = freshDir();
  const path = freshStore(dir);
  const failing: Migration[] = [
    { to: 2, sql: ["CREATE TABLE t2 (x)"] },
    {
      to: 3,
      config: () => {
        throw new Error("cannot map this configuration");
      },
    },
  ];
  expect(() => migrateStore(path, log, failing)).toThrow(/cannot be migrated to schema 3: cannot map/);
  expect(storeSchema(path)).toBe(1);
  const db = new Database(path, { readonly: true });
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 't2'").get()).toBeNull();
  db.close();
});

test("rolled back: the copy of this schema is restored, the newer store kept aside and named; without a copy: no start", () => {
  const dir = freshDir();
  const path = freshStore(dir);
  migrateStore(path, log, V2); // the newer firmware ran …
  const s2 = new ConfigStore(path);
  s2.apply({ ...s2.config, peers: [] }, "written by the newer firmware");
  s2.close();
  const r = migrateStore(path, log); // … and the older one is back
  expect(r.from).toBe(2);
  expect(r.to).toBe(1);
  expect(existsSync(r.movedAside!)).toBe(true);
  expect(storeSchema(path)).toBe(1);
  expect(storeSchema(r.movedAside!)).toBe(2);
  const s1 = new ConfigStore(path);
  expect(s1.config.admin.tokenFile).toBe("admin.token");
  s1.close();

  const dir2 = freshDir();
  const p2 = freshStore(dir2);
  migrateStore(p2, log, V2);
  rmSync(backupPath(p2, 1));
  expect(() => migrateStore(p2, log)).toThrow(/newer than this firmware's 1, and no copy of schema 1/);
  expect(storeSchema(p2)).toBe(2);
});

test("bundle manifest checks: compatible, anti-rollback minimum, semver order", () => {
  const dev = { compatible: "sepp-gateway-linux-x64", minVersion: "1.2.0" };
  expect(checkManifest({ compatible: "sepp-gateway-linux-x64", version: "1.2.0" }, dev)).toBeNull();
  expect(checkManifest({ compatible: "sepp-gateway-linux-x64", version: "1.10.0" }, dev)).toBeNull();
  expect(checkManifest({ compatible: "sepp-gateway-linux-arm64", version: "2.0.0" }, dev)?.cause).toBe(
    "BUNDLE_INCOMPATIBLE",
  );
  expect(checkManifest({ compatible: "sepp-gateway-linux-x64", version: "1.1.9" }, dev)?.cause).toBe(
    "BUNDLE_DOWNGRADE_REFUSED",
  );
  expect(checkManifest({ compatible: "sepp-gateway-linux-x64", version: "1.2.0-rc.1" }, dev)?.cause).toBe(
    "BUNDLE_DOWNGRADE_REFUSED",
  );
  expect(compareVersions("1.10.0", "1.9.0")).toBe(1);
});
