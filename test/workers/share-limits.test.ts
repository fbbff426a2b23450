// The bounds a data-path worker enforces (src/workers/share-limits.ts): each of N workers gets ⌊bound / N⌋ (at
// least 1) of every box-wide bound, so N workers together never admit more than configured.
import { describe, expect, test } from "bun:test";
import type { SeppConfig } from "../../src/config/schema.ts";
import { soloConfig } from "../support/solo-config.ts";
import { shareOf, workerShare } from "../../src/workers/share-limits.ts";

const base: SeppConfig = soloConfig((c) => {
  c.peers = [
    {
      id: "p",
      n32Fqdn: "sepp.5gc.mnc002.mcc002.3gppnetwork.org",
      plmnIds: [{ mcc: "002", mnc: "02" }],
      n32cUri: "https://127.0.0.1:2",
      n32f: { maxRequestsPerSecond: 1001, maxPendingRequests: 3 },
    },
  ];
  c.screening = {
    rateLimits: {
      perPlmn: [{ plmnId: { mcc: "002", mnc: "02" }, maxRequestsPerSecond: 10, burst: 20 }],
      perApi: [{ api: "nudm-sdm", maxRequestsPerSecond: 7 }],
    },
  };
});

describe("workerShare", () => {
  test("one worker enforces the configured bounds themselves", () => {
    expect(workerShare(base, 1)).toBe(base);
  });

  test("N workers: every box-wide bound is ⌊bound / N⌋, never 0, and the input is unchanged", () => {
    const before = JSON.stringify(base);
    const w = workerShare(base, 2);
    expect(w.sbi.maxConnections).toBe(Math.floor(base.sbi.maxConnections / 2));
    expect(w.sbi.maxConnectionsPerSource).toBe(Math.floor(base.sbi.maxConnectionsPerSource / 2));
    expect(w.sbi.maxN32fConnectionsPerPeer).toBe(Math.floor(base.sbi.maxN32fConnectionsPerPeer / 2));
    expect(w.n32Connections.maxConnections).toBe(Math.floor(base.n32Connections.maxConnections / 2));
    expect(w.n32Connections.maxConnectionsPerPeer).toBe(Math.floor(base.n32Connections.maxConnectionsPerPeer / 2));
    expect(w.n32Connections.maxPendingPerSource).toBe(Math.floor(base.n32Connections.maxPendingPerSource / 2));
    expect(w.peers[0]!.n32f.maxRequestsPerSecond).toBe(500);
    expect(w.peers[0]!.n32f.maxPendingRequests).toBe(1);
    expect(w.screening.rateLimits.perPlmn[0]).toMatchObject({ maxRequestsPerSecond: 5, burst: 10 });
    expect(w.screening.rateLimits.perApi[0]!.maxRequestsPerSecond).toBe(3);
    expect(w.screening.rateLimits.perApi[0]!.burst).toBeUndefined();
    expect(w.screening.securityEventsPerSecond).toBe(Math.floor(base.screening.securityEventsPerSecond / 2));
    // per-connection and per-message bounds are not divided
    expect(w.sbi.maxBodyBytes).toBe(base.sbi.maxBodyBytes);
    expect(w.sbi.maxConcurrentStreams).toBe(base.sbi.maxConcurrentStreams);
    expect(JSON.stringify(base)).toBe(before);
  });

  test('sbi.minN32fConnectionsPerPeer: "auto" is 1 without workers (RFC 9113 9.1) and 2 per worker with them; a number stays', () => {
    expect(base.sbi.minN32fConnectionsPerPeer).toBe("auto");
    expect(workerShare(base, 1).sbi.minN32fConnectionsPerPeer).toBe("auto");
    expect(workerShare(base, 2).sbi.minN32fConnectionsPerPeer).toBe(2);
    expect(workerShare(base, 8).sbi.minN32fConnectionsPerPeer).toBe(2);
    const three = soloConfig((c) => (c.sbi = { minN32fConnectionsPerPeer: 3 }));
    expect(workerShare(three, 4).sbi.minN32fConnectionsPerPeer).toBe(3);
  });

  test("the shares of N workers never add up to more than the bound", () => {
    for (let bound = 1; bound <= 300; bound++)
      for (let n = 1; n <= 64; n++) {
        const share = shareOf(bound, n);
        expect(share).toBeGreaterThanOrEqual(1);
        if (bound >= n) expect(share * n).toBeLessThanOrEqual(bound);
      }
  });
});
