// src/sbi/telescopic-keys.ts — the key of the stateless telescopic labels (telescopic-label.ts) and the one before
// it, from files of the data directory (docs/CONFIG.md `sbi.telescopicLabels`): 32 octets as 64 hex digits, mode
// 0600. The key file is made at the first start when missing; the gateways of a pool are given the same file.
// Rotation: the old file becomes `previousKeyFile` (accepted until `previousKeyUntil`), a new key file is put in
// place, both read at start. Errors name the member and the file, never a key.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { mkdirSync } from "node:fs";
import { writeFileAtomic } from "../../lib/fs-atomic.ts";
import { newFileIssue } from "../../lib/private-dir.ts";
import { secretFileIssue } from "../config/secret-file.ts";
import type { ConfigIssue, SeppConfig } from "../config/schema.ts";
import { LABEL_KEY_LENGTH, type TelescopicLabelKeys } from "./telescopic-label.ts";

type LabelConfig = SeppConfig["sbi"]["telescopicLabels"];
const KEY_RE = /^[0-9a-fA-F]{64}\s*$/;
const pathIn = (dataDir: string, p: string) => (isAbsolute(p) ? p : join(dataDir, p));

function readKey(path: string): Uint8Array {
  // a secret of the data directory's kind: a regular file only its owner may read, of a key's size (a device or a
  // FIFO read whole stopped the SEPP's one thread)
  const why = secretFileIssue(path);
  if (why) throw new Error(`${path}: ${why}`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as { code?: string }).code ?? "error"}`);
  }
  if (!KEY_RE.test(text)) throw new Error(`${path} does not hold ${LABEL_KEY_LENGTH} octets as 64 hex digits`);
  return Uint8Array.from(Buffer.from(text.trim(), "hex"));
}

/** What a start would refuse (the key file may be missing: it is then made, so it must be makable). */
export function checkTelescopicLabelKeys(dataDir: string, c: LabelConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (c.mode !== "stateless") return issues;
  const key = pathIn(dataDir, c.keyFile);
  const files: [string, string][] = [];
  if (existsSync(key)) files.push(["/sbi/telescopicLabels/keyFile", key]);
  else {
    // made at start: refuse what that start could not make (fuzz:config: a 240-character name failed there)
    const why = newFileIssue(key);
    if (why) issues.push({ path: "/sbi/telescopicLabels/keyFile", reason: `${c.keyFile}: cannot be made: ${why}` });
  }
  if (c.previousKeyFile) files.push(["/sbi/telescopicLabels/previousKeyFile", pathIn(dataDir, c.previousKeyFile)]);
  for (const [path, file] of files) {
    try {
      readKey(file).fill(0);
    } catch (e) {
      issues.push({ path, reason: (e as Error).message });
    }
  }
  return issues;
}

/** The label keys for a start (null in mode "table"); makes the key file when missing. Throws Error. */
export function loadTelescopicLabelKeys(dataDir: string, c: LabelConfig): TelescopicLabelKeys | null {
  if (c.mode !== "stateless") return null;
  const keyPath = pathIn(dataDir, c.keyFile);
  if (!existsSync(keyPath)) {
    mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
    writeFileAtomic(keyPath, `${randomBytes(LABEL_KEY_LENGTH).toString("hex")}\n`, 0o600);
  }
  return {
    current: readKey(keyPath),
    previous: c.previousKeyFile ? readKey(pathIn(dataDir, c.previousKeyFile)) : null,
    previousUntil: c.previousKeyUntil ? Date.parse(c.previousKeyUntil) : null,
  };
}
