// src/config/schema.ts — the one valibot schema for the whole SEPP configuration.
//
// Every change (bootstrap file, PUT /v1/config, peer CRUD) is validated whole against this schema and
// the cross-field checks in checkConfig(); a change that fails is refused with every reason and changes
// nothing. Objects are strict: an unknown (mistyped) member is an error, not silently ignored.
// docs/CONFIG.md documents each member.
import * as v from "valibot";
import bodyTable from "../openapi/bodies.table.json" with { type: "json" };
import { SystemSchema } from "../system/config.ts";

const FQDN_RE = /^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}\.?$/; // TS 29.571 Fqdn

export const Fqdn = v.pipe(v.string(), v.minLength(4), v.maxLength(253), v.regex(FQDN_RE, "not an FQDN"));
export const PlmnIdSchema = v.strictObject({
  mcc: v.pipe(v.string(), v.regex(/^\d{3}$/, "mcc must be 3 digits")),
  mnc: v.pipe(v.string(), v.regex(/^\d{2,3}$/, "mnc must be 2 or 3 digits")),
});
const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const Host = v.pipe(v.string(), v.minLength(1), v.maxLength(253));
/** A PEM text ("-----BEGIN …") or a path to a PEM file (relative paths are relative to storage.dir). */
export const PemSource = v.pipe(v.string(), v.minLength(1), v.maxLength(65536));
const HttpsUri = v.pipe(v.string(), v.url(), v.regex(/^https:\/\//, "must be an https:// URI"), v.maxLength(2048));
const PosInt = v.pipe(v.number(), v.integer(), v.minValue(1));

export const SecurityCapabilityName = v.picklist(["PRINS", "TLS"]);
export const JweSuite = v.picklist(["A256GCM", "A128GCM"]);
export const N32PurposeSchema = v.picklist([
  "ROAMING",
  "INTER_PLMN_MOBILITY",
  "SMS_INTERCONNECT",
  "ROAMING_TEST",
  "INTER_PLMN_MOBILITY_TEST",
  "SMS_INTERCONNECT_TEST",
  "SNPN_INTERCONNECT",
  "SNPN_INTERCONNECT_TEST",
  "DISASTER_ROAMING",
  "DISASTER_ROAMING_TEST",
]);
const IeTypeSchema = v.picklist([
  "UEID",
  "LOCATION",
  "KEY_MATERIAL",
  "AUTHENTICATION_MATERIAL",
  "AUTHORIZATION_TOKEN",
  "OTHER",
  "NONSENSITIVE",
]);
const IeInfoSchema = v.strictObject({
  ieLoc: v.picklist(["URI_PARAM", "HEADER", "BODY", "MULTIPART_BINARY"]),
  ieType: IeTypeSchema,
  reqIe: v.optional(v.string()),
  rspIe: v.optional(v.string()),
  isModifiable: v.optional(v.boolean()),
  isModifiableByIpx: v.optional(v.record(v.string(), v.boolean())),
});
/** TS 29.573 ProtectionPolicy (wire shape, including the legacy member name IeList). */
export const ProtectionPolicySchema = v.strictObject({
  apiIeMappingList: v.pipe(
    v.array(
      v.strictObject({
        apiSignature: v.union([v.string(), v.strictObject({ callbackType: v.string() })]),
        apiMethod: v.picklist(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE"]),
        IeList: v.pipe(v.array(IeInfoSchema), v.minLength(1)),
      }),
    ),
    v.minLength(1),
  ),
  dataTypeEncPolicy: v.optional(v.pipe(v.array(IeTypeSchema), v.minLength(1))),
});

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

/**
 * A security profile (TS 33.501 13.2.2.2, the alternative to exchanging policies in steps 2a/2c; N32-PROFILE P11):
 * a named, versioned set of data-type encryption and modification policies both operators configure. Its id and
 * version travel on N32-c (`securityProfile`), never its content.
 */
const SecurityProfileId = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "profile id like n32-default"),
);
const SecurityProfileVersion = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 31 - 1));
export const SecurityProfileRefSchema = v.strictObject({ id: SecurityProfileId, version: SecurityProfileVersion });
export const SecurityProfileSchema = v.strictObject({
  id: SecurityProfileId,
  version: SecurityProfileVersion,
  /** the profile's policies: additions to the P4 defaults (encrypted data types, IEs, isModifiable[ByIpx]) */
  protectionPolicy: ProtectionPolicySchema,
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

/** Border screening (GSMA FS.36 categories; src/screening/): "off", "log" (security event only) or "refuse". */
const ScreeningMode = v.picklist(["off", "log", "refuse"]);
const ApiName = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,62}$/, "API name like nudm-sdm"));
const ApiVersion = v.pipe(v.string(), v.regex(/^v\d{1,3}$/, "API version like v1"));
const ResourceTemplate = v.pipe(
  v.string(),
  v.maxLength(512),
  v.regex(/^\/[^?#\s]*$/, "resource template like /{supi}/am-data"),
);
const HttpMethodName = v.picklist(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
/** Category 1: one inbound operation (API, version, method, resource template) or callback type. */
export const ScreeningOperationSchema = v.union([
  v.strictObject({
    api: v.optional(ApiName),
    version: v.optional(ApiVersion),
    method: HttpMethodName,
    resource: ResourceTemplate,
  }),
  v.strictObject({ callbackType: v.pipe(v.string(), v.minLength(1), v.maxLength(128)) }),
]);
/** Category 2: an IE carrying a PLMN identity, and whose it must be. */
export const PlmnRuleSchema = v.strictObject({
  role: v.optional(v.picklist(["home", "visited"])),
  api: v.optional(ApiName),
  version: v.optional(ApiVersion),
  method: v.optional(HttpMethodName),
  resource: v.optional(ResourceTemplate),
  in: v.picklist(["path", "query", "header", "body"]),
  /** path variable, query parameter or header name; for "body" an RFC 6901 JSON pointer (form bodies: /field) */
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  kind: v.picklist(["plmnId", "plmnIdList", "servingNetworkName", "supi", "accessToken"]),
  expect: v.picklist(["peer", "own"]),
});
/** APIs with generated body validators, by 3GPP service name (`Nudm_SDM`) or API name (`nudm-sdm`) */
const BodyApis = v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(64))), v.maxLength(64));
export const BODY_VALIDATION_APIS: ReadonlySet<string> = new Set(
  [...bodyTable.operations, ...bodyTable.callbacks].flatMap((e) =>
    "api" in e && e.api ? [e.service, e.api] : [e.service],
  ),
);
const RatePerSecond = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000));
export const ScreeningSchema = v.strictObject({
  /** Category 1: operations not allowed for the peer's roles */
  operations: v.optional(
    v.strictObject({ mode: v.optional(ScreeningMode, "off"), defaults: v.optional(v.boolean(), true) }),
    {},
  ),
  /** Category 2: PLMN-bearing IEs against the N32 peer or us */
  plmnConsistency: v.optional(
    v.strictObject({
      mode: v.optional(ScreeningMode, "off"),
      defaults: v.optional(v.boolean(), true),
      rules: v.optional(v.pipe(v.array(PlmnRuleSchema), v.maxLength(1024)), []),
    }),
    {},
  ),
  /** Category 3: which partner serves a SUPI, learned from successful authentication/registration */
  plausibility: v.optional(
    v.strictObject({
      mode: v.optional(ScreeningMode, "off"),
      windowSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(30 * 86400)), 900),
      maxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)), 100_000),
    }),
    {},
  ),
  /** TS 29.500 6.14.3: 3gpp-Sbi-Interplmn-Purpose against the purposes negotiated with the peer */
  purpose: v.optional(v.strictObject({ mode: v.optional(ScreeningMode, "off") }), {}),
  rateLimits: v.optional(
    v.strictObject({
      perPlmn: v.optional(
        v.pipe(
          v.array(
            v.strictObject({
              plmnId: PlmnIdSchema,
              maxRequestsPerSecond: RatePerSecond,
              burst: v.optional(RatePerSecond),
            }),
          ),
          v.maxLength(4096),
        ),
        [],
      ),
      perApi: v.optional(
        v.pipe(
          v.array(
            v.strictObject({
              api: ApiName,
              /** one peer's traffic to this API; absent: all peers together */
              peer: v.optional(v.string()),
              maxRequestsPerSecond: RatePerSecond,
              burst: v.optional(RatePerSecond),
            }),
          ),
          v.maxLength(4096),
        ),
        [],
      ),
    }),
    {},
  ),
  /** TS 29.500 6.4: producers' 3gpp-Sbi-Oci honoured for inbound requests (docs/CONFIG.md says how) */
  overloadControl: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      maxProducers: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 1024),
    }),
    {},
  ),
  /** Request bodies against the API's 3GPP OpenAPI schema (src/screening/body.ts); `apis` absent: every API */
  bodyValidation: v.optional(
    v.strictObject({
      mode: v.optional(ScreeningMode, "off"),
      apis: v.optional(BodyApis),
      /** larger JSON (body, multipart root, form) is a finding: validation cost grows with its size */
      maxJsonBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(16 << 20)), 65536),
    }),
    {},
  ),
  /** Security event log lines per second (per peer and rule); refusals beyond are only counted */
  securityEventsPerSecond: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 20),
});
/** Per peer: the roles we play towards it and operations allowed besides (or instead of) the defaults. */
export const PeerScreeningSchema = v.strictObject({
  roles: v.optional(v.pipe(v.array(v.picklist(["home", "visited"])), v.minLength(1)), ["home", "visited"]),
  useDefaults: v.optional(v.boolean(), true),
  allowedOperations: v.optional(v.pipe(v.array(ScreeningOperationSchema), v.maxLength(4096)), []),
  /** overrides screening.bodyValidation's mode and/or apis for this peer */
  bodyValidation: v.optional(v.strictObject({ mode: v.optional(ScreeningMode), apis: v.optional(BodyApis) })),
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

const TrustAnchorSchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  /** PLMN IDs whose certificates must chain to these roots; a PLMN ID belongs to at most one anchor (TS 33.501 13.1.2). */
  plmnIds: v.pipe(v.array(PlmnIdSchema), v.minLength(1)),
  roots: v.pipe(v.array(PemSource), v.minLength(1)),
  /** CRLs (PEM or paths) of this anchor's CAs: a revoked certificate is refused on N32-c and N32-f (P11 "Trust") */
  crls: v.optional(v.array(PemSource), []),
});

const ListenerSchema = v.strictObject({ host: Host, port: Port });

/** The local REST API listener: loopback by default; any other address needs TLS (the bearer token travels). */
const AdminListenerSchema = v.strictObject({
  host: Host,
  port: Port,
  tls: v.optional(
    v.strictObject({
      certificate: PemSource,
      privateKey: PemSource,
      /** CAs of admin client certificates: when set, a client certificate is required */
      clientCa: v.optional(v.array(PemSource), []),
    }),
  ),
});

/** localhost, 127.0.0.0/8, ::1 (also IPv4-mapped): the addresses only this box can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return !!m && m[1] === "127" && m.slice(2).every((o) => Number(o) <= 255);
}

export const ConfigSchema = v.strictObject({
  identity: v.strictObject({
    /** Our N32 FQDN: `sender` on N32-c, dNSName of our certificate. */
    n32Fqdn: Fqdn,
    plmnIds: v.pipe(v.array(PlmnIdSchema), v.minLength(1)),
    /** FQDN announced as senderN32fFqdn; defaults to n32Fqdn */
    n32fFqdn: v.optional(Fqdn),
    /**
     * Ports announced as senderN32fPortList (the first as senderN32fPort): our externally visible N32-f endpoint
     * behind a load balancer or NAT (P11: the peer sends N32-f there); absent: the N32-f listener's bound port
     */
    n32fPorts: v.optional(
      v.pipe(
        v.array(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
        v.minLength(1),
        v.maxLength(8),
      ),
    ),
  }),
  listeners: v.strictObject({
    /** N32-c (HTTP/2 over mutual TLS); also N32-f when `n32f` is absent */
    n32: ListenerSchema,
    /** A separate N32-f listener; absent: N32-f shares the N32-c port */
    n32f: v.optional(ListenerSchema),
    /** SBI side towards our own NFs/SCP (h2c prior knowledge, or TLS when `tls` is true) */
    sbi: v.optional(v.strictObject({ host: Host, port: Port, tls: v.optional(v.boolean(), false) })),
    /** Local REST API; loopback by default, TLS required on any other address */
    admin: AdminListenerSchema,
  }),
  tls: v.strictObject({
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
  }),
  keystore: v.optional(
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
  ),
  /**
   * Data-path worker threads (issue 11 §3, docs/ARCHITECTURE.md "Worker model"): 1 = the data path runs in the main
   * thread (default); N > 1 = N workers share the SBI and N32-f ports (SO_REUSEPORT) and one N32-f association per
   * peer (SEQ counters and replay windows in shared memory); needs a separate `listeners.n32f`, `listeners.sbi` and
   * the software AEAD engine
   */
  workers: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)), 1),
  /** Which AEAD engine carries N32-f AES-GCM */
  aead: v.optional(v.strictObject({ engine: v.optional(v.picklist(["software", "pkcs11"]), "software") }), {}),
  n32c: v.optional(
    v.strictObject({
      retryInitialMs: v.optional(PosInt, 1000),
      retryMaxMs: v.optional(PosInt, 60000),
      requestTimeoutMs: v.optional(PosInt, 10000),
      maxBodyBytes: v.optional(PosInt, 65536),
      /** N32-f context validity (P1 default 24 h) */
      contextValiditySeconds: v.optional(PosInt, 86400),
      /** re-handshake when a SEQ counter passes this (P1 default 2^31) */
      rekeySeqThreshold: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 32 - 1)), 2 ** 31),
      /** re-handshake this many seconds before validity ends */
      rekeyMarginSeconds: v.optional(PosInt, 300),
      maxRequestsPerSecond: v.optional(PosInt, 50),
      /**
       * P11 / TS 29.573 Rel-18: answer every exchange-capability with 307 toward this other SEPP of our PLMN
       * (https://<name in our PLMN's 3GPP domain>[:port]); absent: negotiate here
       */
      redirectTo: v.optional(HttpsUri),
    }),
    {},
  ),
  /** Connection bounds of the N32 listener(s) (issue 10 §1): see docs/CONFIG.md "connection limits" */
  n32Connections: v.optional(
    v.strictObject({
      /** connections all clients together may hold */
      maxConnections: v.optional(PosInt, 256),
      /** connections one configured peer (or one listed RI) may hold; the others keep theirs */
      maxConnectionsPerPeer: v.optional(PosInt, 16),
      /** connections one source IP address may have in set-up (before admission); one more is closed at accept */
      maxPendingPerSource: v.optional(PosInt, 32),
      /** TCP accept → TLS handshake → the client's HTTP/2 SETTINGS */
      prefaceTimeoutMs: v.optional(PosInt, 10_000),
      /** a connection without an open stream this long is closed (PINGs do not count) */
      idleTimeoutMs: v.optional(PosInt, 120_000),
      /** streams a client may reset before they were answered, per 10 s; above: GOAWAY ENHANCE_YOUR_CALM */
      maxResetsPer10s: v.optional(PosInt, 200),
    }),
    {},
  ),
  /** The data path (SBI side, N32-f forwarding): docs/CONFIG.md */
  sbi: v.optional(
    v.strictObject({
      /** Telescopic FQDNs are `<label>.<seppDomain>` (our SBI side holds a wildcard certificate for it); default identity.n32Fqdn */
      seppDomain: v.optional(Fqdn),
      /** Scheme and port our own NFs use to reach our SBI side (put into rewritten URIs); default from listeners.sbi */
      advertisedScheme: v.optional(v.picklist(["http", "https"])),
      advertisedPort: v.optional(Port),
      /** Telescopic FQDN table bounds: all entries, and each peer's share (a peer never evicts another's) */
      telescopicMaxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)), 50_000),
      telescopicMaxEntriesPerPeer: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)),
        10_000,
      ),
      /**
       * Telescopic labels (docs/DATAPATH.md "Stateless telescopic labels"): "stateless" (default) encodes the foreign
       * origin in the label under a key of the SEPP (files in storage.dir, read at start; the key file is made when
       * missing), "table" keeps every new mapping in the table. Table labels keep resolving in both modes.
       */
      telescopicLabels: v.optional(
        v.strictObject({
          mode: v.optional(v.picklist(["stateless", "table"]), "stateless"),
          keyFile: v.optional(v.pipe(v.string(), v.minLength(1)), "telescopic-label.key"),
          /** The key before the last rotation: its labels still resolve (never issued) */
          previousKeyFile: v.optional(v.pipe(v.string(), v.minLength(1))),
          /** End of the previous key's grace period (ISO 8601); default: as long as previousKeyFile is set */
          previousKeyUntil: v.optional(v.pipe(v.string(), v.isoTimestamp())),
        }),
        {},
      ),
      /** Static resolution of producer host names (like /etc/hosts), still checked by the egress policy */
      staticHosts: v.optional(v.record(v.pipe(v.string(), v.maxLength(253)), v.pipe(v.string(), v.ip())), {}),
      /** Extra CA certificates for https producers (PEM or paths); default: the system store */
      producerCa: v.optional(v.array(PemSource), []),
      /** CAs of our NFs' client certificates: when set, the TLS SBI listener requires a client certificate (TS 33.501 13.3) */
      clientCa: v.optional(v.array(PemSource), []),
      /** TLS material of the SBI listener when listeners.sbi.tls is true */
      certificate: v.optional(PemSource),
      privateKey: v.optional(PemSource),
      requestTimeoutMs: v.optional(PosInt, 10000),
      /** NF request / response bodies above this: 413 */
      maxBodyBytes: v.optional(PosInt, 1 << 20),
      maxHeaders: v.optional(PosInt, 128),
      maxConcurrentStreams: v.optional(PosInt, 256),
      /** SBI listener connection bounds (issue 10 §1): all, and per source IP address */
      maxConnections: v.optional(PosInt, 1024),
      maxConnectionsPerSource: v.optional(PosInt, 64),
      /** TCP accept (→ TLS) → the client's HTTP/2 SETTINGS */
      prefaceTimeoutMs: v.optional(PosInt, 5000),
      /** a connection without an open stream this long is closed (PINGs do not count) */
      idleTimeoutMs: v.optional(PosInt, 120_000),
      /** streams a client may reset before they were answered, per 10 s; above: GOAWAY ENHANCE_YOUR_CALM */
      maxResetsPer10s: v.optional(PosInt, 200),
      /** N32-f connections per peer (cSEPP side) and streams per connection before another is opened */
      maxN32fConnectionsPerPeer: v.optional(PosInt, 4),
      streamsPerN32fConnection: v.optional(PosInt, 100),
      /** P11: an RI next hop that failed to connect or answered 502/503/504 without ProblemDetailsMsgForwarding is skipped this long */
      n32fNextHopBackoffMs: v.optional(PosInt, 30000),
      /** P11: n32f-process bodies of at least this many octets are gzipped toward a next hop that announced gzip (0, the default: never) */
      n32fGzipMinBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1 << 30)), 0),
    }),
    {},
  ),
  peers: v.optional(v.array(PeerSchema), []),
  /** P11: named, versioned security profiles a peer entry may choose (`n32-default` v1 is built in) */
  securityProfiles: v.optional(v.pipe(v.array(SecurityProfileSchema), v.maxLength(64)), []),
  /** Border screening (GSMA FS.36 categories): docs/CONFIG.md */
  screening: v.optional(ScreeningSchema, {}),
  admin: v.optional(
    v.strictObject({
      /** File holding the bearer token (created 0600 on first start); relative to storage.dir */
      tokenFile: v.optional(v.string(), "admin.token"),
    }),
    {},
  ),
  storage: v.optional(v.strictObject({ dir: v.optional(v.string(), "var") }), {}),
  log: v.optional(v.strictObject({ level: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info") }), {}),
  /** OTA updates through RAUC (src/system/config.ts, docs/UPDATES.md) */
  system: v.optional(SystemSchema, {}),
});

export type SeppConfig = v.InferOutput<typeof ConfigSchema>;
export type SeppConfigInput = v.InferInput<typeof ConfigSchema>;
export type PeerConfig = v.InferOutput<typeof PeerSchema>;
export type PeerProfile = v.InferOutput<typeof PeerProfileSchema>;
export type ScreeningConfig = v.InferOutput<typeof ScreeningSchema>;
export type ScreeningOperation = v.InferOutput<typeof ScreeningOperationSchema>;
export type PlmnRule = v.InferOutput<typeof PlmnRuleSchema>;
export type N32fNextHopConfig = v.InferOutput<typeof N32fNextHopSchema>;
export type N32cViaConfig = v.InferOutput<typeof N32cViaSchema>;
export type RoamingIntermediaryConfig = v.InferOutput<typeof RoamingIntermediarySchema>;

export type SecurityProfileConfig = v.InferOutput<typeof SecurityProfileSchema>;
export type SecurityProfileRef = v.InferOutput<typeof SecurityProfileRefSchema>;
/** The profile every SEPP built from N32-PROFILE knows (P11): the P4 default mapping, no modification allowed. */
export const BUILT_IN_PROFILE: SecurityProfileRef = { id: "n32-default", version: 1 };

export interface ConfigIssue {
  path: string;
  reason: string;
}

/** Cross-field rules the per-member schema cannot express. */
function checkConfig(c: SeppConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const key = (p: { mcc: string; mnc: string }) => `${p.mcc}-${p.mnc.padStart(3, "0")}`;
  const ids = new Set<string>();
  const fqdns = new Set<string>();
  c.peers.forEach((p, i) => {
    if (ids.has(p.id)) issues.push({ path: `/peers/${i}/id`, reason: `duplicate peer id ${p.id}` });
    ids.add(p.id);
    const f = p.n32Fqdn.toLowerCase();
    if (fqdns.has(f)) issues.push({ path: `/peers/${i}/n32Fqdn`, reason: `duplicate peer FQDN ${p.n32Fqdn}` });
    fqdns.add(f);
    if (new Set(p.securityCapabilities).size !== p.securityCapabilities.length)
      issues.push({ path: `/peers/${i}/securityCapabilities`, reason: "repeated capability" });
    if (p.roamingIntermediaries.filter((r) => r.side === "own" && r.authorized).length > 1)
      issues.push({ path: `/peers/${i}/roamingIntermediaries`, reason: "at most one own RI may be authorized" });
    p.roamingIntermediaries.forEach((r, j) => {
      if (r.certificates.length === 0 && r.rawPublicKeys.length === 0)
        issues.push({
          path: `/peers/${i}/roamingIntermediaries/${j}`,
          reason: "an RI needs certificates or rawPublicKeys",
        });
    });
    // P11: a next hop is an RI (RI trust store), and TLS mode never runs through an RI that terminates TLS
    p.n32fNextHops.forEach((h, j) => {
      if (!h.trustAnchors?.length && c.tls.riTrustAnchors.length === 0)
        issues.push({
          path: `/peers/${i}/n32fNextHops/${j}/trustAnchors`,
          reason: "an RI next hop needs trust anchors (here or in tls.riTrustAnchors)",
        });
    });
    p.n32cVia.forEach((h, j) => {
      if (!h.trustAnchors?.length && c.tls.riTrustAnchors.length === 0)
        issues.push({
          path: `/peers/${i}/n32cVia/${j}/trustAnchors`,
          reason: "an RI on N32-c needs trust anchors (here or in tls.riTrustAnchors)",
        });
    });
    if (p.n32fNextHops.length > 0 && p.securityCapabilities.includes("TLS"))
      issues.push({
        path: `/peers/${i}/securityCapabilities`,
        reason: "with n32fNextHops (RIs on N32-f) only PRINS is allowed (TS 33.501 5.9.3.1; N32-PROFILE P11)",
      });
  });
  // P11 security profiles: one definition per id and version; n32-default v1 is built in; a peer names a known one
  const profiles = new Set([`${BUILT_IN_PROFILE.id}\n${BUILT_IN_PROFILE.version}`]);
  c.securityProfiles.forEach((sp, i) => {
    const k = `${sp.id}\n${sp.version}`;
    if (profiles.has(k))
      issues.push({
        path: `/securityProfiles/${i}`,
        reason: `${sp.id} version ${sp.version} is defined twice (or is the built-in n32-default v1)`,
      });
    profiles.add(k);
  });
  c.peers.forEach((p, i) => {
    if (!p.securityProfile) return;
    if (!profiles.has(`${p.securityProfile.id}\n${p.securityProfile.version}`))
      issues.push({
        path: `/peers/${i}/securityProfile`,
        reason: `no security profile ${p.securityProfile.id} version ${p.securityProfile.version} (securityProfiles)`,
      });
    if (p.protectionPolicy)
      issues.push({
        path: `/peers/${i}/protectionPolicy`,
        reason: "a peer with securityProfile takes its policy from the profile: omit protectionPolicy",
      });
  });
  if (c.n32c.redirectTo) {
    const why = redirectToProblem(c.n32c.redirectTo, c.identity);
    if (why) issues.push({ path: "/n32c/redirectTo", reason: why });
  }
  const seen = new Map<string, string>();
  c.tls.trustAnchors.forEach((a, i) => {
    for (const p of a.plmnIds) {
      const k = key(p);
      const prev = seen.get(k);
      if (prev !== undefined && prev !== a.name)
        issues.push({
          path: `/tls/trustAnchors/${i}/plmnIds`,
          reason: `PLMN ${k} already belongs to trust anchor ${prev}`,
        });
      seen.set(k, a.name);
    }
  });
  if (c.keystore.backend === "pkcs11" && !c.keystore.pinFile && !c.keystore.pinEnv)
    issues.push({ path: "/keystore", reason: "pkcs11 keystore needs pinFile or pinEnv" });
  if (c.tls.maxVersion === "TLSv1.2" && c.tls.minVersion === "TLSv1.3")
    issues.push({ path: "/tls/maxVersion", reason: "below tls.minVersion" });
  if (c.sbi.telescopicMaxEntriesPerPeer > c.sbi.telescopicMaxEntries)
    issues.push({ path: "/sbi/telescopicMaxEntriesPerPeer", reason: "must not exceed sbi.telescopicMaxEntries" });
  if (c.n32c.rekeyMarginSeconds >= c.n32c.contextValiditySeconds)
    issues.push({
      path: "/n32c/rekeyMarginSeconds",
      reason: "must be below n32c.contextValiditySeconds (else every new context is due for re-handshake at once)",
    });
  if (!isLoopbackHost(c.listeners.admin.host) && !c.listeners.admin.tls)
    issues.push({
      path: "/listeners/admin/tls",
      reason: `required: the admin listener on ${c.listeners.admin.host} is not loopback (the bearer token would travel in clear)`,
    });
  if (c.sbi.clientCa.length > 0 && !c.listeners.sbi?.tls)
    issues.push({ path: "/sbi/clientCa", reason: "client certificates need listeners.sbi.tls" });
  if (c.listeners.sbi?.tls && (!c.sbi.certificate || !c.sbi.privateKey))
    issues.push({ path: "/sbi", reason: "listeners.sbi.tls needs sbi.certificate and sbi.privateKey" });
  // screening: per-API limits name configured peers; body rules are JSON pointers; no role twice
  c.screening.rateLimits.perApi.forEach((r, i) => {
    if (r.peer !== undefined && !ids.has(r.peer))
      issues.push({ path: `/screening/rateLimits/perApi/${i}/peer`, reason: `no peer ${r.peer}` });
  });
  c.screening.plmnConsistency.rules.forEach((r, i) => {
    if (r.in === "body" && !r.name.startsWith("/"))
      issues.push({ path: `/screening/plmnConsistency/rules/${i}/name`, reason: "a body IE is a JSON pointer (/a/b)" });
    if (r.version !== undefined && r.api === undefined)
      issues.push({ path: `/screening/plmnConsistency/rules/${i}/version`, reason: "version needs api" });
  });
  const unknownBodyApis = (apis: readonly string[] | undefined, path: string) =>
    apis?.forEach((a, j) => {
      if (!BODY_VALIDATION_APIS.has(a))
        issues.push({ path: `${path}/${j}`, reason: `no body validators for API ${a} (docs/CONFIG.md lists them)` });
    });
  unknownBodyApis(c.screening.bodyValidation.apis, "/screening/bodyValidation/apis");
  c.peers.forEach((p, i) => {
    unknownBodyApis(p.screening.bodyValidation?.apis, `/peers/${i}/screening/bodyValidation/apis`);
    if (new Set(p.screening.roles).size !== p.screening.roles.length)
      issues.push({ path: `/peers/${i}/screening/roles`, reason: "repeated role" });
    p.screening.allowedOperations.forEach((o, j) => {
      if ("resource" in o && (o.api === undefined) !== (o.version === undefined))
        issues.push({
          path: `/peers/${i}/screening/allowedOperations/${j}`,
          reason: "api and version go together (both absent only for apiRoot-level resources like /oauth2/token)",
        });
    });
  });
  if (c.aead.engine === "pkcs11" && c.keystore.backend !== "pkcs11")
    issues.push({ path: "/aead/engine", reason: "the pkcs11 AEAD engine needs the pkcs11 keystore" });
  if (
    c.listeners.n32f &&
    c.listeners.n32f.port !== 0 &&
    c.listeners.n32f.port === c.listeners.n32.port &&
    c.listeners.n32f.host === c.listeners.n32.host
  )
    issues.push({ path: "/listeners/n32f", reason: "same as listeners.n32: omit listeners.n32f to share the port" });
  return issues;
}

/**
 * n32c.redirectTo must name another SEPP of our PLMN that an initiator built from N32-PROFILE follows (the rule of
 * src/n32c/redirect.ts seen from the other side): https, a host name in the 3GPP domain of one of our PLMNs
 * (`<…>.5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org`), not ourselves, no path, query, fragment or user info.
 */
function redirectToProblem(uri: string, me: { n32Fqdn: string; plmnIds: Array<{ mcc: string; mnc: string }> }) {
  const u = new URL(uri);
  if (u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== ""))
    return "https://host[:port] only (no path, query, fragment or user info)";
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  if (!me.plmnIds.some((p) => host.endsWith(`.5gc.mnc${p.mnc.padStart(3, "0")}.mcc${p.mcc}.3gppnetwork.org`)))
    return "the host must be in the 3GPP domain of one of our PLMNs (…5gc.mncXXX.mccYYY.3gppnetwork.org)";
  if (host === me.n32Fqdn.toLowerCase().replace(/\.$/, "")) return "that is this SEPP (a redirect loop)";
  return null;
}

export type ParseResult = { ok: true; config: SeppConfig } | { ok: false; issues: ConfigIssue[] };

/** Validate a whole configuration. Never throws. */
export function parseConfig(input: unknown): ParseResult {
  const r = v.safeParse(ConfigSchema, input);
  if (!r.success) {
    return {
      ok: false,
      issues: r.issues.map((i) => ({ path: `/${(v.getDotPath(i) ?? "").replaceAll(".", "/")}`, reason: i.message })),
    };
  }
  const issues = checkConfig(r.output);
  return issues.length ? { ok: false, issues } : { ok: true, config: r.output };
}

/** Validate one peer entry (admin API) before it is merged into a whole configuration. */
export function parsePeer(input: unknown): { ok: true; peer: PeerConfig } | { ok: false; issues: ConfigIssue[] } {
  const r = v.safeParse(PeerSchema, input);
  if (r.success) return { ok: true, peer: r.output };
  return {
    ok: false,
    issues: r.issues.map((i) => ({ path: `/${(v.getDotPath(i) ?? "").replaceAll(".", "/")}`, reason: i.message })),
  };
}
