// End to end through two real SEPP processes: a visited AMF asks the home UDM for am-data (Nudm_SDM) under
// PRINS and under TLS; real HTTP/2 (h2c) NFs, real mutual TLS on N32, real child processes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, VISITED, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startAmDataUdm, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000001";
const AM_DATA = {
  gpsis: ["msisdn-491700000001"],
  subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" },
  nssai: { defaultSingleNssais: [{ sst: 1 }] },
};

for (const mode of ["PRINS", "TLS"] as const) {
  describe(`${mode}: Nudm_SDM am-data through two SEPPs`, () => {
    let w: TwoSepps<never>;
    let udm: TestNf;
    let v: SeppProcess;
    let h: SeppProcess;
    let amf: NfClient;

    beforeAll(async () => {
      udm = await startAmDataUdm(SUPI, AM_DATA);
      w = await startTwoSepps({ name: `e2e-${mode}`, capabilities: [mode], homeNfs: { [HOME_UDM]: udm } });
      ({ visited: v, home: h, amf } = w);
    }, 60000);

    afterAll(async () => {
      expect(await w?.close()).toEqual([0, 0]); // SIGTERM drains and exits 0
    });

    test("the AMF gets the UDM's answer; the UDM got the AMF's request", async () => {
      const r = await amf.request(
        "GET",
        `${HOME_UDM}:${udm.port}`,
        `/nudm-sdm/v2/${SUPI}/am-data?plmn-id=%7B%22mcc%22%3A%22234%22%2C%22mnc%22%3A%2215%22%7D`,
        {
          accept: "application/json",
          authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbWYifQ.c2ln",
        },
      );
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
      const got = udm.received.at(-1)!;
      expect(got.method).toBe("GET");
      expect(got.path).toBe(`/nudm-sdm/v2/${SUPI}/am-data?plmn-id=%7B%22mcc%22%3A%22234%22%2C%22mnc%22%3A%2215%22%7D`);
      expect(got.headers.authorization).toBe("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbWYifQ.c2ln");
      // the cSEPP inserted the originating network (TS 33.501 5.9.3.2)
      expect(got.headers["3gpp-sbi-originating-network-id"]).toBe(`234-15; src: SEPP-${VISITED.fqdn}`);
      expect(got.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();
    });

    test("an NF error answer reaches the consumer unchanged", async () => {
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/imsi-262019999999999/am-data`);
      expect(r.status).toBe(404);
      expect(r.json().cause).toBe("USER_NOT_FOUND");
    });

    test("the target apiRoot header routes too (and is removed before the producer)", async () => {
      const r = await amf.request("GET", VISITED.fqdn, `/nudm-sdm/v2/${SUPI}/am-data`, {
        "3gpp-sbi-target-apiroot": `http://${HOME_UDM}:${udm.port}`,
      });
      expect(r.status).toBe(200);
      expect(udm.received.at(-1)!.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();
    });

    test("metrics count the requests by peer, mode, direction and outcome", async () => {
      const m = await (await v.admin("/metrics")).text();
      expect(m).toMatch(
        new RegExp(
          `sepp_datapath_requests_total\\{[^}]*direction="outbound"[^}]*mode="${mode.toLowerCase()}"[^}]*outcome="ok"[^}]*\\} [1-9]`,
        ),
      );
      const hm = await (await h.admin("/metrics")).text();
      expect(hm).toMatch(
        new RegExp(`sepp_datapath_requests_total\\{[^}]*direction="inbound"[^}]*mode="${mode.toLowerCase()}"`),
      );
    });
  });
}
