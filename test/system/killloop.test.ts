// kill -9 of the SEPP and of `rauc service` in the middle of an install, 20 times at random moments: the booted slot
// is never affected and the next install succeeds (small bundles keep the loop fast; real RAUC, real D-Bus).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitFor } from "../../scripts/lib/pair.ts";
import { soloSeppConfig } from "../../scripts/lib/pair-pki.ts";
import { fileHash, RaucDevice, smallBundle } from "../support/rauc.ts";
import { BUILD_TIMEOUT_MS, type Builds, COMPATIBLE, ensureBuilds } from "../support/rauc-builds.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const ROUNDS = 20;
let builds: Builds;
let device: RaucDevice;
let root: string;
let adminPort: number;
let configPath: string;
let sepp: Subprocess | null = null;
let token = "";
afterAll(async () => {
  if (sepp) {
    sepp.kill("SIGKILL");
    await sepp.exited; // it writes into the directory below until it is gone
  }
  await device?.close();
});
// registered after the hook above (bun runs afterAll hooks in registration order): removed once the SEPP, RAUC and
// the D-Bus daemon have stopped
const work = freshDirs("sepp-ota-kill-").root;

async function start(): Promise<void> {
  const p = Bun.spawn([join(root, "sepp"), "serve", "--config", configPath], {
    cwd: work,
    env: { ...process.env, ...device.env, SEPP_LOG_LEVEL: "warn" },
    stdout: "ignore",
    stderr: "ignore",
  });
  sepp = p;
  await waitFor(
    "SEPP up",
    async () => {
      if (p.exitCode !== null) throw new Error(`SEPP exited ${p.exitCode}`);
      return (await fetch(`http://127.0.0.1:${adminPort}/v1/health`)).ok;
    },
    30_000,
    50,
  );
  token = readFileSync(join(work, "var", "admin.token"), "utf8").trim();
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${adminPort}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
  });

beforeAll(async () => {
  builds = ensureBuilds();
  device = new RaucDevice(join(work, "device"), { compatible: COMPATIBLE, keyring: builds.signer.keyring });
  await device.init(new Uint8Array(await Bun.file(builds.factoryImage).arrayBuffer()));
  await device.startService();
  root = device.unpack("A");
  adminPort = await freePort();
  configPath = join(work, "sepp.json");
  await Bun.write(
    configPath,
    JSON.stringify({
      ...(await soloSeppConfig("kill loop root", adminPort, "var")),
      system: { updates: true, compatible: COMPATIBLE, keyring: builds.signer.keyring, rebootCommand: ["true"] },
    }),
  );
  await start();
}, BUILD_TIMEOUT_MS + 60_000);

async function installOnce(bundle: string): Promise<string> {
  const r = await admin("/v1/system/update", { method: "POST", body: Bun.file(bundle) });
  if (r.status !== 202) return `POST ${r.status} ${await r.text()}`;
  const s = await waitFor(
    "install ended",
    async () => {
      const x = (await (await admin("/v1/system/update")).json()) as { state: string; lastError?: unknown };
      return x.state === "installed" || x.state === "failed" ? x : null;
    },
    30_000,
    50,
  );
  return s.state === "installed" ? "installed" : `failed ${JSON.stringify(s.lastError)}`;
}

test(`kill -9 of the SEPP or of rauc service during an install, ${ROUNDS} times: the booted slot never changes, the next install succeeds`, async () => {
  const seed = Number(process.env.SEPP_KILL_SEED ?? Date.now() % 100000);
  let rnd = seed;
  const random = () => {
    rnd = (rnd * 1103515245 + 12345) % 2147483648;
    return rnd / 2147483648;
  };
  const bundle = smallBundle(join(work, "b.raucb"), {
    compatible: COMPATIBLE,
    version: "1.0.1",
    signer: builds.signer,
    payloadBytes: 4 << 20,
  });
  const slotA = await fileHash(device.slotPath("A"));
  for (let i = 0; i < ROUNDS; i++) {
    const victim = i % 2 === 0 ? "sepp" : "rauc";
    const upload = admin("/v1/system/update", { method: "POST", body: Bun.file(bundle) }).catch(() => null);
    await Bun.sleep(Math.floor(random() * 400));
    if (victim === "sepp") {
      sepp!.kill("SIGKILL");
      await sepp!.exited;
    } else await device.stopService("SIGKILL");
    await upload;
    // systemd would restart what was killed; a RAUC that still finishes an orphaned install is let finish
    if (!device.serviceRunning) await device.startService();
    await waitFor("RAUC idle", () => device.operation() === "idle", 30_000);
    if (victim === "sepp") await start();
    expect({ round: i, seed, booted: device.current, slotA: await fileHash(device.slotPath("A")) }).toEqual({
      round: i,
      seed,
      booted: "A",
      slotA,
    });
    const st = JSON.parse(device.rauc(["status", "--detailed", "--output-format=json"]).stdout.toString()) as {
      booted: string;
      slots: Array<Record<string, { boot_status: string }>>;
    };
    expect(st.booted).toBe("A");
    expect(st.slots[0]!["app.0"]!.boot_status).toBe("good");
    expect({ round: i, seed, next: await installOnce(bundle) }).toEqual({ round: i, seed, next: "installed" });
  }
}, 240_000);
