// src/config/store.ts — the running configuration in bun:sqlite (WAL).
//
// Every change is validated whole (parseConfig) and written in one transaction; a refused change writes
// nothing. Each applied version is kept (bounded history) with its source, so an operator can audit
// what changed and when. synchronous=FULL: an acknowledged change survives a power cut.
import { Database } from "bun:sqlite";
import { parseConfig, type ConfigIssue, type SeppConfig } from "./schema.ts";

const HISTORY_KEEP = 50;

export interface ConfigVersion {
  version: number;
  appliedAt: string;
  source: string;
}

export type ApplyResult = { ok: true; config: SeppConfig; version: number } | { ok: false; issues: ConfigIssue[] };

export class ConfigStore {
  readonly #db: Database;
  #current: { config: SeppConfig; version: number } | null = null;
  readonly #listeners = new Set<(c: SeppConfig, prev: SeppConfig | null) => void>();
  /** Extra checks the running process adds (for example: refuse a change of storage.dir). */
  readonly #guards: Array<(next: SeppConfig, prev: SeppConfig | null) => ConfigIssue[]> = [];

  constructor(path: string) {
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
    const row = this.#db
      .query<{ version: number; json: string }, []>(
        "SELECT version, json FROM config_versions ORDER BY version DESC LIMIT 1",
      )
      .get();
    if (row) {
      // What is stored was valid when written; re-validate anyway (schema defaults may have grown).
      const r = parseConfig(JSON.parse(row.json));
      if (!r.ok)
        throw new Error(
          `stored configuration v${row.version} is no longer valid: ${r.issues.map((i) => `${i.path}: ${i.reason}`).join("; ")}`,
        );
      this.#current = { config: r.config, version: row.version };
    }
  }

  get empty(): boolean {
    return this.#current === null;
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
      this.#db.query("DELETE FROM config_versions WHERE version <= ?").run(v - HISTORY_KEEP);
      return v;
    });
    const version = tx() as number;
    this.#current = { config: r.config, version };
    for (const l of this.#listeners) l(r.config, prev);
    return { ok: true, config: r.config, version };
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
