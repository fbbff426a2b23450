// test/support/softhsm.ts — a fresh SoftHSM2 (a real PKCS#11 module) per test process: a temporary token
// directory and softhsm2.conf, selected through SOFTHSM2_CONF before the module is first initialized, and
// helpers to create and delete tokens with softhsm2-util. Removed when the process exits.
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen } from "bun:ffi";
import { removeAtRunEnd } from "./tmp-dirs.ts";

const MODULE_PATHS = [
  process.env.SOFTHSM2_MODULE,
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/local/lib/softhsm/libsofthsm2.so",
  "/usr/lib64/pkcs11/libsofthsm2.so",
];

export function findSoftHsmModule(): string | null {
  for (const p of MODULE_PATHS) if (p && existsSync(p)) return p;
  return null;
}

export interface TestToken {
  label: string;
  pin: string;
  soPin: string;
  /** RFC 7512 URI selecting this token */
  uri: string;
}

export interface SoftHsm {
  dir: string;
  conf: string;
  module: string;
  /** Environment for child processes (SOFTHSM2_CONF). */
  env: Record<string, string>;
  createToken(label?: string, pin?: string): TestToken;
  deleteToken(label: string): void;
}

let instance: SoftHsm | null = null;
let counter = 0;

function util(conf: string, args: string[]): string {
  const r = Bun.spawnSync(["softhsm2-util", ...args], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = r.stdout.toString() + r.stderr.toString();
  if (r.exitCode !== 0) throw new Error(`softhsm2-util ${args[0]} failed (${r.exitCode}): ${out.trim()}`);
  return out;
}

/** The process-wide temporary SoftHSM2. Throws when SoftHSM2 is not installed (CI installs it with apt). */
export function softhsm(): SoftHsm {
  if (instance) return instance;
  const module = findSoftHsmModule();
  if (!module) throw new Error("SoftHSM2 not found: apt-get install softhsm2 (or set SOFTHSM2_MODULE)");
  const dir = mkdtempSync(join(tmpdir(), "sepp-softhsm-"));
  const tokens = join(dir, "tokens");
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\nslots.mechanisms = ALL\n`,
  );
  // Read by the module (getenv) at C_Initialize. Bun's process.env does not reach the C environment, so set it
  // with setenv(3) as well.
  process.env.SOFTHSM2_CONF = conf;
  const libc = dlopen("libc.so.6", { setenv: { args: ["cstring", "cstring", "i32"], returns: "i32" } });
  if (libc.symbols.setenv(Buffer.from("SOFTHSM2_CONF\0"), Buffer.from(`${conf}\0`), 1) !== 0)
    throw new Error("setenv failed");
  removeAtRunEnd(dir); // under bun test (no "exit" handlers run there)
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  instance = {
    dir,
    conf,
    module,
    env: { SOFTHSM2_CONF: conf },
    createToken(label = `t${process.pid}-${++counter}`, pin = "1234-user") {
      const soPin = "5678-so";
      util(conf, ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", soPin]);
      return { label, pin, soPin, uri: `pkcs11:token=${encodeURIComponent(label)}` };
    },
    deleteToken(label: string) {
      util(conf, ["--delete-token", "--token", label]);
    },
  };
  return instance;
}
