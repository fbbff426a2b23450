// test/support/rauc.ts — a simulated A/B device for the OTA tests, with real RAUC and a real D-Bus: a private system
// bus (dbus-daemon with a permissive test policy), `rauc service` with a test system.conf (two file-backed raw slots,
// a `custom` bootloader backend script that keeps primary, state and boot attempts in files). A "reboot" is: stop
// the SEPP, ask the simulated bootloader which slot boots (primary while it is good or has attempts left, else
// the other one), restart `rauc service` with --override-boot-slot, unpack that slot's squashfs and start its binary
// on the same data directory. Nothing here is part of the SEPP.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { waitFor } from "../../scripts/lib/pair.ts";

export const BOOT_ATTEMPTS = 3;

/** openssl-made signing CA + signer (EC P-256), as a vendor would have; `keyring` is what devices trust. */
export function makeSigningCa(dir: string, name: string): { keyring: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const o = (args: string[]) => {
    const r = Bun.spawnSync(["openssl", ...args], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr.toString()}`);
  };
  const p = (f: string) => join(dir, f);
  o(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"]
      .concat(["-subj", `/CN=${name} CA`, "-addext", "basicConstraints=critical,CA:TRUE"])
      .concat(["-addext", "keyUsage=critical,keyCertSign", "-keyout", p("ca.key.pem"), "-out", p("keyring.pem")]),
  );
  o(
    [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      `/CN=${name} signer`,
    ].concat(["-keyout", p("signing.key.pem"), "-out", p("signing.csr")]),
  );
  writeFileSync(p("ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n");
  o(
    [
      "x509",
      "-req",
      "-in",
      p("signing.csr"),
      "-CA",
      p("keyring.pem"),
      "-CAkey",
      p("ca.key.pem"),
      "-CAcreateserial",
    ].concat(["-days", "30", "-extfile", p("ext"), "-out", p("signing.crt.pem")]),
  );
  return { keyring: p("keyring.pem"), cert: p("signing.crt.pem"), key: p("signing.key.pem") };
}

/** A small plain bundle around a tiny squashfs (for refusal and kill tests): seconds, not a 50 MB image. */
export function smallBundle(
  out: string,
  o: { compatible: string; version: string; signer: { cert: string; key: string }; payloadBytes?: number },
): string {
  const work = `${out}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "root"), { recursive: true });
  mkdirSync(join(work, "bundle"));
  writeFileSync(join(work, "root", "VERSION"), `${o.version}\n`);
  // incompressible filler so that the install takes a measurable time
  writeFileSync(join(work, "root", "filler"), crypto.getRandomValues(new Uint8Array(o.payloadBytes ?? 65536)));
  const sq = Bun.spawnSync(
    ["mksquashfs", join(work, "root"), join(work, "bundle", "app.img"), "-noappend", "-quiet", "-comp", "gzip"],
    { stderr: "pipe", stdout: "pipe" },
  );
  if (sq.exitCode !== 0) throw new Error(`mksquashfs: ${sq.stderr.toString()}`);
  writeFileSync(
    join(work, "bundle", "manifest.raucm"),
    `[update]\ncompatible=${o.compatible}\nversion=${o.version}\n\n[bundle]\nformat=plain\n\n[image.app]\nfilename=app.img\n`,
  );
  rmSync(out, { force: true });
  const r = Bun.spawnSync(
    ["rauc", "bundle", `--cert=${o.signer.cert}`, `--key=${o.signer.key}`, join(work, "bundle"), out],
    {
      stderr: "pipe",
      stdout: "pipe",
    },
  );
  rmSync(work, { recursive: true, force: true });
  if (r.exitCode !== 0) throw new Error(`rauc bundle: ${r.stderr.toString()}`);
  return out;
}

const BACKEND = `#!/bin/sh
# custom RAUC bootloader backend of the simulated device: one file per fact in $BOOT
BOOT='@BOOT@'
case "$1" in
  get-primary) cat "$BOOT/primary" ;;
  set-primary) printf '%s\\n' "$2" >"$BOOT/primary.tmp" && mv "$BOOT/primary.tmp" "$BOOT/primary" && echo ${BOOT_ATTEMPTS} >"$BOOT/attempts.$2" ;;
  get-state) cat "$BOOT/state.$2" 2>/dev/null || echo bad ;;
  set-state) printf '%s\\n' "$3" >"$BOOT/state.$2"; if [ "$3" = bad ]; then echo 0 >"$BOOT/attempts.$2"; fi ;;
  get-current) cat "$BOOT/current" ;;
  *) exit 1 ;;
esac
`;

const DBUS_CONF = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=@SOCK@</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

export const SLOTS = { A: "app.0", B: "app.1" } as const;
export type Bootname = keyof typeof SLOTS;

export class RaucDevice {
  readonly boot: string;
  readonly env: Record<string, string>;
  #bus: Subprocess | null = null;
  #service: Subprocess | null = null;
  serviceLog = "";

  constructor(
    readonly dir: string,
    readonly o: { compatible: string; keyring: string },
  ) {
    this.boot = join(dir, "boot");
    this.env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(dir, "bus.sock")}` };
  }

  slotPath(b: Bootname): string {
    return join(this.dir, `slot-${b}.img`);
  }

  /** Create slots, bootloader state and configs; slot A holds `factoryImage` (a squashfs) and is good. */
  async init(factoryImage: Uint8Array): Promise<void> {
    mkdirSync(this.boot, { recursive: true });
    mkdirSync(join(this.dir, "mnt"), { recursive: true });
    for (const b of ["A", "B"] as const) writeFileSync(this.slotPath(b), new Uint8Array(0));
    Bun.spawnSync(["truncate", "-s", "160M", this.slotPath("A"), this.slotPath("B")]);
    const fa = Bun.file(this.slotPath("A")).writer();
    fa.write(factoryImage);
    await fa.end();
    Bun.spawnSync(["truncate", "-s", "160M", this.slotPath("A")]);
    writeFileSync(join(this.boot, "primary"), "A\n");
    writeFileSync(join(this.boot, "state.A"), "good\n");
    writeFileSync(join(this.boot, "state.B"), "bad\n");
    writeFileSync(join(this.boot, "attempts.A"), "0\n");
    writeFileSync(join(this.boot, "attempts.B"), "0\n");
    writeFileSync(join(this.boot, "current"), "A\n");
    const backend = join(this.dir, "backend.sh");
    writeFileSync(backend, BACKEND.replace("@BOOT@", this.boot));
    chmodSync(backend, 0o755);
    writeFileSync(join(this.dir, "dbus.conf"), DBUS_CONF.replace("@SOCK@", join(this.dir, "bus.sock")));
    writeFileSync(
      join(this.dir, "system.conf"),
      [
        "[system]",
        `compatible=${this.o.compatible}`,
        "bootloader=custom",
        `data-directory=${join(this.dir, "rauc-data")}`,
        // its bundle mounts under the device's directory, not the machine's /mnt/rauc: a service killed during an
        // install leaves its mount behind, and close() removes what is left there
        `mountprefix=${join(this.dir, "mnt")}`,
        "[keyring]",
        `path=${this.o.keyring}`,
        "[handlers]",
        `bootloader-custom-backend=${backend}`,
        ...(["A", "B"] as const).flatMap((b, i) => [
          `[slot.app.${i}]`,
          `device=${this.slotPath(b)}`,
          "type=raw",
          `bootname=${b}`,
        ]),
        "",
      ].join("\n"),
    );
    await this.startBus();
  }

  async startBus(): Promise<void> {
    rmSync(join(this.dir, "bus.sock"), { force: true });
    this.#bus = Bun.spawn(["dbus-daemon", `--config-file=${join(this.dir, "dbus.conf")}`, "--nofork", "--nopidfile"], {
      stdout: "ignore",
      stderr: "pipe",
    });
    await waitFor("dbus-daemon socket", () => existsSync(join(this.dir, "bus.sock")), 10_000);
  }

  get current(): Bootname {
    return readFileSync(join(this.boot, "current"), "utf8").trim() as Bootname;
  }

  read(name: string): string {
    return readFileSync(join(this.boot, name), "utf8").trim();
  }

  /** rauc service for the slot that booted (as systemd would start it at boot). */
  async startService(): Promise<void> {
    this.serviceLog = "";
    const p = Bun.spawn(
      ["rauc", "service", `--conf=${join(this.dir, "system.conf")}`, `--override-boot-slot=${this.current}`],
      { env: { ...process.env, ...this.env }, stdout: "pipe", stderr: "pipe" },
    );
    this.#service = p;
    void (async () => {
      for await (const c of p.stderr) this.serviceLog = (this.serviceLog + new TextDecoder().decode(c)).slice(-8000);
    })();
    await waitFor(
      "rauc service on the bus",
      () => this.rauc(["status", "--output-format=json"]).exitCode === 0,
      15_000,
    );
  }

  async stopService(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const p = this.#service;
    this.#service = null;
    if (!p || p.exitCode !== null) return;
    p.kill(signal);
    await p.exited;
  }

  get serviceRunning(): boolean {
    return this.#service !== null && this.#service.exitCode === null && this.#service.signalCode === null;
  }

  rauc(args: string[]) {
    return Bun.spawnSync(["rauc", `--conf=${join(this.dir, "system.conf")}`, ...args], {
      env: { ...process.env, ...this.env },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    });
  }

  /** rauc's Installer.Operation over the bus ("idle" when no install runs). */
  operation(): string {
    const r = Bun.spawnSync(
      ["busctl", "--system", "get-property", "de.pengutronix.rauc", "/", "de.pengutronix.rauc.Installer", "Operation"],
      { env: { ...process.env, ...this.env }, stdout: "pipe", stderr: "pipe", timeout: 10_000 },
    );
    return r.stdout
      .toString()
      .trim()
      .replace(/^s "(.*)"$/, "$1");
  }

  /** The simulated bootloader: which slot boots now (and a boot attempt used up on an uncommitted slot). */
  chooseBootSlot(): Bootname {
    const primary = this.read("primary") as Bootname;
    const other: Bootname = primary === "A" ? "B" : "A";
    if (this.read(`state.${primary}`) === "good") return primary;
    const attempts = Number(this.read(`attempts.${primary}`));
    if (attempts > 0) {
      writeFileSync(join(this.boot, `attempts.${primary}`), `${attempts - 1}\n`);
      return primary;
    }
    return other;
  }

  /** "Reboot" the machine's update side: bootloader choice, rauc service restarted for it; returns the unpacked slot. */
  async reboot(): Promise<{ slot: Bootname; root: string }> {
    await this.stopService();
    const slot = this.chooseBootSlot();
    writeFileSync(join(this.boot, "current"), `${slot}\n`);
    await this.startService();
    return { slot, root: this.unpack(slot) };
  }

  /** Unpack a slot's squashfs (what the machine would mount read-only) into a fresh directory. */
  unpack(slot: Bootname): string {
    const root = join(this.dir, `root-${slot}-${Date.now()}`);
    const r = Bun.spawnSync(["unsquashfs", "-q", "-n", "-d", root, this.slotPath(slot)], {
      stderr: "pipe",
      stdout: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`unsquashfs slot ${slot}: ${r.stderr.toString()}`);
    return root;
  }

  async close(): Promise<void> {
    await this.stopService("SIGKILL");
    this.#bus?.kill("SIGKILL");
    await this.#bus?.exited;
    // what a killed service left mounted (lazily: nothing may still use it, but nothing may keep it either)
    const prefix = `${join(this.dir, "mnt")}/`;
    for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
      const at = line.split(" ")[1]?.replace(/\\040/g, " ");
      if (at?.startsWith(prefix)) Bun.spawnSync(["umount", "-l", at]);
    }
  }
}

/** sha256 of a file (slot images) */
export async function fileHash(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const c of Bun.file(path).stream()) h.update(c);
  return h.digest("hex");
}
