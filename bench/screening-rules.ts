// bench/screening-rules.ts — per screened request, (1) the category-1 operation match: the operation table
// (src/screening/operations.ts, only the templates of the path's shape) against trying every template of the API in
// weight order as before (test/support/operation-oracle.ts), on the shipped home list alone and with 1000 operations a
// peer adds; (2) the category-2 (PLMN consistency) rules of the request against the number of
// configured rules (`screening.plmnConsistency.rules`, up to 1024): CompiledRules.plmnRules (src/screening/rules.ts),
// kept per role and operation, against the selection it replaced (the defaults copied, then every configured rule
// tested, on every request). `bun bench/screening-rules.ts`. The configured rules name other APIs than the request's,
// but one, so each selection finds the defaults of the operation plus one rule.
// Runs alternate BENCH_RUNS times (default 7) for BENCH_MS each (default 200 ms); prints the median ns per request,
// the spread (min–max) and the ratio; closing lines: `screening operations +1000: every template N ns, by shape N ns
// per request; ratio R` and `screening rules 1024: linear N ns, kept N ns per request; ratio R`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, type SeppConfig } from "../src/config/schema.ts";
import type { PlmnRule } from "../src/config/schema/screening.ts";
import { CompiledRules, SCREENING_DEFAULTS, type Role } from "../src/screening/rules.ts";
import { type MatchedOperation, OperationTable, type OperationSpec } from "../src/screening/operations.ts";
import { oracle } from "../test/support/operation-oracle.ts";
import { alternate, MS, median, RUNS, spread, timeOf } from "./lib/alternate.ts";

function configWith(n: number): SeppConfig {
  const c = JSON.parse(readFileSync(join(import.meta.dir, "..", "config", "example-home.json"), "utf8"));
  c.screening = {
    plmnConsistency: {
      mode: "refuse",
      rules: Array.from({ length: n }, (_, i) => ({
        api: i === 0 ? "nudm-sdm" : `napi${i}`,
        in: "query",
        name: `p${i}`,
        kind: "plmnId",
        expect: "peer",
      })),
    },
  };
  const r = parseConfig(c);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

const op: MatchedOperation = {
  prefix: "/nudm-sdm/v2",
  api: "nudm-sdm",
  version: "v2",
  method: "GET",
  resource: "/{supi}/am-data",
  vars: {},
};

/** The selection as it was made on every request before (a copy of the replaced code, the baseline). */
function linearOf(cfg: SeppConfig): (role: Role, o: MatchedOperation) => readonly PlmnRule[] {
  const defaults = new Map<string, PlmnRule[]>();
  for (const r of SCREENING_DEFAULTS.plmnRules) {
    const k = `${r.role ?? ""}\n${r.api && r.version ? `/${r.api}/${r.version}` : ""}\n${r.method ?? ""}\n${r.resource ?? ""}`;
    defaults.set(k, [...(defaults.get(k) ?? []), r]);
  }
  const configured = cfg.screening.plmnConsistency.rules;
  return (role, o) => {
    const out = [...(defaults.get(`${role}\n${o.prefix}\n${o.method}\n${o.resource}`) ?? [])];
    for (const r of configured)
      if (
        (r.role === undefined || r.role === role) &&
        (r.api === undefined || (r.api && `/${r.api}/${r.version ?? o.version}`) === o.prefix) &&
        (r.method === undefined || r.method === o.method) &&
        (r.resource === undefined || r.resource === o.resource)
      )
        out.push(r);
    return out;
  };
}

console.log(
  `bench:screening-rules  bun ${Bun.version}  ${RUNS} alternating runs × ${MS} ms  ${new Date().toISOString()}`,
);
// (1) operations: GET am-data and three other requests of the roaming APIs, in turn
const PATHS: Array<[string, string]> = [
  ["GET", "/nudm-sdm/v2/imsi-262010000000001/am-data"],
  ["GET", "/nudm-sdm/v2/imsi-262010000000001/smf-select-data"],
  ["PUT", "/nudm-uecm/v1/imsi-262010000000001/registrations/amf-3gpp-access"],
  ["POST", "/nausf-auth/v1/ue-authentications"],
];
const extra: OperationSpec[] = Array.from({ length: 1000 }, (_, i) => ({
  api: "nudm-sdm",
  version: "v2",
  method: "GET",
  resource: `/{supi}/custom-${i}`,
}));
console.log("operations  every template ns/request (min–max)   by shape ns/request (min–max)   every / shape");
let closingOps = "";
for (const [name, specs] of [
  ["home", SCREENING_DEFAULTS.operations.home],
  ["home+1000", [...SCREENING_DEFAULTS.operations.home, ...extra]],
] as const) {
  const table = new OperationTable(specs);
  const before = oracle([...specs]);
  for (const [m, p] of PATHS)
    if (JSON.stringify(table.match(m, p)) !== JSON.stringify(before(m, p)) || !table.match(m, p))
      throw new Error(`${name} ${m} ${p}: the two matchers differ or find nothing`);
  const r = alternate(
    () => timeOf((i) => before(PATHS[i & 3]![0], PATHS[i & 3]![1])),
    () => timeOf((i) => table.match(PATHS[i & 3]![0], PATHS[i & 3]![1])),
  );
  const ratio = median(r.a) / median(r.b);
  console.log(`${name.padStart(10)}  ${spread(r.a).padEnd(36)} ${spread(r.b).padEnd(31)} ${ratio.toFixed(2)}`);
  if (name === "home+1000")
    closingOps = `screening operations +1000: every template ${median(r.a).toFixed(0)} ns, by shape ${median(r.b).toFixed(0)} ns per request; ratio ${ratio.toFixed(1)}`;
}

// (2) category-2 rules
console.log("rules  linear ns/request (min–max)   kept ns/request (min–max)   linear / kept");
let closing = "";
for (const n of [0, 16, 256, 1024]) {
  const cfg = configWith(n);
  const compiled = new CompiledRules(cfg);
  const kept = (role: Role, o: MatchedOperation) => compiled.plmnRules(role, o);
  const linear = linearOf(cfg);
  for (const role of ["home", "visited"] as const)
    if (
      linear(role, op)
        .map((r) => r.name)
        .join() !==
      kept(role, op)
        .map((r) => r.name)
        .join()
    )
      throw new Error(`${n} rules, ${role}: the two selections differ`);
  const select = (f: typeof kept) => () => timeOf((i) => f(i & 1 ? "home" : "visited", op).length + 1);
  const { a: lin, b: kp } = alternate(select(linear), select(kept));
  const ratio = median(lin) / median(kp);
  console.log(`${String(n).padStart(5)}  ${spread(lin).padEnd(28)} ${spread(kp).padEnd(27)} ${ratio.toFixed(2)}`);
  if (n === 1024)
    closing = `screening rules 1024: linear ${median(lin).toFixed(0)} ns, kept ${median(kp).toFixed(0)} ns per request; ratio ${ratio.toFixed(1)}`;
}
console.log(closingOps);
console.log(closing);
