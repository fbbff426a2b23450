// scripts/lib/pair.ts — two SEPPs as real processes on loopback: a visited PLMN (234-15) and a home PLMN
// (262-01), each with its own development root CA, configured as each other's peer. Used by `npm run demo`
// and by the end-to-end tests; nothing here is part of the SEPP itself.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import type { DevCa } from "../../src/pki/devpki.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { issuePairPki, type PairPki, writeSeppPki } from "./pair-pki.ts";

export const VISITED = { fqdn: "sepp.5gc.mnc015.mcc234.3gppnetwork.org", plmn: { mcc: "234", mnc: "15" } };
export const HOME = { fqdn: "sepp.5gc.mnc001.mcc262.3gppnetwork.org", plmn: { mcc: "262", mnc: "01" } };
export const HOME_UDM = "udm.5gc.mnc001.mcc262.3gppnetwork.org";
export const HOME_AUSF = "ausf.5gc.mnc001.mcc262.3gppnetwork.org";
export const HOME_SMF = "smf.5gc.mnc001.mcc262.3gppnetwork.org";
export const HOME_NRF = "nrf.5gc.mnc001.mcc262.3gppnetwork.org";
export const VISITED_AMF = "amf.5gc.mnc015.mcc234.3gppnetwork.org";
export const VISITED_SMF = "smf.5gc.mnc015.mcc234.3gppnetwork.org";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = process.execPath;

/** Ports this process has handed out: the kernel may give a just-released port to the next bind(0) again. */
const handedOut = new Set<number>();

/**
 * Where fresh ports are looked for: below the kernel's ephemeral range (Linux `ip_local_port_range`), so that
 * neither a bind(0) nor an outgoing connection's source port can take a port between its release here and the
 * server's bind (a SEPP once failed to start with EADDRINUSE when a connection took its port). Null where the range
 * is unknown or leaves no room below it: bind(0) then, as before.
 */
const BELOW_EPHEMERAL: { from: number; to: number } | null = (() => {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? { from: 10_000, to: low - 1 } : null;
  } catch {
    return null;
  }
})();

/** Whether `port` (0: any) can be bound on 127.0.0.1 now; the port bound, or null. */
function tryBind(port: number): Promise<number | null> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(null));
    s.listen(port, "127.0.0.1", () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => res(got));
    });
  });
}

/** A free TCP port on 127.0.0.1 (bound then released: tests start their servers right after), never one this
 *  process handed out before (two callers in a row could otherwise get the same port). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = BELOW_EPHEMERAL;
    const candidate = r ? r.from + Math.floor(Math.random() * (r.to - r.from + 1)) : 0;
    if (handedOut.has(candidate)) continue;
    const p = await tryBind(candidate);
    if (p !== null && !handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
  throw new Error("no fresh free port");
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export interface SeppSide {
  /** "visited", "home", or another name for a further SEPP (test/support/third-sepp.ts) */
  name: string;
  dir: string;
  configPath: string;
  config: SeppConfigInput;
  ports: { n32: number; n32f?: number; sbi: number; admin: number };
}

export interface PairOptions {
  dir: string;
  /** capabilities each side allows, in priority order (default PRINS, TLS) */
  capabilities?: Array<"PRINS" | "TLS">;
  /** the home producers: host name → port on 127.0.0.1 (h2c) */
  homeProducers?: Record<string, number>;
  /** the visited producers (callbacks, V-SMF): host name → port */
  visitedProducers?: Record<string, number>;
  /** separate N32-f ports */
  separateN32f?: boolean;
  /** tweak each config before it is written */
  edit?: (side: "visited" | "home", c: SeppConfigInput) => void;
}

/** Write the PKI and both configuration files. Ports are chosen now (free ports). */
export async function writePair(o: PairOptions): Promise<{ visited: SeppSide; home: SeppSide; pki: PairPki }> {
  const pki = await issuePairPki(VISITED.fqdn, HOME.fqdn);
  const ports = async () => ({
    n32: await freePort(),
    n32f: o.separateN32f ? await freePort() : undefined,
    sbi: await freePort(),
    admin: await freePort(),
  });
  const pv = await ports();
  const ph = await ports();
  const anchors = [
    { name: "visited", plmnIds: [VISITED.plmn], roots: ["pki/root-visited.crt.pem"] },
    { name: "home", plmnIds: [HOME.plmn], roots: ["pki/root-home.crt.pem"] },
  ];
  const caps = o.capabilities ?? ["PRINS", "TLS"];
  const allowed = (producers: Record<string, number> | undefined) =>
    Object.entries(producers ?? {}).flatMap(([host, port]) => [
      { host, port, scheme: "http" as const },
      { host: "127.0.0.1", port, scheme: "http" as const },
    ]);
  const side = (name: "visited" | "home"): SeppSide => {
    const me = name === "visited" ? VISITED : HOME;
    const other = name === "visited" ? HOME : VISITED;
    const p = name === "visited" ? pv : ph;
    const op = name === "visited" ? ph : pv;
    const producersHere = name === "visited" ? o.visitedProducers : o.homeProducers;
    const dir = join(o.dir, name);
    writeSeppPki(join(dir, "var", "pki"), name === "visited" ? pki.certV : pki.certH, pki);
    const config: SeppConfigInput = {
      identity: { n32Fqdn: me.fqdn, plmnIds: [me.plmn] },
      // one data-path thread unless a test or benchmark asks for workers ("auto" would follow this machine's CPUs)
      workers: 1,
      listeners: {
        n32: { host: "127.0.0.1", port: p.n32 },
        ...(p.n32f ? { n32f: { host: "127.0.0.1", port: p.n32f } } : {}),
        sbi: { host: "127.0.0.1", port: p.sbi },
        admin: { host: "127.0.0.1", port: p.admin },
      },
      tls: { certificate: "pki/sepp.crt.pem", privateKey: "pki/sepp.key.pem", trustAnchors: anchors },
      sbi: {
        staticHosts: Object.fromEntries(Object.keys(producersHere ?? {}).map((h) => [h, "127.0.0.1"])),
      },
      peers: [
        {
          id: name === "visited" ? "home" : "visited",
          n32Fqdn: other.fqdn,
          plmnIds: [other.plmn],
          n32cUri: `https://127.0.0.1:${op.n32}`,
          ...(op.n32f ? { n32fUri: `https://127.0.0.1:${op.n32f}` } : {}),
          initiate: name === "visited",
          securityCapabilities: caps,
          n32f: { allowedTargets: allowed(producersHere) },
        },
      ],
      storage: { dir: "var" },
      n32c: { retryInitialMs: 200, retryMaxMs: 2000 },
    };
    o.edit?.(name, config);
    const configPath = join(dir, "sepp.json");
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    return { name, dir, configPath, config, ports: p };
  };
  return { visited: side("visited"), home: side("home"), pki };
}

/**
 * A fresh development PKI for the two example SEPPs (config/example-visited.json, config/example-home.json):
 * each directory gets `sepp.crt.pem`, `sepp.key.pem` (0600), `root-visited.crt.pem` and `root-home.crt.pem`.
 */
export async function writePairPki(visitedPkiDir: string, homePkiDir: string): Promise<{ rootV: DevCa; rootH: DevCa }> {
  const pki = await issuePairPki(VISITED.fqdn, HOME.fqdn);
  writeSeppPki(visitedPkiDir, pki.certV, pki);
  writeSeppPki(homePkiDir, pki.certH, pki);
  return pki;
}

export interface SeppProcess {
  side: SeppSide;
  proc: ChildProcess;
  /** every log line (JSON objects; the newest 10 000–20 000) */
  logs: Array<Record<string, unknown>>;
  /** lines of level info and above since the start, by "level: msg" (what a flood of inputs makes it write) */
  logCounts: Map<string, number>;
  token: string;
  admin(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<number | null>;
}

/** Extra environment of a SEPP process: a variable set to undefined is left out (e.g. SEPP_LOG_LEVEL). */
export type SeppEnv = Record<string, string | undefined>;

/** The command line of one SEPP process on `side` and its environment (debug logs, `env` added). */
const seppCommand = (side: SeppSide, env: SeppEnv) => {
  const all: SeppEnv = { ...process.env, SEPP_LOG_LEVEL: "debug", ...env };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  return { argv: [BUN, join(ROOT, "src/main.ts"), "serve", "--config", side.configPath], env: all };
};

/** Start one SEPP process (bun src/main.ts serve --config …) and wait until its admin API answers. */
export async function startSepp(side: SeppSide, env: SeppEnv = {}): Promise<SeppProcess> {
  const cmd = seppCommand(side, env);
  const proc = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
    cwd: side.dir,
    env: cmd.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  const logCounts = new Map<string, number>();
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        entry = { raw: line };
      }
      logs.push(entry);
      if (entry.level !== "debug") {
        const key = `${String(entry.level ?? "raw")}: ${String(entry.msg ?? "")}`;
        logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
      }
      if (logs.length > 20000) logs.splice(0, 10000);
    }
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
  const base = `http://127.0.0.1:${side.ports.admin}`;
  try {
    // a process that exits during start-up fails at once, with its output (no 20 s wait for a dead process)
    let up = false;
    const died = exited.then((code) => {
      if (!up) throw new Error(`exited with code ${code} during start-up`);
    });
    died.catch(() => {}); // only the race below may observe it
    await Promise.race([
      waitFor(`${side.name} SEPP admin API`, async () => (await fetch(`${base}/v1/health`)).ok, 20000, 100),
      died,
    ]);
    up = true;
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(
      `${side.name} SEPP did not start: ${String(e)}\n${stderr}\n${logs
        .slice(-5)
        .map((l) => JSON.stringify(l))
        .join("\n")}`,
    );
  }
  const token = (await Bun.file(join(side.dir, "var", "admin.token")).text()).trim();
  return {
    side,
    proc,
    logs,
    logCounts,
    token,
    admin: (path, init = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
      }),
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/**
 * Run one SEPP process on `side` that is expected to end by itself (a start that must fail): its exit code and its
 * whole output (stdout, then stderr). Killed after `timeoutMs` (code null then).
 */
export async function runSeppToExit(
  side: SeppSide,
  env: SeppEnv = {},
  timeoutMs = 20000,
): Promise<{ code: number | null; out: string }> {
  const cmd = seppCommand(side, env);
  const p = Bun.spawn(cmd.argv, { cwd: side.dir, env: cmd.env, stdout: "pipe", stderr: "pipe" });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    p.kill("SIGKILL");
  }, timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code: killed ? null : code, out: out + err };
}

export interface StartPairOptions {
  /** extra environment of every SEPP process; `envOf` adds to it per side */
  env?: SeppEnv;
  envOf?: Partial<Record<"visited" | "home", SeppEnv>>;
  /** further SEPPs (a third partner of the home SEPP) started with the visited SEPP */
  alongside?: SeppSide[];
  /** "home-first": the home SEPP is up before the visited SEPP (and `alongside`) starts; default together */
  order?: "together" | "home-first";
  /** the association state awaited on both sides (default active-prins or active-tls after the first capability
   *  of the visited SEPP's peer entry); false: do not wait */
  state?: string | false;
  /** state wait bound per side, ms */
  stateTimeoutMs?: number;
}

export interface RestartOptions {
  /** added to the side's environment of the first start (StartPairOptions env and envOf) */
  env?: SeppEnv;
  /** runs after the old process has exited, before the new one starts (e.g. files removed from its directory) */
  whileStopped?: () => unknown;
}

export interface RunningPair {
  /** the current process of each side (a restart replaces it) */
  visited: SeppProcess;
  home: SeppProcess;
  /** the processes of `alongside`, in its order */
  alongside: SeppProcess[];
  /** SIGTERM to all (visited, home, alongside), their exit codes in that order (0 each after a clean drain) */
  stop(): Promise<Array<number | null>>;
  /** Stop one side's process (SIGTERM), then start a new one on the same configuration and directory, which
   *  `visited`/`home` name from then on; the old process's exit code. If the new start fails, the stopped process
   *  stays in place (stop() gives its code) and the error is thrown. */
  restart(side: "visited" | "home", r?: RestartOptions): Promise<number | null>;
}

/**
 * The one way to start a written pair (writePair): both SEPP processes (and `alongside`), then the wait until each
 * side reports the association in `state`. On any failure, what was started stops before the error is thrown.
 */
export async function startPair(
  pair: { visited: SeppSide; home: SeppSide },
  o: StartPairOptions = {},
): Promise<RunningPair> {
  const started: SeppProcess[] = [];
  const start = async (s: SeppSide, own: SeppEnv = {}) => {
    const p = await startSepp(s, { ...o.env, ...own });
    started.push(p);
    return p;
  };
  try {
    const rest = () => Promise.all((o.alongside ?? []).map((s) => start(s)));
    let visited: SeppProcess;
    let home: SeppProcess;
    let alongside: SeppProcess[];
    if (o.order === "home-first") {
      home = await start(pair.home, o.envOf?.home);
      [visited, alongside] = await Promise.all([start(pair.visited, o.envOf?.visited), rest()]);
    } else
      [visited, home, alongside] = await Promise.all([
        start(pair.visited, o.envOf?.visited),
        start(pair.home, o.envOf?.home),
        rest(),
      ]);
    const first = pair.visited.config.peers?.[0]?.securityCapabilities?.[0];
    const state = o.state ?? (first === "TLS" ? "active-tls" : "active-prins");
    if (state !== false) {
      await waitForState(visited, "home", state, o.stateTimeoutMs);
      await waitForState(home, "visited", state, o.stateTimeoutMs);
    }
    const run: RunningPair = {
      visited,
      home,
      alongside,
      stop: () => Promise.all([run.visited, run.home, ...alongside].map((p) => p.stop())),
      async restart(side, r = {}) {
        const code = await run[side].stop();
        await r.whileStopped?.();
        run[side] = await startSepp(pair[side], { ...o.env, ...o.envOf?.[side], ...r.env });
        return code;
      },
    };
    return run;
  } catch (e) {
    await Promise.all(started.map((p) => p.stop().catch(() => null)));
    throw e;
  }
}

/** Wait until `sepp` reports the association with `peerId` in `state`. */
export async function waitForState(
  sepp: SeppProcess,
  peerId: string,
  state: string,
  timeoutMs = 15000,
): Promise<Record<string, unknown>> {
  return waitFor(
    `${sepp.side.name}: peer ${peerId} ${state}`,
    async () => {
      const r = await sepp.admin(`/v1/peers/${peerId}/n32`);
      if (!r.ok) return null;
      const s = (await r.json()) as Record<string, unknown>;
      return s.state === state ? s : null;
    },
    timeoutMs,
    100,
  );
}
