// src/admin/system.ts — OTA update routes of the local REST API (docs/API.md, docs/UPDATES.md):
//   POST /v1/system/update   the RAUC bundle as the body (application/octet-stream), 202 when accepted
//   GET  /v1/system/update   state, progress, last error
//   GET  /v1/system/slots    booted and primary slot, each slot's version and boot status (RAUC)
//   POST /v1/system/reboot   drain N32 traffic, then reboot (202)
// Mounted behind the bearer token like every route but /v1/health.
import { Hono } from "hono";
import { problem, problemResponse } from "../problem.ts";
import type { RaucOutcome, RaucStatus } from "../../os/rauc.ts";
import type { UpdateService } from "../system/update.ts";

export interface SystemRoutesDeps {
  enabled: () => boolean;
  update: UpdateService;
  slots: () => Promise<RaucOutcome<RaucStatus>>;
  /** drain and reboot; resolves once the reboot has been started */
  reboot: (reason: string) => Promise<void>;
  version: string;
}

const disabled = () =>
  problemResponse(problem(404, "RESOURCE_NOT_FOUND", "OTA updates are not enabled (system.updates)"));

export function systemRoutes(d: SystemRoutesDeps): Hono {
  const app = new Hono();

  app.post("/v1/system/update", async (c) => {
    if (!d.enabled()) return disabled();
    const ct = c.req.header("content-type") ?? "application/octet-stream";
    if (!/^application\/(octet-stream|vnd\.rauc\.bundle)\s*(;|$)/i.test(ct))
      return problemResponse(problem(415, "UNSUPPORTED_MEDIA_TYPE", "content-type must be application/octet-stream"));
    const lenHeader = c.req.header("content-length");
    const len = lenHeader !== undefined && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
    const r = await d.update.upload(c.req.raw.body, len);
    if (!r.ok) return problemResponse(problem(r.refusal.status, r.refusal.cause, r.refusal.detail));
    c.header("location", "/v1/system/update");
    return c.json(r.status, 202);
  });

  app.get("/v1/system/update", (c) => (d.enabled() ? c.json(d.update.status()) : disabled()));

  app.get("/v1/system/slots", async (c) => {
    if (!d.enabled()) return disabled();
    const s = await d.slots();
    if (!s.ok) return problemResponse(problem(503, "SYSTEM_FAILURE", `RAUC status unavailable: ${s.error}`));
    return c.json({ running: d.version, ...s.value });
  });

  app.post("/v1/system/reboot", async (c) => {
    if (!d.enabled()) return disabled();
    if (d.update.status().state === "installing" || d.update.status().state === "receiving")
      return problemResponse(problem(409, "UPDATE_IN_PROGRESS", "an update is being installed"));
    void d.reboot("POST /v1/system/reboot");
    return c.json({ rebooting: true, drain: "N32 traffic drains before the reboot" }, 202);
  });

  return app;
}
