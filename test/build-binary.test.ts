// The compiled executables (build.sh): `--version`, and `serve --config` answering GET /v1/health, for
// linux-x64 natively and linux-arm64 under qemu-user. Every runtime data file must be inside the binary:
// the binaries run from an empty temporary directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import pkg from "../package.json" with { type: "json" };
import { soloSeppConfig } from "../scripts/lib/pair-pki.ts";
import { shippedEnvironment, unitEnvironment } from "../scripts/lib/unit-env.ts";

const REPO = resolve(import.meta.dir, "..");
const DIST = join(REPO, "dist");
const TARGETS = ["linux-x64", "linux-arm64"] as const;
type Target = (typeof TARGETS)[number];
const QEMU = Bun.which("qemu-aarch64");
const SYSROOT = "/usr/aarch64-linux-gnu";
const BUILD_TIMEOUT_MS = 240_000;
const START_TIMEOUT_MS = { "linux-x64": 20_000, "linux-arm64": 90_000 } as const;
/** Runtime data files: when the source uses one, it must be an input of the bundle (an import), not a disk read. */
const DATA_FILES = ["config/default.json", "config/api-ie-mapping.json", "src/openapi/validators.gen.ts"];

/** The environment packaging/sepp.service gives the SEPP on the gateway: the executables run with it here. */
const UNIT_ENV = shippedEnvironment();

const binary = (t: Target) => join(DIST, `sepp-${t}`);
const command = (t: Target): string[] =>
  t === "linux-arm64" ? [QEMU ?? "qemu-aarch64", "-L", SYSROOT, binary(t)] : [binary(t)];

/** A binary is fresh when it is newer than every input of its last build, build.sh and package.json. */
function fresh(t: Target): boolean {
  const bin = binary(t);
  const meta = `${bin}.meta.json`;
  if (!existsSync(bin) || !existsSync(meta)) return false;
  const built = statSync(bin).mtimeMs;
  let inputs: string[];
  try {
    inputs = Object.keys((JSON.parse(readFileSync(meta, "utf8")) as { inputs: Record<string, unknown> }).inputs);
  } catch {
    return false;
  }
  for (const f of [...inputs, "build.sh", "package.json"]) {
    const p = resolve(REPO, f);
    if (!existsSync(p) || statSync(p).mtimeMs > built) return false;
  }
  return true;
}

const procs: Subprocess[] = [];
const dirs: string[] = [];
let config = "";

beforeAll(async () => {
  const stale = TARGETS.filter((t) => !fresh(t));
  if (stale.length) {
    const r = Bun.spawnSync(["bash", "build.sh", ...stale], {
      cwd: REPO,
      env: { ...process.env, SEPP_BUNDLES: "0" }, // the OTA bundles are built and tested by test/system-*
      timeout: BUILD_TIMEOUT_MS,
      stdout: "pipe",
      stderr: "pipe",
    });
    if (r.exitCode !== 0)
      throw new Error(`build.sh ${stale.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  }
  // One real configuration (inline PEM from a fresh development PKI), ports 0 on loopback.
  config = JSON.stringify(await soloSeppConfig("build-binary test root", 0, "data"));
}, BUILD_TIMEOUT_MS + 30_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => Promise.race([p.exited, Bun.sleep(5000)])));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function emptyDir(): string {
  const d = mkdtempSync(join(tmpdir(), "sepp-bin-"));
  dirs.push(d);
  return d;
}

/** Collects a process's stdout lines in the background (so the pipe never fills) and waits for a match. */
class Lines {
  private buf = "";
  readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        this.buf += dec.decode(chunk, { stream: true });
        for (let i = this.buf.indexOf("\n"); i >= 0; i = this.buf.indexOf("\n")) {
          this.lines.push(this.buf.slice(0, i));
          this.buf = this.buf.slice(i + 1);
        }
        for (const w of this.waiters.splice(0)) w();
      }
      for (const w of this.waiters.splice(0)) w();
    })();
  }
  async find<T>(
    pick: (line: string) => T | undefined,
    deadline: number,
    exited: () => boolean,
  ): Promise<T | undefined> {
    for (let seen = 0; ; ) {
      for (; seen < this.lines.length; seen++) {
        const v = pick(this.lines[seen]!);
        if (v !== undefined) return v;
      }
      if (exited() || Date.now() > deadline) return undefined;
      await Promise.race([
        new Promise<void>((r) => this.waiters.push(r)),
        Bun.sleep(Math.max(1, Math.min(250, deadline - Date.now()))),
      ]);
    }
  }
}

const adminUrl = (line: string): string | undefined => {
  try {
    const o = JSON.parse(line) as { msg?: string; listener?: string; url?: string };
    return o.msg === "listening" && o.listener === "admin" && typeof o.url === "string" ? o.url : undefined;
  } catch {
    return undefined;
  }
};

async function versionOf(
  t: Target,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([...command(t), "--version"], {
    cwd: emptyDir(),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...UNIT_ENV, ...extraEnv },
    stdout: "pipe",
    stderr: "pipe",
  });
  procs.push(p);
  const code = await Promise.race([p.exited, Bun.sleep(START_TIMEOUT_MS[t]).then(() => -1)]);
  return { code, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() };
}

async function serveAndCheckHealth(t: Target, configText = config): Promise<string[]> {
  const dir = emptyDir();
  const cfg = join(dir, "sepp.json");
  writeFileSync(cfg, configText);
  const deadline = Date.now() + START_TIMEOUT_MS[t];
  // cwd is an empty directory and HOME too: nothing can come from the repository or a .env/bunfig.
  const p = Bun.spawn([...command(t), "serve", "--config", cfg], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...UNIT_ENV },
    stdout: "pipe",
    stderr: "pipe",
  });
  procs.push(p);
  const out = new Lines(p.stdout);
  const exited = () => p.exitCode !== null || p.signalCode !== null;
  const url = await out.find(adminUrl, deadline, exited);
  if (!url) {
    p.kill("SIGKILL");
    const err = await Promise.race([new Response(p.stderr).text(), Bun.sleep(2000).then(() => "")]);
    throw new Error(
      `${t}: no admin listener within ${START_TIMEOUT_MS[t]} ms (exit ${p.exitCode}); stdout: ${out.lines.slice(-5).join(" | ")}; stderr: ${err.slice(-800)}`,
    );
  }
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  let health: { status?: string } | undefined;
  let status = 0;
  while (Date.now() < deadline && !exited()) {
    try {
      const r = await fetch(`${url}/v1/health`, {
        signal: AbortSignal.timeout(Math.max(500, Math.min(5000, deadline - Date.now()))),
      });
      status = r.status;
      health = (await r.json()) as { status?: string };
      if (status === 200) break;
    } catch {
      // listener not answering yet
    }
    await Bun.sleep(100);
  }
  expect(status).toBe(200);
  expect(health?.status).toBe("UP");
  // the data directory was created where the configuration says, relative to the working directory
  expect(readdirSync(join(dir, "data")).length).toBeGreaterThan(0);
  p.kill("SIGTERM");
  const code = await Promise.race([p.exited, Bun.sleep(15_000).then(() => -1)]);
  expect(code).toBe(0);
  await Promise.race([out.done, Bun.sleep(2000)]);
  expect(out.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  return out.lines;
}

describe("packaging/sepp.service environment", () => {
  test("the shipped unit sets the runtime's memory policy and the top JIT tier's size bound", () => {
    expect(UNIT_ENV).toEqual({
      BUN_JSC_heapGrowthMaxIncrease: "0.8",
      MIMALLOC_PURGE_DELAY: "0",
      BUN_JSC_maximumFTLCandidateBytecodeCost: "2000",
    });
  });

  test("only plain NAME=value lines in [Service] are read; any other Environment= line is refused", () => {
    expect(unitEnvironment("[Service]\nEnvironment=A_1=x.y\nExecStart=/bin/true\n")).toEqual({ A_1: "x.y" });
    for (const bad of [
      '[Service]\nEnvironment="A=1"\n',
      "[Service]\nEnvironment=A=1 B=2\n",
      "[Service]\nEnvironment=A=$HOME\n",
      "[Unit]\nEnvironment=A=1\n",
    ])
      expect(() => unitEnvironment(bad)).toThrow(/not one plain NAME=value/);
  });
});

describe("build.sh output", () => {
  test("both executables exist, with their module graphs", () => {
    for (const t of TARGETS) {
      expect(existsSync(binary(t))).toBe(true);
      expect(statSync(binary(t)).mode & 0o111).not.toBe(0);
      expect(existsSync(`${binary(t)}.meta.json`)).toBe(true);
      expect(existsSync(`${binary(t)}.map`)).toBe(false); // the source map is inside the binary
    }
  });

  test("runtime data files used by the source are bundled imports, never read from disk", () => {
    const meta = JSON.parse(readFileSync(`${binary("linux-x64")}.meta.json`, "utf8")) as {
      inputs: Record<string, unknown>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain("src/main.ts");
    expect(inputs).toContain("config/default.json");
    const own = inputs.filter((f) => !f.startsWith("node_modules/"));
    for (const data of DATA_FILES) {
      if (!existsSync(join(REPO, data))) continue;
      const name = data.split("/").pop()!.replace(/\.ts$/, "");
      const users = own.filter((f) => f !== data && readFileSync(join(REPO, f), "utf8").includes(name));
      if (users.length) expect(inputs).toContain(data);
      for (const f of users) {
        for (const line of readFileSync(join(REPO, f), "utf8").split("\n")) {
          if (!line.includes(name) || /^\s*(\/\/|\*|\/\*)/.test(line)) continue;
          // only an import may name a data file: no readFileSync / Bun.file / path joins
          expect({ file: f, line: line.trim() }).toEqual({
            file: f,
            line: expect.stringMatching(/^(import|export)\b.*from\s+["']|import\(\s*["']/),
          });
        }
      }
    }
  });
});

for (const t of TARGETS) {
  const noQemu = t === "linux-arm64" && !QEMU;
  if (noQemu && process.env.CI) {
    // CI installs qemu-user (scripts/install-system-deps.sh): there the arm64 binary is always tested
    test("qemu-aarch64 present on CI", () => {
      throw new Error("qemu-aarch64 not found on a CI machine: the arm64 executable would go untested");
    });
  } else if (noQemu)
    console.warn(
      "SKIP linux-arm64 executable tests: qemu-aarch64 not found (Debian: apt-get install qemu-user libc6-arm64-cross)",
    );
  if (t === "linux-arm64" && QEMU && !existsSync(join(SYSROOT, "lib"))) {
    test("arm64 sysroot present for qemu-aarch64", () => {
      throw new Error(`${SYSROOT} missing: install libc6-arm64-cross`);
    });
  }
  describe.skipIf(noQemu)(`${t} executable`, () => {
    test(
      "--version prints the package version",
      async () => {
        const r = await versionOf(t);
        expect(r.code).toBe(0);
        expect(r.out.trim()).toBe(`sepp ${pkg.version}`);
      },
      START_TIMEOUT_MS[t] + 5000,
    );

    test(
      "the runtime reads the unit's BUN_JSC_ options: one it does not know stops the executable",
      async () => {
        // what a future runtime that dropped an option of packaging/sepp.service would do on the gateway; the
        // other tests here run with the unit's options, so such a drift fails them before it ships
        const r = await versionOf(t, { BUN_JSC_seppNoSuchOption: "1" });
        expect(r.code).not.toBe(0);
        expect(r.err).toContain("invalid JSC environment variable");
      },
      START_TIMEOUT_MS[t] + 5000,
    );

    test(
      "serve --config answers GET /v1/health and drains on SIGTERM",
      async () => {
        await serveAndCheckHealth(t);
      },
      START_TIMEOUT_MS[t] + 30_000,
    );
    test(
      "workers: 2 — the data-path workers start from inside the executable (src/workers/worker.ts is an entry point)",
      async () => {
        const c = JSON.parse(config);
        c.workers = 2;
        c.listeners.n32f = { host: "127.0.0.1", port: 0 };
        c.listeners.sbi = { host: "127.0.0.1", port: 0 };
        const lines = await serveAndCheckHealth(t, JSON.stringify(c));
        const ready = lines.filter((l) => l.includes("data-path worker ready"));
        expect(ready.length).toBe(2);
        expect(lines.some((l) => l.includes("data-path worker failed"))).toBe(false);
      },
      START_TIMEOUT_MS[t] + 30_000,
    );
  });
}
