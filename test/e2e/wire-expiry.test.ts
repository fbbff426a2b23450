// An expired N32-f context on the wire (N32-PROFILE P1, P10): the home SEPP's contexts live 4 s
// (n32c.contextValiditySeconds), the visited SEPP's 24 h, so the visited SEPP keeps using a context that the
// home SEPP holds past its life. A man-in-the-middle proxy holds one genuine message until the home context's
// validUntil has passed and then delivers it: ENCRYPTION_KEY_EXPIRED. Once the home SEPP has swept the
// context, the same traffic meets CONTEXT_NOT_FOUND. Both: 403 to the visited SEPP, n32f-error reported, a
// clear error for the NF, nothing at the producer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, waitFor, waitForState, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import type { N32Proxy, ProxyRequest } from "../support/n32-proxy.ts";

const SUPI = "imsi-262010000000001";
const VALIDITY_S = 4;
const isProcess = (r: ProxyRequest) => r.path === "/n32f-forward/v1/n32f-process";

describe("an expired N32-f context (PRINS, two SEPP processes, a proxy between them)", () => {
  let w: TwoSepps<"f">;
  let udm: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
  let proxyF: N32Proxy;
  let amf: NfClient;
  let homeValidUntil = 0;

  const visitedErrors = async () =>
    ((await (await v.admin("/v1/peers/home/n32")).json()) as { counters: { errorsReceived: number } }).counters
      .errorsReceived;

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }));
    w = await startTwoSepps({
      name: "e2e-expiry",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      proxies: { f: { target: "home", via: "n32f" } },
      edit: (side, c) => {
        if (side === "home") c.n32c = { ...c.n32c, contextValiditySeconds: VALIDITY_S, rekeyMarginSeconds: 1 };
      },
    });
    ({ visited: v, home: h, amf } = w);
    proxyF = w.proxies.f;
    const hs = await waitForState(h, "visited", "active-prins");
    homeValidUntil = Number(hs.validUntil);
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("a message delivered just after the home context's validity ends: 403 ENCRYPTION_KEY_EXPIRED", async () => {
    expect(homeValidUntil).toBeGreaterThan(Date.now()); // the test starts while the context is still valid
    // one genuine request passes while the context is valid
    expect((await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`)).status).toBe(200);
    const before = udm.received.length;
    const errors0 = await visitedErrors();
    let held = false;
    proxyF.onRequest((r) => {
      if (held || !isProcess(r)) return undefined;
      held = true;
      // the home SEPP sweeps expired contexts every 5 s: deliver right after validUntil, before the next sweep
      return { kind: "forward", delayUntil: () => Date.now() > homeValidUntil + 2 };
    });
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {}, undefined, {
      timeoutMs: 20000,
    });
    const ex = proxyF.exchanges.at(-1)!;
    await ex.done;
    expect(ex.status).toBe(403);
    expect(JSON.parse(ex.responseBody!.toString())).toMatchObject({
      cause: "ENCRYPTION_KEY_EXPIRED",
      suggestedStatusCode: 502,
    });
    expect(r.status).toBe(502);
    expect(r.json().cause).toBe("ENCRYPTION_KEY_EXPIRED");
    expect(udm.received.length).toBe(before);
    await waitFor("the visited SEPP got the n32f-error", async () => (await visitedErrors()) > errors0);
    expect(h.logs.some((l) => l.msg === "N32-f message refused" && l.type === "ENCRYPTION_KEY_EXPIRED")).toBe(true);
  }, 20000);

  test("once the home SEPP has dropped the expired context: CONTEXT_NOT_FOUND, reported, nothing at the producer", async () => {
    proxyF.onRequest(null);
    await waitFor(
      "the home SEPP dropped its context",
      async () =>
        ((await (await h.admin("/v1/peers/visited/n32")).json()) as { localContextId: string | null })
          .localContextId === null,
      12000,
      100,
    );
    const before = udm.received.length;
    const errors0 = await visitedErrors();
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r.status).toBe(502);
    expect(r.json().cause).toBe("CONTEXT_NOT_FOUND");
    const ex = proxyF.exchanges.at(-1)!;
    await ex.done;
    expect(ex.status).toBe(403);
    expect(udm.received.length).toBe(before);
    await waitFor("the visited SEPP got the n32f-error", async () => (await visitedErrors()) > errors0);
  }, 20000);
});
