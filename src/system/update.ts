// src/system/update.ts — one OTA update at a time: the bundle is spooled to disk (bounded), checked (signature
// against the configured keyring, `compatible`, anti-rollback minimum) and only then handed to RAUC, which writes
// the inactive slot and switches the primary. docs/UPDATES.md.
import { mkdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { BundleInfo, RaucOutcome } from "../../os/rauc.ts";
import type { SystemConfig } from "./config.ts";
import { checkManifest, type Refusal, refusalFromInfoError } from "./bundle-check.ts";
import { freeBytes, LOW_FREE_BYTES, storageFull } from "../../lib/storage-reserve.ts";

export type UpdateState = "idle" | "receiving" | "checking" | "installing" | "installed" | "failed";

export interface UpdateStatus {
  state: UpdateState;
  /** 0–100 while installing (RAUC's own progress) */
  progress: number;
  message?: string;
  /** the bundle being (or last) installed */
  bundle?: { version: string; compatible: string };
  lastError?: Refusal;
  startedAt?: string;
  finishedAt?: string;
}

/** What the update needs from RAUC (os/rauc.ts). */
export interface RaucPort {
  info(bundle: string, keyring: string): Promise<RaucOutcome<BundleInfo>>;
  install(bundle: string, onProgress: (percent: number, message: string) => void): Promise<RaucOutcome<null>>;
}

export type UploadResult = { ok: true; status: UpdateStatus } | { ok: false; refusal: Refusal };

const BUNDLE_NAME = "upload.raucb";

export class UpdateService {
  #status: UpdateStatus = { state: "idle", progress: 0 };
  #busy = false;
  #install: Promise<void> | null = null;

  constructor(
    private readonly d: {
      config: () => SystemConfig;
      dataDir: string;
      rauc: RaucPort;
      log: { info(m: string, f?: Record<string, unknown>): void; warn(m: string, f?: Record<string, unknown>): void };
    },
  ) {
    // a bundle left over by a process killed during an upload or install is never resumed. Only the spool's own
    // file goes: system.spoolDir is the operator's to name, and a start that emptied it whole deleted what else was
    // there (spoolDir "pki" took the TLS material, and the start after it failed for good: ninth session)
    try {
      rmSync(join(this.spoolDir(), BUNDLE_NAME), { force: true });
    } catch (e) {
      // never a reason not to start (spoolDir naming a file: the change check refuses that now)
      this.d.log.warn("update spool: a leftover bundle could not be removed", { error: String(e) });
    }
  }

  spoolDir(): string {
    const s = this.d.config().spoolDir;
    return isAbsolute(s) ? s : join(this.d.dataDir, s);
  }

  keyring(): string {
    const k = this.d.config().keyring;
    return isAbsolute(k) ? k : join(this.d.dataDir, k);
  }

  status(): UpdateStatus {
    return structuredClone(this.#status);
  }

  /** Resolves when a running install has ended (tests, shutdown). */
  async settled(): Promise<void> {
    await this.#install;
  }

  /**
   * Take in one bundle. Refusals: 409 while another update runs, 413 above maxBundleBytes (declared or streamed),
   * 400 for a bundle that fails its checks. On success RAUC installs in the background (GET /v1/system/update).
   */
  async upload(body: ReadableStream<Uint8Array> | null, declaredLength: number | undefined): Promise<UploadResult> {
    const cfg = this.d.config();
    if (this.#busy)
      return {
        ok: false,
        refusal: { status: 409, cause: "UPDATE_IN_PROGRESS", detail: `an update is ${this.#status.state}` },
      };
    if (declaredLength !== undefined && declaredLength > cfg.maxBundleBytes)
      return { ok: false, refusal: tooLarge(cfg.maxBundleBytes) };
    if (!body) return { ok: false, refusal: { status: 400, cause: "MANDATORY_IE_MISSING", detail: "no bundle" } };
    this.#busy = true;
    this.#status = { state: "receiving", progress: 0, startedAt: new Date().toISOString() };
    const dir = this.spoolDir();
    const path = join(dir, BUNDLE_NAME);
    let handedOver = false;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // a bundle may not fill the partition: LOW_FREE_BYTES stay free for the store (the spool is usually on the
      // data partition; a full one answered changes 500 and kept the next start from opening the store)
      const room = freeBytes(dir) - LOW_FREE_BYTES;
      if (declaredLength !== undefined && declaredLength > room) return this.#fail(noRoom(declaredLength, room));
      const received = await spool(body, path, Math.min(cfg.maxBundleBytes, Math.max(0, room)));
      if (received === "too-large")
        return this.#fail(cfg.maxBundleBytes <= room ? tooLarge(cfg.maxBundleBytes) : noRoom(undefined, room));
      this.#status.state = "checking";
      const info = await this.d.rauc.info(path, this.keyring());
      if (!info.ok) return this.#fail(refusalFromInfoError(info.error));
      const refusal = checkManifest(info.value, cfg);
      if (refusal) return this.#fail(refusal);
      this.#status = { ...this.#status, state: "installing", bundle: info.value, message: "handed to RAUC" };
      this.d.log.info("update: bundle accepted, installing", { ...info.value, bytes: received });
      handedOver = true;
      this.#install = this.#runInstall(path);
      return { ok: true, status: this.status() };
    } catch (e) {
      if (storageFull(e)) return this.#fail(noRoom(undefined, freeBytes(dir)));
      return this.#fail({
        status: 500,
        cause: "SYSTEM_FAILURE",
        detail: `update failed: ${e instanceof Error ? e.message : String(e)}`,
      });
    } finally {
      if (!handedOver) {
        rmSync(path, { force: true });
        this.#busy = false;
      }
    }
  }

  async #runInstall(path: string): Promise<void> {
    try {
      const r = await this.d.rauc.install(path, (progress, message) => {
        this.#status.progress = progress;
        this.#status.message = message;
      });
      const finishedAt = new Date().toISOString();
      if (r.ok) {
        this.#status = { ...this.#status, state: "installed", progress: 100, message: "reboot to run it", finishedAt };
        this.d.log.info("update: installed into the inactive slot; it boots next", { ...this.#status.bundle });
      } else {
        this.#status = {
          ...this.#status,
          state: "failed",
          finishedAt,
          lastError: { status: 500, cause: "INSTALL_FAILED", detail: `RAUC: ${r.error}` },
        };
        this.d.log.warn("update: RAUC refused or failed the install", { error: r.error });
      }
    } finally {
      rmSync(path, { force: true });
      this.#busy = false;
    }
  }

  #fail(refusal: Refusal): UploadResult {
    this.#status = { ...this.#status, state: "failed", lastError: refusal, finishedAt: new Date().toISOString() };
    this.d.log.warn("update refused", { cause: refusal.cause, detail: refusal.detail });
    return { ok: false, refusal };
  }
}

const tooLarge = (max: number): Refusal => ({
  status: 413,
  cause: "PAYLOAD_TOO_LARGE",
  detail: `bundle over ${max} bytes (system.maxBundleBytes)`,
});

const noRoom = (declared: number | undefined, room: number): Refusal => ({
  status: 507,
  cause: "INSUFFICIENT_STORAGE",
  detail: `no room for the bundle${declared === undefined ? "" : ` of ${declared} bytes`} on system.spoolDir: ${Math.max(0, room)} bytes may be used (1 MiB stays free for the configuration store)`,
});

/** Stream the body to `path` (0600), stopping at `max` bytes; fsync before returning. */
async function spool(body: ReadableStream<Uint8Array>, path: string, max: number): Promise<number | "too-large"> {
  const fh = await open(path, "w", 0o600);
  let n = 0;
  try {
    for await (const chunk of body) {
      n += chunk.byteLength;
      if (n > max) return "too-large";
      await fh.write(chunk);
    }
    await fh.sync();
    return n;
  } finally {
    await fh.close();
  }
}
