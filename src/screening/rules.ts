// src/screening/rules.ts — the screening rules of one configuration, compiled once (per SeppConfig object):
// per peer and role the allowed operations (category 1: config/screening-defaults.json unless the peer opts out,
// plus the peer's own list), and the PLMN rules (category 2: the defaults for the roaming APIs plus configured
// ones) with their evaluation against one request. Pure.
import defaultsJson from "../../config/screening-defaults.json" with { type: "json" };
import type { PeerConfig } from "../config/schema/peers.ts";
import type { PlmnRule, ScreeningOperation } from "../config/schema/screening.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { PlmnId } from "../model/n32.ts";
import { parseContentType } from "../n32f/message.ts";
import { MultipartError, multipartRoot } from "../n32f/multipart.ts";
import { getAt, parsePointer } from "../n32f/pointer.ts";
import { type MatchedOperation, OperationTable, type OperationSpec } from "./operations.ts";
import { allIn, extract, supiHomeMatches } from "./plmn.ts";
import { asBuffer } from "../bytes.ts";

/** application/json and the +json types (a JSON body, or the JSON root part of a multipart body) */
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

export type Role = "home" | "visited";

interface Defaults {
  operations: Record<Role, OperationSpec[]>;
  plmnRules: PlmnRule[];
}
export const SCREENING_DEFAULTS = defaultsJson as unknown as Defaults;

const opKey = (role: string, prefix: string, method: string, resource: string) =>
  `${role}\n${prefix}\n${method}\n${resource}`;
const prefixOf = (api?: string, version?: string) => (api && version ? `/${api}/${version}` : "");
/** plmnRules() lists kept per role and operation */
const MAX_CACHED_PLMN_RULES = 4096;

export interface PeerRules {
  tables: Array<{ role: Role; table: OperationTable }>;
}

/** Everything the request screening needs from one configuration. */
export class CompiledRules {
  readonly #peers = new Map<string, PeerRules>();
  /** default PLMN rules by role + operation */
  readonly #defaultPlmn = new Map<string, PlmnRule[]>();
  readonly #configPlmn: PlmnRule[];
  readonly #plmnRulesOf = new Map<string, readonly PlmnRule[]>();
  readonly own: readonly PlmnId[];

  constructor(cfg: SeppConfig) {
    const s = cfg.screening;
    this.own = cfg.identity.plmnIds;
    for (const p of cfg.peers) this.#peers.set(p.id, compilePeer(p, s.operations.defaults));
    if (s.plmnConsistency.defaults)
      for (const r of SCREENING_DEFAULTS.plmnRules) {
        const k = opKey(r.role ?? "", prefixOf(r.api, r.version), r.method ?? "", r.resource ?? "");
        let l = this.#defaultPlmn.get(k);
        if (!l) {
          l = [];
          this.#defaultPlmn.set(k, l);
        }
        l.push(r);
      }
    this.#configPlmn = s.plmnConsistency.rules;
  }

  /** The operation of a request for `peer`, and the roles in which it is allowed (empty: allowed in none). */
  match(peerId: string, method: string, path: string): { op: MatchedOperation | null; roles: Role[] } {
    const p = this.#peers.get(peerId);
    let op: MatchedOperation | null = null;
    const roles: Role[] = [];
    for (const t of p?.tables ?? []) {
      const m = t.table.match(method, path);
      if (m) {
        op = m;
        roles.push(t.role);
      }
    }
    return { op, roles };
  }

  callbackAllowed(peerId: string, callbackType: string): boolean {
    return (this.#peers.get(peerId)?.tables ?? []).some((t) => t.table.callbackAllowed(callbackType));
  }

  /**
   * The category-2 rules of an operation in a role: selected from the defaults and the configured rules (up to 1024)
   * once per role and operation, then kept (asked on every screened request; the operations are those of the
   * configuration's tables, so the keys are few: bounded all the same). The list is shared: read it, do not change it.
   */
  plmnRules(role: Role, op: MatchedOperation): readonly PlmnRule[] {
    const key = opKey(role, op.prefix, op.method, op.resource); // the prefix holds op.version
    let out = this.#plmnRulesOf.get(key);
    if (out) return out;
    const list = [...(this.#defaultPlmn.get(key) ?? [])];
    for (const r of this.#configPlmn)
      if (
        (r.role === undefined || r.role === role) &&
        (r.api === undefined || prefixOf(r.api, r.version ?? op.version) === op.prefix) &&
        (r.method === undefined || r.method === op.method) &&
        (r.resource === undefined || r.resource === op.resource)
      )
        list.push(r);
    out = Object.freeze(list);
    if (this.#plmnRulesOf.size >= MAX_CACHED_PLMN_RULES) this.#plmnRulesOf.clear();
    this.#plmnRulesOf.set(key, out);
    return out;
  }
}

function compilePeer(p: PeerConfig, defaults: boolean): PeerRules {
  const extra: OperationSpec[] = p.screening.allowedOperations.map((o: ScreeningOperation) => ({ ...o }));
  return {
    tables: p.screening.roles.map((role) => ({
      role,
      table: new OperationTable(
        defaults && p.screening.useDefaults ? [...SCREENING_DEFAULTS.operations[role], ...extra] : extra,
      ),
    })),
  };
}

/** The parts of a request the PLMN rules read, parsed at most once and only when a rule needs them. */
export class RequestView {
  #query: URLSearchParams | undefined;
  #body: unknown;
  #bodyParsed = false;

  constructor(
    readonly headers: ReadonlyArray<readonly [string, string]>,
    readonly query: string | undefined,
    readonly body: Uint8Array | undefined,
    readonly maxBodyBytes: number,
  ) {}

  headerValues(name: string): string[] {
    const n = name.toLowerCase();
    const out: string[] = [];
    for (const [k, v] of this.headers) if (k === n) out.push(v);
    return out;
  }

  queryValues(name: string): string[] {
    if (this.query === undefined) return [];
    this.#query ??= new URLSearchParams(this.query);
    return this.#query.getAll(name);
  }

  /**
   * The JSON body (application/json, +json), the JSON root part of a multipart/related body (TS 29.500 6.1.2.4: the
   * N1/N2 messages ride beside it; the IEs are in the root), the fields of an x-www-form-urlencoded body, or
   * undefined.
   */
  parsedBody(): unknown {
    if (this.#bodyParsed) return this.#body;
    this.#bodyParsed = true;
    const b = this.body;
    if (!b || b.length === 0 || b.length > this.maxBodyBytes) return undefined;
    const ct = (this.headerValues("content-type")[0] ?? "").toLowerCase();
    const text = asBuffer(b).toString("utf8");
    if (JSON_TYPE.test(ct)) {
      try {
        this.#body = JSON.parse(text);
      } catch {
        this.#body = undefined;
      }
    } else if (/^multipart\/related\s*(;|$)/.test(ct)) {
      this.#body = multipartRootJson(b, this.headerValues("content-type")[0]!);
    } else if (/^application\/x-www-form-urlencoded\s*(;|$)/.test(ct)) {
      const form: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(text)) if (!Object.hasOwn(form, k)) form[k] = v;
      this.#body = form;
    }
    return this.#body;
  }

  bodyValue(pointer: string): unknown {
    const tokens = parsePointer(pointer);
    const body = this.parsedBody();
    return tokens && body !== undefined ? getAt(body, tokens) : undefined;
  }
}

/** The parsed JSON root part of a multipart/related body, or undefined (malformed, no root, root not JSON). */
function multipartRootJson(body: Uint8Array, contentType: string): unknown {
  const ct = parseContentType(contentType);
  if (!ct) return undefined;
  try {
    const root = multipartRoot(body, ct.params);
    const type = root?.headers.find(([n]) => n === "content-type")?.[1];
    if (!root || type === undefined || !JSON_TYPE.test(type)) return undefined;
    return JSON.parse(asBuffer(root.data).toString("utf8"));
  } catch (e) {
    if (e instanceof MultipartError || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** The first rule `req` breaks (an absent IE breaks none: optional IEs are the producer's business), or null. */
export function firstViolation(
  rules: readonly PlmnRule[],
  op: MatchedOperation,
  req: RequestView,
  expected: { peer: readonly PlmnId[]; own: readonly PlmnId[] },
): PlmnRule | null {
  for (const r of rules) {
    const values: unknown[] =
      r.in === "path"
        ? op.vars[r.name] === undefined
          ? []
          : [op.vars[r.name]]
        : r.in === "query"
          ? req.queryValues(r.name)
          : r.in === "header"
            ? req.headerValues(r.name)
            : [req.bodyValue(r.name)].filter((x) => x !== undefined);
    const want = r.expect === "peer" ? expected.peer : expected.own;
    for (const v of values) {
      if (r.kind === "supi") {
        if (supiHomeMatches(v, want) === "mismatch") return r;
        continue;
      }
      const found = extract(r.kind, v);
      if (found === "malformed" || (found !== null && !allIn(found, want))) return r;
    }
  }
  return null;
}
