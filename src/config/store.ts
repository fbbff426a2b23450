// src/config/store.ts — the running configuration in bun:sqlite (WAL).
//
// Every change is validated whole (parseConfig) and written in one transaction; a refused change writes
// nothing. Each applied version is kept (bounded history) with its source, so an operator can audit
// what changed and when. synchronous=FULL: an acknowledged change survives a power cut.
// The version that last started (every listener up) is recorded and never pruned: a start whose newest
// stored version fails falls back to it (src/config/start.ts). A restart of the same version writes nothing
// (started_at is when that version first started), so a start does no synchronous write once its version is known.
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../../lib/fs-atomic.ts";
import { storageFull } from "../../lib/storage-reserve.ts";
import { SeppError } from "../errors.ts";
import { parseConfig, type ConfigIssue, type ParseResult, type SeppConfig } from "./schema.ts";

const HISTORY_KEEP = 50;

/** Throws an error with code SQLITE_CORRUPT when `PRAGMA quick_check` finds `db` damaged (src/config/recover.ts). */
export function assertIntact(db: Database): void {
  const check = db.query<{ quick_check: string }, []>("PRAGMA quick_check").get()?.quick_check;
  if (check !== "ok")
    throw Object.assign(new Error(`database disk image is malformed (quick_check: ${String(check).slice(0, 200)})`), {
      code: "SQLITE_CORRUPT",
    });
}

export interface ConfigVersion {
  version: number;
  appliedAt: string;
  source: string;
}

/** A stored version read back: its configuration, or why it no longer validates. */
export interface StoredVersion {
  version: number;
  parsed: ParseResult;
}

export type ApplyResult = { ok: true; config: SeppConfig; version: number } | { ok: false; issues: ConfigIssue[] };

export class ConfigStore {
  readonly #db: Database;
  #current: { config: SeppConfig; version: number } | null = null;
  #hasRows = false;
  readonly #listeners = new Set<(c: SeppConfig, prev: SeppConfig | null) => void>();
  /** Extra checks the running process adds (for example: refuse a change of storage.dir). */
  readonly #guards: Array<(next: SeppConfig, prev: SeppConfig | null) => ConfigIssue[]> = [];
  /** the last stored row validated, by its text: a start reads the newest version three times (constructor,
   * chooseStartVersion, use) and parseConfig is a few ms each on a full configuration */
  #lastParsed: { json: string; parsed: ParseResult } | null = null;

  /** where each applied version is also written as JSON (src/config/recover.ts: a corrupt store is rebuilt from it) */
  readonly #snapshotPath: string | undefined;

  constructor(path: string, opts: { snapshotPath?: string } = {}) {
    this.#snapshotPath = opts.snapshotPath;
    this.#db = new Database(path, { create: true, strict: true });
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = FULL");
    this.#db.exec("PRAGMA busy_timeout = 2000");
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS config_versions (
         version INTEGER PRIMARY KEY AUTOINCREMENT,
         json TEXT NOT NULL,
         source TEXT NOT NULL,
         applied_at TEXT NOT NULL
       )`,
    );
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS config_started (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         version INTEGER NOT NULL,
         started_at TEXT NOT NULL
       )`,
    );
    // a damaged page shows here, at start, not in the middle of a change (a small store: well under a millisecond)
    try {
      assertIntact(this.#db);
    } catch (e) {
      this.#db.close();
      throw e;
    }
    const latest = this.latest();
    if (latest?.parsed.ok) this.#current = { config: latest.parsed.config, version: latest.version };
    // a newest version that no longer validates (schema defaults may have grown) is not run: the start
    // falls back (src/config/start.ts); `empty` stays false so that a bootstrap file never overwrites it
    this.#hasRows = latest !== null;
  }

  /** The newest stored version, re-validated (what is stored was valid when written). */
  latest(): StoredVersion | null {
    const row = this.#db
      .query<{ version: number; json: string }, []>(
        "SELECT version, json FROM config_versions ORDER BY version DESC LIMIT 1",
      )
      .get();
    return row ? { version: row.version, parsed: this.#parse(row.json) } : null;
  }

  #parse(json: string): ParseResult {
    if (this.#lastParsed?.json !== json) this.#lastParsed = { json, parsed: parseConfig(JSON.parse(json)) };
    return this.#lastParsed.parsed;
  }

  /** A stored version, re-validated; null when it is not (or no longer) stored. */
  stored(version: number): StoredVersion | null {
    const row = this.#db
      .query<{ json: string }, [number]>("SELECT json FROM config_versions WHERE version = ?")
      .get(version);
    return row ? { version, parsed: this.#parse(row.json) } : null;
  }

  /** Run a stored version (in memory; nothing is written): the fallback of a start whose newest version fails. */
  use(version: number): ParseResult {
    const s = this.stored(version);
    if (!s) return { ok: false, issues: [{ path: "", reason: `version ${version} is not stored` }] };
    if (s.parsed.ok) this.#current = { config: s.parsed.config, version };
    return s.parsed;
  }

  /** The version that last started (every listener up), if any. */
  lastStarted(): number | null {
    return (
      this.#db.query<{ version: number }, []>("SELECT version FROM config_started WHERE id = 1").get()?.version ?? null
    );
  }

  /** Record that `version` started (nothing to write when it is already the recorded one). */
  markStarted(version: number): void {
    if (this.lastStarted() === version) return;
    this.#db
      .query(
        "INSERT INTO config_started (id, version, started_at) VALUES (1, ?, ?) " +
          "ON CONFLICT (id) DO UPDATE SET version = excluded.version, started_at = excluded.started_at",
      )
      .run(version, new Date().toISOString());
  }

  /** Nothing stored yet (first start). */
  get empty(): boolean {
    return !this.#hasRows;
  }

  /** The running configuration. Throws before the first apply. */
  get config(): SeppConfig {
    if (!this.#current) throw new Error("no configuration applied yet");
    return this.#current.config;
  }

  get version(): number {
    return this.#current?.version ?? 0;
  }

  addGuard(g: (next: SeppConfig, prev: SeppConfig | null) => ConfigIssue[]): void {
    this.#guards.push(g);
  }

  onChange(cb: (c: SeppConfig, prev: SeppConfig | null) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Validate the whole candidate and apply it atomically. */
  apply(candidate: unknown, source: string): ApplyResult {
    const r = parseConfig(candidate);
    if (!r.ok) return r;
    const prev = this.#current?.config ?? null;
    const guardIssues = this.#guards.flatMap((g) => g(r.config, prev));
    if (guardIssues.length) return { ok: false, issues: guardIssues };
    const json = JSON.stringify(r.config);
    const tx = this.#db.transaction(() => {
      this.#db
        .query("INSERT INTO config_versions (json, source, applied_at) VALUES (?, ?, ?)")
        .run(json, source.slice(0, 200), new Date().toISOString());
      const v = this.#db.query<{ v: number }, []>("SELECT last_insert_rowid() AS v").get()!.v;
      // the version that last started is the start-up fallback: kept whatever its age
      this.#db
        .query("DELETE FROM config_versions WHERE version <= ? AND version NOT IN (SELECT version FROM config_started)")
        .run(v - HISTORY_KEEP);
      return v;
    });
    let version: number;
    try {
      version = tx() as number;
    } catch (e) {
      // a full partition (SQLITE_FULL, or an I/O error growing the WAL's index): the change is not stored
      if (storageFull(e))
        throw new SeppError(
          "STORAGE_FULL",
          "the data partition is full: the change was not stored (free space on storage.dir; /v1/health shows it)",
          { status: 507, problemCause: "INSUFFICIENT_STORAGE", cause: e },
        );
      throw e;
    }
    this.#hasRows = true;
    this.#current = { config: r.config, version };
    this.#snapshot(version, source);
    for (const l of this.#listeners) l(r.config, prev);
    return { ok: true, config: r.config, version };
  }

  /**
   * At start: the snapshot brought to the newest stored version when it holds another (a store restored by a
   * firmware roll-back, src/config/migrate.ts; a snapshot write that failed), so that a rebuild gives what the store
   * held.
   */
  syncSnapshot(): void {
    if (!this.#snapshotPath || !this.#current) return;
    try {
      if (JSON.parse(readFileSync(this.#snapshotPath, "utf8")).version === this.#current.version) return;
    } catch {} // missing or unreadable: written below
    this.#snapshot(this.#current.version, "the stored version, at start");
  }

  /** Write the running version as JSON beside the store; best effort: the store stays the record. */
  #snapshot(version: number, source: string): void {
    if (!this.#snapshotPath || !this.#current) return;
    const text = JSON.stringify({
      version,
      source: source.slice(0, 200),
      appliedAt: new Date().toISOString(),
      config: this.#current.config,
    });
    try {
      writeFileAtomic(this.#snapshotPath, text, 0o600);
    } catch {
      // a full partition or a write error: the snapshot is older than the store until the next change
    }
  }

  history(): ConfigVersion[] {
    return this.#db
      .query<{ version: number; applied_at: string; source: string }, []>(
        "SELECT version, applied_at, source FROM config_versions ORDER BY version DESC",
      )
      .all()
      .map((r) => ({ version: r.version, appliedAt: r.applied_at, source: r.source }));
  }

  close(): void {
    this.#db.close();
  }
}
