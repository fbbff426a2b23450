// The compiled binary (bun build --compile, x64 here) uses SoftHSM2 through the bun:ffi PKCS#11 binding.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { softhsm } from "../support/softhsm.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const out = freshDirs("sepp-probe-").root;

test("a bun build --compile binary does AES-GCM in SoftHSM2 through bun:ffi", async () => {
  const hsm = softhsm();
  const tok = hsm.createToken();
  const exe = join(out, "pkcs11-probe");
  const build = Bun.spawnSync(
    [process.execPath, "build", "--compile", join(import.meta.dir, "../support/pkcs11-probe.ts"), "--outfile", exe],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(build.stderr.toString()).not.toContain("error");
  expect(build.exitCode).toBe(0);
  // The binary runs with its own environment: SOFTHSM2_CONF from the test's temporary SoftHSM, and a TMPDIR it cannot
  // write to — nothing is extracted at run time (a native addon would be).
  const proc = Bun.spawn([exe, hsm.module, tok.uri], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      SOFTHSM2_CONF: hsm.conf,
      PROBE_PIN: tok.pin,
      TMPDIR: "/nonexistent-tmp",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(), 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const res = JSON.parse(stdout.trim());
  expect(res).toMatchObject({ ok: true, token: tok.label, compiled: true });
}, 60_000);
