// hw/keystore-software.ts — the `software` keystore backend: key files under `<dataDir>/<keystore.dir>` (0700),
// each 0600 and written atomically (lib/fs-atomic.ts). For an embedded gateway without a token.
import { webcrypto, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, statSync, rmSync } from "node:fs";
import { join } from "node:path";
import { x509 } from "../lib/x509.ts";
import { fsyncDir, writeFileAtomic } from "../lib/fs-atomic.ts";
import {
  buildCsr,
  certificateInfo,
  checkLeafKey,
  ensurePrivateDir,
  IDENTITY_LABEL,
  keyType,
  normalisePrivateKey,
  parseChain,
  TLS_LABEL,
} from "./keystore-common.ts";
import { type Curve, type KeyInfo, type Keystore, KeystoreError, type KeystoreStatus } from "./keystore.ts";
import type { HwLogger } from "./log.ts";
import { wipe } from "./platform.ts";

/**
 * Key files under `<dataDir>/<keystore.dir>` (0700), each 0600, written atomically:
 * identity.key.pem (PKCS#8), identity.chain.pem, tls.key.pem (PKCS#8). For an embedded gateway without a token.
 */
export class SoftwareKeystore implements Keystore {
  readonly backend = "software" as const;
  readonly #dir: string;
  readonly #log: HwLogger;
  #closed = false;

  constructor(dir: string, log: HwLogger) {
    this.#dir = dir;
    this.#log = log.child({ component: "keystore", backend: "software" });
    ensurePrivateDir(dir);
  }

  #path(name: string): string {
    return join(this.#dir, name);
  }

  status(): KeystoreStatus {
    if (this.#closed) return { backend: "software", healthy: false, detail: "closed" };
    try {
      const st = statSync(this.#dir);
      if (!st.isDirectory()) return { backend: "software", healthy: false, detail: `${this.#dir} is not a directory` };
      return { backend: "software", healthy: true };
    } catch (e) {
      return {
        backend: "software",
        healthy: false,
        detail: `key directory unavailable: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
      };
    }
  }

  #readIdentity(): KeyObject | null {
    const p = this.#path("identity.key.pem");
    if (!existsSync(p)) return null;
    return createPrivateKey(readFileSync(p, "utf8"));
  }

  async listKeys(): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    const id = this.#readIdentity();
    if (id) {
      const info: KeyInfo = { label: IDENTITY_LABEL, kind: "identity", type: keyType(id), backend: "software" };
      const chain = this.#path("identity.chain.pem");
      if (existsSync(chain)) {
        const { X509Certificate } = x509();
        info.certificate = certificateInfo(new X509Certificate(readFileSync(chain, "utf8")));
      }
      out.push(info);
    }
    const tls = this.#path("tls.key.pem");
    if (existsSync(tls))
      out.push({
        label: TLS_LABEL,
        kind: "tls",
        type: keyType(createPrivateKey(readFileSync(tls, "utf8"))),
        backend: "software",
        sealed: false,
      });
    return out;
  }

  async generateIdentity(opts: { curve: Curve; replace?: boolean }): Promise<KeyInfo> {
    if (this.#readIdentity() && !opts.replace)
      throw new KeystoreError("CONFLICT", "an identity key exists; pass replace to generate a new one");
    const kp = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: opts.curve }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const der = new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", kp.privateKey));
    const pem = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" }).export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    wipe(der);
    // The old chain belongs to the old key: removed (durably) first, so a power cut in between leaves the old key
    // without a chain, never the new key with the old key's chain.
    if (existsSync(this.#path("identity.chain.pem"))) {
      rmSync(this.#path("identity.chain.pem"), { force: true });
      fsyncDir(this.#dir);
    }
    writeFileAtomic(this.#path("identity.key.pem"), pem);
    this.#log.info("identity key generated", { curve: opts.curve });
    return {
      label: IDENTITY_LABEL,
      kind: "identity",
      type: opts.curve === "P-256" ? "EC P-256" : "EC P-384",
      backend: "software",
    };
  }

  async #identityKeys(): Promise<{
    keys: { privateKey: CryptoKey; publicKey: CryptoKey };
    curve: Curve;
    spki: Uint8Array;
  }> {
    const k = this.#readIdentity();
    if (!k) throw new KeystoreError("NOT_FOUND", "no identity key: generate one first");
    const curve: Curve = k.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : "P-256";
    const pkcs8 = k.export({ type: "pkcs8", format: "der" });
    const spki = new Uint8Array(createPublicKey(k).export({ type: "spki", format: "der" }));
    try {
      const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve: curve }, false, [
        "sign",
      ]);
      const publicKey = await webcrypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, true, [
        "verify",
      ]);
      return { keys: { privateKey, publicKey }, curve, spki };
    } finally {
      wipe(pkcs8);
    }
  }

  async createIdentityCsr(opts: { n32Fqdn: string; subject?: string }): Promise<string> {
    const { keys, curve } = await this.#identityKeys();
    return buildCsr(keys, curve, opts, webcrypto as unknown as Crypto);
  }

  async importIdentityCertificate(chainPem: string): Promise<KeyInfo> {
    const { spki, curve } = await this.#identityKeys();
    const certs = await parseChain(chainPem);
    checkLeafKey(certs[0]!, spki);
    writeFileAtomic(this.#path("identity.chain.pem"), `${certs.map((c) => c.toString("pem")).join("\n")}\n`);
    const info = certificateInfo(certs[0]!);
    this.#log.info("identity certificate imported", { subject: info.subject, notAfter: info.notAfter });
    return {
      label: IDENTITY_LABEL,
      kind: "identity",
      type: curve === "P-256" ? "EC P-256" : "EC P-384",
      backend: "software",
      certificate: info,
    };
  }

  async sealTlsKey(privateKeyPem: string): Promise<void> {
    const { pkcs8 } = normalisePrivateKey(privateKeyPem);
    writeFileAtomic(this.#path("tls.key.pem"), pkcs8);
    this.#log.info("TLS private key stored", { file: "tls.key.pem" });
  }

  async unsealTlsKey(): Promise<string | null> {
    return softwareTlsKeyIn(this.#dir);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** The TLS key a software keystore in `dir` holds, or null; reads only (no directory made or checked): what a
 *  change of `keystore.dir` would start with, asked before that start. */
export function softwareTlsKeyIn(dir: string): string | null {
  const p = join(dir, "tls.key.pem");
  if (!existsSync(p)) return null;
  return readFileSync(p, "utf8");
}
