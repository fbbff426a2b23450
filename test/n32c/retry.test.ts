// Peer down and peer flapping: the initiator retries with capped exponential backoff and jitter (no busy
// retry, no log flood), the state and counters are visible, and it recovers when the peer comes back.
import { afterEach, expect, test } from "bun:test";
import type { N32Server } from "../../src/transport/h2server.ts";
import { listenN32, startPair, type Pair, type TestSepp } from "../support/pki.ts";
import { waitFor } from "../../scripts/lib/pair.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

function serve(s: TestSepp, port: number): Promise<N32Server> {
  const cfg = s.cfg();
  return listenN32(cfg, s.service, s.log, { port }).then((l) => l.n32);
}

test("peer down: bounded retries with backoff, state visible; peer up: association becomes active", async () => {
  pair = await startPair({ a: (c) => (c.peers![0]!.initiate = true) });
  const { a, b } = pair;
  const port = b.server.port;
  await b.server.close(); // the peer is down
  const times: number[] = [];
  const origStatus = a.service.status("home")!;
  expect(origStatus.state).toBe("idle");
  a.service.start();
  // record when each attempt starts (the counter moves at the start of an attempt)
  let last = 0;
  await waitFor(
    "5 attempts",
    () => {
      const n = a.service.status("home")!.counters.attempts;
      while (last < n) {
        times.push(Date.now());
        last++;
      }
      return n >= 5;
    },
    10_000,
    10,
  );
  // retryInitialMs 50, retryMaxMs 400, equal jitter: the waits are at least 25, 50, 100, 200 ms
  expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(375 - 20);
  const st = a.service.status("home")!;
  expect(["backoff", "connecting"]).toContain(st.state);
  expect(st.lastError?.cause).toBe("CONNECTION_FAILED");
  expect(st.counters.failures).toBeGreaterThanOrEqual(4);
  await waitFor("backoff", () => a.service.status("home")!.state === "backoff", 3000, 10);
  const s2 = a.service.status("home")!;
  expect(s2.nextRetryAt).toBeGreaterThan(Date.now() - 50);
  expect(s2.nextRetryAt! - Date.now()).toBeLessThanOrEqual(400);
  // no log flood: the repeated failure is logged once per interval
  const warns = a.log.lines.filter((l) => l.msg === "N32-c handshake failed");
  expect(warns.length).toBe(1);
  expect(a.metrics.render()).toMatch(/sepp_n32c_handshakes_total\{peer="home",result="failed"\} [4-9]/);

  // the peer comes back on the same address
  b.server = await serve(b, port);
  await waitFor("active after the peer came back", () => a.service.status("home")!.state === "active-prins", 5000, 10);
  const up = a.service.status("home")!;
  expect(up.counters.successes).toBe(1);
  expect(up.nextRetryAt).toBeNull();
  expect(a.contexts.size).toBe(1);
  expect(b.contexts.size).toBe(1);
});

test("peer flapping: a re-handshake while the peer is down keeps the old context, retries, and replaces it when the peer is back", async () => {
  pair = await startPair({ a: (c) => (c.peers![0]!.initiate = true), retireGraceMs: 50 });
  const { a, b } = pair;
  a.service.start();
  await waitFor("first association", () => a.service.status("home")!.state === "active-prins", 5000, 10);
  const first = a.service.status("home")!.localContextId!;
  const port = b.server.port;
  await b.server.close();
  const st = await a.service.handshake("home"); // fails: the peer is down
  expect(st.state).toBe("active-prins"); // the old context is still valid
  expect(st.localContextId).toBe(first);
  expect(st.lastError?.cause).toBe("CONNECTION_FAILED");
  expect(st.nextRetryAt).not.toBeNull();
  await waitFor("a retry while down", () => a.service.status("home")!.counters.failures >= 2, 5000, 10);
  b.server = await serve(b, port);
  await waitFor("new association", () => a.service.status("home")!.localContextId !== first, 5000, 10);
  const now = a.service.status("home")!;
  expect(now.state).toBe("active-prins");
  expect(now.counters.successes).toBe(2);
  // the old context is retired on both sides after the grace
  await waitFor("old context retired", () => !a.contexts.get(first) && b.contexts.size === 1, 3000, 10);
  expect(a.contexts.size).toBe(1);
});
