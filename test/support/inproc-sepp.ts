// test/support/inproc-sepp.ts — a partner SEPP inside the test process: the project's own N32-c service and N32
// listener with the identity of one side of a `writePair` pair (or of the third SEPP), so that a test or the fuzz
// campaign holds the real N32-f context keys of a configured peer of a SEPP process and can seal hostile but
// validly protected messages with them (test/fuzz/n32f-keyed.test.ts, scripts/fuzz/world.ts).
import { join } from "node:path";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import { type SeppSide, waitFor } from "../../scripts/lib/pair.ts";
import { parseConfig, type SeppConfig, type SeppConfigInput } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import type { N32cService } from "../../src/n32c/service.ts";
import type { N32fContext } from "../../src/n32f/context.ts";
import type { N32fContextStore } from "../../src/n32f/context-store.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import type { DevCert } from "../../src/pki/devpki.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { serveTestN32c } from "./pki.ts";

export interface InProcessSeppOptions {
  /** the side whose configuration (identity, peer, N32 port) the in-process SEPP takes */
  side: SeppSide;
  /** its N32 certificate and the trust anchors it uses, with the roots as PEM text */
  cert: DevCert;
  anchors: Array<{ name: string; plmn: { mcc: string; mnc: string }; rootPem: string }>;
  /** its storage directory */
  dir: string;
  /** the peer id (in `side`'s configuration) whose association it waits for, default "home" */
  peerId?: string;
  waitMs?: number;
}

export interface InProcessSepp {
  cfg: SeppConfig;
  service: N32cService;
  contexts: N32fContextStore;
  /** the N32-f context with the peer, once active */
  ctx: N32fContext;
  /** a PRINS engine with the default policy and this SEPP's RI trust */
  engine: PrinsEngine;
  close(): Promise<void>;
}

/** Start the in-process SEPP on `side`'s N32 port (the SEPP process reports n32f-error there) and wait until
 *  its association with `peerId` is active-prins. */
export async function startInProcessSepp(o: InProcessSeppOptions): Promise<InProcessSepp> {
  const input = structuredClone(o.side.config) as SeppConfigInput;
  input.tls = {
    certificate: o.cert.chainPem,
    privateKey: o.cert.keyPem,
    trustAnchors: o.anchors.map((a) => ({ name: a.name, plmnIds: [a.plmn], roots: [a.rootPem] })),
  };
  input.storage = { dir: join(o.dir, `${o.side.name}-inproc`) };
  const parsed = parseConfig(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const cfg = parsed.config;
  const log = createLogger({ level: "error", sink: () => {} });
  const { service, contexts, close } = await serveTestN32c(() => cfg, log, {}, o.side.ports.n32);
  try {
    service.start();
    const peerId = o.peerId ?? "home";
    await waitFor(
      `in-process ${o.side.name} SEPP active-prins`,
      () => service.status(peerId)?.state === "active-prins",
      o.waitMs ?? 20000,
    );
    const ctx = contexts.list().find((c) => c.peerId === peerId)!;
    const engine = new PrinsEngine({ defaults: defaults as ProtectionPolicy, riTrust: TrustStore.fromConfig(cfg) });
    return { cfg, service, contexts, ctx, engine, close };
  } catch (e) {
    await close();
    throw e;
  }
}
