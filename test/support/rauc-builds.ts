// test/support/rauc-builds.ts — the two real firmware versions the OTA tests install, built once by build.sh and
// cached under $TMPDIR keyed by the sources' content (a second test file, or a re-run, reuses them). The signing CA
// is generated at test time in the same cache directory (test keys, never committed).
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeSigningCa } from "./rauc.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const COMPATIBLE = "sepp-test-linux-x64";
export const V_OLD = "1.0.0";
export const V_NEW = "1.1.0";
export const BUILD_TIMEOUT_MS = 300_000;

function sourceKey(): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const pattern of ["{src,hw,os,config,packaging}/**/*", "package.json", "build.sh", "scripts/bundle.sh"]) {
    const files = [...new Bun.Glob(pattern).scanSync({ cwd: REPO, onlyFiles: true })].sort();
    for (const f of files) {
      h.update(f);
      h.update(Bun.file(join(REPO, f)).size.toString());
      h.update(require("node:fs").readFileSync(join(REPO, f)));
    }
  }
  return h.digest("hex").slice(0, 16);
}

export interface Builds {
  dir: string;
  signer: { keyring: string; cert: string; key: string };
  /** a second CA: bundles it signs must be refused */
  stranger: { keyring: string; cert: string; key: string };
  bundle: (version: string, target?: "linux-x64" | "linux-arm64") => string;
  /** the squashfs image of the old version (the factory content of slot A) */
  factoryImage: string;
}

function build(
  dir: string,
  version: string,
  targets: string[],
  signer: { cert: string; key: string },
  product: string,
) {
  const r = Bun.spawnSync(["bash", "build.sh", ...targets], {
    cwd: REPO,
    env: {
      ...process.env,
      SEPP_VERSION: version,
      SEPP_DIST: join(dir, `dist-${version}`),
      SEPP_SIGNING_CERT: signer.cert,
      SEPP_SIGNING_KEY: signer.key,
      SEPP_BUNDLE_FORMAT: "plain",
      SEPP_SQUASHFS_COMP: "gzip",
      SEPP_PRODUCT: product,
    },
    stdout: "pipe",
    stderr: "pipe",
    timeout: BUILD_TIMEOUT_MS,
  });
  if (r.exitCode !== 0) throw new Error(`build.sh ${version} failed: ${r.stderr.toString().slice(-2000)}`);
}

/** Build (or reuse) 1.0.0 and 1.1.0 for linux-x64 and 1.0.0 for linux-arm64. */
export function ensureBuilds(): Builds {
  const dir = join(tmpdir(), "sepp-ota-builds", sourceKey());
  const b = (version: string, target = "linux-x64") => join(dir, `dist-${version}`, `sepp-${version}-${target}.raucb`);
  const ready = join(dir, "ready");
  if (!existsSync(ready)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const signer = makeSigningCa(join(dir, "vendor"), "test vendor");
    makeSigningCa(join(dir, "stranger"), "stranger");
    build(dir, V_OLD, ["linux-x64", "linux-arm64"], signer, "sepp-test");
    build(dir, V_NEW, ["linux-x64"], signer, "sepp-test");
    const ex = Bun.spawnSync(["rauc", "extract", `--keyring=${signer.keyring}`, b(V_OLD), join(dir, "extract.tmp")], {
      stderr: "pipe",
      stdout: "pipe",
    });
    if (ex.exitCode !== 0) throw new Error(`rauc extract: ${ex.stderr.toString()}`);
    renameSync(join(dir, "extract.tmp", "app.img"), join(dir, "factory.img"));
    rmSync(join(dir, "extract.tmp"), { recursive: true, force: true });
    writeFileSync(ready, "");
  }
  const ca = (n: string) => ({
    keyring: join(dir, n, "keyring.pem"),
    cert: join(dir, n, "signing.crt.pem"),
    key: join(dir, n, "signing.key.pem"),
  });
  return { dir, signer: ca("vendor"), stranger: ca("stranger"), bundle: b, factoryImage: join(dir, "factory.img") };
}
