// log.level of the configuration (docs/CONFIG.md): applied once the configuration is loaded and again on every
// stored change, in the main thread and in the data-path workers alike; SEPP_LOG_LEVEL, when set, wins. Two real
// SEPP processes, the visited one with `workers: 2` and no SEPP_LOG_LEVEL; the worker's per-request debug line
// ("N32-f request sent", carrying its worker index) shows which level a worker is at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const PATH = "/nudm-sdm/v2/imsi-262010000000001/am-data";

describe("log.level", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let v: SeppProcess;
  let client: NfClient;

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":1}' }));
    w = await startTwoSepps({
      name: "e2e-log-level",
      capabilities: ["PRINS"],
      separateN32f: true,
      homeNfs: { [HOME_UDM]: udm },
      edit: (side, c) => {
        if (side === "visited") {
          (c as { workers?: number }).workers = 2;
          (c as { log?: { level: string } }).log = { level: "warn" };
        }
      },
      // the visited SEPP follows its configuration; the home SEPP keeps the tests' SEPP_LOG_LEVEL=debug
      envOf: { visited: { SEPP_LOG_LEVEL: undefined } },
    });
    v = w.visited;
    client = w.client(w.sides.visited.ports.sbi);
  }, 60000);

  afterAll(async () => {
    client?.close();
    expect(await w?.close()).toEqual([0, 0]);
  });

  const requests = async (n: number) => {
    const rs = await Promise.all(
      Array.from({ length: n }, () =>
        client.request("GET", `${HOME_UDM}:${udm.port}`, PATH, { accept: "application/json" }),
      ),
    );
    expect(rs.map((r) => r.status)).toEqual(Array(n).fill(200));
  };
  const sent = () => v.logs.filter((l) => l.msg === "N32-f request sent");
  const setLevel = async (level: string) => {
    const cfg = (await (await v.admin("/v1/config")).json()) as { log: { level: string } };
    cfg.log = { level };
    const put = await v.admin("/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(cfg),
    });
    expect(put.status).toBe(200);
  };

  test("warn from the configuration: no info or debug lines once it is loaded, in the workers neither", async () => {
    // logged at info before the configuration is loaded, not after it (src/sepp.ts)
    expect(v.logs.some((l) => l.msg === "process hardening")).toBe(true);
    expect(v.logs.filter((l) => l.msg === "data-path workers" || l.msg === "listening")).toEqual([]);
    const from = v.logs.length;
    await requests(8);
    await Bun.sleep(300); // the pipes' lag
    expect(sent()).toEqual([]);
    expect(v.logs.slice(from).filter((l) => l.level === "info" || l.level === "debug")).toEqual([]);
  });

  test("changed to debug through the admin API: the workers log each request from the next one on", async () => {
    await setLevel("debug");
    await requests(8);
    const deadline = Date.now() + 3000;
    while (sent().length < 8 && Date.now() < deadline) await Bun.sleep(20);
    expect(sent().length).toBe(8);
    expect(sent().every((l) => typeof l.worker === "number")).toBe(true);
  });

  test("and back to warn: quiet again", async () => {
    await setLevel("warn");
    await Bun.sleep(100); // the workers receive the configuration by message
    const before = sent().length;
    await requests(8);
    await Bun.sleep(300);
    expect(sent().length).toBe(before);
  });
});
