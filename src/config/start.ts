// src/config/start.ts — which stored configuration version a start runs.
//
// The newest stored version is prepared first (the caller opens the keystore and runs checkStartable()). If it
// fails, the start falls back once to the version that last started (ConfigStore.lastStarted), says so in the
// log and in /v1/status, and runs it in memory: nothing is rewritten, so the operator's newest version stays in
// the store to be fixed through the admin API. If there is no such version, or it fails too, the start fails
// with every reason — one attempt each, never a loop.
import type { Logger } from "../log.ts";
import type { ConfigIssue, SeppConfig } from "./schema.ts";
import type { ConfigStore } from "./store.ts";

export type Prepared<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** How the running configuration was chosen (shown in /v1/status as `config`). */
export interface StartInfo {
  /** the version running since the start */
  startedVersion: number;
  /** the newest stored version */
  latestVersion: number;
  /** present when the newest version failed and the start fell back */
  fallback?: { failedVersion: number; reasons: ConfigIssue[] };
}

export interface StartChoice<T> {
  value: T;
  info: StartInfo;
}

const describe = (issues: ConfigIssue[]) => issues.map((i) => `${i.path || "/"}: ${i.reason}`).join("; ");

/** A version whose start failed after it was prepared (a listener that could not bind…): the next attempt skips it. */
export interface FailedStart {
  version: number;
  issues: ConfigIssue[];
}

/**
 * Prepare the newest stored version, or fall back to the one that last started. `failed`: this process already
 * tried to start the newest version and failed past its preparation (src/sepp.ts startSepp): it counts as failed.
 */
export async function chooseStartVersion<T>(
  store: ConfigStore,
  log: Logger,
  prepare: (c: SeppConfig) => Promise<Prepared<T>>,
  failed?: FailedStart,
): Promise<StartChoice<T>> {
  const latest = store.latest();
  if (!latest) throw new Error("no stored configuration");
  const first: Prepared<T> =
    failed?.version === latest.version
      ? { ok: false, issues: failed.issues }
      : latest.parsed.ok
        ? await prepare(latest.parsed.config)
        : latest.parsed;
  if (first.ok) {
    if (store.use(latest.version).ok !== true) throw new Error(`stored configuration v${latest.version} vanished`);
    return { value: first.value, info: { startedVersion: latest.version, latestVersion: latest.version } };
  }
  const good = store.lastStarted();
  if (good === null || good === latest.version)
    throw new Error(`stored configuration v${latest.version} cannot start: ${describe(first.issues)}`);
  log.error("stored configuration cannot start: falling back to the version that last started", {
    failedVersion: latest.version,
    fallbackVersion: good,
    reasons: first.issues,
  });
  const stored = store.stored(good);
  const second: Prepared<T> = !stored
    ? { ok: false, issues: [{ path: "", reason: `version ${good} is no longer stored` }] }
    : stored.parsed.ok
      ? await prepare(stored.parsed.config)
      : stored.parsed;
  if (!second.ok)
    throw new Error(
      `stored configuration v${latest.version} cannot start (${describe(first.issues)}), ` +
        `nor can v${good} that last started (${describe(second.issues)})`,
    );
  store.use(good);
  log.warn("running a fallback configuration: fix the newest version through the admin API", {
    runningVersion: good,
    failedVersion: latest.version,
  });
  return {
    value: second.value,
    info: {
      startedVersion: good,
      latestVersion: latest.version,
      fallback: { failedVersion: latest.version, reasons: first.issues },
    },
  };
}
