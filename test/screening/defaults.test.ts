// config/screening-defaults.json (the default category-1 operations per role and category-2 PLMN rules) is what
// scripts/gen-screening-defaults.ts derives from the official 3GPP OpenAPI files, byte for byte, and covers the
// roaming APIs.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  formatDefaults,
  generateScreeningDefaults,
  type ScreeningDefaults,
} from "../../scripts/gen-screening-defaults.ts";

const root = join(import.meta.dir, "../..");
const specDir = join(root, "..", "shared", "spec", "3gpp");
const committedText = readFileSync(join(root, "config", "screening-defaults.json"), "utf8");
const committed = JSON.parse(committedText) as ScreeningDefaults;

describe("default screening rules (config/screening-defaults.json) generated from the 3GPP OpenAPI files", () => {
  test("re-running the generator in memory gives the committed file byte for byte", () => {
    expect(formatDefaults(generateScreeningDefaults(specDir))).toBe(committedText);
  });
  test("role home: the roaming operations of UDM, AUSF, H-SMF and NRF; no intra-PLMN resources", () => {
    const ops = committed.operations.home.map(
      (o) => `${o.method} ${o.api ? `${o.api}/${o.version}` : ""}${o.resource}`,
    );
    for (const o of [
      "GET nudm-sdm/v2/{supi}/am-data",
      "PUT nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
      "POST nausf-auth/v1/ue-authentications",
      "POST nsmf-pdusession/v1/pdu-sessions",
      "GET nnrf-disc/v1/nf-instances",
      "POST /oauth2/token",
    ])
      expect(ops).toContain(o);
    expect(ops.some((o) => o.includes("/sm-contexts"))).toBe(false);
    expect(ops.some((o) => o.includes("/rg-authentications"))).toBe(false);
  });
  test("role visited: the home network's callbacks to our AMF and V-SMF", () => {
    const cbs = committed.operations.visited.map((o) => o.callbackType).filter(Boolean);
    expect(cbs).toContain("Nudm_SDM_datachangeNotification");
    expect(cbs).toContain("Nudm_UECM_deregistrationNotification");
    expect(cbs).toContain("Nsmf_PDUSession_update");
  });
  test("PLMN rules: serving network name the peer's, the SUPI ours, NRF requester/target lists", () => {
    const rules = committed.plmnRules.map((r) => `${r.role} ${r.api ?? ""}${r.resource} ${r.in}:${r.name}=${r.expect}`);
    for (const r of [
      "home nausf-auth/ue-authentications body:/servingNetworkName=peer",
      "home nudm-sdm/{supi}/am-data path:supi=own",
      "home nudm-sdm/{supi}/am-data query:plmn-id=peer",
      "home nudm-uecm/{ueId}/registrations/amf-3gpp-access body:/guami/plmnId=peer",
      "home nsmf-pdusession/pdu-sessions body:/servingNetwork=peer",
      "home nnrf-disc/nf-instances query:requester-plmn-list=peer",
      "home nnrf-disc/nf-instances query:target-plmn-list=own",
      "visited nnrf-disc/nf-instances query:target-plmn-list=own",
    ])
      expect(rules).toContain(r);
  });
});
