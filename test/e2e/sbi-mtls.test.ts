// The SBI side over mutual TLS (TS 29.500 5.2, TS 33.501 13.3: "with client certificates when configured"): the
// visited SEPP requires an NF client certificate from `sbi.clientCa`; an AMF with one gets through, one
// without is refused at the TLS handshake, and a certificate from another CA too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRootCa, issueSeppCert, type DevCert } from "../../src/pki/devpki.ts";
import { HOME_UDM, VISITED, VISITED_AMF } from "../../scripts/lib/pair.ts";
import { NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

describe("SBI over mutual TLS", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let rootPem: string;
  let sbiPort: number;
  let amfCert: DevCert;
  let strangerCert: DevCert;
  const clients: NfClient[] = [];

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' }));
    const nfRoot = await createRootCa({ name: "visited NF root" });
    w = await startTwoSepps({
      name: "sbi-mtls",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      visitedSbiTls: { clientCa: [nfRoot.certPem] },
    });
    amfCert = await issueSeppCert(nfRoot, { dnsNames: [VISITED_AMF] });
    strangerCert = await issueSeppCert(await createRootCa({ name: "other root" }), { dnsNames: [VISITED_AMF] });
    rootPem = w.pki.rootV.certPem;
    sbiPort = w.sides.visited.ports.sbi;
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await w?.close();
  });

  const client = (cert?: DevCert) => {
    const c = new NfClient(sbiPort, { ca: rootPem, servername: VISITED.fqdn, cert: cert?.chainPem, key: cert?.keyPem });
    clients.push(c);
    return c;
  };

  test("an NF with a certificate from sbi.clientCa gets through", async () => {
    const amf = client(amfCert);
    await amf.connected();
    const r = await amf.request("GET", VISITED.fqdn, "/nudm-sdm/v2/imsi-262010000000001/am-data", {
      "3gpp-sbi-target-apiroot": `http://${HOME_UDM}:${udm.port}`,
    });
    expect(r.body.toString()).toBe('{"ok":true}');
    expect(r.status).toBe(200);
  });

  test("no client certificate, or one from another CA: refused, nothing forwarded", async () => {
    const before = udm.received.length;
    for (const cert of [undefined, strangerCert]) {
      const c = client(cert);
      const outcome = await c
        .connected()
        .then(() =>
          c.request(
            "GET",
            VISITED.fqdn,
            "/nudm-sdm/v2/imsi-262010000000001/am-data",
            { "3gpp-sbi-target-apiroot": `http://${HOME_UDM}:${udm.port}` },
            undefined,
            { timeoutMs: 5000 },
          ),
        )
        .then(
          (r) => `status ${r.status}`,
          (e) => `error ${String(e)}`,
        );
      // TLS 1.3: the client may see the handshake done before the server's refusal closes the connection, so the
      // refusal shows either as a connection error or as a stream that ended without any response (status 0)
      expect(outcome === "status 0" || outcome.startsWith("error")).toBe(true);
    }
    expect(udm.received.length).toBe(before);
  });
});
