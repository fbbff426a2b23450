// What an NF gets when the cSEPP or the peer refuses its request (issue 4), through two real SEPP processes:
// the peer SEPP's congestion comes back as 429 NF_CONGESTION_RISK with retry-after; a body with an
// encBlockIndex member (TS 33.501 5.9.3.2, also in the JSON root of multipart/related), a target in our own
// PLMN or in a PLMN without a roaming partner, and a foreign 3gpp-Sbi-Originating-Network-Id are refused by
// the cSEPP with a ProblemDetails; nothing of a refused request reaches N32 or the producer. PRINS and TLS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, VISITED, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000077";
const AM_DATA = { subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };
const SUBSCRIBE = `/nudm-sdm/v2/${SUPI}/sdm-subscriptions`;

for (const mode of ["PRINS", "TLS"] as const) {
  describe(`${mode}: refusals reach the NF as ProblemDetails`, () => {
    let w: TwoSepps;
    let udm: TestNf;
    let v: SeppProcess;
    let h: SeppProcess;
    let amf: NfClient;
    let authority: string;

    beforeAll(async () => {
      udm = await startNf((r) =>
        r.path.startsWith(`/nudm-sdm/v2/${SUPI}/am-data`)
          ? { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(AM_DATA) }
          : { status: 201, headers: { "content-type": "application/json" }, body: r.body.length ? r.body : "{}" },
      );
      w = await startTwoSepps({
        name: `e2e-refusals-${mode}`,
        capabilities: [mode],
        homeNfs: { [HOME_UDM]: udm },
        // the home SEPP takes one request per second from the visited SEPP (burst 1)
        edit: (side, c) => {
          if (side === "home") c.peers![0]!.n32f = { ...c.peers![0]!.n32f, maxRequestsPerSecond: 1 };
        },
      });
      ({ visited: v, home: h, amf } = w);
      authority = `${HOME_UDM}:${udm.port}`;
    }, 60000);

    afterAll(async () => {
      expect(await w?.close()).toEqual([0, 0]);
    });

    /** a refusal by the cSEPP: status and cause, and neither N32 nor the producer saw anything */
    async function refused(
      p: Promise<{ status: number; json(): any; headers: Record<string, unknown> }>,
      status: number,
      cause: string,
    ) {
      const before = udm.received.length;
      const sentBefore = v.logs.filter((l) => l.msg === "N32-f request sent").length;
      const r = await p;
      expect(r.status).toBe(status);
      expect(String(r.headers["content-type"])).toBe("application/problem+json");
      expect(r.json()).toMatchObject({ status, cause });
      expect(udm.received.length).toBe(before);
      expect(v.logs.filter((l) => l.msg === "N32-f request sent").length).toBe(sentBefore);
    }

    test("a body with an encBlockIndex member is refused with 400 (JSON, and the JSON root of multipart/related)", async () => {
      const body = JSON.stringify({
        nfInstanceId: "0b1c2d3e-0000-4000-8000-0000000000a1",
        callbackReference: "http://amf.5gc.mnc015.mcc234.3gppnetwork.org/namf-callback/v1/cb",
        plmnId: { mcc: "234", mnc: "15", x: { encBlockIndex: 1 } },
      });
      await refused(
        amf.request("POST", authority, SUBSCRIBE, { "content-type": "application/json" }, body),
        400,
        "MANDATORY_IE_INCORRECT",
      );
      const b = "b-123";
      const mp = `--${b}\r\nContent-Type: application/json\r\n\r\n${body}\r\n--${b}\r\nContent-Type: application/vnd.3gpp.5gnas\r\nContent-Id: n1\r\n\r\n\x2e\x01\x02\r\n--${b}--\r\n`;
      await refused(
        amf.request("POST", authority, SUBSCRIBE, { "content-type": `multipart/related; boundary=${b}` }, mp),
        400,
        "MANDATORY_IE_INCORRECT",
      );
      // the same request without the member goes through (the refusal is about the member, not the request)
      const ok = await amf.request(
        "POST",
        authority,
        SUBSCRIBE,
        { "content-type": "application/json" },
        body.replace("encBlockIndex", "encBlockIndexNot"),
      );
      expect([201, 429]).toContain(ok.status);
    });

    test("targets in our own PLMN or in a PLMN without a roaming partner are refused", async () => {
      await refused(
        amf.request("GET", `udm.5gc.mnc015.mcc234.3gppnetwork.org:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`),
        400,
        "MANDATORY_IE_INCORRECT",
      );
      await refused(
        amf.request("GET", `udm.5gc.mnc099.mcc999.3gppnetwork.org:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`),
        403,
        "TARGET_NOT_ALLOWED",
      );
      await refused(amf.request("GET", VISITED.fqdn, `/nudm-sdm/v2/${SUPI}/am-data`), 400, "MANDATORY_IE_MISSING");
    });

    test("a 3gpp-Sbi-Originating-Network-Id that is not ours is refused with 403 PLMN_ID_MISMATCH", async () => {
      await refused(
        amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`, { "3gpp-sbi-originating-network-id": "262-01" }),
        403,
        "PLMN_ID_MISMATCH",
      );
    });

    test("the peer SEPP's congestion reaches the NF as 429 NF_CONGESTION_RISK with retry-after", async () => {
      // several at once against a rate of 1/s at the home SEPP (burst 1): at most a couple pass, the others are 429
      const rs = await Promise.all(
        Array.from({ length: 6 }, () => amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`)),
      );
      const statuses = rs.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      for (const r of rs.filter((x) => x.status === 429)) {
        expect(r.json()).toMatchObject({ status: 429, cause: "NF_CONGESTION_RISK" });
        expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      }
      // the refusal came from the home SEPP (the visited one's own limit is far higher)
      const hm = await (await h.admin("/metrics")).text();
      expect(hm).toMatch(/sepp_peer_requests_refused_total\{[^}]*peer="visited"[^}]*\} [1-9]/);
    });
  });
}
