// src/sbi/telescopic-store.ts — the telescopic FQDN table (TS 33.501 13.1.1.1, TS 29.573 Nsepp_Telescopic_FQDN_Mapping,
// N32-PROFILE P8; digest §3.9).
//
// A telescopic FQDN is `<label>.<own SEPP domain>`: one opaque DNS label (≤ 63 characters) that this SEPP
// maps to a foreign host in its own persistent table. The label is `t` + 25 base32 characters of
// HMAC-SHA-256(table secret, foreign origin): stable per foreign origin (also after an eviction), and it
// reveals nothing of the foreign FQDN (topology hiding). The table secret is random per installation and
// lives only in the table's database. A mapping remembers the foreign scheme and port as well as the host
// (the "origin"), because the rewritten URI carries the scheme and port of our own SBI side instead.
//
// Since the worker model (issue 11 §3), new labels are stateless where they can be (telescopic-label.ts: the origin
// encrypted into the label under the SEPP's label key, resolvable by every worker and every gateway sharing the key):
// an FQDN origin whose encoding fits and that needs no peer (its host names a PLMN, or no peer is given). The table
// still takes the others — IP literals, hosts naming no PLMN that came from a peer, hosts too long for one label —
// and keeps resolving every table label issued before, for as long as it holds it.
//
// TelescopicStore: the table in bun:sqlite (WAL), bounded (least recently used entries idle for longer than
// `minIdleMs` are evicted when full; if none is, a new mapping is refused), with a quota per peer so that one
// peer cannot take the table from the others (docs/DATAPATH.md "Telescopic table quota"). The service is in
// telescopic-service.ts, the rewriting of URIs in telescopic-rewrite.ts and telescopic-discovery.ts.
import { Database } from "bun:sqlite";
import { createHmac, randomBytes } from "node:crypto";
import type { Registry } from "../metrics.ts";
import { SeppError } from "../errors.ts";
import { storageFull } from "../../lib/storage-reserve.ts";
import { isStatelessLabelForm, TelescopicLabelCodec, type TelescopicLabelKeys } from "./telescopic-label.ts";
import { isDnsLabel, isDnsName, parseHost, plmnOfHost, type SbiScheme } from "./api-root.ts";
import type { TelescopicTarget } from "./target.ts";

/** A URI or table operation refused; `code` is the ProblemDetails cause. */
export class TelescopicError extends SeppError {
  override name = "TelescopicError";
  constructor(detail: string, status = 400, problemCause = "MANDATORY_IE_INCORRECT") {
    super(problemCause, detail, { status });
  }
}

export interface TelescopicEntry extends TelescopicTarget {
  label: string;
  /** The roaming partner whose message carried the foreign URI (when known): it serves a host that names no PLMN */
  peerId: string | null;
}

export interface ForeignOrigin {
  scheme?: SbiScheme | null;
  port?: number | null;
  /**
   * The peer the foreign URI came from (a configured peer id). Stored with the label, so that the cSEPP can route
   * a label whose host names no PLMN (an IP literal, as open5gs-style NFs put in callback URIs) to that peer. For
   * an IP literal it is part of the origin (peers' private address ranges overlap); for an FQDN it is not.
   */
  peerId?: string | null;
}

/** What the pure rewriters need: the own domain and a label for a foreign origin (TelescopicStore implements it). */
export interface TelescopicMapper {
  readonly seppDomain: string;
  labelFor(foreignHost: string, origin?: ForeignOrigin): string;
}

export interface TelescopicStoreOptions {
  /** Own SEPP domain; telescopic FQDNs are `<label>.<seppDomain>` (our SBI side holds a wildcard certificate for it) */
  seppDomain: string;
  /** Bound on the table (default 50 000) */
  maxEntries?: number;
  /**
   * Bound on the entries made on behalf of one peer (ForeignOrigin.peerId; entries without a peer, e.g. those
   * asked for by our own NFs, share one more such quota). Default min(10 000, maxEntries). A peer at its quota
   * evicts only its own idle entries; if it has none, its new mapping is refused (503), never another peer's.
   */
  maxEntriesPerPeer?: number;
  /** An entry must be idle this long before it may be evicted to make room (default 7 days) */
  minIdleMs?: number;
  /** last_used is written at most this often per entry (default 1 h) */
  touchIntervalMs?: number;
  /** wall clock, ms (tests) */
  now?: () => number;
  /** exposes sepp_telescopic_entries */
  metrics?: Registry;
  /** Keys of stateless labels (telescopic-keys.ts); null or absent: every new label is a table label */
  labelKeys?: TelescopicLabelKeys | null;
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
function base32(b: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/** The port a scheme implies when a URI names none. */
export const defaultPort = (s: SbiScheme) => (s === "https" ? 443 : 80);

interface Row {
  label: string;
  host: string;
  scheme: string | null;
  port: number | null;
  peer_id: string | null;
  last_used: number;
}

interface Origin {
  host: string;
  kind: string;
  scheme: SbiScheme | null;
  port: number | null;
  peerId: string | null;
  key: string;
}

const PEER_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The persistent telescopic table. */
export class TelescopicStore implements TelescopicMapper {
  readonly seppDomain: string;
  readonly #db: Database;
  readonly #ownsDb: boolean;
  readonly #secret: Buffer;
  readonly #max: number;
  readonly #maxPerPeer: number;
  /** entries per peer id ("" = no peer), kept in step with the table */
  readonly #perPeer = new Map<string, number>();
  readonly #minIdle: number;
  readonly #touchInterval: number;
  readonly #now: () => number;
  readonly #codec: TelescopicLabelCodec | null;
  #count: number;
  readonly #q: {
    byLabel: ReturnType<Database["query"]>;
    byKey: ReturnType<Database["query"]>;
    insert: ReturnType<Database["query"]>;
    touch: ReturnType<Database["query"]>;
    oldest: ReturnType<Database["query"]>;
    oldestOfPeer: ReturnType<Database["query"]>;
    del: ReturnType<Database["query"]>;
  };

  constructor(pathOrDb: string | Database, opts: TelescopicStoreOptions) {
    const d = opts.seppDomain.toLowerCase().replace(/\.$/, "");
    if (!isDnsName(d) || !d.includes("."))
      throw new TelescopicError(`invalid SEPP domain "${opts.seppDomain}"`, 500, "INVALID_CONFIGURATION");
    if (d.length + 1 + (opts.labelKeys ? 62 : 26) > 253)
      throw new TelescopicError("SEPP domain too long for telescopic FQDNs", 500, "INVALID_CONFIGURATION");
    this.seppDomain = d;
    this.#max = opts.maxEntries ?? 50_000;
    this.#maxPerPeer = opts.maxEntriesPerPeer ?? Math.min(10_000, this.#max);
    if (!Number.isInteger(this.#max) || this.#max < 1 || !Number.isInteger(this.#maxPerPeer) || this.#maxPerPeer < 1)
      throw new TelescopicError("telescopic table bounds must be positive integers", 500, "INVALID_CONFIGURATION");
    this.#minIdle = opts.minIdleMs ?? 7 * 24 * 3600 * 1000;
    this.#touchInterval = opts.touchIntervalMs ?? 3600 * 1000;
    this.#now = opts.now ?? Date.now;
    this.#codec = opts.labelKeys ? new TelescopicLabelCodec(d, opts.labelKeys, this.#now) : null;
    if (typeof pathOrDb === "string") {
      this.#db = new Database(pathOrDb, { create: true, strict: true });
      this.#ownsDb = true;
    } else {
      this.#db = pathOrDb;
      this.#ownsDb = false;
    }
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = NORMAL");
    this.#db.exec("PRAGMA busy_timeout = 2000");
    this.#db.exec(`CREATE TABLE IF NOT EXISTS telescopic_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL)`);
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS telescopic_map (
         label TEXT PRIMARY KEY,
         origin_key TEXT NOT NULL UNIQUE,
         host TEXT NOT NULL,
         scheme TEXT,
         port INTEGER,
         created_at INTEGER NOT NULL,
         last_used INTEGER NOT NULL
       )`,
    );
    // peer_id came later: a table from an earlier version gets the column (its rows keep NULL: no peer known)
    const cols = this.#db.query<{ name: string }, []>(`PRAGMA table_info(telescopic_map)`).all();
    if (!cols.some((c) => c.name === "peer_id")) this.#db.exec(`ALTER TABLE telescopic_map ADD COLUMN peer_id TEXT`);
    this.#db.exec(`CREATE INDEX IF NOT EXISTS telescopic_map_last_used ON telescopic_map(last_used)`);
    this.#db.exec(`CREATE INDEX IF NOT EXISTS telescopic_map_peer_last_used ON telescopic_map(peer_id, last_used)`);
    const sec = this.#db.query<{ v: Uint8Array }, []>(`SELECT v FROM telescopic_meta WHERE k = 'secret'`).get();
    if (sec) this.#secret = Buffer.from(sec.v);
    else {
      this.#secret = randomBytes(32);
      this.#db.query(`INSERT INTO telescopic_meta (k, v) VALUES ('secret', ?)`).run(this.#secret);
    }
    this.#count = 0;
    this.#recount();
    opts.metrics?.gauge("sepp_telescopic_entries", "Entries in the telescopic FQDN table").set({}, () => this.#count);
    this.#q = {
      byLabel: this.#db.query(
        `SELECT label, host, scheme, port, peer_id, last_used FROM telescopic_map WHERE label = ?`,
      ),
      byKey: this.#db.query(
        `SELECT label, host, scheme, port, peer_id, last_used FROM telescopic_map WHERE origin_key = ?`,
      ),
      insert: this.#db.query(
        `INSERT INTO telescopic_map (label, origin_key, host, scheme, port, peer_id, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      touch: this.#db.query(`UPDATE telescopic_map SET last_used = ? WHERE label = ?`),
      oldest: this.#db.query(`SELECT label, peer_id, last_used FROM telescopic_map ORDER BY last_used ASC LIMIT 1`),
      oldestOfPeer: this.#db.query(
        `SELECT label, peer_id, last_used FROM telescopic_map WHERE peer_id IS ? ORDER BY last_used ASC LIMIT 1`,
      ),
      del: this.#db.query(`DELETE FROM telescopic_map WHERE label = ?`),
    };
  }

  get size(): number {
    return this.#count;
  }

  /** Entries made on behalf of `peerId` (null: those without a peer). */
  sizeOf(peerId: string | null): number {
    return this.#perPeer.get(peerId ?? "") ?? 0;
  }

  #adjust(peerId: string | null, d: number): void {
    const k = peerId ?? "";
    const n = (this.#perPeer.get(k) ?? 0) + d;
    if (n > 0) this.#perPeer.set(k, n);
    else this.#perPeer.delete(k);
    this.#count += d;
  }

  /** `<label>.<seppDomain>` */
  telescopicFqdn(label: string): string {
    return `${label}.${this.seppDomain}`;
  }

  #origin(foreignHost: string, origin?: ForeignOrigin): Origin {
    let h: ReturnType<typeof parseHost>;
    try {
      h = parseHost(foreignHost.includes(":") && !foreignHost.startsWith("[") ? `[${foreignHost}]` : foreignHost);
    } catch (e) {
      throw new TelescopicError(`invalid foreign host: ${(e as Error).message}`);
    }
    if (h.kind === "dns" && (h.host === this.seppDomain || h.host.endsWith(`.${this.seppDomain}`)))
      throw new TelescopicError("a host under the own SEPP domain cannot be mapped (it would loop)");
    const scheme = origin?.scheme ?? null;
    if (scheme !== null && scheme !== "http" && scheme !== "https") throw new TelescopicError("invalid scheme");
    let port = origin?.port ?? null;
    if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535))
      throw new TelescopicError("invalid port");
    if (port !== null && scheme !== null && port === defaultPort(scheme)) port = null;
    const peerId = origin?.peerId ?? null;
    if (peerId !== null && !PEER_ID_RE.test(peerId))
      throw new TelescopicError("invalid peer id", 500, "SYSTEM_FAILURE");
    // FQDN origins keep the key (and so the label) they always had; an IP literal is only meaningful with its peer
    const key = `${scheme ?? ""}|${h.host}|${port ?? ""}${h.kind !== "dns" && peerId !== null ? `|${peerId}` : ""}`;
    return { host: h.host, kind: h.kind, scheme, port, peerId, key };
  }

  /** The stateless label of an origin, or null when it needs the table (see the head of this file). */
  #stateless(o: Origin): string | null {
    if (!this.#codec || o.kind !== "dns" || (o.peerId !== null && plmnOfHost(o.host) === null)) return null;
    return this.#codec.encode({ host: o.host, scheme: o.scheme, port: o.port });
  }

  /** The label of a foreign origin if it is mapped already (no insert); a stateless label always is. */
  lookup(foreignHost: string, origin?: ForeignOrigin): string | null {
    const o = this.#origin(foreignHost, origin);
    const sl = this.#stateless(o);
    if (sl) return sl;
    const row = this.#q.byKey.get(o.key) as Row | null;
    if (!row) return null;
    this.#touch(row);
    return row.label;
  }

  /** The label for a foreign host (and scheme/port): the existing one, or a new mapping. Throws TelescopicError. */
  labelFor(foreignHost: string, origin?: ForeignOrigin): string {
    const o = this.#origin(foreignHost, origin);
    const sl = this.#stateless(o);
    if (sl) return sl;
    const existing = this.#q.byKey.get(o.key) as Row | null;
    if (existing) {
      this.#touch(existing);
      return existing.label;
    }
    const mac = base32(createHmac("sha256", this.#secret).update(o.key).digest());
    const now = this.#now();
    type Old = { label: string; peer_id: string | null; last_used: number } | null;
    const insert = this.#db.transaction(() => {
      // a peer at its quota makes room among its own idle entries only; otherwise, a full table evicts the
      // least recently used idle entry of anyone
      const atQuota = this.sizeOf(o.peerId) >= this.#maxPerPeer;
      if (atQuota || this.#count >= this.#max) {
        const old = (atQuota ? this.#q.oldestOfPeer.get(o.peerId) : this.#q.oldest.get()) as Old;
        if (!old || now - old.last_used < this.#minIdle)
          throw new TelescopicError(
            atQuota ? "telescopic table quota of this peer exhausted" : "telescopic table full",
            503,
            "INSUFFICIENT_RESOURCES",
          );
        this.#q.del.run(old.label);
        this.#adjust(old.peer_id, -1);
      }
      // 25 base32 characters = 125 bits; on the (improbable) collision with another origin, lengthen.
      for (let n = 25; n <= 51; n++) {
        const label = `t${mac.slice(0, n)}`;
        const clash = this.#q.byLabel.get(label) as Row | null;
        if (clash) continue;
        this.#q.insert.run(label, o.key, o.host, o.scheme, o.port, o.peerId, now, now);
        this.#adjust(o.peerId, +1);
        return label;
      }
      throw new TelescopicError("no free telescopic label", 500, "SYSTEM_FAILURE");
    });
    try {
      return insert() as string;
    } catch (e) {
      this.#recount(); // the transaction was rolled back: an eviction counted above did not happen
      // a full data partition: no new mapping now (the labels issued before still resolve, see #touch)
      if (storageFull(e))
        throw new TelescopicError(
          "telescopic table cannot take a new label: the data partition is full",
          503,
          "INSUFFICIENT_RESOURCES",
        );
      throw e;
    }
  }

  #recount(): void {
    this.#perPeer.clear();
    this.#count = 0;
    for (const r of this.#db
      .query<{ p: string | null; n: number }, []>(
        `SELECT peer_id AS p, COUNT(*) AS n FROM telescopic_map GROUP BY peer_id`,
      )
      .all()) {
      this.#perPeer.set(r.p ?? "", r.n);
      this.#count += r.n;
    }
  }

  #touch(row: Row): void {
    const now = this.#now();
    if (now - row.last_used < this.#touchInterval) return;
    try {
      this.#q.touch.run(now, row.label);
    } catch (e) {
      // only the eviction order: a full data partition must not stop a known label from resolving
      if (!storageFull(e)) throw e;
    }
  }

  /** The foreign origin of a label, or null when unknown (or not a DNS label). */
  resolve(label: string): TelescopicEntry | null {
    const l = label.toLowerCase();
    if (!isDnsLabel(l)) return null;
    if (isStatelessLabelForm(l)) {
      const o = this.#codec?.decode(l);
      return o ? { label: l, foreignHost: o.host, scheme: o.scheme, port: o.port, peerId: null } : null;
    }
    const row = this.#q.byLabel.get(l) as Row | null;
    if (!row) return null;
    this.#touch(row);
    return {
      label: row.label,
      foreignHost: row.host,
      scheme: row.scheme as SbiScheme | null,
      port: row.port,
      peerId: row.peer_id ?? null,
    };
  }

  close(): void {
    if (this.#ownsDb) this.#db.close();
  }
}
