// src/config/secret-file.ts: the files named for a secret the SEPP reads (admin token, PIN) hold one only when
// nobody but their owner can read them and, for the token, when it is one a client can send.
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readAdminToken, secretFileIssue } from "../../src/config/secret-file.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const fresh = freshDirs("sepp-secret-file-");
const TOKEN = "Zm9vYmFyYmF6cXV4LXRva2VuLTAx";

test("a file only its owner may read holds a secret; group or others, a directory, a link or a missing file do not", () => {
  const d = fresh();
  const file = (name: string, text: string, mode: number) => {
    const p = join(d, name);
    writeFileSync(p, text);
    chmodSync(p, mode);
    return p;
  };
  expect(secretFileIssue(file("own", TOKEN, 0o600))).toBeNull();
  expect(secretFileIssue(file("ro", TOKEN, 0o400))).toBeNull();
  expect(secretFileIssue(file("cert", "-----BEGIN CERTIFICATE-----\n", 0o644))).toBe(
    "readable or writable by others than its owner (mode 0644; chmod 600 it)",
  );
  expect(secretFileIssue(file("group", TOKEN, 0o640))).toContain("mode 0640");
  expect(secretFileIssue(file("otherw", TOKEN, 0o602))).toContain("mode 0602");
  mkdirSync(join(d, "dir"), { mode: 0o700 });
  expect(secretFileIssue(join(d, "dir"))).toBe("not a regular file");
  symlinkSync(join(d, "own"), join(d, "link"));
  expect(secretFileIssue(join(d, "link"))).toBe("not a regular file");
  expect(secretFileIssue(join(d, "missing"))).toBe("cannot be read: ENOENT");
  expect(secretFileIssue(file("big", "a".repeat(5000), 0o600))).toContain("over 4096 bytes");
});

test("an admin token is one line a client can send (RFC 6750 b64token), of at least 16 characters; its text is never in the reason", () => {
  const d = fresh();
  const at = (text: string) => {
    const p = join(d, `t${Math.random()}`);
    writeFileSync(p, text, { mode: 0o600 });
    return readAdminToken(p);
  };
  expect(at(`${TOKEN}\n`)).toEqual({ token: TOKEN });
  expect(at("abc+/~._-ABCDEFGHIJ==")).toEqual({ token: "abc+/~._-ABCDEFGHIJ==" });
  expect(at("short")).toEqual({ issue: "too short (at least 16 characters)" });
  const pem = at("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n");
  expect(pem).toEqual({ issue: "not a bearer token: one line of letters, digits and -._~+/ (RFC 6750 2.1)" });
  expect(at("two words of a token text")).toEqual(pem);
  expect(JSON.stringify(at("secret secret secret!"))).not.toContain("secret");
});
