// bench/start.ts — start-up of the compiled SEPP (issue 11, targets): `npm run bench:start`. Spawn of
// `dist/sepp-linux-x64 serve --config …` on an existing data directory (made by a first start) to the first
// GET /v1/health answered 200 on the admin listener, N times; median and spread (min–max). Then the same for
// dist/sepp-linux-arm64 under qemu-user (qemu-aarch64 -L /usr/aarch64-linux-gnu) when qemu is installed.
// Builds the binaries first when they are missing or older than the sources (bash build.sh). Closing line:
//   start: x64 median N ms (min–max), arm64/qemu median N ms
// The binaries run with the Environment= lines of packaging/sepp.service (scripts/lib/unit-env.ts).
// Environment: BENCH_START_RUNS (x64 runs, default 15; arm64 gets a third, at least 3), BENCH_QUICK=1 (3 and 1).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../scripts/lib/pair.ts";
import { soloSeppConfig } from "../scripts/lib/pair-pki.ts";
import { shippedEnvironment } from "../scripts/lib/unit-env.ts";

const REPO = resolve(import.meta.dir, "..");
/** As the gateway's unit starts the SEPP: its Environment= lines (the runtime's memory policy); read once, outside
 *  the timed spawn. */
const UNIT_ENV = shippedEnvironment();
const QUICK = !!process.env.BENCH_QUICK;
const RUNS = Number(process.env.BENCH_START_RUNS ?? (QUICK ? 3 : 15));
if (!(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 100)) throw new Error("BENCH_START_RUNS must be in 1..100");
const QEMU = Bun.which("qemu-aarch64");
const SYSROOT = "/usr/aarch64-linux-gnu";
type Target = "linux-x64" | "linux-arm64";
const binary = (t: Target) => join(REPO, "dist", `sepp-${t}`);
const command = (t: Target) => (t === "linux-arm64" ? [QEMU!, "-L", SYSROOT, binary(t)] : [binary(t)]);
/** the longest a start may take before the run is counted as failed */
const LIMIT_MS = { "linux-x64": 20_000, "linux-arm64": 120_000 } as const;

/** A binary is fresh when it is newer than every input of its build (as test/build-binary.test.ts decides). */
function fresh(t: Target): boolean {
  const bin = binary(t);
  const meta = `${bin}.meta.json`;
  if (!existsSync(bin) || !existsSync(meta)) return false;
  const built = statSync(bin).mtimeMs;
  const inputs = Object.keys((JSON.parse(readFileSync(meta, "utf8")) as { inputs: Record<string, unknown> }).inputs);
  return [...inputs, "build.sh", "package.json"].every((f) => {
    const p = resolve(REPO, f);
    return existsSync(p) && statSync(p).mtimeMs <= built;
  });
}

/** spawn → first 200 of /v1/health, ms; then SIGTERM and wait for the exit. */
async function startOnce(t: Target, cfg: string, dir: string, adminPort: number): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn([...command(t), "serve", "--config", cfg], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, SEPP_LOG_LEVEL: "warn", ...UNIT_ENV },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${adminPort}/v1/health`;
  try {
    for (;;) {
      if (p.exitCode !== null) throw new Error(`${t}: exited with ${p.exitCode} before answering`);
      if (performance.now() - t0 > LIMIT_MS[t]) throw new Error(`${t}: no 200 from /v1/health in ${LIMIT_MS[t]} ms`);
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000), keepalive: false });
        await r.arrayBuffer();
        if (r.status === 200) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await Bun.sleep(2);
    }
  } finally {
    p.kill("SIGTERM");
    const code = await Promise.race([p.exited, Bun.sleep(15_000).then(() => null)]);
    if (code === null) p.kill("SIGKILL");
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const targets: Target[] = QEMU && existsSync(SYSROOT) ? ["linux-x64", "linux-arm64"] : ["linux-x64"];
  const stale = targets.filter((t) => !fresh(t));
  if (stale.length) {
    console.error(`# building ${stale.join(", ")} (bash build.sh)`);
    const r = Bun.spawnSync(["bash", "build.sh", ...stale], { cwd: REPO, stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("build.sh failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "sepp-bench-start-"));
  try {
    const adminPort = await freePort();
    const cfg = join(dir, "sepp.json");
    writeFileSync(cfg, JSON.stringify(await soloSeppConfig("bench:start root", adminPort, "data")));
    const results = new Map<Target, number[]>();
    for (const t of targets) {
      await startOnce(t, cfg, dir, adminPort); // the first start creates the data directory (not counted)
      const n = t === "linux-x64" ? RUNS : Math.max(QUICK ? 1 : 3, Math.round(RUNS / 3));
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push(await startOnce(t, cfg, dir, adminPort));
      results.set(t, ms);
      console.log(`${t}: ${ms.map((x) => x.toFixed(0)).join(" ")} ms`);
    }
    const fmt = (t: Target) => {
      const ms = results.get(t);
      if (!ms) return "n/a (no qemu-aarch64)";
      return `${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)})`;
    };
    const arm = results.get("linux-arm64");
    console.log(
      `start: x64 median ${fmt("linux-x64")}, arm64/qemu median ${arm ? `${median(arm).toFixed(0)} ms` : "n/a (no qemu-aarch64)"}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
