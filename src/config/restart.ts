// src/config/restart.ts — which configuration members a running SEPP applies only at its next start, because they
// are read once when an object is built at start:
// - the listeners (hosts, ports, TLS of the SBI and admin listeners) and the SBI listener's own settings: its TLS
//   material (sbi.certificate, privateKey, clientCa) and its bounds (connections, per source, streams, preface and
//   idle timeouts, resets, and the body, header and time bounds of a request);
// - the N32 listener(s): their connection bounds (n32Connections), the time bound of a received N32-c request
//   (n32c.requestTimeoutMs), the N32-c body cap built at start (n32c.maxBodyBytes waits only above it), and the
//   TLS floor (a peer's profile.allowTls12 waits only when the listener started without TLS 1.2);
// - our own N32 certificate, key and TLS versions (the N32 TLS contexts are built at start);
// - the data-path workers, the AEAD engine and the keystore (opened once), the storage directory, the admin token
//   file (admin.tokenFile, read at start);
// - the telescopic FQDN table (its SEPP domain, bounds and label keys) and the producer clients (sbi.producerCa;
//   sbi.requestTimeoutMs is also their connect timeout).
// A member is listed when any of its effects waits: sbi.requestTimeoutMs, maxBodyBytes and maxHeaders also bound
// N32-f requests and onward requests, and those follow a change at once. Everything else applies at once (read per
// use or re-applied on a stored change, in the workers too): trust anchors and CRLs, peers, security profiles,
// screening, N32-c timing and key life, the other sbi members, system. /v1/status lists the members whose stored
// value differs from the one the SEPP started with in a way that waits, so an operator knows a change is waiting.
import { n32ListenerOptions } from "../n32c/listeners.ts";
import type { SeppConfig } from "./schema.ts";

/** Whether the change from `started` to `current` waits for the next start. */
type Waits = (started: SeppConfig, current: SeppConfig) => boolean;

/** A member read once at start: any change waits. */
const member =
  (get: (c: SeppConfig) => unknown): Waits =>
  (s, c) =>
    JSON.stringify(get(s)) !== JSON.stringify(get(c));

/** A member of the SBI listener's TLS: it waits only when the listener started with TLS. */
const sbiTls =
  (get: (c: SeppConfig) => unknown): Waits =>
  (s, c) =>
    !!s.listeners.sbi?.tls && member(get)(s, c);

const START_ONLY: ReadonlyArray<[string, Waits]> = [
  ["listeners", member((c) => c.listeners)],
  ["tls.certificate", member((c) => c.tls.certificate)],
  ["tls.privateKey", member((c) => c.tls.privateKey)],
  ["tls.minVersion", member((c) => c.tls.minVersion)],
  ["tls.maxVersion", member((c) => c.tls.maxVersion)],
  ["keystore", member((c) => c.keystore)],
  ["workers", member((c) => c.workers)],
  ["aead", member((c) => c.aead)],
  // the N32 listener's time bound of N32-c requests (src/n32c/listeners.ts); our own N32-c requests follow at once
  ["n32c.requestTimeoutMs", member((c) => c.n32c.requestTimeoutMs)],
  // checked per request (src/n32c/ops/kit.ts) up to the N32 listener's body cap of N32-c requests built at start
  ["n32c.maxBodyBytes", (s, c) => c.n32c.maxBodyBytes > n32ListenerOptions(s).limits.maxBodyBytes],
  ["n32Connections", member((c) => c.n32Connections)],
  // the telescopic table's domain (src/datapath/index.ts; src/datapath/deps.ts seppDomainOf, telescopic-store.ts)
  ["sbi.seppDomain", member((c) => (c.sbi.seppDomain ?? c.identity.n32Fqdn).toLowerCase().replace(/\.$/, ""))],
  ["sbi.telescopicMaxEntries", member((c) => c.sbi.telescopicMaxEntries)],
  ["sbi.telescopicMaxEntriesPerPeer", member((c) => c.sbi.telescopicMaxEntriesPerPeer)],
  ["sbi.telescopicLabels", member((c) => c.sbi.telescopicLabels)],
  ["sbi.producerCa", member((c) => c.sbi.producerCa)],
  // the SBI listener's TLS material: only a listener that started with TLS uses it (else `listeners` says it waits)
  ["sbi.clientCa", sbiTls((c) => c.sbi.clientCa)],
  ["sbi.certificate", sbiTls((c) => c.sbi.certificate)],
  ["sbi.privateKey", sbiTls((c) => c.sbi.privateKey)],
  ["sbi.requestTimeoutMs", member((c) => c.sbi.requestTimeoutMs)],
  ["sbi.maxBodyBytes", member((c) => c.sbi.maxBodyBytes)],
  ["sbi.maxHeaders", member((c) => c.sbi.maxHeaders)],
  ["sbi.maxConcurrentStreams", member((c) => c.sbi.maxConcurrentStreams)],
  ["sbi.maxConnections", member((c) => c.sbi.maxConnections)],
  ["sbi.maxConnectionsPerSource", member((c) => c.sbi.maxConnectionsPerSource)],
  ["sbi.prefaceTimeoutMs", member((c) => c.sbi.prefaceTimeoutMs)],
  ["sbi.idleTimeoutMs", member((c) => c.sbi.idleTimeoutMs)],
  ["sbi.maxResetsPer10s", member((c) => c.sbi.maxResetsPer10s)],
  // TLS 1.2 on the N32 listener(s) only from a start where some peer (or tls.*) allowed it; a peer that no longer
  // allows it is refused per request at once (src/n32c/core.ts, src/datapath/n32f-process.ts)
  [
    "peers[].profile.allowTls12",
    (s, c) => n32ListenerOptions(s).minVersion === "TLSv1.3" && c.peers.some((p) => p.profile.allowTls12),
  ],
  ["admin", member((c) => c.admin)],
  ["storage", member((c) => c.storage)],
];

/** The start-only members whose value in `current` differs from `started` (empty: nothing waits for a restart). */
export function restartRequired(started: SeppConfig, current: SeppConfig): string[] {
  if (started === current) return [];
  return START_ONLY.filter(([, waits]) => waits(started, current)).map(([name]) => name);
}
