// A corrupt configuration store (src/config/recover.ts): the start moves it aside and rebuilds it from the snapshot
// of the running configuration, which every applied version writes beside it; without a snapshot it fails with the
// remedy and changes nothing. Before: every start failed ("file is not a database", "database disk image is
// malformed") and the gateway rebooted into the same failure. Real SEPP processes, real files.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { SNAPSHOT_NAME } from "../../src/config/recover.ts";
import { ConfigStore } from "../../src/config/store.ts";
import { runSeppToExit, startSepp, writePair, type SeppProcess } from "../../scripts/lib/pair.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const running: SeppProcess[] = [];
afterAll(async () => {
  for (const s of running) await s.stop();
});
const fresh = freshDirs("sepp-recover-");

/** overwrite `n` octets of `file` at `offset` */
function scribble(file: string, offset: number, n: number, octet = 0x5a): void {
  const fd = openSync(file, "r+");
  writeSync(fd, new Uint8Array(n).fill(octet), 0, n, offset);
  closeSync(fd);
}

type Health = { status: string; checks: Record<string, string> };

describe("a corrupt configuration store", () => {
  test("is moved aside and rebuilt from the snapshot: the configuration that ran, changes through the API included", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    const dataDir = join(side.dir, "var");
    let s = await startSepp(side);
    running.push(s);
    const cfg = (await (await s.admin("/v1/config")).json()) as Record<string, any>;
    const changed = { ...cfg, log: { level: "warn" } };
    const put = await s.admin("/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(changed),
    });
    expect(put.status).toBe(200);
    const snap = JSON.parse(readFileSync(join(dataDir, SNAPSHOT_NAME), "utf8"));
    expect(snap.config.log).toEqual({ level: "warn" });
    // the store and its snapshot may hold an inline private key: owner-only (before: sepp.db 0644 under umask 022)
    for (const f of [SNAPSHOT_NAME, "sepp.db", "sepp.db-wal", "telescopic.db"])
      expect({ f, mode: statSync(join(dataDir, f)).mode & 0o777 }).toEqual({ f, mode: 0o600 });
    expect(await s.stop()).toBe(0);
    running.pop();
    // a store an earlier version made 0644 is made owner-only by the next start; a snapshot that is not the stored
    // version's (a store restored by a roll-back, a write that failed) is brought to it
    chmodSync(join(dataDir, "sepp.db"), 0o644);
    rmSync(join(dataDir, SNAPSHOT_NAME));
    s = await startSepp(side);
    expect(statSync(join(dataDir, "sepp.db")).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dataDir, SNAPSHOT_NAME), "utf8"))).toMatchObject({
      version: snap.version,
      config: { log: { level: "warn" } },
    });
    expect(await s.stop()).toBe(0);

    scribble(join(dataDir, "sepp.db"), 0, 16); // the header: "file is not a database"
    s = await startSepp(side);
    running.push(s);
    const h = (await (await s.admin("/v1/health")).json()) as Health;
    expect(h.status).toBe("UP");
    expect(h.checks.config).toMatch(
      /^rebuilt: the store was corrupt \(kept as sepp\.db\.corrupt-.+\); v\d+ from its snapshot$/,
    );
    expect(((await (await s.admin("/v1/config")).json()) as Record<string, any>).log).toEqual({ level: "warn" });
    expect(s.logs.find((l) => l.event === "store-corrupt")).toMatchObject({
      level: "error",
      snapshotVersion: snap.version,
    });
    expect(readdirSync(dataDir).filter((f) => f.startsWith("sepp.db.corrupt-")).length).toBe(1);
    expect(await s.stop()).toBe(0);
    running.pop();
  }, 60000);

  test("without a snapshot: the start fails with the remedy, and the store is left where it is", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    const dataDir = join(side.dir, "var");
    const s = await startSepp(side);
    expect(await s.stop()).toBe(0);
    rmSync(join(dataDir, SNAPSHOT_NAME));
    scribble(join(dataDir, "sepp.db"), 0, 16);
    const r = await runSeppToExit(side);
    expect(r.code).toBe(1);
    expect(r.out).toContain("is corrupt");
    expect(r.out).toContain("restore a copy, or move the store aside");
    expect(existsSync(join(dataDir, "sepp.db"))).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.includes("corrupt"))).toEqual([]);
  }, 60000);

  test("a corrupt telescopic label table is moved aside and the SEPP starts with an empty one", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    const dataDir = join(side.dir, "var");
    let s = await startSepp(side);
    expect(await s.stop()).toBe(0);
    expect(existsSync(join(dataDir, "telescopic.db"))).toBe(true);
    scribble(join(dataDir, "telescopic.db"), 0, 16);
    s = await startSepp(side); // before: "start-up failed: file is not a database"
    running.push(s);
    expect((await s.admin("/v1/health")).status).toBe(200);
    expect(s.logs.find((l) => l.event === "store-corrupt")?.msg).toBe(
      "the telescopic label table was corrupt: moved aside, starting with an empty one",
    );
    expect(readdirSync(dataDir).filter((f) => f.startsWith("telescopic.db.corrupt-")).length).toBe(1);
    expect(await s.stop()).toBe(0);
    running.pop();
  }, 60000);

  test("a damaged page in the middle of the store is found when it is opened (quick_check), not during a change", () => {
    const dir = fresh();
    const path = join(dir, "sepp.db");
    const db = new Database(path, { create: true });
    db.exec("PRAGMA journal_mode = DELETE");
    db.exec(
      "CREATE TABLE config_versions (version INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL, source TEXT NOT NULL, applied_at TEXT NOT NULL)",
    );
    for (let i = 0; i < 50; i++)
      db.query("INSERT INTO config_versions (json, source, applied_at) VALUES (?, 'x', 'y')").run(
        "{}".padEnd(3000, " "),
      );
    db.close();
    scribble(path, 4096 * 5 + 100, 2000, 0xff); // inside a table page, past the header
    expect(() => new ConfigStore(path)).toThrow(expect.objectContaining({ code: "SQLITE_CORRUPT" }));
  });
});
