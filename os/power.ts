// os/power.ts — the reboot door: runs the configured command (production: `systemctl reboot`; the tests' harness
// gives a command that records the request and then "reboots" the simulated device itself).
import { run, raucError } from "./rauc.ts";

export async function reboot(argv: string[]): Promise<{ ok: true } | { ok: false; error: string }> {
  const r = await run(argv, { timeoutMs: 60_000 });
  return r.code === 0 ? { ok: true } : { ok: false, error: raucError(r) };
}
