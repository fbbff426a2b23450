// bootstrap() (src/config/bootstrap.ts): first start creates the development PKI and admin token crash-safely;
// a start after an interrupted first start (leftover temporary files/directories) still succeeds.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { bootstrap } from "../../src/config/bootstrap.ts";
import { tempPathFor } from "../../lib/fs-atomic.ts";
import { memoryLogger } from "../../src/log.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshCwd = freshDirs("sepp-boot-", "c");
const PKI = ["root.crt.pem", "sepp.crt.pem", "sepp.key.pem"];

function checkPki(var_: string): void {
  const pki = join(var_, "pki");
  expect(readdirSync(pki).sort()).toEqual(PKI);
  expect(statSync(pki).mode & 0o777).toBe(0o700);
  expect(statSync(join(pki, "sepp.key.pem")).mode & 0o777).toBe(0o600);
  const leaf = new X509Certificate(readFileSync(join(pki, "sepp.crt.pem")));
  const ca = new X509Certificate(readFileSync(join(pki, "root.crt.pem")));
  expect(leaf.verify(ca.publicKey)).toBe(true);
  expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(pki, "sepp.key.pem"))))).toBe(true);
}

describe("bootstrap (embedded default)", () => {
  test("first start: complete PKI, 0600 token, no temporary leftovers; second start reuses both", async () => {
    const cwd = freshCwd();
    const log = memoryLogger();
    const b = await bootstrap({ log, cwd });
    const var_ = join(cwd, "var");
    checkPki(var_);
    expect(b.token.length).toBeGreaterThanOrEqual(16);
    expect(statSync(b.tokenPath).mode & 0o777).toBe(0o600);
    expect(readdirSync(var_).filter((x) => x.includes(".tmp-"))).toEqual([]);
    // the token never appears in the log
    expect(JSON.stringify(log.lines)).not.toContain(b.token);
    const key = readFileSync(join(var_, "pki", "sepp.key.pem"), "utf8");
    b.store.close();
    const b2 = await bootstrap({ log, cwd });
    expect(b2.token).toBe(b.token);
    expect(readFileSync(join(var_, "pki", "sepp.key.pem"), "utf8")).toBe(key);
    b2.store.close();
  });

  test("interrupted first start (half-written PKI temp dir, torn token temp file, empty pki dir): starts cleanly", async () => {
    const cwd = freshCwd();
    const var_ = join(cwd, "var");
    mkdirSync(var_, { mode: 0o700 });
    // what a power cut in the middle of the first start can leave behind
    const tmpPki = tempPathFor(join(var_, "pki"));
    mkdirSync(tmpPki);
    writeFileSync(join(tmpPki, "root.crt.pem"), "-----BEGIN CERT");
    const tmpTok = tempPathFor(join(var_, "admin.token"));
    writeFileSync(tmpTok, "torn");
    mkdirSync(join(var_, "pki")); // an empty PKI directory (older versions created it first)
    const log = memoryLogger();
    const b = await bootstrap({ log, cwd });
    checkPki(var_);
    expect(existsSync(tmpPki)).toBe(false);
    expect(existsSync(tmpTok)).toBe(false);
    expect(b.token).not.toBe("torn");
    expect(readFileSync(b.tokenPath, "utf8").trim()).toBe(b.token);
    expect(log.lines.some((l) => l.msg === "removed leftovers of an interrupted write")).toBe(true);
    b.store.close();
  });

  test("a partial PKI (not from our atomic write) is still refused with a clear error", async () => {
    const cwd = freshCwd();
    const var_ = join(cwd, "var");
    mkdirSync(join(var_, "pki"), { recursive: true });
    writeFileSync(join(var_, "pki", "root.crt.pem"), "x");
    await expect(bootstrap({ log: memoryLogger(), cwd })).rejects.toThrow(/development PKI incomplete/);
  });
});
