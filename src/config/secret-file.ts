// src/config/secret-file.ts — the files the configuration names for a secret the SEPP reads, not writes: the admin
// bearer token (admin.tokenFile) and the token's PIN (keystore.pinFile). (The software keystore's directory is
// lib/private-dir.ts's, shared with hw/.) A path is the operator's to choose, so a
// change could name a public file: `admin.tokenFile: "pki/sepp.crt.pem"` was accepted (a mutation campaign over
// PUT /v1/config, ninth session), and the next start took the certificate's text as the admin token. A secret file
// must be a regular file that only its owner may read or write (as ssh requires of a private key), and a token must
// be one that a client can send (RFC 6750 2.1 b64token), of at least 16 characters.
import { lstatSync, readFileSync } from "node:fs";
import { modeText } from "../../lib/private-dir.ts";

/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
export const MIN_ADMIN_TOKEN = 16;
/** a token or a PIN longer than this is no token or PIN: the file is not read whole */
const MAX_SECRET_FILE = 4096;

/** Why the existing file at `path` may not hold a secret, or null. */
export function secretFileIssue(path: string): string | null {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (e) {
    return `cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  if (!st.isFile()) return "not a regular file";
  if (st.mode & 0o077) return `readable or writable by others than its owner (mode ${modeText(st.mode)}; chmod 600 it)`;
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) return "not owned by the SEPP's user";
  if (st.size > MAX_SECRET_FILE) return `over ${MAX_SECRET_FILE} bytes: not a secret of its kind`;
  return null;
}

/** The admin token in the existing file at `path`, or why it cannot be one (the file's text is never given). */
export function readAdminToken(path: string): { token: string } | { issue: string } {
  const issue = secretFileIssue(path);
  if (issue) return { issue };
  const token = readFileSync(path, "utf8").trim();
  if (token.length < MIN_ADMIN_TOKEN) return { issue: `too short (at least ${MIN_ADMIN_TOKEN} characters)` };
  if (!B64TOKEN.test(token))
    return { issue: "not a bearer token: one line of letters, digits and -._~+/ (RFC 6750 2.1)" };
  return { token };
}
