// src/config/schema.ts — the one valibot schema for the whole SEPP configuration.
//
// Every change (bootstrap file, PUT /v1/config, peer CRUD) is validated whole against this schema and
// the cross-field checks in checkConfig(); a change that fails is refused with every reason and changes
// nothing. Objects are strict: an unknown (mistyped) member is an error, not silently ignored.
// docs/CONFIG.md documents each member. Each area's members live in src/config/schema/<area>.ts; this module
// composes them and holds the checks across areas; importers take each name from the module that defines it.
import * as v from "valibot";
import { LOG_LEVELS } from "../log.ts";
import { plmnKey } from "../model/plmn.ts";
import { SystemSchema } from "../system/config.ts";
import { IdentitySchema } from "./schema/identity.ts";
import { isLoopbackHost, ListenersSchema } from "./schema/listeners.ts";
import { N32ConnectionsSchema, N32cSchema, redirectToProblem } from "./schema/n32c.ts";
import { PeerSchema, type PeerConfig } from "./schema/peers.ts";
import { BUILT_IN_PROFILE, SecurityProfileSchema } from "./schema/policy.ts";
import { SbiSchema } from "./schema/sbi.ts";
import { BODY_VALIDATION_APIS, ScreeningSchema } from "./schema/screening.ts";
import { AeadSchema, KeystoreSchema, TlsSchema } from "./schema/tls.ts";

export const ConfigSchema = v.strictObject({
  identity: IdentitySchema,
  listeners: ListenersSchema,
  tls: TlsSchema,
  keystore: KeystoreSchema,
  /**
   * Data-path worker threads (issue 11 §3, docs/ARCHITECTURE.md "Worker model"): "auto" (default) = one per CPU
   * where the configuration allows it, else 1 (src/workers/count.ts); 1 = the data path runs in the main thread;
   * N > 1 = N workers share the SBI and N32-f ports (SO_REUSEPORT) and one N32-f association per peer (SEQ
   * counters and replay windows in shared memory); needs a separate `listeners.n32f`, `listeners.sbi` and the
   * software AEAD engine
   */
  workers: v.optional(
    v.union([v.literal("auto"), v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))]),
    "auto",
  ),
  /**
   * With workers: "off" (default) = every request is handled by the worker its connection landed on (the kernel
   * places connections, not requests, on the workers); "least-loaded" = a worker whose thread is saturated (>= 85 %
   * of a CPU) hands the share of its requests it cannot carry to a worker at least 15 points less busy with at least
   * 2 fewer requests in hand (src/workers/handoff.ts; measured in docs/PERFORMANCE.md before it became an option)
   */
  workerHandoff: v.optional(v.picklist(["least-loaded", "off"]), "off"),
  /** Which AEAD engine carries N32-f AES-GCM */
  aead: AeadSchema,
  n32c: N32cSchema,
  /** Connection bounds of the N32 listener(s) (issue 10 §1): see docs/CONFIG.md "connection limits" */
  n32Connections: N32ConnectionsSchema,
  /** The data path (SBI side, N32-f forwarding): docs/CONFIG.md */
  sbi: SbiSchema,
  peers: v.optional(v.array(PeerSchema), []),
  /** P11: named, versioned security profiles a peer entry may choose (`n32-default` v1 is built in) */
  securityProfiles: v.optional(v.pipe(v.array(SecurityProfileSchema), v.maxLength(64)), []),
  /** Border screening (GSMA FS.36 categories): docs/CONFIG.md */
  screening: v.optional(ScreeningSchema, {}),
  admin: v.optional(
    v.strictObject({
      /** File holding the bearer token (created 0600 on first start); relative to storage.dir */
      tokenFile: v.optional(v.string(), "admin.token"),
    }),
    {},
  ),
  storage: v.optional(v.strictObject({ dir: v.optional(v.string(), "var") }), {}),
  log: v.optional(v.strictObject({ level: v.optional(v.picklist(LOG_LEVELS), "info") }), {}),
  /** OTA updates through RAUC (src/system/config.ts, docs/UPDATES.md) */
  system: v.optional(SystemSchema, {}),
});

export type SeppConfig = v.InferOutput<typeof ConfigSchema>;
export type SeppConfigInput = v.InferInput<typeof ConfigSchema>;

export interface ConfigIssue {
  path: string;
  reason: string;
}

/** Cross-field rules the per-member schema cannot express. */
function checkConfig(c: SeppConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ids = new Set<string>();
  const fqdns = new Set<string>();
  c.peers.forEach((p, i) => {
    if (ids.has(p.id)) issues.push({ path: `/peers/${i}/id`, reason: `duplicate peer id ${p.id}` });
    ids.add(p.id);
    const f = p.n32Fqdn.toLowerCase();
    if (fqdns.has(f)) issues.push({ path: `/peers/${i}/n32Fqdn`, reason: `duplicate peer FQDN ${p.n32Fqdn}` });
    fqdns.add(f);
    if (new Set(p.securityCapabilities).size !== p.securityCapabilities.length)
      issues.push({ path: `/peers/${i}/securityCapabilities`, reason: "repeated capability" });
    if (p.roamingIntermediaries.filter((r) => r.side === "own" && r.authorized).length > 1)
      issues.push({ path: `/peers/${i}/roamingIntermediaries`, reason: "at most one own RI may be authorized" });
    p.roamingIntermediaries.forEach((r, j) => {
      if (r.certificates.length === 0 && r.rawPublicKeys.length === 0)
        issues.push({
          path: `/peers/${i}/roamingIntermediaries/${j}`,
          reason: "an RI needs certificates or rawPublicKeys",
        });
    });
    // P11: a next hop is an RI (RI trust store), and TLS mode never runs through an RI that terminates TLS
    p.n32fNextHops.forEach((h, j) => {
      if (!h.trustAnchors?.length && c.tls.riTrustAnchors.length === 0)
        issues.push({
          path: `/peers/${i}/n32fNextHops/${j}/trustAnchors`,
          reason: "an RI next hop needs trust anchors (here or in tls.riTrustAnchors)",
        });
    });
    p.n32cVia.forEach((h, j) => {
      if (!h.trustAnchors?.length && c.tls.riTrustAnchors.length === 0)
        issues.push({
          path: `/peers/${i}/n32cVia/${j}/trustAnchors`,
          reason: "an RI on N32-c needs trust anchors (here or in tls.riTrustAnchors)",
        });
    });
    if (p.n32fNextHops.length > 0 && p.securityCapabilities.includes("TLS"))
      issues.push({
        path: `/peers/${i}/securityCapabilities`,
        reason: "with n32fNextHops (RIs on N32-f) only PRINS is allowed (TS 33.501 5.9.3.1; N32-PROFILE P11)",
      });
  });
  // P11 security profiles: one definition per id and version; n32-default v1 is built in; a peer names a known one
  const profiles = new Set([`${BUILT_IN_PROFILE.id}\n${BUILT_IN_PROFILE.version}`]);
  c.securityProfiles.forEach((sp, i) => {
    const k = `${sp.id}\n${sp.version}`;
    if (profiles.has(k))
      issues.push({
        path: `/securityProfiles/${i}`,
        reason: `${sp.id} version ${sp.version} is defined twice (or is the built-in n32-default v1)`,
      });
    profiles.add(k);
  });
  c.peers.forEach((p, i) => {
    if (!p.securityProfile) return;
    if (!profiles.has(`${p.securityProfile.id}\n${p.securityProfile.version}`))
      issues.push({
        path: `/peers/${i}/securityProfile`,
        reason: `no security profile ${p.securityProfile.id} version ${p.securityProfile.version} (securityProfiles)`,
      });
    if (p.protectionPolicy)
      issues.push({
        path: `/peers/${i}/protectionPolicy`,
        reason: "a peer with securityProfile takes its policy from the profile: omit protectionPolicy",
      });
  });
  if (c.n32c.redirectTo) {
    const why = redirectToProblem(c.n32c.redirectTo, c.identity);
    if (why) issues.push({ path: "/n32c/redirectTo", reason: why });
  }
  const seen = new Map<string, string>();
  c.tls.trustAnchors.forEach((a, i) => {
    for (const p of a.plmnIds) {
      const k = plmnKey(p);
      const prev = seen.get(k);
      if (prev !== undefined && prev !== a.name)
        issues.push({
          path: `/tls/trustAnchors/${i}/plmnIds`,
          reason: `PLMN ${k} already belongs to trust anchor ${prev}`,
        });
      seen.set(k, a.name);
    }
  });
  if (c.keystore.backend === "pkcs11" && !c.keystore.pinFile && !c.keystore.pinEnv)
    issues.push({ path: "/keystore", reason: "pkcs11 keystore needs pinFile or pinEnv" });
  if (c.tls.maxVersion === "TLSv1.2" && c.tls.minVersion === "TLSv1.3")
    issues.push({ path: "/tls/maxVersion", reason: "below tls.minVersion" });
  if (c.sbi.telescopicMaxEntriesPerPeer > c.sbi.telescopicMaxEntries)
    issues.push({ path: "/sbi/telescopicMaxEntriesPerPeer", reason: "must not exceed sbi.telescopicMaxEntries" });
  if (c.n32c.rekeyMarginSeconds >= c.n32c.contextValiditySeconds)
    issues.push({
      path: "/n32c/rekeyMarginSeconds",
      reason: "must be below n32c.contextValiditySeconds (else every new context is due for re-handshake at once)",
    });
  if (!isLoopbackHost(c.listeners.admin.host) && !c.listeners.admin.tls)
    issues.push({
      path: "/listeners/admin/tls",
      reason: `required: the admin listener on ${c.listeners.admin.host} is not loopback (the bearer token would travel in clear)`,
    });
  if (c.sbi.clientCa.length > 0 && !c.listeners.sbi?.tls)
    issues.push({ path: "/sbi/clientCa", reason: "client certificates need listeners.sbi.tls" });
  if (c.listeners.sbi?.tls && (!c.sbi.certificate || !c.sbi.privateKey))
    issues.push({ path: "/sbi", reason: "listeners.sbi.tls needs sbi.certificate and sbi.privateKey" });
  // screening: per-API limits name configured peers; body rules are JSON pointers; no role twice
  c.screening.rateLimits.perApi.forEach((r, i) => {
    if (r.peer !== undefined && !ids.has(r.peer))
      issues.push({ path: `/screening/rateLimits/perApi/${i}/peer`, reason: `no peer ${r.peer}` });
  });
  c.screening.plmnConsistency.rules.forEach((r, i) => {
    if (r.in === "body" && !r.name.startsWith("/"))
      issues.push({ path: `/screening/plmnConsistency/rules/${i}/name`, reason: "a body IE is a JSON pointer (/a/b)" });
    if (r.version !== undefined && r.api === undefined)
      issues.push({ path: `/screening/plmnConsistency/rules/${i}/version`, reason: "version needs api" });
  });
  const unknownBodyApis = (apis: readonly string[] | undefined, path: string) =>
    apis?.forEach((a, j) => {
      if (!BODY_VALIDATION_APIS.has(a))
        issues.push({ path: `${path}/${j}`, reason: `no body validators for API ${a} (docs/CONFIG.md lists them)` });
    });
  unknownBodyApis(c.screening.bodyValidation.apis, "/screening/bodyValidation/apis");
  c.peers.forEach((p, i) => {
    unknownBodyApis(p.screening.bodyValidation?.apis, `/peers/${i}/screening/bodyValidation/apis`);
    if (new Set(p.screening.roles).size !== p.screening.roles.length)
      issues.push({ path: `/peers/${i}/screening/roles`, reason: "repeated role" });
    p.screening.allowedOperations.forEach((o, j) => {
      if ("resource" in o && (o.api === undefined) !== (o.version === undefined))
        issues.push({
          path: `/peers/${i}/screening/allowedOperations/${j}`,
          reason: "api and version go together (both absent only for apiRoot-level resources like /oauth2/token)",
        });
    });
  });
  if (c.aead.engine === "pkcs11" && c.keystore.backend !== "pkcs11")
    issues.push({ path: "/aead/engine", reason: "the pkcs11 AEAD engine needs the pkcs11 keystore" });
  if (
    c.listeners.n32f &&
    c.listeners.n32f.port !== 0 &&
    c.listeners.n32f.port === c.listeners.n32.port &&
    c.listeners.n32f.host === c.listeners.n32.host
  )
    issues.push({ path: "/listeners/n32f", reason: "same as listeners.n32: omit listeners.n32f to share the port" });
  return issues;
}

export type ParseResult = { ok: true; config: SeppConfig } | { ok: false; issues: ConfigIssue[] };

/** Validate a whole configuration. Never throws. */
export function parseConfig(input: unknown): ParseResult {
  const r = v.safeParse(ConfigSchema, input);
  if (!r.success) {
    return {
      ok: false,
      issues: r.issues.map((i) => ({ path: `/${(v.getDotPath(i) ?? "").replaceAll(".", "/")}`, reason: i.message })),
    };
  }
  const issues = checkConfig(r.output);
  return issues.length ? { ok: false, issues } : { ok: true, config: r.output };
}

/** Validate one peer entry (admin API) before it is merged into a whole configuration. */
export function parsePeer(input: unknown): { ok: true; peer: PeerConfig } | { ok: false; issues: ConfigIssue[] } {
  const r = v.safeParse(PeerSchema, input);
  if (r.success) return { ok: true, peer: r.output };
  return {
    ok: false,
    issues: r.issues.map((i) => ({ path: `/${(v.getDotPath(i) ?? "").replaceAll(".", "/")}`, reason: i.message })),
  };
}
