// src/workers/share-limits.ts — the configuration a data-path worker enforces (issue 11 §3, docs/ARCHITECTURE.md
// "Worker model"). Every bound that counts for the whole box (connections, per source, per peer, pending
// requests, request rates, security-event log rate) is enforced by each of N workers as its share
// max(1, ⌊bound / N⌋), so N workers together never admit more than the configured bound (issue 10 §1: a holder
// of slots cannot multiply them by the number of cores). The kernel spreads connections over the workers by a
// hash of their addresses: a source or peer whose connections land unevenly may be refused a little before the
// whole bound is reached; its next connection lands by hash elsewhere. Per-connection and per-message bounds
// (body size, header count, streams per connection, timeouts) are not divided.
import type { SeppConfig } from "../config/schema.ts";

/** sbi.minN32fConnectionsPerPeer "auto" in a data-path worker (docs/CONFIG.md) */
export const AUTO_N32F_CONNECTIONS_WITH_WORKERS = 2;

/** One worker's share of a box-wide bound: never 0, never more than the bound / N. */
export const shareOf = (bound: number, workers: number): number => Math.max(1, Math.floor(bound / workers));

/** A copy of `c` with every box-wide bound divided among `workers` (the input is not changed). */
export function workerShare(c: SeppConfig, workers: number): SeppConfig {
  if (workers <= 1) return c;
  const s = (n: number) => shareOf(n, workers);
  const rate = <T extends { maxRequestsPerSecond: number; burst?: number }>(r: T): T => ({
    ...r,
    maxRequestsPerSecond: s(r.maxRequestsPerSecond),
    ...(r.burst === undefined ? {} : { burst: s(r.burst) }),
  });
  return {
    ...c,
    sbi: {
      ...c.sbi,
      maxConnections: s(c.sbi.maxConnections),
      maxConnectionsPerSource: s(c.sbi.maxConnectionsPerSource),
      // our N32-f sessions toward a peer count against the peer's per-peer connection quota
      maxN32fConnectionsPerPeer: s(c.sbi.maxN32fConnectionsPerPeer),
      // not a box-wide bound but a per-thread floor (within the share above): with workers, "auto" keeps two
      // connections per peer, so that the peer's kernel can spread them over its workers too
      minN32fConnectionsPerPeer:
        c.sbi.minN32fConnectionsPerPeer === "auto"
          ? AUTO_N32F_CONNECTIONS_WITH_WORKERS
          : c.sbi.minN32fConnectionsPerPeer,
    },
    n32Connections: {
      ...c.n32Connections,
      maxConnections: s(c.n32Connections.maxConnections),
      maxConnectionsPerPeer: s(c.n32Connections.maxConnectionsPerPeer),
      maxPendingPerSource: s(c.n32Connections.maxPendingPerSource),
    },
    peers: c.peers.map((p) => ({
      ...p,
      n32f: {
        ...p.n32f,
        maxPendingRequests: s(p.n32f.maxPendingRequests),
        maxRequestsPerSecond: s(p.n32f.maxRequestsPerSecond),
      },
    })),
    screening: {
      ...c.screening,
      rateLimits: {
        ...c.screening.rateLimits,
        perPlmn: c.screening.rateLimits.perPlmn.map(rate),
        perApi: c.screening.rateLimits.perApi.map(rate),
      },
      securityEventsPerSecond: s(c.screening.securityEventsPerSecond),
    },
  };
}
