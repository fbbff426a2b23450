// End-to-end roaming flows through two real SEPP processes (issue 4): Nausf 5G-AKA, Nsmf_PDUSession create
// with multipart binary parts and the H-SMF calling the V-SMF back, NF discovery rewritten to telescopic FQDNs
// and then used, an Nudm_SDM notification home → visited over the reverse session, the SCAS cases TS 33.517
// 4.2.2.9 and 4.2.2.10; the discovery and callback flows again in TLS mode. Real h2c NFs on loopback, real
// mutual TLS on N32, the SEPPs as child processes; what crossed N32 is read from the visited SEPP's debug
// log (the decoded aad of every N32-f message it sent and received).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  HOME,
  HOME_AUSF,
  HOME_NRF,
  HOME_SMF,
  HOME_UDM,
  VISITED,
  VISITED_AMF,
  VISITED_SMF,
  waitFor,
  type SeppProcess,
} from "../../scripts/lib/pair.ts";
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
import { startNf, type ReceivedRequest, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUCI = "suci-0-262-01-0000-0-0-0000000042";
const AM_DATA = { gpsis: ["msisdn-491700000042"], subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };
const TOKEN = "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbWYifQ.c2ln";
const JSON_H = { "content-type": "application/json" };

/** A multipart/related body (RFC 2387) as an NF builds it. */
function multipart(boundary: string, parts: Array<{ headers: Record<string, string>; data: Uint8Array }>): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\n${Object.entries(p.headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("")}\r\n`,
        "latin1",
      ),
    );
    chunks.push(Buffer.from(p.data));
    chunks.push(Buffer.from("\r\n", "latin1"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, "latin1"));
  return Buffer.concat(chunks);
}

/** Test-side multipart reader (independent of the SEPP's): part headers (lowercased) and exact bytes. */
function readMultipart(contentType: string, body: Buffer): Array<{ headers: Record<string, string>; data: Buffer }> {
  const b = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!b) throw new Error(`no boundary in ${contentType}`);
  const delim = Buffer.from(`\r\n--${b}`, "latin1");
  let pos = body.indexOf(`--${b}`, 0, "latin1") + b.length + 2;
  const out: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  while (body.subarray(pos, pos + 2).toString("latin1") !== "--") {
    pos += 2; // CRLF after the delimiter
    const next = body.indexOf(delim, pos);
    if (next < 0) throw new Error("multipart not closed");
    const raw = body.subarray(pos, next);
    const sep = raw.indexOf("\r\n\r\n", 0, "latin1");
    const headers: Record<string, string> = {};
    for (const line of raw.subarray(0, sep).toString("latin1").split("\r\n")) {
      const i = line.indexOf(":");
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    out.push({ headers, data: Buffer.from(raw.subarray(sep + 4)) });
    pos = next + delim.length;
  }
  return out;
}

/** The decoded aad of every N32-f message the SEPP logged (requests sent, responses received). */
function aads(s: SeppProcess, since = 0): Array<{ msg: string; aad: any }> {
  return s.logs
    .slice(since)
    .filter((l) => l.msg === "N32-f request sent" || l.msg === "N32-f response received")
    .map((l) => ({ msg: String(l.msg), aad: l.aad }));
}

/** Wait until the SEPP has logged `n` more N32-f messages than at `since` (log lines arrive asynchronously). */
function n32fSince(s: SeppProcess, since: number, n: number) {
  return waitFor(
    `${n} N32-f log lines`,
    () => {
      const a = aads(s, since);
      return a.length >= n ? a : null;
    },
    5000,
    20,
  );
}

const all = (s: SeppProcess) => s.logs.map((l) => JSON.stringify(l)).join("\n");
const plmnQuery = encodeURIComponent(JSON.stringify([HOME.plmn]));

/** The home NRF's answer to a discovery of the UDM: one profile, one nudm-sdm service on the UDM's port. */
function udmSearchResult(udmPort: number) {
  return {
    validityPeriod: 60,
    nfInstances: [
      {
        nfInstanceId: "5a7f1c2e-0000-4000-8000-000000000001",
        nfType: "UDM",
        nfStatus: "REGISTERED",
        plmnList: [HOME.plmn],
        fqdn: HOME_UDM,
        ipv4Addresses: ["10.20.30.40"],
        nfServices: [
          {
            serviceInstanceId: "sdm-1",
            serviceName: "nudm-sdm",
            versions: [{ apiVersionInUri: "v2", apiFullVersion: "2.3.0" }],
            scheme: "http",
            nfServiceStatus: "REGISTERED",
            fqdn: HOME_UDM,
            ipEndPoints: [{ ipv4Address: "10.20.30.40", port: udmPort }],
          },
        ],
      },
    ],
  };
}

/** the two SEPPs (w.amf: the visited AMF, a client to the visited SEPP; w.homeNf: the home SMF's client to the
 *  home SEPP) and the NFs */
interface World extends TwoSepps {
  udm: TestNf;
  nrf: TestNf;
  amfCb: TestNf;
  ausf?: TestNf;
  hsmf?: TestNf;
  vsmf?: TestNf;
  sdmSubscriptions: Array<Record<string, any>>;
  pduCreates: Array<{ json: Record<string, any>; parts: Array<{ headers: Record<string, string>; data: Buffer }> }>;
}

async function startWorld(mode: "PRINS" | "TLS", withAll: boolean): Promise<World> {
  const sdmSubscriptions: World["sdmSubscriptions"] = [];
  const pduCreates: World["pduCreates"] = [];
  const udm = await startNf((r) => {
    if (r.method === "GET" && r.path.includes(`/nudm-sdm/v2/${SUPI}/am-data`)) return json(200, AM_DATA);
    if (r.method === "GET" && r.path.includes(`/nudm-sdm/v2/${SUPI}/smf-select-data`))
      return { ...json(200, {}), delayMs: 8000 }; // slow
    if (r.method === "GET" && r.path.includes(`/nudm-sdm/v2/${SUPI}/sms-data`)) return { status: 200, reset: true }; // resets the stream
    // a field value that starts with a space: malformed in HTTP/2 (RFC 9113 §8.2.1)
    if (r.method === "GET" && r.path.includes(`/nudm-sdm/v2/${SUPI}/lcs-privacy-data`))
      return { ...json(200, {}), headers: { "content-type": "application/json", "x-note": " leading space" } };
    // over sbi.maxBodyBytes (1 MiB by default)
    if (r.method === "GET" && r.path.includes(`/nudm-sdm/v2/${SUPI}/lcs-mo-data`))
      return json(200, { pad: "x".repeat((1 << 20) + 10) });
    if (r.method === "POST" && r.path === `/nudm-sdm/v2/${SUPI}/sdm-subscriptions`) {
      const sub = JSON.parse(r.body.toString());
      sdmSubscriptions.push(sub);
      const id = `sub-${sdmSubscriptions.length}`;
      return json(
        201,
        { ...sub, subscriptionId: id },
        { location: `http://${HOME_UDM}/nudm-sdm/v2/${SUPI}/sdm-subscriptions/${id}` },
      );
    }
    return notFound();
  });
  const nrf = await startNf((r) =>
    r.method === "GET" && r.path.startsWith("/nnrf-disc/v1/nf-instances?") && r.path.includes("target-nf-type=UDM")
      ? json(200, udmSearchResult(udm.port))
      : notFound(),
  );
  const amfCb = await startNf((r) =>
    r.method === "POST" && r.path.startsWith("/namf-callback/v1/") ? { status: 204 } : notFound(),
  );
  let ausf: TestNf | undefined;
  let hsmf: TestNf | undefined;
  let vsmf: TestNf | undefined;
  if (withAll) {
    ausf = await startHomeAusf();
    hsmf = await startNf((r) => {
      if (r.method === "POST" && r.path === "/nsmf-pdusession/v1/pdu-sessions") {
        const parts = readMultipart(String(r.headers["content-type"]), r.body);
        pduCreates.push({ json: JSON.parse(parts[0]!.data.toString()), parts });
        const b = "hsmf-boundary-1";
        return {
          status: 201,
          headers: {
            "content-type": `multipart/related; boundary=${b}; type="application/json"`,
            location: `http://${HOME_SMF}/nsmf-pdusession/v1/pdu-sessions/ps-1`,
          },
          body: multipart(b, [
            {
              headers: { "content-type": "application/json" },
              data: Buffer.from(JSON.stringify({ pduSessionId: 5, n1SmInfoToUe: { contentId: "n1-accept" } })),
            },
            { headers: { "content-type": "application/vnd.3gpp.5gnas", "content-id": "n1-accept" }, data: N1_ACCEPT },
          ]),
        };
      }
      return notFound();
    });
    vsmf = await startNf((r) =>
      r.method === "POST" && r.path.startsWith("/nsmf-pdusession/v1/vsmf-pdu-sessions/")
        ? json(200, { ok: true })
        : notFound(),
    );
  }
  const homeNfs: Record<string, TestNf> = { [HOME_UDM]: udm, [HOME_NRF]: nrf };
  if (ausf) homeNfs[HOME_AUSF] = ausf;
  if (hsmf) homeNfs[HOME_SMF] = hsmf;
  const visitedNfs: Record<string, TestNf> = { [VISITED_AMF]: amfCb };
  if (vsmf) visitedNfs[VISITED_SMF] = vsmf;
  const w = await startTwoSepps({ name: `e2e-flows-${mode}`, capabilities: [mode], homeNfs, visitedNfs });
  return Object.assign(w, {
    udm,
    nrf,
    amfCb,
    ausf,
    hsmf,
    vsmf,
    sdmSubscriptions,
    pduCreates,
  });
}

const N1_REQUEST = Buffer.from([
  0x2e,
  0x05,
  0x01,
  0xc1,
  0xff,
  0xff,
  0x91,
  0xa1,
  0x00,
  0x0d,
  0x0a,
  0x2d,
  0x2d,
  ...Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff),
]);
const N1_ACCEPT = Buffer.from([
  0x2e,
  0x05,
  0x01,
  0xc2,
  0x11,
  0x00,
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  ...Array.from({ length: 200 }, (_, i) => 255 - (i & 0xff)),
]);

/** The visited AMF discovers the home UDM through the visited SEPP: the search result as the AMF sees it. */
async function discoverUdm(w: World) {
  const r = await w.amf.request(
    "GET",
    `${HOME_NRF}:${w.nrf.port}`,
    `/nnrf-disc/v1/nf-instances?target-nf-type=UDM&requester-nf-type=AMF&target-plmn-list=${plmnQuery}`,
    { accept: "application/json" },
  );
  expect(r.status).toBe(200);
  return r.json();
}

/** The telescopic host of the UDM service (`<label>.<visited SEPP domain>`) and the authority to use. */
function udmServiceAuthority(result: any): { host: string; authority: string; label: string } {
  const svc = result.nfInstances[0].nfServices[0];
  const port = svc.ipEndPoints?.[0]?.port;
  const host = String(svc.fqdn);
  return { host, authority: port ? `${host}:${port}` : host, label: host.split(".")[0]! };
}

/** The visited AMF subscribes to SDM changes; returns the callback URI the home UDM was given. */
async function subscribeSdm(w: World, n: number): Promise<{ given: string; original: string }> {
  const original = `http://${VISITED_AMF}:${w.amfCb.port}/namf-callback/v1/sdm-notify/${n}`;
  const r = await postSdmSubscription(w.amf, w.udm.port, original, { implicitUnsubscribe: true });
  expect(r.status).toBe(201);
  const given = String(w.sdmSubscriptions.at(-1)!.callbackReference);
  return { given, original };
}

/** The home UDM notifies the given callback URI through the home SEPP's SBI side. */
async function notify(w: World, callbackUri: string, body: unknown) {
  const u = new URL(callbackUri);
  return w.homeNf.request(
    "POST",
    u.host,
    u.pathname + u.search,
    { ...JSON_H, "3gpp-sbi-callback": "Nudm_SDM_Notification" },
    JSON.stringify(body),
  );
}

const NOTIFICATION = {
  notifyItems: [
    {
      resourceId: `http://${HOME_UDM}/nudm-sdm/v2/${SUPI}/am-data`,
      changes: [{ op: "REPLACE", path: "/subscribedUeAmbr/uplink", newValue: "2 Gbps" }],
    },
  ],
};

for (const mode of ["PRINS", "TLS"] as const) {
  const prins = mode === "PRINS";
  describe(`${mode}: roaming flows through two SEPPs`, () => {
    let w: World;
    beforeAll(async () => {
      w = await startWorld(mode, true);
    }, 60000);
    afterAll(async () => {
      expect(await w?.close()).toEqual([0, 0]);
    });

    test(`Nausf 5G-AKA: the AMF gets the exact answers${prins ? "; the authentication vectors never cross N32 in clear" : ""}`, async () => {
      const since = w.visited.logs.length;
      const r1 = await w.amf.request(
        "POST",
        `${HOME_AUSF}:${w.ausf!.port}`,
        "/nausf-auth/v1/ue-authentications",
        { ...JSON_H, authorization: TOKEN },
        JSON.stringify({ supiOrSuci: SUCI, servingNetworkName: "5G:mnc015.mcc234.3gppnetwork.org" }),
      );
      expect(r1.status).toBe(201);
      const a = r1.json();
      expect(a["5gAuthData"]).toEqual(AV);
      expect(a.authType).toBe("5G_AKA");
      // topology hiding of the answer (TS 33.501 13.1.1.1): the Location names a visited SEPP telescopic FQDN (test/e2e/topology-hiding.test.ts)
      const loc = new URL(String(r1.headers.location));
      expect(loc.hostname).toMatch(
        new RegExp(`^(?:t[a-z2-7]{25}|s[a-z2-7]{61})\\.${VISITED.fqdn.replaceAll(".", "\\.")}$`),
      );
      expect(loc.pathname).toBe("/nausf-auth/v1/ue-authentications/ctx-42");
      const got1 = w.ausf!.received.at(-1)!;
      expect(JSON.parse(got1.body.toString())).toEqual({
        supiOrSuci: SUCI,
        servingNetworkName: "5G:mnc015.mcc234.3gppnetwork.org",
      });
      expect(got1.headers.authorization).toBe(TOKEN);

      const confirm = new URL(a._links["5g-aka"].href);
      const r2 = await w.amf.request(
        "PUT",
        confirm.host,
        confirm.pathname,
        JSON_H,
        JSON.stringify({ resStar: RES_STAR }),
      );
      expect(r2.status).toBe(200);
      expect(r2.json()).toEqual({ authResult: "AUTHENTICATION_SUCCESS", supi: SUPI, kseaf: KSEAF });
      expect(JSON.parse(w.ausf!.received.at(-1)!.body.toString())).toEqual({ resStar: RES_STAR });
      // no secret in clear anywhere in the visited SEPP's log (both modes)
      for (const secret of [AV.rand, AV.autn, AV.hxresStar, RES_STAR, KSEAF])
        expect(all(w.visited)).not.toContain(secret);
      if (!prins) {
        expect(aads(w.visited, since)).toHaveLength(0); // TLS mode: no N32-f message, the request crossed as plain HTTP/2 in TLS
        return;
      }
      // two requests sent and two responses received, as the visited SEPP logged their aad
      const seen = await n32fSince(w.visited, since, 4);
      const text = JSON.stringify(seen);
      for (const secret of [AV.rand, AV.autn, AV.hxresStar, RES_STAR, KSEAF, SUCI, SUPI, TOKEN.slice(7)])
        expect(text).not.toContain(secret);
      // the protected IEs are there as encBlockIndex references, the clear ones in clear (the check is not vacuous)
      const rsp1 = seen.find((s) => s.msg === "N32-f response received" && s.aad.statusLine === "201")!.aad;
      const entry = (aad: any, iePath: string) => aad.payload.find((p: any) => p.iePath === iePath);
      expect(entry(rsp1, "/5gAuthData").value).toEqual({ encBlockIndex: expect.any(Number) });
      expect(entry(rsp1, "/authType").value).toBe("5G_AKA");
      const req2 = seen.find((s) => s.msg === "N32-f request sent" && s.aad.requestLine.method === "PUT")!.aad;
      expect(entry(req2, "/resStar").value).toEqual({ encBlockIndex: expect.any(Number) });
      const rsp2 = seen.find((s) => s.msg === "N32-f response received" && s.aad.statusLine === "200")!.aad;
      expect(entry(rsp2, "/kseaf").value).toEqual({ encBlockIndex: expect.any(Number) });
      expect(entry(rsp2, "/authResult").value).toBe("AUTHENTICATION_SUCCESS");
    });

    test("Nsmf_PDUSession create: multipart parts byte-equal at the H-SMF; the V-SMF URI becomes a home SEPP telescopic FQDN; the H-SMF calls the V-SMF back through it", async () => {
      const vsmfUri = `http://${VISITED_SMF}:${w.vsmf!.port}/nsmf-pdusession/v1/vsmf-pdu-sessions/vs-7`;
      const create = {
        supi: SUPI,
        pduSessionId: 5,
        dnn: "internet",
        sNssai: { sst: 1 },
        vsmfId: "0b1c2d3e-0000-4000-8000-0000000000b2",
        servingNetwork: VISITED.plmn,
        anType: "3GPP_ACCESS",
        vsmfPduSessionUri: vsmfUri,
        n1SmInfoFromUe: { contentId: "n1-req" },
      };
      const boundary = "vsmf-boundary-9f8e7d";
      const body = multipart(boundary, [
        { headers: { "Content-Type": "application/json" }, data: Buffer.from(JSON.stringify(create)) },
        { headers: { "Content-Type": "application/vnd.3gpp.5gnas", "Content-Id": "n1-req" }, data: N1_REQUEST },
      ]);
      const vsmfClient = w.amf; // the V-SMF talks to the same visited SEPP SBI side
      const r = await vsmfClient.request(
        "POST",
        `${HOME_SMF}:${w.hsmf!.port}`,
        "/nsmf-pdusession/v1/pdu-sessions",
        { "content-type": `multipart/related; boundary=${boundary}; type="application/json"` },
        body,
      );
      expect(r.status).toBe(201);
      // the answer's binary part arrives byte-equal too
      const rparts = readMultipart(String(r.headers["content-type"]), r.body);
      expect(JSON.parse(rparts[0]!.data.toString())).toEqual({
        pduSessionId: 5,
        n1SmInfoToUe: { contentId: "n1-accept" },
      });
      // the Content-ID arrives in the form the H-SMF sent (no <>), as RefToBinaryData.contentId names it (P10, docs/N32F.md)
      expect(rparts[1]!.headers["content-id"]).toBe("n1-accept");
      expect(rparts[1]!.data.equals(N1_ACCEPT)).toBe(true);

      const got = w.pduCreates.at(-1)!;
      expect(got.parts).toHaveLength(2);
      expect(got.parts[1]!.headers["content-type"]).toBe("application/vnd.3gpp.5gnas");
      expect(got.parts[1]!.headers["content-id"]).toBe("n1-req");
      expect(got.parts[1]!.data.equals(N1_REQUEST)).toBe(true);
      const { vsmfPduSessionUri, ...rest } = got.json;
      const { vsmfPduSessionUri: _, ...expectedRest } = create;
      expect(rest).toEqual(expectedRest);
      // topology hiding by the home pSEPP: http://<label>.<home SEPP domain>:<home SBI port>/same/path
      const u = new URL(vsmfPduSessionUri);
      expect(u.hostname).toMatch(new RegExp(`^(?:t[a-z2-7]{25}|s[a-z2-7]{61})\\.${HOME.fqdn.replaceAll(".", "\\.")}$`));
      expect(u.port).toBe(String(w.home.side.ports.sbi));
      expect(u.pathname).toBe("/nsmf-pdusession/v1/vsmf-pdu-sessions/vs-7");

      // the H-SMF calls the V-SMF back: to the home SEPP's SBI side, :authority = the telescopic host
      const before = w.vsmf!.received.length;
      const cb = await w.homeNf.request(
        "POST",
        u.host,
        `${u.pathname}/modify`,
        JSON_H,
        JSON.stringify({ requestIndication: "NW_REQ_PDU_SES_MOD", qosFlowsAddModRequestList: [{ qfi: 1 }] }),
      );
      expect(cb.status).toBe(200);
      expect(cb.json()).toEqual({ ok: true });
      expect(w.vsmf!.received.length).toBe(before + 1);
      const atVsmf = w.vsmf!.received.at(-1)!;
      expect(atVsmf.path).toBe("/nsmf-pdusession/v1/vsmf-pdu-sessions/vs-7/modify");
      expect(atVsmf.authority).toBe(`${VISITED_SMF}:${w.vsmf!.port}`);
      expect(JSON.parse(atVsmf.body.toString()).requestIndication).toBe("NW_REQ_PDU_SES_MOD");
      // it went home → visited: the home SEPP stamped its own PLMN as the originating network
      expect(atVsmf.headers["3gpp-sbi-originating-network-id"]).toBe(`262-01; src: SEPP-${HOME.fqdn}`);
      expect(atVsmf.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();
    });

    test("NF discovery: the result's FQDNs come back as visited SEPP telescopic FQDNs, and a request to one reaches the home UDM", async () => {
      const result = await discoverUdm(w);
      const nrfGot = w.nrf.received.at(-1)!;
      expect(nrfGot.path).toBe(
        `/nnrf-disc/v1/nf-instances?target-nf-type=UDM&requester-nf-type=AMF&target-plmn-list=${plmnQuery}`,
      );
      const p = result.nfInstances[0];
      const text = JSON.stringify(result);
      expect(text).not.toContain(HOME_UDM);
      expect(text).not.toContain("10.20.30.40");
      const suffix = new RegExp(`^(?:t[a-z2-7]{25}|s[a-z2-7]{61})\\.${VISITED.fqdn.replaceAll(".", "\\.")}$`);
      expect(p.fqdn).toMatch(suffix);
      const { host, authority, label } = udmServiceAuthority(result);
      expect(host).toMatch(suffix);
      expect(authority).toBe(`${host}:${w.visited.side.ports.sbi}`);
      expect(p.nfServices[0].scheme).toBe("http");

      const before = w.udm.received.length;
      const r = await w.amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`, { accept: "application/json" });
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
      expect(w.udm.received.length).toBe(before + 1);
      expect(w.udm.received.at(-1)!.authority).toBe(`${HOME_UDM}:${w.udm.port}`);
      expect(w.udm.received.at(-1)!.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();

      // Nsepp_Telescopic_FQDN_Mapping on the visited SBI side answers for that label
      const m = await w.amf.request("GET", VISITED.fqdn, `/nsepp-telescopic/v1/mapping?telescopic-label=${label}`);
      expect(m.status).toBe(200);
      expect(m.json()).toEqual({ telescopicLabel: label, seppDomain: VISITED.fqdn, foreignFqdn: HOME_UDM });
    });

    test("callback home → visited: the SDM subscription's callbackReference is rewritten by the home SEPP; the UDM's notification reaches the AMF over the reverse session", async () => {
      const { given, original } = await subscribeSdm(w, prins ? 1 : 2);
      const gu = new URL(given);
      expect(gu.hostname).toMatch(
        new RegExp(`^(?:t[a-z2-7]{25}|s[a-z2-7]{61})\\.${HOME.fqdn.replaceAll(".", "\\.")}$`),
      );
      expect(gu.port).toBe(String(w.home.side.ports.sbi));
      expect(gu.pathname).toBe(new URL(original).pathname);
      const before = w.amfCb.received.length;
      const hSince = w.home.logs.length;
      const r = await notify(w, given, NOTIFICATION);
      expect(r.status).toBe(204);
      expect(w.amfCb.received.length).toBe(before + 1);
      const got = w.amfCb.received.at(-1)!;
      expect(got.method).toBe("POST");
      expect(got.path).toBe(new URL(original).pathname);
      expect(got.authority).toBe(`${VISITED_AMF}:${w.amfCb.port}`);
      expect(JSON.parse(got.body.toString())).toEqual(NOTIFICATION);
      expect(got.headers["3gpp-sbi-callback"]).toBe("Nudm_SDM_Notification");
      expect(got.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();
      expect(got.headers["3gpp-sbi-originating-network-id"]).toBe(`262-01; src: SEPP-${HOME.fqdn}`);
      // the home SEPP was the sending side (cSEPP) for this one, on the session the visited SEPP had opened
      const hs = await homeN32Status(w.home);
      expect(hs.role).toBe("responder");
      if (prins) {
        const sent = await n32fSince(w.home, hSince, 1);
        expect(sent[0]!.aad.requestLine.authority).toBe(`${VISITED_AMF}:${w.amfCb.port}`);
      }
    });

    test("a callback URI outside the sending peer's PLMNs is refused by the home SEPP; the UDM never sees it", async () => {
      const before = w.udm.received.length;
      // (an IP literal is accepted since it names no PLMN and is bound to the sending peer: test/e2e/topology-hiding.test.ts)
      for (const cb of [
        "http://amf.example.com:8080/namf-callback/v1/x",
        "http://amf.5gc.mnc099.mcc999.3gppnetwork.org/namf-callback/v1/x",
      ]) {
        const r = await postSdmSubscription(w.amf, w.udm.port, cb);
        expect(r.status).toBe(403);
        expect(r.json().cause).toBe("TARGET_NOT_ALLOWED");
      }
      expect(w.udm.received.length).toBe(before);
    });

    // a telescopic FQDN in :authority wins over a 3gpp-Sbi-Target-apiRoot naming a third PLMN; an altered label is
    // not forwarded (docs/SCAS.md)
    test(`SCAS 33.517 4.2.2.9 Correct handling of inter-PLMN routing (${mode})`, async () => {
      const { authority, label } = udmServiceAuthority(await discoverUdm(w));
      const third = "http://udm.5gc.mnc099.mcc999.3gppnetwork.org:8080";
      const before = w.udm.received.length;
      const r = await w.amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`, {
        "3gpp-sbi-target-apiroot": third,
      });
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
      expect(w.udm.received.length).toBe(before + 1);
      expect(w.udm.received.at(-1)!.authority).toBe(`${HOME_UDM}:${w.udm.port}`);
      expect(w.udm.received.at(-1)!.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();

      // one character of the label changed: refused at the cSEPP, nothing forwarded (not even by the header)
      const altered = label.slice(0, -1) + (label.endsWith("a") ? "b" : "a");
      const since = w.visited.logs.length;
      for (const hdrs of [{}, { "3gpp-sbi-target-apiroot": `http://${HOME_UDM}:${w.udm.port}` }] as Array<
        Record<string, string>
      >) {
        const bad = await w.amf.request("GET", authority.replace(label, altered), `/nudm-sdm/v2/${SUPI}/am-data`, hdrs);
        expect(bad.status).toBe(404);
        expect(bad.json().cause).toBe("TARGET_NOT_FOUND");
      }
      expect(w.udm.received.length).toBe(before + 1);
      expect(aads(w.visited, since)).toHaveLength(0);
    });

    test("the AMF cancelling its request cancels it at the producer, through both SEPPs", async () => {
      const before = w.udm.received.length;
      const ac = new AbortController();
      const p = w.amf.request(
        "GET",
        `${HOME_UDM}:${w.udm.port}`,
        `/nudm-sdm/v2/${SUPI}/smf-select-data`,
        {},
        undefined,
        { signal: ac.signal, timeoutMs: 10000 },
      );
      p.catch(() => {});
      await waitFor(
        "the slow request at the UDM",
        () => w.udm.received.length > before && w.udm.openStreams() > 0,
        5000,
        10,
      );
      const t0 = Date.now();
      ac.abort();
      await expect(p).rejects.toThrow();
      // the UDM's stream is reset long before its 8 s answer: the cancel crossed N32 and the home SEPP
      await waitFor("the UDM's stream to close", () => w.udm.openStreams() === 0, 5000, 10);
      expect(Date.now() - t0).toBeLessThan(5000);
      // and the SEPPs still serve
      const r = await w.amf.request("GET", `${HOME_UDM}:${w.udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      expect(r.status).toBe(200);
    });

    test("3gpp-Sbi-Max-Rsp-Time bounds the cSEPP's wait: 504 TIMED_OUT_REQUEST, and the producer's stream is released", async () => {
      const before = w.udm.received.length;
      const t0 = Date.now();
      const r = await w.amf.request("GET", `${HOME_UDM}:${w.udm.port}`, `/nudm-sdm/v2/${SUPI}/smf-select-data`, {
        "3gpp-sbi-max-rsp-time": "300",
      });
      expect(r.status).toBe(504);
      expect(r.json()).toMatchObject({ status: 504, cause: "TIMED_OUT_REQUEST" });
      expect(Date.now() - t0).toBeLessThan(5000); // the UDM would answer after 8 s
      expect(w.udm.received.length).toBe(before + 1);
      expect(w.udm.received.at(-1)!.headers["3gpp-sbi-max-rsp-time"]).toBe("300"); // end to end
      await waitFor("the UDM's stream to close", () => w.udm.openStreams() === 0, 5000, 10);
    });

    test("a producer that resets the stream: the NF gets 504 TARGET_NF_NOT_REACHABLE", async () => {
      const before = w.udm.received.length;
      const r = await w.amf.request("GET", `${HOME_UDM}:${w.udm.port}`, `/nudm-sdm/v2/${SUPI}/sms-data`);
      expect(w.udm.received.length).toBe(before + 1);
      expect(r.status).toBe(504);
      expect(r.json()).toMatchObject({ status: 504, cause: "TARGET_NF_NOT_REACHABLE" });
    });

    test("an NF's header fields up to the listener's bound, and the sending SEPP's own: over what the peer takes, 400 from our SEPP", async () => {
      const statuses: number[] = [];
      for (const n of [124, 125, 126, 127, 128]) {
        const h: Record<string, string> = {};
        for (let i = 0; i < n; i++) h[`x-h${i}`] = "v";
        const before = w.udm.received.length;
        const r = await w.amf.request("GET", `${HOME_UDM}:${w.udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, h);
        statuses.push(r.status);
        if (r.status !== 200) expect(w.udm.received.length).toBe(before);
        if (r.status === 400) expect(r.json()).toMatchObject({ cause: "INVALID_MSG_FORMAT" });
      }
      // PRINS adds 3gpp-Sbi-Originating-Network-Id, TLS mode also 3gpp-Sbi-Target-apiRoot: N32_LIMITS.maxHeaders (128)
      // is reached one or two fields earlier than at the NF's listener
      expect(statuses).toEqual(prins ? [200, 200, 200, 200, 400] : [200, 200, 200, 400, 400]);
    });

    test("a producer that answers a malformed message or over the size limit: the NF gets 502, not 504 'did not answer'", async () => {
      for (const [what, detail] of [
        ["lcs-privacy-data", /malformed HTTP\/2 message/],
        ["lcs-mo-data", /over the size limit/],
      ] as const) {
        const before = w.udm.received.length;
        const r = await w.amf.request("GET", `${HOME_UDM}:${w.udm.port}`, `/nudm-sdm/v2/${SUPI}/${what}`);
        expect(w.udm.received.length).toBe(before + 1);
        expect(r.status).toBe(502);
        expect(r.json()).toMatchObject({ status: 502, cause: "UNSPECIFIED_NF_FAILURE" });
        expect(r.json().detail).toMatch(detail);
      }
    });

    if (prins)
      // under PRINS the peer and the producer get the target apiRoot in the URI and no 3gpp-Sbi-Target-apiRoot
      // header (docs/SCAS.md)
      test("SCAS 33.517 4.2.2.10 Correct handling of custom HTTP header with PRINS security", async () => {
        const since = w.visited.logs.length;
        const apiRoot = `http://${HOME_UDM}:${w.udm.port}/udm-prefix`;
        const r = await w.amf.request("GET", VISITED.fqdn, `/nudm-sdm/v2/${SUPI}/am-data?dataset-names=AM`, {
          "3gpp-sbi-target-apiroot": apiRoot,
        });
        expect(r.status).toBe(200);
        const got = w.udm.received.at(-1)!;
        expect(got.authority).toBe(`${HOME_UDM}:${w.udm.port}`);
        expect(got.path).toBe(`/udm-prefix/nudm-sdm/v2/${SUPI}/am-data?dataset-names=AM`);
        expect(got.headers["3gpp-sbi-target-apiroot"]).toBeUndefined();
        // on N32 the apiRoot lives in requestLine, not in a header; the SUPI is an encBlockIndex reference
        const sent = (await n32fSince(w.visited, since, 1)).find((s) => s.msg === "N32-f request sent")!.aad;
        expect(sent.requestLine).toMatchObject({
          method: "GET",
          scheme: "http",
          authority: `${HOME_UDM}:${w.udm.port}`,
          queryFragment: "dataset-names=AM",
        });
        expect(sent.requestLine.path).toMatch(/^\/udm-prefix\/nudm-sdm\/v2\/\{encBlockIndex:\d+\}\/am-data$/);
        expect(sent.headers.map((x: { header: string }) => x.header)).not.toContain("3gpp-sbi-target-apiroot");
      });
  });
}

/** The home SEPP's N32 status for the visited peer. */
async function homeN32Status(h: SeppProcess): Promise<Record<string, unknown>> {
  return (await (await h.admin("/v1/peers/visited/n32")).json()) as Record<string, unknown>;
}

export type { ReceivedRequest };
