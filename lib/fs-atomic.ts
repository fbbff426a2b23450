// lib/fs-atomic.ts — crash-safe file writes (a power cut at any moment leaves the old file or the new one, never a
// torn one). Hand-written: node:fs has no atomic write, and the few lines below are the whole technique
// (write a temporary file in the same directory, fsync it, rename it over the target, fsync the directory).
// Lives in lib/ (below both hw/ and src/, importing neither): the keystores (hw/) and the first start
// (src/config/bootstrap.ts) write through it.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync, fchmodSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** Marker in the names of temporary files and directories; leftovers of an interrupted write carry it. */
export const TMP_MARK = ".tmp-";

/** fsync a directory, so that a rename or create in it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A fresh temporary name next to `path` (same directory, hence same file system: rename is atomic). Within the
 *  file system's 255 octets whatever the target's name: a name over 200 octets is cut to its first 48 UTF-16 units
 *  (≤ 144 octets; the fuzz:config campaign found a 240-character key file name whose temporary name failed with
 *  ENAMETOOLONG). */
export function tempPathFor(path: string): string {
  let name = basename(path);
  if (Buffer.byteLength(name) > 200) name = name.slice(0, 48);
  return join(dirname(path), `.${name}${TMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * Write `data` to `path` atomically with `mode` (default 0600: secrets): temp file created with the final mode,
 * written, fsynced, renamed over `path`, directory fsynced. On any failure the temp file is removed and the old
 * `path` (if any) is untouched; the error is rethrown.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = tempPathFor(path);
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, "wx", mode);
    fchmodSync(fd, mode); // the umask may have narrowed (or a caller asked for a wider) mode
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      rmSync(tmp, { force: true });
    } catch {} // the write's own error is the one to report
    throw e;
  }
  fsyncDir(dirname(path));
}

/**
 * Remove leftovers of interrupted atomic writes in `dir` (names carrying TMP_MARK, files or directories).
 * Returns the names removed. Call it only where no other writer runs concurrently (start-up).
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.startsWith(".") && n.includes(TMP_MARK));
  for (const n of stale) rmSync(join(dir, n), { recursive: true, force: true });
  return stale;
}
