// Start-up (issue 11, docs/PERFORMANCE.md "Start-up"): a start that needs no certificate generation, CSR or CRL
// answers GET /v1/health without ever loading @peculiar/x509 (nor tsyringe / reflect-metadata, which it brings):
// that library is half of the module evaluation of a start, and lib/x509.ts loads it on first use. Each start runs
// in a fresh `bun` process (this test process has loaded the library to make the certificates), which reports the
// packages in its module registry once /v1/health has answered. A start whose trust anchor carries a CRL must load
// it (the CRL is parsed at start): that case shows the probe sees the library when it is there.
// Statically: no module but lib/x509.ts loads the library (a value, side-effect or dynamic import, or a require).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { createCrl, createRootCa, issueSeppCert } from "../src/pki/devpki.ts";
import { freshDirs } from "./support/tmp-dirs.ts";

const REPO = resolve(import.meta.dir, "..");
const fresh = freshDirs("sepp-startup-");
const FQDN = "sepp.5gc.mnc001.mcc001.3gppnetwork.org";
const PLMN = { mcc: "001", mnc: "01" };

/** The child: start the SEPP from `configPath`, wait for /v1/health, report what it loaded, stop. */
const CHILD = `
import { startSepp } from ${JSON.stringify(join(REPO, "src/sepp.ts"))};
import { createLogger } from ${JSON.stringify(join(REPO, "src/log.ts"))};
import { x509Loaded } from ${JSON.stringify(join(REPO, "lib/x509.ts"))};
const s = await startSepp({ configPath: process.argv.at(-1), log: createLogger({ level: "error" }) });
const r = await fetch("http://127.0.0.1:" + s.ports.admin + "/v1/health");
const loaded = Object.keys(require.cache).filter((k) => /[\\\\/](@peculiar|tsyringe|reflect-metadata)[\\\\/]/.test(k));
await s.stop();
console.log(JSON.stringify({ dataDir: s.dataDir, health: r.status, x509: x509Loaded(), loaded: loaded.length, sample: loaded.slice(0, 3) }));
`;

async function startAndReport(
  dir: string,
  config: string,
): Promise<{ dataDir: string; health: number; x509: boolean; loaded: number }> {
  const p = Bun.spawn([process.execPath, "-e", CHILD, config], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => p.kill("SIGKILL"), 25_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(killer);
  if (code !== 0) throw new Error(`child exited ${code}: ${err.slice(0, 2000)}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

async function configIn(dir: string, withCrl: boolean): Promise<string> {
  const root = await createRootCa({ name: "startup test root" });
  const leaf = await issueSeppCert(root, { dnsNames: [FQDN] });
  const other = await issueSeppCert(root, { dnsNames: ["sepp.5gc.mnc002.mcc001.3gppnetwork.org"] });
  const cfg = join(dir, "sepp.json");
  writeFileSync(
    cfg,
    JSON.stringify({
      identity: { n32Fqdn: FQDN, plmnIds: [PLMN] },
      listeners: { n32: { host: "127.0.0.1", port: 0 }, admin: { host: "127.0.0.1", port: 0 } },
      tls: {
        certificate: leaf.chainPem,
        privateKey: leaf.keyPem,
        trustAnchors: [
          {
            name: "test",
            plmnIds: [PLMN],
            roots: [root.certPem],
            ...(withCrl ? { crls: [await createCrl(root, [other])] } : {}),
          },
        ],
      },
      storage: { dir: "data" },
    }),
  );
  return cfg;
}

describe("start-up", () => {
  test("first start and restart on the existing data directory answer /v1/health without loading @peculiar/x509", async () => {
    const dir = fresh();
    const cfg = await configIn(dir, false);
    for (const start of ["first", "restart"]) {
      const r = await startAndReport(dir, cfg);
      // the configuration file is the one used (its storage.dir, not the embedded default's)
      expect({ start, ...r }).toMatchObject({ start, dataDir: join(dir, "data"), health: 200, x509: false, loaded: 0 });
    }
  }, 60_000);

  test("a trust anchor with a CRL loads it at start (the probe sees the library when it is loaded)", async () => {
    const dir = fresh();
    const r = await startAndReport(dir, await configIn(dir, true));
    expect(r.health).toBe(200);
    expect(r.x509).toBe(true);
    expect(r.loaded).toBeGreaterThan(0);
  }, 60_000);

  test("only lib/x509.ts loads @peculiar/x509 and reflect-metadata; every other module imports its types only", () => {
    const files = ["src", "hw", "lib", "os"].flatMap((d) =>
      readdirSync(join(REPO, d), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(REPO, d, f)),
    );
    expect(files.length).toBeGreaterThan(100);
    // a value import, a side-effect import, a dynamic import or a require of either package
    const loads =
      /^\s*import\s+(?!type\b)[^;]*?["'](@peculiar\/x509|reflect-metadata|tsyringe)["']|\b(import|require)\(\s*["'](@peculiar\/x509|reflect-metadata|tsyringe)["']/m;
    const offenders = files.filter((f) => loads.test(readFileSync(f, "utf8"))).map((f) => relative(REPO, f));
    expect(offenders).toEqual(["lib/x509.ts"]);
  });
});
