// hw/keystore-pkcs11-util.ts — the pure parts of the pkcs11 keystore: where the user PIN comes from, the token's
// EC point as a SubjectPublicKeyInfo, the curve of CKA_EC_PARAMS, and the file format of the sealed TLS key.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { Pkcs11KeystoreConfig } from "./config.ts";
import { type Curve, type KeyInfo, KeystoreError } from "./keystore.ts";
import { EC_PARAMS } from "./pkcs11/constants.ts";

/** AAD prefix of the sealed TLS key (followed by the KEK's CKA_ID in hex): binds the blob to its KEK. */
export const SEAL_AAD_PREFIX = "sepp tls key v1|";
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

/** The curve named by CKA_EC_PARAMS (DER OID); only P-256 and P-384 are ours. */
export function curveOf(ecParams: Uint8Array | null): Curve {
  const hex = ecParams ? Buffer.from(ecParams).toString("hex") : "";
  if (hex === Buffer.from(EC_PARAMS["P-256"]).toString("hex")) return "P-256";
  if (hex === Buffer.from(EC_PARAMS["P-384"]).toString("hex")) return "P-384";
  throw new KeystoreError("FAILED", "identity key on an unsupported curve");
}

/** Read the user PIN from pinFile (relative to dataDir) or the pinEnv variable, as bytes. Never logged. */
export function pinReader(cfg: Pick<Pkcs11KeystoreConfig, "pinFile" | "pinEnv">, dataDir: string): () => Uint8Array {
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

/**
 * A WebCrypto-shaped object for @peculiar/x509 whose sign() hashes here and runs CKM_ECDSA in the token through
 * `signDigest`; it exports only the identity public key (`spki`). The private key never leaves the token.
 */
export function tokenCrypto(
  curve: Curve,
  spki: Uint8Array,
  signDigest: (digest: Uint8Array) => Uint8Array,
): { crypto: Crypto; keys: { privateKey: CryptoKey; publicKey: CryptoKey } } {
  const algorithm = { name: "ECDSA", namedCurve: curve };
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
        typeof alg.hash === "string" ? alg.hash : (alg.hash?.name ?? (curve === "P-256" ? "SHA-256" : "SHA-384"));
      const digest = createHash(hashName.replace("-", "").toLowerCase()).update(toBytes(data)).digest();
      return signDigest(digest).slice().buffer;
    },
  };
  return { crypto: { subtle } as unknown as Crypto, keys: { privateKey, publicKey } };
}

/** The bytes of a WebCrypto BufferSource, without a copy. */
function toBytes(d: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (d instanceof Uint8Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return new Uint8Array(d);
}

/** The sealed TLS key as read from disk: AES-256-GCM under the token KEK. */
export interface SealedBlob {
  iv: Uint8Array;
  ct: Uint8Array;
  tag: Uint8Array;
  keyType: KeyInfo["type"];
}

/** Read and check `tls.key.sealed` (bounded size, known version and algorithm, 12-octet IV, 16-octet tag). */
export function readSealed(path: string): SealedBlob {
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
