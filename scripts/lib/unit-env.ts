// scripts/lib/unit-env.ts — the environment the gateway gives the SEPP: the `Environment=` lines of
// packaging/sepp.service (the runtime's memory policy). bench:e2e runs the SEPPs with it and
// test/build-binary.test.ts runs the executables with it, so what is measured and tested is what ships.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const UNIT_FILE = resolve(import.meta.dir, "..", "..", "packaging", "sepp.service");

/**
 * The `Environment=NAME=value` assignments of a systemd unit's text, in order. Only the form the unit uses is
 * accepted — one unquoted assignment per line, in [Service] — and anything else throws, so that a line this parser
 * would read differently from systemd is never silently dropped or mangled.
 */
export function unitEnvironment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  let section = "";
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line.startsWith("[")) section = line;
    if (!/^Environment\s*=/.test(line)) continue;
    const m = /^Environment=([A-Za-z_][A-Za-z0-9_]*)=([^\s"'\\$%]*)$/.exec(line);
    if (section !== "[Service]" || !m)
      throw new Error(`${UNIT_FILE}:${i + 1}: not one plain NAME=value assignment in [Service]: ${line}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

/** The shipped unit's environment. */
export const shippedEnvironment = (): Record<string, string> => unitEnvironment(readFileSync(UNIT_FILE, "utf8"));
