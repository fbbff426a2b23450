// lib/private-dir.ts: a directory the configuration names for the SEPP's own use is taken as it is (for keys: only
// its owner may enter it), or must be one that can be made.
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newFileIssue, privateDirIssue } from "../../lib/private-dir.ts";
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
  expect(privateDirIssue(join(d, "a".repeat(300)))).toBe("a path segment over 255 octets");
  expect(privateDirIssue(join(d, "é".repeat(200)))).toBe("a path segment over 255 octets"); // 400 octets
  expect(privateDirIssue(join(d, "shared"), false)).toBeNull();
  expect(privateDirIssue(join(d, "off"), false)).toBe("not a directory");
});

test("a file made at start: its name within 255 octets, its directory existing or creatable", () => {
  const d = fresh();
  expect(newFileIssue(join(d, "label.key"))).toBeNull();
  expect(newFileIssue(join(d, "keys", "new", "label.key"))).toBeNull();
  expect(newFileIssue(join(d, "k".repeat(255)))).toBeNull();
  expect(newFileIssue(join(d, "k".repeat(256)))).toBe("a file name over 255 octets");
  expect(newFileIssue(join(d, "é".repeat(128)))).toBe("a file name over 255 octets");
  writeFileSync(join(d, "off"), "x");
  expect(newFileIssue(join(d, "off", "label.key"))).toBe(`its directory ${join(d, "off")}: not a directory`);
  expect(newFileIssue(join(d, "a".repeat(256), "label.key"))).toContain("a path segment over 255 octets");
});

test("a missing directory where we may not write cannot be made (checked as the user nobody: root may write anywhere)", () => {
  const d = fresh();
  chmodSync(d, 0o755); // its owner's (root's on CI), not nobody's
  const script = `import { privateDirIssue } from ${JSON.stringify(join(import.meta.dir, "../../lib/private-dir.ts"))};
    console.log(JSON.stringify([privateDirIssue(${JSON.stringify(join(d, "keys"))}, false), privateDirIssue("/tmp/sepp-x/keys", false)]));`;
  const asNobody = process.getuid?.() === 0 ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] : [];
  chmodSync(fresh.root, 0o711); // nobody may traverse the test root
  const r = Bun.spawnSync([...asNobody, process.execPath, "-e", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" },
    stderr: "pipe",
  });
  expect(r.stderr.toString()).toBe("");
  expect(JSON.parse(r.stdout.toString())).toEqual([
    asNobody.length ? `cannot be created in ${d}: EACCES` : null, // not root: d is ours
    null,
  ]);
  if (!asNobody.length)
    expect(privateDirIssue("/sepp-private-dir-test/keys", false)).toBe("cannot be created in /: EACCES");
});
