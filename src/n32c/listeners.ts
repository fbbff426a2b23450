// src/n32c/listeners.ts — the N32 listener wiring, one function for the SEPP (src/sepp.ts) and the tests
// (test/support/pki.ts): N32-c and N32-f on one port, or N32-f on its own (`listeners.n32f`); the TLS version
// floor of P1 and the body bounds that follow from the configuration; unknown paths get a ProblemDetails.
import { Hono } from "hono";
import type { SeppConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { TrustStore } from "../pki/trust.ts";
import { n32Admission } from "../pki/admission.ts";
import { problem, problemResponse } from "../problem.ts";
import {
  type N32Env,
  type N32Server,
  type N32ServerLimits,
  type N32ServerOptions,
  startN32Server,
} from "../transport/h2server.ts";

/**
 * Options of the N32 listener(s) that follow from the configuration: TLS 1.3 only unless `tls.minVersion` or
 * some peer allows TLS 1.2 (P1; a TLS 1.2 connection from a peer that does not allow it is refused per request
 * with 403), and the body bound (N32-c's own limit is checked per request; N32-f on the same port carries
 * reformatted SBI bodies, about twice their size).
 *
 * @example
 * const o = n32ListenerOptions(cfg); // { minVersion: "TLSv1.3", limits: { maxBodyBytes: …, … } }
 */
export function n32ListenerOptions(cfg: SeppConfig): {
  minVersion: "TLSv1.2" | "TLSv1.3";
  limits: N32ServerLimits;
} {
  const tls12 =
    cfg.tls.minVersion === "TLSv1.2" || cfg.tls.maxVersion === "TLSv1.2" || cfg.peers.some((p) => p.profile.allowTls12);
  return {
    minVersion: tls12 ? "TLSv1.2" : "TLSv1.3",
    limits: {
      maxBodyBytes: Math.max(cfg.n32c.maxBodyBytes, cfg.sbi.maxBodyBytes * 2 + 65536),
      requestTimeoutMs: cfg.n32c.requestTimeoutMs,
      // connection admission bounds (issue 10): per-peer quotas, preface and idle timeouts, reset floods
      maxSessions: cfg.n32Connections.maxConnections,
      maxSessionsPerPeer: cfg.n32Connections.maxConnectionsPerPeer,
      maxPendingPerSource: cfg.n32Connections.maxPendingPerSource,
      prefaceTimeoutMs: cfg.n32Connections.prefaceTimeoutMs,
      idleTimeoutMs: cfg.n32Connections.idleTimeoutMs,
      maxResetsPer10s: cfg.n32Connections.maxResetsPer10s,
    },
  };
}

export interface N32Listeners {
  /** the N32-c listener (also N32-f without `listeners.n32f`) */
  n32: N32Server;
  /** the listener carrying N32-f (the same object as `n32` without `listeners.n32f`) */
  n32f: N32Server;
  close(): Promise<void>;
}

export interface N32ListenersOptions {
  /** the configuration at start (the listener set, TLS floor and `ca` list are fixed until a restart) */
  config: SeppConfig;
  tls: { key: string; cert: string };
  /** the trust store in force (a function: it follows configuration changes, CRLs included) */
  trust: TrustStore | (() => TrustStore);
  /** the live configuration, for connection admission (configured peers and RIs; default: `config`) */
  liveConfig?: () => SeppConfig;
  /** RIs listed in the RI security information of active associations: they may connect to N32-f (P11) */
  exchangedRis?: () => Iterable<string>;
  /** the N32-c routes (N32cService.routes()) */
  n32c: Hono<{ Bindings: N32Env }>;
  /** the N32-f data path (DataPath.n32fStreamHandler()); absent: N32-f paths get 404 */
  n32fStreamHandler?: N32ServerOptions["streamHandler"];
  log: Logger;
  /** interop tests only: an old peer that speaks TLS 1.2 and nothing newer (else `tls.maxVersion`) */
  maxTlsVersion?: "TLSv1.2";
}

/**
 * Start the N32 listener(s) of the configuration. When the second listener cannot start, the first is closed
 * before the error is thrown (a failed start leaves nothing open).
 *
 * @example
 * const l = await startN32Listeners({ config: cfg, tls, trust, n32c: n32c.routes(),
 *                                     n32fStreamHandler: dataPath.n32fStreamHandler(), log });
 * // l.n32.port, l.n32f.port … at shutdown: await l.close();
 */
export async function startN32Listeners(o: N32ListenersOptions): Promise<N32Listeners> {
  const cfg = o.config;
  const { minVersion, limits } = n32ListenerOptions(cfg);
  const tls = { key: o.tls.key, cert: o.tls.cert, minVersion, maxVersion: o.maxTlsVersion ?? cfg.tls.maxVersion };
  const separate = cfg.listeners.n32f;
  // Unknown N32 paths and methods get a ProblemDetails (TS 29.500 5.2.7.2); hono ignores a mounted sub-app's
  // notFound, so each listener app sets its own (and a handler that throws gives 500 ProblemDetails, logged).
  const appOf = (routes?: Hono<{ Bindings: N32Env }>): Hono<{ Bindings: N32Env }> => {
    const a = new Hono<{ Bindings: N32Env }>();
    if (routes) a.route("/", routes);
    a.notFound(() => problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such N32 resource")));
    a.onError((err, c) => {
      o.log.error("N32 request failed", { method: c.req.method, path: c.req.path.slice(0, 256), error: err });
      return problemResponse(problem(500, "SYSTEM_FAILURE", "internal error"));
    });
    return a;
  };
  const live = o.liveConfig ?? (() => cfg);
  const exchangedRis = o.exchangedRis ?? (() => []);
  // who may hold a connection is decided at set-up (src/pki/admission.ts): a configured peer, or — on a listener
  // carrying N32-f — a listed RI (on a shared port N32-c refuses an RI per request, P9)
  const n32 = await startN32Server({
    host: cfg.listeners.n32.host,
    port: cfg.listeners.n32.port,
    tls,
    trust: o.trust,
    admit: n32Admission(live, !separate, exchangedRis),
    acceptRiClients: !separate,
    app: appOf(o.n32c),
    limits,
    log: o.log,
    streamHandler: separate ? undefined : o.n32fStreamHandler,
  });
  let n32f = n32;
  if (separate) {
    try {
      n32f = await startN32fListener(o);
    } catch (e) {
      await n32.close();
      throw e;
    }
  }
  return {
    n32,
    n32f,
    async close() {
      await Promise.all(n32f === n32 ? [n32.close()] : [n32.close(), n32f.close()]);
    },
  };
}

/**
 * The separate N32-f listener alone (`listeners.n32f`): what startN32Listeners starts beside N32-c, and what each
 * data-path worker starts (src/workers/worker.ts) with `reusePort` on the port the first worker bound (`port`).
 */
export function startN32fListener(
  o: Omit<N32ListenersOptions, "n32c"> & { port?: number; reusePort?: boolean },
): Promise<N32Server> {
  const cfg = o.config;
  const l = cfg.listeners.n32f;
  if (!l) throw new RangeError("no separate N32-f listener configured (listeners.n32f)");
  const { minVersion, limits } = n32ListenerOptions(cfg);
  const live = o.liveConfig ?? (() => cfg);
  const a = new Hono<{ Bindings: N32Env }>();
  a.notFound(() => problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such N32 resource")));
  a.onError((err, c) => {
    o.log.error("N32 request failed", { method: c.req.method, path: c.req.path.slice(0, 256), error: err });
    return problemResponse(problem(500, "SYSTEM_FAILURE", "internal error"));
  });
  return startN32Server({
    host: l.host,
    port: o.port ?? l.port,
    reusePort: o.reusePort,
    tls: { key: o.tls.key, cert: o.tls.cert, minVersion, maxVersion: o.maxTlsVersion ?? cfg.tls.maxVersion },
    trust: o.trust,
    admit: n32Admission(live, true, o.exchangedRis ?? (() => [])),
    acceptRiClients: true,
    app: a,
    limits,
    log: o.log,
    streamHandler: o.n32fStreamHandler,
  });
}
