// src/system/commit.ts — commit after boot (docs/UPDATES.md "Commit and rollback").
//
// A slot that RAUC has just installed boots with the bootloader's boot status "bad" and a few boot attempts left
// (the backend resets the counter at set-primary). Once the SEPP has started on it, this runs the start-up checks
// and then either marks the booted slot good (it stays the primary for good) or marks it bad and reboots, so the
// bootloader falls back to the other slot. A version that cannot start at all never gets here: systemd restarts
// it, reboots after the start limit, and each boot of the uncommitted slot uses up one attempt.

export interface CommitCheck {
  name: string;
  /** null when the check passed, else why it failed; may wait (bounded by the caller's deadline, performance.now() ms) */
  run(deadline: number): Promise<string | null>;
}

export interface CommitDeps {
  /** boot status of the booted slot as the bootloader backend reports it ("good" when committed) */
  bootedStatus(): Promise<{ ok: true; slot: string; bootStatus: string } | { ok: false; error: string }>;
  mark(state: "good" | "bad"): Promise<{ ok: true } | { ok: false; error: string }>;
  reboot(reason: string): Promise<void>;
  checks: CommitCheck[];
  timeoutMs: number;
  log: { info(m: string, f?: Record<string, unknown>): void; error(m: string, f?: Record<string, unknown>): void };
}

export type CommitOutcome =
  | { result: "already-good"; slot: string }
  | { result: "marked-good"; slot: string }
  | { result: "marked-bad"; slot: string; failures: string[] }
  | { result: "unknown"; error: string };

/** Needs a decision: the booted slot is not (yet) marked good. */
export const needsCommit = (bootStatus: string): boolean => bootStatus !== "good";

export async function commitAfterBoot(d: CommitDeps): Promise<CommitOutcome> {
  const st = await d.bootedStatus();
  if (!st.ok) {
    d.log.error("commit after boot: boot status unknown; leaving the decision to the boot-attempt counter", {
      error: st.error,
    });
    return { result: "unknown", error: st.error };
  }
  if (!needsCommit(st.bootStatus)) return { result: "already-good", slot: st.slot };
  d.log.info("commit after boot: running start-up checks", { slot: st.slot, checks: d.checks.map((c) => c.name) });
  // monotonic: a board without a real-time clock steps its wall clock by years when NTP first answers, which is
  // during these checks after the reboot into a new slot; a wall-clock deadline then passed at once, the checks
  // "failed", and a good update was rolled back
  const deadline = performance.now() + d.timeoutMs;
  const results = await Promise.all(
    d.checks.map(async (c) => {
      try {
        const r = await c.run(deadline);
        return r === null ? null : `${c.name}: ${r}`;
      } catch (e) {
        return `${c.name}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }),
  );
  const failures = results.filter((r): r is string => r !== null);
  if (failures.length === 0) {
    const m = await d.mark("good");
    if (!m.ok) {
      d.log.error("commit after boot: marking the slot good failed", { slot: st.slot, error: m.error });
      return { result: "unknown", error: m.error };
    }
    d.log.info("commit after boot: slot marked good", { slot: st.slot });
    return { result: "marked-good", slot: st.slot };
  }
  d.log.error("commit after boot: start-up checks failed; marking the slot bad and rebooting", {
    slot: st.slot,
    failures,
  });
  const m = await d.mark("bad");
  if (!m.ok) d.log.error("marking the slot bad failed (the boot-attempt counter still falls back)", { error: m.error });
  await d.reboot(`start-up checks failed on slot ${st.slot}`);
  return { result: "marked-bad", slot: st.slot, failures };
}

/** Poll `probe` until it returns null (passed) or the deadline (performance.now(), ms) passes (its last reason). */
export async function until(
  deadline: number,
  probe: () => string | null | Promise<string | null>,
  everyMs = 250,
): Promise<string | null> {
  for (;;) {
    const r = await probe();
    if (r === null) return null;
    if (performance.now() >= deadline) return r;
    await Bun.sleep(Math.min(everyMs, Math.max(1, deadline - performance.now())));
  }
}
