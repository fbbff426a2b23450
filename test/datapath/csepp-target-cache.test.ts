// The cSEPP keeps resolved targets per configuration (src/datapath/csepp.ts, step 1): repeated requests get the
// same answers, a new configuration is used at once, and telescopic FQDNs are looked up in the table every time
// (never kept). Real CSepp and telescopic table; the N32 association is reported absent, so a request that
// found its peer ends at 503 before any network I/O, and the peer asked for is recorded.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { SeppConfig } from "../../src/config/schema.ts";
import type { CSepp } from "../../src/datapath/csepp.ts";
import type { InboundRequest } from "../../src/datapath/http.ts";
import { TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import { cseppAlone } from "../support/csepp-alone.ts";
import { HOME_FQDN as HOME, homeConfig } from "../support/home-config.ts";
const VISITED_UDM = "udm.5gc.mnc015.mcc234.3gppnetwork.org";
let cfg: SeppConfig;
let db: Database;
let telescopic: TelescopicStore;
let csepp: CSepp;
let asked: string[] = [];

const config = (peerId: string, ownMnc = "01"): SeppConfig => homeConfig({ peerId, ownMnc });

beforeAll(() => {
  cfg = config("visited");
  db = new Database(":memory:");
  telescopic = new TelescopicStore(db, { seppDomain: HOME });
  const alone = cseppAlone({ config: () => cfg, telescopic, limitPeers: [...cfg.peers, ...config("visited-2").peers] });
  csepp = alone.csepp;
  asked = alone.asked;
});
afterAll(() => telescopic.close());

const req = (authority: string, apiRoots: string[] = [], origins: string[] = []): InboundRequest => ({
  method: "GET",
  scheme: "http",
  authority,
  path: "/nudm-sdm/v2/imsi-234150000000001/am-data",
  headers: [
    ...apiRoots.map((v): [string, string] => ["3gpp-sbi-target-apiroot", v]),
    ...origins.map((v): [string, string] => ["3gpp-sbi-originating-network-id", v]),
  ],
  body: new Uint8Array(0),
  signal: new AbortController().signal,
});
const cause = (r: { body?: unknown }) => JSON.parse(String(r.body)).cause;

describe("cSEPP target resolution kept per configuration", () => {
  test("repeated targets (authority, apiRoot header) give the same answers; refusals stay refusals", async () => {
    for (let i = 0; i < 3; i++) {
      asked.length = 0;
      expect((await csepp.handle(req(`${VISITED_UDM}:443`))).status).toBe(503);
      expect((await csepp.handle(req(`${HOME}:8080`, [`https://${VISITED_UDM}/prefix`]))).status).toBe(503);
      expect(asked).toEqual(["visited", "visited"]);
      const own = await csepp.handle(req(`${HOME}:8080`));
      expect([own.status, cause(own)]).toEqual([400, "MANDATORY_IE_MISSING"]);
      const two = await csepp.handle(req(`${HOME}:8080`, [`https://${VISITED_UDM}`, `https://${VISITED_UDM}`]));
      expect(two.status).toBe(400);
      const ownPlmn = await csepp.handle(req("udm.5gc.mnc001.mcc262.3gppnetwork.org"));
      expect(ownPlmn.status).toBe(400);
      expect(asked).toEqual(["visited", "visited"]);
    }
  });

  test("a new configuration object is used at once (the peer of the same target changes)", async () => {
    asked.length = 0;
    await csepp.handle(req(`${VISITED_UDM}:443`));
    const before = cfg;
    cfg = config("visited-2");
    await csepp.handle(req(`${VISITED_UDM}:443`));
    cfg = before;
    await csepp.handle(req(`${VISITED_UDM}:443`));
    expect(asked).toEqual(["visited", "visited-2", "visited"]);
  });

  test("a telescopic FQDN is looked up every time: a label gone from the table is 404 on the next request", async () => {
    const label = telescopic.labelFor(VISITED_UDM, { scheme: "https", port: 443 });
    asked.length = 0;
    expect((await csepp.handle(req(`${label}.${HOME}:8080`))).status).toBe(503);
    expect((await csepp.handle(req(`${HOME}:8080`, [`http://${label}.${HOME}:8080`]))).status).toBe(503);
    expect(asked).toEqual(["visited", "visited"]);
    db.run("DELETE FROM telescopic_map");
    const gone = await csepp.handle(req(`${label}.${HOME}:8080`));
    expect([gone.status, cause(gone)]).toEqual([404, "TARGET_NOT_FOUND"]);
    const goneHdr = await csepp.handle(req(`${HOME}:8080`, [`http://${label}.${HOME}:8080`]));
    expect(goneHdr.status).toBe(404);
  });

  test("the Originating-Network-Id verdict follows the header value and the configuration, every time", async () => {
    const before = cfg;
    const outcome = async (origins: string[]) => {
      const r = await csepp.handle(req(`${VISITED_UDM}:443`, [], origins));
      return r.status === 503 ? "forwarded" : `${r.status} ${cause(r)}`;
    };
    for (let i = 0; i < 2; i++) {
      expect(await outcome([])).toBe("forwarded");
      expect(await outcome(["262-01"])).toBe("forwarded");
      expect(await outcome(["262-02"])).toBe("403 PLMN_ID_MISMATCH");
      expect(await outcome(["26201"])).toBe("400 MANDATORY_IE_INCORRECT");
      expect(await outcome(["262-01", "262-01"])).toBe("400 MANDATORY_IE_INCORRECT");
    }
    cfg = config("visited", "02"); // our own PLMN is now 262-02
    expect(await outcome(["262-01"])).toBe("403 PLMN_ID_MISMATCH");
    expect(await outcome(["262-02"])).toBe("forwarded");
    cfg = before;
    expect(await outcome(["262-01"])).toBe("forwarded");
  });
});
