// src/config/schema/screening.ts — border screening (GSMA FS.36 categories, src/screening/): the global member
// and the per-peer one.
import * as v from "valibot";
import bodyTable from "../../openapi/bodies.table.json" with { type: "json" };
import { PlmnIdSchema } from "./common.ts";

/** Border screening (GSMA FS.36 categories; src/screening/): "off", "log" (security event only) or "refuse". */
const ScreeningMode = v.picklist(["off", "log", "refuse"]);
const ApiName = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,62}$/, "API name like nudm-sdm"));
const ApiVersion = v.pipe(v.string(), v.regex(/^v\d{1,3}$/, "API version like v1"));
const ResourceTemplate = v.pipe(
  v.string(),
  v.maxLength(512),
  v.regex(/^\/[^?#\s]*$/, "resource template like /{supi}/am-data"),
);
const HttpMethodName = v.picklist(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
/** Category 1: one inbound operation (API, version, method, resource template) or callback type. */
export const ScreeningOperationSchema = v.union([
  v.strictObject({
    api: v.optional(ApiName),
    version: v.optional(ApiVersion),
    method: HttpMethodName,
    resource: ResourceTemplate,
  }),
  v.strictObject({ callbackType: v.pipe(v.string(), v.minLength(1), v.maxLength(128)) }),
]);
/** Category 2: an IE carrying a PLMN identity, and whose it must be. */
export const PlmnRuleSchema = v.strictObject({
  role: v.optional(v.picklist(["home", "visited"])),
  api: v.optional(ApiName),
  version: v.optional(ApiVersion),
  method: v.optional(HttpMethodName),
  resource: v.optional(ResourceTemplate),
  in: v.picklist(["path", "query", "header", "body"]),
  /** path variable, query parameter or header name; for "body" an RFC 6901 JSON pointer (form bodies: /field) */
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  kind: v.picklist(["plmnId", "plmnIdList", "servingNetworkName", "supi", "accessToken"]),
  expect: v.picklist(["peer", "own"]),
});
/** APIs with generated body validators, by 3GPP service name (`Nudm_SDM`) or API name (`nudm-sdm`) */
const BodyApis = v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(64))), v.maxLength(64));
export const BODY_VALIDATION_APIS: ReadonlySet<string> = new Set(
  [...bodyTable.operations, ...bodyTable.callbacks].flatMap((e) =>
    "api" in e && e.api ? [e.service, e.api] : [e.service],
  ),
);
const RatePerSecond = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000));
export const ScreeningSchema = v.strictObject({
  /** Category 1: operations not allowed for the peer's roles */
  operations: v.optional(
    v.strictObject({ mode: v.optional(ScreeningMode, "off"), defaults: v.optional(v.boolean(), true) }),
    {},
  ),
  /** Category 2: PLMN-bearing IEs against the N32 peer or us */
  plmnConsistency: v.optional(
    v.strictObject({
      mode: v.optional(ScreeningMode, "off"),
      defaults: v.optional(v.boolean(), true),
      rules: v.optional(v.pipe(v.array(PlmnRuleSchema), v.maxLength(1024)), []),
    }),
    {},
  ),
  /** Category 3: which partner serves a SUPI, learned from successful authentication/registration */
  plausibility: v.optional(
    v.strictObject({
      mode: v.optional(ScreeningMode, "off"),
      windowSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(30 * 86400)), 900),
      maxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)), 100_000),
    }),
    {},
  ),
  /** TS 29.500 6.14.3: 3gpp-Sbi-Interplmn-Purpose against the purposes negotiated with the peer */
  purpose: v.optional(v.strictObject({ mode: v.optional(ScreeningMode, "off") }), {}),
  rateLimits: v.optional(
    v.strictObject({
      perPlmn: v.optional(
        v.pipe(
          v.array(
            v.strictObject({
              plmnId: PlmnIdSchema,
              maxRequestsPerSecond: RatePerSecond,
              burst: v.optional(RatePerSecond),
            }),
          ),
          v.maxLength(4096),
        ),
        [],
      ),
      perApi: v.optional(
        v.pipe(
          v.array(
            v.strictObject({
              api: ApiName,
              /** one peer's traffic to this API; absent: all peers together */
              peer: v.optional(v.string()),
              maxRequestsPerSecond: RatePerSecond,
              burst: v.optional(RatePerSecond),
            }),
          ),
          v.maxLength(4096),
        ),
        [],
      ),
    }),
    {},
  ),
  /** TS 29.500 6.4: producers' 3gpp-Sbi-Oci honoured for inbound requests (docs/CONFIG.md says how) */
  overloadControl: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      maxProducers: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 1024),
    }),
    {},
  ),
  /** Request bodies against the API's 3GPP OpenAPI schema (src/screening/body.ts); `apis` absent: every API */
  bodyValidation: v.optional(
    v.strictObject({
      mode: v.optional(ScreeningMode, "off"),
      apis: v.optional(BodyApis),
      /** larger JSON (body, multipart root, form) is a finding: validation cost grows with its size */
      maxJsonBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(16 << 20)), 65536),
    }),
    {},
  ),
  /** Security event log lines per second (per peer and rule); refusals beyond are only counted */
  securityEventsPerSecond: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 20),
});
/** Per peer: the roles we play towards it and operations allowed besides (or instead of) the defaults. */
export const PeerScreeningSchema = v.strictObject({
  roles: v.optional(v.pipe(v.array(v.picklist(["home", "visited"])), v.minLength(1)), ["home", "visited"]),
  useDefaults: v.optional(v.boolean(), true),
  allowedOperations: v.optional(v.pipe(v.array(ScreeningOperationSchema), v.maxLength(4096)), []),
  /** overrides screening.bodyValidation's mode and/or apis for this peer */
  bodyValidation: v.optional(v.strictObject({ mode: v.optional(ScreeningMode), apis: v.optional(BodyApis) })),
});

export type ScreeningConfig = v.InferOutput<typeof ScreeningSchema>;
export type ScreeningOperation = v.InferOutput<typeof ScreeningOperationSchema>;
export type PlmnRule = v.InferOutput<typeof PlmnRuleSchema>;
