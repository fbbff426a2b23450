// src/config/schema/tls.ts — N32 TLS material and per-PLMN trust anchors (TS 33.501 13.1.2), the keystore and
// the AEAD engine (what hw/ is built from, src/config/hw.ts).
import * as v from "valibot";
import { PemSource, PlmnIdSchema } from "./common.ts";

const TrustAnchorSchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  /** PLMN IDs whose certificates must chain to these roots; a PLMN ID belongs to at most one anchor (TS 33.501 13.1.2). */
  plmnIds: v.pipe(v.array(PlmnIdSchema), v.minLength(1)),
  roots: v.pipe(v.array(PemSource), v.minLength(1)),
  /** CRLs (PEM or paths) of this anchor's CAs: a revoked certificate is refused on N32-c and N32-f (P11 "Trust") */
  crls: v.optional(v.array(PemSource), []),
});

export const TlsSchema = v.strictObject({
  /** Our N32 certificate chain (leaf first) */
  certificate: PemSource,
  /** Our private key: PEM/path (software keystore) or "keystore:tls" (sealed in the keystore) */
  privateKey: PemSource,
  minVersion: v.optional(v.picklist(["TLSv1.2", "TLSv1.3"]), "TLSv1.3"),
  /** Highest TLS version on N32 (listeners and N32-f clients); TLSv1.2 only to run as an old partner in interop tests */
  maxVersion: v.optional(v.picklist(["TLSv1.2", "TLSv1.3"]), "TLSv1.3"),
  trustAnchors: v.pipe(v.array(TrustAnchorSchema), v.minLength(1)),
  /** Roots for Roaming Intermediary certificates: a separate trust store, never used for TLS (TS 33.501 5.9.3.2). */
  riTrustAnchors: v.optional(v.array(PemSource), []),
  /** CRLs (PEM or paths) of the RI CAs: revoked RI certificates are refused on N32-f and in RI information (P11) */
  riCrls: v.optional(v.array(PemSource), []),
});

export const KeystoreSchema = v.optional(
  v.variant("backend", [
    v.strictObject({ backend: v.literal("software"), dir: v.optional(v.string(), "keys") }),
    v.strictObject({
      backend: v.literal("pkcs11"),
      module: v.pipe(v.string(), v.minLength(1)),
      /** RFC 7512 URI of the token, e.g. pkcs11:token=sepp */
      tokenUri: v.pipe(v.string(), v.regex(/^pkcs11:/, "must be a pkcs11: URI")),
      /** Where the user PIN comes from: never the configuration file itself */
      pinFile: v.optional(v.string()),
      pinEnv: v.optional(v.string()),
      sessionPoolSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)), 4),
    }),
  ]),
  { backend: "software", dir: "keys" },
);

/** Which AEAD engine carries N32-f AES-GCM */
export const AeadSchema = v.optional(
  v.strictObject({ engine: v.optional(v.picklist(["software", "pkcs11"]), "software") }),
  {},
);
