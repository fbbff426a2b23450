// os/rauc.ts — the only door to RAUC (docs/UPDATES.md). RAUC is driven through its command line, which talks to
// `rauc service` over the system D-Bus (DBUS_SYSTEM_BUS_ADDRESS in tests): no D-Bus client library is needed in
// the compiled binary (docs/ARCHITECTURE.md says why). Every call is bounded in time and in output.

/** A bundle version: x.y.z with an optional pre-release or build suffix (what build.sh writes). */
export const VERSION_RE = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]{1,64})?$/;
const OUTPUT_LIMIT = 256 * 1024;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run a command with a time bound; stdout/stderr kept up to OUTPUT_LIMIT; each stdout line goes to onLine. */
export async function run(
  argv: string[],
  opts: { timeoutMs: number; onLine?: (line: string) => void; env?: Record<string, string> },
): Promise<RunResult> {
  const p = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env, LC_ALL: "C" },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, opts.timeoutMs);
  const read = async (s: ReadableStream<Uint8Array>, lines?: (l: string) => void): Promise<string> => {
    const dec = new TextDecoder();
    let all = "";
    let pending = "";
    for await (const chunk of s) {
      const t = dec.decode(chunk, { stream: true });
      if (all.length < OUTPUT_LIMIT) all += t.slice(0, OUTPUT_LIMIT - all.length);
      if (lines) {
        pending += t;
        let i = pending.search(/[\r\n]/);
        while (i >= 0) {
          const l = pending.slice(0, i).trim();
          if (l) lines(l);
          pending = pending.slice(i + 1);
          i = pending.search(/[\r\n]/);
        }
        if (pending.length > 4096) pending = "";
      }
    }
    return all;
  };
  const [stdout, stderr] = await Promise.all([read(p.stdout, opts.onLine), read(p.stderr)]);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut };
}

/** The last meaningful line RAUC printed about a failure (no paths of ours beyond the bundle name). */
export function raucError(r: RunResult): string {
  if (r.timedOut) return "rauc did not answer in time";
  const lines = `${r.stderr}\n${r.stdout}`
    .split("\n")
    .map((l) => l.replace(/^rauc-(Message|Critical|Warning)?:?\s*[\d:.]*:?\s*/, "").trim())
    .filter((l) => l && !/^\d+% /.test(l));
  return (lines.at(-1) ?? `rauc exited with ${r.code}`).slice(0, 500);
}

export interface BundleInfo {
  compatible: string;
  version: string;
}

export type RaucOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

export interface SlotStatus {
  name: string;
  bootname?: string;
  state: string;
  bootStatus?: string;
  version?: string;
  installed?: string;
}

export interface RaucStatus {
  compatible: string;
  booted: string;
  primary?: string;
  slots: SlotStatus[];
}

export class Rauc {
  constructor(private readonly cmd: string) {}

  /** Verify the bundle's CMS signature against `keyring` and read its manifest (nothing is written). */
  async info(bundle: string, keyring: string): Promise<RaucOutcome<BundleInfo>> {
    const r = await run([this.cmd, "info", `--keyring=${keyring}`, "--output-format=json", bundle], {
      timeoutMs: 120_000,
    });
    if (r.code !== 0) return { ok: false, error: raucError(r) };
    try {
      const j = JSON.parse(r.stdout) as { compatible?: unknown; version?: unknown };
      if (typeof j.compatible !== "string" || typeof j.version !== "string" || !VERSION_RE.test(j.version))
        return { ok: false, error: "the bundle manifest has no valid compatible and version" };
      return { ok: true, value: { compatible: j.compatible, version: j.version } };
    } catch {
      return { ok: false, error: "rauc info printed no JSON" };
    }
  }

  /** Install into the inactive slot (RAUC checks signature and compatible again); progress in percent. */
  async install(bundle: string, onProgress: (percent: number, message: string) => void): Promise<RaucOutcome<null>> {
    const r = await run([this.cmd, "install", bundle], {
      timeoutMs: 30 * 60_000,
      onLine: (l) => {
        const m = /^(\d{1,3})%\s+(.*)$/.exec(l);
        if (m) onProgress(Math.min(100, Number(m[1])), m[2]!.slice(0, 200));
      },
    });
    return r.code === 0 ? { ok: true, value: null } : { ok: false, error: raucError(r) };
  }

  async status(): Promise<RaucOutcome<RaucStatus>> {
    const r = await run([this.cmd, "status", "--detailed", "--output-format=json"], { timeoutMs: 30_000 });
    if (r.code !== 0) return { ok: false, error: raucError(r) };
    try {
      return { ok: true, value: parseStatus(JSON.parse(r.stdout)) };
    } catch (e) {
      return { ok: false, error: `rauc status: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** rauc status mark-good|mark-bad booted: the bootloader backend's state of the booted slot */
  async mark(state: "good" | "bad"): Promise<RaucOutcome<null>> {
    const r = await run([this.cmd, "status", `mark-${state}`, "booted"], { timeoutMs: 30_000 });
    return r.code === 0 ? { ok: true, value: null } : { ok: false, error: raucError(r) };
  }
}

type Json = Record<string, unknown>;
const str = (x: unknown): string | undefined => (typeof x === "string" ? x : undefined);

/** `rauc status --detailed --output-format=json` (RAUC 1.8 shape) → RaucStatus */
export function parseStatus(j: Json): RaucStatus {
  const booted = str(j.booted);
  if (!booted) throw new Error("no booted slot");
  const slots: SlotStatus[] = [];
  for (const entry of Array.isArray(j.slots) ? (j.slots as Json[]) : []) {
    for (const [name, s0] of Object.entries(entry)) {
      const s = s0 as Json;
      const st = (s.slot_status ?? {}) as Json;
      const bundle = (st.bundle ?? {}) as Json;
      const installed = (st.installed ?? {}) as Json;
      slots.push({
        name,
        bootname: str(s.bootname),
        state: str(s.state) ?? "unknown",
        bootStatus: str(s.boot_status),
        version: str(bundle.version),
        installed: str(installed.timestamp),
      });
    }
  }
  return { compatible: str(j.compatible) ?? "", booted, primary: str(j.boot_primary), slots };
}
