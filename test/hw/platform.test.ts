// hw/platform.ts: core dumps off (RLIMIT_CORE 0, not dumpable) in a child process, and buffer wiping.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { wipe, withWiped } from "../../hw/platform.ts";

test("disableCoreDumps sets RLIMIT_CORE to 0 and clears the dumpable flag (seen in /proc/self)", async () => {
  const script = `
    import { disableCoreDumps, coreDumpState } from ${JSON.stringify(join(import.meta.dir, "../../hw/platform.ts"))};
    import { readFileSync } from "node:fs";
    const before = coreDumpState();
    const r = disableCoreDumps();
    const limits = readFileSync("/proc/self/limits", "utf8").split("\\n").find((l) => l.startsWith("Max core file size"));
    console.log(JSON.stringify({ before, r, after: coreDumpState(), limits }));
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  const res = JSON.parse(out.trim());
  expect(res.before.dumpable).toBe(1); // a fresh process is dumpable: the change below is real
  expect(res.r).toMatchObject({ coreDumpsDisabled: true, notDumpable: true });
  expect(res.after).toEqual({ coreLimit: 0, dumpable: 0 });
  expect(res.limits).toMatch(/Max core file size\s+0\s+0\s/);
});

test("wipe zeroes typed arrays and ArrayBuffers; withWiped wipes even when the callback throws", () => {
  const a = Uint8Array.of(1, 2, 3);
  const ab = Uint8Array.of(4, 5).buffer;
  wipe(a, ab, null, undefined);
  expect([...a]).toEqual([0, 0, 0]);
  expect([...new Uint8Array(ab)]).toEqual([0, 0]);
  const b = Uint8Array.of(9, 9);
  expect(() =>
    withWiped(b, () => {
      throw new Error("boom");
    }),
  ).toThrow("boom");
  expect([...b]).toEqual([0, 0]);
  expect(withWiped(Uint8Array.of(7), (x) => x[0])).toBe(7);
});
