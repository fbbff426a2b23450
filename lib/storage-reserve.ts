// lib/storage-reserve.ts — room kept on the data partition so that a full disk cannot keep the SEPP from starting.
// SQLite in WAL mode writes even to open a database (its 32 KiB `-shm` index, then the WAL), so on a partition
// another writer filled (the journal, an upload) every start failed with "disk I/O error" (SQLITE_IOERR_SHMSIZE),
// systemd's start limit rebooted the gateway, and the other slot failed the same way: a brick until someone freed
// space by hand. The remedy is the old one of databases and mail spools: a reserve file of our own, made while there
// is room, given back at a start that finds the partition (nearly) full. Hand-written: it is a file and a statfs.
// Lives in lib/ (below src/, importing nothing of it): the bootstrap (src/config/bootstrap.ts) runs it before it opens
// the store, the admin API's health reads it.
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { TMP_MARK, fsyncDir } from "./fs-atomic.ts";

/** The reserve's name in the data directory (no TMP_MARK: the stale-temp sweep leaves it alone). */
export const RESERVE_NAME = ".storage-reserve";
/** Its size: a start writes tens of KiB (the store's index and WAL, the record of the started version) */
export const RESERVE_BYTES = 4 << 20;
/** Below this much free space a start gives the reserve back before it opens the store */
export const LOW_FREE_BYTES = 1 << 20;

export interface StorageState {
  /** bytes free for us on the data directory's file system */
  free: number;
  /** the reserve is in place, whole */
  reserve: boolean;
}

/** Free bytes on `dir`'s file system (for an unprivileged user: f_bavail). */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export function storageState(dir: string): StorageState {
  const p = join(dir, RESERVE_NAME);
  let reserve = false;
  try {
    reserve = statSync(p).size >= RESERVE_BYTES;
  } catch {}
  return { free: freeBytes(dir), reserve };
}

/**
 * At start, before anything in `dir` is opened for writing: a nearly full partition gets the reserve back (returns
 * "released"); otherwise a missing reserve is made when there is room for it and LOW_FREE_BYTES beside ("made"), or
 * left missing ("no-room"). Never throws for lack of space: a reserve that cannot be written is removed again.
 */
export function settleReserve(dir: string): "released" | "made" | "kept" | "no-room" {
  const p = join(dir, RESERVE_NAME);
  const { free, reserve } = storageState(dir);
  if (free < LOW_FREE_BYTES) {
    if (!existsSync(p)) return "no-room";
    rmSync(p, { force: true });
    return "released";
  }
  if (reserve) return "kept";
  if (free < RESERVE_BYTES + LOW_FREE_BYTES) return "no-room";
  // written block by block (zeros allocate real blocks, a sparse file would not hold the room), then renamed
  const tmp = join(dir, `${RESERVE_NAME}${TMP_MARK}${process.pid}`);
  const block = new Uint8Array(1 << 16);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, "w", 0o600);
    for (let off = 0; off < RESERVE_BYTES; off += block.length) writeSync(fd, block, 0, block.length);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    rmSync(p, { force: true }); // a shorter one left by an earlier size
    renameSync(tmp, p);
    fsyncDir(dir);
    return "made";
  } catch {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    return "no-room";
  }
}

/** A write that failed for lack of space: ENOSPC, or SQLite's SQLITE_FULL (13, "database or disk is full"). */
export function storageFull(e: unknown): boolean {
  const x = e as { code?: unknown; errno?: unknown } | null;
  if (x?.code === "ENOSPC" || x?.code === "SQLITE_FULL") return true;
  return typeof x?.errno === "number" && (x.errno & 0xff) === 13;
}

/** The data partition as /v1/health shows it (`checks.storage`): "ok", or what a full one costs. Never throws. */
export function storageHealth(dir: string): string {
  try {
    const { free, reserve } = storageState(dir);
    if (free < LOW_FREE_BYTES) return `full: ${Math.floor(free / 1024)} KiB free; changes cannot be stored`;
    return reserve ? "ok" : `no reserve: ${Math.floor(free / 1024)} KiB free`;
  } catch (e) {
    return `unreadable: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

/** Free bytes on `dir`'s file system for a metric: -1 when they cannot be read. Never throws. */
export function storageFreeOrUnknown(dir: string): number {
  try {
    return freeBytes(dir);
  } catch {
    return -1;
  }
}
