// src/config/pem.ts — a configuration PEM source is either the PEM text itself or a path to a PEM file
// (relative paths are relative to the data directory). Resolved once when a configuration is applied.
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";

export const isInlinePem = (s: string) => s.trimStart().startsWith("-----BEGIN ");

export function resolvePem(source: string, dataDir: string): string {
  if (isInlinePem(source)) return source;
  const path = isAbsolute(source) ? source : join(dataDir, source);
  const text = readFileSync(path, "utf8");
  if (!isInlinePem(text)) throw new Error(`${source}: not a PEM file`);
  return text;
}

/** Split a PEM bundle into its blocks ("-----BEGIN X-----…-----END X-----"). */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g) ?? [];
}
