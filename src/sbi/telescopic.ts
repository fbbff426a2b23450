// src/sbi/telescopic.ts — telescopic FQDNs (TS 33.501 13.1.1.1, TS 29.573 Nsepp_Telescopic_FQDN_Mapping,
// N32-PROFILE P8; digest §3.9).
//
// A telescopic FQDN is `<label>.<own SEPP domain>`: one opaque DNS label (≤ 63 characters) that this SEPP
// maps to a foreign host in its own persistent table. The label is `t` + 25 base32 characters of
// HMAC-SHA-256(table secret, foreign origin): stable per foreign origin (also after an eviction), and it
// reveals nothing of the foreign FQDN (topology hiding). The table secret is random per installation and
// lives only in the table's database. A mapping remembers the foreign scheme and port as well as the host
// (the "origin"), because the rewritten URI carries the scheme and port of our own SBI side instead.
//
// This module holds:
// - TelescopicStore: the table in bun:sqlite (WAL), bounded (least recently used entries idle for longer
//   than `minIdleMs` are evicted when full; if none is, a new mapping is refused), with a quota per peer so
//   that one peer cannot take the table from the others (docs/DATAPATH.md "Telescopic table quota");
// - telescopicApp(): the Nsepp_Telescopic_FQDN_Mapping service as a hono sub-app;
// - pure rewriting of parsed JSON bodies, over a TelescopicMapper: Nnrf_NFDiscovery results (cSEPP),
//   callback URIs of subscriptions and the V-SMF URI of Nsmf_PDUSession create (pSEPP).
import { Database } from "bun:sqlite";
import { isIP } from "node:net";
import { createHmac, randomBytes } from "node:crypto";
import { Hono } from "hono";
import * as v from "valibot";
import { Fqdn } from "../config/schema.ts";
import type { Registry } from "../metrics.ts";
import type { PlmnId } from "../model/n32.ts";
import { SeppError } from "../errors.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import {
  formatAuthority,
  isDnsLabel,
  isDnsName,
  parseAuthority,
  parseHost,
  plmnOfHost,
  type TargetError,
  type SbiScheme,
  type TelescopicTarget,
} from "./target.ts";

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

const defaultPort = (s: SbiScheme) => (s === "https" ? 443 : 80);

interface Row {
  label: string;
  host: string;
  scheme: string | null;
  port: number | null;
  peer_id: string | null;
  last_used: number;
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
    if (d.length + 1 + 26 > 253)
      throw new TelescopicError("SEPP domain too long for telescopic FQDNs", 500, "INVALID_CONFIGURATION");
    this.seppDomain = d;
    this.#max = opts.maxEntries ?? 50_000;
    this.#maxPerPeer = opts.maxEntriesPerPeer ?? Math.min(10_000, this.#max);
    if (!Number.isInteger(this.#max) || this.#max < 1 || !Number.isInteger(this.#maxPerPeer) || this.#maxPerPeer < 1)
      throw new TelescopicError("telescopic table bounds must be positive integers", 500, "INVALID_CONFIGURATION");
    this.#minIdle = opts.minIdleMs ?? 7 * 24 * 3600 * 1000;
    this.#touchInterval = opts.touchIntervalMs ?? 3600 * 1000;
    this.#now = opts.now ?? Date.now;
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

  #origin(
    foreignHost: string,
    origin?: ForeignOrigin,
  ): { host: string; kind: string; scheme: SbiScheme | null; port: number | null; peerId: string | null; key: string } {
    let h;
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

  /** The label of a foreign origin if it is mapped already (no insert). */
  lookup(foreignHost: string, origin?: ForeignOrigin): string | null {
    const o = this.#origin(foreignHost, origin);
    const row = this.#q.byKey.get(o.key) as Row | null;
    if (!row) return null;
    this.#touch(row);
    return row.label;
  }

  /** The label for a foreign host (and scheme/port): the existing one, or a new mapping. Throws TelescopicError. */
  labelFor(foreignHost: string, origin?: ForeignOrigin): string {
    const o = this.#origin(foreignHost, origin);
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
    if (now - row.last_used >= this.#touchInterval) this.#q.touch.run(now, row.label);
  }

  /** The foreign origin of a label, or null when unknown (or not a DNS label). */
  resolve(label: string): TelescopicEntry | null {
    const l = label.toLowerCase();
    if (!isDnsLabel(l)) return null;
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

// ---------------------------------------------------------------- Nsepp_Telescopic_FQDN_Mapping

export interface TelescopicMapping {
  telescopicLabel: string;
  seppDomain: string;
  foreignFqdn: string;
}

export interface TelescopicAppOptions {
  /** Whether an NF may obtain a mapping for this foreign FQDN (e.g. it belongs to a configured peer's PLMN). Default: it names a PLMN (mncXXX.mccYYY.3gppnetwork.org). */
  allowForeign?: (fqdn: string, plmn: PlmnId | null) => boolean;
}

const json = (body: unknown, status: number, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
const problemJson = (status: number, cause: string, detail: string, param?: string) =>
  json(problem(status, cause, detail, param ? [{ param, reason: detail }] : undefined), status, PROBLEM_JSON);

/**
 * `GET /nsepp-telescopic/v1/mapping?foreign-fqdn=…` or `?telescopic-label=…` (TS 29.573, TS29573_SeppTelescopicFqdnMapping.yaml)
 * → 200 TelescopicMapping, or ProblemDetails: 400 (none, both, repeated or invalid parameter), 403 (foreign FQDN not
 * allowed), 404 (unknown label), 503 (table full). Mount it on the SBI-side app.
 */
export function telescopicApp(store: TelescopicStore, opts: TelescopicAppOptions = {}): Hono {
  const allow = opts.allowForeign ?? ((_f: string, plmn: PlmnId | null) => plmn !== null);
  const app = new Hono();
  app.get("/nsepp-telescopic/v1/mapping", (c) => {
    const all = c.req.queries();
    const ff = all["foreign-fqdn"] ?? [];
    const tl = all["telescopic-label"] ?? [];
    if (ff.length > 1) return problemJson(400, "MANDATORY_IE_INCORRECT", "foreign-fqdn repeated", "foreign-fqdn");
    if (tl.length > 1)
      return problemJson(400, "MANDATORY_IE_INCORRECT", "telescopic-label repeated", "telescopic-label");
    if (ff.length === 1 && tl.length === 1)
      return problemJson(
        400,
        "MANDATORY_IE_INCORRECT",
        "give either foreign-fqdn or telescopic-label, not both",
        "foreign-fqdn",
      );
    if (tl.length === 1) {
      const label = tl[0]!;
      if (!isDnsLabel(label))
        return problemJson(400, "MANDATORY_IE_INCORRECT", "telescopic-label is not a DNS label", "telescopic-label");
      const e = store.resolve(label);
      if (!e || !v.is(Fqdn, e.foreignHost)) return problemJson(404, "RESOURCE_NOT_FOUND", "unknown telescopic label");
      return json(
        {
          telescopicLabel: e.label,
          seppDomain: store.seppDomain,
          foreignFqdn: e.foreignHost,
        } satisfies TelescopicMapping,
        200,
      );
    }
    if (ff.length === 1) {
      const f = ff[0]!.toLowerCase().replace(/\.$/, "");
      if (!v.is(Fqdn, f))
        // TS 29.571 Fqdn
        return problemJson(400, "MANDATORY_IE_INCORRECT", "foreign-fqdn is not an FQDN", "foreign-fqdn");
      if (f === store.seppDomain || f.endsWith(`.${store.seppDomain}`))
        return problemJson(
          400,
          "MANDATORY_IE_INCORRECT",
          "foreign-fqdn is under this SEPP's own domain",
          "foreign-fqdn",
        );
      if (!allow(f, plmnOfHost(f)))
        return problemJson(403, "TARGET_NOT_ALLOWED", "foreign-fqdn is not in a partner network");
      try {
        const label = store.labelFor(f);
        return json(
          { telescopicLabel: label, seppDomain: store.seppDomain, foreignFqdn: f } satisfies TelescopicMapping,
          200,
        );
      } catch (e) {
        if (e instanceof TelescopicError) return json(e.toProblem(), e.status, PROBLEM_JSON);
        throw e;
      }
    }
    return problemJson(400, "MANDATORY_IE_MISSING", "foreign-fqdn or telescopic-label is required", "foreign-fqdn");
  });
  // other methods and paths: ProblemDetails too (hono's defaults answer text/plain)
  app.all("/nsepp-telescopic/v1/mapping", () => {
    const r = problemJson(405, "METHOD_NOT_ALLOWED", "the mapping resource takes GET");
    r.headers.set("allow", "GET");
    return r;
  });
  app.notFound(() => problemJson(404, "RESOURCE_NOT_FOUND", "no such Nsepp_Telescopic_FQDN_Mapping resource"));
  return app;
}

// ---------------------------------------------------------------- pure rewriting

/** How our own NFs reach this SEPP's SBI side: the scheme and port put into rewritten URIs. */
export interface SbiEndpoint {
  scheme: SbiScheme;
  /** absent: the scheme's default port */
  port?: number;
}

export interface RewriteOptions {
  /** Refuse foreign hosts outside the sending peer's networks (redirection to a third PLMN). Default: all allowed. */
  hostFilter?: (host: string, plmn: PlmnId | null) => boolean;
  /** The peer the URIs came from, stored with new labels (ForeignOrigin.peerId) */
  peerId?: string;
}

const plmnEq = (a: PlmnId, b: PlmnId) => a.mcc === b.mcc && a.mnc.padStart(3, "0") === b.mnc.padStart(3, "0");

/**
 * Which foreign URIs from a peer may become telescopic FQDNs, and the peer stored with their labels (the
 * pSEPP for callback URIs in a peer's requests, the cSEPP for URIs in a peer's responses): an FQDN must name one
 * of the peer's PLMNs (no redirection to a third PLMN or to a name outside the 3GPP domain); an IP literal
 * (open5gs-style NFs put their address in URIs) names no PLMN, so its label is bound to the peer it came from
 * and traffic to it goes only to that peer, whose own egress allow-list decides.
 */
export function peerUriFilter(peer: { id: string; plmnIds: readonly PlmnId[] }): Required<RewriteOptions> {
  return {
    hostFilter: (host, plmn) => (plmn ? peer.plmnIds.some((p) => plmnEq(p, plmn)) : isIP(host) !== 0),
    peerId: peer.id,
  };
}

const sbiPortSuffix = (sbi: SbiEndpoint) =>
  sbi.port === undefined || sbi.port === defaultPort(sbi.scheme) ? "" : `:${sbi.port}`;

function isOwn(host: string, m: TelescopicMapper): boolean {
  return host === m.seppDomain || host.endsWith(`.${m.seppDomain}`);
}

function checkHost(host: string, opts: RewriteOptions): void {
  if (opts.hostFilter && !opts.hostFilter(host, plmnOfHost(host)))
    throw new TelescopicError(`foreign host not allowed for this peer`, 403, "TARGET_NOT_ALLOWED");
}

/** The telescopic FQDN for a foreign FQDN (unchanged when it already is under our own domain). */
export function telescopicHost(
  m: TelescopicMapper,
  foreignHost: string,
  origin?: ForeignOrigin,
  opts: RewriteOptions = {},
): string {
  const h = foreignHost.toLowerCase().replace(/\.$/, "");
  if (isOwn(h, m)) return h;
  checkHost(h, opts);
  return `${m.labelFor(h, opts.peerId !== undefined ? { ...origin, peerId: opts.peerId } : origin)}.${m.seppDomain}`;
}

const URI_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/;

/**
 * Rewrite an absolute http(s) URI to its telescopic form: `https://nf.foreign:8443/cb/1?x` →
 * `<sbi.scheme>://<label>.<seppDomain>[:<sbi.port>]/cb/1?x`, the label mapping (https, nf.foreign, 8443).
 * A URI already under our own domain is returned unchanged. Throws TelescopicError on an invalid URI.
 */
export function rewriteUri(uri: string, m: TelescopicMapper, sbi: SbiEndpoint, opts: RewriteOptions = {}): string {
  if (typeof uri !== "string") throw new TelescopicError("URI is not a string");
  if (uri.length > 4096) throw new TelescopicError("URI too long");
  if (/[\x00-\x20\x7f]/.test(uri)) throw new TelescopicError("URI contains whitespace or control characters");
  const mm = URI_RE.exec(uri);
  if (!mm)
    throw new TelescopicError(uri.includes("#") ? "URI must not carry a fragment" : "not an absolute http(s) URI");
  const scheme = mm[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https") throw new TelescopicError(`URI scheme ${scheme} not supported`);
  let a;
  try {
    a = parseAuthority(mm[2]!);
  } catch (e) {
    throw new TelescopicError(`invalid URI authority: ${(e as TargetError).message}`);
  }
  const rest = mm[3]!;
  if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/.test(rest))
    throw new TelescopicError("invalid character in URI path or query");
  if (a.kind === "dns" && isOwn(a.host, m)) return uri;
  checkHost(a.host, opts);
  const label = m.labelFor(a.host, {
    scheme,
    port: a.port,
    ...(opts.peerId !== undefined ? { peerId: opts.peerId } : {}),
  });
  return `${sbi.scheme}://${formatAuthority("dns", `${label}.${m.seppDomain}`, null)}${sbiPortSuffix(sbi)}${rest}`;
}

// JSON pointers with "*" matching every array element or object member.
function unescapePtr(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Apply `f` to every string found at `pointer` ("*" = any element/member) in `root` (mutated). Returns the count. */
function forEachAt(root: unknown, pointer: string, f: (v: string, where: string) => string): number {
  if (pointer === "" || !pointer.startsWith("/"))
    throw new TelescopicError(`bad pointer ${pointer}`, 500, "SYSTEM_FAILURE");
  const segs = pointer.slice(1).split("/").map(unescapePtr);
  let n = 0;
  const walk = (node: unknown, i: number, where: string) => {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const visit = (container: Record<string, unknown> | unknown[], key: string | number) => {
      const child = (container as Record<string, unknown>)[key as string];
      if (child === undefined) return;
      const w = `${where}/${key}`;
      if (last) {
        if (typeof child !== "string") throw new TelescopicError(`${w} is not a string`);
        (container as Record<string, unknown>)[key as string] = f(child, w);
        n++;
      } else walk(child, i + 1, w);
    };
    if (seg === "*") {
      if (Array.isArray(node)) node.forEach((_, k) => visit(node, k));
      else if (isObj(node)) for (const k of Object.keys(node)) visit(node, k);
    } else if (Array.isArray(node)) {
      if (/^(0|[1-9]\d*)$/.test(seg)) visit(node, Number(seg));
    } else if (isObj(node) && Object.hasOwn(node, seg)) visit(node, seg);
  };
  walk(root, 0, "");
  return n;
}

/** Rewrite the URI members at `pointers` of a parsed JSON body (a copy is returned; the input is not changed). */
export function rewriteUriMembers<T>(
  body: T,
  pointers: readonly string[],
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  const copy = structuredClone(body);
  let rewritten = 0;
  for (const p of pointers) rewritten += forEachAt(copy, p, (v) => rewriteUri(v, m, sbi, opts));
  return { body: copy, rewritten };
}

/** A request whose body carries URIs (callbacks, V-SMF URI) that the pSEPP rewrites to telescopic FQDNs. */
export interface UriRewriteRule {
  method: string;
  /** path template relative to the apiRoot; `{name}` matches one segment; matched against a suffix of the path */
  path: string;
  /** JSON pointers into the (JSON root part of the) body */
  pointers: string[];
}

/**
 * Requests from a peer whose body URIs the pSEPP rewrites (TS 33.501 13.1.1.1: callback URIs in
 * subscriptions; the V-SMF URI of Nsmf_PDUSession create). Built from the OpenAPI files in 3gpp/.
 */
export const CALLBACK_URI_RULES: readonly UriRewriteRule[] = [
  {
    method: "POST",
    path: "/nudm-sdm/v2/{ueId}/sdm-subscriptions",
    pointers: ["/callbackReference", "/dataRestorationCallbackUri"],
  },
  {
    method: "POST",
    path: "/nudm-sdm/v2/shared-data-subscriptions",
    pointers: ["/callbackReference", "/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
    pointers: ["/deregCallbackUri", "/pcscfRestorationCallbackUri", "/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/amf-non-3gpp-access",
    pointers: ["/deregCallbackUri", "/pcscfRestorationCallbackUri", "/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/smf-registrations/{pduSessionId}",
    pointers: [
      "/deregCallbackUri",
      "/pcscfRestorationCallbackUri",
      "/dataRestorationCallbackUri",
      "/staleCheckCallbackUri",
    ],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/smsf-3gpp-access",
    pointers: ["/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/smsf-non-3gpp-access",
    pointers: ["/dataRestorationCallbackUri"],
  },
  { method: "POST", path: "/nudm-ueau/v1/{supi}/auth-events", pointers: ["/dataRestorationCallbackUri"] },
  { method: "POST", path: "/nsmf-pdusession/v1/pdu-sessions", pointers: ["/vsmfPduSessionUri", "/ismfPduSessionUri"] },
  { method: "POST", path: "/namf-comm/v1/subscriptions", pointers: ["/amfStatusUri"] },
  { method: "PUT", path: "/namf-comm/v1/ue-contexts/{ueContextId}", pointers: ["/n2NotifyUri"] },
  {
    method: "POST",
    path: "/namf-comm/v1/ue-contexts/{ueContextId}/n1-n2-messages",
    pointers: ["/n1n2FailureTxfNotifURI"],
  },
  {
    method: "POST",
    path: "/namf-comm/v1/ue-contexts/{ueContextId}/n1-n2-messages/subscriptions",
    pointers: ["/n1NotifyCallbackUri", "/n2NotifyCallbackUri"],
  },
  { method: "POST", path: "/namf-comm/v1/non-ue-n2-messages/subscriptions", pointers: ["/n2NotifyCallbackUri"] },
  { method: "POST", path: "/nnrf-nfm/v1/subscriptions", pointers: ["/nfStatusNotificationUri"] },
];

/** The rule for a request, matching the template against a suffix of `path` at segment boundaries (N32-PROFILE P10). */
export function findUriRewriteRule(
  method: string,
  path: string,
  rules: readonly UriRewriteRule[] = CALLBACK_URI_RULES,
): UriRewriteRule | null {
  const p = path
    .split("?")[0]!
    .split("/")
    .filter((s, i) => i > 0 || s !== "");
  for (const r of rules) {
    if (r.method !== method.toUpperCase()) continue;
    const t = r.path.split("/").slice(1);
    if (t.length > p.length) continue;
    const tail = p.slice(p.length - t.length);
    if (t.every((seg, i) => (/^\{[^}]+\}$/.test(seg) ? tail[i] !== "" : seg === tail[i]))) return r;
  }
  return null;
}

/** pSEPP: rewrite the callback URIs (and V-SMF URI) of a request from a peer, when a rule names it. */
export function rewriteRequestUris<T>(
  method: string,
  path: string,
  body: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  const rule = findUriRewriteRule(method, path);
  if (!rule || body === null || typeof body !== "object") return { body, rewritten: 0 };
  return rewriteUriMembers(body, rule.pointers, m, sbi, opts);
}

/** pSEPP: the V-SMF URI of Nsmf_PDUSession create (PduSessionCreateData.vsmfPduSessionUri). */
export function rewriteVsmfPduSessionUri<T>(
  pduSessionCreateData: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  return rewriteUriMembers(pduSessionCreateData, ["/vsmfPduSessionUri", "/ismfPduSessionUri"], m, sbi, opts);
}

/**
 * A URI of a peer's response that our NF will use next (a `Location` header of 201 or 3xx): an absolute http(s)
 * URI becomes its telescopic form (rewriteUri); a relative reference (`/path…`) is left as it is, since the NF
 * resolves it against the (already telescopic or proxied) target it called. Throws TelescopicError.
 */
export function rewriteLocation(
  value: string,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): string {
  if (value.startsWith("/") && !value.startsWith("//")) {
    if (value.length > 4096 || /[\x00-\x20\x7f]/.test(value)) throw new TelescopicError("invalid relative Location");
    return value;
  }
  return rewriteUri(value, m, sbi, opts);
}

/**
 * The HAL links of a peer's response (`_links` at the root of a JSON body, TS 29.571 LinksValueSchema: a Link
 * `{href}` or an array of them; e.g. Nausf UEAuthenticationCtx `_links["5g-aka"]`, TS 29.509): every href
 * rewritten like a Location (a copy is returned). Other members of a link are kept.
 */
export function rewriteLinks<T>(
  body: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  if (!isObj(body) || body._links === undefined) return { body, rewritten: 0 };
  if (!isObj(body._links)) throw new TelescopicError("/_links is not an object");
  const copy = structuredClone(body) as Record<string, unknown> & { _links: Record<string, unknown> };
  let rewritten = 0;
  const link = (l: unknown, where: string) => {
    if (!isObj(l)) throw new TelescopicError(`${where} is not a Link`);
    if (l.href === undefined) return;
    if (typeof l.href !== "string") throw new TelescopicError(`${where}/href is not a string`);
    l.href = rewriteLocation(l.href, m, sbi, opts);
    rewritten++;
  };
  const names = Object.keys(copy._links);
  if (names.length > 256) throw new TelescopicError("/_links has too many relations");
  for (const rel of names) {
    const v = copy._links[rel];
    const where = `/_links/${rel.replace(/~/g, "~0").replace(/\//g, "~1")}`;
    if (Array.isArray(v)) {
      if (v.length > 1024) throw new TelescopicError(`${where} has too many links`);
      v.forEach((l, i) => link(l, `${where}/${i}`));
    } else link(v, where);
  }
  return { body: copy as T, rewritten };
}

export interface SearchResultRewrite<T> {
  body: T;
  /** FQDNs and URIs replaced */
  rewritten: number;
  /** NF profiles removed because they had no FQDN (an IP-only profile cannot be reached through the SEPP) */
  dropped: number;
}

/**
 * cSEPP: rewrite an Nnrf_NFDiscovery SearchResult (or StoredSearchResult) from a peer to telescopic FQDNs
 * (TS 33.501 13.1.1.1). Policy (docs/DATAPATH.md):
 * - NFProfile.fqdn / interPlmnFqdn → telescopic FQDNs; ipv4Addresses / ipv6Addresses removed;
 * - each NFService (nfServices[] and nfServiceList{}) gets an explicit `fqdn` (and `interPlmnFqdn` when it had
 *   one) whose label maps the service's own scheme, host (service FQDN, else the profile's) and port (first
 *   ipEndPoints port); then `scheme` becomes our SBI scheme and `ipEndPoints` becomes `[{port: sbi.port}]`
 *   (or is removed), so no foreign address or port reaches our NFs; `apiPrefix` (a path) is kept;
 * - defaultNotificationSubscriptions[].callbackUri and nfInstanceList{}.nrfDiscApiUri are rewritten as URIs;
 * - a profile with no FQDN at all is dropped.
 * The input is not changed.
 */
export function rewriteSearchResult<T>(
  result: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): SearchResultRewrite<T> {
  if (!isObj(result)) throw new TelescopicError("SearchResult is not an object");
  const copy = structuredClone(result) as Record<string, unknown>;
  let rewritten = 0;
  let dropped = 0;
  const fqdnOf = (x: unknown, what: string): string | undefined => {
    if (x === undefined) return undefined;
    if (typeof x !== "string" || !isDnsName(x)) throw new TelescopicError(`${what} is not an FQDN`);
    return x.toLowerCase().replace(/\.$/, "");
  };
  const tele = (host: string, origin?: ForeignOrigin) => {
    rewritten++;
    return telescopicHost(m, host, origin, opts);
  };
  const rewriteUriMembers0 = (node: unknown, pointers: string[]) => {
    let n = 0;
    for (const p of pointers) n += forEachAt(node, p, (v) => rewriteUri(v, m, sbi, opts));
    return n;
  };
  const rewriteService = (
    svc: unknown,
    profileHost: string | undefined,
    profileInterHost: string | undefined,
    where: string,
  ) => {
    if (!isObj(svc)) throw new TelescopicError(`${where} is not an object`);
    const sf = fqdnOf(svc.fqdn, `${where}/fqdn`);
    const si = fqdnOf(svc.interPlmnFqdn, `${where}/interPlmnFqdn`);
    const scheme = svc.scheme === "http" || svc.scheme === "https" ? svc.scheme : null;
    if (svc.scheme !== undefined && scheme === null) throw new TelescopicError(`${where}/scheme is not http or https`);
    let port: number | null = null;
    if (svc.ipEndPoints !== undefined) {
      if (!Array.isArray(svc.ipEndPoints)) throw new TelescopicError(`${where}/ipEndPoints is not an array`);
      for (const ep of svc.ipEndPoints) {
        if (isObj(ep) && ep.port !== undefined) {
          if (typeof ep.port !== "number" || !Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535)
            throw new TelescopicError(`${where}/ipEndPoints port invalid`);
          port = ep.port;
          break;
        }
      }
    }
    const origin: ForeignOrigin = { scheme, port };
    const host = sf ?? profileHost ?? si ?? profileInterHost;
    if (host === undefined) return false;
    svc.fqdn = tele(host, origin);
    if (si !== undefined || (sf === undefined && profileInterHost !== undefined))
      svc.interPlmnFqdn = tele(si ?? profileInterHost!, origin);
    svc.scheme = sbi.scheme;
    if (sbi.port !== undefined) svc.ipEndPoints = [{ port: sbi.port }];
    else delete svc.ipEndPoints;
    rewritten += rewriteUriMembers0(svc, ["/defaultNotificationSubscriptions/*/callbackUri"]);
    return true;
  };
  const rewriteProfile = (p: unknown, where: string): boolean => {
    if (!isObj(p)) throw new TelescopicError(`${where} is not an object`);
    const f = fqdnOf(p.fqdn, `${where}/fqdn`);
    const fi = fqdnOf(p.interPlmnFqdn, `${where}/interPlmnFqdn`);
    delete p.ipv4Addresses;
    delete p.ipv6Addresses;
    let anyHost = f !== undefined || fi !== undefined;
    if (f !== undefined) p.fqdn = tele(f);
    if (fi !== undefined) p.interPlmnFqdn = tele(fi);
    if (p.nfServices !== undefined) {
      if (!Array.isArray(p.nfServices)) throw new TelescopicError(`${where}/nfServices is not an array`);
      const kept = p.nfServices.filter((s, i) => rewriteService(s, f, fi, `${where}/nfServices/${i}`));
      if (kept.length) anyHost = true;
      p.nfServices = kept;
      if (kept.length === 0) delete p.nfServices;
    }
    if (p.nfServiceList !== undefined) {
      if (!isObj(p.nfServiceList)) throw new TelescopicError(`${where}/nfServiceList is not an object`);
      for (const [k, s] of Object.entries(p.nfServiceList)) {
        if (rewriteService(s, f, fi, `${where}/nfServiceList/${k}`)) anyHost = true;
        else delete p.nfServiceList[k];
      }
      if (Object.keys(p.nfServiceList).length === 0) delete p.nfServiceList;
    }
    rewritten += rewriteUriMembers0(p, ["/defaultNotificationSubscriptions/*/callbackUri"]);
    return anyHost;
  };
  for (const list of ["nfInstances", "completeNfInstances"]) {
    const v = copy[list];
    if (v === undefined) continue;
    if (!Array.isArray(v)) throw new TelescopicError(`/${list} is not an array`);
    const kept = v.filter((p, i) => {
      const ok = rewriteProfile(p, `/${list}/${i}`);
      if (!ok) dropped++;
      return ok;
    });
    copy[list] = kept;
    if (list === "completeNfInstances" && kept.length === 0) delete copy[list];
  }
  if (copy.nfInstanceList !== undefined) rewritten += rewriteUriMembers0(copy, ["/nfInstanceList/*/nrfDiscApiUri"]);
  return { body: copy as T, rewritten, dropped };
}
