// scripts/abuse/main.ts — `npm run abuse` (issue 10 §4): connection-level attacks against a real SEPP while a
// legitimate partner and a legitimate NF keep sending, one attack at a time, each bounded in count and time, from
// loopback only. The SEPP under attack is the visited SEPP of a PRINS pair (scripts/abuse/world.ts): its SBI port
// (the NF's way in) and its N32 port (the partner's way in). For each attack it prints the share of legitimate
// requests started during the attack that the producer answered 2xx through both SEPPs, what the attacker saw,
// and the SEPP's peak resident memory. Closing line, parsed by tools outside the project, kept exactly:
//   abuse: K attacks, legitimate success min X% (worst: NAME)
// Exit code 0 when every attack left both legitimate flows at ≥ 99 %, 1 otherwise.
//
// Options: --attack-ms N (each attack's length, ≤ 15000, default 12000), --rate N (requests per second per
// legitimate flow, default 10), --only a,b (a subset of the attacks), --keep (keep the working directory).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ATTACKS } from "./attacker.ts";
import { LegitLoad, type Flow, type WindowStats } from "./load.ts";
import { PartnerConnProbe } from "./probe.ts";
import { startWorld, type World } from "./world.ts";

const TARGET = 99;
const out = (s = "") => process.stdout.write(`${s}\n`);

const { values: args } = parseArgs({
  options: {
    "attack-ms": { type: "string", default: "12000" },
    rate: { type: "string", default: "10" },
    only: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const attackMs = Math.min(Math.max(Number(args["attack-ms"]) || 12_000, 2000), 15_000);
const rate = Math.min(Math.max(Number(args.rate) || 10, 1), 50);
const names = args.only ? args.only.split(",").filter((n) => n in ATTACKS) : Object.keys(ATTACKS);
if (names.length === 0) {
  out(`no such attack; known: ${Object.keys(ATTACKS).join(", ")}`);
  process.exit(2);
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Run one attack in its own process; its JSON summary (or why there is none). */
function runAttacker(name: string, w: World): Promise<Record<string, unknown>> {
  return new Promise((res) => {
    const p = spawn(
      process.execPath,
      [resolve(import.meta.dir, "attacker.ts"), name, JSON.stringify(w.target), String(attackMs)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const kill = setTimeout(() => p.kill("SIGKILL"), attackMs + 15_000);
    p.once("exit", (code) => {
      clearTimeout(kill);
      try {
        res(JSON.parse(stdout.trim().split("\n").pop() ?? ""));
      } catch {
        res({ error: `attacker exited ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}` });
      }
    });
  });
}

const pct = (s: WindowStats) => (s.sent === 0 ? 0 : (100 * s.ok) / s.sent);
const fmt = (s: WindowStats) =>
  `${s.ok}/${s.sent} (${pct(s).toFixed(1)}%)${
    s.sent > s.ok
      ? ` failures ${Object.entries(s.failures)
          .map(([k, n]) => `${k}×${n}`)
          .join(", ")}`
      : ""
  }`;

const dir = mkdtempSync(join(tmpdir(), "sepp-abuse-"));
const t0 = Date.now();
let world: World | null = null;
let load: LegitLoad | null = null;
let probe: PartnerConnProbe | null = null;
let exitCode = 1;
try {
  out(`abuse campaign: ${names.length} attacks of ≤ ${attackMs} ms, legitimate load ${rate} req/s per flow`);
  out(
    `machine: ${navigator.hardwareConcurrency} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  world = await startWorld(dir);
  const w = world;
  const victimPid = w.visited.proc.pid;
  out(
    `world: visited SEPP (under attack: N32 :${w.target.n32Port}, SBI :${w.target.sbiPort}) ⇄ PRINS ⇄ home SEPP, up in ${Date.now() - t0} ms`,
  );
  load = new LegitLoad({
    nfSbiPort: w.target.sbiPort,
    udmAuthority: w.target.udmAuthority,
    udmPath: w.target.udmPath,
    homeSbiPort: w.home.side.ports.sbi,
    vsmfPort: w.vsmf.port,
    rate,
    timeoutMs: 5000,
    reconnectEvery: rate, // a new NF connection about every second
  });
  const l = load;
  l.start();
  probe = new PartnerConnProbe(w.target);
  const pr = probe;
  pr.start();

  /** wait until every request started before `t` has ended (bounded by the request timeout) */
  const settle = async (t: number) => {
    const end = Date.now() + 7000;
    while ((l.pendingBefore(t) || pr.pendingBefore()) && Date.now() < end) await Bun.sleep(50);
  };
  const window = async (name: string, from: number, to: number) => {
    await settle(to);
    return { name, partner: l.stats("partner", from, to), nf: l.stats("nf", from, to), probe: pr.stats(from, to) };
  };

  // baseline: the same load with no attack
  let a = performance.now();
  await Bun.sleep(Math.min(attackMs, 5000));
  const base = await window("baseline", a, performance.now());
  out(
    `\nbaseline (no attack, ${Math.round((performance.now() - a) / 1000)} s): partner ${fmt(base.partner)}, nf ${fmt(base.nf)}, partner new N32 connections admitted ${base.probe.ok}/${base.probe.sent}`,
  );

  const results: Array<{ name: string; flow: Flow; pct: number }> = [];
  for (const name of names) {
    const hits0 = w.attackHits();
    let rssMax = rssMb(victimPid);
    const rss0 = rssMax;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(victimPid))), 250);
    a = performance.now();
    const summary = await runAttacker(name, w);
    const b = performance.now();
    clearInterval(sampler);
    const r = await window(name, a, b);
    out(`\n[${name}] ${ATTACKS[name]!.what}, ${((b - a) / 1000).toFixed(1)} s`);
    out(`  partner (N32-f into the SEPP under attack): ${fmt(r.partner)}`);
    out(`  nf      (SBI into the SEPP under attack):   ${fmt(r.nf)}`);
    out(`  partner new N32 connections admitted: ${r.probe.ok}/${r.probe.sent}`);
    out(`  attacker: ${JSON.stringify(summary)}`);
    out(
      `  SEPP under attack: RSS ${rss0} → max ${rssMax} MB; attack requests at the producer: ${w.attackHits() - hits0}`,
    );
    if (w.visited.proc.exitCode !== null || w.home.proc.exitCode !== null)
      out(`  SEPP process ended: visited ${w.visited.proc.exitCode}, home ${w.home.proc.exitCode}`);
    results.push({ name, flow: "partner", pct: pct(r.partner) }, { name, flow: "nf", pct: pct(r.nf) });
    // a short quiet time: the next attack starts from a SEPP that has let go of the previous one
    await Bun.sleep(1000);
  }
  await Promise.all([l.stop(), pr.stop()]);
  load = null;
  probe = null;
  const worst = results.reduce((x, y) => (y.pct < x.pct ? y : x));
  out(
    `\nmachine load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}; ${Math.round((Date.now() - t0) / 1000)} s in all`,
  );
  out(`abuse: ${names.length} attacks, legitimate success min ${worst.pct.toFixed(1)}% (worst: ${worst.name})`);
  exitCode = worst.pct >= TARGET ? 0 : 1;
} catch (e) {
  out(`abuse: campaign failed: ${e instanceof Error ? e.message : String(e)}`);
  exitCode = 1;
} finally {
  await Promise.all([load?.stop(), probe?.stop()]);
  const codes = await world?.stop();
  if (codes?.some((c) => c !== 0)) out(`SEPP exit codes: ${codes.join(", ")}`);
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else out(`working directory kept: ${dir}`);
}
process.exit(exitCode);
