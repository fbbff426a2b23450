// A data-path worker that dies on the pkcs11 AEAD engine (issue 11 §3, docs/ARCHITECTURE.md "Worker model"): a
// terminated Worker closes nothing, and its token session — with the N32-f keys in it — would stay open for the
// life of the process; a worker that crashes again and again would fill the token's few sessions and objects. Two
// real SEPP processes with `workers: 2`, the pkcs11 keystore and AEAD engine on their own SoftHSM2 tokens; the home
// SEPP's worker 0 is killed (test hook SIGUSR2, as a crash), the main thread closes the session it left, the
// restarted worker imports the keys again, and the token holds one set per thread, not one more.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, waitFor, type SeppProcess } from "../../scripts/lib/pair.ts";
import { NfClient, startNf, type TestNf } from "../support/nf.ts";
import {
  KEYS_PER_CONTEXT,
  closeWithoutPinInLogs,
  startPkcs11WorkerSepps,
  tokenKeys,
  workerTokens,
} from "../support/pkcs11-workers.ts";
import type { TwoSepps } from "../support/two-sepps.ts";

const TOKENS = workerTokens("k", "SEPP_KILLED_TOKEN_PIN");
const PATH = "/nudm-sdm/v2/imsi-262010000000001/am-data";

describe("a data-path worker killed on the pkcs11 AEAD engine (SoftHSM2)", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let h: SeppProcess;

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":1}' }));
    w = await startPkcs11WorkerSepps({
      name: "hw-worker-killed",
      ...TOKENS,
      udm,
      envOf: { home: { SEPP_TEST_HOOKS: "1" } }, // SIGUSR2 ends worker 0
    });
    h = w.home;
  }, 60000);

  afterAll(async () => {
    expect(await closeWithoutPinInLogs(w, TOKENS.pins)).toEqual({ codes: [0, 0], leaked: [] });
    await udm?.close();
  });

  const logged = (s: SeppProcess, msg: string, worker?: number) =>
    s.logs.filter((l) => l.msg === msg && (worker === undefined || l.worker === worker)).length;

  test("the main thread closes the dead worker's session; the restarted worker's keys replace its keys, not add to them", async () => {
    const oneSetPerThread = 3 * KEYS_PER_CONTEXT; // the main thread and 2 workers
    expect(
      await waitFor("keys in the token", async () => ((await tokenKeys(h)) === oneSetPerThread ? 1 : null), 10000),
    ).toBe(1);
    const readyBefore = logged(h, "data-path worker ready", 0);
    process.kill(h.proc.pid!, "SIGUSR2"); // worker 0 is terminated, as a crash
    await waitFor("worker 0 restarted", () => (logged(h, "data-path worker ready", 0) > readyBefore ? 1 : null), 15000);
    expect(logged(h, "data-path worker exited: restarting", 0)).toBe(1);
    // the restarted worker imports the context's keys in a session of its own: one set per thread again. Without
    // the close, the dead worker's set stays too (4 × 4 keys): watched for a while, as the import is asynchronous
    expect(
      await waitFor("one set per thread", async () => ((await tokenKeys(h)) === oneSetPerThread ? 1 : null), 10000),
    ).toBe(1);
    const seen = new Set<number | null>();
    for (let i = 0; i < 10; i++) {
      seen.add(await tokenKeys(h));
      await Bun.sleep(100);
    }
    expect([...seen]).toEqual([oneSetPerThread]);
    expect(logged(h, "closed the PKCS#11 session a data-path worker left open", 0)).toBe(1);
    // and the association carries traffic on both workers' keys (fresh NF connections land on either worker)
    const clients = Array.from({ length: 6 }, () => new NfClient(w.sides.visited.ports.sbi));
    try {
      const rs = await Promise.all(
        clients.map((c) => c.request("GET", `${HOME_UDM}:${udm.port}`, PATH, { accept: "application/json" })),
      );
      expect(rs.map((r) => r.status)).toEqual(Array(6).fill(200));
    } finally {
      for (const c of clients) c.close();
    }
  }, 40000);
});
