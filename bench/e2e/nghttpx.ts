// bench/e2e/nghttpx.ts — nghttpx as a bench:e2e hop, in the two roles it plays: the home side's TLS server (the
// chain's B) and the visited side's TLS client (the chain's A, the simulated peer of psepp-tls-w*). Both use the
// development PKI of a SEPP pair (scripts/lib/pair.ts): mutual TLS 1.3 as on N32.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOME } from "../../scripts/lib/pair.ts";
import { daemon, listening } from "./daemon.ts";

/** Where a pair's development PKI files are: var/pki of the visited and home SEPP directories. */
export interface PairPki {
  visited: string;
  home: string;
}

function common(dir: string, name: string, threads: number): string[] {
  const conf = join(dir, `${name}-nghttpx.conf`);
  writeFileSync(conf, ""); // no system configuration file
  return [
    `-n${threads}`,
    `--conf=${conf}`,
    "--no-ocsp",
    "--no-via",
    "--log-level=WARN",
    "--tls-min-proto-version=TLSv1.3",
  ];
}

/**
 * The visited side's TLS client: h2c in on `port`, TLS out to 127.0.0.1:`backendPort` with the visited SEPP's
 * certificate, the server checked against the home root (SNI the home SEPP). `threads` nghttpx workers each open
 * their own backend connection.
 */
export async function nghttpxVisitedClient(
  name: string,
  dir: string,
  pki: PairPki,
  port: number,
  backendPort: number,
  threads = 1,
) {
  return daemon(
    name,
    "nghttpx",
    [
      ...common(dir, name, threads),
      `--frontend=127.0.0.1,${port};no-tls`,
      `--backend=127.0.0.1,${backendPort};;tls;proto=h2;sni=${HOME.fqdn}`,
      `--cacert=${join(pki.home, "root-home.crt.pem")}`,
      `--client-private-key-file=${join(pki.visited, "sepp.key.pem")}`,
      `--client-cert-file=${join(pki.visited, "sepp.crt.pem")}`,
    ],
    () => listening(port),
  );
}

/** The home side's TLS server: TLS on `port` with the home SEPP's certificate, requiring a client certificate
 *  chained to the visited root, h2c to 127.0.0.1:`backendPort`. */
export async function nghttpxHomeServer(name: string, dir: string, pki: PairPki, port: number, backendPort: number) {
  return daemon(
    name,
    "nghttpx",
    [
      ...common(dir, name, 1),
      `--frontend=127.0.0.1,${port}`,
      `--backend=127.0.0.1,${backendPort};;proto=h2`,
      "--verify-client",
      `--verify-client-cacert=${join(pki.visited, "root-visited.crt.pem")}`,
      join(pki.home, "sepp.key.pem"),
      join(pki.home, "sepp.crt.pem"),
    ],
    () => listening(port),
  );
}
