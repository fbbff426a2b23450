// hw/pkcs11/gcm.ts — CK_GCM_PARAMS, the one place where PKCS#11 vendors disagree about AES-GCM.
//
// The v2.40 specification text shows CK_GCM_PARAMS as {pIv, ulIvLen, pAAD, ulAADLen, ulTagBits}; the v2.40
// header files (and v3.0) add ulIvBits after ulIvLen. Modules implement one or the other, and a module that
// expects the other layout may not notice: it reads the AAD pointer as ulIvBits and gives wrong results. So the
// layout is chosen by a known-answer test against node:crypto (detectGcmLayout), never assumed.
import { createCipheriv } from "node:crypto";
import { CKM, CKR } from "./constants.ts";
import { addr, Mechanism, putUlong, ULONG } from "./structs.ts";
import type { Session } from "./module.ts";

export type GcmLayout = "with-ivbits" | "without-ivbits";
export const GCM_LAYOUTS: readonly GcmLayout[] = ["with-ivbits", "without-ivbits"];

/**
 * A reusable CK_MECHANISM {CKM_AES_GCM, CK_GCM_PARAMS}. set() points it at `iv` and `aad`; the caller keeps both
 * alive until the C_EncryptInit/C_DecryptInit that uses it returns (the calls are synchronous).
 */
export class GcmMechanism {
  readonly params: Uint8Array;
  readonly mechanism: Mechanism;
  readonly #dv: DataView;
  constructor(readonly layout: GcmLayout) {
    this.params = new Uint8Array((layout === "with-ivbits" ? 6 : 5) * ULONG);
    this.#dv = new DataView(this.params.buffer);
    this.mechanism = new Mechanism(CKM.AES_GCM, this.params);
  }
  set(iv: Uint8Array, aad: Uint8Array, tagBits: number): Mechanism {
    const dv = this.#dv;
    let o = 0;
    putUlong(dv, o, addr(iv));
    o += ULONG;
    putUlong(dv, o, iv.length);
    o += ULONG;
    if (this.layout === "with-ivbits") {
      putUlong(dv, o, iv.length * 8);
      o += ULONG;
    }
    putUlong(dv, o, addr(aad));
    o += ULONG;
    putUlong(dv, o, aad.length);
    o += ULONG;
    putUlong(dv, o, tagBits);
    return this.mechanism;
  }
}

/**
 * Did C_Decrypt with CKM_AES_GCM fail because the tag did not verify? PKCS#11 v3.0 says CKR_AEAD_DECRYPT_FAILED,
 * v2.40 modules mostly CKR_ENCRYPTED_DATA_INVALID, and SoftHSM 2.6 CKR_GENERAL_ERROR. The last one is ambiguous,
 * so it counts as a bad tag only while the token is still present (`tokenPresent` probes C_GetTokenInfo).
 */
export function isTagFailure(rv: number, tokenPresent: () => boolean): boolean {
  if (
    rv === CKR.AEAD_DECRYPT_FAILED ||
    rv === CKR.ENCRYPTED_DATA_INVALID ||
    rv === CKR.ENCRYPTED_DATA_LEN_RANGE ||
    rv === CKR.SIGNATURE_INVALID
  )
    return true;
  if (rv === CKR.GENERAL_ERROR || rv === CKR.FUNCTION_FAILED) return tokenPresent();
  return false;
}

// A fixed known-answer input (not secret: it only picks the struct layout).
const KAT_KEY = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const KAT_IV = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
const KAT_AAD = new TextEncoder().encode("sepp gcm layout probe");
const KAT_PT = new TextEncoder().encode("PKCS#11 CK_GCM_PARAMS");

function expected(): Uint8Array {
  const c = createCipheriv("aes-128-gcm", KAT_KEY, KAT_IV, { authTagLength: 16 });
  c.setAAD(KAT_AAD);
  const ct = Buffer.concat([c.update(KAT_PT), c.final(), c.getAuthTag()]);
  return new Uint8Array(ct);
}

/**
 * Find the CK_GCM_PARAMS layout the module implements: encrypt a known answer with a throwaway session key under
 * each layout and keep the one that equals node:crypto. `importKey` creates the AES session object.
 * Throws when neither matches (the module cannot be used for AES-GCM).
 */
export function detectGcmLayout(session: Session, importKey: (raw: Uint8Array) => number): GcmLayout {
  const want = expected();
  const key = importKey(KAT_KEY.slice());
  const failures: string[] = [];
  try {
    for (const layout of GCM_LAYOUTS) {
      const m = new GcmMechanism(layout);
      try {
        const got = session.encrypt(m.set(KAT_IV, KAT_AAD, 128), key, KAT_PT, KAT_PT.length + 16);
        if (got.length === want.length && got.every((b, i) => b === want[i])) return layout;
        failures.push(`${layout}: wrong result`);
      } catch (e) {
        const rv = (e as { rv?: number }).rv;
        if (rv !== CKR.MECHANISM_PARAM_INVALID && rv !== CKR.ARGUMENTS_BAD && rv !== CKR.MECHANISM_INVALID) throw e;
        failures.push(`${layout}: ${(e as Error).message}`);
      }
    }
  } finally {
    session.destroyObject(key);
  }
  throw new Error(
    `the PKCS#11 module's AES-GCM does not match node:crypto under any CK_GCM_PARAMS layout (${failures.join("; ")})`,
  );
}
