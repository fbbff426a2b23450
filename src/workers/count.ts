// src/workers/count.ts — how many data-path workers a configuration runs (issue 11 §3, docs/ARCHITECTURE.md
// "Worker model"). `workers: "auto"` (the default) is one per CPU where the configuration lets the data path run
// in workers: the SBI and a separate N32-f listener (N32-c stays on `listeners.n32` in the main thread, where the
// TLS exporter and the N32-c state live); either AEAD engine (pkcs11: each worker has its own session in the
// token, hw/aead-pkcs11-worker.ts); otherwise one, with the reason. A number is taken as it is up to the machine's
// CPUs: more workers than CPUs add no throughput and cost each a thread and ~40 MB (docs/PERFORMANCE.md), so a
// configuration written for a bigger gateway runs one per CPU here, with the reason logged (a change through the API
// naming more is refused: src/config/guards.ts); the start check refuses a number > 1 that the configuration cannot
// run (src/config/startcheck.ts).
import { availableParallelism } from "node:os";
import type { SeppConfig } from "../config/schema.ts";

export const MAX_WORKERS = 64;

export interface WorkerCount {
  count: number;
  /** why: "configured", "one per CPU", or what keeps "auto" at 1 */
  reason: string;
}

/** What keeps this configuration from running its data path in workers, or null. */
export function workersBlockedBy(c: SeppConfig): string | null {
  if (!c.listeners.sbi) return "no SBI listener (listeners.sbi)";
  if (!c.listeners.n32f) return "N32-f shares the N32-c port (a separate listeners.n32f is needed)";
  return null;
}

export function workerCount(c: SeppConfig, cpus: number = availableParallelism()): WorkerCount {
  if (c.workers !== "auto")
    return c.workers <= cpus || c.workers === 1
      ? { count: c.workers, reason: "configured" }
      : { count: Math.max(1, cpus), reason: `configured ${c.workers}, at most one per CPU: this machine has ${cpus}` };
  const blocked = workersBlockedBy(c);
  if (blocked) return { count: 1, reason: `auto: ${blocked}` };
  return { count: Math.max(1, Math.min(MAX_WORKERS, cpus)), reason: "auto: one per CPU" };
}
