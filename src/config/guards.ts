// src/config/guards.ts — what a change through the admin API may not do, whatever else it passes. The installation's
// configuration file (the bootstrap, docs/CONFIG.md) sets these, and a firmware update's migration may change them;
// the API may not, because through them a holder of the admin token would run code of its own as the SEPP's user or
// install firmware nobody signed, which the signed OTA images exist to prevent:
// - system.keyring: the keys an update bundle's signature is checked with;
// - system.raucCommand, system.rebootCommand: programs the SEPP runs;
// - keystore.backend, keystore.module: the PKCS#11 library the SEPP loads into itself;
// - system.minVersion may be raised, not lowered (an older, signed, vulnerable version installed again);
// - storage.dir: the store lives there (moving it would orphan the running store);
// - workers, when changed, at most one per CPU of this machine: more add no throughput and cost each a thread and ~40
//   MB, so many of them would starve the gateway's memory (a start runs one per CPU: src/workers/count.ts).
import { availableParallelism } from "node:os";
import { compareVersions } from "../system/bundle-check.ts";
import type { ConfigIssue, SeppConfig } from "./schema.ts";

const FIXED: Array<[path: string, of: (c: SeppConfig) => unknown]> = [
  ["/system/keyring", (c) => c.system.keyring],
  ["/system/raucCommand", (c) => c.system.raucCommand],
  ["/system/rebootCommand", (c) => c.system.rebootCommand],
  ["/keystore/backend", (c) => c.keystore.backend],
  ["/keystore/module", (c) => (c.keystore.backend === "pkcs11" ? c.keystore.module : undefined)],
];

/** The issues of `next` as a change of `prev` through the API (none for a first configuration). */
export function apiChangeGuard(
  next: SeppConfig,
  prev: SeppConfig | null,
  cpus: number = availableParallelism(),
): ConfigIssue[] {
  if (!prev) return [];
  const issues: ConfigIssue[] = [];
  if (next.storage.dir !== prev.storage.dir)
    issues.push({ path: "/storage/dir", reason: "cannot be changed at run time" });
  for (const [path, of] of FIXED)
    if (JSON.stringify(of(next)) !== JSON.stringify(of(prev)))
      issues.push({
        path,
        reason: "set by the installation's configuration file or a firmware update, not through the API",
      });
  if (compareVersions(next.system.minVersion, prev.system.minVersion) < 0)
    issues.push({
      path: "/system/minVersion",
      reason: `can be raised through the API, not lowered (now ${prev.system.minVersion})`,
    });
  if (next.workers !== prev.workers && next.workers !== "auto" && next.workers > Math.max(1, cpus))
    issues.push({
      path: "/workers",
      reason: `${next.workers} workers, but this machine has ${cpus} CPUs: at most one per CPU ("auto" runs one per CPU)`,
    });
  return issues;
}
