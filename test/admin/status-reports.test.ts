// What /v1/status and /v1/health report for the operator to act on, on one real SEPP process:
// - a CRL past its nextUpdate still applies (P11 "Trust"), and the operator must see it to renew it: /v1/status lists
//   its source under pki.staleCrls and /v1/health says "stale" in its crls check while staying healthy; the CRL is
//   replaced through the admin API by a current one, and the report clears;
// - a stored change to a member applied only at start (src/config/restart.ts) is listed under
//   config.restartRequired until the stored value is the one the SEPP started with again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, startSepp, writePair, type SeppProcess, type SeppSide } from "../../scripts/lib/pair.ts";
import { createCrl } from "../../src/pki/devpki.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const dirs = freshDirs("sepp-status-reports-");

describe("/v1/status and /v1/health reports", () => {
  let home: SeppSide;
  let h: SeppProcess;
  let fresh: string;

  beforeAll(async () => {
    const pair = await writePair({ dir: dirs() });
    home = pair.home;
    const past = new Date(Date.now() - 5 * 86_400_000);
    const stale = await createCrl(pair.pki.rootV, [], {
      thisUpdate: past,
      nextUpdate: new Date(past.getTime() + 1000),
    });
    fresh = await createCrl(pair.pki.rootV, []);
    writeFileSync(join(home.dir, "var", "pki", "visited.crl.pem"), stale);
    const cfg = JSON.parse(readFileSync(home.configPath, "utf8"));
    cfg.tls.trustAnchors.find((a: { name: string }) => a.name === "visited").crls = ["pki/visited.crl.pem"];
    writeFileSync(home.configPath, JSON.stringify(cfg));
    h = await startSepp(home);
  }, 60000);

  afterAll(async () => {
    expect(await h?.stop()).toBe(0);
  });

  test("a CRL past its nextUpdate is reported; the SEPP stays healthy; a current one clears the report", async () => {
    const status = (await (await h.admin("/v1/status")).json()) as { pki: { staleCrls: string[] } };
    expect(status.pki.staleCrls).toEqual(["/tls/trustAnchors/0/crls/0"]);
    const health = await h.admin("/v1/health");
    expect(health.status).toBe(200);
    expect(((await health.json()) as { checks: { crls: string } }).checks.crls).toStartWith("stale: ");

    writeFileSync(join(home.dir, "var", "pki", "visited.crl.pem"), fresh);
    // the same configuration again: the CRL files are read anew, as a start would
    const same = await (await h.admin("/v1/config")).text();
    const put = await h.admin("/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: same,
    });
    expect(put.status).toBe(200);
    const after = (await (await h.admin("/v1/status")).json()) as { pki: { staleCrls: string[] } };
    expect(after.pki.staleCrls).toEqual([]);
    expect(((await (await h.admin("/v1/health")).json()) as { checks: { crls: string } }).checks.crls).toBe("ok");
  });

  test("a stored change to a start-only member is listed under config.restartRequired until it is undone", async () => {
    const restartRequired = async () =>
      ((await (await h.admin("/v1/status")).json()) as { config: { restartRequired: string[] } }).config
        .restartRequired;
    expect(await restartRequired()).toEqual([]);
    const put = async (cfg: Record<string, any>) =>
      h.admin("/v1/config", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(cfg),
      });
    const started = (await (await h.admin("/v1/config")).json()) as Record<string, any>;
    const moved = structuredClone(started);
    moved.listeners.sbi.port = await freePort();
    moved.workers = "auto";
    expect((await put(moved)).status).toBe(200);
    expect(await restartRequired()).toEqual(["listeners", "workers"]);
    expect(h.logs.some((l) => l.msg === "configuration stored: these members apply at the next start")).toBe(true);
    expect((await put(started)).status).toBe(200);
    expect(await restartRequired()).toEqual([]);
  });
});
