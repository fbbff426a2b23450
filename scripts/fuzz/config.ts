// scripts/fuzz/config.ts — `npm run fuzz:config -- --mutations N --seed S`: a mutation campaign over PUT /v1/config
// (DEVELOPERS.md: "a configuration change is checked as a start would check it before it is acknowledged"). A real
// SEPP process (the visited side of a PRINS pair, scripts/lib/pair.ts) gets its own configuration back with one member
// mutated: deleted, an array element duplicated, replaced by a value of the same type found elsewhere in the
// configuration (likelier to pass the schema), or by a hostile constant. Every change it accepts must start: the SEPP
// is restarted, and must come up on that version (no fallback to an older one in /v1/status). The original is then
// put back and started again. A finding: a 5xx, an accepted change that does not start or starts only by falling
// back, or an original that cannot be put back. Left out: the admin listener and the token file (a change moves the
// API this script talks to, or rotates its token, by design) and storage.dir (refused at run time).
// Closing line, kept exactly: `config fuzz: N mutations, A accepted, F findings`; exit code 1 with a finding.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HOME_UDM, startSepp, writePair, type SeppProcess } from "../lib/pair.ts";

const { values: args } = parseArgs({
  options: {
    mutations: { type: "string", default: "500" },
    seed: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
  },
});
const N = Number(args.mutations);
let state = Number(args.seed) >>> 0 || 1;
/** a small seeded generator (xorshift32): the same seed gives the same mutations */
const rnd = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;

const SKIP = /^(listeners\.admin|storage|admin\.tokenFile)(\.|$)/;
const HOSTILE: unknown[] = [
  0,
  -1,
  1,
  1.5,
  65535,
  65536,
  2 ** 31,
  1e12,
  "",
  " ",
  "a".repeat(300),
  "127.0.0.1",
  "::1",
  "0.0.0.0",
  "localhost",
  "../x",
  "*",
  true,
  false,
  null,
  [],
  {},
  ["x"],
  [{}],
  "001",
  "TLSv1.2",
  "keystore:tls",
  "http",
  "https",
];
type Json = Record<string, unknown> | unknown[];

/** every member's path (objects and arrays included), but the ones left out */
function paths(v: unknown, p: string[] = [], out: string[][] = []): string[][] {
  if (p.length && !SKIP.test(p.join("."))) out.push(p);
  if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...p, k], out);
  return out;
}
const at = (o: unknown, p: string[]) => p.reduce<unknown>((x, k) => (x as Record<string, unknown>)?.[k], o);

/** `original` with one member mutated, and what was done */
function mutate(original: Json): { config: Json; path: string; what: string } {
  const config = structuredClone(original);
  const all = paths(config);
  const p = pick(all);
  const parent = at(config, p.slice(0, -1)) as Record<string, unknown> & unknown[];
  const last = p[p.length - 1]!;
  const op = rnd();
  let what: string;
  if (op < 0.2) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
    what = "deleted";
  } else if (op < 0.3 && Array.isArray(parent)) {
    parent.push(structuredClone(parent[Number(last)]));
    what = "duplicated";
  } else {
    const cur = parent[last];
    const same = all
      .map((q) => at(original, q))
      .filter((x) => typeof x === typeof cur && x !== cur && Array.isArray(x) === Array.isArray(cur));
    const v = op < 0.6 && same.length ? pick(same) : pick(HOSTILE);
    parent[last] = structuredClone(v);
    what = `= ${JSON.stringify(v)?.slice(0, 60)}`;
  }
  return { config, path: p.join("."), what };
}

const dir = mkdtempSync(join(tmpdir(), "sepp-fuzz-config-"));
const pair = await writePair({ dir, homeProducers: { [HOME_UDM]: 1 } });
const side = pair.visited;
const start = () => startSepp(side, { SEPP_LOG_LEVEL: "warn" });
let sepp: SeppProcess = await start();
const put = (body: unknown) =>
  sepp.admin("/v1/config", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const original = (await (await sepp.admin("/v1/config")).json()) as Json;
const findings: unknown[] = [];
let accepted = 0;
try {
  for (let i = 0; i < N; i++) {
    const m = mutate(original);
    const r = await put(m.config);
    if (r.status >= 500)
      findings.push({ i, ...m, config: undefined, status: r.status, body: (await r.text()).slice(0, 300) });
    if (r.status >= 300) continue;
    accepted++;
    await sepp.stop();
    try {
      sepp = await start();
      const st = (await (await sepp.admin("/v1/status")).json()) as { config?: { fallback?: unknown } };
      if (st.config?.fallback) findings.push({ i, path: m.path, what: m.what, fallback: st.config.fallback });
    } catch (e) {
      findings.push({ i, path: m.path, what: m.what, start: String(e).slice(0, 400) });
      sepp = await start(); // a start that falls back, or the campaign ends here
    }
    const back = await put(original);
    if (back.status >= 300) {
      findings.push({ i, path: m.path, restore: back.status, body: (await back.text()).slice(0, 300) });
      break;
    }
    await sepp.stop();
    sepp = await start();
  }
} finally {
  await sepp.stop();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
for (const f of findings) console.log(JSON.stringify(f));
console.log(`config fuzz: ${N} mutations, ${accepted} accepted, ${findings.length} findings`);
process.exit(findings.length ? 1 : 0);
