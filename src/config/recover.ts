// src/config/recover.ts — the configuration store as a start opens it, and what a corrupt one becomes. SQLite in WAL
// mode with synchronous=FULL survives power cuts; a store damaged otherwise (flash wear, a bad write below the file
// system) made every start fail ("database disk image is malformed"), systemd's start limit rebooted the gateway,
// the other slot read the same data partition: a brick. Every applied version is also written as JSON beside the
// store (ConfigStore's snapshot); a start that finds the store corrupt moves it aside (kept for the operator) and
// builds a new one from that snapshot: the configuration that ran, not the installation's older file. Without a
// snapshot the start still fails, saying what to do: starting from the installation's file would silently undo the
// changes made through the API (a removed peer back, a screening rule gone).
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsyncDir } from "../../lib/fs-atomic.ts";
import { LOW_FREE_BYTES, storageFreeOrUnknown } from "../../lib/storage-reserve.ts";
import type { Logger } from "../log.ts";
import { migrateStore, moveWithSidecars } from "./migrate.ts";
import { assertIntact, ConfigStore } from "./store.ts";

export const STORE_NAME = "sepp.db";
export const SNAPSHOT_NAME = "config.snapshot.json";

export interface Recovered {
  /** where the corrupt store was moved */
  aside: string;
  /** the version of the snapshot the new store was built from (numbering starts again at 1) */
  snapshotVersion: number;
}

/** SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), with their extended codes. */
export function storeCorrupt(e: unknown): boolean {
  const x = e as { code?: unknown; errno?: unknown } | null;
  if (x?.code === "SQLITE_CORRUPT" || x?.code === "SQLITE_NOTADB") return true;
  return typeof x?.errno === "number" && [11, 26].includes(x.errno & 0xff);
}

function readSnapshot(path: string): { version: number; config: unknown } | null {
  if (!existsSync(path)) return null;
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as { version?: unknown; config?: unknown };
    return typeof s.version === "number" && s.config && typeof s.config === "object"
      ? { version: s.version, config: s.config }
      : null;
  } catch {
    return null;
  }
}

/** Move a corrupt SQLite file (with its WAL and index) aside as `<path>.corrupt-<time>`, kept for the operator. */
function moveAside(path: string): string {
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  moveWithSidecars(path, aside);
  fsyncDir(dirname(path));
  return aside;
}

/** A store made by an earlier version under the usual umask (0644) becomes its owner's alone: it may hold an
 *  inline private key of the configuration (src/main.ts sets the umask for what is made now). */
function ownerOnly(dbPath: string): void {
  for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, join(dirname(dbPath), "telescopic.db")])
    try {
      if (statSync(f).mode & 0o077) chmodSync(f, 0o600);
    } catch {} // absent
}

/** Open (and migrate) the store of `dataDir`; a corrupt one is rebuilt from its snapshot. Throws with the remedy. */
export function openStore(dataDir: string, log: Logger): { store: ConfigStore; recovered?: Recovered } {
  const dbPath = join(dataDir, STORE_NAME);
  const snapshotPath = join(dataDir, SNAPSHOT_NAME);
  try {
    migrateStore(dbPath, log); // schema versions across firmware updates (docs/UPDATES.md)
    const store = new ConfigStore(dbPath, { snapshotPath });
    ownerOnly(dbPath);
    store.syncSnapshot();
    return { store };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (!storeCorrupt(e)) {
      // SQLite writes to open a WAL store: on a full partition with no reserve left (lib/storage-reserve.ts) its own
      // words are "disk I/O error"; say what it is
      const free = storageFreeOrUnknown(dataDir); // -1: unreadable, nothing to say
      if (free >= 0 && free < LOW_FREE_BYTES)
        throw new Error(
          `the data partition is full (${Math.floor(free / 1024)} KiB free on ${dataDir}): the configuration store cannot be opened (${why}); free space there`,
          { cause: e },
        );
      throw e;
    }
    const snap = readSnapshot(snapshotPath);
    if (!snap)
      throw new Error(
        `the configuration store ${dbPath} is corrupt (${why}) and ${SNAPSHOT_NAME} holds no configuration to rebuild it from: restore a copy, or move the store aside to start from the installation's configuration file (changes made through the API since are then lost)`,
      );
    const aside = moveAside(dbPath);
    migrateStore(dbPath, log);
    const store = new ConfigStore(dbPath, { snapshotPath });
    const r = store.apply(
      snap.config,
      `rebuilt from ${SNAPSHOT_NAME} (version ${snap.version}): the store was corrupt`,
    );
    if (!r.ok) {
      store.close();
      throw new Error(
        `the configuration store was corrupt (moved to ${aside}) and its snapshot no longer validates: ${r.issues.map((i) => `${i.path}: ${i.reason}`).join("; ")}`,
      );
    }
    log.error(
      "the configuration store was corrupt: moved aside, rebuilt from the snapshot of the running configuration",
      {
        event: "store-corrupt",
        aside,
        error: why,
        snapshotVersion: snap.version,
        version: r.version,
      },
    );
    return { store, recovered: { aside, snapshotVersion: snap.version } };
  }
}

/**
 * A store of the data directory that holds what can be lost (the telescopic label table: labels issued from it stop
 * resolving, new ones are issued) checked before the data path opens it in every worker: a corrupt one is moved aside
 * and logged, and the data path starts with an empty one instead of failing the start. Returns whether it was moved.
 */
export function setAsideIfCorrupt(path: string, what: string, log: Logger): boolean {
  if (!existsSync(path)) return false;
  try {
    const db = new Database(path, { strict: true });
    try {
      assertIntact(db);
      return false;
    } finally {
      db.close();
    }
  } catch (e) {
    if (!storeCorrupt(e)) throw e;
    const aside = moveAside(path);
    log.error(`the ${what} was corrupt: moved aside, starting with an empty one`, {
      event: "store-corrupt",
      aside,
      error: e instanceof Error ? e.message : String(e),
    });
    return true;
  }
}
