// src/screening/screening.ts — border screening of the partners' requests at the pSEPP (GSMA FS.36 categories 1–3,
// TS 29.500 6.14.3 inter-PLMN purpose, rate limits per PLMN and per API, producers' overload control of
// TS 29.500 6.4, request bodies against the APIs' OpenAPI schemas), called once per request after verification/reconstruction and before delivery (`inbound`), and
// once with the producer's answer (`answered`). Rule evaluation is pure (rules.ts, plmn.ts, operations.ts); the
// state here is the category-3 record, the rate buckets and the overload table, all bounded.
//
// Each refusal (and each "log" mode finding) is a security event: one JSON log line with `category: "security"`,
// the peer, the rule and the messageId — never an IE value — and a counter `sepp_screening_events_total`.
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Counter, Registry } from "../metrics.ts";
import type { InvalidParam, PlmnId, ProblemDetails } from "../model/n32.ts";
import type { HttpMessage } from "../n32f/message.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";
import { TokenBucket } from "../sbi/limits.ts";
import { ORIGINATING_NETWORK_ID, parseOriginatingNetworkId } from "../sbi/origin.ts";
import { apiSelected, bodyEntryOf, checkBody, loadBodyValidators } from "./body.ts";
import { apiOf, type MatchedOperation } from "./operations.ts";
import { OverloadTable } from "./overload.ts";
import { ServingPartnerStore } from "./plausibility.ts";
import { supiOf } from "./plmn.ts";
import { checkPurpose } from "./purpose.ts";
import { ScreeningRates } from "./rates.ts";
import { CompiledRules, firstViolation, RequestView, type Role } from "./rules.ts";
import { peerById } from "../config/peer-index.ts";

export interface ScreenedRequest {
  peer: PeerConfig;
  /** the PLMNs of the N32-f context's peer (or the peer's configured ones) */
  remotePlmnIds: readonly PlmnId[];
  /** N32-f messageId (PRINS); absent in TLS mode */
  messageId?: string;
  method?: string;
  /** target path (apiRoot path prefix + resource), no query */
  path?: string;
  query?: string;
  /** target authority (the producer) */
  authority?: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array;
}

/** What `answered` needs to know about the request (null: nothing to do with the answer). */
export interface Ticket {
  peerId: string;
  authority: string;
  op: MatchedOperation | null;
}

export interface Refusal {
  status: number;
  problem: ProblemDetails;
  /** headers of the refusal besides content-type (retry-after, 3gpp-sbi-oci) */
  headers: Array<[string, string]>;
}

export type Verdict = { ok: true; ticket: Ticket | null } | { ok: false; refusal: Refusal };

type Category = "category-1" | "category-2" | "category-3" | "purpose" | "body" | "rate-limit" | "overload";

export const SCREENING_CAUSES = {
  "category-1": "SCREENING_CAT1_NOT_ALLOWED",
  "category-2": "SCREENING_CAT2_PLMN_MISMATCH",
  "category-3": "SCREENING_CAT3_IMPLAUSIBLE",
  purpose: "SCREENING_PURPOSE_NOT_ALLOWED",
  body: "SCREENING_BODY_INVALID",
  // rate limits and overload keep the 3GPP causes a consumer reacts to with back-off (TS 29.500 5.2.7.2)
  "rate-limit": "NF_CONGESTION_RISK",
  overload: "NF_CONGESTION",
} as const satisfies Record<Category, string>;

/** Subscriber identities a category-3 check reads: path variables, and these body members of these operations. */
const SUPI_VARS = ["supi", "ueId", "supiOrSuci"] as const;
const SUPI_BODY_OPS = new Set(["/nsmf-pdusession/v1 POST /pdu-sessions"]);
/** Category 3 learning: successful registrations (SUPI in the path) and authentications (SUPI in the answer). */
const LEARN_FROM_PATH = new Set([
  "/nudm-uecm/v1 PUT /{ueId}/registrations/amf-3gpp-access",
  "/nudm-uecm/v1 PUT /{ueId}/registrations/amf-non-3gpp-access",
]);
const LEARN_FROM_ANSWER = new Set([
  "/nausf-auth/v1 PUT /ue-authentications/{authCtxId}/5g-aka-confirmation",
  "/nausf-auth/v1 POST /ue-authentications/{authCtxId}/eap-session",
]);
const MAX_ANSWER_BYTES = 65536;
const CALLBACK = "3gpp-sbi-callback";
const PURPOSE = "3gpp-sbi-interplmn-purpose";
const OCI = "3gpp-sbi-oci";
const MAX_EVENT_LIMITERS = 4096;

const opName = (op: MatchedOperation) => `${op.prefix} ${op.method} ${op.resource}`;

/** What one data-path worker's screening learned, for the others (docs/ARCHITECTURE.md "Worker model"). */
export type ScreeningObservation =
  | { kind: "serving"; supi: string; peerId: string }
  | { kind: "overload"; authority: string; oci: string[] };

export class Screening {
  readonly #config: () => SeppConfig;
  readonly #log: Logger;
  readonly #events: Counter;
  readonly #suppressed: Counter;
  readonly #compiled = new WeakMap<SeppConfig, CompiledRules>();
  readonly #rates: ScreeningRates;
  readonly #serving: ServingPartnerStore;
  readonly #overload: OverloadTable;
  readonly #eventLimiters = new Map<string, TokenBucket>();
  #configured: SeppConfig | null = null;
  readonly #share: ((o: ScreeningObservation) => void) | undefined;

  constructor(o: {
    config: () => SeppConfig;
    /**
     * What this data path learned that the other data-path workers must know too (a serving partner, a producer's
     * overload): posted to them through the main thread (src/workers/), applied there with `observe`.
     */
    share?: (o: ScreeningObservation) => void;
    log: Logger;
    metrics: Registry;
    /** ms, monotonic (tests inject their own clock) */
    now?: () => number;
  }) {
    this.#config = o.config;
    this.#log = o.log;
    this.#share = o.share;
    this.#events = o.metrics.counter(
      "sepp_screening_events_total",
      "Border screening findings by peer, category (category-1|category-2|category-3|purpose|body|rate-limit|overload), rule and action (refused|logged)",
    );
    this.#suppressed = o.metrics.counter(
      "sepp_screening_security_events_suppressed_total",
      "Screening security events counted but not logged (over screening.securityEventsPerSecond), by peer",
    );
    const s = o.config().screening;
    this.#rates = new ScreeningRates();
    this.#serving = new ServingPartnerStore({ ...s.plausibility, now: o.now });
    this.#overload = new OverloadTable({ maxProducers: s.overloadControl.maxProducers, now: o.now });
    o.metrics
      .gauge("sepp_screening_serving_records", "Category-3 records (SUPI → serving partner) held")
      .set({}, () => this.#serving.size);
    o.metrics
      .gauge("sepp_screening_overloaded_producers", "Producers with a 3gpp-Sbi-Oci in force")
      .set({}, () => this.#overload.size);
    this.#reconfigure(o.config());
  }

  #rules(cfg: SeppConfig): CompiledRules {
    if (this.#configured !== cfg) this.#reconfigure(cfg);
    let r = this.#compiled.get(cfg);
    if (!r) {
      r = new CompiledRules(cfg);
      this.#compiled.set(cfg, r);
    }
    return r;
  }

  /** A new configuration: buckets, bounds; the records of removed peers go. */
  #reconfigure(cfg: SeppConfig): void {
    const prev = this.#configured;
    this.#configured = cfg;
    const s = cfg.screening;
    this.#rates.configure(s.rateLimits);
    this.#serving.reconfigure(s.plausibility.windowSeconds, s.plausibility.maxEntries);
    this.#overload.maxProducers = s.overloadControl.maxProducers;
    // the security-event log rate: limiters made under the previous rate start over under the new one
    if (prev && prev.screening.securityEventsPerSecond !== s.securityEventsPerSecond) this.#eventLimiters.clear();
    // the generated body validators are loaded when a configuration first uses them, not per request
    if (s.bodyValidation.mode !== "off" || cfg.peers.some((p) => (p.screening.bodyValidation?.mode ?? "off") !== "off"))
      loadBodyValidators();
    if (prev) for (const p of prev.peers) if (!peerById(cfg, p.id)) this.#serving.forgetPeer(p.id);
  }

  /** Screen one inbound request from a partner; refusals come with the ProblemDetails to answer. */
  inbound(r: ScreenedRequest): Verdict {
    const req = { ...r, method: r.method ?? "", path: r.path ?? "/", authority: r.authority ?? "" };
    const cfg = this.#config();
    const rules = this.#rules(cfg);
    const s = cfg.screening;
    const peer = req.peer;
    // TS 29.500 6.14.3: the purpose against those negotiated with this peer (N32-c intendedUsagePurpose)
    if (s.purpose.mode !== "off") {
      const values = headerValues(req.headers, PURPOSE);
      const r = checkPurpose(values, peer.intendedUsagePurpose);
      if (!r.ok && this.#finding(req, "purpose", r.reason, s.purpose.mode))
        return refuse(403, "purpose", `3gpp-Sbi-Interplmn-Purpose ${r.reason}`);
    }
    const needOp = s.operations.mode !== "off" || s.plmnConsistency.mode !== "off" || s.plausibility.mode !== "off";
    const bodyMode = peer.screening.bodyValidation?.mode ?? s.bodyValidation.mode;
    const callbackType =
      needOp || bodyMode !== "off" ? callbackTypeOf(headerValues(req.headers, CALLBACK)[0]) : undefined;
    const { op, roles } =
      needOp && callbackType === undefined
        ? rules.match(peer.id, req.method, req.path)
        : { op: null, roles: [] as Role[] };
    // category 1: what may cross at all
    if (s.operations.mode !== "off") {
      const allowed = callbackType !== undefined ? rules.callbackAllowed(peer.id, callbackType) : op !== null;
      if (!allowed && this.#finding(req, "category-1", callbackType ? "callback-type" : "operation", s.operations.mode))
        return refuse(
          403,
          "category-1",
          callbackType ? "callback type not allowed from this partner" : "operation not allowed from this partner",
        );
    }
    // the body against the API's OpenAPI schema (per API; the peer's setting overrides the global one)
    if (bodyMode !== "off") {
      const found = bodyEntryOf(req.method, req.path, callbackType);
      if (found && apiSelected(found.entry, peer.screening.bodyValidation?.apis ?? s.bodyValidation.apis)) {
        const bad = checkBody(found.entry, req.headers, req.body, s.bodyValidation.maxJsonBytes);
        if (bad && this.#finding(req, "body", bad.rule, bodyMode))
          return refuse(400, "body", bad.detail, [], bad.invalidParams);
      }
    }
    const view = new RequestView(req.headers, req.query, req.body, cfg.sbi.maxBodyBytes);
    // category 2: PLMN identities in the request against the peer's or ours, as the operation's role says
    if (s.plmnConsistency.mode !== "off" && op) {
      const expected = { peer: req.remotePlmnIds, own: rules.own };
      let broken: { in: string; name: string } | null = null;
      for (const role of roles) {
        broken = firstViolation(rules.plmnRules(role, op), op, view, expected);
        if (!broken) break; // consistent in one of the roles the operation is allowed in
      }
      if (broken && this.#finding(req, "category-2", `${broken.in}:${broken.name}`, s.plmnConsistency.mode))
        return refuse(403, "category-2", `the PLMN in ${broken.in} ${broken.name} is not the one its role requires`);
    }
    // category 3: another partner serves this subscriber (within the window)
    if (s.plausibility.mode !== "off" && op) {
      const supi = supiOfRequest(op, view);
      if (
        supi &&
        !this.#serving.plausible(supi, peer.id) &&
        this.#finding(req, "category-3", "serving-partner", s.plausibility.mode)
      )
        return refuse(403, "category-3", "the subscriber is served by another partner");
    }
    // rate limits per originating PLMN and per API
    if (s.rateLimits.perPlmn.length || s.rateLimits.perApi.length) {
      const r = this.#rates.admit(peer.id, originPlmn(req), op?.api ?? apiOf(req.path));
      if (!r.ok && this.#finding(req, "rate-limit", r.rule, "refuse"))
        return refuse(
          429,
          "rate-limit",
          r.rule === "rate-plmn" ? "request rate of this PLMN exceeded" : "request rate of this API exceeded",
          [["retry-after", String(r.retryAfterSeconds)]],
        );
    }
    // TS 29.500 6.4: the producer asked for less traffic
    if (s.overloadControl.enabled) {
      const r = this.#overload.admit(req.authority);
      if (!r.ok && this.#finding(req, "overload", "oci", "refuse"))
        return refuse(503, "overload", "the target NF is in overload", [
          ["retry-after", String(r.retryAfterSeconds)],
          [OCI, r.oci],
        ]);
    }
    const learns = s.plausibility.mode !== "off" && op !== null;
    return {
      ok: true,
      ticket: s.overloadControl.enabled || learns ? { peerId: peer.id, authority: req.authority, op } : null,
    };
  }

  /** The producer answered a screened request: overload control information, category-3 learning. */
  answered(
    t: Ticket | null,
    status: number,
    headers: ReadonlyArray<readonly [string, string]>,
    body: Uint8Array | undefined,
  ): void {
    if (!t) return;
    const s = this.#config().screening;
    if (s.overloadControl.enabled) {
      const oci = headerValues(headers, OCI);
      if (oci.length) {
        this.#overload.observe(t.authority, oci);
        this.#share?.({ kind: "overload", authority: t.authority, oci });
      }
    }
    if (s.plausibility.mode === "off" || !t.op || status < 200 || status > 299) return;
    const k = opName(t.op);
    if (LEARN_FROM_PATH.has(k)) {
      const supi = supiOf(t.op.vars.ueId);
      if (supi) this.#learn(supi, t.peerId);
    } else if (LEARN_FROM_ANSWER.has(k) && body && body.length <= MAX_ANSWER_BYTES) {
      const a = new RequestView(headers, undefined, body, MAX_ANSWER_BYTES).parsedBody() as
        | { supi?: unknown; authResult?: unknown }
        | undefined;
      const supi = a?.authResult === "AUTHENTICATION_SUCCESS" ? supiOf(a.supi) : null;
      if (supi) this.#learn(supi, t.peerId);
    }
  }

  #learn(supi: string, peerId: string): void {
    this.#serving.learn(supi, peerId);
    this.#share?.({ kind: "serving", supi, peerId });
  }

  /** An observation another data-path worker made (see `share`): applied here as if made here, not shared again. */
  observe(o: ScreeningObservation): void {
    if (o.kind === "serving") {
      if (peerById(this.#config(), o.peerId)) this.#serving.learn(o.supi, o.peerId);
    } else if (this.#config().screening.overloadControl.enabled) this.#overload.observe(o.authority, o.oci);
  }

  /** Count and log one finding; true when the request is to be refused (mode "refuse"). */
  #finding(req: ScreenedRequest, category: Category, rule: string, mode: "log" | "refuse"): boolean {
    const action = mode === "refuse" ? "refused" : "logged";
    const peer = req.peer.id;
    this.#events.inc({ action, category, peer, rule });
    const key = `${peer}\n${category}\n${rule}`;
    let b = this.#eventLimiters.get(key);
    if (!b) {
      if (this.#eventLimiters.size >= MAX_EVENT_LIMITERS) this.#eventLimiters.clear();
      const n = this.#config().screening.securityEventsPerSecond;
      b = new TokenBucket(n, n);
      this.#eventLimiters.set(key, b);
    }
    if (b.tryTake())
      this.#log.warn(mode === "refuse" ? "screening: request refused" : "screening: request logged", {
        category: "security",
        screening: category,
        rule,
        action,
        peer,
        messageId: req.messageId,
      });
    else this.#suppressed.inc({ peer });
    return mode === "refuse";
  }
}

function refuse(
  status: number,
  category: Category,
  detail: string,
  headers: Array<[string, string]> = [],
  invalidParams?: InvalidParam[],
): Verdict {
  return {
    ok: false,
    refusal: { status, problem: problem(status, SCREENING_CAUSES[category], detail, invalidParams), headers },
  };
}

function headerValues(headers: ReadonlyArray<readonly [string, string]>, name: string): string[] {
  const out: string[] = [];
  for (const [k, v] of headers) if (k === name) out.push(v);
  return out;
}

/** TS 29.500 ABNF: cbtype *1(";" apiversion) */
function callbackTypeOf(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.split(";")[0]!.trim();
  return t || undefined;
}

function supiOfRequest(op: MatchedOperation, view: RequestView): string | null {
  for (const v of SUPI_VARS) {
    const s = supiOf(op.vars[v]);
    if (s) return s;
  }
  return SUPI_BODY_OPS.has(opName(op)) ? supiOf(view.bodyValue("/supi")) : null;
}

/** The originating PLMN: 3gpp-Sbi-Originating-Network-Id (already checked against the peer), else the peer's first. */
function originPlmn(req: ScreenedRequest): PlmnId | null {
  const v = headerValues(req.headers, ORIGINATING_NETWORK_ID)[0];
  if (v !== undefined)
    try {
      return parseOriginatingNetworkId(v).plmn;
    } catch {
      // refused earlier by the origin check; nothing to charge
    }
  return req.remotePlmnIds[0] ?? null;
}

/** A refusal as an HTTP response (TLS mode), or as the NF's answer inside the protected response (PRINS, P10). */
export function refusalResponse(r: Refusal): { status: number; headers: Array<[string, string]>; body: string } {
  return { status: r.status, headers: [["content-type", PROBLEM_JSON], ...r.headers], body: JSON.stringify(r.problem) };
}
export function refusalMessage(r: Refusal): HttpMessage {
  const x = refusalResponse(r);
  return { kind: "response", status: x.status, headers: x.headers, body: Buffer.from(x.body) };
}
