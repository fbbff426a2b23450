// lib/private-dir.ts — a directory the configuration names for the SEPP's own use (the software keystore's, the update
// spool): an existing one is taken as it is, never changed, and must be a directory (for keys: one only its owner may
// enter); a missing one must be creatable. Shared by the keystore (hw/keystore-common.ts), which makes and takes it
// at start, and the configuration's change check (src/config/startcheck.ts), which refuses what that start would.
// Before (ninth session), the keystore "tightened" whatever `keystore.dir` named: "/" was chmod 0700.
import { type Stats, statSync } from "node:fs";
import { dirname } from "node:path";

/** A file mode's permission bits as chmod writes them ("0755"). */
export const modeText = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");

/**
 * Why `path` cannot be such a directory, or null: an existing one must be a directory, and with `ownerOnly` one only
 * its owner may enter; a missing one must be creatable (no segment over 255 characters, no file where a directory of
 * its path should be).
 */
export function privateDirIssue(path: string, ownerOnly = true): string | null {
  if (path.split("/").some((seg) => seg.length > 255)) return "a path segment over 255 characters";
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
      return null;
    }
    if (dirname(p) === p) return null;
  }
}
