import { typicalCase } from "./n32f/cases.ts";
import { pairFor, oursProtect, oursOpen } from "./n32f/pipelines.ts";
const c = typicalCase();
const p = await pairFor(c);
const mode = process.argv[2] ?? "open";
const N = Number(process.argv[3] ?? 300000);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const b = oursProtect(c, p);
  if (mode === "open") oursOpen(c, p, b);
}
console.log(mode, ((performance.now() - t0) * 1000) / N, "µs per iteration");
