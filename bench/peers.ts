// bench/peers.ts — the roaming-partner lookups of one cSEPP request against the number of configured partners:
// the partner serving the target PLMN (csepp.ts, peerForPlmn) and the partner by id twice (the N32-c service's
// brief() and n32fEndpointOf()), done by src/config/peer-index.ts against the linear search it replaced (`find` over
// `peers`, `some` over each partner's PLMN IDs with samePlmn). `bun bench/peers.ts` (`npm run bench:peers`).
// Each partner has two PLMN IDs (2- or 3-digit MNCs); the targets are drawn uniformly among them and spelled as a
// target FQDN gives them (mncXXX: 3 digits), as fresh strings for every lookup, made outside the timing.
// Runs alternate BENCH_RUNS times (default 7) for BENCH_MS each (default 200 ms); prints the median ns per request,
// the spread (min–max) and the ratio; closing line: `peers 500: linear N ns, index N ns per request; ratio R`.
import { peerById, peerForPlmn } from "../src/config/peer-index.ts";
import type { SeppConfig } from "../src/config/schema.ts";
import type { PeerConfig } from "../src/config/schema/peers.ts";
import type { PlmnId } from "../src/model/n32.ts";
import { samePlmn } from "../src/model/plmn.ts";
import { alternate, MS, median, RUNS, spread } from "./lib/alternate.ts";

/** N partners, only what the lookups read (id, plmnIds), two PLMN IDs each. */
function configOf(n: number): SeppConfig {
  const peers = Array.from({ length: n }, (_, i) => ({
    id: `partner-${i}`,
    plmnIds: [
      { mcc: String(200 + (i % 700)), mnc: String(10 + Math.floor(i / 700)) },
      { mcc: String(200 + ((i + 350) % 700)), mnc: String(100 + Math.floor(i / 700)) },
    ],
  }));
  return { peers: peers as unknown as PeerConfig[] } as unknown as SeppConfig;
}

interface Query {
  plmn: PlmnId;
  id: string;
}
/** `count` targets drawn among the partners, their PLMN spelled with a 3-digit MNC, each a fresh string. */
function queriesOf(cfg: SeppConfig, count: number, seed: number): Query[] {
  let x = seed;
  const out: Query[] = [];
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const p = cfg.peers[x % cfg.peers.length]!;
    const pl = p.plmnIds[(x >> 8) & 1]!;
    out.push({ plmn: { mcc: `${pl.mcc}`, mnc: pl.mnc.padStart(3, "0") }, id: `${p.id}` });
  }
  return out;
}

const linear = {
  forPlmn: (cfg: SeppConfig, plmn: PlmnId) => cfg.peers.find((p) => p.plmnIds.some((x) => samePlmn(x, plmn))),
  byId: (cfg: SeppConfig, id: string) => cfg.peers.find((p) => p.id === id),
};
const indexed = { forPlmn: peerForPlmn, byId: peerById };
type Impl = typeof linear;

let sink = 0;
/** ns per request (one lookup by PLMN, two by id) over about MS ms. */
function time(impl: Impl, cfg: SeppConfig, seed: number): number {
  let qs = queriesOf(cfg, 65536, seed);
  let n = 0;
  let ns = 0;
  const end = Bun.nanoseconds() + MS * 1e6;
  while (Bun.nanoseconds() < end) {
    const t0 = Bun.nanoseconds();
    for (const q of qs) {
      const p = impl.forPlmn(cfg, q.plmn);
      if (p === undefined || impl.byId(cfg, q.id) === undefined || impl.byId(cfg, p.id) !== p) throw new Error("miss");
      sink++;
    }
    ns += Bun.nanoseconds() - t0;
    n += qs.length;
    // fresh strings for the next pass (their hashes are not cached), made outside the timing
    qs = queriesOf(cfg, 65536, seed + n);
  }
  return ns / n;
}

console.log(`bench:peers  bun ${Bun.version}  ${RUNS} alternating runs × ${MS} ms  ${new Date().toISOString()}`);
console.log("partners  linear ns/request (min–max)   index ns/request (min–max)   linear / index");
let closing = "";
for (const n of [1, 10, 100, 500, 2000]) {
  const cfg = configOf(n);
  // each run its own targets (seed), the same for both; the warm-up (run -1) of both call sites first
  const { a: lin, b: ix } = alternate(
    (r) => time(linear, cfg, 10 + r),
    (r) => time(indexed, cfg, 10 + r),
  );
  const ratio = median(lin) / median(ix);
  console.log(`${String(n).padStart(8)}  ${spread(lin).padEnd(28)} ${spread(ix).padEnd(28)} ${ratio.toFixed(2)}`);
  if (n === 500)
    closing = `peers 500: linear ${median(lin).toFixed(0)} ns, index ${median(ix).toFixed(0)} ns per request; ratio ${ratio.toFixed(1)}`;
}
console.log(closing);
if (sink < 0) console.log(sink);
