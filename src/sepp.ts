// src/sepp.ts — the composition root: bootstraps configuration and keys, creates the engines and services,
// starts the listeners, and drains them on stop. No protocol logic lives here.
import { Hono } from "hono";
import { VERSION } from "./version.ts";
import type { Logger } from "./log.ts";
import { bootstrap } from "./config/bootstrap.ts";
import { checkStartable, type StartMaterial } from "./config/startcheck.ts";
import type { Prepared } from "./config/start.ts";
import type { SeppConfig } from "./config/schema.ts";
import { createAdminApp } from "./admin/app.ts";
import { keysRoutes } from "./admin/keys.ts";
import { startAdminListener } from "./admin/listener.ts";
import { Registry } from "./metrics.ts";
import { N32fContextStore } from "./n32f/context.ts";
import { N32cService } from "./n32c/service.ts";
import { TrustStore } from "./pki/trust.ts";
import { startN32Server, type N32Server, type N32Env } from "./transport/h2server.ts";
import { DataPath } from "./datapath/index.ts";
import { problem, problemResponse } from "./problem.ts";
import { RiAnnouncer } from "./datapath/ri-announce.ts";
import type { ProtectionPolicy } from "./model/n32.ts";
import apiIeMapping from "../config/api-ie-mapping.json" with { type: "json" };
import { disableCoreDumps, type Hardware, HardwareError, openHardware } from "../hw/index.ts";
import { hwConfigOf } from "./config/hw.ts";
import { liveTimers } from "./timers.ts";
import { createSystem, startupChecks } from "./system/index.ts";
import { STORE_SCHEMA, storeSchema } from "./config/migrate.ts";

export interface RunningSepp {
  /** Bound ports (a configured port 0 gets a free one) */
  ports: { admin: number; n32: number; n32f: number; sbi?: number };
  dataDir: string;
  stop(): Promise<void>;
}

/** What a start opens and loads for one configuration (checked whole by checkStartable). */
interface StartParts {
  hardware: Hardware;
  material: StartMaterial;
}

/** Open the keystore and AEAD engine of `c` and load its TLS material; on any failure close what was opened. */
async function prepareStart(c: SeppConfig, dataDir: string, log: Logger): Promise<Prepared<StartParts>> {
  let hardware: Hardware;
  try {
    hardware = await openHardware(hwConfigOf(c, dataDir), log);
  } catch (e) {
    const path = e instanceof HardwareError && e.part === "aead" ? "/aead/engine" : "/keystore";
    return { ok: false, issues: [{ path, reason: e instanceof Error ? e.message : String(e) }] };
  }
  const r = await checkStartable(c, { dataDir, sealedTlsKey: () => hardware.keystore.unsealTlsKey() });
  if (r.ok) return { ok: true, value: { hardware, material: r.material } };
  await hardware.close();
  return { ok: false, issues: r.issues };
}

export async function startSepp(opts: {
  configPath?: string;
  log: Logger;
  validateOutgoing?: boolean;
}): Promise<RunningSepp> {
  const { log } = opts;
  const hardening = disableCoreDumps();
  log.info("process hardening", { ...hardening });
  const started = Date.now();
  const boot = await bootstrap({ configPath: opts.configPath, log, prepare: (c, dir) => prepareStart(c, dir, log) });
  const { store, dataDir } = boot;
  const cfg0 = store.config;
  const config = () => store.config;
  const metrics = new Registry();
  metrics.gauge("sepp_up", "1 while the SEPP runs").set({ version: VERSION }, 1);
  metrics
    .gauge("sepp_process_resident_bytes", "Resident set size of the SEPP process")
    .set({}, () => process.memoryUsage().rss);
  metrics
    .gauge("sepp_process_heap_used_bytes", "JavaScript heap in use (before the next collection)")
    .set({}, () => process.memoryUsage().heapUsed);

  const { hardware, material } = boot.start.value;
  const { keystore, aead } = hardware;
  const tls = material.n32;
  let trust = { cfg: cfg0, store: material.trust };
  const trustOf = () => {
    const c = store.config;
    if (trust.cfg !== c) trust = { cfg: c, store: TrustStore.fromConfig(c) };
    return trust.store;
  };

  const contexts = new N32fContextStore();
  metrics.gauge("sepp_n32f_contexts_active", "Live N32-f contexts").set({}, () => contexts.size);
  let n32fPort: number | undefined;
  const n32c = new N32cService({
    config,
    tls,
    log: log.child({ component: "n32c" }),
    metrics,
    contexts,
    aead,
    n32fPort: () => n32fPort,
  });
  const dataPath = new DataPath({
    config,
    dataDir,
    log: log.child({ component: "datapath" }),
    metrics,
    contexts,
    n32c,
    trust: trustOf,
    tls: () => tls,
    defaults: apiIeMapping as ProtectionPolicy,
    validateOutgoing: opts.validateOutgoing,
  });
  metrics.gauge("sepp_datapath_inflight", "Data path requests being handled").set({}, () => dataPath.inflight());
  metrics
    .gauge("sepp_datapath_timers", "Per-request timers armed by the data path and not yet fired or cleared")
    .set({}, liveTimers);
  n32c.on("context-terminated", (e) => dataPath.peerDown(e.peerId));
  // The peer says our context is unknown or past its life (it restarted, or expired it first): negotiate a new
  // one instead of sending into a dead context until the next scheduled re-handshake. At most every 5 s per peer.
  const lastRenegotiation = new Map<string, number>();
  n32c.on("error-report", (e) => {
    if (e.info.n32fErrorType !== "CONTEXT_NOT_FOUND" && e.info.n32fErrorType !== "ENCRYPTION_KEY_EXPIRED") return;
    const st = n32c.status(e.peerId);
    if (st?.capability !== "PRINS" || !st.localContextId) return;
    if (e.info.n32fContextId && e.info.n32fContextId.toLowerCase() !== st.localContextId.toLowerCase()) return; // about an old context
    const now = Date.now();
    if (now - (lastRenegotiation.get(e.peerId) ?? 0) < 5000) return;
    lastRenegotiation.set(e.peerId, now);
    log.warn("the peer lost our N32-f context: re-negotiating", { peer: e.peerId, type: e.info.n32fErrorType });
    void n32c
      .handshake(e.peerId)
      .catch((err) => log.warn("re-negotiation failed", { peer: e.peerId, error: String(err) }));
  });
  // A token that came back lost the N32-f session keys imported into it: negotiate new ones.
  aead.onKeysLost?.(() => {
    for (const p of n32c.statusAll())
      if (p.capability === "PRINS")
        void n32c
          .handshake(p.peerId)
          .catch((e) => log.warn("re-handshake after lost N32-f keys failed", { peer: p.peerId, error: String(e) }));
  });
  // P6: RI-relevant parameters over N32-f right after a PRINS context we initiated becomes active
  const riAnnouncer = new RiAnnouncer({
    config,
    log: log.child({ component: "ri-announce" }),
    metrics,
    contexts,
    n32c,
    prins: dataPath.prins,
    peerClients: dataPath.peerClients,
  });
  n32c.on("context-active", (e) => riAnnouncer.onContextActive(e));

  // N32 listener(s): N32-c and N32-f on one port, or N32-f on its own (listeners.n32f)
  const limits = {
    maxBodyBytes: Math.max(cfg0.n32c.maxBodyBytes, cfg0.sbi.maxBodyBytes * 2 + 65536),
    requestTimeoutMs: cfg0.n32c.requestTimeoutMs,
    idleTimeoutMs: 300_000,
  };
  // Unknown N32 paths and methods get a ProblemDetails (TS 29.500 5.2.7.2); hono ignores a mounted sub-app's
  // notFound, so each listener app sets its own (and a handler that throws gives 500 ProblemDetails, logged).
  const n32App = (): Hono<{ Bindings: N32Env }> => {
    const a = new Hono<{ Bindings: N32Env }>();
    a.notFound(() => problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such N32 resource")));
    a.onError((err, c) => {
      log.error("N32 request failed", { method: c.req.method, path: c.req.path.slice(0, 256), error: err });
      return problemResponse(problem(500, "SYSTEM_FAILURE", "internal error"));
    });
    return a;
  };
  const n32cApp = n32App();
  n32cApp.route("/", n32c.routes());
  const servers: N32Server[] = [];
  const n32Server = await startN32Server({
    host: cfg0.listeners.n32.host,
    port: cfg0.listeners.n32.port,
    tls: { ...tls, minVersion: cfg0.tls.minVersion, maxVersion: cfg0.tls.maxVersion },
    trust: trustOf(),
    app: n32cApp,
    limits,
    log,
    streamHandler: cfg0.listeners.n32f ? undefined : dataPath.n32fStreamHandler(),
  });
  servers.push(n32Server);
  let n32fServer = n32Server;
  if (cfg0.listeners.n32f) {
    n32fServer = await startN32Server({
      host: cfg0.listeners.n32f.host,
      port: cfg0.listeners.n32f.port,
      tls: { ...tls, minVersion: cfg0.tls.minVersion, maxVersion: cfg0.tls.maxVersion },
      trust: trustOf(),
      app: n32App(),
      limits,
      log,
      streamHandler: dataPath.n32fStreamHandler(),
    });
    servers.push(n32fServer);
  }
  n32fPort = n32fServer.port;
  await dataPath.start();

  const listeners: Record<string, string> = {
    n32: `https://${cfg0.listeners.n32.host}:${n32Server.port}`,
    n32f: `https://${(cfg0.listeners.n32f ?? cfg0.listeners.n32).host}:${n32fServer.port}`,
  };
  if (dataPath.sbiPort !== undefined)
    listeners.sbi = `${cfg0.listeners.sbi?.tls ? "https" : "http"}://${cfg0.listeners.sbi!.host}:${dataPath.sbiPort}`;

  store.onChange(() => {
    n32c.reloadPeers();
    dataPath.reconfigure();
  });

  const system = createSystem({
    config: () => store.config.system,
    dataDir,
    log: log.child({ component: "system" }),
    version: VERSION,
    drain: () => stop(),
  }); // OTA (docs/UPDATES.md)
  const adminApp = createAdminApp({
    store,
    log: log.child({ component: "admin" }),
    token: () => boot.token,
    metrics,
    status: () => ({
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      identity: store.config.identity,
      listeners,
      keystore: keystore.status(),
      aead: { engine: aead.name },
      configVersion: store.version,
      config: boot.start.info,
      n32fContexts: contexts.size,
      peers: n32c.statusAll().map((s) => ({ peerId: s.peerId, state: s.state, capability: s.capability })),
    }),
    health: () => {
      const ks = keystore.status();
      return {
        healthy: ks.healthy,
        checks: {
          config: boot.start.info.fallback ? `fallback: v${boot.start.info.fallback.failedVersion} failed` : "ok",
          keystore: ks.healthy ? "ok" : (ks.detail ?? "unhealthy"),
        },
      };
    },
    n32: {
      status: (id) => n32c.status(id),
      handshake: (id) => n32c.handshake(id),
      terminate: (id) =>
        n32c
          .terminate(id)
          .catch((e) => log.warn("terminate: the peer could not be told", { peer: id, error: String(e) })),
    },
    extraRoutes: [keysRoutes({ keystore: () => keystore, log })],
    uploadRoutes: system.routes,
    check: async (c) => {
      const r = await checkStartable(c, { dataDir, sealedTlsKey: () => keystore.unsealTlsKey() });
      return r.ok ? [] : r.issues;
    },
  });
  const admin = await startAdminListener({
    host: cfg0.listeners.admin.host,
    port: cfg0.listeners.admin.port,
    tls: material.admin,
    fetch: adminApp.fetch,
    log,
  });
  listeners.admin = admin.url;
  for (const [name, url] of Object.entries(listeners)) log.info("listening", { listener: name, url });
  log.info("admin token", { tokenFile: boot.tokenPath });
  n32c.start();
  store.markStarted(boot.start.info.startedVersion); // every listener is up: this version is a safe fallback
  // commit after boot (OTA): checks run in the background; the slot is marked good or bad, then RAUC is told
  const L = cfg0.listeners;
  const bound = {
    n32: [L.n32.host, n32Server.port],
    n32f: [(L.n32f ?? L.n32).host, n32fServer.port],
    sbi: [L.sbi?.host, dataPath.sbiPort],
    admin: [L.admin.host, admin.port],
  } as const;
  void system.commitAfterBoot(
    startupChecks({
      storeMigrated: () => (storeSchema(`${dataDir}/sepp.db`) === STORE_SCHEMA ? null : "store schema not current"),
      keystoreHealthy: () => (keystore.status().healthy ? null : (keystore.status().detail ?? "unhealthy")),
      listeners: Object.entries(bound).flatMap(([name, [h, port]]) => (h && port ? [{ name, host: h, port }] : [])),
      initiatingPeers: () => store.config.peers.filter((p) => p.initiate).map((p) => p.id),
      peerState: (id) => n32c.status(id)?.state,
    }),
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await n32c.stop();
      await riAnnouncer.stop();
      await Promise.all([...servers.map((s) => s.close()), dataPath.stop()]);
      await admin.close();
      contexts.clear();
      await hardware.close();
      store.close();
    })());
  return {
    ports: { admin: admin.port, n32: n32Server.port, n32f: n32fServer.port, sbi: dataPath.sbiPort },
    dataDir,
    stop,
  };
}
