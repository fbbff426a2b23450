// src/config/migrate.ts — schema versions of the sqlite store and of the configuration it holds, and their forward
// migration across firmware versions (docs/UPDATES.md "Data across versions").
//
// The store's schema version is sqlite's `PRAGMA user_version` (0: written before versions existed, read as 1).
// The configuration rows (config_versions.json) carry the same number: a step that changes the configuration's
// shape transforms every stored row. Before a newer firmware migrates, it keeps a consistent copy of the whole
// store (`VACUUM INTO sepp.db.schema-<old>.bak`); each step runs in one transaction, so a failed step leaves the
// store as it was (all steps share one transaction). A firmware that was rolled back finds a store newer than it knows: it restores the copy of its
// own schema and moves the newer store aside (`sepp.db.schema-<new>.<time>.newer`), so what the newer version
// wrote is kept on disk and named in the log, never silently dropped, and never read by code that does not
// understand it. Keys and the PKCS#11 token are not in the store and are never touched.
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncDir } from "../../lib/fs-atomic.ts";

export interface Migration {
  /** the schema version this step produces (steps are applied in order, each from to-1) */
  to: number;
  /** SQL run inside the step's transaction */
  sql?: string[];
  /** transform of one stored configuration (JSON value); throw to refuse */
  config?: (c: Record<string, unknown>) => Record<string, unknown>;
}

/** The migrations of this firmware; the last `to` is the schema version it writes. Schema 1: the first release. */
export const MIGRATIONS: Migration[] = [];
export const BASE_SCHEMA = 1;
export const schemaVersionOf = (migrations: Migration[]): number => migrations.at(-1)?.to ?? BASE_SCHEMA;
/** The schema version this firmware writes. */
export const STORE_SCHEMA = schemaVersionOf(MIGRATIONS);

export interface MigrationReport {
  from: number;
  to: number;
  /** the copy kept before migrating, or the copy restored after a roll-back */
  copy?: string;
  /** a store of a newer schema moved aside after a roll-back */
  movedAside?: string;
}

interface Log {
  info(m: string, f?: Record<string, unknown>): void;
  warn(m: string, f?: Record<string, unknown>): void;
}

export const backupPath = (dbPath: string, schema: number): string => `${dbPath}.schema-${schema}.bak`;

function readSchema(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    const v = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
    return v === 0 ? BASE_SCHEMA : v;
  } finally {
    db.close();
  }
}

export function moveWithSidecars(from: string, to: string): void {
  for (const ext of ["", "-wal", "-shm"]) if (existsSync(from + ext)) renameSync(from + ext, to + ext);
}

/**
 * Bring the store at `dbPath` to this firmware's schema before it is opened. A missing store is created empty and
 * stamped with the current schema. Throws (and changes nothing) when a step fails or a newer store has no copy
 * of this schema to go back to.
 */
export function migrateStore(dbPath: string, log: Log, migrations: Migration[] = MIGRATIONS): MigrationReport {
  const current = schemaVersionOf(migrations);
  if (!existsSync(dbPath)) {
    const db = new Database(dbPath, { create: true });
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA user_version = ${current}`);
    db.close();
    return { from: current, to: current };
  }
  const found = readSchema(dbPath);
  if (found === current) return { from: found, to: found };

  if (found > current) {
    // rolled back: go back to the data this version had, keep the newer store aside
    const copy = backupPath(dbPath, current);
    if (!existsSync(copy))
      throw new Error(
        `the store ${basename(dbPath)} has schema ${found}, newer than this firmware's ${current}, and no copy of schema ${current} was kept: not starting (nothing changed)`,
      );
    const aside = `${dbPath}.schema-${found}.${new Date().toISOString().replace(/[:.]/g, "-")}.newer`;
    moveWithSidecars(dbPath, aside);
    const tmp = `${dbPath}.restore.tmp`;
    copyFileSync(copy, tmp);
    renameSync(tmp, dbPath);
    fsyncDir(dirname(dbPath));
    log.warn(
      "store of a newer firmware found (roll-back): restored the copy kept before the update; changes made under the newer firmware are not in it and are kept aside",
      { schema: found, restoredSchema: current, restored: copy, keptAside: aside },
    );
    return { from: found, to: current, copy, movedAside: aside };
  }

  const steps = migrations.filter((m) => m.to > found && m.to <= current).sort((a, b) => a.to - b.to);
  if (steps[0]?.to !== found + 1 || steps.some((s, i) => s.to !== found + 1 + i))
    throw new Error(`no migration path from store schema ${found} to ${current}`);
  const copy = backupPath(dbPath, found);
  const db = new Database(dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 2000");
    // a consistent copy (WAL included) in one file; an older copy of the same schema is replaced
    rmSync(copy, { force: true });
    db.query("VACUUM INTO ?").run(copy);
    fsyncDir(dirname(dbPath));
    // all steps in one transaction: a step that fails leaves the store exactly as it was
    db.transaction(() => {
      for (const step of steps) {
        for (const s of step.sql ?? []) db.exec(s);
        if (step.config) {
          const hasTable = db
            .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'config_versions'")
            .get();
          if (hasTable) {
            const rows = db
              .query<{ version: number; json: string }, []>("SELECT version, json FROM config_versions")
              .all();
            const upd = db.query("UPDATE config_versions SET json = ? WHERE version = ?");
            for (const r of rows) {
              let next: Record<string, unknown>;
              try {
                next = step.config!(JSON.parse(r.json) as Record<string, unknown>);
              } catch (e) {
                throw new Error(
                  `configuration v${r.version} cannot be migrated to schema ${step.to}: ${e instanceof Error ? e.message : String(e)}`,
                );
              }
              upd.run(JSON.stringify(next), r.version);
            }
          }
        }
        db.exec(`PRAGMA user_version = ${step.to}`);
      }
    })();
  } finally {
    db.close();
  }
  log.info("store migrated", { from: found, to: current, copy: basename(copy), dir: dirname(copy) });
  return { from: found, to: current, copy: join(dirname(copy), basename(copy)) };
}

/** The schema version of a store file as it is now (for the commit-after-boot check). */
export function storeSchema(dbPath: string): number {
  return readSchema(dbPath);
}
