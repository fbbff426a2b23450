// scripts/fuzz/main.ts — `npm run fuzz -- --inputs N --seed S [--out DIR] [--max-seconds T] [--concurrency C]
// [--only n32f,sbi,admin,n32c]`:
// a structure-aware fuzzing campaign against every listener of real SEPP processes (scripts/fuzz/world.ts):
// N32-c and keyed N32-f of the home SEPP (as its configured partner "x", holding real context keys), the SBI side
// of the visited SEPP (toward the home UDM, across N32-f), and the home SEPP's admin API. N inputs per listener,
// deterministic from the seed, each bounded in time. Accounting per input:
//   crash    the SEPP process is gone
//   hang     no answer within 10 s
//   5xx      a 5xx other than a gateway answer: 500, 501, ≥ 505, or a 502/503/504 that is not a ProblemDetails
//            (a 502/503/504 ProblemDetails from the sending SEPP is what TS 29.500 asks of a proxy whose peer
//            refused or failed; those are counted apart as "gateway")
//   non-problem error  a 4xx/5xx whose body is not application/problem+json with the same status
// plus the RSS of both processes before and after each listener. Each finding's input is saved under --out
// (default var/fuzz/) as JSON. The last line is, exactly (tools outside the project parse it):
//   fuzz: N inputs, C crashes, H hangs, F 5xx, P non-problem errors
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { protectJwe } from "../../src/n32f/jwe.ts";
import { newMessageId } from "../../src/n32f/engine.ts";
import { reformat } from "../../src/n32f/reformat.ts";
import { RawH2, type RawResponse } from "../../test/support/fuzz.ts";
import type { SeppProcess } from "../lib/pair.ts";
import { THIRD } from "../../test/support/third-sepp.ts";
import { adminInputs, blockMutations, type FuzzInput, n32cInputs, n32fExtras } from "./gen.ts";
import { sbiInputs } from "./sbi-gen.ts";
import { AM_PATH, SUPI, startWorld, type World } from "./world.ts";

const { values: args } = parseArgs({
  options: {
    inputs: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "var/fuzz" },
    "max-seconds": { type: "string", default: "600" },
    concurrency: { type: "string", default: "8" },
    only: { type: "string", default: "n32f,sbi,admin,n32c" },
  },
});
const N = Number(args.inputs);
const SEED = Number(args.seed);
const OUT = resolve(args.out!);
const MAX_MS = Number(args["max-seconds"]) * 1000;
const CONC = Math.max(1, Math.min(64, Number(args.concurrency)));
const TIMEOUT_MS = 10_000;
const LISTENERS = ["n32f", "sbi", "admin", "n32c"];
const ONLY = new Set(args.only!.split(",").map((l) => l.trim()));
for (const l of ONLY)
  if (!LISTENERS.includes(l)) throw new Error(`--only: unknown listener ${l} (${LISTENERS.join(",")})`);

interface Tally {
  inputs: number;
  crashes: number;
  hangs: number;
  f5xx: number;
  gateway: number;
  nonProblem: number;
  statuses: Map<number, number>;
  /** inputs that got no HTTP answer and are no finding, by error code (client refusals, stream resets) */
  unsent: Map<string, number>;
  /** the gateway answers by status, cause and the start of their detail (each kind's first inputs are saved) */
  gatewayWhy: Map<string, number>;
}
const emptyTally = (): Tally => ({
  inputs: 0,
  crashes: 0,
  hangs: 0,
  f5xx: 0,
  gateway: 0,
  nonProblem: 0,
  statuses: new Map(),
  unsent: new Map(),
  gatewayWhy: new Map(),
});
const total = emptyTally();
let findings = 0;

const rssOf = (p: SeppProcess): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.proc.pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const isProblem = (r: RawResponse, head = false) =>
  (r.headers["content-type"] ?? "").startsWith("application/problem+json") && (head || r.json()?.status === r.status);

function save(listener: string, index: number, kind: string, input: unknown, answer?: unknown) {
  findings++;
  if (findings > 1000) return; // bounded: the counts say the rest
  mkdirSync(OUT, { recursive: true });
  writeFileSync(
    join(OUT, `${listener}-${SEED}-${index}-${kind}.json`),
    JSON.stringify({ listener, seed: SEED, index, kind, input, answer }, null, 1),
  );
}

/** Run `n` inputs of one listener: `sample(i)` makes input i, `send` delivers it. */
async function campaign<T>(
  listener: string,
  arb: fc.Arbitrary<T>,
  send: (x: T, worker: number) => Promise<RawResponse>,
  describe: (x: T) => unknown,
  gatewayOk: boolean,
  procs: SeppProcess[],
): Promise<void> {
  const t = emptyTally();
  const rss0 = procs.map(rssOf);
  let rssMax = rss0.slice();
  const started = Date.now();
  const CHUNK = 500;
  for (let base = 0; base < N && Date.now() - started < MAX_MS; base += CHUNK) {
    if (procs.some((p) => p.proc.exitCode !== null)) break;
    const batch = fc.sample(arb, { seed: SEED * 1_000_003 + base, numRuns: Math.min(CHUNK, N - base) });
    let next = 0;
    const worker = async (k: number) => {
      while (next < batch.length && Date.now() - started < MAX_MS) {
        const i = next++;
        const x = batch[i]!;
        t.inputs++;
        let r: RawResponse;
        try {
          r = await send(x, k);
        } catch (e) {
          const gone = procs.some((p) => p.proc.exitCode !== null);
          if (gone) {
            t.crashes++;
            save(listener, base + i, "crash", describe(x), String(e));
          } else if (/no answer within/.test(String(e))) {
            t.hangs++;
            save(listener, base + i, "hang", describe(x), String(e));
          } else {
            // the client could not send it (an invalid header for node:http2) or the server reset the stream: not
            // an answer, not a finding; counted as status 0
            t.statuses.set(0, (t.statuses.get(0) ?? 0) + 1);
            const code = (e as { code?: string }).code ?? String(e).slice(0, 60);
            const seen = t.unsent.get(code) ?? 0;
            t.unsent.set(code, seen + 1);
            if (seen < 3) save(listener, base + i, `unsent-${code}`, describe(x), String(e));
          }
          continue;
        }
        t.statuses.set(r.status, (t.statuses.get(r.status) ?? 0) + 1);
        const problem = isProblem(r, (x as { method?: string }).method === "HEAD");
        if (r.status >= 500) {
          if (gatewayOk && r.status >= 502 && r.status <= 504 && problem) {
            t.gateway++;
            const p = r.json() as { cause?: string; detail?: string };
            const why = `${r.status} ${p.cause ?? "-"}: ${String(p.detail ?? "").slice(0, 60)}`;
            const seen = t.gatewayWhy.get(why) ?? 0;
            t.gatewayWhy.set(why, seen + 1);
            if (seen < 3) save(listener, base + i, "gateway", describe(x), { status: r.status, body: p });
          } else {
            t.f5xx++;
            save(listener, base + i, "5xx", describe(x), { status: r.status, body: r.body.toString().slice(0, 2000) });
          }
        }
        if (r.status >= 400 && !problem) {
          t.nonProblem++;
          save(listener, base + i, "non-problem", describe(x), {
            status: r.status,
            headers: r.headers,
            body: r.body.toString().slice(0, 2000),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: CONC }, (_, k) => worker(k)));
    rssMax = rssMax.map((m, k) => Math.max(m, rssOf(procs[k]!)));
  }
  const secs = (Date.now() - started) / 1000;
  const rss1 = procs.map(rssOf);
  const st = [...t.statuses.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${s}:${n}`)
    .join(" ");
  const unsent = [...t.unsent.entries()].map(([c, n]) => `${c}:${n}`).join(" ");
  console.log(
    `${listener}: ${t.inputs} inputs in ${secs.toFixed(1)} s (${(t.inputs / secs).toFixed(0)}/s), ${t.crashes} crashes, ` +
      `${t.hangs} hangs, ${t.f5xx} 5xx, ${t.gateway} gateway 5xx, ${t.nonProblem} non-problem errors; statuses ${st}` +
      `${unsent ? ` (no answer: ${unsent})` : ""}; ` +
      `RSS ${procs.map((p, k) => `${p.side.name} ${mib(rss0[k]!)} → ${mib(rss1[k]!)} (max ${mib(rssMax[k]!)})`).join(", ")}`,
  );
  for (const [why, n] of [...t.gatewayWhy].sort((a, b) => b[1] - a[1])) console.log(`  gateway ${n}× ${why}`);
  for (const k of ["inputs", "crashes", "hangs", "f5xx", "gateway", "nonProblem"] as const) total[k] += t[k];
}

/** One admin request over node:http. Wrong and missing tokens come from 127.0.0.2: the brute-force limit (per
 *  source address) then locks that source out, not the one presenting the right token. */
function adminRequest(w: World, x: FuzzInput): Promise<RawResponse> {
  const headers: Record<string, string> = { ...x.headers };
  if (x.auth === "right") headers.authorization = `Bearer ${w.h.token}`;
  else if (x.auth === "wrong") headers.authorization = "Bearer wrong-token";
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: w.h.side.ports.admin,
        method: x.method,
        path: x.path,
        headers,
        localAddress: x.auth === "right" ? "127.0.0.1" : "127.0.0.2",
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(t);
          const body = Buffer.concat(chunks);
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = String(v);
          resolve({
            status: res.statusCode ?? 0,
            headers: h,
            body,
            json: () => {
              try {
                return JSON.parse(body.toString());
              } catch {
                return undefined;
              }
            },
          });
        });
      },
    );
    const t = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    req.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    req.end(x.body);
  });
}

async function main() {
  console.log(`fuzz campaign: ${N} inputs per listener, seed ${SEED}, reproducers in ${OUT}, concurrency ${CONC}`);
  const w: World = await startWorld();
  try {
    // keyed N32-f first: the N32-c campaign may end the association that holds these keys
    // one connection per worker: a connection the SEPP ends (GOAWAY on a protocol error) takes no other input with it
    const pool = (make: () => RawH2) => Array.from({ length: CONC }, make);
    if (ONLY.has("n32f")) {
      const n32f = pool(() => new RawH2(`https://127.0.0.1:${w.h.side.ports.n32}`, w.xTls));
      const seal = (muts: Array<(g: { block: any; dataToEncrypt: unknown[] }) => void>, extra?: object) => {
        const g = reformat(
          {
            kind: "request",
            method: "GET",
            scheme: "http",
            authority: w.udmAuthority,
            path: AM_PATH,
            headers: [
              ["accept", "application/json"],
              ["3gpp-sbi-originating-network-id", `${THIRD.plmn.mcc}-${THIRD.plmn.mnc}`],
            ],
          },
          {
            metaData: { n32fContextId: w.ctx.peerContextId, messageId: newMessageId(), authorizedIpxId: "NULL" },
            policy: w.engine.policiesOf(w.ctx).encryption,
          },
        ) as { block: any; dataToEncrypt: unknown[] };
        for (const m of muts) {
          try {
            m(g);
          } catch {
            // a later mutation on a member an earlier one replaced by a primitive: skip it (the input stays hostile)
          }
        }
        const aad = Buffer.from(JSON.stringify(g.block));
        const plaintext = Buffer.from(JSON.stringify({ dataToEncrypt: g.dataToEncrypt }));
        return JSON.stringify({ reformattedData: protectJwe(w.ctx, "request", aad, plaintext), ...extra });
      };
      await campaign(
        "n32f",
        fc.tuple(blockMutations, n32fExtras),
        ([muts, extra], k) =>
          n32f[k]!.request(
            "POST",
            "/n32f-forward/v1/n32f-process",
            { "content-type": "application/json" },
            seal(muts, extra),
            undefined,
            TIMEOUT_MS,
          ),
        ([muts, extra]) => ({ mutations: muts.length, extra, note: "sealed with the live context: re-run the seed" }),
        false,
        [w.h],
      );
      for (const c of n32f) c.close();
    }
    if (ONLY.has("sbi")) {
      const sbi = pool(() => new RawH2(`http://127.0.0.1:${w.v.side.ports.sbi}`));
      await campaign(
        "sbi",
        sbiInputs(w.udmAuthority, SUPI),
        (x, k) => sbi[k]!.request(x.method, x.path, x.headers, x.body, x.authority, TIMEOUT_MS),
        (x) => x,
        true,
        [w.v, w.h],
      );
      for (const c of sbi) c.close();
    }
    if (ONLY.has("admin"))
      await campaign(
        "admin",
        adminInputs(),
        (x: FuzzInput) => adminRequest(w, x),
        (x) => ({ ...x, token: x.auth }),
        false,
        [w.h],
      );

    if (ONLY.has("n32c")) {
      const n32c = pool(() => new RawH2(`https://127.0.0.1:${w.h.side.ports.n32}`, w.xTls));
      await campaign(
        "n32c",
        n32cInputs(THIRD.fqdn),
        (x, k) => n32c[k]!.request(x.method, x.path, x.headers, x.body, undefined, TIMEOUT_MS),
        (x) => x,
        false,
        [w.h],
      );
      for (const c of n32c) c.close();
    }
  } finally {
    const errors = [w.v, w.h].flatMap((p) =>
      p.logs.filter((l) => l.level === "error").map((l) => `${p.side.name}: ${l.msg}`),
    );
    if (errors.length) console.log(`error lines in the SEPPs' logs: ${errors.length} (first: ${errors[0]})`);
    // what the inputs made the SEPPs write (a line per input, not rate limited, would let a sender fill the disk)
    for (const p of [w.v, w.h]) {
      const lines = [...p.logCounts.values()].reduce((a, b) => a + b, 0);
      const top = [...p.logCounts].sort((a, b) => b[1] - a[1]).slice(0, 4);
      console.log(
        `${p.side.name} log lines (info and above): ${lines}, ${(lines / Math.max(1, total.inputs)).toFixed(3)} per input; most: ${top.map(([k, n]) => `${n}× ${k}`).join("; ")}`,
      );
    }
    await w.close();
  }
  console.log(`gateway 5xx (502/503/504 ProblemDetails from the sending SEPP): ${total.gateway}`);
  console.log(
    `fuzz: ${total.inputs} inputs, ${total.crashes} crashes, ${total.hangs} hangs, ${total.f5xx} 5xx, ${total.nonProblem} non-problem errors`,
  );
  process.exit(total.crashes + total.hangs + total.f5xx + total.nonProblem > 0 ? 1 : 0);
}

await main();
