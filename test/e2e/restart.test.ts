// Resilience: the home SEPP restarts (power cut: its N32-f contexts are gone). The visited SEPP's next request
// is refused with CONTEXT_NOT_FOUND and reported with n32f-error; the visited SEPP re-negotiates on that report
// instead of sending into a dead context until its next scheduled re-handshake, and traffic flows again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, startSepp, waitFor, type SeppProcess, type SeppSide } from "../../scripts/lib/pair.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000001";

describe("home SEPP restart under PRINS", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
  let homeSide: SeppSide;
  let amf: NfClient;

  beforeAll(async () => {
    udm = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ gpsis: ["msisdn-491700000001"] }),
    }));
    w = await startTwoSepps({ name: "restart", capabilities: ["PRINS"], homeNfs: { [HOME_UDM]: udm } });
    ({ visited: v, home: h, amf } = w);
    homeSide = w.sides.home;
  }, 60000);

  afterAll(async () => {
    await h?.stop(); // the restarted home SEPP
    await w?.close();
  });

  test("traffic recovers after the peer lost its contexts", async () => {
    const get = () => amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect((await get()).status).toBe(200);
    const before = (await (await v.admin("/v1/peers/home/n32")).json()) as { localContextId: string };

    expect(await h.stop()).toBe(0);
    h = await startSepp(homeSide);
    const refused = await get();
    expect(refused.status).toBeGreaterThanOrEqual(400); // the old context is unknown to the restarted peer
    const received = udm.received.length;

    const after = await waitFor(
      "a new N32-f context",
      async () => {
        const s = (await (await v.admin("/v1/peers/home/n32")).json()) as { state: string; localContextId: string };
        return s.state === "active-prins" && s.localContextId !== before.localContextId ? s : null;
      },
      30000, // generous: a loaded 2-core CI machine
      100,
    );
    expect(after.localContextId).not.toBe(before.localContextId);
    const ok = await waitFor(
      "a request through the new context",
      async () => ((await get()).status === 200 ? true : null),
      20000,
      200,
    );
    expect(ok).toBe(true);
    expect(udm.received.length).toBeGreaterThan(received);
    expect(v.logs.some((l) => l.msg === "the peer lost our N32-f context: re-negotiating")).toBe(true);
  }, 120000);
});
