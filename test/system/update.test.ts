// OTA updates with real RAUC, a real (private) system D-Bus and real compiled binaries (docs/UPDATES.md):
// N → N+1 into the other slot with commit after boot; refusals before anything is written; a version that fails
// its start-up checks is marked bad and the bootloader falls back; upload limits; the arm64 bundle's signature.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  freePort,
  startSepp as startSourceSepp,
  type SeppProcess,
  waitFor,
  writePair,
} from "../../scripts/lib/pair.ts";
import { fileHash, RaucDevice, SLOTS, smallBundle } from "../support/rauc.ts";
import { BUILD_TIMEOUT_MS, type Builds, COMPATIBLE, ensureBuilds, V_NEW, V_OLD } from "../support/rauc-builds.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

let builds: Builds;
let device: RaucDevice;
let home: SeppProcess;
let visitedDir: string;
let visitedConfig: string;
let adminPort: number;
let token = "";
let sepp: Subprocess | null = null;
let seppOut = "";
afterAll(async () => {
  await stopDeviceSepp();
  await home?.stop();
  await device?.close();
});
// registered after the hook above (bun runs afterAll hooks in registration order): removed once both SEPPs, RAUC
// and the D-Bus daemon have stopped
const work = freshDirs("sepp-ota-").root;
const rebootFlag = () => join(work, "reboot-requested");

async function startDeviceSepp(root: string): Promise<void> {
  seppOut = "";
  const p = Bun.spawn([join(root, "sepp"), "serve", "--config", visitedConfig], {
    cwd: visitedDir,
    env: { ...process.env, ...device.env, SEPP_LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "pipe",
  });
  sepp = p;
  void (async () => {
    for await (const c of p.stdout) seppOut = (seppOut + new TextDecoder().decode(c)).slice(-200_000);
  })();
  await waitFor(
    "device SEPP admin API",
    async () => {
      if (p.exitCode !== null) throw new Error(`SEPP exited ${p.exitCode}: ${seppOut.slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${adminPort}/v1/health`)).ok;
    },
    30_000,
    100,
  );
  token = readFileSync(join(visitedDir, "var", "admin.token"), "utf8").trim();
}

async function stopDeviceSepp(): Promise<void> {
  const p = sepp;
  sepp = null;
  if (!p || p.exitCode !== null) return;
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
  await p.exited;
  clearTimeout(t);
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${adminPort}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  });

const postBundle = (file: string, headers: Record<string, string> = {}) =>
  admin("/v1/system/update", {
    method: "POST",
    body: Bun.file(file),
    headers: { "content-type": "application/octet-stream", ...headers },
  });

async function waitInstalled(): Promise<Record<string, unknown>> {
  return waitFor(
    "install finished",
    async () => {
      const s = (await (await admin("/v1/system/update")).json()) as Record<string, unknown>;
      if (s.state === "failed") throw new Error(`install failed: ${JSON.stringify(s.lastError)}`);
      return s.state === "installed" ? s : null;
    },
    60_000,
    100,
  );
}

type Slots = { booted: string; primary: string; running: string; slots: Array<Record<string, string>> };
const slots = async (): Promise<Slots> => (await (await admin("/v1/system/slots")).json()) as Slots;
const slot = (s: Slots, name: string) => s.slots.find((x) => x.name === name)!;

/** The reboot the SEPP asked for (its reboot command touched the flag): stop it, boot what the bootloader picks. */
async function rebootDevice(): Promise<string> {
  await waitFor("reboot request", () => existsSync(rebootFlag()), 60_000);
  rmSync(rebootFlag());
  await stopDeviceSepp();
  const { slot: booted, root } = await device.reboot();
  await startDeviceSepp(root);
  return booted;
}

const peerState = async (id: string) =>
  ((await (await admin(`/v1/peers/${id}/n32`)).json()) as { state: string }).state;

/** Files that an update must never touch: the keys and PKI directories and the admin token. */
function keyMaterial(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of ["var/pki", "var/keys"]) {
    const abs = join(visitedDir, d);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs)) out[`${d}/${f}`] = readFileSync(join(abs, f), "base64");
  }
  out["var/admin.token"] = readFileSync(join(visitedDir, "var", "admin.token"), "utf8");
  return out;
}

beforeAll(async () => {
  builds = ensureBuilds();
  device = new RaucDevice(join(work, "device"), { compatible: COMPATIBLE, keyring: builds.signer.keyring });
  await device.init(new Uint8Array(await Bun.file(builds.factoryImage).arrayBuffer()));
  await device.startService();
  const pair = await writePair({
    dir: work,
    edit: (side, c) => {
      if (side !== "visited") return;
      c.system = {
        updates: true,
        compatible: COMPATIBLE,
        keyring: builds.signer.keyring,
        minVersion: V_OLD,
        rebootCommand: ["sh", "-c", `touch '${rebootFlag()}'`],
        commitTimeoutMs: 20_000,
        drainTimeoutMs: 3_000,
      };
    },
  });
  visitedDir = pair.visited.dir;
  visitedConfig = pair.visited.configPath;
  adminPort = pair.visited.ports.admin;
  home = await startSourceSepp(pair.home);
  await startDeviceSepp(device.unpack("A"));
}, BUILD_TIMEOUT_MS + 60_000);

describe("OTA update N → N+1 (real RAUC, real D-Bus, compiled binaries)", () => {
  test("version N runs from slot A, committed, with its N32 association", async () => {
    const s = await slots();
    expect(s.running).toBe(V_OLD);
    expect(s.booted).toBe("A");
    expect(slot(s, SLOTS.A).bootStatus).toBe("good");
    await waitFor("association with home", async () => /^active-/.test(await peerState("home")), 30_000, 200);
  }, 60_000);

  test("refused before anything is written: other signer, corrupted, wrong compatible, below the minimum version", async () => {
    const before = {
      a: await fileHash(device.slotPath("A")),
      b: await fileHash(device.slotPath("B")),
      s: await slots(),
    };
    const dir = join(work, "bad");
    const cases: Array<[string, string]> = [
      [
        smallBundle(join(work, "stranger.raucb"), { compatible: COMPATIBLE, version: V_NEW, signer: builds.stranger }),
        "BUNDLE_SIGNATURE_INVALID",
      ],
      [
        smallBundle(join(work, "other.raucb"), {
          compatible: "sepp-test-linux-arm64",
          version: V_NEW,
          signer: builds.signer,
        }),
        "BUNDLE_INCOMPATIBLE",
      ],
      [
        smallBundle(join(work, "old.raucb"), { compatible: COMPATIBLE, version: "0.9.0", signer: builds.signer }),
        "BUNDLE_DOWNGRADE_REFUSED",
      ],
    ];
    // corrupted: one byte of the signed squashfs flipped in a copy of a good bundle
    const good = smallBundle(join(work, "good.raucb"), {
      compatible: COMPATIBLE,
      version: V_NEW,
      signer: builds.signer,
    });
    const bytes = new Uint8Array(await Bun.file(good).arrayBuffer());
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(join(work, "corrupt.raucb"), bytes);
    cases.push([join(work, "corrupt.raucb"), "BUNDLE_SIGNATURE_INVALID"]);
    for (const [file, cause] of cases) {
      const r = await postBundle(file);
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      const p = (await r.json()) as { cause: string; detail: string };
      expect({ file, cause: p.cause }).toEqual({ file, cause });
      expect(p.detail.length).toBeGreaterThan(10);
      const st = (await (await admin("/v1/system/update")).json()) as { state: string; lastError: { cause: string } };
      expect(st.state).toBe("failed");
      expect(st.lastError.cause).toBe(cause);
    }
    expect(await fileHash(device.slotPath("A"))).toBe(before.a);
    expect(await fileHash(device.slotPath("B"))).toBe(before.b);
    expect(await slots()).toEqual(before.s);
    expect(readdirSync(join(visitedDir, "var", "spool"))).toEqual([]);
    void dir;
  }, 120_000);

  test("upload limits: 401 without the token, 409 while another upload runs, 413 above maxBundleBytes", async () => {
    const noToken = await fetch(`http://127.0.0.1:${adminPort}/v1/system/update`, { method: "POST", body: "x" });
    expect(noToken.status).toBe(401);
    // 409: a first upload that is still streaming holds the update
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new ReadableStream<Uint8Array>({
      async start(ctl) {
        ctl.enqueue(new Uint8Array(1024));
        await gate;
        ctl.close();
      },
    });
    const first = admin("/v1/system/update", {
      method: "POST",
      body: slow,
      headers: { "content-type": "application/octet-stream" },
    });
    await waitFor("first upload receiving", async () => {
      const s = (await (await admin("/v1/system/update")).json()) as { state: string };
      return s.state === "receiving";
    });
    const second = await postBundle(join(work, "good.raucb"));
    expect(second.status).toBe(409);
    expect(((await second.json()) as { cause: string }).cause).toBe("UPDATE_IN_PROGRESS");
    release();
    expect((await first).status).toBe(400); // 1 KiB of zeros is no bundle
    // 413: the limit lowered at run time; declared length and a streamed body without a length
    const cfg = (await (await admin("/v1/config")).json()) as { system: Record<string, unknown> };
    const setMaxBundleBytes = async (n: number) => {
      cfg.system.maxBundleBytes = n;
      const r = await admin("/v1/config", {
        method: "PUT",
        body: JSON.stringify(cfg),
        headers: { "content-type": "application/json" },
      });
      expect(r.status).toBe(200);
    };
    await setMaxBundleBytes(100_000);
    const big = new Uint8Array(200_000);
    const declared = await admin("/v1/system/update", {
      method: "POST",
      body: big,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(declared.status).toBe(413);
    const streamed = await admin("/v1/system/update", {
      method: "POST",
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(60_000));
          c.close();
        },
      }),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { cause: string }).cause).toBe("PAYLOAD_TOO_LARGE");
    await setMaxBundleBytes(512 * 1024 * 1024);
  }, 60_000);

  test("N+1 is installed into slot B, boots, passes its start-up checks and is marked good; data, token and keys intact; N32 back", async () => {
    const keysBefore = keyMaterial();
    const configBefore = await (await admin("/v1/config")).json();
    const slotA = await fileHash(device.slotPath("A"));
    const r = await postBundle(builds.bundle(V_NEW));
    expect(r.status).toBe(202);
    await waitInstalled();
    let s = await slots();
    expect(s.booted).toBe("A");
    expect(s.primary).toBe(SLOTS.B);
    expect(slot(s, SLOTS.B).version).toBe(V_NEW);
    expect(await fileHash(device.slotPath("A"))).toBe(slotA);
    expect((await admin("/v1/system/reboot", { method: "POST" })).status).toBe(202);
    expect(await rebootDevice()).toBe("B");
    s = await waitFor(
      "slot B committed",
      async () => {
        const x = await slots();
        return slot(x, SLOTS.B).bootStatus === "good" ? x : null;
      },
      40_000,
      200,
    );
    expect(s.running).toBe(V_NEW);
    expect(s.booted).toBe("B");
    expect(seppOut).toContain("slot marked good");
    expect(await (await admin("/v1/config")).json()).toEqual(configBefore);
    expect(keyMaterial()).toEqual(keysBefore);
    await waitFor(
      "association with home after the update",
      async () => /^active-/.test(await peerState("home")),
      30_000,
      200,
    );
  }, 180_000);

  test("a version that fails its start-up checks is marked bad; the bootloader falls back; the old version runs with its data", async () => {
    // a peer we must initiate to that never answers: the next boot's peer check fails within commitTimeoutMs
    const cfg = (await (await admin("/v1/config")).json()) as Record<string, any>;
    const dead = {
      ...cfg.peers[0],
      id: "dead",
      n32cUri: `https://127.0.0.1:${await freePort()}`,
      plmnIds: [{ mcc: "999", mnc: "99" }],
      n32Fqdn: "sepp.5gc.mnc099.mcc999.3gppnetwork.org",
      initiate: true,
    };
    cfg.peers.push(dead);
    cfg.system.commitTimeoutMs = 4000;
    const put = await admin("/v1/config", {
      method: "PUT",
      body: JSON.stringify(cfg),
      headers: { "content-type": "application/json" },
    });
    expect(put.status).toBe(200);
    const configBefore = await (await admin("/v1/config")).json();
    // slot A gets version N again (a deliberate downgrade, still at the minimum)
    expect((await postBundle(builds.bundle(V_OLD))).status).toBe(202);
    await waitInstalled();
    expect((await slots()).primary).toBe(SLOTS.A);
    expect((await admin("/v1/system/reboot", { method: "POST" })).status).toBe(202);
    expect(await rebootDevice()).toBe("A"); // boots the new slot once …
    expect((await slots()).running).toBe(V_OLD);
    expect(await rebootDevice()).toBe("B"); // … which marks itself bad and asks for the reboot: fallback
    const s = await slots();
    expect(s.running).toBe(V_NEW);
    expect(slot(s, SLOTS.A).bootStatus).toBe("bad");
    expect(slot(s, SLOTS.B).bootStatus).toBe("good");
    expect(device.read("attempts.A")).toBe("0");
    expect(await (await admin("/v1/config")).json()).toEqual(configBefore);
    await waitFor(
      "association with home after the fallback",
      async () => /^active-/.test(await peerState("home")),
      30_000,
      200,
    );
  }, 180_000);

  test("the arm64 bundle: signature and compatible checked with rauc info", () => {
    const r = Bun.spawnSync(
      [
        "rauc",
        "info",
        `--keyring=${builds.signer.keyring}`,
        "--output-format=json",
        builds.bundle(V_OLD, "linux-arm64"),
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(r.exitCode).toBe(0);
    const info = JSON.parse(r.stdout.toString()) as { compatible: string; version: string };
    expect(info).toMatchObject({ compatible: "sepp-test-linux-arm64", version: V_OLD });
    expect(r.stderr.toString()).toContain("Verified");
    const other = Bun.spawnSync(
      ["rauc", "info", `--keyring=${builds.stranger.keyring}`, builds.bundle(V_OLD, "linux-arm64")],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(other.exitCode).not.toBe(0);
  });
});
