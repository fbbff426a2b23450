// hw/config.ts — hw/'s own configuration interface. The application maps its configuration file onto it
// (src/config/hw.ts); hw/ does not know the file, its schema or its validation library.

/** Key files under `<dataDir>/<dir>` (0700), each 0600. For a gateway without a token. */
export interface SoftwareKeystoreConfig {
  backend: "software";
  /** Key directory, relative to `HwConfig.dataDir` (or absolute). */
  dir: string;
}

/** Keys in a PKCS#11 token (docs/SECURITY.md); the PIN comes from a file or the environment, never from here. */
export interface Pkcs11KeystoreConfig {
  backend: "pkcs11";
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** RFC 7512 URI of the token, e.g. `pkcs11:token=sepp`; a URI carrying `pin-value` is refused. */
  tokenUri: string;
  /** File holding the user PIN (relative to `HwConfig.dataDir`, or absolute); one of pinFile, pinEnv. */
  pinFile?: string;
  /** Environment variable holding the user PIN. */
  pinEnv?: string;
  /** Sessions kept open for keystore operations (the AEAD engine has its own). */
  sessionPoolSize: number;
}

export type KeystoreConfig = SoftwareKeystoreConfig | Pkcs11KeystoreConfig;

/** Which engine carries N32-f AES-GCM: in process, or in the token (needs the pkcs11 keystore). */
export type AeadEngineKind = "software" | "pkcs11";

/** Everything openHardware() needs to know. */
export interface HwConfig {
  keystore: KeystoreConfig;
  aead: AeadEngineKind;
  /** The directory relative paths resolve against (the SEPP's storage.dir, resolved). */
  dataDir: string;
  /** Recovery backoff of the pkcs11 token: first wait (default 500 ms), doubling up to retryMaxMs (default 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}
