// hw/keystore-pkcs11.ts — the `pkcs11` keystore backend: the identity key pair lives in the token (generated
// there, CKA_SENSITIVE, CKA_EXTRACTABLE false); CSRs are signed by the token (CKM_ECDSA over a SHA-256/384 digest);
// the TLS private key is sealed with AES-256-GCM under a non-extractable key-encryption key (KEK) in the token
// and only the sealed blob is on disk (<dataDir>/keystore/tls.key.sealed). docs/SECURITY.md explains why the TLS
// key cannot stay in the token (Bun's TLS has no PKCS#11/engine/provider hook).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { x509 } from "../lib/x509.ts";
import { fsyncDir, writeFileAtomic } from "../lib/fs-atomic.ts";
import type { HwConfig, Pkcs11KeystoreConfig } from "./config.ts";
import {
  buildCsr,
  certificateInfo,
  checkLeafKey,
  ensurePrivateDir,
  IDENTITY_LABEL,
  KEK_LABEL,
  normalisePrivateKey,
  parseChain,
  TLS_LABEL,
} from "./keystore-common.ts";
import { curveOf, ecPointToSpki, pinReader, readSealed, tokenCrypto } from "./keystore-pkcs11-util.ts";
import { type Curve, type KeyInfo, type Keystore, KeystoreError, type KeystoreStatus } from "./keystore.ts";
import type { HwLogger } from "./log.ts";
import { CKA, CKC, CKK, CKM, CKO, EC_PARAMS } from "./pkcs11/constants.ts";
import { Pkcs11Error } from "./pkcs11/ffi.ts";
import { Mechanism } from "./pkcs11/structs.ts";
import type { Session } from "./pkcs11/module.ts";
import { Pkcs11Token, TokenUnavailableError } from "./pkcs11/token.ts";
import { formatPkcs11Uri } from "./pkcs11/uri.ts";
import { TlsKeySeal } from "./keystore-pkcs11-seal.ts";
import { wipe } from "./platform.ts";

interface IdentityHandles {
  privateKey: number;
  publicKey: number | null;
  id: Uint8Array;
  curve: Curve;
}

const ECDSA = new Mechanism(CKM.ECDSA);

export class Pkcs11Keystore implements Keystore {
  readonly backend = "pkcs11" as const;
  readonly token: Pkcs11Token;
  readonly #dir: string;
  readonly #log: HwLogger;
  readonly #seal: TlsKeySeal;
  #closed = false;

  private constructor(token: Pkcs11Token, dir: string, log: HwLogger) {
    this.token = token;
    this.#dir = dir;
    this.#log = log;
    this.#seal = new TlsKeySeal(log, (object, type, id) => this.#uri(object, type, id));
  }

  /**
   * Load the module and connect to the token (an absent token or a wrong PIN gives an unhealthy keystore that keeps
   * retrying; hw/pkcs11/token.ts). Throws KeystoreError INVALID for what configuration must fix (module, URI).
   */
  static open(
    cfg: Pkcs11KeystoreConfig,
    dataDir: string,
    log: HwLogger,
    opts: Pick<HwConfig, "retryInitialMs" | "retryMaxMs"> = {},
  ): Pkcs11Keystore {
    const l = log.child({ component: "keystore", backend: "pkcs11" });
    const dir = join(dataDir, "keystore");
    ensurePrivateDir(dir);
    let token: Pkcs11Token;
    try {
      token = Pkcs11Token.open({
        modulePath: cfg.module,
        tokenUri: cfg.tokenUri,
        readPin: pinReader(cfg, dataDir),
        poolSize: cfg.sessionPoolSize,
        log: l,
        ...(opts.retryInitialMs !== undefined ? { retryInitialMs: opts.retryInitialMs } : {}),
        ...(opts.retryMaxMs !== undefined ? { retryMaxMs: opts.retryMaxMs } : {}),
      });
    } catch (e) {
      throw new KeystoreError("INVALID", (e as Error).message);
    }
    return new Pkcs11Keystore(token, dir, l);
  }

  status(): KeystoreStatus {
    const s = this.token.state();
    const out: KeystoreStatus = { backend: "pkcs11", healthy: s.healthy && !this.#closed };
    if (this.#closed) out.detail = "closed";
    else if (s.detail) out.detail = s.detail;
    if (s.token) out.token = s.token;
    return out;
  }

  /** Run a token operation; token and PKCS#11 failures become KeystoreErrors with a clear message. */
  #run<T>(fn: (s: Session) => T): T {
    try {
      return this.token.withSession(fn);
    } catch (e) {
      if (e instanceof KeystoreError) throw e;
      if (e instanceof TokenUnavailableError) throw new KeystoreError("UNAVAILABLE", e.message);
      if (e instanceof Pkcs11Error) throw new KeystoreError("FAILED", e.message);
      throw e;
    }
  }

  #uri(object: string, type: "private" | "public" | "secret-key" | "cert", id?: Uint8Array): string {
    const t = this.token.state().token;
    return formatPkcs11Uri({ ...(t ? { token: t.label } : {}), object, type, ...(id ? { id } : {}) });
  }

  #findIdentity(s: Session): IdentityHandles | null {
    const priv = s.findObjects(
      [
        [CKA.CLASS, CKO.PRIVATE_KEY],
        [CKA.LABEL, IDENTITY_LABEL],
      ],
      2,
    )[0];
    if (priv === undefined) return null;
    const [id, params] = s.getAttributes(priv, [CKA.ID, CKA.EC_PARAMS], true);
    const idv = id ?? new Uint8Array(0);
    const pubs = s.findObjects(
      [[CKA.CLASS, CKO.PUBLIC_KEY], [CKA.LABEL, IDENTITY_LABEL], ...(idv.length ? [[CKA.ID, idv] as const] : [])],
      2,
    );
    return { privateKey: priv, publicKey: pubs[0] ?? null, id: new Uint8Array(idv), curve: curveOf(params ?? null) };
  }

  #identitySpki(s: Session, h: IdentityHandles): Uint8Array {
    if (h.publicKey === null)
      throw new KeystoreError("FAILED", "the identity public key object is missing from the token");
    return ecPointToSpki(s.getAttribute(h.publicKey, CKA.EC_POINT), h.curve);
  }

  #chainPath(): string {
    return join(this.#dir, "identity.chain.pem");
  }
  #sealedPath(): string {
    return join(this.#dir, "tls.key.sealed");
  }

  async listKeys(): Promise<KeyInfo[]> {
    return this.#run((s) => {
      const out: KeyInfo[] = [];
      const idn = this.#findIdentity(s);
      if (idn) {
        const [ext] = s.getAttributes(idn.privateKey, [CKA.EXTRACTABLE], true);
        const info: KeyInfo = {
          label: IDENTITY_LABEL,
          kind: "identity",
          type: idn.curve === "P-256" ? "EC P-256" : "EC P-384",
          backend: "pkcs11",
          uri: this.#uri(IDENTITY_LABEL, "private", idn.id),
          extractable: ext ? ext[0] === 1 : false,
        };
        if (existsSync(this.#chainPath())) {
          const { X509Certificate } = x509();
          info.certificate = certificateInfo(new X509Certificate(readFileSync(this.#chainPath(), "utf8")));
        }
        out.push(info);
      }
      const kek = s.findObjects(
        [
          [CKA.CLASS, CKO.SECRET_KEY],
          [CKA.LABEL, KEK_LABEL],
        ],
        1,
      )[0];
      if (kek !== undefined) {
        const [ext] = s.getAttributes(kek, [CKA.EXTRACTABLE], true);
        out.push({
          label: KEK_LABEL,
          kind: "kek",
          type: "AES-256",
          backend: "pkcs11",
          uri: this.#uri(KEK_LABEL, "secret-key"),
          extractable: ext ? ext[0] === 1 : false,
        });
      }
      if (existsSync(this.#sealedPath())) {
        const blob = readSealed(this.#sealedPath());
        out.push({ label: TLS_LABEL, kind: "tls", type: blob.keyType, backend: "pkcs11", sealed: true });
      }
      return out;
    });
  }

  async generateIdentity(opts: { curve: Curve; replace?: boolean }): Promise<KeyInfo> {
    if (opts.curve !== "P-256" && opts.curve !== "P-384")
      throw new KeystoreError("INVALID", "curve must be P-256 or P-384");
    const info = this.#run((s) => {
      const old = this.#findIdentity(s);
      if (old && !opts.replace)
        throw new KeystoreError("CONFLICT", "an identity key exists; pass replace to generate a new one");
      const id = s.random(16);
      const kp = s.generateKeyPair(
        new Mechanism(CKM.EC_KEY_PAIR_GEN),
        [
          [CKA.CLASS, CKO.PUBLIC_KEY],
          [CKA.KEY_TYPE, CKK.EC],
          [CKA.TOKEN, true],
          [CKA.PRIVATE, false],
          [CKA.VERIFY, true],
          [CKA.LABEL, IDENTITY_LABEL],
          [CKA.ID, id],
          [CKA.EC_PARAMS, EC_PARAMS[opts.curve]],
        ],
        [
          [CKA.CLASS, CKO.PRIVATE_KEY],
          [CKA.KEY_TYPE, CKK.EC],
          [CKA.TOKEN, true],
          [CKA.PRIVATE, true],
          [CKA.SENSITIVE, true],
          [CKA.EXTRACTABLE, false],
          [CKA.SIGN, true],
          [CKA.DECRYPT, false],
          [CKA.DERIVE, false],
          [CKA.LABEL, IDENTITY_LABEL],
          [CKA.ID, id],
        ],
      );
      if (old) {
        // The new pair is in place: remove the old pair and its certificate objects.
        for (const h of [
          old.privateKey,
          old.publicKey,
          ...s.findObjects(
            [
              [CKA.CLASS, CKO.CERTIFICATE],
              [CKA.LABEL, IDENTITY_LABEL],
            ],
            16,
          ),
        ]) {
          if (h !== null && h !== kp.privateKey && h !== kp.publicKey) s.destroyObject(h);
        }
      }
      return { id } as const;
    });
    if (existsSync(this.#chainPath())) {
      rmSync(this.#chainPath(), { force: true });
      fsyncDir(dirname(this.#chainPath()));
    }
    this.#log.info("identity key generated in the token", { curve: opts.curve, replaced: !!opts.replace });
    return {
      label: IDENTITY_LABEL,
      kind: "identity",
      type: opts.curve === "P-256" ? "EC P-256" : "EC P-384",
      backend: "pkcs11",
      uri: this.#uri(IDENTITY_LABEL, "private", info.id),
      extractable: false,
    };
  }

  async createIdentityCsr(opts: { n32Fqdn: string; subject?: string }): Promise<string> {
    const { h, spki } = this.#run((s) => {
      const h = this.#findIdentity(s);
      if (!h) throw new KeystoreError("NOT_FOUND", "no identity key in the token: generate one first");
      return { h, spki: this.#identitySpki(s, h) };
    });
    const { crypto, keys } = tokenCrypto(h.curve, spki, (digest) =>
      this.#run((s) => s.sign(ECDSA, h.privateKey, digest)),
    );
    return buildCsr(keys, h.curve, opts, crypto);
  }

  async importIdentityCertificate(chainPem: string): Promise<KeyInfo> {
    const certs = await parseChain(chainPem);
    const leaf = certs[0]!;
    const { h } = this.#run((s) => {
      const h = this.#findIdentity(s);
      if (!h) throw new KeystoreError("NOT_FOUND", "no identity key in the token: generate one first");
      checkLeafKey(leaf, this.#identitySpki(s, h));
      // The leaf also goes into the token next to its key (same CKA_ID), where PKCS#11 tools expect it.
      for (const old of s.findObjects(
        [
          [CKA.CLASS, CKO.CERTIFICATE],
          [CKA.LABEL, IDENTITY_LABEL],
        ],
        16,
      ))
        s.destroyObject(old);
      s.createObject([
        [CKA.CLASS, CKO.CERTIFICATE],
        [CKA.CERTIFICATE_TYPE, CKC.X_509],
        [CKA.TOKEN, true],
        [CKA.PRIVATE, false],
        [CKA.LABEL, IDENTITY_LABEL],
        [CKA.ID, h.id],
        [CKA.SUBJECT, new Uint8Array(leaf.subjectName.toArrayBuffer())],
        [CKA.VALUE, new Uint8Array(leaf.rawData)],
      ]);
      return { h };
    });
    writeFileAtomic(this.#chainPath(), `${certs.map((c) => c.toString("pem")).join("\n")}\n`, 0o644);
    const info = certificateInfo(leaf);
    this.#log.info("identity certificate imported", { subject: info.subject, notAfter: info.notAfter });
    return {
      label: IDENTITY_LABEL,
      kind: "identity",
      type: h.curve === "P-256" ? "EC P-256" : "EC P-384",
      backend: "pkcs11",
      uri: this.#uri(IDENTITY_LABEL, "private", h.id),
      extractable: false,
      certificate: info,
    };
  }

  async sealTlsKey(privateKeyPem: string): Promise<void> {
    const { pkcs8, type } = normalisePrivateKey(privateKeyPem);
    const plain = new TextEncoder().encode(pkcs8);
    try {
      const blob = this.#run((s) => this.#seal.seal(s, plain, type));
      writeFileAtomic(this.#sealedPath(), `${JSON.stringify(blob)}\n`);
      this.#log.info("TLS private key sealed under the token KEK", { file: this.#sealedPath() });
    } finally {
      wipe(plain);
    }
  }

  async unsealTlsKey(): Promise<string | null> {
    if (!existsSync(this.#sealedPath())) return null;
    const blob = readSealed(this.#sealedPath());
    const plain = this.#run((s) => this.#seal.open(s, blob));
    try {
      return new TextDecoder().decode(plain);
    } finally {
      wipe(plain);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.token.close();
  }
}
