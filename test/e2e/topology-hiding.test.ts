// Topology hiding of responses and callback URIs (issue 4), through two real SEPP processes, in PRINS and TLS mode:
//  - topology hiding of responses (TS 33.501 13.1.1.1): the home AUSF's 201 Location and `_links` hrefs reach
//    the visited AMF as visited-SEPP telescopic FQDNs, and the 5G-AKA confirmation PUT sent to that URI (as a
//    real AMF sends it) reaches the home AUSF; a Location naming a third PLMN is refused;
//  - callback URIs with IP literals (open5gs-style AMFs): the home SEPP maps them to telescopic FQDNs bound to
//    the visited peer, and the UDM's notification reaches the AMF at its address; FQDNs outside the peer's
//    PLMNs stay refused.
// Real h2c NFs on loopback, real mutual TLS on N32.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME, HOME_AUSF, HOME_UDM, VISITED } from "../../scripts/lib/pair.ts";
import {
  AKA_AV as AV,
  AKA_KSEAF as KSEAF,
  AKA_RES_STAR as RES_STAR,
  AKA_SUPI as SUPI,
  jsonAnswer as json,
  notFoundAnswer as notFound,
  startHomeAusf,
} from "../support/home-ausf.ts";
import { postSdmSubscription } from "../support/sdm-subscribe.ts";
import { startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUCI = "suci-0-262-01-0000-0-0-0000000042";
const SUCI_EAP = "suci-0-262-01-0000-0-0-0000000043";
const SUCI_THIRD = "suci-0-262-01-0000-0-0-0000000044";
const SUCI_REL = "suci-0-262-01-0000-0-0-0000000045";
const JSON_H = { "content-type": "application/json" };
const THIRD_AUSF = "ausf.5gc.mnc099.mcc999.3gppnetwork.org";

const telescopicRe = (domain: string) =>
  new RegExp(`^(?:t[a-z2-7]{25}|s[a-z2-7]{61})\\.${domain.replaceAll(".", "\\.")}$`);

interface World extends TwoSepps {
  udm: TestNf;
  ausf: TestNf;
  amfCb: TestNf;
  subs: Array<Record<string, any>>;
}

async function startWorld(mode: "PRINS" | "TLS"): Promise<World> {
  const subs: World["subs"] = [];
  const udm = await startNf((r) => {
    if (r.method === "POST" && r.path === `/nudm-sdm/v2/${SUPI}/sdm-subscriptions`) {
      const sub = JSON.parse(r.body.toString());
      subs.push(sub);
      return json(
        201,
        { ...sub, subscriptionId: `sub-${subs.length}` },
        { location: `http://${HOME_UDM}:${udm.port}/nudm-sdm/v2/${SUPI}/sdm-subscriptions/sub-${subs.length}` },
      );
    }
    return notFound();
  });
  // EAP-AKA', a third-PLMN Location and relative links for three SUCIs; the plain 5G-AKA answer otherwise
  const ausf = await startHomeAusf((supiOrSuci, base) => {
    if (supiOrSuci === SUCI_EAP)
      // TS 29.509: EAP-AKA' with the Link[] form of LinksValueSchema, HAL content type
      return json(
        201,
        {
          authType: "EAP_AKA_PRIME",
          _links: { "eap-session": [{ href: `${base}/eap-session` }] },
          "5gAuthData": "AQIDBA==",
        },
        { location: base, "content-type": "application/3gppHal+json" },
      );
    if (supiOrSuci === SUCI_THIRD)
      return json(
        201,
        { authType: "5G_AKA", "5gAuthData": AV, _links: { "5g-aka": { href: `http://${THIRD_AUSF}/x` } } },
        { location: `http://${THIRD_AUSF}/nausf-auth/v1/ue-authentications/ctx-9` },
      );
    if (supiOrSuci === SUCI_REL)
      return json(
        201,
        {
          authType: "5G_AKA",
          "5gAuthData": AV,
          _links: { "5g-aka": { href: "/nausf-auth/v1/ue-authentications/ctx-42/5g-aka-confirmation" } },
        },
        { location: "/nausf-auth/v1/ue-authentications/ctx-42" },
      );
    return undefined;
  });
  // the visited AMF's callback server, known to the AMF only by its IP address
  const amfCb = await startNf((r) =>
    r.method === "POST" && r.path.startsWith("/namf-callback/v1/") ? { status: 204 } : notFound(),
  );
  const w = await startTwoSepps({
    name: `e2e-gaps-${mode}`,
    capabilities: [mode],
    homeNfs: { [HOME_UDM]: udm, [HOME_AUSF]: ausf },
    // pair.ts allows each visited producer by name and as 127.0.0.1 with its port
    visitedNfs: { "amf.5gc.mnc015.mcc234.3gppnetwork.org": amfCb },
  });
  return Object.assign(w, { udm, ausf, amfCb, subs });
}

for (const mode of ["PRINS", "TLS"] as const) {
  describe(`${mode}: topology hiding of responses and callback URIs`, () => {
    let w: World;
    beforeAll(async () => {
      w = await startWorld(mode);
    }, 60000);
    afterAll(async () => {
      expect(await w?.close()).toEqual([0, 0]);
    });

    const authenticate = (suci: string) =>
      w.amf.request(
        "POST",
        `${HOME_AUSF}:${w.ausf.port}`,
        "/nausf-auth/v1/ue-authentications",
        JSON_H,
        JSON.stringify({ supiOrSuci: suci, servingNetworkName: "5G:mnc015.mcc234.3gppnetwork.org" }),
      );

    test("Nausf 201: Location and _links name visited-SEPP telescopic FQDNs, never the home AUSF; the 5G-AKA confirmation PUT to that URI reaches the home AUSF", async () => {
      const r1 = await authenticate(SUCI);
      expect(r1.status).toBe(201);
      const loc = new URL(String(r1.headers.location));
      expect(loc.hostname).toMatch(telescopicRe(VISITED.fqdn));
      expect(loc.port).toBe(String(w.visited.side.ports.sbi));
      expect(loc.pathname).toBe("/nausf-auth/v1/ue-authentications/ctx-42");
      const a = r1.json();
      expect(a["5gAuthData"]).toEqual(AV);
      const href = new URL(a._links["5g-aka"].href);
      expect(href.host).toBe(loc.host); // same foreign origin, same label
      expect(href.pathname).toBe("/nausf-auth/v1/ue-authentications/ctx-42/5g-aka-confirmation");
      expect(JSON.stringify(r1.headers) + r1.body.toString()).not.toContain(HOME_AUSF);

      // the AMF sends the confirmation where it was told, i.e. to the visited SEPP's SBI side under the telescopic host
      const before = w.ausf.received.length;
      const r2 = await w.amf.request("PUT", href.host, href.pathname, JSON_H, JSON.stringify({ resStar: RES_STAR }));
      expect(r2.status).toBe(200);
      expect(r2.json()).toEqual({ authResult: "AUTHENTICATION_SUCCESS", supi: SUPI, kseaf: KSEAF });
      expect(w.ausf.received.length).toBe(before + 1);
      const got = w.ausf.received.at(-1)!;
      expect(got.method).toBe("PUT");
      expect(got.authority).toBe(`${HOME_AUSF}:${w.ausf.port}`);
      expect(JSON.parse(got.body.toString())).toEqual({ resStar: RES_STAR });

      // Nsepp_Telescopic_FQDN_Mapping on the visited side names the AUSF for that label
      const m = await w.amf.request(
        "GET",
        VISITED.fqdn,
        `/nsepp-telescopic/v1/mapping?telescopic-label=${loc.hostname.split(".")[0]}`,
      );
      expect(m.json()).toMatchObject({ foreignFqdn: HOME_AUSF });
    });

    test("EAP-AKA' 201 (application/3gppHal+json, Link[] form): the eap-session href is rewritten too", async () => {
      const r = await authenticate(SUCI_EAP);
      expect(r.status).toBe(201);
      const a = r.json();
      expect(a._links["eap-session"]).toHaveLength(1);
      const href = new URL(a._links["eap-session"][0].href);
      expect(href.hostname).toMatch(telescopicRe(VISITED.fqdn));
      expect(href.pathname).toBe("/nausf-auth/v1/ue-authentications/ctx-42/eap-session");
      expect(a["5gAuthData"]).toBe("AQIDBA==");
    });

    test("relative references are left as they are (the AMF resolves them against the URI it called)", async () => {
      const r = await authenticate(SUCI_REL);
      expect(r.status).toBe(201);
      expect(r.headers.location).toBe("/nausf-auth/v1/ue-authentications/ctx-42");
      expect(r.json()._links["5g-aka"].href).toBe("/nausf-auth/v1/ue-authentications/ctx-42/5g-aka-confirmation");
    });

    test("a Location naming a third PLMN is not passed to the AMF: 502, nothing of it in the answer", async () => {
      const r = await authenticate(SUCI_THIRD);
      expect(r.status).toBe(502);
      expect(r.json()).toMatchObject({ status: 502, cause: "UNSPECIFIED_NF_FAILURE" });
      expect(r.body.toString()).not.toContain(THIRD_AUSF);
      expect(r.body.toString()).not.toContain(AV.rand);
    });

    test("the UDM's own 201 Location (Nudm_SDM subscription) is a telescopic FQDN as well", async () => {
      const r = await postSdmSubscription(
        w.amf,
        w.udm.port,
        `http://amf.5gc.mnc015.mcc234.3gppnetwork.org:${w.amfCb.port}/namf-callback/v1/sdm-notify/fqdn`,
      );
      expect(r.status).toBe(201);
      const loc = new URL(String(r.headers.location));
      expect(loc.hostname).toMatch(telescopicRe(VISITED.fqdn));
      expect(loc.pathname).toMatch(new RegExp(`^/nudm-sdm/v2/${SUPI}/sdm-subscriptions/sub-\\d+$`));
    });

    test("a callback URI with an IP literal: rewritten by the home SEPP to a telescopic FQDN bound to the visited peer; the UDM's notification reaches the AMF at its address", async () => {
      const original = `http://127.0.0.1:${w.amfCb.port}/namf-callback/v1/sdm-notify/ip-${mode}`;
      const r = await postSdmSubscription(w.amf, w.udm.port, original);
      expect(r.status).toBe(201);
      const given = new URL(String(w.subs.at(-1)!.callbackReference));
      expect(given.hostname).toMatch(telescopicRe(HOME.fqdn));
      expect(given.port).toBe(String(w.home.side.ports.sbi));
      expect(given.pathname).toBe(`/namf-callback/v1/sdm-notify/ip-${mode}`);
      expect(JSON.stringify(w.subs.at(-1))).not.toContain("127.0.0.1");

      const notification = {
        notifyItems: [
          {
            resourceId: `http://${HOME_UDM}/nudm-sdm/v2/${SUPI}/am-data`,
            changes: [{ op: "REPLACE", path: "/subscribedUeAmbr/uplink", newValue: "2 Gbps" }],
          },
        ],
      };
      const before = w.amfCb.received.length;
      const n = await w.homeNf.request(
        "POST",
        given.host,
        given.pathname,
        { ...JSON_H, "3gpp-sbi-callback": "Nudm_SDM_Notification" },
        JSON.stringify(notification),
      );
      expect(n.status).toBe(204);
      expect(w.amfCb.received.length).toBe(before + 1);
      const got = w.amfCb.received.at(-1)!;
      expect(got.path).toBe(`/namf-callback/v1/sdm-notify/ip-${mode}`);
      expect(got.authority).toBe(`127.0.0.1:${w.amfCb.port}`);
      expect(JSON.parse(got.body.toString())).toEqual(notification);
      expect(got.headers["3gpp-sbi-originating-network-id"]).toBe(`262-01; src: SEPP-${HOME.fqdn}`);
    });

    // callback URIs naming a third PLMN or a host outside 3gppnetwork.org stay refused (403): test/e2e/flows.test.ts
  });
}
