// scripts/abuse/world.ts — the world the abuse campaign runs in (issue 10 §4): two SEPP processes (visited 234-15,
// home 262-01) agreeing on PRINS, a home UDM and a visited SMF as real h2c producers (each marks its answers, so a
// 2xx counts only when the producer made it), and the certificates the attacks present: the home SEPP's own (a
// compromised partner key) and a valid chain under the home PLMN's root naming a host that is no configured peer.
// Nothing here is part of the SEPP.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueSeppCert } from "../../src/pki/devpki.ts";
import { startNf, type TestNf } from "../../test/support/nf.ts";
import { HOME_UDM, VISITED, VISITED_SMF, startPair, writePair, type SeppProcess, type SeppSide } from "../lib/pair.ts";

export const SUPI = "imsi-262010000000001";
/** the header every producer answer carries (a 2xx without it was not the producer's) */
export const PRODUCER_MARK = "x-abuse-producer";
/** attack requests carry this query parameter; the producers count them apart */
export const ATTACK_QUERY = "abuse-attack=1";

export interface World {
  dir: string;
  visited: SeppProcess;
  home: SeppProcess;
  udm: TestNf;
  vsmf: TestNf;
  /** producer hits by attack requests (rapid reset: what got through) */
  attackHits(): number;
  /** what the attacker process needs: ports, hosts, certificate files */
  target: AttackTarget;
  stop(): Promise<Array<number | null>>;
}

/** Everything an attack child process gets (JSON on its command line). */
export interface AttackTarget {
  /** the SEPP under attack: the visited SEPP */
  n32Port: number;
  sbiPort: number;
  n32Fqdn: string;
  /** PEM files */
  victimRoot: string;
  partnerCert: string;
  partnerKey: string;
  nonPeerCert: string;
  nonPeerKey: string;
  /** the authority and path of a request the SBI side forwards to the home UDM */
  udmAuthority: string;
  udmPath: string;
}

const json = (status: number, body: unknown) => ({
  status,
  headers: { "content-type": "application/json", [PRODUCER_MARK]: "1" },
  body: JSON.stringify(body),
});

export async function startWorld(dir: string): Promise<World> {
  let attackHits = 0;
  const udm = await startNf((r) => {
    if (r.path.includes(ATTACK_QUERY)) attackHits++;
    return r.method === "GET" && r.path.startsWith(`/nudm-sdm/v2/${SUPI}/am-data`)
      ? json(200, { gpsis: ["msisdn-491700000001"] })
      : json(404, { status: 404, cause: "USER_NOT_FOUND" });
  });
  const vsmf = await startNf((r) =>
    r.method === "POST" && r.path.startsWith("/nsmf-pdusession/v1/vsmf-pdu-sessions/")
      ? json(200, { ok: true })
      : json(404, { status: 404, cause: "CONTEXT_NOT_FOUND" }),
  );
  const pair = await writePair({
    dir,
    capabilities: ["PRINS"],
    homeProducers: { [HOME_UDM]: udm.port },
    visitedProducers: { [VISITED_SMF]: vsmf.port },
  });
  const files = await attackFiles(dir, pair);
  const run = await startPair(pair, { env: { SEPP_LOG_LEVEL: "info" }, state: "active-prins", stateTimeoutMs: 30_000 });
  const { visited, home } = run;
  return {
    dir,
    visited,
    home,
    udm,
    vsmf,
    attackHits: () => attackHits,
    target: {
      n32Port: pair.visited.ports.n32,
      sbiPort: pair.visited.ports.sbi,
      n32Fqdn: VISITED.fqdn,
      ...files,
      udmAuthority: `${HOME_UDM}:${udm.port}`,
      udmPath: `/nudm-sdm/v2/${SUPI}/am-data`,
    },
    async stop() {
      const codes = await run.stop();
      await Promise.all([udm.close(), vsmf.close()]);
      return codes;
    },
  };
}

async function attackFiles(
  dir: string,
  pair: { home: SeppSide; pki: Awaited<ReturnType<typeof writePair>>["pki"] },
): Promise<Pick<AttackTarget, "victimRoot" | "partnerCert" | "partnerKey" | "nonPeerCert" | "nonPeerKey">> {
  const d = join(dir, "attacker");
  mkdirSync(d, { recursive: true, mode: 0o700 });
  // a valid chain under the home PLMN's root for a name that is no configured peer (attack 1)
  const other = await issueSeppCert(pair.pki.rootH, { dnsNames: ["other.5gc.mnc001.mcc262.3gppnetwork.org"] });
  const w = (name: string, pem: string) => {
    const p = join(d, name);
    writeFileSync(p, pem, { mode: 0o600 });
    return p;
  };
  return {
    victimRoot: w("root-visited.crt.pem", pair.pki.rootV.certPem),
    partnerCert: w("partner.crt.pem", pair.pki.certH.chainPem),
    partnerKey: w("partner.key.pem", pair.pki.certH.keyPem),
    nonPeerCert: w("nonpeer.crt.pem", other.chainPem),
    nonPeerKey: w("nonpeer.key.pem", other.keyPem),
  };
}
