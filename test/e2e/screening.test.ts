// Border screening through two real SEPP processes (PRINS and TLS mode): the home SEPP screens the visited
// partner's requests after verification/reconstruction and before delivery. An allowed roaming operation reaches
// the UDM; an operation outside the home role (category 1), a foreign subscriber (category 2) and a purpose not
// negotiated are refused with a ProblemDetails naming the category that reaches the AMF, nothing reaches the UDM,
// and the home SEPP logs a security event and counts it in /metrics. With body validation on, a UECM registration
// whose body matches TS 29.503's schema reaches the UDM and one that does not is refused with 400
// SCREENING_BODY_INVALID and its invalidParams. A UDM answering with 3gpp-Sbi-Oci 100 %
// makes the home SEPP answer the next request itself with 503 NF_CONGESTION carrying the OCI.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, waitFor, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfAnswer, type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000099";
const FOREIGN_SUPI = "imsi-310150000000099";
const OCI = `Timestamp: "${new Date().toISOString()}"; Period-of-Validity: 60s; Overload-Reduction-Metric: 100%; NF-Instance: 54804518-4191-46b3-955c-ac631f953ed8`;

for (const mode of ["PRINS", "TLS"] as const) {
  describe(`${mode}: the home SEPP screens the partner's requests`, () => {
    let w: TwoSepps;
    let udm: TestNf;
    let h: SeppProcess;
    let amf: NfClient;
    let authority: string;

    beforeAll(async () => {
      udm = await startNf(
        (r): NfAnswer =>
          r.path.endsWith("/nssai")
            ? { status: 200, headers: { "content-type": "application/json", "3gpp-sbi-oci": OCI }, body: "{}" }
            : { status: 200, headers: { "content-type": "application/json" }, body: "{}" },
      );
      w = await startTwoSepps({
        name: `e2e-screening-${mode}`,
        capabilities: [mode],
        homeNfs: { [HOME_UDM]: udm },
        edit: (side, c) => {
          if (side === "home")
            c.screening = {
              operations: { mode: "refuse" },
              plmnConsistency: { mode: "refuse" },
              plausibility: { mode: "refuse" },
              purpose: { mode: "refuse" },
              bodyValidation: { mode: "refuse", apis: ["nudm-uecm"] },
            };
        },
      });
      ({ home: h, amf } = w);
      authority = `${HOME_UDM}:${udm.port}`;
    }, 60000);

    afterAll(async () => {
      expect(await w?.close()).toEqual([0, 0]);
    });

    async function refused(path: string, cause: string, rule: string, headers: Record<string, string> = {}) {
      const before = udm.received.length;
      const r = await amf.request("GET", authority, path, headers);
      expect(r.status).toBe(403);
      expect(String(r.headers["content-type"])).toBe("application/problem+json");
      expect(r.json()).toMatchObject({ status: 403, cause });
      expect(udm.received.length).toBe(before);
      const event = await waitFor(
        "security event",
        async () => h.logs.find((l) => l.category === "security" && l.rule === rule) ?? null,
        5000,
        50,
      );
      expect(event).toMatchObject({ category: "security", peer: "visited", action: "refused" });
      if (mode === "PRINS") expect(typeof event.messageId).toBe("string");
      expect(JSON.stringify(h.logs.filter((l) => l.category === "security"))).not.toContain(FOREIGN_SUPI);
    }

    test("an allowed roaming operation for our subscriber reaches the UDM", async () => {
      const before = udm.received.length;
      const r = await amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`);
      expect(r.status).toBe(200);
      expect(udm.received.length).toBe(before + 1);
    });

    test("category 1: an operation outside the home role is refused (SCREENING_CAT1_NOT_ALLOWED)", async () => {
      await refused(`/nudm-sdm/v2/${SUPI}/no-such-resource`, "SCREENING_CAT1_NOT_ALLOWED", "operation");
    });

    test("category 2: a subscriber of another PLMN is refused (SCREENING_CAT2_PLMN_MISMATCH)", async () => {
      await refused(`/nudm-sdm/v2/${FOREIGN_SUPI}/am-data`, "SCREENING_CAT2_PLMN_MISMATCH", "path:supi");
    });

    test("a 3gpp-Sbi-Interplmn-Purpose not negotiated with the partner is refused", async () => {
      await refused(`/nudm-sdm/v2/${SUPI}/am-data`, "SCREENING_PURPOSE_NOT_ALLOWED", "not-negotiated", {
        "3gpp-sbi-interplmn-purpose": "SMS_INTERCONNECT:sms",
      });
    });

    test("every refusal is counted in /metrics by category and rule", async () => {
      const text = await (await h.admin("/metrics")).text();
      for (const [category, rule] of [
        ["category-1", "operation"],
        ["category-2", "path:supi"],
        ["purpose", "not-negotiated"],
      ])
        expect(text).toContain(
          `sepp_screening_events_total{action="refused",category="${category}",peer="visited",rule="${rule}"} 1`,
        );
    });

    const REGISTRATION = `/nudm-uecm/v1/${SUPI}/registrations/amf-3gpp-access`;
    const PEI = "imeisv-4370816125816151";
    const registration = {
      amfInstanceId: "25c1d3a4-0e1f-4a2b-9c3d-5e6f7a8b9c0d",
      deregCallbackUri: "https://amf1.5gc.mnc015.mcc234.3gppnetwork.org/namf-callback/v1/dereg",
      guami: { plmnId: { mcc: "234", mnc: "15" }, amfId: "cafe00" },
      ratType: "NR",
      pei: PEI,
    };
    const put = (body: unknown) =>
      amf.request("PUT", authority, REGISTRATION, { "content-type": "application/json" }, JSON.stringify(body));

    test("body validation: a registration whose body matches TS 29.503's schema reaches the UDM", async () => {
      const before = udm.received.length;
      const r = await put(registration);
      expect(r.status).toBe(200);
      expect(udm.received.length).toBe(before + 1);
    });

    test("body validation: a body that does not match is refused (400 SCREENING_BODY_INVALID, invalidParams)", async () => {
      const before = udm.received.length;
      const { amfInstanceId: _, ...missing } = registration;
      const r = await put({ ...missing, ratType: 5 });
      expect(r.status).toBe(400);
      expect(String(r.headers["content-type"])).toBe("application/problem+json");
      expect(r.json()).toMatchObject({
        status: 400,
        cause: "SCREENING_BODY_INVALID",
        invalidParams: [{ param: "/amfInstanceId", reason: "mandatory member missing" }],
      });
      expect(udm.received.length).toBe(before);
      const event = await waitFor(
        "security event",
        async () => h.logs.find((l) => l.category === "security" && l.screening === "body") ?? null,
        5000,
        50,
      );
      expect(event).toMatchObject({ rule: "schema", peer: "visited", action: "refused" });
      if (mode === "PRINS") expect(typeof event.messageId).toBe("string");
      expect(JSON.stringify(h.logs.filter((l) => l.category === "security"))).not.toContain(PEI);
      const text = await (await h.admin("/metrics")).text();
      expect(text).toContain(
        'sepp_screening_events_total{action="refused",category="body",peer="visited",rule="schema"} 1',
      );
    });

    test("the UDM's 3gpp-Sbi-Oci (100 %) is honoured: the next request gets 503 NF_CONGESTION with the OCI", async () => {
      const first = await amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/nssai`);
      expect(first.status).toBe(200);
      expect(first.headers["3gpp-sbi-oci"]).toBe(OCI); // passed back to the consumer unchanged
      const before = udm.received.length;
      const r = await amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`);
      expect(r.status).toBe(503);
      expect(r.json()).toMatchObject({ status: 503, cause: "NF_CONGESTION" });
      expect(r.headers["3gpp-sbi-oci"]).toBe(OCI);
      expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
      expect(udm.received.length).toBe(before);
    });
  });
}
