// The SBI side over mutual TLS (TS 29.500 5.2, TS 33.501 13.3: "with client certificates when configured"): the
// visited SEPP requires an NF client certificate from `sbi.clientCa`; an AMF with one gets through, one
// without is refused at the TLS handshake, and a certificate from another CA too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRootCa, issueSeppCert, type DevCert } from "../src/pki/devpki.ts";
import {
  HOME_UDM,
  VISITED,
  VISITED_AMF,
  startSepp,
  waitForState,
  writePair,
  type SeppProcess,
} from "../scripts/lib/pair.ts";
import { NfClient, startNf, type TestNf } from "./support/nf.ts";

describe("SBI over mutual TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "sepp-sbi-mtls-"));
  let udm: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
  let rootPem: string;
  let sbiPort: number;
  let amfCert: DevCert;
  let strangerCert: DevCert;
  const clients: NfClient[] = [];

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' }));
    const nfRoot = await createRootCa({ name: "visited NF root" });
    const pair = await writePair({
      dir,
      capabilities: ["PRINS"],
      homeProducers: { [HOME_UDM]: udm.port },
      edit: (side, c) => {
        if (side !== "visited") return;
        c.listeners.sbi = { ...c.listeners.sbi!, tls: true };
        c.sbi = { ...c.sbi, certificate: "pki/sbi.crt.pem", privateKey: "pki/sbi.key.pem", clientCa: [nfRoot.certPem] };
      },
    });
    const sbiCert = await issueSeppCert(pair.pki.rootV, { dnsNames: [VISITED.fqdn, `*.${VISITED.fqdn}`] });
    writeFileSync(join(pair.visited.dir, "var", "pki", "sbi.crt.pem"), sbiCert.chainPem);
    writeFileSync(join(pair.visited.dir, "var", "pki", "sbi.key.pem"), sbiCert.keyPem, { mode: 0o600 });
    amfCert = await issueSeppCert(nfRoot, { dnsNames: [VISITED_AMF] });
    strangerCert = await issueSeppCert(await createRootCa({ name: "other root" }), { dnsNames: [VISITED_AMF] });
    rootPem = pair.pki.rootV.certPem;
    sbiPort = pair.visited.ports.sbi;
    [v, h] = await Promise.all([startSepp(pair.visited), startSepp(pair.home)]);
    await waitForState(v, "home", "active-prins");
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([v?.stop(), h?.stop()]);
    await udm?.close();
    rmSync(dir, { recursive: true, force: true });
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
