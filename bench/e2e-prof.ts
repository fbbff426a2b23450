// bench/e2e-prof.ts — summarise a .cpuprofile (bun --cpu-prof; bench/e2e-run.ts --profile dir): the samples by
// kind of work (engine, HTTP/2 stack, own code, natives it calls), then self and inclusive shares per function,
// top N.   bun bench/e2e-prof.ts file.cpuprofile [N]
// Every sample counts once: JSC samples the JS thread while it runs, and a sample's time delta also holds the idle
// gap before it (weighting by it gave e.g. the admin API's health polls 3 % of a busy SEPP).
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const file = process.argv[2];
if (!file) throw new Error("usage: bun bench/e2e-prof.ts file.cpuprofile [N]");
const top = Number(process.argv[3] ?? 30);
const p = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[] };
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(src|node_modules|bench|hw)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
const ENGINE = /\/(src\/n32f|src\/openapi|hw)\//;
const OWN = /\/(src|hw)\//;
const STACK = /^(node:|internal:)/;
/** what a sample was doing: the engine anywhere on the stack wins; else whichever of the runtime's HTTP/2,
 *  stream, event and net modules or our own code is nearer the leaf */
function kindOf(stack: Node[]): string {
  if (stack.some((n) => ENGINE.test(n.callFrame.url))) return "engine (src/n32f, src/openapi, hw)";
  const own = stack.findIndex((n) => OWN.test(n.callFrame.url));
  const rt = stack.findIndex((n) => STACK.test(n.callFrame.url));
  if (rt >= 0 && (own < 0 || rt < own)) return "HTTP/2, streams, events, net (node:*, internal:*)";
  if (own === 0) return "own code outside the engine";
  if (own > 0) return "natives called by own code (JSON, Buffer, timers, …)";
  return "other runtime (event loop, microtasks)";
}
const self = new Map<string, number>();
const incl = new Map<string, number>();
const kinds = new Map<string, number>();
let total = 0;
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
for (const id of p.samples) {
  const stack: Node[] = [];
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!);
  const leaf = stack[0]!.callFrame.functionName;
  if (leaf === "(idle)" || leaf === "(program)") continue;
  total++;
  add(kinds, kindOf(stack));
  add(self, key(stack[0]!));
  const seen = new Set<string>();
  for (const n of stack) {
    const k = key(n);
    if (seen.has(k)) continue;
    seen.add(k);
    add(incl, k);
  }
}
const show = (title: string, m: Map<string, number>, n = top) => {
  console.log(`\n${title} (${total} samples)`);
  for (const [k, c] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
};
show("by kind", kinds);
show("self", self);
show("inclusive", incl);
