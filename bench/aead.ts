// bench/aead.ts — AES-GCM seal+open through the software (node:crypto) and pkcs11 (SoftHSM2 or
// PKCS11_MODULE/PKCS11_TOKEN_URI/PKCS11_PIN) AEAD engines at 256 B, 1 KiB and 16 KiB.
// `npm run bench:aead`. Prints ops/s (one op = one seal + one open) and the software/pkcs11 ratio; the last three
// lines are one per size. Without PKCS11_MODULE it makes a temporary SoftHSM2 token (removed at exit).
// Each op uses a fresh IV (salt ‖ 32-bit counter, as N32-f does) and checks what open returns against the
// plaintext. Per size the two engines run alternately BENCH_RUNS times (default 7) for BENCH_MS each (default
// 300 ms); the median and the spread (min–max) of the runs are printed. BENCH_QUICK=1: 3 runs × 50 ms.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen } from "bun:ffi";
import { SoftwareAeadEngine, type AeadEngine, type AeadKey } from "../hw/aead.ts";
import { Pkcs11AeadEngine } from "../hw/aead-pkcs11.ts";
import { Pkcs11Token } from "../hw/pkcs11/token.ts";
import { createLogger } from "../src/log.ts";

const SIZES = [256, 1024, 16384];
const QUICK = !!process.env.BENCH_QUICK;
const MIN_MS = Number(process.env.BENCH_MS ?? (QUICK ? 50 : 300));
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 3 : 7));
if (!(MIN_MS > 0 && MIN_MS <= 10_000) || !(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 50))
  throw new Error("BENCH_MS must be in (0, 10000] and BENCH_RUNS in 1..50");

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

interface Case {
  engine: AeadEngine;
  key: AeadKey;
  iv: Uint8Array;
  ivView: DataView;
  aad: Uint8Array;
  pt: Buffer;
  seq: number;
}

function prepare(engine: AeadEngine, size: number): Case {
  const raw = randomBytes(32);
  const key = engine.importKey(raw);
  raw.fill(0);
  const iv = new Uint8Array(12);
  iv.set(randomBytes(8), 0); // the salt; the last 4 octets are the per-op counter
  const c: Case = {
    engine,
    key,
    iv,
    ivView: new DataView(iv.buffer),
    aad: randomBytes(200), // about the size of a protected header + aad of a small N32-f message
    pt: randomBytes(size),
    seq: 0,
  };
  for (let i = 0; i < 200; i++) op(c); // warm up
  return c;
}

/** One seal + open with a fresh IV; the opened plaintext must be the one sealed. */
function op(c: Case): void {
  c.ivView.setUint32(8, c.seq++);
  const s = c.engine.seal(c.key, c.iv, c.aad, c.pt);
  const out = c.engine.open(c.key, c.iv, c.aad, s.ciphertext, s.tag);
  if (out === null) throw new Error("tag did not verify");
  if (!c.pt.equals(out)) throw new Error("open returned other bytes than were sealed");
}

/** ops/s of one time-boxed run */
function run(c: Case): number {
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MIN_MS) {
    for (let i = 0; i < 50; i++) op(c);
    ops += 50;
    t = performance.now();
  }
  return (ops * 1000) / (t - t0);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

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
  `AES-256-GCM seal+open, ${RUNS} alternating runs × ${MIN_MS} ms per engine and size, Bun ${Bun.version} ${process.arch}, token ${token.state().token?.model} (CK_GCM_PARAMS ${hw.layout})`,
);
const lines: string[] = [];
const sizes = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(",").map(Number) : SIZES;
for (const size of sizes) {
  const cs = prepare(sw, size);
  const cp = prepare(hw, size);
  const rs: number[] = [];
  const rp: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rs.push(run(cs));
    rp.push(run(cp));
  }
  cs.key.destroy();
  cp.key.destroy();
  const s = median(rs);
  const p = median(rp);
  const sp = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
  console.log(
    `size ${size} B: software median ${Math.round(s)} ops/s (${sp(rs)}), pkcs11 ${Math.round(p)} ops/s (${sp(rp)})`,
  );
  lines.push(
    `aead size=${size}B software=${Math.round(s)} ops/s pkcs11=${Math.round(p)} ops/s ratio=${(s / p).toFixed(2)}`,
  );
}
hw.close();
token.close();
env.cleanup();
for (const l of lines) console.log(l);
