// writeFileAtomic / removeStaleTemps (lib/fs-atomic.ts): crash-safe writes.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeStaleTemps, tempPathFor, TMP_MARK, writeFileAtomic } from "../../lib/fs-atomic.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshDir = freshDirs("sepp-fsutil-");
const isRoot = process.getuid?.() === 0;

describe("writeFileAtomic", () => {
  test("writes the content with the requested mode and leaves no temporary file", () => {
    const d = freshDir();
    const p = join(d, "secret.pem");
    writeFileAtomic(p, "key material\n");
    expect(readFileSync(p, "utf8")).toBe("key material\n");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    writeFileAtomic(join(d, "public.pem"), new Uint8Array([1, 2, 3]), 0o644);
    expect([...readFileSync(join(d, "public.pem"))]).toEqual([1, 2, 3]);
    expect(statSync(join(d, "public.pem")).mode & 0o777).toBe(0o644);
    expect(readdirSync(d).sort()).toEqual(["public.pem", "secret.pem"]);
  });

  test("replaces an existing file, taking the new mode (a world-readable old file becomes 0600)", () => {
    const d = freshDir();
    const p = join(d, "token");
    writeFileSync(p, "old");
    chmodSync(p, 0o644);
    writeFileAtomic(p, "new", 0o600);
    expect(readFileSync(p, "utf8")).toBe("new");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(["token"]);
  });

  test("a name up to the file system's 255 octets is written: the temporary name stays within them too", () => {
    const d = freshDir();
    for (const name of ["k".repeat(240), "é".repeat(127)]) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect(Buffer.byteLength(tempPathFor(join(d, name)).slice(d.length + 1))).toBeLessThanOrEqual(255);
      writeFileAtomic(join(d, name), "x\n");
      expect(readFileSync(join(d, name), "utf8")).toBe("x\n");
    }
    // over 255: the write's own error, not one of removing its temporary file
    expect(() => writeFileAtomic(join(d, "k".repeat(256)), "x")).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
    expect(readdirSync(d).length).toBe(2);
  });

  test("a large write is complete", () => {
    const d = freshDir();
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
    writeFileAtomic(join(d, "big"), big);
    expect(Buffer.compare(readFileSync(join(d, "big")), Buffer.from(big))).toBe(0);
  });

  test("a failing write leaves the old file and no temporary file", () => {
    const d = freshDir();
    const p = join(d, "cfg");
    writeFileSync(p, "old content");
    // the target is a directory: the rename fails after the temp file was written
    const asDir = join(d, "isdir");
    mkdirSync(asDir);
    writeFileSync(join(asDir, "x"), "x");
    expect(() => writeFileAtomic(asDir, "new")).toThrow();
    expect(readdirSync(d).sort()).toEqual(["cfg", "isdir"]);
    // a missing directory: nothing is created
    expect(() => writeFileAtomic(join(d, "nope", "f"), "x")).toThrow();
    expect(readFileSync(p, "utf8")).toBe("old content");
  });

  // As root (CI) a mode bit does not stop the write: the write then runs in a child process whose user is
  // `nobody` (setpriv drops the uid, gid and supplementary groups), so the case runs on every machine.
  test("an unwritable directory: error, old file intact, nothing left behind", () => {
    const d = freshDir();
    const p = join(d, "cfg");
    writeFileSync(p, "old content");
    chmodSync(d, 0o555);
    try {
      if (!isRoot) {
        expect(() => writeFileAtomic(p, "new")).toThrow();
      } else {
        chmodSync(freshDir.root, 0o711); // nobody may traverse the test root, not list or write it
        const script = `import { writeFileAtomic } from ${JSON.stringify(join(import.meta.dir, "../../lib/fs-atomic.ts"))};
          try { writeFileAtomic(${JSON.stringify(p)}, "new"); console.log("WROTE"); }
          catch (e) { console.log("REFUSED " + e.code); }`;
        const r = Bun.spawnSync(
          ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, "-e", script],
          { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" }, stderr: "pipe" },
        );
        expect(r.stderr.toString()).toBe("");
        expect(r.stdout.toString().trim()).toBe("REFUSED EACCES");
      }
    } finally {
      chmodSync(d, 0o700);
    }
    expect(readFileSync(p, "utf8")).toBe("old content");
    expect(readdirSync(d)).toEqual(["cfg"]);
  });
});

describe("removeStaleTemps", () => {
  test("removes leftover temporary files and directories, nothing else", () => {
    const d = freshDir();
    writeFileSync(join(d, "keep.pem"), "k");
    writeFileSync(join(d, ".hidden"), "h");
    const tf = tempPathFor(join(d, "admin.token"));
    writeFileSync(tf, "partial");
    const td = tempPathFor(join(d, "pki"));
    mkdirSync(td);
    writeFileSync(join(td, "root.crt.pem"), "partial");
    expect(tf).toContain(TMP_MARK);
    const removed = removeStaleTemps(d);
    expect(removed.length).toBe(2);
    expect(readdirSync(d).sort()).toEqual([".hidden", "keep.pem"]);
    expect(existsSync(td)).toBe(false);
    expect(removeStaleTemps(join(d, "missing"))).toEqual([]);
  });
});
