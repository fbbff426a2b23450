// test/support/n32c-sepp.ts — an in-process SEPP reduced to its N32-c service and N32 listener (mutual TLS,
// HTTP/2 on 127.0.0.1), built from the harness configuration of side "a" or "b" (test/support/pki.ts), for the
// tests of the handshake's edges (redirects, announced N32-f endpoints). Closed through `closers`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SeppConfig, SeppConfigInput } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/log.ts";
import type { TraceEvent } from "../../src/n32c/core-types.ts";
import type { N32cService } from "../../src/n32c/service.ts";
import type { N32fContextStore } from "../../src/n32f/context-store.ts";
import type { DevCert } from "../../src/pki/devpki.ts";
import { type N32Env, type N32Server, startN32Server } from "../../src/transport/h2server.ts";
import type { Hono } from "hono";
import { configInput, parseOrThrow, serveTestN32c, testPki, testTrust } from "./pki.ts";

export interface N32cSepp {
  service: N32cService;
  contexts: N32fContextStore;
  server: N32Server;
  traces: TraceEvent[];
  log: ReturnType<typeof memoryLogger>;
  cfg(): SeppConfig;
  /** edit the configuration input; the next cfg() is the re-parsed result */
  update(m: (c: SeppConfigInput) => void): void;
  uri: string;
  port: number;
}

export interface N32cSeppOptions {
  /** the N32 certificate instead of the harness one */
  cert?: DevCert;
  /** identity.n32Fqdn */
  fqdn?: string;
  /** any other change of the configuration input before the first parse */
  edit?: (c: SeppConfigInput) => void;
  resolveHost?: (h: string) => string;
  retireGraceMs?: number;
  /** prefix of the temporary storage directory */
  tmpPrefix?: string;
}

/** Starts side `side`'s N32-c service and N32 listener; `closers` gets what stops them. */
export async function startN32cSepp(
  side: "a" | "b",
  closers: (() => Promise<void>)[],
  o: N32cSeppOptions = {},
): Promise<N32cSepp> {
  const pki = await testPki();
  const dir = mkdtempSync(join(tmpdir(), `${o.tmpPrefix ?? "n32c"}-${side}-`));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  let input = configInput(pki, side, "https://127.0.0.1:1", dir);
  if (o.cert) Object.assign(input.tls!, { certificate: o.cert.certPem, privateKey: o.cert.keyPem });
  if (o.fqdn) input.identity!.n32Fqdn = o.fqdn;
  o.edit?.(input);
  let cfg = parseOrThrow(input);
  const log = memoryLogger("debug");
  const traces: TraceEvent[] = [];
  const n32c = await serveTestN32c(() => cfg, log, {
    retireGraceMs: o.retireGraceMs,
    trace: (e) => traces.push(e),
    resolveHost: o.resolveHost,
  });
  const { service, contexts, server } = n32c;
  closers.push(n32c.close);
  return {
    service,
    contexts,
    server,
    traces,
    log,
    cfg: () => cfg,
    update(m) {
      const next = structuredClone(input);
      m(next);
      input = next;
      cfg = parseOrThrow(next);
    },
    uri: `https://127.0.0.1:${server.port}`,
    port: server.port,
  };
}

/** A simulated peer's N32 server (not the SEPP under test): presents `cert` over TLS 1.3, trusts the test PKI's
 *  roots (testTrust), answers with `app`; `closers` gets its close. */
export async function startPeerN32Server(
  cert: DevCert,
  app: Hono<{ Bindings: N32Env }>,
  closers: (() => Promise<void>)[],
): Promise<N32Server> {
  const server = await startN32Server({
    host: "127.0.0.1",
    port: 0,
    tls: { key: cert.keyPem, cert: cert.certPem, minVersion: "TLSv1.3" },
    trust: await testTrust(),
    app,
    limits: { maxBodyBytes: 8192, requestTimeoutMs: 3000 },
    log: memoryLogger("debug"),
  });
  closers.push(() => server.close());
  return server;
}
