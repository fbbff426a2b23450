// src/sepp.ts — the composition root: bootstraps configuration and keys, creates the engines and services,
// starts the listeners, and drains them on stop. No protocol logic lives here.
import { basename } from "node:path";
import { VERSION } from "./version.ts";
import { LOG_LEVELS, type Logger, type LogLevel } from "./log.ts";
import { bootstrap } from "./config/bootstrap.ts";
import { checkStartable, type StartMaterial } from "./config/startcheck.ts";
import { checkListenAddresses, heldAddresses } from "./config/listencheck.ts";
import type { FailedStart, Prepared } from "./config/start.ts";
import type { SeppConfig } from "./config/schema.ts";
import { createAdminApp } from "./admin/app.ts";
import { keysRoutes } from "./admin/keys.ts";
import { startAdminListener } from "./admin/listener.ts";
import { Registry } from "./metrics.ts";
import { N32fContextStore } from "./n32f/context-store.ts";
import { N32cService } from "./n32c/service.ts";
import { TrustStore } from "./pki/trust.ts";
import { startN32Listeners } from "./n32c/listeners.ts";
import { risOf } from "./datapath/n32f-sender.ts";
import { DataPath } from "./datapath/index.ts";
import { RiAnnouncer } from "./datapath/ri-announce.ts";
import type { ProtectionPolicy } from "./model/n32.ts";
import apiIeMapping from "../config/api-ie-mapping.json" with { type: "json" };
import { disableCoreDumps, type Hardware, HardwareError, openHardware, sealedTlsKeyOf } from "../hw/index.ts";
import { storageFreeOrUnknown, storageHealth } from "../lib/storage-reserve.ts";
import { hwConfigOf, sameKeystore } from "./config/hw.ts";
import { liveTimers } from "./timers.ts";
import { createSystem, startupChecks } from "./system/index.ts";
import { restartRequired } from "./config/restart.ts";
import { workerCount } from "./workers/count.ts";
import { WorkerPool } from "./workers/pool.ts";
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

/**
 * Start the whole SEPP from its configuration: keystore and AEAD engine, N32-c service, data path, the N32
 * listener(s) (src/n32c/listeners.ts, the same wiring the tests use), the SBI and admin listeners. A start that
 * fails part-way closes, in reverse order, everything it had opened before it rethrows.
 */
export async function startSepp(opts: {
  configPath?: string;
  log: Logger;
  validateOutgoing?: boolean;
  /** "config": log.level of the configuration in force (src/main.ts without SEPP_LOG_LEVEL); a level: that one,
   *  whatever the configuration says; absent: `log` keeps its level (in-process tests) */
  logLevel?: LogLevel | "config";
}): Promise<RunningSepp> {
  const { log } = opts;
  const hardening = disableCoreDumps();
  log.info("process hardening", { ...hardening });
  const started = performance.now(); // monotonic: uptime must not jump with an NTP step
  let failed: FailedStart | undefined;
  for (;;) {
    /** what this start has opened so far, closed in reverse order if a later step fails */
    const opened: Array<{ what: string; close: () => unknown }> = [];
    /** the version this attempt runs, once chosen, and whether another one started before */
    const attempt: { version?: number; fallbackExists?: boolean } = {};
    try {
      return await startOpened({ ...opts, failed }, log, started, opened, attempt);
    } catch (e) {
      for (const o of opened.reverse()) {
        try {
          await o.close();
        } catch (err) {
          log.warn("failed start: could not close", { what: o.what, error: String(err) });
        }
      }
      // A version that passed its checks and still failed past them (a listener address that cannot be bound, a
      // port another process holds) is a failed version as well: once, the start runs the version that last
      // started instead (src/config/start.ts), so that an accepted change cannot keep the box from starting.
      if (failed || attempt.version === undefined || !attempt.fallbackExists) throw e;
      const reason = `start-up failed: ${e instanceof Error ? e.message : String(e)}`;
      log.error("the newest configuration failed to start: starting again with the version that last started", {
        failedVersion: attempt.version,
        error: reason,
      });
      failed = { version: attempt.version, issues: [{ path: "", reason }] };
    }
  }
}

async function startOpened(
  opts: { configPath?: string; validateOutgoing?: boolean; logLevel?: LogLevel | "config"; failed?: FailedStart },
  log: Logger,
  started: number,
  opened: Array<{ what: string; close: () => unknown }>,
  attempt: { version?: number; fallbackExists?: boolean },
): Promise<RunningSepp> {
  const boot = await bootstrap({
    configPath: opts.configPath,
    log,
    prepare: (c, dir) => prepareStart(c, dir, log),
    failed: opts.failed,
  });
  const { store, dataDir } = boot;
  // the newest version (not a fallback already) with an older one that started: a failure below can fall back
  const { startedVersion, latestVersion } = boot.start.info;
  const lastStarted = store.lastStarted();
  attempt.version = startedVersion;
  attempt.fallbackExists = startedVersion === latestVersion && lastStarted !== null && lastStarted !== startedVersion;
  opened.push({ what: "config store", close: () => store.close() });
  const cfg0 = store.config;
  const runningKeystore = hwConfigOf(cfg0, dataDir).keystore;
  const config = () => store.config;
  // log.level (docs/CONFIG.md): from here on, and again on each stored change; the workers follow (pool.reconfigure)
  const levelOf = (c: SeppConfig): LogLevel | undefined => (opts.logLevel === "config" ? c.log.level : opts.logLevel);
  const applyLevel = () => {
    const l = levelOf(store.config);
    if (l) log.setLevel(l);
  };
  applyLevel();
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
  opened.push({ what: "hardware", close: () => hardware.close() });
  const tls = material.n32;
  let trust = { cfg: cfg0, store: material.trust };
  const trustOf = () => {
    const c = store.config;
    if (trust.cfg !== c) trust = { cfg: c, store: TrustStore.fromConfig(c) };
    return trust.store;
  };

  const contexts = new N32fContextStore();
  opened.push({ what: "N32-f contexts", close: () => contexts.clear() });
  metrics.gauge("sepp_n32f_contexts_active", "Live N32-f contexts").set({}, () => contexts.size);
  // the data partition, to alert on before it is full (lib/storage-reserve.ts; -1: unreadable)
  metrics
    .gauge("sepp_storage_free_bytes", "Free bytes on the data partition (storage.dir); -1 when unreadable")
    .set({}, () => storageFreeOrUnknown(dataDir));
  let n32fPort: number | undefined;
  // data-path workers (issue 11 §3): N32-c, the store and the admin API stay here; SBI and N32-f run in the workers
  const workers = workerCount(cfg0);
  // a number over this machine's CPUs runs one per CPU (src/workers/count.ts): said as a warning, the audit shows more
  const capped = cfg0.workers !== "auto" && workers.count < cfg0.workers;
  log[capped ? "warn" : "info"]("data-path workers", { count: workers.count, reason: workers.reason });
  let aeadProbedAt = Number.NEGATIVE_INFINITY;
  if (aead.name === "pkcs11")
    metrics
      .gauge(
        "sepp_aead_token_keys",
        "N32-f keys held in the PKCS#11 token (session objects of this process: main thread and workers; -1: token unusable)",
      )
      .set({}, () => hardware.aeadTokenKeys() ?? -1);
  const pool =
    workers.count > 1
      ? new WorkerPool({
          count: workers.count,
          config,
          startConfig: cfg0,
          dataDir,
          logLevel: () => LOG_LEVELS.find((l) => log.enabled(l)) ?? "error",
          tls,
          contexts,
          log: log.child({ component: "workers" }),
          validateOutgoing: opts.validateOutgoing,
          aead: hardware.aeadForWorkers(),
          // the token is this thread's: a worker's failed PKCS#11 call makes it probe the token (status() does)
          onAeadFailure: () => {
            const now = performance.now();
            if (now - aeadProbedAt < 1000) return;
            aeadProbedAt = now;
            keystore.status();
          },
          // pkcs11: a worker that died (a terminated Worker runs no clean-up) left its token session open, and the
          // N32-f keys in it; the token's sessions and objects are few, and a crashing worker restarts again and again
          onWorkerEnded: (index) => {
            if (hardware.closeDeadWorkerSession(index))
              log.warn("closed the PKCS#11 session a data-path worker left open", { worker: index });
          },
          // test hook (test/e2e/workers.test.ts): new contexts reach the workers late, as to a busy worker
          shareDelayMs:
            process.env.SEPP_TEST_HOOKS === "1" ? Number(process.env.SEPP_TEST_SHARE_DELAY_MS ?? 0) || 0 : 0,
          // test hook (test/e2e/workers-handoff.test.ts): requests handed off without waiting for a saturated worker
          handoffAlwaysSpill: process.env.SEPP_TEST_HOOKS === "1" && process.env.SEPP_TEST_HANDOFF_SPILL === "1",
        })
      : undefined;
  const n32c = new N32cService({
    shareContext: pool?.share,
    config,
    tls,
    log: log.child({ component: "n32c" }),
    metrics,
    contexts,
    aead,
    n32fPort: () => n32fPort,
  });
  opened.push({ what: "N32-c service", close: () => n32c.stop() });
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
  opened.push({ what: "data path", close: () => dataPath.stop() });
  metrics.gauge("sepp_datapath_inflight", "Data path requests being handled").set({}, () => dataPath.inflight());
  metrics
    .gauge("sepp_datapath_timers", "Per-request timers armed by the data path and not yet fired or cleared")
    .set({}, liveTimers);
  n32c.on("context-terminated", (e) => dataPath.peerDown(e.peerId));
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
  opened.push({ what: "RI announcer", close: () => riAnnouncer.stop() });
  n32c.on("context-active", (e) => riAnnouncer.onContextActive(e));
  if (pool) {
    n32c.on("context-active", () => pool.sync());
    n32c.on("context-terminated", () => pool.sync());
  }

  // N32 listener(s): N32-c and N32-f on one port, or N32-f on its own (listeners.n32f)
  const n32 = await startN32Listeners({
    // with workers the N32-f listener runs in each of them: here N32-c alone
    config: pool ? { ...cfg0, listeners: { ...cfg0.listeners, n32f: undefined } } : cfg0,
    tls,
    trust: trustOf,
    liveConfig: config,
    // RIs listed in the RI security information of an active association (P11) may connect to N32-f
    exchangedRis: () =>
      contexts
        .list()
        .filter((c) => c.state === "active")
        .flatMap((c) => risOf(c)),
    n32c: n32c.routes(),
    n32fStreamHandler: pool ? undefined : dataPath.n32fStreamHandler(),
    log,
  });
  opened.push({ what: "N32 listeners", close: () => n32.close() });
  if (pool) {
    opened.push({ what: "data-path workers", close: () => pool.stop() });
    await pool.start(n32c);
    // tests only: SIGUSR2 ends worker 0, as a crash would (it is restarted on the same association)
    if (process.env.SEPP_TEST_HOOKS === "1") process.on("SIGUSR2", () => pool.kill(0));
  } else await dataPath.start();
  n32fPort = pool ? pool.ports!.n32f : n32.n32f.port;
  const sbiPort = pool ? pool.ports!.sbi : dataPath.sbiPort;

  const listeners: Record<string, string> = {
    n32: `https://${cfg0.listeners.n32.host}:${n32.n32.port}`,
    n32f: `https://${(cfg0.listeners.n32f ?? cfg0.listeners.n32).host}:${n32fPort}`,
  };
  if (sbiPort !== undefined)
    listeners.sbi = `${cfg0.listeners.sbi?.tls ? "https" : "http"}://${cfg0.listeners.sbi!.host}:${sbiPort}`;

  store.onChange(() => {
    applyLevel();
    n32c.reloadPeers();
    dataPath.reconfigure();
    pool?.reconfigure();
    const waiting = restartRequired(cfg0, store.config);
    if (waiting.length)
      log.warn("configuration stored: these members apply at the next start", { restartRequired: waiting });
  });

  const system = createSystem({
    config: () => store.config.system,
    dataDir,
    log: log.child({ component: "system" }),
    version: VERSION,
    drain: () => stop(),
  }); // OTA (docs/UPDATES.md)
  const held = heldAddresses(cfg0, { n32: n32.n32.port, n32f: n32fPort, sbi: sbiPort });
  const adminApp = createAdminApp({
    store,
    log: log.child({ component: "admin" }),
    token: () => boot.token,
    metrics,
    workerMetrics: pool ? () => pool.metrics() : undefined,
    status: () => ({
      version: VERSION,
      uptimeSeconds: Math.round((performance.now() - started) / 1000),
      identity: store.config.identity,
      listeners,
      keystore: keystore.status(),
      aead: { engine: aead.name },
      workers: { ...workers, restarts: pool?.restarts ?? 0 },
      configVersion: store.version,
      config: { ...boot.start.info, restartRequired: restartRequired(cfg0, store.config) },
      n32fContexts: contexts.size,
      peers: n32c.statusAll().map((s) => ({ peerId: s.peerId, state: s.state, capability: s.capability })),
      // P11 "Trust": a CRL past its nextUpdate still applies; the operator should renew it (source paths only)
      pki: { staleCrls: trustOf().staleCrls() },
    }),
    health: () => {
      const ks = keystore.status();
      return {
        healthy: ks.healthy,
        checks: {
          config: boot.start.info.fallback
            ? `fallback: v${boot.start.info.fallback.failedVersion} failed`
            : boot.recovered
              ? `rebuilt: the store was corrupt (kept as ${basename(boot.recovered.aside)}); v${boot.recovered.snapshotVersion} from its snapshot`
              : "ok",
          keystore: ks.healthy ? "ok" : (ks.detail ?? "unhealthy"),
          // informational: stale CRLs still apply, so the SEPP stays healthy
          crls: trustOf().staleCrls().length ? `stale: ${trustOf().staleCrls().join(", ")}` : "ok",
          // informational: the data path needs no writes, but changes and the next start do (lib/storage-reserve.ts)
          storage: storageHealth(dataDir),
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
      // the keystore is opened once, at start: a change naming another one is asked what that one holds
      const same = sameKeystore(hwConfigOf(c, dataDir).keystore, runningKeystore);
      const sealedTlsKey = () => (same ? keystore.unsealTlsKey() : sealedTlsKeyOf(hwConfigOf(c, dataDir)));
      const r = await checkStartable(c, { dataDir, sealedTlsKey });
      return [...(r.ok ? [] : r.issues), ...(await checkListenAddresses(c, held))];
    },
  });
  const admin = await startAdminListener({
    host: cfg0.listeners.admin.host,
    port: cfg0.listeners.admin.port,
    tls: material.admin,
    fetch: adminApp.fetch,
    log,
  });
  opened.push({ what: "admin listener", close: () => admin.close() });
  listeners.admin = admin.url;
  for (const [name, url] of Object.entries(listeners)) log.info("listening", { listener: name, url });
  log.info("admin token", { tokenFile: boot.tokenPath });
  n32c.start();
  store.markStarted(boot.start.info.startedVersion); // every listener is up: this version is a safe fallback
  // commit after boot (OTA): checks run in the background; the slot is marked good or bad, then RAUC is told
  const L = cfg0.listeners;
  const bound = {
    n32: [L.n32.host, n32.n32.port],
    n32f: [(L.n32f ?? L.n32).host, n32fPort],
    sbi: [L.sbi?.host, sbiPort],
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
      await Promise.all([n32.close(), dataPath.stop(), pool?.stop()]);
      await admin.close();
      contexts.clear();
      await hardware.close();
      store.close();
    })());
  return {
    ports: { admin: admin.port, n32: n32.n32.port, n32f: n32fPort, sbi: sbiPort },
    dataDir,
    stop,
  };
}
