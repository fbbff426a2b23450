// A data-path worker restarted after a stored configuration change (docs/ARCHITECTURE.md "Worker model",
// src/config/restart.ts): what the SEPP reads only at start stays what it started with, in the restarted worker as in
// the other one (before, a restarted worker built its SBI listener from the stored configuration, so the box had two
// different SBI bounds until its next start); what applies at once (log.level) reaches the restarted worker too.
// Two real SEPP processes; the visited one has `workers: 2`, no SEPP_LOG_LEVEL, and the test hook that kills worker 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, type SeppProcess, waitFor } from "../../scripts/lib/pair.ts";
import { NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const PATH = "/nudm-sdm/v2/imsi-262010000000001/am-data";
/** 40 header fields: above the changed sbi.maxHeaders (20), below the one the SEPP started with (128) */
const MANY = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-field-${i}`, "v"]));

describe("a worker restarted after a configuration change", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let v: SeppProcess;

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":1}' }));
    w = await startTwoSepps({
      name: "e2e-worker-restart-config",
      capabilities: ["PRINS"],
      separateN32f: true,
      homeNfs: { [HOME_UDM]: udm },
      edit: (side, c) => {
        if (side !== "visited") return;
        (c as { workers?: number }).workers = 2;
        (c as { log?: { level: string } }).log = { level: "warn" };
      },
      env: { SEPP_TEST_HOOKS: "1" },
      envOf: { visited: { SEPP_LOG_LEVEL: undefined } },
    });
    v = w.visited;
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("keeps the start-only SBI bounds of the other worker and takes the live log level", async () => {
    const cfg = (await (await v.admin("/v1/config")).json()) as {
      sbi: { maxHeaders?: number };
      log: { level: string };
    };
    cfg.sbi.maxHeaders = 20; // the SBI listener's bound: applies at the next start
    cfg.log = { level: "debug" }; // applies at once
    const put = await v.admin("/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(cfg),
    });
    expect(put.status).toBe(200);
    const st = (await (await v.admin("/v1/status")).json()) as { config: { restartRequired: string[] } };
    expect(st.config.restartRequired).toContain("sbi.maxHeaders");

    const n = v.logs.length;
    v.proc.kill("SIGUSR2"); // the test hook: worker 0 dies, the pool restarts it
    await waitFor(
      "worker 0 restarted",
      () => v.logs.slice(n).some((l) => l.msg === "data-path worker ready" && l.worker === 0),
      15000,
    );
    // new NF connections, spread over both workers by the kernel, until worker 0 has carried some: every request
    // with 40 header fields is served (the started bound, 128) wherever it lands
    const statuses: number[] = [];
    const sentBy = () => new Set(v.logs.filter((l) => l.msg === "N32-f request sent").map((l) => l.worker));
    for (let round = 0; round < 6 && !(sentBy().has(0) && sentBy().has(1)); round++) {
      const clients = Array.from({ length: 6 }, () => new NfClient(w.sides.visited.ports.sbi));
      const rs = await Promise.all(
        clients.map((c) => c.request("GET", `${HOME_UDM}:${udm.port}`, PATH, { accept: "application/json", ...MANY })),
      );
      for (const c of clients) c.close();
      statuses.push(...rs.map((r) => r.status));
      await Bun.sleep(100); // the pipes' lag
    }
    expect(statuses).toEqual(Array(statuses.length).fill(200));
    // both workers log at debug now, the restarted one included
    expect([...sentBy()].sort()).toEqual([0, 1]);
  }, 60000);
});
