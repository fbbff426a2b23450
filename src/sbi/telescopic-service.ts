// src/sbi/telescopic-service.ts — the Nsepp_Telescopic_FQDN_Mapping service (TS 29.573,
// TS29573_SeppTelescopicFqdnMapping.yaml; TS 33.501 13.1.1.1): our NFs ask this SEPP for the telescopic label of a
// foreign FQDN, or for the foreign FQDN of a label. A hono sub-app over a TelescopicStore (telescopic-store.ts).
import { Hono } from "hono";
import * as v from "valibot";
import { Fqdn } from "../config/schema/common.ts";
import type { PlmnId } from "../model/n32.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import { isDnsLabel, plmnOfHost } from "./api-root.ts";
import { TelescopicError, type TelescopicStore } from "./telescopic-store.ts";

export interface TelescopicMapping {
  telescopicLabel: string;
  seppDomain: string;
  foreignFqdn: string;
}

export interface TelescopicAppOptions {
  /** Whether an NF may obtain a mapping for this foreign FQDN (e.g. it belongs to a configured peer's PLMN). Default: it names a PLMN (mncXXX.mccYYY.3gppnetwork.org). */
  allowForeign?: (fqdn: string, plmn: PlmnId | null) => boolean;
}

const json = (body: unknown, status: number, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
const problemJson = (status: number, cause: string, detail: string, param?: string) =>
  json(problem(status, cause, detail, param ? [{ param, reason: detail }] : undefined), status, PROBLEM_JSON);

/**
 * `GET /nsepp-telescopic/v1/mapping?foreign-fqdn=…` or `?telescopic-label=…` (TS 29.573, TS29573_SeppTelescopicFqdnMapping.yaml)
 * → 200 TelescopicMapping, or ProblemDetails: 400 (none, both, repeated or invalid parameter), 403 (foreign FQDN not
 * allowed), 404 (unknown label), 503 (table full). Mount it on the SBI-side app.
 */
export function telescopicApp(store: TelescopicStore, opts: TelescopicAppOptions = {}): Hono {
  const allow = opts.allowForeign ?? ((_f: string, plmn: PlmnId | null) => plmn !== null);
  const app = new Hono();
  app.get("/nsepp-telescopic/v1/mapping", (c) => {
    const all = c.req.queries();
    const ff = all["foreign-fqdn"] ?? [];
    const tl = all["telescopic-label"] ?? [];
    if (ff.length > 1) return problemJson(400, "MANDATORY_IE_INCORRECT", "foreign-fqdn repeated", "foreign-fqdn");
    if (tl.length > 1)
      return problemJson(400, "MANDATORY_IE_INCORRECT", "telescopic-label repeated", "telescopic-label");
    if (ff.length === 1 && tl.length === 1)
      return problemJson(
        400,
        "MANDATORY_IE_INCORRECT",
        "give either foreign-fqdn or telescopic-label, not both",
        "foreign-fqdn",
      );
    if (tl.length === 1) {
      const label = tl[0]!;
      if (!isDnsLabel(label))
        return problemJson(400, "MANDATORY_IE_INCORRECT", "telescopic-label is not a DNS label", "telescopic-label");
      const e = store.resolve(label);
      if (!e || !v.is(Fqdn, e.foreignHost)) return problemJson(404, "RESOURCE_NOT_FOUND", "unknown telescopic label");
      return json(
        {
          telescopicLabel: e.label,
          seppDomain: store.seppDomain,
          foreignFqdn: e.foreignHost,
        } satisfies TelescopicMapping,
        200,
      );
    }
    if (ff.length === 1) {
      const f = ff[0]!.toLowerCase().replace(/\.$/, "");
      if (!v.is(Fqdn, f))
        // TS 29.571 Fqdn
        return problemJson(400, "MANDATORY_IE_INCORRECT", "foreign-fqdn is not an FQDN", "foreign-fqdn");
      if (f === store.seppDomain || f.endsWith(`.${store.seppDomain}`))
        return problemJson(
          400,
          "MANDATORY_IE_INCORRECT",
          "foreign-fqdn is under this SEPP's own domain",
          "foreign-fqdn",
        );
      if (!allow(f, plmnOfHost(f)))
        return problemJson(403, "TARGET_NOT_ALLOWED", "foreign-fqdn is not in a partner network");
      try {
        const label = store.labelFor(f);
        return json(
          { telescopicLabel: label, seppDomain: store.seppDomain, foreignFqdn: f } satisfies TelescopicMapping,
          200,
        );
      } catch (e) {
        if (e instanceof TelescopicError) return json(e.toProblem(), e.status, PROBLEM_JSON);
        throw e;
      }
    }
    return problemJson(400, "MANDATORY_IE_MISSING", "foreign-fqdn or telescopic-label is required", "foreign-fqdn");
  });
  // other methods and paths: ProblemDetails too (hono's defaults answer text/plain)
  app.all("/nsepp-telescopic/v1/mapping", () => {
    const r = problemJson(405, "METHOD_NOT_ALLOWED", "the mapping resource takes GET");
    r.headers.set("allow", "GET");
    return r;
  });
  app.notFound(() => problemJson(404, "RESOURCE_NOT_FOUND", "no such Nsepp_Telescopic_FQDN_Mapping resource"));
  return app;
}
