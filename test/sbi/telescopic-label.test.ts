// test/sbi/telescopic-label.test.ts — stateless telescopic labels (src/sbi/telescopic-label.ts, issue 11 §3; P8: one
// DNS label ≤ 63 characters): round trips over realistic and random FQDNs, tampered labels and labels of another
// key or domain refused, the previous key's grace period, the table kept for what does not fit and for the labels
// issued before, the key files (telescopic-keys.ts), and a label resolved by a second process holding the same key.
import { describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { isDnsLabel } from "../../src/sbi/api-root.ts";
import { checkTelescopicLabelKeys, loadTelescopicLabelKeys } from "../../src/sbi/telescopic-keys.ts";
import { type LabelOrigin, STATELESS_LABEL_LENGTH, TelescopicLabelCodec } from "../../src/sbi/telescopic-label.ts";
import { telescopicApp } from "../../src/sbi/telescopic-service.ts";
import { TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const DOMAIN = "sepp.5gc.mnc001.mcc262.3gppnetwork.org";
const key = (b: number) => new Uint8Array(32).fill(b);
const codec = new TelescopicLabelCodec(DOMAIN, { current: key(1) });
const tmp = freshDirs("sepp-tlabel-");

const REALISTIC: LabelOrigin[] = [
  { host: "udm1.5gc.mnc015.mcc234.3gppnetwork.org", scheme: null, port: null },
  { host: "ausf.5gc.mnc001.mcc001.3gppnetwork.org", scheme: "https", port: null },
  { host: "nrf-01.region-a.5gc.mnc999.mcc999.3gppnetwork.org", scheme: "http", port: 8080 },
  { host: "smf.ims.mnc260.mcc310.3gppnetwork.org", scheme: "https", port: 29510 },
  { host: "sepp.mnc01.mcc262.3gppnetwork.org".replace("mnc01", "mnc001"), scheme: null, port: null },
  { host: "pcf-instance-0123456789abc.5gc.mnc010.mcc460.3gppnetwork.org", scheme: "https", port: 443 },
  { host: "nf1.operator.example", scheme: "http", port: null },
  { host: "a.b", scheme: null, port: 1 },
];

describe("TelescopicLabelCodec", () => {
  test("realistic 3GPP FQDNs fit, give one 62-character DNS label, and map back exactly", () => {
    for (const o of REALISTIC) {
      const l = codec.encode(o);
      expect(l).not.toBeNull();
      expect(l!.length).toBe(STATELESS_LABEL_LENGTH);
      expect(isDnsLabel(l!)).toBe(true);
      expect(codec.decode(l!)).toEqual(o);
      expect(codec.decode(l!.toUpperCase())).toEqual(o); // DNS is case-insensitive
      expect(codec.encode(o)).toBe(l); // deterministic: the same on every worker and gateway
    }
    const labels = REALISTIC.map((o) => codec.encode(o));
    expect(new Set(labels).size).toBe(labels.length);
  });

  test("random FQDNs: either a label that maps back exactly, or null (too long: the table's job)", () => {
    const host = fc.oneof(
      fc.domain().map((d) => d.toLowerCase()),
      fc
        .tuple(
          fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,8}){0,2}$/),
          fc.integer({ min: 0, max: 999 }),
          fc.integer({ min: 0, max: 999 }),
          fc.boolean(),
        )
        .map(
          ([p, mcc, mnc, g]) =>
            `${p}${g ? ".5gc" : ""}.mnc${String(mnc).padStart(3, "0")}.mcc${String(mcc).padStart(3, "0")}.3gppnetwork.org`,
        ),
    );
    const origin = fc.record({
      host,
      scheme: fc.constantFrom(null, "http" as const, "https" as const),
      port: fc.option(fc.integer({ min: 1, max: 65535 })),
    });
    let fitted = 0;
    fc.assert(
      fc.property(origin, (o) => {
        const l = codec.encode(o);
        if (l === null) return;
        fitted++;
        expect(l.length).toBe(STATELESS_LABEL_LENGTH);
        expect(codec.decode(l)).toEqual(o);
      }),
      { numRuns: 1000 },
    );
    expect(fitted).toBeGreaterThan(300);
  });

  test("a host too long for one label, or with a character outside LDH, is not encoded", () => {
    expect(codec.encode({ host: `${"a".repeat(40)}.example.org`, scheme: null, port: null })).toBeNull();
    expect(
      codec.encode({ host: `${"a".repeat(30)}.5gc.mnc001.mcc262.3gppnetwork.org`, scheme: null, port: null }),
    ).toBeNull();
    expect(
      codec.encode({ host: `${"a".repeat(29)}.5gc.mnc001.mcc262.3gppnetwork.org`, scheme: null, port: null }),
    ).not.toBeNull();
    expect(codec.encode({ host: "a_b.example", scheme: null, port: null })).toBeNull();
  });

  test("every changed character of a label is refused", () => {
    const l = codec.encode(REALISTIC[0]!)!;
    for (let i = 1; i < l.length; i++) {
      for (const c of ["a", "q", "7"]) {
        if (l[i] === c) continue;
        expect(codec.decode(l.slice(0, i) + c + l.slice(i + 1))).toBeNull();
      }
    }
    expect(codec.decode(`t${l.slice(1)}`)).toBeNull();
    expect(codec.decode(l.slice(0, -1))).toBeNull();
    expect(codec.decode(`${l}a`)).toBeNull();
  });

  test("labels of another key, or of the same key under another SEPP domain, are refused", () => {
    const other = new TelescopicLabelCodec(DOMAIN, { current: key(2) });
    const otherDomain = new TelescopicLabelCodec("sepp.example.org", { current: key(1) });
    for (const o of REALISTIC) {
      const l = codec.encode(o)!;
      expect(other.decode(l)).toBeNull();
      expect(otherDomain.decode(l)).toBeNull();
      expect(other.encode(o)).not.toBe(l);
    }
  });

  test("labels kept by the codec (each way, bounded) give the answers of a codec that keeps none, tampered ones included", () => {
    let now = 1_000;
    const keys = { current: key(2), previous: key(1), previousUntil: 5_000 };
    const keeping = new TelescopicLabelCodec(DOMAIN, keys, () => now, 3); // a small bound: it starts over often
    const none = new TelescopicLabelCodec(DOMAIN, keys, () => now, 0);
    const labels = [...REALISTIC.map((o) => codec.encode(o)!), ...REALISTIC.map((o) => none.encode(o)!)];
    let seed = 9;
    const pick = <T>(xs: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return xs[(seed >>> 12) % xs.length]!;
    };
    for (let i = 0; i < 600; i++) {
      if (i === 300) now = 5_000; // the previous key's grace ends half-way: its labels stop opening, kept or not
      const o = pick(REALISTIC);
      expect(keeping.encode(o)).toBe(none.encode(o)!);
      let l = pick(labels);
      if (pick([false, false, true])) l = `${l.slice(0, 10)}${l[10] === "a" ? "b" : "a"}${l.slice(11)}`;
      expect([i, l, keeping.decode(l)]).toEqual([i, l, none.decode(l)]);
    }
    expect(none.decode(codec.encode(REALISTIC[0]!)!)).toBeNull(); // the previous key's labels are refused by now
  });

  test("after a rotation the previous key's labels resolve until the grace period ends; new labels use the new key", () => {
    let now = 1_000;
    const rotated = new TelescopicLabelCodec(
      DOMAIN,
      { current: key(2), previous: key(1), previousUntil: 2_000 },
      () => now,
    );
    const old = codec.encode(REALISTIC[1]!)!;
    expect(rotated.decode(old)).toEqual(REALISTIC[1]!);
    const fresh = rotated.encode(REALISTIC[1]!)!;
    expect(fresh).not.toBe(old);
    expect(codec.decode(fresh)).toBeNull();
    now = 2_000;
    expect(rotated.decode(old)).toBeNull();
    expect(rotated.decode(fresh)).toEqual(REALISTIC[1]!);
  });
});

describe("TelescopicStore with label keys", () => {
  test("table labels issued before keep resolving; new labels are stateless where they can be, else the table", () => {
    const dir = tmp();
    const before = new TelescopicStore(join(dir, "t.db"), { seppDomain: DOMAIN });
    const oldLabel = before.labelFor("udm1.5gc.mnc015.mcc234.3gppnetwork.org");
    expect(oldLabel).toMatch(/^t[a-z2-7]{25}$/);
    before.close();

    const store = new TelescopicStore(join(dir, "t.db"), { seppDomain: DOMAIN, labelKeys: { current: key(1) } });
    expect(store.resolve(oldLabel)?.foreignHost).toBe("udm1.5gc.mnc015.mcc234.3gppnetwork.org");
    // the same origin now gets the stateless label; the table is not written
    const sl = store.labelFor("udm1.5gc.mnc015.mcc234.3gppnetwork.org", { scheme: "https", port: 443 });
    expect(sl).toBe(codec.encode({ host: "udm1.5gc.mnc015.mcc234.3gppnetwork.org", scheme: "https", port: null })!);
    expect(store.resolve(sl)).toEqual({
      label: sl,
      foreignHost: "udm1.5gc.mnc015.mcc234.3gppnetwork.org",
      scheme: "https",
      port: null,
      peerId: null,
    });
    // a PLMN host routes by its PLMN: stateless even when a peer is given
    expect(store.labelFor("smf.5gc.mnc015.mcc234.3gppnetwork.org", { peerId: "peer-a" }).startsWith("s")).toBe(true);
    expect(store.size).toBe(1);
    // the table: an IP literal, a host naming no PLMN that came from a peer, a host too long for one label
    const ip = store.labelFor("10.0.0.1", { scheme: "http", port: 8080, peerId: "peer-a" });
    const noPlmn = store.labelFor("nf.partner.example", { peerId: "peer-a" });
    const long = store.labelFor(`${"x".repeat(45)}.5gc.mnc015.mcc234.3gppnetwork.org`);
    for (const l of [ip, noPlmn, long]) expect(l).toMatch(/^t[a-z2-7]{25}$/);
    expect(store.size).toBe(4);
    expect(store.resolve(ip)?.peerId).toBe("peer-a");
    expect(store.resolve(noPlmn)?.peerId).toBe("peer-a");
    // without a peer, a host naming no PLMN is stateless
    expect(store.labelFor("nf.partner.example").startsWith("s")).toBe(true);
    store.close();
  });

  test("the mapping service answers for stateless and table labels alike", async () => {
    const dir = tmp();
    const before = new TelescopicStore(join(dir, "t.db"), { seppDomain: DOMAIN });
    const oldLabel = before.labelFor("ausf.5gc.mnc015.mcc234.3gppnetwork.org");
    before.close();
    const store = new TelescopicStore(join(dir, "t.db"), { seppDomain: DOMAIN, labelKeys: { current: key(1) } });
    const app = telescopicApp(store);
    const get = async (q: string) => {
      const r = await app.request(`/nsepp-telescopic/v1/mapping?${q}`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const issued = await get("foreign-fqdn=udm1.5gc.mnc015.mcc234.3gppnetwork.org");
    expect(issued.status).toBe(200);
    const label = issued.body.telescopicLabel as string;
    expect(label.length).toBe(STATELESS_LABEL_LENGTH);
    expect((await get(`telescopic-label=${label}`)).body.foreignFqdn).toBe("udm1.5gc.mnc015.mcc234.3gppnetwork.org");
    expect((await get(`telescopic-label=${oldLabel}`)).body.foreignFqdn).toBe("ausf.5gc.mnc015.mcc234.3gppnetwork.org");
    const tampered = label.slice(0, 10) + (label[10] === "a" ? "b" : "a") + label.slice(11);
    expect((await get(`telescopic-label=${tampered}`)).status).toBe(404);
    store.close();
  });
});

describe("label key files", () => {
  test("made 0600 at the first start, read back the same; a bad file is a start-check issue", () => {
    const dir = tmp();
    const cfg = { mode: "stateless" as const, keyFile: "telescopic-label.key" };
    expect(checkTelescopicLabelKeys(dir, cfg)).toEqual([]); // missing: made at start
    const k1 = loadTelescopicLabelKeys(dir, cfg)!;
    expect(statSync(join(dir, "telescopic-label.key")).mode & 0o777).toBe(0o600);
    expect(Buffer.from(loadTelescopicLabelKeys(dir, cfg)!.current).equals(Buffer.from(k1.current))).toBe(true);
    writeFileSync(join(dir, "bad.key"), "not a key\n", { mode: 0o600 });
    expect(checkTelescopicLabelKeys(dir, { ...cfg, previousKeyFile: "bad.key" }).map((i) => i.path)).toEqual([
      "/sbi/telescopicLabels/previousKeyFile",
    ]);
    expect(checkTelescopicLabelKeys(dir, { ...cfg, previousKeyFile: "absent.key" })[0]?.reason).toContain("absent.key");
    expect(() => loadTelescopicLabelKeys(dir, { ...cfg, keyFile: "bad.key" })).toThrow("64 hex digits");
    // a key others may read is no secret (src/config/secret-file.ts); a device is no key file
    writeFileSync(join(dir, "open.key"), `${"ab".repeat(32)}\n`, { mode: 0o644 });
    expect(checkTelescopicLabelKeys(dir, { ...cfg, previousKeyFile: "open.key" })[0]?.reason).toContain("mode 0644");
    expect(checkTelescopicLabelKeys(dir, { ...cfg, previousKeyFile: "/dev/zero" })[0]?.reason).toContain(
      "not a regular file",
    );
    expect(loadTelescopicLabelKeys(dir, { ...cfg, mode: "table" })).toBeNull();
    // a missing key file the start could not make is refused now (fuzz:config: the start failed with ENAMETOOLONG)
    expect(checkTelescopicLabelKeys(dir, { ...cfg, keyFile: "k".repeat(256) })).toEqual([
      {
        path: "/sbi/telescopicLabels/keyFile",
        reason: `${"k".repeat(256)}: cannot be made: a file name over 255 octets`,
      },
    ]);
    expect(checkTelescopicLabelKeys(dir, { ...cfg, keyFile: "open.key/label.key" })[0]?.reason).toContain(
      "not a directory",
    );
    // a long name within 255 octets is made (its temporary name was over them)
    expect(checkTelescopicLabelKeys(dir, { ...cfg, keyFile: "k".repeat(240) })).toEqual([]);
    expect(loadTelescopicLabelKeys(dir, { ...cfg, keyFile: "k".repeat(240) })!.current.length).toBe(32);
  });
});

describe("a second SEPP process", () => {
  test("with the same key file resolves the label without the first one's table; with another key it does not", async () => {
    const a = tmp();
    const b = tmp();
    const keyHex = Buffer.from(key(9)).toString("hex");
    writeFileSync(join(a, "label.key"), `${keyHex}\n`, { mode: 0o600 });
    writeFileSync(join(b, "label.key"), `${keyHex}\n`, { mode: 0o600 });
    const first = new TelescopicStore(join(a, "t.db"), {
      seppDomain: DOMAIN,
      labelKeys: loadTelescopicLabelKeys(a, { mode: "stateless", keyFile: "label.key" }),
    });
    const label = first.labelFor("nrf.5gc.mnc015.mcc234.3gppnetwork.org", { scheme: "https", port: 8443 });
    first.close();
    const run = async (dir: string, keyFile: string) => {
      const p = Bun.spawn(
        [process.execPath, join(import.meta.dir, "../support/telescopic-resolve.ts"), dir, DOMAIN, keyFile, label],
        { stdout: "pipe", stderr: "pipe" },
      );
      const timer = setTimeout(() => p.kill(), 20_000);
      const out = await new Response(p.stdout).text();
      expect(await p.exited).toBe(0);
      clearTimeout(timer);
      return JSON.parse(out) as unknown[];
    };
    expect(await run(b, "label.key")).toEqual([
      { label, foreignHost: "nrf.5gc.mnc015.mcc234.3gppnetwork.org", scheme: "https", port: 8443, peerId: null },
    ]);
    expect(await run(tmp(), "fresh.key")).toEqual([null]); // a key of its own (made at its first start)
  }, 30_000);
});
