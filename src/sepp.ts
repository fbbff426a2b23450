// src/sepp.ts — the composition root: bootstraps configuration and keys, creates the engines and services,
// starts the listeners, and drains them on stop. No protocol logic lives here.
import { VERSION } from "./version.ts";
import type { Logger } from "./log.ts";
import { bootstrap } from "./config/bootstrap.ts";
import { resolvePem } from "./config/pem.ts";
import type { SeppConfig } from "./config/schema.ts";
import { createAdminApp } from "./admin/app.ts";
import { Registry } from "./metrics.ts";
import { SoftwareAeadEngine, type AeadEngine } from "../hw/aead.ts";

export interface RunningSepp {
  /** Bound ports (a configured port 0 gets a free one) */
  ports: { admin: number; n32?: number; n32f?: number };
  dataDir: string;
  stop(): Promise<void>;
}

export interface TlsMaterial {
  key: string;
  cert: string;
}

export function loadTlsMaterial(c: SeppConfig, dataDir: string): TlsMaterial {
  return { cert: resolvePem(c.tls.certificate, dataDir), key: resolvePem(c.tls.privateKey, dataDir) };
}

export async function startSepp(opts: { configPath?: string; log: Logger }): Promise<RunningSepp> {
  const { log } = opts;
  const started = Date.now();
  const boot = await bootstrap({ configPath: opts.configPath, log });
  const { store, dataDir } = boot;
  const cfg = store.config;
  const metrics = new Registry();
  metrics.gauge("sepp_up", "1 while the SEPP runs").set({ version: VERSION }, 1);
  const aead: AeadEngine = new SoftwareAeadEngine();

  const listeners: Record<string, string> = {};
  const adminApp = createAdminApp({
    store,
    token: () => boot.token,
    metrics,
    status: () => ({
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      identity: store.config.identity,
      listeners,
      keystore: { backend: store.config.keystore.backend, healthy: true },
      aead: { engine: aead.name },
      configVersion: store.version,
    }),
    health: () => ({ healthy: true, checks: { config: "ok" } }),
  });
  const admin = Bun.serve({
    hostname: cfg.listeners.admin.host,
    port: cfg.listeners.admin.port,
    fetch: adminApp.fetch,
    maxRequestBodySize: 2 << 20,
  });
  listeners.admin = `http://${cfg.listeners.admin.host}:${admin.port}`;
  log.info("listening", { listener: "admin", url: listeners.admin, tokenFile: boot.tokenPath });

  return {
    ports: { admin: admin.port! },
    dataDir,
    async stop() {
      await admin.stop();
      store.close();
    },
  };
}
