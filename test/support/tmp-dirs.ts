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

/** Directories of process-wide fixtures (the one SoftHSM2 of a run), removed once every test file has run. */
const atRunEnd = new Set<string>();

/**
 * Remove `dir` when the whole `bun test` run ends (test/support/run-end.ts, preloaded by bunfig.toml): bun test
 * does not run process "exit" handlers, so a fixture shared by several test files cannot clean up on its own.
 */
export function removeAtRunEnd(dir: string): void {
  atRunEnd.add(dir);
}

/** Called by test/support/run-end.ts after the last test file. */
export function removeRunEndDirs(): void {
  for (const d of atRunEnd) rmSync(d, { recursive: true, force: true });
  atRunEnd.clear();
}
