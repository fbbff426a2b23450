// test/support/two-sepps.ts — the one two-SEPP fixture of the end-to-end, fuzz and SCAS suites: a visited SEPP
// (234-15, initiates) and a home SEPP (262-01) as real processes (scripts/lib/pair.ts), with the NFs behind them,
// optional hostile peers in front of either SEPP (test/support/n32-proxy.ts), an optional third SEPP
// (test/support/third-sepp.ts), and one close() that stops and removes all of it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type PairOptions,
  type RunningPair,
  type SeppEnv,
  type SeppProcess,
  type SeppSide,
  type StartPairOptions,
  VISITED,
  freePort,
  startPair,
  waitForState,
  writePair,
} from "../../scripts/lib/pair.ts";
import type { PairPki } from "../../scripts/lib/pair-pki.ts";
import { issueSeppCert } from "../../src/pki/devpki.ts";
import { type N32Proxy, startHostilePeerInFront } from "./n32-proxy.ts";
import { NfClient } from "./nf.ts";
import { type ThirdSepp, type ThirdSeppOptions, writeThirdSepp } from "./third-sepp.ts";

/** Anything the fixture closes after the SEPPs have stopped (NFs, proxies, servers of the test). */
export interface Closable {
  close(): unknown;
}

/** A hostile peer in front of `target` (it holds both SEPPs' certificates). `via: "n32c"`: the other SEPP's peer
 *  entry sends its N32-c traffic for `target` through it (n32cUri); `via: "n32f"`: `target` announces the proxy's
 *  port as its N32-f endpoint (identity.n32fPorts, P11), so the other SEPP's N32-f traffic goes through it; without
 *  `via`, nobody is pointed at it and the test uses it as a client presenting the other SEPP's certificate. */
export interface InFront {
  target: "home" | "visited";
  via?: "n32c" | "n32f";
  timeoutMs?: number;
}

export interface TwoSeppsOptions<P extends string> {
  /** names the temporary directory (sepp-<name>-XXXXXX) */
  name: string;
  /** capabilities both sides allow, in priority order (default PRINS, TLS) */
  capabilities?: Array<"PRINS" | "TLS">;
  /** producers behind the home SEPP, by host name: an NF (closed by close()) or a bare port */
  homeNfs?: Record<string, Nf>;
  /** producers behind the visited SEPP (callbacks, V-SMF) */
  visitedNfs?: Record<string, Nf>;
  separateN32f?: boolean;
  /** the visited SEPP's SBI listener over TLS, with a certificate from the visited root for its FQDN and every
   *  telescopic FQDN below it (var/pki/sbi.*.pem); `clientCa`: NF client certificates required (mutual TLS) */
  visitedSbiTls?: { clientCa?: string[] };
  /** hostile peers in front of a SEPP, by a name of the test's choosing (returned in `proxies`) */
  proxies?: Record<P, InFront>;
  /** a third SEPP, partner of the home SEPP (started with the visited SEPP; its state is awaited too) */
  third?: Omit<ThirdSeppOptions, "dir">;
  /** tweak each configuration before it is written (after the proxy URIs are set) */
  edit?: PairOptions["edit"];
  /** after the configuration files are written and the proxies started, before any SEPP starts */
  beforeStart?: (pair: TwoSeppsPair<P>, own: <T extends Closable>(c: T) => T) => Promise<void> | void;
  /** "home-first": the home SEPP is up before the visited SEPP (and a third SEPP) starts; default together */
  order?: "together" | "home-first";
  /** the association state awaited on every side (default active-prins or active-tls after the first
   *  capability); false: do not wait */
  state?: string | false;
  /** state wait bound per side, ms */
  stateTimeoutMs?: number;
  /** extra environment of every SEPP process; `envOf` adds to it for one side */
  env?: SeppEnv;
  envOf?: StartPairOptions["envOf"];
}

export interface TwoSeppsPair<P extends string = never> {
  dir: string;
  sides: { visited: SeppSide; home: SeppSide; third?: SeppSide };
  pki: PairPki;
  third?: ThirdSepp;
  proxies: Record<P, N32Proxy>;
}

export interface TwoSepps<P extends string = never> extends TwoSeppsPair<P> {
  /** the current process of each side (restart() replaces it) */
  readonly visited: SeppProcess;
  readonly home: SeppProcess;
  /** stop one side's process and start it again on the same configuration (scripts/lib/pair.ts RunningPair) */
  restart: RunningPair["restart"];
  /** the third SEPP's process when `third` was given */
  thirdSepp?: SeppProcess;
  /** an h2c client on the visited SEPP's SBI port (the AMF; made on first use) */
  readonly amf: NfClient;
  /** an h2c client on the home SEPP's SBI port (made on first use) */
  readonly homeNf: NfClient;
  /** an h2c client (TLS with `tls`) on an SBI port, closed before the SEPPs stop */
  client(port: number, tls?: ConstructorParameters<typeof NfClient>[1]): NfClient;
  /** close `c` with the rest, after the SEPPs have stopped */
  own<T extends Closable>(c: T): T;
  /** stop the processes (SIGTERM), close what the fixture owns, remove the directory: the exit codes
   *  [visited, home] (and the third SEPP's last), 0 each after a clean drain */
  close(): Promise<Array<number | null>>;
}

/** an NF (test/support/nf.ts TestNf) or a bare port */
type Nf = (Closable & { port: number }) | number;
const portOf = (n: Nf) => (typeof n === "number" ? n : n.port);
const ports = (nfs: Record<string, Nf> | undefined) =>
  nfs && Object.fromEntries(Object.entries(nfs).map(([h, n]) => [h, portOf(n)]));

/** Write, start and connect two SEPP processes (see the file header); on any failure, what was started stops. */
export async function startTwoSepps<P extends string = never>(o: TwoSeppsOptions<P>): Promise<TwoSepps<P>> {
  const dir = mkdtempSync(join(tmpdir(), `sepp-${o.name}-`));
  const owned: Closable[] = [];
  for (const n of [...Object.values(o.homeNfs ?? {}), ...Object.values(o.visitedNfs ?? {})])
    if (typeof n !== "number") owned.push(n);
  const own = <T extends Closable>(c: T): T => {
    owned.push(c);
    return c;
  };
  let run: RunningPair | undefined;
  const clients: NfClient[] = [];
  const close = async () => {
    for (const c of clients) c.close();
    const codes = run ? await run.stop() : [];
    await Promise.all(owned.map((c) => c.close()));
    rmSync(dir, { recursive: true, force: true });
    return codes;
  };
  try {
    const inFront = Object.entries(o.proxies ?? {}) as Array<[P, InFront]>;
    const proxyPorts = new Map<P, number>();
    for (const [name] of inFront) proxyPorts.set(name, await freePort());
    const pair = await writePair({
      dir,
      capabilities: o.capabilities,
      homeProducers: ports(o.homeNfs),
      visitedProducers: ports(o.visitedNfs),
      separateN32f: o.separateN32f,
      edit: (side, c) => {
        for (const [name, p] of inFront) {
          const port = proxyPorts.get(name)!;
          if (p.via === "n32c" && p.target !== side) c.peers![0]!.n32cUri = `https://127.0.0.1:${port}`;
          if (p.via === "n32f" && p.target === side) c.identity!.n32fPorts = [port];
        }
        if (o.visitedSbiTls && side === "visited") {
          c.listeners.sbi = { ...c.listeners.sbi!, tls: true };
          c.sbi = { ...c.sbi, certificate: "pki/sbi.crt.pem", privateKey: "pki/sbi.key.pem" };
          if (o.visitedSbiTls.clientCa) c.sbi.clientCa = o.visitedSbiTls.clientCa;
        }
        o.edit?.(side, c);
      },
    });
    if (o.visitedSbiTls) {
      const sbi = await issueSeppCert(pair.pki.rootV, { dnsNames: [VISITED.fqdn, `*.${VISITED.fqdn}`] });
      writeFileSync(join(pair.visited.dir, "var", "pki", "sbi.crt.pem"), sbi.chainPem);
      writeFileSync(join(pair.visited.dir, "var", "pki", "sbi.key.pem"), sbi.keyPem, { mode: 0o600 });
    }
    const third = o.third ? await writeThirdSepp(pair, { dir, ...o.third }) : undefined;
    const proxies = {} as Record<P, N32Proxy>;
    for (const [name, p] of inFront)
      proxies[name] = own(
        await startHostilePeerInFront(pair, p.target, proxyPorts.get(name)!, { timeoutMs: p.timeoutMs, via: p.via }),
      );
    const prepared: TwoSeppsPair<P> = {
      dir,
      sides: { visited: pair.visited, home: pair.home, third: third?.side },
      pki: pair.pki,
      third,
      proxies,
    };
    await o.beforeStart?.(prepared, own);
    const state = o.state ?? (o.capabilities?.[0] === "TLS" ? "active-tls" : "active-prins");
    run = await startPair(pair, {
      env: o.env,
      envOf: o.envOf,
      alongside: third ? [third.side] : [],
      order: o.order,
      state,
      stateTimeoutMs: o.stateTimeoutMs,
    });
    const running = run; // the stop order of close() is [visited, home, third]
    const thirdSepp = run.alongside[0];
    if (thirdSepp && state !== false) {
      await waitForState(thirdSepp, "home", state, o.stateTimeoutMs);
      await waitForState(run.home, third!.idAtHome, state, o.stateTimeoutMs);
    }
    let amf: NfClient | undefined;
    let homeNf: NfClient | undefined;
    const client = (port: number, tls?: ConstructorParameters<typeof NfClient>[1]) => {
      const c = new NfClient(port, tls);
      clients.push(c);
      return c;
    };
    return {
      ...prepared,
      get visited() {
        return running.visited;
      },
      get home() {
        return running.home;
      },
      restart: (side, r) => running.restart(side, r),
      thirdSepp,
      get amf() {
        amf ??= client(pair.visited.ports.sbi);
        return amf;
      },
      get homeNf() {
        homeNf ??= client(pair.home.ports.sbi);
        return homeNf;
      },
      client,
      own,
      close,
    };
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}
