// src/system/index.ts — the OTA system service as the composition root (src/sepp.ts) wires it: the update
// service, the admin routes, drain-then-reboot, and the commit-after-boot run (docs/UPDATES.md).
import { createConnection } from "node:net";
import type { Hono } from "hono";
import { Rauc } from "../../os/rauc.ts";
import { reboot as runReboot } from "../../os/power.ts";
import { systemRoutes } from "../admin/system.ts";
import type { Logger } from "../log.ts";
import { type CommitCheck, type CommitOutcome, commitAfterBoot, until } from "./commit.ts";
import type { SystemConfig } from "./config.ts";
import { UpdateService } from "./update.ts";

export interface SystemDeps {
  config: () => SystemConfig;
  dataDir: string;
  log: Logger;
  version: string;
  /** stop taking traffic and drain N32 (the SEPP's own stop) */
  drain: () => Promise<void>;
}

export interface SystemService {
  routes: Hono;
  /** run the commit-after-boot decision when updates are enabled (in the background; logs its outcome) */
  commitAfterBoot(checks: CommitCheck[]): Promise<CommitOutcome | null>;
}

export function createSystem(d: SystemDeps): SystemService {
  const rauc = () => new Rauc(d.config().raucCommand);
  const update = new UpdateService({
    config: d.config,
    dataDir: d.dataDir,
    rauc: { info: (b, k) => rauc().info(b, k), install: (b, p) => rauc().install(b, p) },
    log: d.log,
  });
  let rebooting: Promise<void> | null = null;
  const reboot = (reason: string): Promise<void> =>
    (rebooting ??= (async () => {
      const c = d.config();
      d.log.info("reboot: draining N32 traffic first", { reason, drainTimeoutMs: c.drainTimeoutMs });
      await Promise.race([d.drain().catch(() => undefined), Bun.sleep(c.drainTimeoutMs)]);
      const r = await runReboot(c.rebootCommand);
      if (r.ok) d.log.info("reboot started", { reason });
      else d.log.error("reboot command failed", { error: r.error });
    })());
  return {
    routes: systemRoutes({
      enabled: () => d.config().updates,
      update,
      slots: () => rauc().status(),
      reboot,
      version: d.version,
    }),
    async commitAfterBoot(checks) {
      if (!d.config().updates) return null;
      return commitAfterBoot({
        bootedStatus: async () => {
          const s = await rauc().status();
          if (!s.ok) return s;
          const booted = s.value.slots.find((x) => x.state === "booted");
          if (!booted?.bootStatus) return { ok: false, error: "RAUC reports no booted slot with a boot status" };
          return { ok: true, slot: booted.name, bootStatus: booted.bootStatus };
        },
        mark: async (state) => {
          const r = await rauc().mark(state);
          return r.ok ? { ok: true } : r;
        },
        reboot,
        checks,
        timeoutMs: d.config().commitTimeoutMs,
        log: d.log,
      });
    },
  };
}

/** A TCP listener on host:port accepts a connection. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** The start-up checks of the issue: configuration loaded and migrated, keystore healthy, listeners bound,
 *  peers with `initiate` in an active N32 association before the commit deadline. */
export function startupChecks(s: {
  storeMigrated: () => string | null;
  keystoreHealthy: () => string | null;
  listeners: Array<{ name: string; host: string; port: number }>;
  initiatingPeers: () => string[];
  peerState: (peerId: string) => string | undefined;
}): CommitCheck[] {
  return [
    { name: "configuration", run: async () => s.storeMigrated() },
    { name: "keystore", run: (deadline) => until(deadline, s.keystoreHealthy) },
    {
      name: "listeners",
      run: async () => {
        const down: string[] = [];
        for (const l of s.listeners) if (!(await accepts(l.host, l.port))) down.push(`${l.name} ${l.host}:${l.port}`);
        return down.length ? `not accepting: ${down.join(", ")}` : null;
      },
    },
    {
      name: "peers",
      run: (deadline) =>
        until(deadline, () => {
          const waiting = s.initiatingPeers().filter((p) => !/^active-/.test(s.peerState(p) ?? ""));
          return waiting.length ? `no N32 association yet with ${waiting.join(", ")}` : null;
        }),
    },
  ];
}
