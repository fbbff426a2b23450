// bench/aead.ts — AES-GCM seal+open through the software (node:crypto) and pkcs11 (SoftHSM2 or
// PKCS11_MODULE/PKCS11_TOKEN_URI/PKCS11_PIN) AEAD engines at 256 B, 1 KiB and 16 KiB.
// `npm run bench:aead`. Prints ops/s (one op = one seal + one open) and the software/pkcs11 ratio; the last three
// lines are one per size. Without PKCS11_MODULE it makes a temporary SoftHSM2 token (removed at exit).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen } from "bun:ffi";
import { SoftwareAeadEngine, type AeadEngine } from "../hw/aead.ts";
import { Pkcs11AeadEngine } from "../hw/aead-pkcs11.ts";
import { Pkcs11Token } from "../hw/pkcs11/token.ts";
import { createLogger } from "../src/log.ts";

const SIZES = [256, 1024, 16384];
const MIN_MS = Number(process.env.BENCH_MS ?? 1500);

function setup(): { module: string; uri: string; pin: string; cleanup: () => void } {
  if (process.env.PKCS11_MODULE && process.env.PKCS11_TOKEN_URI && process.env.PKCS11_PIN)
    return {
      module: process.env.PKCS11_MODULE,
      uri: process.env.PKCS11_TOKEN_URI,
      pin: process.env.PKCS11_PIN,
      cleanup: () => {},
    };
  const module = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
  ].find((p) => Bun.file(p).size > 0);
  if (!module) throw new Error("SoftHSM2 not found; set PKCS11_MODULE, PKCS11_TOKEN_URI and PKCS11_PIN");
  const dir = mkdtempSync(join(tmpdir(), "sepp-bench-hsm-"));
  mkdirSync(join(dir, "tokens"));
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  // SoftHSM reads SOFTHSM2_CONF with getenv(3); Bun's process.env does not reach the C environment.
  const libc = dlopen("libc.so.6", { setenv: { args: ["cstring", "cstring", "i32"], returns: "i32" } });
  libc.symbols.setenv(Buffer.from("SOFTHSM2_CONF\0"), Buffer.from(`${conf}\0`), 1);
  const r = Bun.spawnSync(
    ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678"],
    { env: { ...process.env, SOFTHSM2_CONF: conf } },
  );
  if (r.exitCode !== 0) throw new Error(`softhsm2-util failed: ${r.stderr.toString()}`);
  return {
    module,
    uri: "pkcs11:token=bench",
    pin: "1234",
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function run(engine: AeadEngine, size: number): number {
  const key = engine.importKey(randomBytes(32));
  const iv = randomBytes(12);
  const aad = randomBytes(200); // about the size of a protected header + aad of a small N32-f message
  const pt = randomBytes(size);
  for (let i = 0; i < 200; i++)
    engine.open(key, iv, aad, ...(Object.values(engine.seal(key, iv, aad, pt)) as [Uint8Array, Uint8Array])); // warm up
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MIN_MS) {
    for (let i = 0; i < 100; i++) {
      const s = engine.seal(key, iv, aad, pt);
      if (engine.open(key, iv, aad, s.ciphertext, s.tag) === null) throw new Error("tag did not verify");
    }
    ops += 100;
    t = performance.now();
  }
  key.destroy();
  return (ops * 1000) / (t - t0);
}

const env = setup();
const token = Pkcs11Token.open({
  modulePath: env.module,
  tokenUri: env.uri,
  readPin: () => new TextEncoder().encode(env.pin),
  poolSize: 1,
  log: createLogger({ level: "error" }),
});
if (!token.state().healthy) throw new Error(`token not usable: ${token.state().detail}`);
const sw = new SoftwareAeadEngine();
const hw = new Pkcs11AeadEngine(token);
console.log(
  `AES-256-GCM seal+open, ${MIN_MS} ms per case, Bun ${Bun.version} ${process.arch}, token ${token.state().token?.model} (CK_GCM_PARAMS ${hw.layout})`,
);
const lines: string[] = [];
for (const size of SIZES) {
  const s = run(sw, size);
  const p = run(hw, size);
  lines.push(
    `aead size=${size}B software=${Math.round(s)} ops/s pkcs11=${Math.round(p)} ops/s ratio=${(s / p).toFixed(2)}`,
  );
}
hw.close();
token.close();
env.cleanup();
for (const l of lines) console.log(l);
