// Telescopic FQDNs (src/sbi/telescopic-*.ts): the persistent table (real bun:sqlite file, restart), the
// Nsepp_Telescopic_FQDN_Mapping service over real HTTP on loopback, and the pure rewriting of NF
// discovery results, callback URIs and the V-SMF URI.
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import {
  CALLBACK_URI_RULES,
  findUriRewriteRule,
  peerUriFilter,
  rewriteLinks,
  rewriteLocation,
  rewriteRequestUris,
  rewriteUri,
  rewriteUriMembers,
  rewriteVsmfPduSessionUri,
} from "../../src/sbi/telescopic-rewrite.ts";
import { rewriteSearchResult } from "../../src/sbi/telescopic-discovery.ts";
import { telescopicApp } from "../../src/sbi/telescopic-service.ts";
import { TelescopicError, TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import { resolveTarget } from "../../src/sbi/target.ts";
import { Registry } from "../../src/metrics.ts";
import { freshDirs } from "../support/tmp-dirs.ts";
import { tmpfsPartitions } from "../support/tmpfs.ts";

const DOMAIN = "sepp.5gc.mnc001.mcc001.3gppnetwork.org";
const HOME_UDM = "udm1.5gc.mnc002.mcc262.3gppnetwork.org";
const freshDir = freshDirs("sepp-tele-");
const tmpDb = (): string => join(freshDir(), "telescopic.db");

function clock(start = 1_700_000_000_000) {
  let t = start;
  return Object.assign(() => t, {
    advance: (ms: number) => {
      t += ms;
    },
  });
}

describe("TelescopicStore", () => {
  let path: string;
  let store: TelescopicStore;
  beforeEach(() => {
    path = tmpDb();
    store = new TelescopicStore(path, { seppDomain: `${DOMAIN}.` });
  });
  afterEach(() => store.close());

  test("labels are opaque DNS labels, stable per foreign FQDN, distinct between FQDNs", () => {
    const a = store.labelFor(HOME_UDM);
    expect(a).toMatch(/^t[a-z2-7]{25}$/);
    expect(a).not.toContain("udm");
    expect(store.labelFor(`${HOME_UDM.toUpperCase()}.`)).toBe(a);
    const b = store.labelFor("udm2.5gc.mnc002.mcc262.3gppnetwork.org");
    expect(b).not.toBe(a);
    expect(store.size).toBe(2);
    expect(store.telescopicFqdn(a)).toBe(`${a}.${DOMAIN}`);
    expect(store.seppDomain).toBe(DOMAIN);
  });
  test("the origin includes scheme and port; https:443 is https with no port", () => {
    const plain = store.labelFor(HOME_UDM);
    const s = store.labelFor(HOME_UDM, { scheme: "https" });
    const s443 = store.labelFor(HOME_UDM, { scheme: "https", port: 443 });
    const s8443 = store.labelFor(HOME_UDM, { scheme: "https", port: 8443 });
    const h = store.labelFor(HOME_UDM, { scheme: "http" });
    expect(new Set([plain, s, s8443, h]).size).toBe(4);
    expect(s443).toBe(s);
    expect(store.resolve(s8443)).toEqual({
      label: s8443,
      foreignHost: HOME_UDM,
      scheme: "https",
      port: 8443,
      peerId: null,
    });
    expect(store.resolve(plain)).toEqual({
      label: plain,
      foreignHost: HOME_UDM,
      scheme: null,
      port: null,
      peerId: null,
    });
  });
  test("resolve: case-insensitive; unknown, malformed or hostile labels give null", () => {
    const a = store.labelFor(HOME_UDM);
    expect(store.resolve(a.toUpperCase())?.foreignHost).toBe(HOME_UDM);
    for (const l of ["tzzzz", "", "a.b", "' OR 1=1 --", "x".repeat(64), `${a}x`, "-a"])
      expect(store.resolve(l)).toBeNull();
    expect(store.lookup(HOME_UDM)).toBe(a);
    expect(store.lookup("nf.other.example.org")).toBeNull();
    expect(store.size).toBe(1);
  });
  test("IP-literal foreign hosts are mapped too (topology hiding); own-domain and invalid hosts are refused", () => {
    const l = store.labelFor("2001:db8::1", { scheme: "https", port: 8443 });
    expect(store.resolve(l)).toMatchObject({ foreignHost: "2001:db8::1" });
    expect(store.labelFor("[2001:DB8:0::1]", { scheme: "https", port: 8443 })).toBe(l);
    for (const bad of [`x.${DOMAIN}`, DOMAIN, "a b", "0x7f.1", "nf_1.example.org", "", "a".repeat(300)])
      expect(() => store.labelFor(bad)).toThrow(TelescopicError);
    expect(() => store.labelFor(HOME_UDM, { port: 0 })).toThrow(/port/);
    expect(() => store.labelFor(HOME_UDM, { scheme: "ftp" as "http" })).toThrow(/scheme/);
  });
  test("the sending peer is stored with a label; for an IP literal it is part of the origin, for an FQDN it is not", () => {
    const v1 = store.labelFor("10.1.2.3", { scheme: "http", port: 8080, peerId: "visited" });
    const v2 = store.labelFor("10.1.2.3", { scheme: "http", port: 8080, peerId: "other" });
    const none = store.labelFor("10.1.2.3", { scheme: "http", port: 8080 });
    // private address ranges of two partners overlap: the same address from two peers is two mappings
    expect(new Set([v1, v2, none]).size).toBe(3);
    expect(store.resolve(v1)).toEqual({
      label: v1,
      foreignHost: "10.1.2.3",
      scheme: "http",
      port: 8080,
      peerId: "visited",
    });
    expect(store.resolve(v2)?.peerId).toBe("other");
    expect(store.resolve(none)?.peerId).toBeNull();
    expect(store.labelFor("10.1.2.3", { scheme: "http", port: 8080, peerId: "visited" })).toBe(v1);
    expect(store.lookup("10.1.2.3", { scheme: "http", port: 8080, peerId: "other" })).toBe(v2);
    // an FQDN keeps the label it always had (routing by its PLMN); the first peer seen is recorded
    const f = store.labelFor(HOME_UDM, { scheme: "https", peerId: "visited" });
    expect(store.labelFor(HOME_UDM, { scheme: "https" })).toBe(f);
    expect(store.labelFor(HOME_UDM, { scheme: "https", peerId: "other" })).toBe(f);
    expect(store.resolve(f)?.peerId).toBe("visited");
    expect(() => store.labelFor("10.1.2.3", { peerId: "Bad Peer" })).toThrow(TelescopicError);
  });
  test("a table from before peer_id existed is migrated in place: old labels still resolve, new ones carry the peer", () => {
    store.close();
    const old = tmpDb();
    const db = new Database(old, { create: true });
    db.exec(`CREATE TABLE telescopic_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL)`);
    db.exec(
      `CREATE TABLE telescopic_map (label TEXT PRIMARY KEY, origin_key TEXT NOT NULL UNIQUE, host TEXT NOT NULL, scheme TEXT, port INTEGER, created_at INTEGER NOT NULL, last_used INTEGER NOT NULL)`,
    );
    db.query(`INSERT INTO telescopic_meta (k, v) VALUES ('secret', ?)`).run(new Uint8Array(32).fill(7));
    db.query(
      `INSERT INTO telescopic_map VALUES ('toldlabel', 'http|${HOME_UDM}|8080', '${HOME_UDM}', 'http', 8080, 1, 1)`,
    ).run();
    db.close();
    store = new TelescopicStore(old, { seppDomain: DOMAIN });
    expect(store.size).toBe(1);
    expect(store.resolve("toldlabel")).toEqual({
      label: "toldlabel",
      foreignHost: HOME_UDM,
      scheme: "http",
      port: 8080,
      peerId: null,
    });
    expect(store.labelFor(HOME_UDM, { scheme: "http", port: 8080, peerId: "visited" })).toBe("toldlabel");
    const ip = store.labelFor("127.0.0.1", { scheme: "http", port: 9, peerId: "visited" });
    expect(store.resolve(ip)?.peerId).toBe("visited");
    store.close();
    // and opening it again (column present now) changes nothing
    store = new TelescopicStore(old, { seppDomain: DOMAIN });
    expect(store.resolve(ip)?.peerId).toBe("visited");
    expect(store.size).toBe(2);
  });
  test("survives a restart: same labels, same mappings, WAL journal", () => {
    const a = store.labelFor(HOME_UDM);
    const b = store.labelFor("smf.5gc.mnc002.mcc262.3gppnetwork.org", { scheme: "http", port: 8080 });
    store.close();
    store = new TelescopicStore(path, { seppDomain: DOMAIN });
    expect(store.size).toBe(2);
    expect(store.resolve(a)?.foreignHost).toBe(HOME_UDM);
    expect(store.resolve(b)).toMatchObject({ scheme: "http", port: 8080 });
    expect(store.labelFor(HOME_UDM)).toBe(a);
    const db = new Database(path, { readonly: true });
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    db.close();
  });
  test("another installation (another table secret) gives other labels", () => {
    const other = new TelescopicStore(tmpDb(), { seppDomain: DOMAIN });
    expect(other.labelFor(HOME_UDM)).not.toBe(store.labelFor(HOME_UDM));
    other.close();
  });
  test("bounded: evicts the least recently used entry idle long enough, else refuses (503)", () => {
    const c = clock();
    const s = new TelescopicStore(tmpDb(), {
      seppDomain: DOMAIN,
      maxEntries: 3,
      minIdleMs: 60_000,
      touchIntervalMs: 0,
      now: c,
    });
    const l1 = s.labelFor("a.example.org");
    c.advance(1);
    const l2 = s.labelFor("b.example.org");
    c.advance(1);
    const l3 = s.labelFor("c.example.org");
    let e: unknown;
    try {
      s.labelFor("d.example.org");
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TelescopicError);
    expect((e as TelescopicError).status).toBe(503);
    expect(s.size).toBe(3);
    c.advance(120_000);
    expect(s.resolve(l1)).not.toBeNull(); // l1 used now: l2 is the least recently used
    const l4 = s.labelFor("d.example.org");
    expect(s.size).toBe(3);
    expect(s.resolve(l2)).toBeNull();
    expect(s.resolve(l1)).not.toBeNull();
    expect(s.resolve(l3)).not.toBeNull();
    expect(s.resolve(l4)?.foreignHost).toBe("d.example.org");
    // an evicted FQDN comes back under the same label (HMAC-derived)
    c.advance(120_000);
    s.resolve(l1);
    s.resolve(l4);
    expect(s.labelFor("b.example.org")).toBe(l2);
    expect(s.resolve(l3)).toBeNull();
    s.close();
  });
  describe('per-peer quota (docs/DATAPATH.md "Telescopic table quota")', () => {
    const refusal = (f: () => unknown): TelescopicError => {
      try {
        f();
      } catch (e) {
        if (e instanceof TelescopicError) return e;
        throw e;
      }
      throw new Error("expected a TelescopicError");
    };
    const host = (p: string, i: number) => `h${i}.${p}.mnc002.mcc262.3gppnetwork.org`;

    test("peer A filling its quota cannot take B's entries (not even idle ones); B still gets mappings", () => {
      const c = clock();
      const s = new TelescopicStore(tmpDb(), {
        seppDomain: DOMAIN,
        maxEntries: 6,
        maxEntriesPerPeer: 3,
        minIdleMs: 60_000,
        touchIntervalMs: 0,
        now: c,
      });
      const b1 = s.labelFor(host("b", 1), { peerId: "peer-b" });
      c.advance(120_000); // B's entry is idle and the least recently used of the table
      const a = [1, 2, 3].map((i) => s.labelFor(host("a", i), { peerId: "peer-a" }));
      expect(s.sizeOf("peer-a")).toBe(3);
      const e = refusal(() => s.labelFor(host("a", 4), { peerId: "peer-a" }));
      expect(e.status).toBe(503);
      expect(e.problemCause).toBe("INSUFFICIENT_RESOURCES");
      expect(e.message).toContain("quota");
      // nothing was evicted: A's busy entries, B's idle one
      expect(s.resolve(b1)?.peerId).toBe("peer-b");
      for (const l of a) expect(s.resolve(l)).not.toBeNull();
      // B (under its quota, table not full) still gets mappings, and so do entries without a peer
      const b2 = s.labelFor(host("b", 2), { peerId: "peer-b" });
      expect(s.resolve(b2)?.peerId).toBe("peer-b");
      expect(s.labelFor(host("own", 1))).toMatch(/^t[a-z2-7]{25}$/);
      expect(s.size).toBe(6);
      expect(s.sizeOf("peer-b")).toBe(2);
      expect(s.sizeOf(null)).toBe(1);
      // an existing mapping of A's is still answered at quota (no new entry needed)
      expect(s.labelFor(host("a", 1), { peerId: "peer-a" })).toBe(a[0]!);
      s.close();
    });

    test("a peer at its quota evicts its own least recently used idle entry, in LRU order", () => {
      const c = clock();
      const s = new TelescopicStore(tmpDb(), {
        seppDomain: DOMAIN,
        maxEntries: 100,
        maxEntriesPerPeer: 3,
        minIdleMs: 60_000,
        touchIntervalMs: 0,
        now: c,
      });
      const b1 = s.labelFor(host("b", 1), { peerId: "peer-b" }); // oldest in the whole table
      c.advance(1);
      const a1 = s.labelFor(host("a", 1), { peerId: "peer-a" });
      c.advance(1);
      const a2 = s.labelFor(host("a", 2), { peerId: "peer-a" });
      c.advance(1);
      const a3 = s.labelFor(host("a", 3), { peerId: "peer-a" });
      c.advance(120_000);
      s.resolve(a1); // a1 used: a2 is now A's least recently used
      const a4 = s.labelFor(host("a", 4), { peerId: "peer-a" });
      expect(s.resolve(a2)).toBeNull();
      expect(s.resolve(b1)?.peerId).toBe("peer-b"); // older than a2, but B's: untouched
      const a5 = s.labelFor(host("a", 5), { peerId: "peer-a" });
      expect(s.resolve(a3)).toBeNull(); // next in A's LRU order
      for (const l of [a1, a4, a5]) expect(s.resolve(l)?.peerId).toBe("peer-a");
      expect(s.sizeOf("peer-a")).toBe(3);
      expect(s.size).toBe(4);
      // all of A's entries are fresh now: refused
      expect(refusal(() => s.labelFor(host("a", 6), { peerId: "peer-a" })).status).toBe(503);
      s.close();
    });

    test("a full table: a peer under its quota evicts the overall least recently used idle entry", () => {
      const c = clock();
      const s = new TelescopicStore(tmpDb(), {
        seppDomain: DOMAIN,
        maxEntries: 3,
        maxEntriesPerPeer: 2,
        minIdleMs: 60_000,
        touchIntervalMs: 0,
        now: c,
      });
      const a1 = s.labelFor(host("a", 1), { peerId: "peer-a" });
      c.advance(1);
      const a2 = s.labelFor(host("a", 2), { peerId: "peer-a" });
      c.advance(1);
      const n1 = s.labelFor(host("own", 1));
      expect(refusal(() => s.labelFor(host("b", 1), { peerId: "peer-b" })).message).toContain("full");
      c.advance(120_000);
      s.resolve(a1);
      const b1 = s.labelFor(host("b", 1), { peerId: "peer-b" });
      expect(s.resolve(a2)).toBeNull();
      for (const l of [a1, n1, b1]) expect(s.resolve(l)).not.toBeNull();
      expect([s.sizeOf("peer-a"), s.sizeOf("peer-b"), s.sizeOf(null), s.size]).toEqual([1, 1, 1, 3]);
      s.close();
    });

    test("quota accounting survives a restart", () => {
      const c = clock();
      const p = tmpDb();
      const opts = { seppDomain: DOMAIN, maxEntries: 10, maxEntriesPerPeer: 2, minIdleMs: 60_000, now: c };
      let s = new TelescopicStore(p, opts);
      s.labelFor(host("a", 1), { peerId: "peer-a" });
      s.labelFor(host("a", 2), { peerId: "peer-a" });
      s.labelFor(host("b", 1), { peerId: "peer-b" });
      s.close();
      s = new TelescopicStore(p, opts);
      expect([s.sizeOf("peer-a"), s.sizeOf("peer-b"), s.size]).toEqual([2, 1, 3]);
      expect(refusal(() => s.labelFor(host("a", 3), { peerId: "peer-a" })).status).toBe(503);
      expect(s.labelFor(host("b", 2), { peerId: "peer-b" })).toMatch(/^t/);
      expect(s.sizeOf("peer-b")).toBe(2);
      s.close();
    });

    test("default quota is min(10 000, maxEntries); invalid bounds are a configuration error", () => {
      const s = new TelescopicStore(":memory:", { seppDomain: DOMAIN, maxEntries: 2, minIdleMs: 60_000 });
      s.labelFor(host("a", 1), { peerId: "peer-a" });
      s.labelFor(host("a", 2), { peerId: "peer-a" });
      expect(refusal(() => s.labelFor(host("a", 3), { peerId: "peer-a" })).status).toBe(503);
      s.close();
      expect(() => new TelescopicStore(":memory:", { seppDomain: DOMAIN, maxEntriesPerPeer: 0 })).toThrow(
        TelescopicError,
      );
      expect(() => new TelescopicStore(":memory:", { seppDomain: DOMAIN, maxEntries: 1.5 })).toThrow(TelescopicError);
    });
  });

  test("table size is exposed as a metric", () => {
    const reg = new Registry();
    const s = new TelescopicStore(":memory:", { seppDomain: DOMAIN, metrics: reg });
    s.labelFor("a.example.org");
    s.labelFor("b.example.org");
    s.labelFor("a.example.org");
    expect(reg.render()).toContain("sepp_telescopic_entries 2");
    s.close();
  });
  test("an invalid SEPP domain is a configuration error", () => {
    expect(() => new TelescopicStore(":memory:", { seppDomain: "sepp" })).toThrow(TelescopicError);
    expect(() => new TelescopicStore(":memory:", { seppDomain: "a b.example.org" })).toThrow(TelescopicError);
  });
});

// ---------------------------------------------------------------- the service over real HTTP

const yamlDir = join(import.meta.dir, "../../../shared/spec/3gpp");
function telescopicMappingValidator() {
  const api = parseYaml(readFileSync(join(yamlDir, "TS29573_SeppTelescopicFqdnMapping.yaml"), "utf8"));
  const common = parseYaml(readFileSync(join(yamlDir, "TS29571_CommonData.yaml"), "utf8"));
  const schema = JSON.parse(
    JSON.stringify(api.components.schemas.TelescopicMapping).replaceAll(
      '{"$ref":"TS29571_CommonData.yaml#/components/schemas/Fqdn"}',
      JSON.stringify(common.components.schemas.Fqdn),
    ),
  );
  return new Ajv({ strict: false }).compile(schema);
}

describe("Nsepp_Telescopic_FQDN_Mapping over HTTP", () => {
  const store = new TelescopicStore(tmpDb(), { seppDomain: DOMAIN, maxEntries: 4, minIdleMs: 3_600_000 });
  const app = telescopicApp(store, {
    allowForeign: (f, plmn) => plmn?.mcc === "262" || f.endsWith(".partner.example.org"),
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  const base = `http://127.0.0.1:${server.port}/nsepp-telescopic/v1/mapping`;
  const validate = telescopicMappingValidator();
  afterAll(() => {
    server.stop(true);
    store.close();
  });
  const get = async (q: string) => {
    const r = await fetch(`${base}${q}`, { signal: AbortSignal.timeout(5000) });
    return { status: r.status, type: r.headers.get("content-type"), body: (await r.json()) as Record<string, unknown> };
  };

  test("foreign-fqdn → TelescopicMapping (schema-valid), then telescopic-label → the same mapping", async () => {
    const r = await get(`?foreign-fqdn=${HOME_UDM}`);
    expect(r.status).toBe(200);
    expect(r.type).toContain("application/json");
    expect(validate(r.body)).toBe(true);
    expect(r.body).toEqual({ telescopicLabel: store.lookup(HOME_UDM)!, seppDomain: DOMAIN, foreignFqdn: HOME_UDM });
    const back = await get(`?telescopic-label=${r.body.telescopicLabel}`);
    expect(back).toMatchObject({ status: 200, body: r.body });
    expect(validate(back.body)).toBe(true);
    expect((await get(`?foreign-fqdn=${HOME_UDM.toUpperCase()}.`)).body.telescopicLabel).toBe(r.body.telescopicLabel);
  });
  test("errors are ProblemDetails", async () => {
    const cases: Array<[string, number, string]> = [
      ["", 400, "MANDATORY_IE_MISSING"],
      [`?foreign-fqdn=${HOME_UDM}&telescopic-label=tabc`, 400, "MANDATORY_IE_INCORRECT"],
      [`?foreign-fqdn=${HOME_UDM}&foreign-fqdn=${HOME_UDM}`, 400, "MANDATORY_IE_INCORRECT"],
      ["?telescopic-label=a&telescopic-label=b", 400, "MANDATORY_IE_INCORRECT"],
      ["?foreign-fqdn=10.0.0.1", 400, "MANDATORY_IE_INCORRECT"],
      ["?foreign-fqdn=localhost", 400, "MANDATORY_IE_INCORRECT"],
      ["?foreign-fqdn=a%20b.example.org", 400, "MANDATORY_IE_INCORRECT"],
      [`?foreign-fqdn=${"a".repeat(70)}.example.org`, 400, "MANDATORY_IE_INCORRECT"],
      [`?foreign-fqdn=x.${DOMAIN}`, 400, "MANDATORY_IE_INCORRECT"],
      ["?telescopic-label=a.b", 400, "MANDATORY_IE_INCORRECT"],
      ["?telescopic-label=tnotthere", 404, "RESOURCE_NOT_FOUND"],
      ["?foreign-fqdn=udm.5gc.mnc001.mcc999.3gppnetwork.org", 403, "TARGET_NOT_ALLOWED"],
      ["?foreign-fqdn=nf.example.org", 403, "TARGET_NOT_ALLOWED"],
    ];
    for (const [q, status, cause] of cases) {
      const r = await get(q);
      expect({ q, status: r.status, cause: r.body.cause }).toEqual({ q, status, cause });
      expect(r.type).toBe("application/problem+json");
    }
    expect(store.size).toBe(1); // none of them created a mapping
  });
  test("table full → 503 INSUFFICIENT_RESOURCES", async () => {
    for (const n of ["a", "b", "c"]) expect((await get(`?foreign-fqdn=${n}.partner.example.org`)).status).toBe(200);
    const r = await get("?foreign-fqdn=d.partner.example.org");
    expect(r.status).toBe(503);
    expect(r.body.cause).toBe("INSUFFICIENT_RESOURCES");
  });
});

// ---------------------------------------------------------------- pure rewriting

describe("rewriting", () => {
  let store: TelescopicStore;
  beforeEach(() => {
    store = new TelescopicStore(":memory:", { seppDomain: DOMAIN });
  });
  afterEach(() => store.close());
  const sbi = { scheme: "https" as const, port: 9443 };
  const ctx = () => ({ seppDomain: DOMAIN, resolveLabel: (l: string) => store.resolve(l) });

  test("rewriteUri keeps path and query, uses our SBI scheme/port, and round-trips through resolveTarget", () => {
    const uri = "http://amf1.5gc.mnc002.mcc262.3gppnetwork.org:8080/namf-callback/v1/imsi-1/dereg?x=1&y=%2F";
    const t = rewriteUri(uri, store, sbi);
    const m =
      /^https:\/\/(t[a-z2-7]{25})\.sepp\.5gc\.mnc001\.mcc001\.3gppnetwork\.org:9443(\/namf-callback\/v1\/imsi-1\/dereg\?x=1&y=%2F)$/.exec(
        t,
      );
    expect(m).not.toBeNull();
    const r = resolveTarget({ scheme: "https", authority: `${m![1]}.${DOMAIN}:9443` }, ctx());
    expect(`${r.scheme}://${r.authority}${m![2]}`).toBe(uri);
    expect(r.plmn).toEqual({ mcc: "262", mnc: "002" });
  });
  test("default SBI port is omitted; IPv6 hosts are mapped; own-domain URIs are unchanged", () => {
    expect(rewriteUri("https://nf.example.org/cb", store, { scheme: "https", port: 443 })).toMatch(
      new RegExp(`^https://t[a-z2-7]{25}\\.${DOMAIN.replaceAll(".", "\\.")}/cb$`),
    );
    const v6 = rewriteUri("https://[2001:db8::7]:8443", store, { scheme: "http" });
    expect(v6).toMatch(/^http:\/\/t[a-z2-7]{25}\./);
    const own = `https://tabc.${DOMAIN}/x`;
    expect(rewriteUri(own, store, sbi)).toBe(own);
  });
  test("invalid URIs are refused with a clear error and create no mapping", () => {
    for (const bad of [
      "/relative/path",
      "ftp://nf.example.org/x",
      "https://user@nf.example.org/x",
      "https://nf.example.org/x#frag",
      "https://nf.example.org/a b",
      "https://nf.example.org\r\n/x",
      "https://0x7f000001/x",
      "https://nf.example.org:99999/x",
      "https:///x",
      "https://nf.example.orgx\\y",
      "https://nf.example.org/caf\u00e9",
      "https://nf.example.org/a%zz",
      "https://nf.example.org/a<script>",
    ])
      expect(() => rewriteUri(bad, store, sbi)).toThrow(TelescopicError);
    expect(() => rewriteUri(42 as unknown as string, store, sbi)).toThrow(TelescopicError);
    expect(store.size).toBe(0);
  });
  test("hostFilter refuses hosts outside the sending peer's networks (403)", () => {
    const opts = { hostFilter: (_h: string, plmn: { mcc: string } | null) => plmn?.mcc === "262" };
    expect(() => rewriteUri("https://amf.5gc.mnc001.mcc999.3gppnetwork.org/cb", store, sbi, opts)).toThrow(
      TelescopicError,
    );
    try {
      rewriteUri("https://nf.example.org/cb", store, sbi, opts);
    } catch (e) {
      expect((e as TelescopicError).status).toBe(403);
    }
    expect(rewriteUri("https://amf.5gc.mnc002.mcc262.3gppnetwork.org/cb", store, sbi, opts)).toContain(DOMAIN);
    expect(store.size).toBe(1);
  });
  test("peerUriFilter: FQDNs only in the peer's PLMNs (no third PLMN, no name outside 3gppnetwork.org); IP literals bound to the peer", () => {
    const f = peerUriFilter({ id: "home", plmnIds: [{ mcc: "262", mnc: "02" }] });
    expect(f.peerId).toBe("home");
    const ok = (u: string) => rewriteUri(u, store, sbi, f);
    expect(ok("https://amf.5gc.mnc002.mcc262.3gppnetwork.org/cb")).toContain(DOMAIN);
    for (const bad of ["https://amf.5gc.mnc001.mcc999.3gppnetwork.org/cb", "https://amf.example.com/cb"])
      expect(() => ok(bad)).toThrow(TelescopicError);
    for (const ip of ["http://10.45.0.7:7777/cb", "http://[fd00::7]/cb"])
      expect(store.resolve(new URL(ok(ip)).hostname.split(".")[0]!)?.peerId).toBe("home");
  });
  test("rewriteLocation: absolute URIs become telescopic, relative references stay, anything else is refused", () => {
    const f = peerUriFilter({ id: "home", plmnIds: [{ mcc: "262", mnc: "02" }] });
    const loc = rewriteLocation(
      "http://ausf.5gc.mnc002.mcc262.3gppnetwork.org:8080/nausf-auth/v1/ue-authentications/ctx-1",
      store,
      sbi,
      f,
    );
    expect(loc).toMatch(
      new RegExp(
        `^https://t[a-z2-7]{25}\\.${DOMAIN.replaceAll(".", "\\.")}:9443/nausf-auth/v1/ue-authentications/ctx-1$`,
      ),
    );
    expect(resolveTarget({ scheme: "https", authority: new URL(loc).host }, ctx())).toMatchObject({
      authority: "ausf.5gc.mnc002.mcc262.3gppnetwork.org:8080",
      scheme: "http",
    });
    expect(rewriteLocation("/nausf-auth/v1/ue-authentications/ctx-1", store, sbi, f)).toBe(
      "/nausf-auth/v1/ue-authentications/ctx-1",
    );
    for (const bad of ["//ausf.example.com/x", "/a b", "ausf/x", "https://ausf.5gc.mnc001.mcc999.3gppnetwork.org/x"])
      expect(() => rewriteLocation(bad, store, sbi, f)).toThrow(TelescopicError);
  });
  test("rewriteLinks: Link and Link[] hrefs under _links rewritten, other members kept, input unchanged; malformed _links refused", () => {
    const f = peerUriFilter({ id: "home", plmnIds: [{ mcc: "262", mnc: "02" }] });
    const A = "http://ausf.5gc.mnc002.mcc262.3gppnetwork.org/nausf-auth/v1/ue-authentications/c1";
    const body = {
      authType: "5G_AKA",
      _links: {
        "5g-aka": { href: `${A}/5g-aka-confirmation` },
        "eap-session": [{ href: `${A}/eap-session` }, { href: "/rel" }],
        empty: {},
      },
      other: { href: A },
    };
    const r = rewriteLinks(body, store, sbi, f);
    expect(r.rewritten).toBe(3);
    expect(body._links["5g-aka"].href).toBe(`${A}/5g-aka-confirmation`);
    const out = r.body as typeof body;
    expect(out._links["5g-aka"].href).toMatch(
      new RegExp(
        `^https://t[a-z2-7]{25}\\.${DOMAIN.replaceAll(".", "\\.")}:9443/nausf-auth/v1/ue-authentications/c1/5g-aka-confirmation$`,
      ),
    );
    expect(new URL(out._links["eap-session"][0]!.href).host).toBe(new URL(out._links["5g-aka"].href).host);
    expect(out._links["eap-session"][1]).toEqual({ href: "/rel" });
    expect(out._links.empty).toEqual({});
    expect(out.other).toEqual({ href: A }); // only _links is HAL
    expect(rewriteLinks({ a: 1 }, store, sbi, f)).toEqual({ body: { a: 1 }, rewritten: 0 });
    for (const bad of [
      { _links: [] },
      { _links: { x: 5 } },
      { _links: { x: { href: 5 } } },
      { _links: { x: [{ href: "https://nf.example.com/x" }] } },
    ])
      expect(() => rewriteLinks(bad, store, sbi, f)).toThrow(TelescopicError);
  });
  test("RewriteOptions.peerId is stored with new labels; a label for an IP literal maps back to its peer", () => {
    const t = rewriteUri("http://10.45.0.7:7777/namf-callback/v1/x", store, sbi, { peerId: "visited" });
    const label = new URL(t).hostname.split(".")[0]!;
    expect(store.resolve(label)).toEqual({
      label,
      foreignHost: "10.45.0.7",
      scheme: "http",
      port: 7777,
      peerId: "visited",
    });
    const r = resolveTarget({ scheme: "https", authority: `${label}.${DOMAIN}:9443` }, ctx());
    expect(r).toMatchObject({ via: "telescopic", host: "10.45.0.7", authority: "10.45.0.7:7777", plmn: null });
    const again = rewriteVsmfPduSessionUri({ vsmfPduSessionUri: "http://[2001:db8::9]/x" }, store, sbi, {
      peerId: "visited",
    });
    expect(store.resolve(new URL(again.body.vsmfPduSessionUri).hostname.split(".")[0]!)?.peerId).toBe("visited");
  });

  const searchResult = () => ({
    validityPeriod: 3600,
    nfInstances: [
      {
        nfInstanceId: "4947a69a-f61b-4bc1-b9da-47c9c5d14b64",
        nfType: "UDM",
        nfStatus: "REGISTERED",
        fqdn: HOME_UDM,
        interPlmnFqdn: "udm1.ipx.mnc002.mcc262.3gppnetwork.org",
        ipv4Addresses: ["10.0.0.5"],
        ipv6Addresses: ["fd00::5"],
        nfServices: [
          {
            serviceInstanceId: "sdm-1",
            serviceName: "nudm-sdm",
            versions: [{ apiVersionInUri: "v2", apiFullVersion: "2.3.0" }],
            scheme: "https",
            nfServiceStatus: "REGISTERED",
            ipEndPoints: [{ ipv4Address: "10.0.0.5", transport: "TCP", port: 8443 }],
            apiPrefix: "/op1",
            defaultNotificationSubscriptions: [
              {
                notificationType: "DATA_CHANGE_NOTIFICATION",
                callbackUri: "https://udm-notif.5gc.mnc002.mcc262.3gppnetwork.org/cb",
              },
            ],
          },
          {
            serviceInstanceId: "uecm-1",
            serviceName: "nudm-uecm",
            versions: [{ apiVersionInUri: "v1", apiFullVersion: "1.3.0" }],
            scheme: "http",
            nfServiceStatus: "REGISTERED",
            fqdn: "uecm.5gc.mnc002.mcc262.3gppnetwork.org",
          },
        ],
        nfServiceList: {
          "sdm-1": {
            serviceInstanceId: "sdm-1",
            serviceName: "nudm-sdm",
            versions: [{ apiVersionInUri: "v2", apiFullVersion: "2.3.0" }],
            scheme: "https",
            nfServiceStatus: "REGISTERED",
            ipEndPoints: [{ ipv6Address: "fd00::5", port: 8443 }],
          },
        },
      },
      {
        nfInstanceId: "ip-only",
        nfType: "UDM",
        nfStatus: "REGISTERED",
        ipv4Addresses: ["10.0.0.9"],
        nfServices: [
          {
            serviceInstanceId: "s",
            serviceName: "nudm-sdm",
            versions: [],
            scheme: "https",
            nfServiceStatus: "REGISTERED",
            ipEndPoints: [{ ipv4Address: "10.0.0.9" }],
          },
        ],
      },
    ],
    nfInstanceList: {
      "4947a69a-f61b-4bc1-b9da-47c9c5d14b64": {
        nrfDiscApiUri: "https://nrf.5gc.mnc002.mcc262.3gppnetwork.org/nnrf-disc/v1",
      },
    },
  });

  test("NF discovery result: every foreign FQDN, address and port replaced; services usable through the SEPP", () => {
    const input = searchResult();
    const before = JSON.stringify(input);
    const { body, rewritten, dropped } = rewriteSearchResult(input, store, sbi);
    expect(JSON.stringify(input)).toBe(before); // input untouched
    expect(dropped).toBe(1);
    expect(body.nfInstances.length).toBe(1);
    const out = JSON.stringify(body);
    expect(out).not.toMatch(/mcc262|10\.0\.0\.|fd00::|8443/);
    expect(rewritten).toBe(9); // 2 profile FQDNs, 2+2 service FQDNs (list and map), 1 uecm FQDN, 1 notification URI, 1 nrfDiscApiUri
    const p = body.nfInstances[0]!;
    expect(p.ipv4Addresses).toBeUndefined();
    expect(p.ipv6Addresses).toBeUndefined();
    const label = (fqdn: string) => {
      expect(fqdn.endsWith(`.${DOMAIN}`)).toBe(true);
      return store.resolve(fqdn.slice(0, -DOMAIN.length - 1))!;
    };
    expect(label(p.fqdn!)).toMatchObject({ foreignHost: HOME_UDM, scheme: null, port: null });
    expect(label(p.interPlmnFqdn!)).toMatchObject({ foreignHost: "udm1.ipx.mnc002.mcc262.3gppnetwork.org" });
    const [sdm, uecm] = p.nfServices as Array<Record<string, unknown>>;
    // service without its own FQDN gets an explicit one for the profile's host with its scheme and port
    expect(label(sdm!.fqdn as string)).toMatchObject({ foreignHost: HOME_UDM, scheme: "https", port: 8443 });
    expect(label(sdm!.interPlmnFqdn as string)).toMatchObject({
      foreignHost: "udm1.ipx.mnc002.mcc262.3gppnetwork.org",
      scheme: "https",
      port: 8443,
    });
    expect(sdm!.scheme).toBe("https");
    expect(sdm!.ipEndPoints).toEqual([{ port: 9443 }]);
    expect(sdm!.apiPrefix).toBe("/op1");
    expect((sdm!.defaultNotificationSubscriptions as Array<{ callbackUri: string }>)[0]!.callbackUri).toMatch(
      new RegExp(`^https://t[a-z2-7]{25}\\.${DOMAIN.replaceAll(".", "\\.")}:9443/cb$`),
    );
    expect(label(uecm!.fqdn as string)).toMatchObject({
      foreignHost: "uecm.5gc.mnc002.mcc262.3gppnetwork.org",
      scheme: "http",
      port: null,
    });
    expect(uecm!.scheme).toBe("https");
    const listed = (p.nfServiceList as Record<string, Record<string, unknown>>)["sdm-1"]!;
    expect(listed.fqdn).toBe(sdm!.fqdn);
    expect(body.nfInstanceList["4947a69a-f61b-4bc1-b9da-47c9c5d14b64"]!.nrfDiscApiUri).toMatch(
      /^https:\/\/t[a-z2-7]{25}\./,
    );
    // a discovered service is then reachable: the NF calls the telescopic FQDN, the SEPP resolves the original target
    const r = resolveTarget(
      { scheme: "https", authority: `${sdm!.fqdn}:9443` },
      { seppDomain: DOMAIN, resolveLabel: (l) => store.resolve(l) },
    );
    expect(`${r.scheme}://${r.authority}`).toBe(`https://${HOME_UDM}:8443`);
  });
  test("without an SBI port, ipEndPoints are removed", () => {
    const { body } = rewriteSearchResult(searchResult(), store, { scheme: "https" });
    expect((body.nfInstances[0]!.nfServices as Array<Record<string, unknown>>)[0]!.ipEndPoints).toBeUndefined();
  });
  test("malformed discovery results are refused with the offending member", () => {
    expect(() => rewriteSearchResult([] as unknown, store, sbi)).toThrow(/not an object/);
    expect(() => rewriteSearchResult({ nfInstances: {} }, store, sbi)).toThrow(/nfInstances is not an array/);
    expect(() => rewriteSearchResult({ nfInstances: [{ fqdn: "a b" }] }, store, sbi)).toThrow(
      /\/nfInstances\/0\/fqdn is not an FQDN/,
    );
    expect(() =>
      rewriteSearchResult({ nfInstances: [{ fqdn: HOME_UDM, nfServices: [{ scheme: "ftp" }] }] }, store, sbi),
    ).toThrow(/scheme/);
    expect(() =>
      rewriteSearchResult(
        { nfInstances: [{ fqdn: HOME_UDM, nfServices: [{ scheme: "https", ipEndPoints: [{ port: 70000 }] }] }] },
        store,
        sbi,
      ),
    ).toThrow(/port/);
    expect(() =>
      rewriteSearchResult(
        { nfInstances: [{ fqdn: HOME_UDM, defaultNotificationSubscriptions: [{ callbackUri: 5 }] }] },
        store,
        sbi,
      ),
    ).toThrow(/callbackUri is not a string/);
    expect(() =>
      rewriteSearchResult({ nfInstances: [{ fqdn: "udm.mnc001.mcc999.3gppnetwork.org" }] }, store, sbi, {
        hostFilter: (_h, p) => p?.mcc === "262",
      }),
    ).toThrow(TelescopicError);
  });
  test("callback URIs of subscriptions (rules matched on a path suffix, after any apiRoot prefix)", () => {
    const body = {
      nfInstanceId: "x",
      callbackReference: "https://amf1.5gc.mnc002.mcc262.3gppnetwork.org/cb/sdm",
      monitoredResourceUris: ["https://udm/x"],
    };
    const r = rewriteRequestUris("post", "/op1/nudm-sdm/v2/imsi-262020000000001/sdm-subscriptions", body, store, sbi);
    expect(r.rewritten).toBe(1);
    expect(r.body.callbackReference).toMatch(
      new RegExp(`^https://t[a-z2-7]{25}\\.${DOMAIN.replaceAll(".", "\\.")}:9443/cb/sdm$`),
    );
    expect(r.body.monitoredResourceUris).toEqual(["https://udm/x"]);
    expect(body.callbackReference).toContain("amf1"); // input untouched
    const reg = rewriteRequestUris(
      "PUT",
      "/nudm-uecm/v1/imsi-1/registrations/amf-3gpp-access",
      {
        amfInstanceId: "a",
        deregCallbackUri: "https://amf.example.org/dereg",
        pcscfRestorationCallbackUri: "https://amf.example.org/pcscf",
      },
      store,
      sbi,
    );
    expect(reg.rewritten).toBe(2);
    expect(rewriteRequestUris("GET", "/nudm-sdm/v2/imsi-1/am-data", body, store, sbi)).toEqual({ body, rewritten: 0 });
    expect(rewriteRequestUris("POST", "/nudm-sdm/v2/imsi-1/sdm-subscriptions", null, store, sbi)).toEqual({
      body: null,
      rewritten: 0,
    });
    expect(() =>
      rewriteRequestUris("POST", "/nudm-sdm/v2/imsi-1/sdm-subscriptions", { callbackReference: ["x"] }, store, sbi),
    ).toThrow(/callbackReference is not a string/);
  });
  test("findUriRewriteRule: templates match one non-empty segment, at segment boundaries", () => {
    expect(findUriRewriteRule("POST", "/nudm-sdm/v2/imsi-1/sdm-subscriptions")?.pointers).toContain(
      "/callbackReference",
    );
    expect(findUriRewriteRule("POST", "/nudm-sdm/v2/imsi-1/sdm-subscriptions?x=1")).not.toBeNull();
    expect(findUriRewriteRule("POST", "/nudm-sdm/v2//sdm-subscriptions")).toBeNull();
    expect(findUriRewriteRule("POST", "/xnudm-sdm/v2/imsi-1/sdm-subscriptions")).toBeNull();
    expect(findUriRewriteRule("POST", "/nudm-sdm/v2/imsi-1/sdm-subscriptions/extra")).toBeNull();
    expect(findUriRewriteRule("PUT", "/nudm-sdm/v2/imsi-1/sdm-subscriptions")).toBeNull();
    expect(findUriRewriteRule("POST", "/nsmf-pdusession/v1/pdu-sessions")?.pointers).toContain("/vsmfPduSessionUri");
    for (const r of CALLBACK_URI_RULES) for (const p of r.pointers) expect(p).toMatch(/^\/[A-Za-z0-9]+$/);
  });
  test("V-SMF URI of Nsmf_PDUSession create", () => {
    const create = {
      supi: "imsi-262020000000001",
      pduSessionId: 5,
      vsmfId: "e6a4",
      vsmfPduSessionUri: "https://vsmf.5gc.mnc002.mcc262.3gppnetwork.org:8443/nsmf-pdusession/v1/vsmf-pdu-sessions/77",
    };
    const { body, rewritten } = rewriteVsmfPduSessionUri(create, store, sbi);
    expect(rewritten).toBe(1);
    const m = /^https:\/\/(t[a-z2-7]{25})\.[^/]+:9443(\/nsmf-pdusession\/v1\/vsmf-pdu-sessions\/77)$/.exec(
      body.vsmfPduSessionUri,
    )!;
    expect(store.resolve(m[1]!)).toMatchObject({
      foreignHost: "vsmf.5gc.mnc002.mcc262.3gppnetwork.org",
      scheme: "https",
      port: 8443,
    });
    expect(body.supi).toBe(create.supi);
    expect(
      rewriteRequestUris("POST", "/nsmf-pdusession/v1/pdu-sessions", create, store, sbi).body.vsmfPduSessionUri,
    ).toBe(body.vsmfPduSessionUri);
  });
  test("rewriteUriMembers with '*' over arrays and maps", () => {
    const { body, rewritten } = rewriteUriMembers(
      {
        subs: [{ u: "https://a.example.org/1" }, { u: "https://b.example.org/2" }, {}],
        m: { x: { u: "https://c.example.org" } },
      },
      ["/subs/*/u", "/m/*/u", "/absent/*/u"],
      store,
      sbi,
    );
    expect(rewritten).toBe(3);
    expect(JSON.stringify(body)).not.toMatch(/example\.org/);
  });
});

describe("fuzz: rewriteUri on hostile input", () => {
  test("only TelescopicError; whatever is accepted is under our domain and maps back to the input", () => {
    const store = new TelescopicStore(":memory:", { seppDomain: DOMAIN, maxEntries: 100_000 });
    const chars = fc.constantFrom(..."abz09.:/[]@%?#-_~\\ \r\n\u00e9fF".split(""));
    const junk = fc.array(chars, { maxLength: 50 }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.constantFrom("https://", "http://", "https://nf.example.org", "ftp://", ""), junk, (pre, rest) => {
        const uri = pre + rest;
        let out: string;
        try {
          out = rewriteUri(uri, store, { scheme: "https", port: 9443 });
        } catch (e) {
          expect(e).toBeInstanceOf(TelescopicError);
          return;
        }
        const m = /^https:\/\/(t[a-z2-7]{25})\.([^/?:]+):9443(.*)$/.exec(out);
        expect(m?.[2]).toBe(DOMAIN);
        const r = resolveTarget(
          { scheme: "https", authority: `${m![1]}.${DOMAIN}` },
          { seppDomain: DOMAIN, resolveLabel: (l) => store.resolve(l) },
        );
        expect(`${r.scheme}://${r.authority}${m![3]}`.toLowerCase()).toBe(
          uri
            .toLowerCase()
            .replace(
              /:\/\/([^/?]*)/,
              (_, a: string) => `://${canonicalAuthority(a, uri.slice(0, 5).toLowerCase() === "https" ? "443" : "80")}`,
            ),
        );
      }),
      { numRuns: 2000 },
    );
    store.close();
  });
});

/** host lowercased, trailing dot dropped, default port dropped (what the label records) */
function canonicalAuthority(a: string, defaultPort: string): string {
  const m = /^(.*?)(?::(\d*))?$/.exec(a)!;
  const host = m[1]!.replace(/\.$/, "");
  const port = m[2] === undefined || m[2] === "" || Number(m[2]) === Number(defaultPort) ? "" : `:${Number(m[2])}`;
  return host + port;
}

describe("the table on a full data partition (a real 4 MiB tmpfs)", () => {
  const parts = tmpfsPartitions("sepp-telescopic-full-");
  test("a new label: 503 INSUFFICIENT_RESOURCES; a label issued before still resolves (its touch is skipped)", () => {
    const dir = parts.partition(4);
    let now = 1_000_000;
    const store = new TelescopicStore(join(dir, "t.db"), {
      seppDomain: DOMAIN,
      touchIntervalMs: 1000,
      now: () => now,
    });
    const known = store.labelFor(HOME_UDM);
    parts.fill(dir, "filler");
    // many new hosts: the WAL grows until the partition refuses a page (before: the SQLiteError itself)
    let refused: unknown;
    for (let i = 0; i < 20_000 && !refused; i++) {
      try {
        store.labelFor(`udm${i}.5gc.mnc002.mcc262.3gppnetwork.org`);
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toBeInstanceOf(TelescopicError);
    expect((refused as TelescopicError).toProblem()).toMatchObject({ status: 503, cause: "INSUFFICIENT_RESOURCES" });
    now += 10_000; // past the touch interval: resolving writes last_used, which the partition refuses
    expect(store.resolve(known)?.foreignHost).toBe(HOME_UDM);
    expect(store.labelFor(HOME_UDM)).toBe(known);
    store.close();
  });
});
