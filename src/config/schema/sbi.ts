// src/config/schema/sbi.ts — the data path's SBI side: telescopic FQDNs, producers, SBI listener bounds, N32-f
// connection pools and next-hop behaviour.
import * as v from "valibot";
import { Fqdn, PemSource, Port, PosInt } from "./common.ts";

/** The data path (SBI side, N32-f forwarding): docs/CONFIG.md */
export const SbiSchema = v.optional(
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
    /**
     * N32-f connections each data-path thread keeps toward a peer's next hop from its first request there (within its
     * share of maxN32fConnectionsPerPeer), so that a peer's workers share our traffic: "auto" (default) = 2 with
     * workers, 1 without (RFC 9113 9.1)
     */
    minN32fConnectionsPerPeer: v.optional(
      v.union([v.literal("auto"), v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))]),
      "auto",
    ),
    /** P11: an RI next hop that failed to connect or answered 502/503/504 without ProblemDetailsMsgForwarding is skipped this long */
    n32fNextHopBackoffMs: v.optional(PosInt, 30000),
    /** P11: n32f-process bodies of at least this many octets are gzipped toward a next hop that announced gzip (0, the default: never) */
    n32fGzipMinBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1 << 30)), 0),
  }),
  {},
);
