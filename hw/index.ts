// hw/index.ts — the entry point of hw/, the only door to hardware: openHardware() builds the keystore and the
// N32-f AEAD engine from hw/'s own configuration (hw/config.ts), and this module re-exports what the application
// uses. The application (src/) imports hw/ only here and through the two interfaces (hw/keystore.ts, hw/aead.ts);
// hw/ never imports src/ (test/imports.test.ts checks both).
import { resolve } from "node:path";
import { type AeadEngine, SoftwareAeadEngine } from "./aead.ts";
import { Pkcs11AeadEngine, type Pkcs11AeadHandoff } from "./aead-pkcs11.ts";
import { Pkcs11WorkerAeadEngine } from "./aead-pkcs11-worker.ts";
import type { HwConfig } from "./config.ts";
import type { Keystore } from "./keystore.ts";
import { Pkcs11Keystore } from "./keystore-pkcs11.ts";
import { SoftwareKeystore, softwareTlsKeyIn } from "./keystore-software.ts";
import type { HwLogger } from "./log.ts";
import type { Pkcs11Token } from "./pkcs11/token.ts";

export type { AeadEngine, AeadKey, SealResult } from "./aead.ts";
export { AeadKeyError, SoftwareAeadEngine } from "./aead.ts";
export type {
  AeadEngineKind,
  HwConfig,
  KeystoreConfig,
  Pkcs11KeystoreConfig,
  SoftwareKeystoreConfig,
} from "./config.ts";
export type { CertificateInfo, Curve, KeyInfo, Keystore, KeystoreErrorCode, KeystoreStatus } from "./keystore.ts";
export { KeystoreError } from "./keystore.ts";
export type { HwLogFields, HwLogger, HwLogLevel } from "./log.ts";
export { disableCoreDumps, wipe } from "./platform.ts";

/**
 * What a data-path worker (a Bun Worker of the same process) needs to run the AEAD engine in its thread: a
 * structured clone for postMessage, with no key and no PIN (openAeadForWorker).
 */
export type AeadWorkerHandoff = { engine: "software" } | Pkcs11AeadHandoff;

/** The hardware of one start: the keystore and the AEAD engine, and how to release both. */
export interface Hardware {
  readonly keystore: Keystore;
  readonly aead: AeadEngine;
  /** For each data-path worker: how it runs the same AEAD engine in its thread (openAeadForWorker). */
  aeadForWorkers(): AeadWorkerHandoff;
  /**
   * pkcs11: the N32-f keys in the token now (secret-key session objects of this process: the main thread's and
   * every worker's); null for the software engine or while the token is not usable.
   */
  aeadTokenKeys(): number | null;
  /**
   * pkcs11: close the token session data-path worker `index` left open when it died (its N32-f keys go with it);
   * call it once the worker has ended and before its replacement starts. False when there was none to close.
   */
  closeDeadWorkerSession(index: number): boolean;
  /** Close the AEAD engine (pkcs11: its session, and with it every N32-f key in the token), then the keystore. */
  close(): Promise<void>;
}

/** openHardware() failed; `part` is the configuration member at fault. The message carries no secret. */
export class HardwareError extends Error {
  override name = "HardwareError";
  constructor(
    readonly part: "keystore" | "aead",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Open the keystore HwConfig.keystore names and the AEAD engine HwConfig.aead names on it. The pkcs11 engine runs
 * in the pkcs11 keystore's token (its own session), so it needs that keystore. A token that is absent or refuses
 * the PIN does not fail this call: the keystore reports unhealthy and retries, and the engine waits for the token
 * (docs/SECURITY.md "Failures"). What configuration must fix (module, URI, engine without token) throws a
 * HardwareError, after closing whatever was opened.
 *
 * @example The composition root (src/sepp.ts), with the configuration mapped by src/config/hw.ts
 * ```ts
 * const hw = await openHardware(
 *   { keystore: { backend: "pkcs11", module: "/usr/lib/softhsm/libsofthsm2.so", tokenUri: "pkcs11:token=sepp",
 *       pinFile: "token.pin", sessionPoolSize: 4 }, aead: "pkcs11", dataDir: "/var/lib/sepp" },
 *   log.child({ component: "hw" }),
 * );
 * try {
 *   console.log(hw.keystore.status().healthy, hw.aead.name); // true "pkcs11"
 * } finally {
 *   await hw.close();
 * }
 * ```
 */
export async function openHardware(cfg: HwConfig, log: HwLogger): Promise<Hardware> {
  let keystore: Keystore;
  let token: Pkcs11Token | null = null;
  try {
    if (cfg.keystore.backend === "software") {
      keystore = new SoftwareKeystore(resolve(cfg.dataDir, cfg.keystore.dir), log);
    } else {
      const ks = Pkcs11Keystore.open(cfg.keystore, cfg.dataDir, log, cfg);
      keystore = ks;
      token = ks.token;
    }
  } catch (e) {
    throw new HardwareError("keystore", e instanceof Error ? e.message : String(e), { cause: e });
  }
  let aead: AeadEngine;
  let closeAead = () => {};
  let p11: Pkcs11AeadEngine | null = null;
  try {
    if (cfg.aead === "software") aead = new SoftwareAeadEngine();
    else if (token === null) throw new Error("the pkcs11 AEAD engine needs the pkcs11 keystore");
    else {
      const engine = new Pkcs11AeadEngine(token);
      aead = p11 = engine;
      closeAead = () => engine.close();
    }
  } catch (e) {
    await keystore.close();
    throw new HardwareError("aead", e instanceof Error ? e.message : String(e), { cause: e });
  }
  let closed = false;
  return {
    keystore,
    aead,
    aeadForWorkers: () => p11?.workerHandoff() ?? { engine: "software" },
    aeadTokenKeys: () => p11?.sessionKeys() ?? null,
    closeDeadWorkerSession: (index) => p11?.closeBorrowerSession(index) ?? false,
    async close() {
      if (closed) return;
      closed = true;
      closeAead();
      await keystore.close();
    },
  };
}

/**
 * The TLS key sealed in the keystore `cfg` names, asked before that keystore is opened (a configuration change checked
 * before the start that opens it). software: the key file in its directory, read only; pkcs11: a token is opened
 * once, at start, so another token's content cannot be known before: throws HardwareError with the reason (the
 * caller asks the running keystore when the token is the same).
 */
export async function sealedTlsKeyOf(cfg: HwConfig): Promise<string | null> {
  if (cfg.keystore.backend === "software") return softwareTlsKeyIn(resolve(cfg.dataDir, cfg.keystore.dir));
  throw new HardwareError(
    "keystore",
    "another PKCS#11 token is opened at the next start, not before: point tls.privateKey at a file while the keystore changes",
  );
}

/** The AEAD engine of one data-path worker, and how to release it. */
export interface WorkerAead {
  readonly aead: AeadEngine;
  /** pkcs11: close the worker's own session (its keys go with it); never C_Finalize (the main thread's). */
  close(): void;
}

/**
 * Build, inside a data-path worker, the AEAD engine the main thread runs (Hardware.aeadForWorkers, crossed by
 * postMessage). pkcs11: the module the main thread initialized is borrowed, not initialized again; the worker's own
 * session opens at the first key, already logged in (login state is the process's); the main thread alone handles
 * the token's loss and return (docs/ARCHITECTURE.md "Worker model"). `onFailure` hears each failed PKCS#11 call, so
 * that the main thread can probe the token.
 *
 * @example In the worker (src/workers/worker-main.ts)
 * ```ts
 * const { aead, close } = openAeadForWorker(init.aead, () => post({ op: "aead-failure" }));
 * const key = aead.importKey(rawKey); // a session object in the worker's own session
 * rawKey.fill(0);
 * close(); // at stop
 * ```
 */
export function openAeadForWorker(h: AeadWorkerHandoff, onFailure?: (e: Error) => void, index = -1): WorkerAead {
  if (h.engine === "software") return { aead: new SoftwareAeadEngine(), close() {} };
  // `index`: the worker's number, under which its session is recorded (Hardware.closeDeadWorkerSession)
  const engine = new Pkcs11WorkerAeadEngine(h, onFailure, index);
  return { aead: engine, close: () => engine.close() };
}
