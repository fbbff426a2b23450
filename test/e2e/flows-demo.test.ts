// `npm run demo` end to end (issue 4): it starts two SEPP processes from the example configurations, shows the
// PRINS handshake result, the N32-f message as it crossed N32 (the SUPI as an encBlockIndex reference) and the
// AMF's answer, stops everything and exits 0 within its 30 s bound. The example configurations are valid.
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const ROOT = resolve(import.meta.dir, "../..");
const freshDir = freshDirs("sepp-demo-");

test("the example configurations pass the schema and peer with each other", () => {
  const [v, h] = (["visited", "home"] as const).map((n): SeppConfig => {
    const r = parseConfig(JSON.parse(readFileSync(join(ROOT, "config", `example-${n}.json`), "utf8")));
    if (!r.ok) throw new Error(`example-${n}.json: ${JSON.stringify(r.issues)}`);
    return r.config;
  }) as [SeppConfig, SeppConfig];
  expect(v.peers[0]!.n32Fqdn).toBe(h.identity.n32Fqdn);
  expect(h.peers[0]!.n32Fqdn).toBe(v.identity.n32Fqdn);
  expect(v.peers[0]!.n32cUri).toBe(`https://127.0.0.1:${h.listeners.n32.port}`);
  expect(h.peers[0]!.n32cUri).toBe(`https://127.0.0.1:${v.listeners.n32.port}`);
  expect(v.peers[0]!.initiate).toBe(true);
  expect(h.peers[0]!.initiate).toBe(false);
});

test("npm run demo shows a protected exchange and exits 0", async () => {
  const dir = freshDir();
  const started = Date.now();
  const p = spawn(process.execPath, [join(ROOT, "scripts/demo.ts")], {
    cwd: ROOT,
    env: { ...process.env, SEPP_DEMO_DIR: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const kill = setTimeout(() => p.kill("SIGKILL"), 40_000);
  const code = await new Promise<number | null>((res) => p.once("exit", (c) => res(c)));
  clearTimeout(kill);
  if (code !== 0) console.error(stdout.slice(-3000), stderr.slice(-3000));
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(stdout).toContain("security capability: PRINS");
  expect(stdout).toMatch(/JWE cipher suite: +A(128|256)GCM/);
  expect(stdout).toContain("both sides agree on the context IDs");
  expect(stdout).toMatch(/"path": "\/nudm-sdm\/v2\/\{encBlockIndex:\d+\}\/am-data"/);
  const onN32 = stdout.slice(stdout.indexOf("=== On N32: the request"), stdout.indexOf("=== The answer the AMF got"));
  expect(onN32).toContain('"n32fContextId"');
  expect(onN32).not.toContain("imsi-262010000000001");
  expect(onN32).not.toContain("eyJ"); // the access token is an encBlockIndex too
  expect(stdout).toContain("status 200");
  expect(stdout).toContain('"msisdn-491700000001"');
  expect(stdout).toContain("Done: a protected exchange");
  // nothing left running: both SEPPs' admin APIs are gone
  const admins = [...stdout.matchAll(/admin (\d+), data /g)].map((m) => Number(m[1]));
  expect(admins).toHaveLength(2);
  for (const port of admins)
    await expect(fetch(`http://127.0.0.1:${port}/v1/health`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
}, 45_000);
