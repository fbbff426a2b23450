// src/config/restart.ts — which configuration members a running SEPP applies only at its next start: the
// listeners (ports, hosts, TLS of the SBI/admin listeners), the data-path workers, the AEAD engine and the keystore
// (opened once), the storage directory, and our own N32 certificate, key and TLS versions (the N32 TLS contexts are
// built at start; trust anchors and CRLs, peers, screening and the rest apply at once). /v1/status lists the members
// whose stored value differs from the one the SEPP started with, so an operator knows a change is waiting.
import type { SeppConfig } from "./schema.ts";

const START_ONLY: ReadonlyArray<[string, (c: SeppConfig) => unknown]> = [
  ["listeners", (c) => c.listeners],
  ["workers", (c) => c.workers],
  ["aead", (c) => c.aead],
  ["keystore", (c) => c.keystore],
  ["storage", (c) => c.storage],
  ["tls.certificate", (c) => c.tls.certificate],
  ["tls.privateKey", (c) => c.tls.privateKey],
  ["tls.minVersion", (c) => c.tls.minVersion],
  ["tls.maxVersion", (c) => c.tls.maxVersion],
];

/** The start-only members whose value in `current` differs from `started` (empty: nothing waits for a restart). */
export function restartRequired(started: SeppConfig, current: SeppConfig): string[] {
  if (started === current) return [];
  return START_ONLY.filter(([, get]) => JSON.stringify(get(started)) !== JSON.stringify(get(current))).map(
    ([name]) => name,
  );
}
