// Requests handed between data-path workers (src/workers/handoff.ts) in real SEPP processes: each side runs
// `workers: 2` with `workerHandoff: "least-loaded"` (the default is "off") and the test hook that hands requests off without waiting for a saturated worker
// (SEPP_TEST_HANDOFF_SPILL), one NF connection into the visited SEPP (so its SBI requests arrive on one worker)
// and the N32-f connections the visited workers open toward the home SEPP. Every answer is the answer to its own request, PRINS and TLS mode, and both SEPPs' workers served
// requests the other worker read.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, type SeppProcess, waitFor } from "../../scripts/lib/pair.ts";
import { startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const supi = (i: number) => `imsi-2620100000${String(i).padStart(5, "0")}`;

/** The hand-off counters of one SEPP's workers: outcome → worker → count. */
async function handoffs(s: SeppProcess): Promise<Record<string, Record<string, number>>> {
  const text = await (await s.admin("/metrics")).text();
  const out: Record<string, Record<string, number>> = {};
  for (const m of text.matchAll(/^sepp_worker_handoff_total\{outcome="([a-z-]+)",worker="(\d+)"\} (\d+)$/gm)) {
    out[m[1]!] ??= {};
    out[m[1]!]![m[2]!] = Number(m[3]);
  }
  return out;
}
const sum = (r: Record<string, number> | undefined) => Object.values(r ?? {}).reduce((a, b) => a + b, 0);

for (const mode of ["PRINS", "TLS"] as const)
  describe(`workers: 2, requests handed between workers — ${mode}`, () => {
    let w: TwoSepps;
    let udm: TestNf;

    beforeAll(async () => {
      // the UDM answers with the SUPI of the path: an answer delivered to another request would show
      udm = await startNf((r) => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ supi: /\/nudm-sdm\/v2\/([^/]+)\//.exec(r.path)?.[1] ?? null }),
      }));
      w = await startTwoSepps({
        name: `e2e-handoff-${mode.toLowerCase()}`,
        capabilities: [mode],
        separateN32f: true,
        homeNfs: { [HOME_UDM]: udm },
        edit: (_side, c) => {
          (c as { workers?: number }).workers = 2;
          c.workerHandoff = "least-loaded"; // (the default is "off")
        },
        env: { SEPP_TEST_HOOKS: "1", SEPP_TEST_HANDOFF_SPILL: "1" },
      });
    }, 60000);

    afterAll(async () => {
      expect(await w?.close()).toEqual([0, 0]);
      await udm?.close();
    });

    /** `n` concurrent GETs of distinct SUPIs over one NF connection: the SUPIs the answers name. */
    const burst = async (from: number, n: number) => {
      const nf = w.client(w.sides.visited.ports.sbi);
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          nf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${supi(from + i)}/am-data`, {
            accept: "application/json",
          }),
        ),
      );
      nf.close();
      expect(rs.map((r) => r.status)).toEqual(Array(n).fill(200));
      return rs.map((r) => JSON.parse(r.body.toString()).supi);
    };

    test("every answer is its own request's, and each SEPP's second worker served requests the first one read", async () => {
      const nf = w.client(w.sides.visited.ports.sbi);
      const N = 60;
      for (let round = 0; round < 3; round++) {
        const rs = await Promise.all(
          Array.from({ length: N }, (_, i) =>
            nf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${supi(round * N + i)}/am-data`, {
              accept: "application/json",
            }),
          ),
        );
        expect(rs.map((r) => r.status)).toEqual(Array(N).fill(200));
        expect(rs.map((r) => JSON.parse(r.body.toString()).supi)).toEqual(
          Array.from({ length: N }, (_, i) => supi(round * N + i)),
        );
      }
      for (const s of [w.visited, w.home]) {
        const h = await handoffs(s);
        // handed off, and every hand-off answered by the other worker
        expect(sum(h.sent)).toBeGreaterThan(0);
        expect(sum(h.served)).toBe(sum(h.sent));
        for (const x of ["0", "1"]) expect(h.served?.[String(1 - Number(x))] ?? 0).toBe(h.sent?.[x] ?? 0);
        expect(h["worker-ended"]).toBeUndefined();
        expect(h.timeout).toBeUndefined();
      }
      // the visited SEPP: one NF connection, so one worker read every request and handed some to the other (which
      // then sent them on its own N32-f connection: the home SEPP may see a connection from each visited worker)
      expect(Object.keys((await handoffs(w.visited)).sent ?? {})).toHaveLength(1);
    }, 30000);

    test("a worker killed is replaced and linked again: its replacement hands off and serves", async () => {
      const n = w.home.logs.length;
      w.home.proc.kill("SIGUSR2"); // test hook: the pool terminates worker 0
      await waitFor(
        "home worker 0 restarted",
        () => w.home.logs.slice(n).some((l) => l.msg === "data-path worker ready"),
        15000,
      );
      // the replacement's counters start at 0: any hand-off it takes part in is one over a new link
      await waitFor(
        "home worker 0 handing off again",
        async () => {
          const first = 10_000 + Math.floor(Math.random() * 50_000);
          const got = await burst(first, 40).catch(() => null);
          if (got) expect(got).toEqual(Array.from({ length: 40 }, (_, i) => supi(first + i)));
          const h = await handoffs(w.home);
          return (h.sent?.["0"] ?? 0) + (h.served?.["0"] ?? 0) > 0;
        },
        20000,
      );
      // (the counters of the worker that was killed went with it: the sums no longer pair up)
      expect((await handoffs(w.home)).timeout).toBeUndefined();
    }, 40000);

    test("workerHandoff set to off through the admin API takes effect at once: nothing more is handed off", async () => {
      const cfg = (await (await w.visited.admin("/v1/config")).json()) as Record<string, unknown>;
      const put = await w.visited.admin("/v1/config", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...cfg, workerHandoff: "off" }),
      });
      expect(put.status).toBe(200);
      // the workers get the new configuration by message: give it a moment, then count from here
      await Bun.sleep(300);
      const before = sum((await handoffs(w.visited)).sent);
      const first = 100_000;
      expect(await burst(first, 60)).toEqual(Array.from({ length: 60 }, (_, i) => supi(first + i)));
      expect(sum((await handoffs(w.visited)).sent)).toBe(before);
    }, 30000);
  });
