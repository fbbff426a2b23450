// scripts/fuzz/world.ts — what `npm run fuzz` attacks: two SEPP processes (visited 234-15, home 262-01, PRINS) with
// a home UDM, and a third partner (310-410) that lives in this process as the project's own N32-c service, so the
// campaign holds real N32-f context keys of a configured (hostile) peer of the home SEPP, as
// test/fuzz-n32f-keyed.test.ts does. Nothing here is part of the SEPP.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { parseConfig, type SeppConfigInput } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { N32cService } from "../../src/n32c/service.ts";
import { N32fContextStore, type N32fContext } from "../../src/n32f/context.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { startN32Server, type N32Server } from "../../src/transport/h2server.ts";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import { startNf, type TestNf } from "../../test/support/nf.ts";
import { HOME, HOME_UDM, startSepp, waitFor, waitForState, writePair, type SeppProcess } from "../lib/pair.ts";
import { prepareThird, THIRD } from "../../test/scas/third-sepp.ts";

export const SUPI = "imsi-262010000000001";
export const AM_PATH = `/nudm-sdm/v2/${SUPI}/am-data`;

export interface World {
  v: SeppProcess;
  h: SeppProcess;
  udm: TestNf;
  udmAuthority: string;
  /** the in-process third partner's N32-f context with the home SEPP, and an engine to seal with */
  ctx: N32fContext;
  engine: PrinsEngine;
  /** TLS material of the third partner (a configured peer "x" of the home SEPP) and of the home SEPP's roots */
  xTls: { cert: string; key: string; ca: string[]; servername: string };
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "sepp-fuzz-campaign-"));
  const udm = await startNf((r) => ({
    status: r.path.startsWith(AM_PATH) ? 200 : 404,
    headers: { "content-type": r.path.startsWith(AM_PATH) ? "application/json" : "application/problem+json" },
    body: JSON.stringify(
      r.path.startsWith(AM_PATH) ? { gpsis: ["msisdn-491700000001"] } : { status: 404, cause: "USER_NOT_FOUND" },
    ),
  }));
  const udmAuthority = `${HOME_UDM}:${udm.port}`;
  const third = await prepareThird();
  const fast = { maxRequestsPerSecond: 100_000, maxPendingRequests: 4096 };
  const pair = await writePair({
    dir,
    capabilities: ["PRINS"],
    homeProducers: { [HOME_UDM]: udm.port },
    edit: (side, c) => {
      c.n32c = { ...c.n32c, maxRequestsPerSecond: 100_000 };
      c.peers![0]!.n32f = { ...c.peers![0]!.n32f, ...fast };
      if (side === "home") {
        third.editHome(c, join(dir, "home"), []);
        const x = c.peers!.at(-1)!;
        x.n32f = {
          ...fast,
          allowedTargets: [
            { host: HOME_UDM, port: udm.port, scheme: "http" },
            { host: "127.0.0.1", port: udm.port, scheme: "http" },
          ],
        };
      }
    },
  });
  const [v, h] = await Promise.all([startSepp(pair.visited), startSepp(pair.home)]);
  // the third partner in this process: the project's N32-c service with the third SEPP's identity
  const side = third.writeThird(join(dir, "third"), pair.home, pair.pki.rootH, [], []);
  const input = structuredClone(side.config) as SeppConfigInput;
  input.tls = {
    certificate: third.cert.chainPem,
    privateKey: third.cert.keyPem,
    trustAnchors: [
      { name: "third", plmnIds: [THIRD.plmn], roots: [third.root.certPem] },
      { name: "home", plmnIds: [HOME.plmn], roots: [pair.pki.rootH.certPem] },
    ],
  };
  input.storage = { dir: join(dir, "third-inproc") };
  const parsed = parseConfig(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const cfg = parsed.config;
  const log = createLogger({ level: "error", sink: () => {} });
  const contexts = new N32fContextStore();
  const service = new N32cService({
    config: () => cfg,
    tls: { key: cfg.tls.privateKey, cert: cfg.tls.certificate },
    log,
    metrics: new Registry(),
    contexts,
    aead: new SoftwareAeadEngine(),
  });
  const server: N32Server = await startN32Server({
    host: "127.0.0.1",
    port: third.ports.n32, // the home SEPP reports n32f-error here
    tls: { key: cfg.tls.privateKey, cert: cfg.tls.certificate, minVersion: "TLSv1.3" },
    trust: TrustStore.fromConfig(cfg),
    app: service.routes(),
    limits: { maxBodyBytes: 65536, requestTimeoutMs: 3000 },
    log,
  });
  service.start();
  await waitFor("the third partner's association", () => service.status("home")?.state === "active-prins", 30000);
  await Promise.all([waitForState(h, "x", "active-prins"), waitForState(v, "home", "active-prins", 30000)]);
  const ctx = contexts.list().find((c) => c.peerId === "home")!;
  const engine = new PrinsEngine({ defaults: defaults as ProtectionPolicy, riTrust: TrustStore.fromConfig(cfg) });
  return {
    v,
    h,
    udm,
    udmAuthority,
    ctx,
    engine,
    xTls: {
      cert: third.cert.chainPem,
      key: third.cert.keyPem,
      ca: [third.root.certPem, pair.pki.rootH.certPem],
      servername: HOME.fqdn,
    },
    async close() {
      await service.stop();
      await server.close();
      contexts.clear();
      await Promise.all([v.stop(), h.stop()]);
      await udm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
