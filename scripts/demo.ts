// scripts/demo.ts — `npm run demo`: two SEPPs, one protected exchange (issue 4).
//
// A visited SEPP (PLMN 234-15) and a home SEPP (PLMN 262-01) start as real processes on loopback, with the
// configurations of config/example-visited.json and config/example-home.json (only the ports, the storage
// directory and the UDM's port changed), under ./var/demo/ (fresh each run). They run N32-c and agree on
// PRINS; the demo prints what was negotiated. Then a visited AMF asks the home UDM for the subscriber's
// am-data (Nudm_SDM) through both SEPPs; the demo prints the N32-f message as it crossed N32 (the decoded
// aad from the visited SEPP's debug log: the SUPI in the path is an `{encBlockIndex:N}` reference, the
// access token an encBlockIndex too) and the answer the AMF got, then stops everything. Bounded: 30 s.
//
// Running the two example SEPPs by hand (from the repository root):
//   bun scripts/demo.ts --example-pki          # writes var/example-{visited,home}/pki/ (fresh roots and certs)
//   bun src/main.ts serve --config config/example-home.json      # terminal 1 (N32 28444, SBI 28081, admin 29091)
//   bun src/main.ts serve --config config/example-visited.json   # terminal 2 (N32 28443, SBI 28080, admin 29090)
//   curl -s -H "authorization: Bearer $(cat var/example-visited/admin.token)" http://127.0.0.1:29090/v1/peers/home/n32
// Then put a home UDM (h2c) on 127.0.0.1:28090 and send, with h2c prior knowledge to the visited SBI port:
//   nghttp -v http://127.0.0.1:28080/nudm-sdm/v2/imsi-262010000000001/am-data \
//     -H ':authority: udm.5gc.mnc001.mcc262.3gppnetwork.org:28090'
// (SEPP_LOG_LEVEL=debug shows the N32-f messages; `rm -rf var/example-*` starts over.)
import { readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { SeppConfigInput } from "../src/config/schema.ts";
import {
  HOME,
  HOME_UDM,
  VISITED,
  freePort,
  startSepp,
  waitFor,
  waitForState,
  writePairPki,
  type SeppProcess,
  type SeppSide,
} from "./lib/pair.ts";
import { NfClient, startNf, type TestNf } from "../test/support/nf.ts";

const ROOT = resolve(import.meta.dir, "..");
const SUPI = "imsi-262010000000001";
const AM_DATA = {
  gpsis: ["msisdn-491700000001"],
  subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" },
  nssai: { defaultSingleNssais: [{ sst: 1 }] },
  ratRestrictions: ["NR_REDCAP"],
};
const LIMIT_MS = 30_000;

const out = (s = "") => process.stdout.write(`${s}\n`);
const section = (t: string) => out(`\n=== ${t} ${"=".repeat(Math.max(0, 72 - t.length))}`);
const indent = (v: unknown) => JSON.stringify(v, null, 2).replace(/^/gm, "    ");

function example(name: "visited" | "home"): SeppConfigInput {
  return JSON.parse(readFileSync(join(ROOT, "config", `example-${name}.json`), "utf8")) as SeppConfigInput;
}

async function examplePki(): Promise<void> {
  await writePairPki(join(ROOT, "var/example-visited/pki"), join(ROOT, "var/example-home/pki"));
  out(
    "PKI written to var/example-visited/pki/ and var/example-home/pki/; now start the SEPPs (see the header of scripts/demo.ts).",
  );
}

async function demo(): Promise<boolean> {
  // SEPP_DEMO_DIR: another place than ./var/demo (the demo's test runs it in a temporary directory)
  const base = process.env.SEPP_DEMO_DIR ? resolve(process.env.SEPP_DEMO_DIR) : join(ROOT, "var", "demo");
  const shown = process.env.SEPP_DEMO_DIR ? base : "var/demo";
  rmSync(base, { recursive: true, force: true });
  const procs: SeppProcess[] = [];
  let udm: TestNf | undefined;
  let amf: NfClient | undefined;
  const cleanup = async () => {
    amf?.close();
    await Promise.all(procs.map((p) => p.stop()));
    await udm?.close();
  };
  const watchdog = setTimeout(() => {
    process.stderr.write(`demo: no result within ${LIMIT_MS / 1000} s, stopping\n`);
    for (const p of procs) p.proc.kill("SIGKILL");
    process.exit(1);
  }, LIMIT_MS);
  try {
    section("Starting");
    udm = await startNf((r) =>
      r.method === "GET" && r.path.startsWith(`/nudm-sdm/v2/${SUPI}/am-data`)
        ? { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(AM_DATA) }
        : {
            status: 404,
            headers: { "content-type": "application/problem+json" },
            body: JSON.stringify({ status: 404, cause: "USER_NOT_FOUND" }),
          },
    );
    out(`home UDM ${HOME_UDM} (h2c) on 127.0.0.1:${udm.port}`);
    const ports = {
      visited: { n32: await freePort(), sbi: await freePort(), admin: await freePort() },
      home: { n32: await freePort(), sbi: await freePort(), admin: await freePort() },
    };
    await writePairPki(join(base, "visited", "var", "pki"), join(base, "home", "var", "pki"));
    const sides: SeppSide[] = (["visited", "home"] as const).map((name) => {
      const c = example(name);
      const p = ports[name];
      const other = ports[name === "visited" ? "home" : "visited"];
      c.listeners = {
        n32: { host: "127.0.0.1", port: p.n32 },
        sbi: { host: "127.0.0.1", port: p.sbi },
        admin: { host: "127.0.0.1", port: p.admin },
      };
      c.storage = { ...c.storage, dir: "var" };
      for (const peer of c.peers ?? []) {
        peer.n32cUri = `https://127.0.0.1:${other.n32}`;
        if (name === "home") for (const t of peer.n32f?.allowedTargets ?? []) t.port = udm!.port;
      }
      const dir = join(base, name);
      mkdirSync(dir, { recursive: true });
      const configPath = join(dir, "sepp.json");
      writeFileSync(configPath, JSON.stringify(c, null, 2));
      return { name, dir, configPath, config: c, ports: p };
    });
    for (const s of sides) {
      procs.push(await startSepp(s));
      const me = s.name === "visited" ? VISITED : HOME;
      out(
        `${s.name} SEPP ${me.fqdn} (PLMN ${me.plmn.mcc}-${me.plmn.mnc}): N32 ${s.ports.n32}, SBI ${s.ports.sbi}, admin ${s.ports.admin}, data ${join(shown, s.name)}/`,
      );
    }
    const [v, h] = procs as [SeppProcess, SeppProcess];

    section("N32-c handshake");
    const sv = await waitForState(v, "home", "active-prins", 15_000);
    const sh = await waitForState(h, "visited", "active-prins", 15_000);
    out(`security capability: ${String(sv.capability)}`);
    out(`JWE cipher suite:    ${String(sv.jweCipherSuite)}`);
    out(
      `visited SEPP (${String(sv.role)}): its N32-f context ID ${String(sv.localContextId)}, the home SEPP's ${String(sv.peerContextId)}`,
    );
    out(
      `home SEPP (${String(sh.role)}): its N32-f context ID ${String(sh.localContextId)}, the visited SEPP's ${String(sh.peerContextId)}`,
    );
    const agreed = sv.localContextId === sh.peerContextId && sv.peerContextId === sh.localContextId;
    out(agreed ? "both sides agree on the context IDs" : "MISMATCH between the two sides' context IDs");

    section("Visited AMF → home UDM: GET am-data");
    const path = `/nudm-sdm/v2/${SUPI}/am-data?plmn-id=${encodeURIComponent(JSON.stringify(VISITED.plmn))}`;
    out(`AMF → visited SEPP SBI :authority ${HOME_UDM}:${udm.port}  GET ${path}`);
    const since = v.logs.length;
    amf = new NfClient(sides[0]!.ports.sbi);
    const r = await amf.request(
      "GET",
      `${HOME_UDM}:${udm.port}`,
      path,
      {
        accept: "application/json",
        authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbWYuNWdjLm1uYzAxNS5tY2MyMzQifQ.ZGVtby1zaWduYXR1cmU",
      },
      undefined,
      { timeoutMs: 10_000 },
    );
    const seen = await waitFor(
      "the N32-f log lines",
      () => {
        const l = v.logs
          .slice(since)
          .filter((x) => x.msg === "N32-f request sent" || x.msg === "N32-f response received");
        return l.length >= 2 ? l : null;
      },
      5000,
      20,
    );
    const sent = seen.find((x) => x.msg === "N32-f request sent")!;
    const received = seen.find((x) => x.msg === "N32-f response received")!;
    section("On N32: the request (N32fReformattedReqMsg, decoded aad; the rest is JWE ciphertext)");
    out(indent(sent.aad));
    section("On N32: the response (N32fReformattedRspMsg, decoded aad)");
    out(indent(received.aad));
    section("The answer the AMF got");
    out(`status ${r.status}`);
    out(indent(r.status === 200 ? r.json() : r.body.toString()));

    const aadPath = String((sent.aad as { requestLine?: { path?: string } })?.requestLine?.path ?? "");
    const supiHidden = /\{encBlockIndex:\d+\}/.test(aadPath) && !JSON.stringify(sent.aad).includes(SUPI);
    out("");
    out(
      supiHidden
        ? `the SUPI crossed N32 only encrypted: requestLine.path ${aadPath}`
        : "the SUPI was NOT protected on N32",
    );
    const ok = agreed && supiHidden && r.status === 200 && JSON.stringify(r.json()) === JSON.stringify(AM_DATA);
    section(ok ? "Done: a protected exchange" : "FAILED");
    return ok;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

if (process.argv.includes("--example-pki")) {
  await examplePki();
} else {
  const ok = await demo().catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return false;
  });
  process.exit(ok ? 0 : 1);
}
