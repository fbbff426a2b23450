// The admin API of a real SEPP process: token required, a bad change refused whole, a good one survives a
// restart and takes effect (the new peer gets an N32 state machine), SIGTERM exits 0.
import { afterAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { HOME, startSepp, writePair, type SeppProcess } from "../../scripts/lib/pair.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

let running: SeppProcess | undefined;
afterAll(async () => {
  await running?.stop();
});
// registered after the hook above (bun runs afterAll hooks in registration order): removed once the SEPP stopped
const fresh = freshDirs("sepp-admin-proc-");

describe("admin API of a running SEPP", () => {
  test("token, atomic refusal, persistence across restart", async () => {
    const pair = await writePair({ dir: fresh() });
    const side = pair.visited;
    running = await startSepp(side);
    const base = `http://127.0.0.1:${side.ports.admin}`;
    // the token file is created 0600
    expect(statSync(join(side.dir, "var", "admin.token")).mode & 0o777).toBe(0o600);
    expect((await fetch(`${base}/v1/status`)).status).toBe(401);
    expect((await fetch(`${base}/v1/status`, { headers: { authorization: "Bearer wrong-token-value" } })).status).toBe(
      401,
    );
    const status = (await (await running.admin("/v1/status")).json()) as {
      listeners: Record<string, string>;
      version: string;
    };
    expect(status.listeners.sbi).toBe(`http://127.0.0.1:${side.ports.sbi}`);
    expect(JSON.stringify(status)).not.toContain(running.token);

    const cfg = (await (await running.admin("/v1/config")).json()) as { peers: Array<Record<string, unknown>> };
    const extra = {
      id: "partner2",
      n32Fqdn: "sepp.5gc.mnc410.mcc310.3gppnetwork.org",
      plmnIds: [{ mcc: "310", mnc: "410" }],
      n32cUri: "https://127.0.0.1:1",
      initiate: false,
    };
    const bad = await running.admin("/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...cfg, peers: [...cfg.peers, { ...extra, n32Fqdn: HOME.fqdn }] }), // duplicate FQDN
    });
    expect(bad.status).toBe(400);
    expect(((await (await running.admin("/v1/config")).json()) as { peers: unknown[] }).peers).toHaveLength(1);

    const good = await running.admin("/v1/peers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(extra),
    });
    expect(good.status).toBe(201);
    const n32 = await running.admin("/v1/peers/partner2/n32");
    expect(n32.status).toBe(200);
    expect(((await n32.json()) as { state: string }).state).toBe("idle");

    expect(await running.stop()).toBe(0);
    running = await startSepp(side); // same data dir: the stored configuration wins over the bootstrap file
    const after = (await (await running.admin("/v1/peers")).json()) as Array<{ id: string }>;
    expect(after.map((p) => p.id)).toEqual(["home", "partner2"]);
    const hist = (await (await running.admin("/v1/config/history")).json()) as Array<{ source: string }>;
    expect(hist[0]!.source).toContain("POST /v1/peers partner2");
  }, 60000);
});
