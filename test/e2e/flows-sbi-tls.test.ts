// The SBI side over TLS (TS 29.500 5.2, issue 4): the visited SEPP's SBI listener speaks HTTP/2 over TLS with
// a certificate for its domain and the telescopic FQDNs below it (*.<seppDomain>). An AMF discovers the home
// UDM through it (the rewritten result names https and our SBI port), then reaches the UDM on a TLS
// connection whose SNI is the telescopic FQDN itself (so the certificate check of the AMF passes for it).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME, HOME_NRF, HOME_UDM, VISITED } from "../../scripts/lib/pair.ts";
import { NfClient, startAmDataUdm, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000099";
const AM_DATA = { subscribedUeAmbr: { uplink: "100 Mbps", downlink: "200 Mbps" } };

describe("PRINS with the visited SBI side over TLS", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let nrf: TestNf;
  let amf: NfClient;
  let rootPem: string;
  let sbiPort: number;
  const clients: NfClient[] = [];

  beforeAll(async () => {
    udm = await startAmDataUdm(SUPI, AM_DATA);
    nrf = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        validityPeriod: 60,
        nfInstances: [
          {
            nfInstanceId: "5a7f1c2e-0000-4000-8000-000000000009",
            nfType: "UDM",
            nfStatus: "REGISTERED",
            fqdn: HOME_UDM,
            nfServices: [
              {
                serviceInstanceId: "sdm",
                serviceName: "nudm-sdm",
                versions: [{ apiVersionInUri: "v2", apiFullVersion: "2.3.0" }],
                scheme: "http",
                nfServiceStatus: "REGISTERED",
                ipEndPoints: [{ port: udm.port }],
              },
            ],
          },
        ],
      }),
    }));
    w = await startTwoSepps({
      name: "e2e-sbitls",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm, [HOME_NRF]: nrf },
      // the SBI certificate: the SEPP's domain and every telescopic FQDN below it
      visitedSbiTls: {},
    });
    rootPem = w.pki.rootV.certPem;
    sbiPort = w.sides.visited.ports.sbi;
    amf = new NfClient(sbiPort, { ca: rootPem, servername: VISITED.fqdn });
    clients.push(amf);
    await amf.connected();
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("an AMF over TLS gets the UDM's answer through both SEPPs", async () => {
    // over TLS, :scheme is https: an h2c producer is named by 3gpp-Sbi-Target-apiRoot (TS 29.500 6.10.2.1)
    const r = await amf.request("GET", VISITED.fqdn, `/nudm-sdm/v2/${SUPI}/am-data`, {
      "3gpp-sbi-target-apiroot": `http://${HOME_UDM}:${udm.port}`,
    });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(AM_DATA);
    // with the SEPP as proxy (:authority = the target) the :scheme https names an https target, which the home
    // SEPP's allow-list does not have for this producer: refused there, and the UDM sees nothing
    const before = udm.received.length;
    const https = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(https.status).toBe(403);
    expect(https.json().cause).toBe("TARGET_NOT_ALLOWED");
    expect(udm.received.length).toBe(before);
    expect(udm.received.at(-1)!.headers["3gpp-sbi-originating-network-id"]).toBe(`234-15; src: SEPP-${VISITED.fqdn}`);
  });

  test("a plaintext (h2c) client is not served on the TLS SBI port", async () => {
    const plain = new NfClient(sbiPort);
    clients.push(plain);
    const before = udm.received.length;
    // no HTTP response at all: the connection fails (rejected), or the stream ends without a :status
    const status = await plain
      .request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {}, undefined, { timeoutMs: 5000 })
      .then(
        (r) => r.status,
        () => 0,
      );
    expect(status).toBe(0);
    expect(udm.received.length).toBe(before);
  });

  test("discovery names https and our SBI port; the AMF connects with SNI = the telescopic FQDN and reaches the UDM", async () => {
    const plmns = encodeURIComponent(JSON.stringify([HOME.plmn]));
    const d = await amf.request(
      "GET",
      VISITED.fqdn,
      `/nnrf-disc/v1/nf-instances?target-nf-type=UDM&requester-nf-type=AMF&target-plmn-list=${plmns}`,
      {
        "3gpp-sbi-target-apiroot": `http://${HOME_NRF}:${nrf.port}`,
      },
    );
    expect(d.status).toBe(200);
    const svc = d.json().nfInstances[0].nfServices[0];
    expect(svc.scheme).toBe("https");
    expect(svc.ipEndPoints).toEqual([{ port: sbiPort }]);
    const host = String(svc.fqdn);
    expect(host.endsWith(`.${VISITED.fqdn}`)).toBe(true);
    const tele = new NfClient(sbiPort, { ca: rootPem, servername: host });
    clients.push(tele);
    await tele.connected(); // the certificate is valid for the telescopic FQDN
    const before = udm.received.length;
    const r = await tele.request("GET", `${host}:${sbiPort}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(AM_DATA);
    expect(udm.received.length).toBe(before + 1);
    expect(udm.received.at(-1)!.authority).toBe(`${HOME_UDM}:${udm.port}`);
  });
});
