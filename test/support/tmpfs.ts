// test/support/tmpfs.ts — small real file systems for the tests of a full partition: each one a tmpfs of the size
// asked, mounted under one temporary root per test file and unmounted (then removed) after the file's tests. Hooks
// run in the order they are registered: create it after the hook that stops the processes using it. Needs root
// (CI runs as root, like the RAUC and SoftHSM tests).
import { afterAll } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Partitions {
  /** a fresh tmpfs of `mib` MiB (mode 0700) */
  partition(mib: number): string;
  /** fill `dir`'s partition with the file `name`, all but `leaveKiB` */
  fill(dir: string, name: string, leaveKiB?: number): void;
}

export function tmpfsPartitions(prefix: string): Partitions {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const mounted: string[] = [];
  afterAll(() => {
    // lazily: a case that failed may still hold a file open there (its store), and must not leave the mount
    for (const m of mounted) execFileSync("umount", ["-l", m]);
    rmSync(root, { recursive: true, force: true });
  });
  return {
    partition(mib) {
      const d = join(root, `p${mounted.length}`);
      mkdirSync(d);
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", d]);
      mounted.push(d);
      return d;
    },
    fill(dir, name, leaveKiB = 0) {
      const s = statfsSync(dir);
      writeFileSync(join(dir, name), new Uint8Array(Math.max(0, Number(s.bavail) * Number(s.bsize) - leaveKiB * 1024)));
    },
  };
}
