// lib/private-dir.ts: a directory the configuration names for the SEPP's own use is taken as it is (for keys: only
// its owner may enter it), or must be one that can be made.
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateDirIssue } from "../../lib/private-dir.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const fresh = freshDirs("sepp-private-dir-");

test("an existing directory only its owner may enter, or one that can be made; any directory without ownerOnly", () => {
  const d = fresh();
  mkdirSync(join(d, "keys"), { mode: 0o700 });
  chmodSync(join(d, "keys"), 0o700);
  expect(privateDirIssue(join(d, "keys"))).toBeNull();
  expect(privateDirIssue(join(d, "new", "keys"))).toBeNull();
  mkdirSync(join(d, "shared"));
  chmodSync(join(d, "shared"), 0o755);
  expect(privateDirIssue(join(d, "shared"))).toBe(
    "may be entered by others than its owner (mode 0755): name a directory of its own, or chmod 700 it",
  );
  expect(privateDirIssue("/")).toContain("may be entered by others than its owner (mode 0755)");
  writeFileSync(join(d, "off"), "x");
  expect(privateDirIssue(join(d, "off"))).toBe("not a directory");
  expect(privateDirIssue(join(d, "off", "keys"))).toBe(`${join(d, "off")} is not a directory`);
  expect(privateDirIssue(join(d, "a".repeat(300)))).toBe("a path segment over 255 characters");
  expect(privateDirIssue(join(d, "shared"), false)).toBeNull();
  expect(privateDirIssue(join(d, "off"), false)).toBe("not a directory");
});
