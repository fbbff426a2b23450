// bench/e2e/gc-bytes.ts — `--gc-bytes`: JSC's count of the bytes a process allocates (cells, strings, ArrayBuffer
// contents), per request. With BUN_JSC_logGC=1 JSC prints "bytes allocated this cycle: N" when that count starts a
// collection; the counts are summed per process from its stderr. The collections JSC's timers (and Bun's) start
// would reset the count unprinted, so they are turned off; the cycles are made small (eden ≈ a quarter of the live
// heap instead of ≥ 32 MB), so that a run sees many of them and the figure is exact to a few hundred octets per
// request. The CPU figures of such a run are not comparable with others (more, smaller collections).

/** The environment of a process whose allocations are counted. */
export const GC_BYTES_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_logGC: "1",
  BUN_JSC_percentCPUPerMBForEdenTimer: "0.000000001",
  BUN_JSC_percentCPUPerMBForFullTimer: "0.000000001",
  BUN_GC_TIMER_DISABLE: "1",
  BUN_JSC_largeHeapSize: String(2 * 1024 * 1024),
  BUN_JSC_smallHeapGrowthFactor: "1.25",
  BUN_JSC_mediumHeapGrowthFactor: "1.25",
  BUN_JSC_largeHeapGrowthFactor: "1.25",
  BUN_JSC_minEdenToOldGenerationRatio: "0",
};

const counts = new Map<number, { bytes: number; cycles: number }>();

/** Count the GC log on `stderr` of process `pid` (started with GC_BYTES_ENV). */
export function countGcBytes(pid: number, stderr: NodeJS.ReadableStream): void {
  let rest = "";
  const c = { bytes: 0, cycles: 0 };
  counts.set(pid, c);
  stderr.on("data", (d: Buffer) => {
    const lines = (rest + d.toString("latin1")).split("\n");
    rest = lines.pop()!;
    for (const l of lines) {
      const m = /bytes allocated this cycle: (\d+)/.exec(l);
      if (!m) continue;
      c.bytes += Number(m[1]);
      c.cycles++;
    }
  });
}

/** Bytes and collections counted so far for `pid` (NaN when it is not counted). */
export function gcCount(pid: number): { bytes: number; cycles: number } {
  const c = counts.get(pid);
  return c ? { ...c } : { bytes: Number.NaN, cycles: Number.NaN };
}
