// Commit after boot (src/system/commit.ts) keeps its deadline on a monotonic clock: a board without a real-time
// clock steps its wall clock by years when NTP first answers, which is while these checks run after the reboot into a
// new slot. With a wall-clock deadline the checks "failed" at once and a good update was marked bad and rolled back.
import { afterEach, expect, setSystemTime, test } from "bun:test";
import { commitAfterBoot, until } from "../../src/system/commit.ts";

afterEach(() => setSystemTime()); // the real clock again

const YEARS = 3 * 365 * 86_400_000;

test("until: the wall clock stepped forward by years does not end the wait", async () => {
  let calls = 0;
  const r = await until(
    performance.now() + 5000,
    () => {
      calls++;
      if (calls === 1) setSystemTime(new Date(Date.now() + YEARS));
      return calls < 4 ? "peer not yet active" : null;
    },
    10,
  );
  expect(r).toBeNull();
  expect(calls).toBe(4);
});

test("commitAfterBoot: checks that pass after an NTP step mark the slot good, no reboot", async () => {
  const marked: string[] = [];
  const reboots: string[] = [];
  let probes = 0;
  const out = await commitAfterBoot({
    bootedStatus: async () => ({ ok: true, slot: "B", bootStatus: "bad" }),
    mark: async (s) => {
      marked.push(s);
      return { ok: true };
    },
    reboot: async (why) => {
      reboots.push(why);
    },
    timeoutMs: 5000,
    checks: [
      {
        name: "peers",
        run: (deadline) =>
          until(
            deadline,
            () => {
              probes++;
              if (probes === 1) setSystemTime(new Date(Date.now() + YEARS));
              return probes < 3 ? "association with home not active" : null;
            },
            10,
          ),
      },
    ],
    log: { info: () => {}, error: () => {} },
  });
  // before: { result: "marked-bad", failures: ["peers: association with home not active"] } and a reboot
  expect(out).toEqual({ result: "marked-good", slot: "B" });
  expect(marked).toEqual(["good"]);
  expect(reboots).toEqual([]);
});

test("until: a probe that never passes still ends at the deadline with its reason", async () => {
  const t0 = performance.now();
  expect(await until(t0 + 100, () => "never", 10)).toBe("never");
  expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
});
