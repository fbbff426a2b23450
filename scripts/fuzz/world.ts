import type { N32fContext } from "../../src/n32f/context.ts";
import type { PrinsEngine } from "../../src/n32f/engine.ts";
import { startNf, type TestNf } from "../../test/support/nf.ts";
import { startInProcessSepp } from "../../test/support/inproc-sepp.ts";
import { THIRD, type ThirdSepp, writeThirdSepp } from "../../test/support/third-sepp.ts";
import { startTwoSepps } from "../../test/support/two-sepps.ts";
import { shippedEnvironment } from "../lib/unit-env.ts";
import { HOME, HOME_UDM, waitForState, type SeppProcess } from "../lib/pair.ts";

export const SUPI = "imsi-262010000000001";
export const AM_PATH = `/nudm-sdm/v2/${SUPI}/am-data`;

export interface World {
  v: SeppProcess;
  h: SeppProcess;
  udm: TestNf;
  udmAuthority: string;
  /** the in-process third partner's N32-f context with the home SEPP, and an engine to seal with */
  ctx: N32fContext;
  engine: PrinsEngine;
  /** TLS material of the third partner (a configured peer "x" of the home SEPP) and of the home SEPP's roots */
  xTls: { cert: string; key: string; ca: string[]; servername: string };
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const udm = await startNf((r) => ({
    status: r.path.startsWith(AM_PATH) ? 200 : 404,
    headers: { "content-type": r.path.startsWith(AM_PATH) ? "application/json" : "application/problem+json" },
    body: JSON.stringify(
      r.path.startsWith(AM_PATH) ? { gpsis: ["msisdn-491700000001"] } : { status: 404, cause: "USER_NOT_FOUND" },
    ),
  }));
  const udmAuthority = `${HOME_UDM}:${udm.port}`;
  const fast = { maxRequestsPerSecond: 100_000, maxPendingRequests: 4096 };
  let third: ThirdSepp | undefined;
  const w = await startTwoSepps({
    name: "fuzz-campaign",
    // the gateway's memory policy (packaging/sepp.service), so that the RSS the campaign reports is the product's
    env: shippedEnvironment(),
    capabilities: ["PRINS"],
    homeNfs: { [HOME_UDM]: udm },
    edit: (_side, c) => {
      c.n32c = { ...c.n32c, maxRequestsPerSecond: 100_000 };
      c.peers![0]!.n32f = { ...c.peers![0]!.n32f, ...fast };
    },
    // the third partner is configured at the home SEPP ("x") but runs in this process, below
    beforeStart: async (p) => {
      third = await writeThirdSepp(
        { home: p.sides.home, pki: p.pki },
        {
          dir: p.dir,
          idAtHome: "x",
          editHomePeer: (x) => {
            x.n32f = {
              ...fast,
              allowedTargets: [
                { host: HOME_UDM, port: udm.port, scheme: "http" },
                { host: "127.0.0.1", port: udm.port, scheme: "http" },
              ],
            };
          },
        },
      );
    },
    stateTimeoutMs: 30000,
  });
  const { visited: v, home: h, pki, dir } = w;
  const x = third!;
  // the third partner in this process: the project's N32-c service with the third SEPP's identity
  const inproc = await startInProcessSepp({
    side: x.side,
    cert: x.cert,
    anchors: [
      { name: "third", plmn: THIRD.plmn, rootPem: x.root.certPem },
      { name: "home", plmn: HOME.plmn, rootPem: pki.rootH.certPem },
    ],
    dir,
    waitMs: 30000,
  }).catch(async (e) => {
    await w.close();
    throw e;
  });
  await waitForState(h, "x", "active-prins");
  const { ctx, engine } = inproc;
  return {
    v,
    h,
    udm,
    udmAuthority,
    ctx,
    engine,
    xTls: {
      cert: x.cert.chainPem,
      key: x.cert.keyPem,
      ca: [x.root.certPem, pki.rootH.certPem],
      servername: HOME.fqdn,
    },
    async close() {
      await inproc.close();
      await w.close();
    },
  };
}
