// scripts/gen-screening-defaults.ts — derives the default border screening rules (GSMA FS.36 category 1: which
// inbound operations may cross; category 2: which IEs carry PLMN identities and whose they must be) from the
// official 3GPP OpenAPI files.
//
// Regenerate (e.g. for a new 3GPP release: replace the YAML files in ../shared/spec/3gpp first):
//   ./node_modules/.bin/bun scripts/gen-screening-defaults.ts [specDir] [outFile]
//   defaults: specDir = ../shared/spec/3gpp, outFile = config/screening-defaults.json
// test/screening/defaults.test.ts re-runs generateScreeningDefaults() in memory and asserts the committed file is
// identical.
//
// Roles are the roles WE play towards a partner:
//   - "home": the partner's network serves our subscribers, so its NFs (AMF, SMF, AUSF consumers) call our home
//     NFs: the operations of HOME_APIS (restricted to PATHS where an API also has intra-PLMN resources), and the
//     callbacks of VISITED_APIS;
//   - "visited": we serve the partner's subscribers, so its home NFs call ours: the operations of VISITED_APIS and
//     the callbacks of HOME_APIS (UDM notifications to our AMF, the H-SMF's calls to our V-SMF).
// Callback operations are named `<Service>_<callback name>` as in config/api-ie-mapping.json; they are matched on
// the 3gpp-Sbi-Callback header (the URI is the consumer's own).
//
// Category 2 rules: for each operation, path variables (PATH_IES), query parameters (QUERY_IES) and the top-level
// members of the request body schema (BODY_IES; $ref and allOf followed, application/json or the members of an
// x-www-form-urlencoded body) whose NAME is listed carry a PLMN identity; the table says its kind and, per role,
// whether it must be the partner's ("peer") or ours ("own"). The output is sorted and so deterministic.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { repairQuotedScalars } from "./lib/gen-common.ts";

type Role = "home" | "visited";
type Kind = "plmnId" | "plmnIdList" | "servingNetworkName" | "supi";
type Expect = "peer" | "own";
type Node = Record<string, any>;

interface Api {
  file: string;
  service: string;
  /** only these resource templates (prefix match); absent: every path of the file */
  paths?: readonly string[];
}

export const HOME_APIS: readonly Api[] = [
  { file: "TS29503_Nudm_SDM.yaml", service: "Nudm_SDM" },
  { file: "TS29503_Nudm_UECM.yaml", service: "Nudm_UECM" },
  // UE authentication in the home network for a visited AMF (TS 33.501 6.1.3); RG and ProSe are not roaming
  { file: "TS29509_Nausf_UEAuthentication.yaml", service: "Nausf_UEAuthentication", paths: ["/ue-authentications"] },
  // the H-SMF of home-routed sessions (TS 23.502 4.3.2.2.2); /sm-contexts is AMF↔SMF inside one PLMN
  { file: "TS29502_Nsmf_PDUSession.yaml", service: "Nsmf_PDUSession", paths: ["/pdu-sessions"] },
  { file: "TS29510_Nnrf_NFDiscovery.yaml", service: "Nnrf_NFDiscovery", paths: ["/nf-instances", "/searches"] },
  { file: "TS29510_Nnrf_AccessToken.yaml", service: "Nnrf_AccessToken" },
];
export const VISITED_APIS: readonly Api[] = [
  { file: "TS29510_Nnrf_NFDiscovery.yaml", service: "Nnrf_NFDiscovery", paths: ["/nf-instances", "/searches"] },
  { file: "TS29510_Nnrf_AccessToken.yaml", service: "Nnrf_AccessToken" },
];

const PEER_OWN: Readonly<Record<Role, Expect>> = { home: "peer", visited: "own" };
const OWN_PEER: Readonly<Record<Role, Expect>> = { home: "own", visited: "peer" };
const PEER: Readonly<Record<Role, Expect>> = { home: "peer", visited: "peer" };
const OWN: Readonly<Record<Role, Expect>> = { home: "own", visited: "own" };

/** Path variables holding a subscriber identity: its home network is ours in role home (TS 23.003 2.2A). */
export const PATH_IES: Readonly<Record<string, { kind: Kind; expect: Record<Role, Expect> }>> = {
  supi: { kind: "supi", expect: OWN_PEER },
  ueId: { kind: "supi", expect: OWN_PEER },
  supiOrSuci: { kind: "supi", expect: OWN_PEER },
};
/** Query parameters (JSON-encoded complex values, TS 29.500 5.2.2.2.1) carrying PLMN IDs. */
export const QUERY_IES: Readonly<Record<string, { kind: Kind; expect: Record<Role, Expect> }>> = {
  "plmn-id": { kind: "plmnId", expect: PEER_OWN },
  "requester-plmn-list": { kind: "plmnIdList", expect: PEER },
  "target-plmn-list": { kind: "plmnIdList", expect: OWN },
};
/** Top-level request body members carrying PLMN IDs (pointer below the member where the PLMN ID is nested). */
export const BODY_IES: Readonly<Record<string, { kind: Kind; expect: Record<Role, Expect>; below?: string }>> = {
  servingNetworkName: { kind: "servingNetworkName", expect: PEER_OWN },
  servingNetwork: { kind: "plmnId", expect: PEER_OWN },
  guami: { kind: "plmnId", expect: PEER_OWN, below: "/plmnId" },
  supi: { kind: "supi", expect: OWN_PEER },
  supiOrSuci: { kind: "supi", expect: OWN_PEER },
  requesterPlmn: { kind: "plmnId", expect: PEER },
  targetPlmn: { kind: "plmnId", expect: OWN },
};

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

export interface DefaultOperation {
  service: string;
  /** API name and version from the OpenAPI `servers` URL; absent for Nnrf_AccessToken (`{apiRoot}/oauth2/token`) */
  api?: string;
  version?: string;
  method: string;
  resource?: string;
  callbackType?: string;
}
export interface DefaultPlmnRule {
  role: Role;
  api?: string;
  version?: string;
  method: string;
  resource: string;
  in: "path" | "query" | "body";
  name: string;
  kind: Kind;
  expect: Expect;
}
export interface ScreeningDefaults {
  operations: Record<Role, DefaultOperation[]>;
  plmnRules: DefaultPlmnRule[];
}

class Specs {
  readonly #docs = new Map<string, Node | null>();
  constructor(private readonly dir: string) {}
  doc(file: string): Node | null {
    if (!this.#docs.has(file)) {
      const p = join(this.dir, file);
      this.#docs.set(
        file,
        existsSync(p) ? (parse(repairQuotedScalars(readFileSync(p, "utf8")), { maxAliasCount: 100 }) as Node) : null,
      );
    }
    return this.#docs.get(file)!;
  }
  /** Follow $ref (bounded) to a node and its file. */
  deref(n: Node | undefined, file: string, depth = 0): { node: Node | null; file: string } {
    if (!n || typeof n !== "object") return { node: null, file };
    if (typeof n.$ref !== "string" || depth > 16) return { node: n, file };
    const ref = n.$ref as string;
    const hash = ref.indexOf("#");
    const f = hash > 0 ? ref.slice(0, hash) : file;
    const doc = this.doc(f);
    if (!doc) return { node: null, file: f };
    let cur: any = doc;
    for (const t of ref
      .slice(hash + 1)
      .split("/")
      .filter(Boolean))
      cur = cur?.[t.replace(/~1/g, "/").replace(/~0/g, "~")];
    return this.deref(cur ?? undefined, f, depth + 1);
  }
  /** Names of the top-level properties of a schema (allOf merged, $ref followed). */
  properties(n: Node | undefined, file: string, depth = 0): Set<string> {
    const out = new Set<string>();
    const { node, file: f } = this.deref(n, file);
    if (!node || depth > 8) return out;
    for (const k of Object.keys(node.properties ?? {})) out.add(k);
    for (const sub of node.allOf ?? []) for (const k of this.properties(sub, f, depth + 1)) out.add(k);
    return out;
  }
}

const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

/** Build the defaults from the OpenAPI files in `specDir`. Pure apart from reading those files. */
export function generateScreeningDefaults(specDir: string): ScreeningDefaults {
  const specs = new Specs(specDir);
  const operations: Record<Role, Map<string, DefaultOperation>> = { home: new Map(), visited: new Map() };
  const rules = new Map<string, DefaultPlmnRule>();
  const walk = (role: Role, api: Api, cbRole: Role) => {
    const doc = specs.doc(api.file);
    if (!doc) throw new Error(`missing OpenAPI file ${api.file} in ${specDir}`);
    const server = String(doc.servers?.[0]?.url ?? "{apiRoot}").replace(/^\{apiRoot\}/, "");
    const m = /^\/([a-z0-9-]+)\/(v\d+)$/.exec(server);
    const apiVer = m ? { api: m[1]!, version: m[2]! } : {};
    for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Node>)) {
      if (api.paths && !api.paths.some((p) => path === p || path.startsWith(`${p}/`))) continue;
      for (const meth of METHODS) {
        const op = item[meth] as Node | undefined;
        if (!op) continue;
        const method = meth.toUpperCase();
        const o: DefaultOperation = { service: api.service, ...apiVer, method, resource: path };
        operations[role].set(`${server} ${path} ${method}`, o);
        const rule = (inn: DefaultPlmnRule["in"], name: string, kind: Kind, expect: Expect) => {
          const r: DefaultPlmnRule = { role, ...apiVer, method, resource: path, in: inn, name, kind, expect };
          rules.set(JSON.stringify(r), r);
        };
        for (const [, v] of path.matchAll(/\{([^{}]+)\}/g)) {
          const ie = PATH_IES[v!];
          if (ie) rule("path", v!, ie.kind, ie.expect[role]);
        }
        for (const raw of [...(item.parameters ?? []), ...(op.parameters ?? [])] as Node[]) {
          const { node: p } = specs.deref(raw, api.file);
          const ie = p?.in === "query" ? QUERY_IES[String(p.name)] : undefined;
          if (ie) rule("query", String(p!.name), ie.kind, ie.expect[role]);
        }
        const { node: rb, file: rbf } = specs.deref(op.requestBody, api.file);
        const content = (rb?.content ?? {}) as Record<string, Node>;
        const schema = content["application/json"]?.schema ?? content["application/x-www-form-urlencoded"]?.schema;
        for (const prop of [...specs.properties(schema, rbf)].sort()) {
          const ie = BODY_IES[prop];
          if (ie) rule("body", `/${prop}${ie.below ?? ""}`, ie.kind, ie.expect[role]);
        }
        for (const cbName of Object.keys((op.callbacks ?? {}) as Record<string, Node>)) {
          const callbackType = `${api.service}_${cbName}`;
          // the producer calls the consumer back: allowed in the other role
          operations[cbRole].set(`callback ${callbackType}`, { service: api.service, method: "*", callbackType });
        }
      }
    }
  };
  for (const a of HOME_APIS) walk("home", a, "visited");
  for (const a of VISITED_APIS) walk("visited", a, "home");
  const opKey = (o: DefaultOperation) => `${o.callbackType ?? ""} ${o.api ?? ""} ${o.resource ?? ""} ${o.method}`;
  return {
    operations: {
      home: [...operations.home.values()].sort(byKey(opKey)),
      visited: [...operations.visited.values()].sort(byKey(opKey)),
    },
    plmnRules: [...rules.values()].sort(
      byKey((r) => `${r.role} ${r.api ?? ""} ${r.resource} ${r.method} ${r.in} ${r.name}`),
    ),
  };
}

export function formatDefaults(d: ScreeningDefaults): string {
  return `${JSON.stringify(d, null, 1)}\n`;
}

if (import.meta.main) {
  const root = join(import.meta.dir, "..");
  const specDir = process.argv[2] ?? join(root, "..", "shared", "spec", "3gpp");
  const outFile = process.argv[3] ?? join(root, "config", "screening-defaults.json");
  const d = generateScreeningDefaults(specDir);
  writeFileSync(outFile, formatDefaults(d));
  console.log(
    `wrote ${d.operations.home.length} home and ${d.operations.visited.length} visited operations, ${d.plmnRules.length} PLMN rules to ${outFile}`,
  );
}
