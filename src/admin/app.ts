// src/admin/app.ts — the local REST API (docs/API.md): configuration, peers, N32 status and actions,
// metrics. hono on Bun.serve, loopback by default, bearer token on everything but /v1/health.
// Bodies are validated with valibot (src/config/schema.ts); errors are ProblemDetails.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { bearerAuth, type AuthLimits } from "./auth.ts";
import { ADMIN_OPENAPI } from "./openapi.ts";
import { SeppError } from "../errors.ts";
import { problem, problemResponse, PROBLEM_JSON } from "../problem.ts";
import { parseConfig, parsePeer, type ConfigIssue, type SeppConfig } from "../config/schema.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { ApplyResult, ConfigStore } from "../config/store.ts";
import { isInlinePem } from "../config/pem.ts";
import type { MetricSnapshot, Registry } from "../metrics.ts";
import type { InvalidParam } from "../model/n32.ts";
import type { Logger } from "../log.ts";

export const MAX_ADMIN_BODY = 1 << 20;
export const REDACTED = "[redacted]";

/** What the admin API needs from the running SEPP (src/sepp.ts provides it). */
export interface AdminDeps {
  store: ConfigStore;
  token: () => string;
  metrics: Registry;
  /** the data-path workers' metric snapshots, summed into /metrics (src/workers/pool.ts); none without workers */
  workerMetrics?: () => Promise<MetricSnapshot[][]>;
  status: () => Record<string, unknown>;
  health: () => { healthy: boolean; checks: Record<string, unknown> };
  n32?: {
    status(peerId: string): unknown | undefined;
    handshake(peerId: string): Promise<unknown>;
    terminate(peerId: string): Promise<void>;
  };
  log?: Logger;
  /** Extra authenticated routes (e.g. /v1/keys from hw/), mounted at "/" */
  /** Authenticated routes that take large streamed bodies and bound them themselves (src/admin/system.ts) */
  uploadRoutes?: Hono;
  extraRoutes?: Hono[];
  /**
   * The start-up check (src/config/startcheck.ts) run on every candidate before it is stored: files exist and
   * parse, keys match certificates, TLS contexts build. Its issues refuse the change (400, nothing changed).
   */
  check?: (candidate: SeppConfig) => Promise<ConfigIssue[]>;
  /** Brute-force limits of the bearer-token check (defaults in auth.ts) */
  authLimits?: AuthLimits;
}

type KeyHolder = { privateKey?: unknown } | undefined;
/** Every configuration member that may hold a private key inline. */
const keyHolders = (c: {
  tls?: KeyHolder;
  sbi?: KeyHolder;
  listeners?: { admin?: { tls?: KeyHolder } };
}): KeyHolder[] => [c.tls, c.sbi, c.listeners?.admin?.tls];

/** The configuration as the API shows it: an inline private key is never returned. */
export function redactConfig(c: SeppConfig): SeppConfig {
  const copy = structuredClone(c);
  for (const h of keyHolders(copy))
    if (h && typeof h.privateKey === "string" && isInlinePem(h.privateKey)) h.privateKey = REDACTED;
  return copy;
}

/** Put back what redactConfig hid when a client sends the redacted value back unchanged. */
function unredact(candidate: unknown, current: SeppConfig): unknown {
  if (!candidate || typeof candidate !== "object") return candidate;
  const next = keyHolders(candidate as Parameters<typeof keyHolders>[0]);
  const now = keyHolders(current);
  next.forEach((h, i) => {
    if (h && typeof h === "object" && h.privateKey === REDACTED) h.privateKey = now[i]?.privateKey;
  });
  return candidate;
}

async function readJson(c: Context): Promise<{ ok: true; value: unknown } | { ok: false; res: Response }> {
  const ct = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(ct))
    return {
      ok: false,
      res: problemResponse(problem(415, "UNSUPPORTED_MEDIA_TYPE", "content-type must be application/json")),
    };
  const len = Number(c.req.header("content-length") ?? "0");
  if (len > MAX_ADMIN_BODY)
    return { ok: false, res: problemResponse(problem(413, "PAYLOAD_TOO_LARGE", `body over ${MAX_ADMIN_BODY} bytes`)) };
  const buf = await c.req.arrayBuffer();
  if (buf.byteLength > MAX_ADMIN_BODY)
    return { ok: false, res: problemResponse(problem(413, "PAYLOAD_TOO_LARGE", `body over ${MAX_ADMIN_BODY} bytes`)) };
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(buf)) };
  } catch {
    return { ok: false, res: problemResponse(problem(400, "MANDATORY_IE_INCORRECT", "body is not valid JSON")) };
  }
}

const invalid = (issues: { path: string; reason: string }[], detail: string) =>
  problemResponse(
    problem(
      400,
      "INVALID_CONFIGURATION",
      detail,
      issues.map((i): InvalidParam => ({ param: i.path, reason: i.reason })),
    ),
  );

export function createAdminApp(d: AdminDeps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    // Never leak internals to the client: a fixed sentence there, the error in the log (no silent failure). A
    // SeppError is written for the client (src/errors.ts): its own ProblemDetails (a full data partition: 507).
    d.log?.error("admin request failed", { method: c.req.method, path: c.req.path, error: err });
    if (err instanceof SeppError) return problemResponse(err.toProblem());
    return problemResponse(problem(500, "SYSTEM_FAILURE", "internal error"));
  });
  app.notFound(() => problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such resource")));

  // Liveness/readiness for the platform: no secrets, no token needed.
  app.get("/v1/health", (c) => {
    const h = d.health();
    return c.json({ status: h.healthy ? "UP" : "DOWN", checks: h.checks }, h.healthy ? 200 : 503);
  });

  // security event per failed authentication (TS 33.117 4.2.3.6.1); the token sent is never logged
  app.use(
    "*",
    bearerAuth(d.token, d.authLimits, (f) =>
      d.log?.warn(f.limited ? "admin authentication failed; source limited" : "admin authentication failed", {
        category: "security",
        event: "admin-auth-failure",
        source: f.source,
        reason: f.reason,
        failures: f.failures,
      }),
    ),
  );
  if (d.uploadRoutes) app.route("/", d.uploadRoutes); // streamed uploads (OTA bundles) bound their own body size
  // bounds every body, chunked ones included, before a handler reads it
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_ADMIN_BODY,
      onError: () => problemResponse(problem(413, "PAYLOAD_TOO_LARGE", `body over ${MAX_ADMIN_BODY} bytes`)),
    }),
  );

  // Changes run one at a time (read-modify-write of the peer list, If-Match), each checked as a start would
  // check it before it is stored.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const applyChecked = async (candidate: unknown, source: string): Promise<ApplyResult> => {
    const parsed = parseConfig(candidate);
    if (!parsed.ok) return parsed;
    const issues = d.check ? await d.check(parsed.config) : [];
    if (issues.length) return { ok: false, issues };
    return d.store.apply(candidate, source);
  };

  app.get("/v1/status", (c) => c.json(d.status()));

  app.get("/v1/openapi.json", (c) => c.json(ADMIN_OPENAPI));

  app.get("/metrics", async (c) =>
    c.body(d.metrics.render((await d.workerMetrics?.()) ?? []), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }),
  );

  app.get("/v1/config", (c) => {
    c.header("etag", `"${d.store.version}"`);
    return c.json(redactConfig(d.store.config));
  });

  app.put("/v1/config", async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.res;
    const ifMatch = c.req.header("if-match");
    return serial(async () => {
      if (ifMatch && ifMatch !== `"${d.store.version}"`)
        return problemResponse(problem(412, "PRECONDITION_FAILED", `configuration is at version ${d.store.version}`));
      const r = await applyChecked(unredact(body.value, d.store.config), "PUT /v1/config");
      if (!r.ok) return invalid(r.issues, "configuration refused; nothing was changed");
      c.header("etag", `"${r.version}"`);
      return c.json(redactConfig(r.config));
    });
  });

  app.get("/v1/config/history", (c) => c.json(d.store.history()));

  // ---- peers: each change is applied as a whole new configuration ----
  const peers = () => d.store.config.peers;
  const applyPeers = (next: PeerConfig[], source: string) => applyChecked({ ...d.store.config, peers: next }, source);

  app.get("/v1/peers", (c) => c.json(peers()));

  app.get("/v1/peers/:peerId", (c) => {
    const p = peers().find((x) => x.id === c.req.param("peerId"));
    return p ? c.json(p) : problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such peer"));
  });

  app.post("/v1/peers", async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.res;
    const pr = parsePeer(body.value);
    if (!pr.ok) return invalid(pr.issues, "peer refused; nothing was changed");
    return serial(async () => {
      if (peers().some((x) => x.id === pr.peer.id))
        return problemResponse(problem(409, "RESOURCE_EXISTS", `peer ${pr.peer.id} exists; use PUT`));
      const r = await applyPeers([...peers(), pr.peer], `POST /v1/peers ${pr.peer.id}`);
      if (!r.ok) return invalid(r.issues, "peer refused; nothing was changed");
      c.header("location", `/v1/peers/${pr.peer.id}`);
      return c.json(pr.peer, 201);
    });
  });

  app.put("/v1/peers/:peerId", async (c) => {
    const id = c.req.param("peerId");
    const body = await readJson(c);
    if (!body.ok) return body.res;
    const pr = parsePeer(body.value);
    if (!pr.ok) return invalid(pr.issues, "peer refused; nothing was changed");
    if (pr.peer.id !== id)
      return invalid(
        [{ path: "/id", reason: `must equal the path's peer id ${id}` }],
        "peer refused; nothing was changed",
      );
    return serial(async () => {
      const exists = peers().some((x) => x.id === id);
      const next = exists ? peers().map((x) => (x.id === id ? pr.peer : x)) : [...peers(), pr.peer];
      const r = await applyPeers(next, `PUT /v1/peers/${id}`);
      if (!r.ok) return invalid(r.issues, "peer refused; nothing was changed");
      return c.json(pr.peer, exists ? 200 : 201);
    });
  });

  app.delete("/v1/peers/:peerId", async (c) => {
    const id = c.req.param("peerId");
    if (!peers().some((x) => x.id === id)) return problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such peer"));
    if (d.n32) await d.n32.terminate(id).catch(() => undefined);
    return serial(async () => {
      const r = await applyPeers(
        peers().filter((x) => x.id !== id),
        `DELETE /v1/peers/${id}`,
      );
      if (!r.ok) return invalid(r.issues, "refused; nothing was changed");
      return c.body(null, 204);
    });
  });

  // ---- N32 per peer ----
  const withPeer = (c: Context) => {
    const id = c.req.param("peerId") ?? "";
    return peers().some((x) => x.id === id) ? id : null;
  };
  app.get("/v1/peers/:peerId/n32", (c) => {
    const id = withPeer(c);
    if (!id) return problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such peer"));
    const s = d.n32?.status(id);
    return s ? c.json(s) : problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no N32 state for this peer"));
  });
  app.post("/v1/peers/:peerId/n32/handshake", async (c) => {
    const id = withPeer(c);
    if (!id || !d.n32) return problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such peer"));
    const s = await d.n32.handshake(id).catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));
    return c.json(s, "error" in (s as object) ? 502 : 200);
  });
  app.post("/v1/peers/:peerId/n32/terminate", async (c) => {
    const id = withPeer(c);
    if (!id || !d.n32) return problemResponse(problem(404, "RESOURCE_NOT_FOUND", "no such peer"));
    await d.n32.terminate(id);
    return c.body(null, 204);
  });

  for (const r of d.extraRoutes ?? []) app.route("/", r);
  return app;
}

export { PROBLEM_JSON };
