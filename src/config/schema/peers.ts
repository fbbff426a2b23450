// src/config/schema/peers.ts — one N32 peer: identity, endpoints, capabilities, policies, Roaming
// Intermediaries (P5, P11), profile settings, data-path limits and screening.
import * as v from "valibot";
import { Fqdn, HttpsUri, PemSource, PlmnIdSchema, Port, PosInt } from "./common.ts";
import {
  JweSuite,
  N32PurposeSchema,
  ProtectionPolicySchema,
  SecurityCapabilityName,
  SecurityProfileRefSchema,
} from "./policy.ts";
import { PeerScreeningSchema } from "./screening.ts";

/** A Roaming Intermediary (IPX provider) whose modifications a peer association accepts (TS 33.501 13.2.2.2 step 3). */
export const RoamingIntermediarySchema = v.strictObject({
  /** ipxProviderId: the RI's FQDN */
  ipxProviderId: Fqdn,
  /** "own": an RI on our side (cRI/pRI we contract), announced by us; "peer": the partner's RI, expected from the peer. */
  side: v.picklist(["own", "peer"]),
  /** RI certificates (PEM or path), issued under tls.riTrustAnchors; only for JWS verification, never for TLS. */
  certificates: v.optional(v.array(PemSource), []),
  /** base64 DER SubjectPublicKeyInfo of P-256 keys (N32-PROFILE P5) */
  rawPublicKeys: v.optional(v.array(v.string()), []),
  /** Whether this RI is the first hop allowed to modify our outgoing messages (metaData.authorizedIpxId). */
  authorized: v.optional(v.boolean(), false),
});

/**
 * One of our own RI next hops toward a peer on N32-f (N32-PROFILE P11, TS 33.501 13.2.1): the IPX provider's
 * N32-f proxy. PRINS N32-f is hop-by-hop TLS; toward the RI the request keeps :authority = the peer's N32-f FQDN
 * and port (forward proxy), the TLS server check is the RI's (RI trust store, dNSName = ipxProviderId).
 */
export const N32fNextHopSchema = v.strictObject({
  /** https://host:port of the RI's N32-f proxy */
  uri: HttpsUri,
  /** the RI's identity: a dNSName of its TLS certificate (its FQDN, TS 29.573 ipxProviderId) */
  ipxProviderId: Fqdn,
  /** roots its TLS certificate must chain to (PEM or paths); default: every root of tls.riTrustAnchors */
  trustAnchors: v.optional(v.array(PemSource)),
});

/**
 * One of our own RIs through which N32-c reaches a peer (N32-PROFILE P11): an HTTP/1.1 CONNECT proxy over TLS. The
 * TLS connection to it is checked like an N32-f next hop's (RI trust store, dNSName = ipxProviderId); inside the
 * tunnel runs the end-to-end mutual TLS with the peer SEPP.
 */
export const N32cViaSchema = v.strictObject({
  /** https://host:port of the RI's CONNECT proxy */
  uri: HttpsUri,
  /** the RI's identity: a dNSName of its TLS certificate */
  ipxProviderId: Fqdn,
  /** roots its TLS certificate must chain to (PEM or paths); default: every root of tls.riTrustAnchors */
  trustAnchors: v.optional(v.array(PemSource)),
});

/** Per-peer settings of N32-PROFILE.md, with the profile's defaults. */
export const PeerProfileSchema = v.strictObject({
  /** P1: TLS 1.2 exporter context: "empty" (zero-length context) or "none" */
  tls12ExporterContext: v.optional(v.picklist(["empty", "none"]), "empty"),
  /** P1: which N32-f context ID is fed to the KDF */
  kdfContextId: v.optional(v.picklist(["initiator", "responder"]), "initiator"),
  /** P1: whether TLS 1.2 is acceptable on N32 with this peer */
  allowTls12: v.optional(v.boolean(), false),
  /** P7: reaction to a protection policy mismatch */
  onPolicyMismatch: v.optional(v.picklist(["reject", "warn"]), "reject"),
  /** P6/P11: announce RI-relevant parameters over N32-f to this peer; off by default */
  announceToRi: v.optional(v.boolean()),
});

export const PeerSchema = v.strictObject({
  /** Local name of the peer, used in the admin API path: [a-z0-9-]{1,63} */
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "peer id must match [a-z0-9][a-z0-9-]{0,62}")),
  /** The peer SEPP's N32 FQDN (its `sender` and a dNSName of its certificate) */
  n32Fqdn: Fqdn,
  plmnIds: v.pipe(v.array(PlmnIdSchema), v.minLength(1)),
  /** The peer's N32-c apiRoot (https://host:port), where we send /n32c-handshake/v1/… */
  n32cUri: HttpsUri,
  /** The peer's N32-f apiRoot; defaults to n32cUri */
  n32fUri: v.optional(HttpsUri),
  /** Whether this SEPP starts the N32-c handshake with the peer (on start-up and before key life ends). */
  initiate: v.optional(v.boolean(), true),
  /** Security capabilities allowed with this peer, in our priority order (TS 33.501 13.5). */
  securityCapabilities: v.optional(v.pipe(v.array(SecurityCapabilityName), v.minLength(1)), ["PRINS", "TLS"]),
  /** JWE cipher suites allowed with this peer, in priority order (TS 33.210: A128GCM shall, A256GCM should). */
  jweCipherSuites: v.optional(v.pipe(v.array(JweSuite), v.minLength(1)), ["A256GCM", "A128GCM"]),
  intendedUsagePurpose: v.optional(v.pipe(v.array(N32PurposeSchema), v.minLength(1)), ["ROAMING"]),
  /** Our protection policy towards this peer: only adds protection to the defaults (N32-PROFILE P4). */
  protectionPolicy: v.optional(ProtectionPolicySchema),
  /** The policy agreed with the partner, to detect a mismatch with what it sends on N32-c (TS 33.501 13.2.3.6). */
  partnerPolicy: v.optional(ProtectionPolicySchema),
  /**
   * P11: the security profile used with this peer instead of exchanging full policies (`n32-default` v1 is built
   * in, others come from `securityProfiles`); excludes protectionPolicy (the profile is our policy toward the peer).
   */
  securityProfile: v.optional(SecurityProfileRefSchema),
  roamingIntermediaries: v.optional(v.array(RoamingIntermediarySchema), []),
  /** P11: our own RI next hops on N32-f toward this peer, tried in order; empty: straight to the peer's N32-f endpoint */
  n32fNextHops: v.optional(v.pipe(v.array(N32fNextHopSchema), v.maxLength(8)), []),
  /** P11: our own RIs through which N32-c reaches this peer (HTTP CONNECT), tried in order; empty: straight to n32cUri */
  n32cVia: v.optional(v.pipe(v.array(N32cViaSchema), v.maxLength(8)), []),
  profile: v.optional(PeerProfileSchema, {}),
  /** Data path settings (egress allow-list, limits): see docs/CONFIG.md */
  n32f: v.optional(
    v.strictObject({
      allowedTargets: v.optional(
        v.array(
          v.strictObject({
            host: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
            port: v.optional(Port),
            scheme: v.optional(v.picklist(["http", "https"])),
            apiPrefixes: v.optional(v.array(v.pipe(v.string(), v.regex(/^\//, "API prefix must start with /")))),
          }),
        ),
        [],
      ),
      maxPendingRequests: v.optional(PosInt, 1024),
      maxRequestsPerSecond: v.optional(PosInt, 2000),
    }),
    {},
  ),
  /** Border screening for this peer (src/screening/, docs/CONFIG.md) */
  screening: v.optional(PeerScreeningSchema, {}),
});

export type PeerConfig = v.InferOutput<typeof PeerSchema>;
export type PeerProfile = v.InferOutput<typeof PeerProfileSchema>;
export type N32fNextHopConfig = v.InferOutput<typeof N32fNextHopSchema>;
export type N32cViaConfig = v.InferOutput<typeof N32cViaSchema>;
export type RoamingIntermediaryConfig = v.InferOutput<typeof RoamingIntermediarySchema>;
