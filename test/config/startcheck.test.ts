// A configuration change is checked as a start would check it (src/config/startcheck.ts) before it is
// acknowledged, and a start whose newest stored version fails falls back to the version that last started
// (src/config/start.ts) — with real SEPP processes, real files and the real store.
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { freePort, runSeppToExit, startSepp, waitFor, writePair, type SeppProcess } from "../../scripts/lib/pair.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const running: SeppProcess[] = [];
afterAll(async () => {
  for (const s of running) await s.stop();
});
const fresh = freshDirs("sepp-startcheck-"); // removed after the processes above have stopped

const GARBAGE_CERT = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZSwgbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

type Problem = { status: number; cause: string; invalidParams?: Array<{ param: string; reason: string }> };
type Status = {
  configVersion: number;
  config: {
    startedVersion: number;
    latestVersion: number;
    fallback?: { failedVersion: number; reasons: unknown[] };
    restartRequired: string[];
  };
};

/** a SEPP process on `side`, stopped after the file's tests */
const run = async (side: Parameters<typeof startSepp>[0]) => {
  const s = await startSepp(side);
  running.push(s);
  return s;
};
const configOf = async (s: SeppProcess) => (await (await s.admin("/v1/config")).json()) as Record<string, any>;

const put = (s: SeppProcess, path: string, body: unknown, method = "PUT") =>
  s.admin(path, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("configuration changes are checked as a start would check them", () => {
  test("a mismatched key, a garbage PEM, a missing file: 400 with every reason, nothing changed", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    // a well-formed key that belongs to another certificate
    writeFileSync(join(side.dir, "var", "pki", "other.key.pem"), pair.pki.certH.keyPem, { mode: 0o600 });
    const s = await run(side);
    const cfg = await configOf(s);
    const v0 = ((await (await s.admin("/v1/status")).json()) as Status).configVersion;

    const mismatch = await put(s, "/v1/config", { ...cfg, tls: { ...cfg.tls, privateKey: "pki/other.key.pem" } });
    expect(mismatch.status).toBe(400);
    const p1 = (await mismatch.json()) as Problem;
    expect(p1.cause).toBe("INVALID_CONFIGURATION");
    expect(p1.invalidParams).toEqual([
      { param: "/tls/privateKey", reason: "does not match the certificate of /tls/certificate" },
    ]);

    // three faults at once: every one is reported
    const all = await put(s, "/v1/config", {
      ...cfg,
      tls: {
        ...cfg.tls,
        certificate: "pki/missing.crt.pem",
        privateKey: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        trustAnchors: [{ ...cfg.tls.trustAnchors[0], roots: [GARBAGE_CERT] }, cfg.tls.trustAnchors[1]],
      },
    });
    expect(all.status).toBe(400);
    const text = await all.text();
    expect(text).not.toContain("bm90IGEga2V5"); // the key never comes back
    const params = ((JSON.parse(text) as Problem).invalidParams ?? []).map((i) => i.param).sort();
    expect(params).toEqual(["/tls/certificate", "/tls/privateKey", "/tls/trustAnchors/0/roots/0"]);
    expect(text).toContain("file not found: pki/missing.crt.pem");

    // peer CRUD goes through the same check: an RI certificate file that does not exist
    const peer = {
      id: "partner2",
      n32Fqdn: "sepp.5gc.mnc410.mcc310.3gppnetwork.org",
      plmnIds: [{ mcc: "310", mnc: "410" }],
      n32cUri: "https://127.0.0.1:1",
      initiate: false,
      roamingIntermediaries: [{ ipxProviderId: "ipx.example.org", side: "peer", certificates: ["pki/ri-gone.pem"] }],
    };
    const badPeer = await put(s, "/v1/peers", peer, "POST");
    expect(badPeer.status).toBe(400);
    expect(((await badPeer.json()) as Problem).invalidParams?.[0]?.param).toBe(
      "/peers/1/roamingIntermediaries/0/certificates/0",
    );

    const after = (await (await s.admin("/v1/status")).json()) as Status;
    expect(after.configVersion).toBe(v0);
    expect(((await (await s.admin("/v1/config")).json()) as typeof cfg).tls).toEqual(cfg.tls);
  }, 60000);
});

describe("the admin token file must hold a token only its owner can read", () => {
  test("a change naming a public file (the certificate) or a file that is no token: 400 /admin/tokenFile; a start with one fails with the reason", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    const s = await run(side);
    const cfg = await configOf(s);
    // found by a mutation campaign: accepted, and the next start took the certificate's text as the admin token
    const pub = await put(s, "/v1/config", { ...cfg, admin: { tokenFile: "pki/sepp.crt.pem" } });
    expect(pub.status).toBe(400);
    expect(((await pub.json()) as Problem).invalidParams).toEqual([
      { param: "/admin/tokenFile", reason: expect.stringContaining("readable or writable by others than its owner") },
    ]);
    writeFileSync(
      join(side.dir, "var", "pki", "copy.pem"),
      readFileSync(join(side.dir, "var", "pki", "sepp.crt.pem")),
      {
        mode: 0o600,
      },
    );
    const notToken = await put(s, "/v1/config", { ...cfg, admin: { tokenFile: "pki/copy.pem" } });
    expect(((await notToken.json()) as Problem).invalidParams?.[0]?.reason).toContain("not a bearer token");
    expect(await s.stop()).toBe(0);
    // the token file made readable by others while the SEPP is down: it does not start, and says why
    chmodSync(join(side.dir, "var", "admin.token"), 0o644);
    const { code, out } = await runSeppToExit(side, {}, 30000);
    expect(code).toBe(1);
    expect(out).toContain("admin.token: readable or writable by others than its owner (mode 0644; chmod 600 it)");
    expect(out).not.toContain(s.token);
  }, 60000);
});

describe("directories the configuration names are used, never emptied or loosened", () => {
  test("keystore.dir on a directory others may enter, the OTA keyring, the reboot command: 400; system.spoolDir on the PKI directory: accepted, and a restart leaves its files", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    let s = await run(side);
    const cfg = await configOf(s);
    // found by the mutation campaign: "/" would have been chmod 0700 at the next start
    const root = await put(s, "/v1/config", { ...cfg, keystore: { backend: "software", dir: "/" } });
    expect(root.status).toBe(400);
    expect(((await root.json()) as Problem).invalidParams).toEqual([
      { param: "/keystore/dir", reason: expect.stringContaining("may be entered by others than its owner") },
    ]);
    // the OTA keyring and the reboot command are not the API's to change (src/config/guards.ts)
    const own = await put(s, "/v1/config", {
      ...cfg,
      system: { ...cfg.system, keyring: "pki/sepp.crt.pem", rebootCommand: ["sh", "-c", "id"] },
    });
    expect(own.status).toBe(400);
    expect(((await own.json()) as Problem).invalidParams?.map((i) => i.param)).toEqual([
      "/system/keyring",
      "/system/rebootCommand",
    ]);
    // a spool directory that is a file (found by the campaign: the start failed removing its leftover)
    const spoolFile = await put(s, "/v1/config", { ...cfg, system: { ...cfg.system, spoolDir: "pki/sepp.crt.pem" } });
    expect(((await spoolFile.json()) as Problem).invalidParams).toEqual([
      { param: "/system/spoolDir", reason: "pki/sepp.crt.pem: not a directory" },
    ]);
    const pki = join(side.dir, "var", "pki");
    const files = readdirSync(pki).sort();
    expect(files.length).toBeGreaterThan(1);
    expect((await put(s, "/v1/config", { ...cfg, system: { ...cfg.system, spoolDir: "pki" } })).status).toBe(200);
    expect(await s.stop()).toBe(0);
    // before: the start emptied the spool directory whole, and the start after it failed for good
    for (let i = 0; i < 2; i++) {
      s = await run(side);
      expect(readdirSync(pki).sort()).toEqual(files);
      expect(await s.stop()).toBe(0);
    }
  }, 60000);
});

describe("a change of the keystore is asked what that keystore holds", () => {
  test("tls.privateKey keystore:tls with keystore.dir moved to a directory without the key: 400; with it: accepted, and the restart serves", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    let s = await run(side);
    const cfg = await configOf(s);
    const keyPem = readFileSync(join(side.dir, "var", cfg.tls.privateKey), "utf8");
    expect((await put(s, "/v1/keys/tls", { privateKey: keyPem }, "POST")).status).toBeLessThan(300);
    const sealed = { ...cfg, tls: { ...cfg.tls, privateKey: "keystore:tls" } };
    expect((await put(s, "/v1/config", sealed)).status).toBe(200);
    expect(await s.stop()).toBe(0);
    s = await run(side);
    // before: checked against the running keystore (which holds the key), acknowledged, and the next start failed
    const moved = { ...sealed, keystore: { backend: "software", dir: "keys2" } };
    const r = await put(s, "/v1/config", moved);
    expect(r.status).toBe(400);
    expect(((await r.json()) as Problem).invalidParams).toEqual([
      { param: "/tls/privateKey", reason: expect.stringContaining("no TLS key is sealed in the keystore") },
    ]);
    const keys2 = join(side.dir, "var", "keys2");
    execFileSync("mkdir", ["-m", "700", keys2]);
    writeFileSync(join(keys2, "tls.key.pem"), readFileSync(join(side.dir, "var", cfg.keystore.dir, "tls.key.pem")), {
      mode: 0o600,
    });
    expect((await put(s, "/v1/config", moved)).status).toBe(200);
    expect(await s.stop()).toBe(0);
    s = await run(side);
    const status = (await (await s.admin("/v1/status")).json()) as Status;
    expect(status.config.fallback).toBeUndefined();
    expect((await configOf(s)).keystore.dir).toBe("keys2");
  }, 60000);
});

describe("files a change names are read within bounds", () => {
  test("a PEM path to a FIFO, a device or a file over 16 MiB: 400 at once, the SEPP answering meanwhile", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    const s = await run(side);
    const cfg = await configOf(s);
    const fifo = join(side.dir, "var", "pki", "fifo.pem");
    execFileSync("mkfifo", [fifo]);
    const huge = join(side.dir, "var", "pki", "huge.pem");
    writeFileSync(huge, "-----BEGIN CERTIFICATE-----\n");
    truncateSync(huge, 17 * 1024 * 1024);
    // before: read whole, on the SEPP's one thread (a FIFO: no end; /dev/zero: until memory ran out)
    const cases: Array<[string, string]> = [
      ["pki/fifo.pem", "pki/fifo.pem: not a regular file"],
      ["/dev/zero", "/dev/zero: not a regular file"],
      ["pki/huge.pem", "pki/huge.pem: over 16 MiB"],
    ];
    for (const [root, why] of cases) {
      const anchors = [{ ...cfg.tls.trustAnchors[0], roots: [root] }, ...cfg.tls.trustAnchors.slice(1)];
      const r = await s.admin("/v1/config", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...cfg, tls: { ...cfg.tls, trustAnchors: anchors } }),
        signal: AbortSignal.timeout(5000),
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as Problem).invalidParams).toEqual([
        { param: "/tls/trustAnchors/0/roots/0", reason: why },
      ]);
    }
    expect((await fetch(`http://127.0.0.1:${side.ports.admin}/v1/health`)).status).toBe(200);
  }, 60000);
});

describe("listener addresses a change moves are checked by listening on them", () => {
  test("a host that is no address of this box, a port another process holds: 400 naming the listener; a free port, or the ones it holds: accepted", async () => {
    const pair = await writePair({ dir: fresh() });
    const s = await run(pair.visited);
    const cfg = await configOf(s);
    const v0 = ((await (await s.admin("/v1/status")).json()) as Status).configVersion;
    const withSbi = (sbi: Record<string, unknown>) => ({ ...cfg, listeners: { ...cfg.listeners, sbi } });
    const squatter = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => squatter.once("listening", r));
    const taken = (squatter.address() as { port: number }).port;
    try {
      // found by a mutation campaign: the host "TLSv1.2" was stored and the next start failed ("Failed to listen")
      for (const [sbi, why] of [
        [{ ...cfg.listeners.sbi, host: "TLSv1.2" }, /cannot listen on TLSv1\.2:\d+ now/],
        [{ ...cfg.listeners.sbi, host: "192.0.2.1" }, /cannot listen on 192\.0\.2\.1:\d+ now \(EADDRNOTAVAIL\)/],
        [{ ...cfg.listeners.sbi, port: taken }, /now \(EADDRINUSE\)/],
        // the N32 listener's address, which this SEPP holds (no probe sees it): also found by the campaign
        [{ ...cfg.listeners.n32 }, /^the address of \/listeners\/n32 \(127\.0\.0\.1:\d+\)$/],
        [{ ...cfg.listeners.sbi, host: "0.0.0.0", port: cfg.listeners.n32.port }, /^the address of \/listeners\/n32 /],
      ] as const) {
        const r = await put(s, "/v1/config", withSbi(sbi));
        expect(r.status).toBe(400);
        const p = (await r.json()) as Problem;
        expect(p.invalidParams).toEqual([{ param: "/listeners/sbi", reason: expect.stringMatching(why) }]);
      }
      expect(((await (await s.admin("/v1/status")).json()) as Status).configVersion).toBe(v0);
      // the SEPP's own addresses are its to move: the N32 and SBI ports swapped are accepted
      const swapped = {
        ...cfg,
        listeners: {
          ...cfg.listeners,
          n32: { ...cfg.listeners.n32, port: cfg.listeners.sbi.port },
          sbi: { ...cfg.listeners.sbi, port: cfg.listeners.n32.port },
        },
      };
      expect((await put(s, "/v1/config", swapped)).status).toBe(200);
      expect((await put(s, "/v1/config", withSbi({ ...cfg.listeners.sbi, port: await freePort() }))).status).toBe(200);
    } finally {
      squatter.close();
    }
  }, 60000);
});

describe("a start whose stored configuration fails falls back to the version that last started", () => {
  test("fallback is logged and shown in /v1/status, twice in a row, no loop", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    const pki = join(side.dir, "var", "pki");
    copyFileSync(join(pki, "sepp.crt.pem"), join(pki, "copy.crt.pem"));
    let s = await run(side);
    const cfg = await configOf(s);
    const ok = await put(s, "/v1/config", { ...cfg, tls: { ...cfg.tls, certificate: "pki/copy.crt.pem" } });
    expect(ok.status).toBe(200);
    const v2 = Number((ok.headers.get("etag") ?? "").replaceAll('"', ""));
    expect(v2).toBe(2);
    expect(await s.stop()).toBe(0);

    // the file the newest version needs is damaged while the SEPP is down
    writeFileSync(join(pki, "copy.crt.pem"), GARBAGE_CERT);
    for (let round = 0; round < 2; round++) {
      s = await run(side);
      const st = (await (await s.admin("/v1/status")).json()) as Status;
      expect(st.configVersion).toBe(1);
      expect(st.config.startedVersion).toBe(1);
      expect(st.config.latestVersion).toBe(2);
      expect(st.config.fallback?.failedVersion).toBe(2);
      expect(JSON.stringify(st.config.fallback?.reasons)).toContain("/tls/certificate");
      await waitFor("fallback log line", async () =>
        s.logs.some((l) => l.level === "error" && String(l.msg).includes("falling back") && l.failedVersion === 2),
      );
      expect(((await (await s.admin("/v1/config")).json()) as typeof cfg).tls.certificate).toBe("pki/sepp.crt.pem");
      const health = (await (await fetch(`http://127.0.0.1:${side.ports.admin}/v1/health`)).json()) as any;
      expect(health.checks.config).toBe("fallback: v2 failed");
      expect(await s.stop()).toBe(0);
    }

    // repaired: the newest version starts again, and becomes the fallback from now on
    copyFileSync(join(pki, "sepp.crt.pem"), join(pki, "copy.crt.pem"));
    s = await run(side);
    const st = (await (await s.admin("/v1/status")).json()) as Status;
    expect(st.config).toEqual({ startedVersion: 2, latestVersion: 2, restartRequired: [] });
  }, 90000);

  test("a version that passed its checks but cannot listen (its port taken meanwhile): the start falls back, once", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    let s = await run(side);
    const cfg = await configOf(s);
    const port = await freePort();
    const ok = await put(s, "/v1/config", {
      ...cfg,
      listeners: { ...cfg.listeners, sbi: { ...cfg.listeners.sbi, port } },
    });
    expect(ok.status).toBe(200);
    expect(await s.stop()).toBe(0);
    // another process takes the port while the SEPP is down
    const squatter = createServer().listen(port, cfg.listeners.sbi.host);
    await new Promise((r) => squatter.once("listening", r));
    try {
      s = await run(side);
      const st = (await (await s.admin("/v1/status")).json()) as Status;
      expect(st.config.startedVersion).toBe(1);
      expect(st.config.latestVersion).toBe(2);
      expect(st.config.fallback?.failedVersion).toBe(2);
      expect(JSON.stringify(st.config.fallback?.reasons)).toContain("start-up failed");
      expect(s.logs.filter((l) => String(l.msg).includes("failed to start: starting again"))).toHaveLength(1);
      const health = (await (await fetch(`http://127.0.0.1:${side.ports.admin}/v1/health`)).json()) as any;
      expect(health.checks.config).toBe("fallback: v2 failed");
      expect(await s.stop()).toBe(0);
    } finally {
      squatter.close();
    }
    // the port free again: the newest version starts
    s = await run(side);
    const st = (await (await s.admin("/v1/status")).json()) as Status;
    expect(st.config).toEqual({ startedVersion: 2, latestVersion: 2, restartRequired: [] });
  }, 90000);

  test("no version that started: the start fails once with the reason", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    writeFileSync(join(side.dir, "var", "pki", "sepp.key.pem"), pair.pki.certH.keyPem, { mode: 0o600 });
    const { code, out } = await runSeppToExit(side, {}, 30000);
    expect(code).toBe(1);
    expect(out).toContain("/tls/privateKey: does not match the certificate of /tls/certificate");
    expect(out).not.toContain("PRIVATE KEY");
  }, 40000);
});
