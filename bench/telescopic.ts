// bench/telescopic.ts — making and opening stateless telescopic labels (src/sbi/telescopic-label.ts) as the data
// path does per request (a cSEPP opens the label of each telescopic request, a pSEPP labels the FQDNs it rewrites in
// an answer): a codec that keeps the labels it made and opened against one that keeps none (every label an HMAC and an
// AES-CTR), the same keys, eight origins in turn. `bun bench/telescopic.ts` (`npm run bench:telescopic`).
// Runs alternate BENCH_RUNS times (default 7) for BENCH_MS each (default 200 ms); prints the median ns per label,
// the spread (min–max) and the ratio; closing line: `telescopic open: none N ns, kept N ns per label; ratio R`.
import { type LabelOrigin, TelescopicLabelCodec } from "../src/sbi/telescopic-label.ts";
import { alternate, MS, median, RUNS, spread, timeOf } from "./lib/alternate.ts";

const DOMAIN = "sepp.5gc.mnc001.mcc262.3gppnetwork.org";
const keys = { current: new Uint8Array(32).fill(7) };
const ORIGINS: LabelOrigin[] = Array.from({ length: 8 }, (_, i) => ({
  host: `nf${i}.udm.5gc.mnc015.mcc234.3gppnetwork.org`,
  scheme: "https",
  port: i % 2 ? 8443 : null,
}));
const kept = new TelescopicLabelCodec(DOMAIN, keys);
const none = new TelescopicLabelCodec(DOMAIN, keys, Date.now, 0);
const LABELS = ORIGINS.map((o) => none.encode(o)!);
for (let i = 0; i < 8; i++)
  if (kept.encode(ORIGINS[i]!) !== LABELS[i] || kept.decode(LABELS[i]!)?.host !== ORIGINS[i]!.host)
    throw new Error("the two codecs differ");

console.log(`bench:telescopic  bun ${Bun.version}  ${RUNS} alternating runs × ${MS} ms  ${new Date().toISOString()}`);
console.log("          none ns/label (min–max)   kept ns/label (min–max)   none / kept");
const lines: string[] = [];
for (const [what, a, b] of [
  ["make", (i: number) => none.encode(ORIGINS[i & 7]!), (i: number) => kept.encode(ORIGINS[i & 7]!)],
  ["open", (i: number) => none.decode(LABELS[i & 7]!), (i: number) => kept.decode(LABELS[i & 7]!)],
] as const) {
  const { a: ra, b: rb } = alternate(
    () => timeOf(a),
    () => timeOf(b),
  );
  const ratio = median(ra) / median(rb);
  console.log(`${what.padEnd(8)}  ${spread(ra).padEnd(26)} ${spread(rb).padEnd(25)} ${ratio.toFixed(1)}`);
  lines.push(
    `telescopic ${what}: none ${median(ra).toFixed(0)} ns, kept ${median(rb).toFixed(0)} ns per label; ratio ${ratio.toFixed(1)}`,
  );
}
for (const l of lines) console.log(l);
