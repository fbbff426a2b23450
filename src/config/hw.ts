// src/config/hw.ts — the configuration file's `keystore` and `aead` members mapped onto hw/'s own configuration
// interface (hw/config.ts), so hw/ never depends on this schema. A member added to either side is a type error
// here until it is mapped.
import type { HwConfig, KeystoreConfig } from "../../hw/index.ts";
import type { SeppConfig } from "./schema.ts";

/** What openHardware() needs for configuration `c`, with `dataDir` = storage.dir resolved. */
export function hwConfigOf(c: SeppConfig, dataDir: string): HwConfig {
  const k = c.keystore;
  const keystore: KeystoreConfig =
    k.backend === "software"
      ? { backend: "software", dir: k.dir }
      : {
          backend: "pkcs11",
          module: k.module,
          tokenUri: k.tokenUri,
          ...(k.pinFile !== undefined ? { pinFile: k.pinFile } : {}),
          ...(k.pinEnv !== undefined ? { pinEnv: k.pinEnv } : {}),
          sessionPoolSize: k.sessionPoolSize,
        };
  return { keystore, aead: c.aead.engine, dataDir };
}

/** Whether two keystore configurations name the same keys: the same directory, or the same token (not the PIN's
 *  source or the session pool's size). A change to another is asked what that one holds (src/sepp.ts). */
export function sameKeystore(a: KeystoreConfig, b: KeystoreConfig): boolean {
  const where = (k: KeystoreConfig) => JSON.stringify(k.backend === "software" ? [k.dir] : [k.module, k.tokenUri]);
  return where(a) === where(b);
}
