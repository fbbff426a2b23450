// src/config/bootstrap.ts — first start and every start: the data directory, the configuration store,
// the admin token and (for the embedded default only) a development PKI.
//
// The bootstrap file (or the embedded config/default.json) is applied only when the store is empty;
// afterwards the running configuration is the one in the store, changed through the admin API.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import defaultConfig from "../../config/default.json" with { type: "json" };
import { parseConfig, type SeppConfig } from "./schema.ts";
import type { ConfigStore } from "./store.ts";
import { openStore, type Recovered, setAsideIfCorrupt } from "./recover.ts";
import { chooseStartVersion, type FailedStart, type Prepared, type StartChoice } from "./start.ts";
import { isInlinePem } from "./pem.ts";
import { apiChangeGuard } from "./guards.ts";
import { readAdminToken } from "./secret-file.ts";
import type { Logger } from "../log.ts";
import { createRootCa, issueSeppCert } from "../pki/devpki.ts";
import { fsyncDir, removeStaleTemps, tempPathFor, writeFileAtomic } from "../../lib/fs-atomic.ts";
import { settleReserve } from "../../lib/storage-reserve.ts";

export interface Bootstrapped<T = undefined> {
  store: ConfigStore;
  dataDir: string;
  tokenPath: string;
  token: string;
  /** what `prepare` built for the version that runs, and how it was chosen (src/config/start.ts) */
  start: StartChoice<T>;
  /** the store was corrupt and was rebuilt from its snapshot at this start (src/config/recover.ts) */
  recovered?: Recovered;
}

const pathIn = (dataDir: string, p: string) => (isAbsolute(p) ? p : join(dataDir, p));

/**
 * The development PKI of the embedded default: one root for our PLMNs and our SEPP certificate. Crash-safe: all
 * files are written into a temporary directory next to the PKI directory, which is then renamed into place, so a
 * power cut leaves either no PKI or a complete one (a partial one is refused at start). Leftover temporary
 * directories of an interrupted first start are removed by bootstrap() before this runs.
 */
async function ensureDevPki(c: SeppConfig, dataDir: string, log: Logger): Promise<void> {
  const files = [c.tls.certificate, c.tls.privateKey, ...c.tls.trustAnchors.flatMap((a) => a.roots)];
  if (files.some(isInlinePem)) return;
  const paths = files.map((f) => pathIn(dataDir, f));
  if (paths.every(existsSync)) return;
  if (paths.some(existsSync))
    throw new Error(`development PKI incomplete in ${dataDir}: some of ${files.join(", ")} are missing`);
  // all files in one directory of their own (the embedded default: <dataDir>/pki), which must be absent or empty
  const pkiDir = dirname(paths[0]!);
  if (!paths.every((p) => dirname(p) === pkiDir))
    throw new Error(`development PKI files must be in one directory: ${files.join(", ")}`);
  if (existsSync(pkiDir) && readdirSync(pkiDir).length > 0)
    throw new Error(`development PKI directory ${pkiDir} is not empty but holds no PKI`);
  const root = await createRootCa({
    name: `sepp development root ${c.identity.plmnIds.map((p) => `${p.mcc}-${p.mnc}`).join(" ")}`,
  });
  const leaf = await issueSeppCert(root, { dnsNames: [c.identity.n32Fqdn] });
  const parent = dirname(pkiDir);
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const tmp = tempPathFor(pkiDir);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    const inTmp = (p: string) => join(tmp, relative(pkiDir, p));
    writeFileAtomic(inTmp(pathIn(dataDir, c.tls.certificate)), leaf.chainPem, 0o644);
    writeFileAtomic(inTmp(pathIn(dataDir, c.tls.privateKey)), leaf.keyPem, 0o600);
    for (const a of c.tls.trustAnchors)
      for (const r of a.roots) writeFileAtomic(inTmp(pathIn(dataDir, r)), root.certPem, 0o644);
    // rename(2) replaces an empty directory atomically; the parent's fsync makes the rename durable
    renameSync(tmp, pkiDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fsyncDir(parent);
  log.info("created development PKI (not for production)", { dir: pkiDir, fqdn: c.identity.n32Fqdn });
}

/**
 * Data directory, store, configuration version and admin token of a start. `prepare` loads and checks what the
 * start needs for a configuration (keystore, TLS material: src/config/startcheck.ts); a stored version it refuses
 * is replaced by the one that last started (chooseStartVersion). Without `prepare` only the schema is checked.
 */
export async function bootstrap<T = undefined>(opts: {
  configPath?: string;
  log: Logger;
  cwd?: string;
  prepare?: (c: SeppConfig, dataDir: string) => Promise<Prepared<T>>;
  /** the newest version already failed to start in this process (chooseStartVersion) */
  failed?: FailedStart;
}): Promise<Bootstrapped<T>> {
  const { log } = opts;
  const source = opts.configPath ? `bootstrap file ${opts.configPath}` : "embedded default";
  let raw: unknown;
  if (opts.configPath) {
    try {
      raw = JSON.parse(readFileSync(opts.configPath, "utf8"));
    } catch (e) {
      throw new Error(`cannot read configuration ${opts.configPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else {
    raw = structuredClone(defaultConfig);
  }
  const parsed = parseConfig(raw);
  if (!parsed.ok)
    throw new Error(
      `invalid configuration (${source}): ${parsed.issues.map((i) => `${i.path}: ${i.reason}`).join("; ")}`,
    );
  const dataDir = resolve(opts.cwd ?? process.cwd(), parsed.config.storage.dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // an interrupted earlier start may have left temporary files or directories of atomic writes (lib/fs-atomic.ts)
  const stale = removeStaleTemps(dataDir);
  if (stale.length) log.warn("removed leftovers of an interrupted write", { dir: dataDir, names: stale });

  // a full partition must not keep us from starting: give back the reserve before the store is opened (SQLite
  // writes to open it), or make one while there is room (lib/storage-reserve.ts)
  const reserve = settleReserve(dataDir);
  if (reserve === "released")
    log.error("the data partition is full: its reserve was given back so that the SEPP starts; free space there", {
      dir: dataDir,
      event: "storage-full",
    });
  else if (reserve === "no-room")
    log.warn("no room on the data partition for its reserve: a full partition would keep the SEPP from starting", {
      dir: dataDir,
    });
  // migrated to this firmware's schema; a corrupt store rebuilt from the snapshot of its configuration (recover.ts)
  const { store, recovered } = openStore(dataDir, log);
  // the telescopic label table is the data path's (every worker opens it): checked once here, before they start
  setAsideIfCorrupt(join(dataDir, "telescopic.db"), "telescopic label table", log);
  if (store.empty) {
    if (!opts.configPath) await ensureDevPki(parsed.config, dataDir, log);
    const r = store.apply(raw, source);
    if (!r.ok) throw new Error(`invalid configuration (${source})`);
    log.info("configuration bootstrapped", { source, version: r.version });
  } else {
    log.info("configuration loaded from store", {
      version: store.latest()?.version,
      bootstrap: "ignored (store not empty)",
    });
  }
  const prepare = opts.prepare ?? (async () => ({ ok: true, value: undefined as T }));
  let start: StartChoice<T>;
  try {
    start = await chooseStartVersion(store, log, (c) => prepare(c, dataDir), opts.failed);
  } catch (e) {
    store.close();
    throw e;
  }
  // what a change through the API may not do (storage.dir, the OTA keyring, the programs and library the SEPP runs)
  store.addGuard(apiChangeGuard);

  const tokenPath = pathIn(dataDir, store.config.admin.tokenFile);
  let token: string;
  if (existsSync(tokenPath)) {
    const read = readAdminToken(tokenPath);
    if ("issue" in read) throw new Error(`admin token file ${tokenPath}: ${read.issue}`);
    token = read.token;
  } else {
    token = randomBytes(32).toString("base64url");
    const tokenDir = dirname(tokenPath);
    mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
    if (tokenDir !== dataDir) removeStaleTemps(tokenDir);
    writeFileAtomic(tokenPath, `${token}\n`, 0o600);
    log.info("created admin token", { file: tokenPath });
  }
  return { store, dataDir, tokenPath, token, start, ...(recovered ? { recovered } : {}) };
}
