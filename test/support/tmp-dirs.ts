// test/support/tmp-dirs.ts — one temporary root per test file, removed after the file's tests, handing out a
// fresh empty subdirectory per case (c0, c1, …) so that no case sees another's files.
import { afterAll } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Call at the top of a test file: returns the maker of fresh directories under `<tmp>/<prefix>XXXXXX`; its
 * `root` is that common parent.
 */
export function freshDirs(prefix: string, sub = "d"): (() => string) & { root: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => {
    const d = join(root, `${sub}${n++}`);
    mkdirSync(d);
    return d;
  };
  return Object.assign(fresh, { root });
}
