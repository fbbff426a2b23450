// lib/private-dir.ts — a directory the configuration names for the SEPP's own use (the software keystore's, the update
// spool): an existing one is taken as it is, never changed, and must be a directory (for keys: one only its owner may
// enter); a missing one must be creatable. Shared by the keystore (hw/keystore-common.ts), which makes and takes it
// at start, and the configuration's change check (src/config/startcheck.ts), which refuses what that start would.
// Before (ninth session), the keystore "tightened" whatever `keystore.dir` named: "/" was chmod 0700.
import { accessSync, constants, type Stats, statSync } from "node:fs";
import { basename, dirname } from "node:path";

/** NAME_MAX of Linux file systems, in octets (a name of 255 characters outside ASCII is longer) */
const NAME_MAX = 255;
const overlong = (path: string) => path.split("/").some((seg) => Buffer.byteLength(seg) > NAME_MAX);

/** A file mode's permission bits as chmod writes them ("0755"). */
export const modeText = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");

/**
 * Why `path` cannot be such a directory, or null: an existing one must be a directory, and with `ownerOnly` one only
 * its owner may enter; a missing one must be creatable (no segment over 255 octets, no file where a directory of
 * its path should be, the nearest existing directory writable by us).
 */
export function privateDirIssue(path: string, ownerOnly = true): string | null {
  if (overlong(path)) return "a path segment over 255 octets";
  for (let p = path; ; p = dirname(p)) {
    let st: Stats | undefined;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return `cannot be used: ${code ?? String(e)}`;
    }
    if (st) {
      if (!st.isDirectory()) return p === path ? "not a directory" : `${p} is not a directory`;
      if (ownerOnly && p === path && st.mode & 0o077)
        return `may be entered by others than its owner (mode ${modeText(st.mode)}): name a directory of its own, or chmod 700 it`;
      if (p !== path) {
        try {
          accessSync(p, constants.W_OK | constants.X_OK);
        } catch (e) {
          return `cannot be created in ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
        }
      }
      return null;
    }
    if (dirname(p) === p) return null;
  }
}

/**
 * Why a file the SEPP makes at start when missing (a key file) cannot be made at `path`, or null: its name within
 * 255 octets, its directory existing or creatable (privateDirIssue, any mode). An existing file is the caller's to
 * check.
 */
export function newFileIssue(path: string): string | null {
  if (Buffer.byteLength(basename(path)) > NAME_MAX) return "a file name over 255 octets";
  const why = privateDirIssue(dirname(path), false);
  return why && `its directory ${dirname(path)}: ${why}`;
}
