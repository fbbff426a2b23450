// src/admin/openapi.ts — the OpenAPI 3.1 description of the local REST API (docs/API.md), served at
// GET /v1/openapi.json. Request and response schemas are converted from the valibot schemas the API validates
// with (@valibot/to-json-schema, JSON Schema 2020-12 as OpenAPI 3.1 uses), never hand-copied; the few
// response shapes that have no validator elsewhere are declared here once, in valibot too.
// test/admin-*.test.ts check every admin response they see against this document.
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { ConfigSchema } from "../config/schema.ts";
import { PeerSchema } from "../config/schema/peers.ts";
import { VERSION } from "../version.ts";
import { ChainBody, CsrBody, GenerateBody, TlsKeyBody } from "./keys.ts";

/** TS 29.571 ProblemDetails as this API sends it. */
export const ProblemDetailsSchema = v.looseObject({
  type: v.optional(v.string()),
  title: v.optional(v.string()),
  status: v.pipe(v.number(), v.integer()),
  detail: v.optional(v.string()),
  instance: v.optional(v.string()),
  cause: v.optional(v.string()),
  invalidParams: v.optional(v.array(v.object({ param: v.string(), reason: v.optional(v.string()) }))),
});
const ConfigIssueSchema = v.object({ path: v.string(), reason: v.string() });
export const StatusSchema = v.looseObject({
  version: v.string(),
  uptimeSeconds: v.optional(v.number()),
  configVersion: v.optional(v.number()),
  /** how the running configuration was chosen at start (src/config/start.ts) */
  config: v.optional(
    v.object({
      startedVersion: v.number(),
      latestVersion: v.number(),
      fallback: v.optional(v.object({ failedVersion: v.number(), reasons: v.array(ConfigIssueSchema) })),
    }),
  ),
  listeners: v.optional(v.record(v.string(), v.string())),
});
const HealthSchema = v.object({ status: v.picklist(["UP", "DOWN"]), checks: v.record(v.string(), v.unknown()) });
const HistorySchema = v.array(v.object({ version: v.number(), appliedAt: v.string(), source: v.string() }));
const N32StatusSchema = v.looseObject({ peerId: v.string(), state: v.string() });
const CertificateInfoSchema = v.object({
  subject: v.string(),
  issuer: v.string(),
  serialNumber: v.string(),
  notBefore: v.string(),
  notAfter: v.string(),
  dnsNames: v.array(v.string()),
});
const KeyInfoSchema = v.object({
  label: v.string(),
  kind: v.picklist(["identity", "tls", "kek"]),
  type: v.string(),
  backend: v.picklist(["software", "pkcs11"]),
  uri: v.optional(v.string()),
  extractable: v.optional(v.boolean()),
  sealed: v.optional(v.boolean()),
  certificate: v.optional(CertificateInfoSchema),
});
const KeysSchema = v.object({ backend: v.string(), status: v.looseObject({}), keys: v.array(KeyInfoSchema) });

type AnySchema = v.GenericSchema;
const json = (s: AnySchema, mode: "input" | "output") => {
  const { $schema: _drop, ...rest } = toJsonSchema(s, { target: "draft-2020-12", typeMode: mode, errorMode: "ignore" });
  return rest;
};

/** The schema components, converted on first use (GET /v1/openapi.json), not at start: about 10 ms of conversion. */
const componentsOf = () => ({
  Config: json(ConfigSchema, "output"),
  ConfigChange: json(ConfigSchema, "input"),
  Peer: json(PeerSchema, "output"),
  PeerChange: json(PeerSchema, "input"),
  ProblemDetails: json(ProblemDetailsSchema, "output"),
  Status: json(StatusSchema, "output"),
  Health: json(HealthSchema, "output"),
  ConfigHistory: json(HistorySchema, "output"),
  Peers: { type: "array", items: { $ref: "#/components/schemas/Peer" } },
  N32Status: json(N32StatusSchema, "output"),
  Keys: json(KeysSchema, "output"),
  KeyInfo: json(KeyInfoSchema, "output"),
  GenerateIdentity: json(GenerateBody, "input"),
  CsrRequest: json(CsrBody, "input"),
  Csr: { type: "object", properties: { csr: { type: "string" } }, required: ["csr"] },
  CertificateChain: json(ChainBody, "input"),
  TlsKey: json(TlsKeyBody, "input"),
});
type Component = keyof ReturnType<typeof componentsOf>;
let components: ReturnType<typeof componentsOf> | undefined;

const ref = (name: Component) => ({ $ref: `#/components/schemas/${name}` });
const body = (name: Component, type = "application/json") => ({ content: { [type]: { schema: ref(name) } } });
const ok = (name: Component, description: string) => ({ description, ...body(name) });
const problems = {
  default: {
    description: "an error (every error is a ProblemDetails)",
    ...body("ProblemDetails", "application/problem+json"),
  },
};
const op = (summary: string, responses: Record<string, unknown>, requestBody?: Component) => ({
  summary,
  ...(requestBody ? { requestBody: { required: true, ...body(requestBody) } } : {}),
  responses: { ...responses, ...problems },
});
const peerId = [{ name: "peerId", in: "path", required: true, schema: { type: "string" } }];

/** The OpenAPI 3.1 document of the admin API (built once; its schemas on first read). */
export const ADMIN_OPENAPI = {
  openapi: "3.1.0",
  info: { title: "sepp local REST API", version: VERSION, description: "See docs/API.md." },
  security: [{ bearer: [] }],
  paths: {
    "/v1/health": {
      get: { ...op("liveness and readiness", { 200: ok("Health", "up"), 503: ok("Health", "down") }), security: [] },
    },
    "/v1/status": { get: op("version, listeners, configuration version, peers", { 200: ok("Status", "status") }) },
    "/v1/openapi.json": {
      get: op("this document", { 200: { description: "OpenAPI 3.1", content: { "application/json": {} } } }),
    },
    "/metrics": {
      get: op("Prometheus text format", { 200: { description: "metrics", content: { "text/plain": {} } } }),
    },
    "/v1/config": {
      get: op("the running configuration (inline private keys redacted)", { 200: ok("Config", "configuration") }),
      put: op(
        "replace the configuration (checked as a start would check it)",
        { 200: ok("Config", "applied") },
        "ConfigChange",
      ),
    },
    "/v1/config/history": { get: op("stored versions, newest first", { 200: ok("ConfigHistory", "history") }) },
    "/v1/peers": {
      get: op("peers", { 200: ok("Peers", "peers") }),
      post: op("add a peer", { 201: ok("Peer", "added") }, "PeerChange"),
    },
    "/v1/peers/{peerId}": {
      parameters: peerId,
      get: op("one peer", { 200: ok("Peer", "peer") }),
      put: op("replace or add a peer", { 200: ok("Peer", "replaced"), 201: ok("Peer", "added") }, "PeerChange"),
      delete: op("remove a peer (its N32 association is terminated first)", { 204: { description: "removed" } }),
    },
    "/v1/peers/{peerId}/n32": {
      parameters: peerId,
      get: op("N32 state of the peer", { 200: ok("N32Status", "state") }),
    },
    "/v1/peers/{peerId}/n32/handshake": {
      parameters: peerId,
      post: op("run the N32-c handshake now", { 200: ok("N32Status", "state after the handshake") }),
    },
    "/v1/peers/{peerId}/n32/terminate": {
      parameters: peerId,
      post: op("terminate the N32 association", { 204: { description: "terminated" } }),
    },
    "/v1/keys": {
      get: op("key metadata (never key material)", {
        200: ok("Keys", "keys"),
        503: ok("Keys", "keystore unavailable"),
      }),
    },
    "/v1/keys/identity": {
      post: op("generate the identity key", { 201: ok("KeyInfo", "generated") }, "GenerateIdentity"),
    },
    "/v1/keys/identity/csr": {
      post: op(
        "CSR for the identity key (JSON, or PEM with Accept: application/pkcs10)",
        { 200: { description: "CSR", content: { ...body("Csr").content, "application/pkcs10": {} } } },
        "CsrRequest",
      ),
    },
    "/v1/keys/identity/certificate": {
      put: op("import the identity certificate chain", { 200: ok("KeyInfo", "imported") }, "CertificateChain"),
    },
    "/v1/keys/tls": { post: op("import and seal the TLS private key", { 204: { description: "sealed" } }, "TlsKey") },
  },
  components: {
    get schemas() {
      components ??= componentsOf();
      return components;
    },
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer", description: "the token in storage.dir/admin.token" },
    },
  },
} as const;
