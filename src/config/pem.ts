// src/config/pem.ts — a configuration PEM source is either the PEM text itself or a path to a PEM file
// (relative paths are relative to the data directory). Resolved once when a configuration is applied.
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";

export const isInlinePem = (s: string) => s.trimStart().startsWith("-----BEGIN ");

/** The largest PEM file read (a CRL is the largest kind): a path is the operator's to name, and a device, a FIFO or
 *  a huge file read whole stopped the SEPP's one thread (a change is checked by reading its files) */
export const MAX_PEM_FILE_BYTES = 16 * 1024 * 1024;

export function resolvePem(source: string, dataDir: string): string {
  if (isInlinePem(source)) return source;
  const path = isAbsolute(source) ? source : join(dataDir, source);
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`${source}: not a regular file`);
  if (st.size > MAX_PEM_FILE_BYTES) throw new Error(`${source}: over ${MAX_PEM_FILE_BYTES / 2 ** 20} MiB`);
  const text = readFileSync(path, "utf8");
  if (!isInlinePem(text)) throw new Error(`${source}: not a PEM file`);
  return text;
}

/** Split a PEM bundle into its blocks ("-----BEGIN X-----…-----END X-----"). */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g) ?? [];
}
