// hw/keystore-pkcs11.ts — the `pkcs11` keystore backend: the identity key pair lives in the token (generated
// there, CKA_SENSITIVE, CKA_EXTRACTABLE false); CSRs are signed by the token (CKM_ECDSA over a SHA-256/384 digest);
// the TLS private key is sealed with AES-256-GCM under a non-extractable key-encryption key (KEK) in the token
// and only the sealed blob is on disk (<dataDir>/keystore/tls.key.sealed). docs/SECURITY.md explains why the TLS
// key cannot stay in the token (Bun's TLS has no PKCS#11/engine/provider hook).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import * as x509 from "@peculiar/x509";
import type { SeppConfig } from "../src/config/schema.ts";
import type { Logger } from "../src/log.ts";
import {
  buildCsr,
  certificateInfo,
  checkLeafKey,
  ensurePrivateDir,
  IDENTITY_LABEL,
  KEK_LABEL,
  KeystoreError,
  normalisePrivateKey,
  parseChain,
  TLS_LABEL,
  type Curve,
  type KeyInfo,
  type Keystore,
  type KeystoreOptions,
  type KeystoreStatus,
} from "./keystore.ts";
import { CKA, CKC, CKK, CKM, CKO, EC_PARAMS } from "./pkcs11/constants.ts";
import { Mechanism, Pkcs11Error } from "./pkcs11/ffi.ts";
import { GcmMechanism, detectGcmLayout, type GcmLayout } from "./pkcs11/gcm.ts";
import type { Session } from "./pkcs11/module.ts";
import { Pkcs11Token, TokenUnavailableError } from "./pkcs11/token.ts";
import { formatPkcs11Uri } from "./pkcs11/uri.ts";
import { wipe } from "./platform.ts";
import { fsyncDir, writeFileAtomic } from "../src/fsutil.ts";

type Pkcs11Config = Extract<SeppConfig["keystore"], { backend: "pkcs11" }>;

const SEAL_AAD_PREFIX = "sepp tls key v1|";
const MAX_PIN = 256;

/** SubjectPublicKeyInfo DER prefixes for uncompressed EC points (RFC 5480): ecPublicKey + namedCurve, BIT STRING. */
const SPKI_PREFIX: Record<Curve, Uint8Array> = {
  "P-256": Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"),
  "P-384": Buffer.from("3076301006072a8648ce3d020106052b81040022036200", "hex"),
};
const POINT_LEN: Record<Curve, number> = { "P-256": 65, "P-384": 97 };

/** CKA_EC_POINT is a DER OCTET STRING around the point (v2.40); some modules return the bare point. */
export function ecPointToSpki(ecPoint: Uint8Array, curve: Curve): Uint8Array {
  const n = POINT_LEN[curve];
  let point = ecPoint;
  if (ecPoint.length === n + 2 && ecPoint[0] === 0x04 && ecPoint[1] === n) point = ecPoint.subarray(2);
  else if (ecPoint.length === n + 3 && ecPoint[0] === 0x04 && ecPoint[1] === 0x81 && ecPoint[2] === n)
    point = ecPoint.subarray(3);
  if (point.length !== n || point[0] !== 0x04)
    throw new KeystoreError("FAILED", "the token returned an EC point in an unknown encoding");
  const out = new Uint8Array(SPKI_PREFIX[curve].length + n);
  out.set(SPKI_PREFIX[curve], 0);
  out.set(point, SPKI_PREFIX[curve].length);
  return out;
}

function curveOf(ecParams: Uint8Array | null): Curve {
  const hex = ecParams ? Buffer.from(ecParams).toString("hex") : "";
  if (hex === Buffer.from(EC_PARAMS["P-256"]).toString("hex")) return "P-256";
  if (hex === Buffer.from(EC_PARAMS["P-384"]).toString("hex")) return "P-384";
  throw new KeystoreError("FAILED", "identity key on an unsupported curve");
}

/** Read the user PIN from pinFile (relative to dataDir) or the pinEnv variable, as bytes. Never logged. */
export function pinReader(cfg: Pick<Pkcs11Config, "pinFile" | "pinEnv">, dataDir: string): () => Uint8Array {
  return () => {
    let pin: Uint8Array;
    if (cfg.pinFile) {
      const p = isAbsolute(cfg.pinFile) ? cfg.pinFile : resolve(dataDir, cfg.pinFile);
      let raw: Buffer;
      try {
        raw = readFileSync(p);
      } catch (e) {
        throw new KeystoreError(
          "UNAVAILABLE",
          `cannot read the PIN file ${p}: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
        );
      }
      let end = raw.length;
      while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d)) end--; // a trailing newline is not part of the PIN
      pin = new Uint8Array(raw.subarray(0, end));
      raw.fill(0);
    } else if (cfg.pinEnv) {
      const v = process.env[cfg.pinEnv];
      if (v === undefined) throw new KeystoreError("UNAVAILABLE", `the PIN variable ${cfg.pinEnv} is not set`);
      pin = new TextEncoder().encode(v);
    } else {
      throw new KeystoreError("INVALID", "pkcs11 keystore needs pinFile or pinEnv");
    }
    if (pin.length === 0 || pin.length > MAX_PIN) {
      pin.fill(0);
      throw new KeystoreError("INVALID", "the PIN is empty or too long");
    }
    return pin;
  };
}

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
  readonly #log: Logger;
  #layout: GcmLayout | null = null;
  #closed = false;

  private constructor(token: Pkcs11Token, dir: string, log: Logger) {
    this.token = token;
    this.#dir = dir;
    this.#log = log;
  }

  static open(cfg: Pkcs11Config, dataDir: string, log: Logger, opts: KeystoreOptions = {}): Pkcs11Keystore {
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
        if (existsSync(this.#chainPath()))
          info.certificate = certificateInfo(new x509.X509Certificate(readFileSync(this.#chainPath(), "utf8")));
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

  /** A WebCrypto-shaped object whose sign() runs CKM_ECDSA in the token, for @peculiar/x509. */
  #tokenCrypto(
    h: IdentityHandles,
    spki: Uint8Array,
  ): { crypto: Crypto; keys: { privateKey: CryptoKey; publicKey: CryptoKey } } {
    const algorithm = { name: "ECDSA", namedCurve: h.curve };
    const privateKey = { algorithm, type: "private", extractable: false, usages: ["sign"] } as unknown as CryptoKey;
    const publicKey = { algorithm, type: "public", extractable: true, usages: ["verify"] } as unknown as CryptoKey;
    const subtle = {
      exportKey: async (format: string, key: CryptoKey) => {
        if (format !== "spki" || key !== publicKey)
          throw new KeystoreError("FAILED", "only the identity public key can be exported");
        return spki.slice().buffer;
      },
      sign: async (alg: { hash?: string | { name: string } }, key: CryptoKey, data: ArrayBuffer | ArrayBufferView) => {
        if (key !== privateKey) throw new KeystoreError("FAILED", "unknown signing key");
        const hashName =
          typeof alg.hash === "string" ? alg.hash : (alg.hash?.name ?? (h.curve === "P-256" ? "SHA-256" : "SHA-384"));
        const digest = createHash(hashName.replace("-", "").toLowerCase()).update(toBytes(data)).digest();
        const sig = this.#run((s) => s.sign(ECDSA, h.privateKey, digest));
        return sig.slice().buffer;
      },
    };
    return { crypto: { subtle } as unknown as Crypto, keys: { privateKey, publicKey } };
  }

  async createIdentityCsr(opts: { n32Fqdn: string; subject?: string }): Promise<string> {
    const { h, spki } = this.#run((s) => {
      const h = this.#findIdentity(s);
      if (!h) throw new KeystoreError("NOT_FOUND", "no identity key in the token: generate one first");
      return { h, spki: this.#identitySpki(s, h) };
    });
    const { crypto, keys } = this.#tokenCrypto(h, spki);
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

  /** The KEK (AES-256 token object, sensitive, non-extractable); created on first use. */
  #kek(s: Session, create: boolean): { handle: number; id: Uint8Array } | null {
    const h = s.findObjects(
      [
        [CKA.CLASS, CKO.SECRET_KEY],
        [CKA.LABEL, KEK_LABEL],
      ],
      1,
    )[0];
    if (h !== undefined)
      return { handle: h, id: new Uint8Array(s.getAttributes(h, [CKA.ID], true)[0] ?? new Uint8Array(0)) };
    if (!create) return null;
    const id = s.random(16);
    const handle = s.generateKey(new Mechanism(CKM.AES_KEY_GEN), [
      [CKA.CLASS, CKO.SECRET_KEY],
      [CKA.KEY_TYPE, CKK.AES],
      [CKA.VALUE_LEN, 32],
      [CKA.TOKEN, true],
      [CKA.PRIVATE, true],
      [CKA.SENSITIVE, true],
      [CKA.EXTRACTABLE, false],
      [CKA.ENCRYPT, true],
      [CKA.DECRYPT, true],
      [CKA.WRAP, true],
      [CKA.UNWRAP, true],
      [CKA.LABEL, KEK_LABEL],
      [CKA.ID, id],
    ]);
    this.#log.info("key-encryption key generated in the token", { label: KEK_LABEL });
    return { handle, id };
  }

  #gcm(s: Session): GcmMechanism {
    if (this.#layout === null) {
      this.#layout = detectGcmLayout(s, (raw) =>
        s.createObject([
          [CKA.CLASS, CKO.SECRET_KEY],
          [CKA.KEY_TYPE, CKK.AES],
          [CKA.TOKEN, false],
          [CKA.SENSITIVE, true],
          [CKA.EXTRACTABLE, false],
          [CKA.ENCRYPT, true],
          [CKA.DECRYPT, true],
          [CKA.VALUE, raw],
        ]),
      );
    }
    return new GcmMechanism(this.#layout);
  }

  async sealTlsKey(privateKeyPem: string): Promise<void> {
    const { pkcs8, type } = normalisePrivateKey(privateKeyPem);
    const plain = new TextEncoder().encode(pkcs8);
    try {
      const blob = this.#run((s) => {
        const kek = this.#kek(s, true)!;
        const iv = s.random(12);
        const aad = new TextEncoder().encode(SEAL_AAD_PREFIX + Buffer.from(kek.id).toString("hex"));
        const out = s.encrypt(this.#gcm(s).set(iv, aad, 128), kek.handle, plain, plain.length + 16);
        return {
          v: 1,
          alg: "pkcs11-aes-256-gcm",
          kek: this.#uri(KEK_LABEL, "secret-key", kek.id),
          keyType: type,
          iv: Buffer.from(iv).toString("base64"),
          ct: Buffer.from(out.subarray(0, plain.length)).toString("base64"),
          tag: Buffer.from(out.subarray(plain.length)).toString("base64"),
        };
      });
      writeFileAtomic(this.#sealedPath(), `${JSON.stringify(blob)}\n`);
      this.#log.info("TLS private key sealed under the token KEK", { file: this.#sealedPath() });
    } finally {
      wipe(plain);
    }
  }

  async unsealTlsKey(): Promise<string | null> {
    if (!existsSync(this.#sealedPath())) return null;
    const blob = readSealed(this.#sealedPath());
    const plain = this.#run((s) => {
      const kek = this.#kek(s, false);
      if (!kek)
        throw new KeystoreError(
          "NOT_FOUND",
          "the key-encryption key is not in the token: the sealed TLS key cannot be opened",
        );
      const aad = new TextEncoder().encode(SEAL_AAD_PREFIX + Buffer.from(kek.id).toString("hex"));
      const input = new Uint8Array(blob.ct.length + blob.tag.length);
      input.set(blob.ct, 0);
      input.set(blob.tag, blob.ct.length);
      const r = s.decrypt(this.#gcm(s).set(blob.iv, aad, 128), kek.handle, input, input.length);
      if (r.rv !== 0)
        throw new KeystoreError(
          "FAILED",
          `the sealed TLS key does not open under the token KEK (${new Pkcs11Error("C_Decrypt", r.rv).code})`,
        );
      return r.data;
    });
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

function toBytes(d: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (d instanceof Uint8Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return new Uint8Array(d);
}

interface SealedBlob {
  iv: Uint8Array;
  ct: Uint8Array;
  tag: Uint8Array;
  keyType: KeyInfo["type"];
}

function readSealed(path: string): SealedBlob {
  let j: { v?: unknown; alg?: unknown; iv?: unknown; ct?: unknown; tag?: unknown; keyType?: unknown };
  try {
    const text = readFileSync(path, "utf8");
    if (text.length > 256 * 1024) throw new Error("too large");
    j = JSON.parse(text);
  } catch (e) {
    throw new KeystoreError("FAILED", `sealed TLS key file unreadable: ${(e as Error).message}`);
  }
  if (
    j.v !== 1 ||
    j.alg !== "pkcs11-aes-256-gcm" ||
    typeof j.iv !== "string" ||
    typeof j.ct !== "string" ||
    typeof j.tag !== "string"
  )
    throw new KeystoreError("FAILED", "sealed TLS key file has an unknown format");
  const iv = new Uint8Array(Buffer.from(j.iv, "base64"));
  const tag = new Uint8Array(Buffer.from(j.tag, "base64"));
  if (iv.length !== 12 || tag.length !== 16)
    throw new KeystoreError("FAILED", "sealed TLS key file has a bad IV or tag");
  const types = ["EC P-256", "EC P-384", "RSA", "EC", "other"];
  return {
    iv,
    tag,
    ct: new Uint8Array(Buffer.from(j.ct, "base64")),
    keyType: (types.includes(j.keyType as string) ? j.keyType : "other") as KeyInfo["type"],
  };
}
