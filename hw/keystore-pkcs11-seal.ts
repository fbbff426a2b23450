// hw/keystore-pkcs11-seal.ts — the TLS private key sealed under the token's key-encryption key (N32 TLS key,
// docs/SECURITY.md): AES-256-GCM in the token under a non-extractable, sensitive KEK (created on first use), the
// aad binding the blob to that KEK's CKA_ID. Only the sealed blob leaves the token; the caller writes and wipes.
import { Buffer } from "node:buffer";
import { KEK_LABEL, type normalisePrivateKey } from "./keystore-common.ts";
import { type readSealed, SEAL_AAD_PREFIX } from "./keystore-pkcs11-util.ts";
import { KeystoreError } from "./keystore.ts";
import type { HwLogger } from "./log.ts";
import { CKA, CKK, CKM, CKO } from "./pkcs11/constants.ts";
import { Pkcs11Error } from "./pkcs11/ffi.ts";
import { Mechanism } from "./pkcs11/structs.ts";
import { GcmMechanism, detectGcmLayout, type GcmLayout } from "./pkcs11/gcm.ts";
import type { Session } from "./pkcs11/module.ts";

type ObjectUri = (object: string, type: "secret-key", id: Uint8Array) => string;

/** Seals and opens the TLS key in a token session (Pkcs11Keystore runs it under its session and error mapping). */
export class TlsKeySeal {
  #layout: GcmLayout | null = null;

  constructor(
    private readonly log: HwLogger,
    private readonly uri: ObjectUri,
  ) {}

  /** The KEK (AES-256 token object, sensitive, non-extractable); created on first use. */
  kek(s: Session, create: boolean): { handle: number; id: Uint8Array } | null {
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
    this.log.info("key-encryption key generated in the token", { label: KEK_LABEL });
    return { handle, id };
  }

  gcm(s: Session): GcmMechanism {
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

  /** The sealed blob of `plain` (a PKCS#8 PEM's bytes) under the KEK, created when absent. */
  seal(s: Session, plain: Uint8Array, keyType: ReturnType<typeof normalisePrivateKey>["type"]) {
    const kek = this.kek(s, true)!;
    const iv = s.random(12);
    const aad = new TextEncoder().encode(SEAL_AAD_PREFIX + Buffer.from(kek.id).toString("hex"));
    const out = s.encrypt(this.gcm(s).set(iv, aad, 128), kek.handle, plain, plain.length + 16);
    return {
      v: 1,
      alg: "pkcs11-aes-256-gcm",
      kek: this.uri(KEK_LABEL, "secret-key", kek.id),
      keyType,
      iv: Buffer.from(iv).toString("base64"),
      ct: Buffer.from(out.subarray(0, plain.length)).toString("base64"),
      tag: Buffer.from(out.subarray(plain.length)).toString("base64"),
    };
  }

  /** The plaintext of a sealed blob (the caller wipes it); KeystoreError when the KEK is gone or the tag fails. */
  open(s: Session, blob: ReturnType<typeof readSealed>): Uint8Array {
    const kek = this.kek(s, false);
    if (!kek)
      throw new KeystoreError(
        "NOT_FOUND",
        "the key-encryption key is not in the token: the sealed TLS key cannot be opened",
      );
    const aad = new TextEncoder().encode(SEAL_AAD_PREFIX + Buffer.from(kek.id).toString("hex"));
    const input = new Uint8Array(blob.ct.length + blob.tag.length);
    input.set(blob.ct, 0);
    input.set(blob.tag, blob.ct.length);
    const r = s.decrypt(this.gcm(s).set(blob.iv, aad, 128), kek.handle, input, input.length);
    if (r.rv !== 0)
      throw new KeystoreError(
        "FAILED",
        `the sealed TLS key does not open under the token KEK (${new Pkcs11Error("C_Decrypt", r.rv).code})`,
      );
    return r.data;
  }
}
