// src/openapi/validate.ts — validation of N32 bodies against the official 3GPP Rel-18 OpenAPI schemas
// (N32-PROFILE intro and P10; TS 29.573 clause 6.1.6 / 6.2.5, TS 29.571 for the common types).
// The validators are precompiled by scripts/gen-openapi.ts into validators.gen.ts (ajv standalone).
// Unknown extra members are accepted, as 3GPP allows (N32-PROFILE intro; the schemas do not close objects).
import type { ErrorObject } from "ajv";
import type { InvalidParam } from "../model/n32.ts";
import { escapeToken } from "../n32f/pointer.ts";
import * as gen from "./validators.gen.ts";

export type N32SchemaName =
  | "SecNegotiateReqData"
  | "SecNegotiateRspData"
  | "SecParamExchReqData"
  | "SecParamExchRspData"
  | "N32fContextInfo"
  | "N32fErrorInfo"
  | "N32fReformattedReqMsg"
  | "N32fReformattedRspMsg"
  | "DataToIntegrityProtectBlock"
  | "DataToIntegrityProtectAndCipherBlock"
  | "Modifications"
  | "ProblemDetails"
  | "ProblemDetailsMsgForwarding"
  | "TelescopicMapping"
  | "IpxProviderSecInfo"
  | "ProtectionPolicy";

/** An ajv (standalone) validator function. */
export type SchemaValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
type Validator = SchemaValidator;
const v = (f: unknown): Validator => f as Validator;

const VALIDATORS: Readonly<Record<N32SchemaName, Validator>> = {
  SecNegotiateReqData: v(gen.SecNegotiateReqData),
  SecNegotiateRspData: v(gen.SecNegotiateRspData),
  SecParamExchReqData: v(gen.SecParamExchReqData),
  SecParamExchRspData: v(gen.SecParamExchRspData),
  N32fContextInfo: v(gen.N32fContextInfo),
  N32fErrorInfo: v(gen.N32fErrorInfo),
  N32fReformattedReqMsg: v(gen.N32fReformattedReqMsg),
  N32fReformattedRspMsg: v(gen.N32fReformattedRspMsg),
  DataToIntegrityProtectBlock: v(gen.DataToIntegrityProtectBlock),
  DataToIntegrityProtectAndCipherBlock: v(gen.DataToIntegrityProtectAndCipherBlock),
  Modifications: v(gen.Modifications),
  ProblemDetails: v(gen.ProblemDetails),
  ProblemDetailsMsgForwarding: v(gen.ProblemDetailsMsgForwarding),
  TelescopicMapping: v(gen.TelescopicMapping),
  IpxProviderSecInfo: v(gen.IpxProviderSecInfo),
  ProtectionPolicy: v(gen.ProtectionPolicy),
};

const RECEIVED: Readonly<Record<"DataToIntegrityProtectBlock" | "DataToIntegrityProtectAndCipherBlock", Validator>> = {
  DataToIntegrityProtectBlock: v(gen.Rx_DataToIntegrityProtectBlock),
  DataToIntegrityProtectAndCipherBlock: v(gen.Rx_DataToIntegrityProtectAndCipherBlock),
};

/** The `reason` of an InvalidParam that names a missing mandatory member (see problemCauseFor). */
export const MISSING_MEMBER_REASON = "mandatory member missing";
/** Bounds on what goes back to a peer: entries, pointer length, reason length. */
export const MAX_INVALID_PARAMS = 16;
const MAX_PARAM_CHARS = 200;
const MAX_REASON_CHARS = 120;

/** Validate a parsed JSON value; null when valid, else TS 29.571 InvalidParam[] (param = JSON pointer, reason). */
export function validateBody(name: N32SchemaName, value: unknown): InvalidParam[] | null {
  const fn = VALIDATORS[name];
  if (!fn) throw new Error(`no validator for schema ${String(name)}`);
  return run(fn, value);
}

/** Receive-side variant of P10 for the decoded aad: HttpPayload.value may be any JSON value; header value may be
 *  {"headerval": string}; authorizedIpxId may be JSON null; DataToIntegrityProtectAndCipherBlock may be {"dataToEncrypt":[]} */
export function validateReceivedBlock(
  name: "DataToIntegrityProtectBlock" | "DataToIntegrityProtectAndCipherBlock",
  value: unknown,
): InvalidParam[] | null {
  const fn = RECEIVED[name];
  if (!fn) throw new Error(`no receive-side validator for schema ${String(name)}`);
  return run(fn, value);
}

/** Whether the problem is a missing mandatory member (→ cause MANDATORY_IE_MISSING) or an incorrect one (→ MANDATORY_IE_INCORRECT). */
export function problemCauseFor(params: InvalidParam[]): "MANDATORY_IE_MISSING" | "MANDATORY_IE_INCORRECT" {
  return params.length > 0 && params.every((p) => p.reason === MISSING_MEMBER_REASON)
    ? "MANDATORY_IE_MISSING"
    : "MANDATORY_IE_INCORRECT";
}

/** Run any generated validator (also the request-body ones of src/screening/body.ts): null or InvalidParam[]. */
export function schemaErrors(fn: SchemaValidator, value: unknown): InvalidParam[] | null {
  return run(fn, value);
}

function run(fn: Validator, value: unknown): InvalidParam[] | null {
  if (fn(value)) return null;
  const params = toInvalidParams(fn.errors ?? []);
  return params.length ? params : [{ param: "", reason: "invalid" }];
}

const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 3)}...` : s);

/**
 * ajv errors → InvalidParam[]. ajv stops at the first failure (allErrors off), so the list holds that
 * failure, plus for anyOf/oneOf the failure of each alternative. The anyOf/oneOf summary itself is left
 * out when its alternatives' failures are listed. Reasons come from the schema (never from the input);
 * the pointer is clipped so a huge member name from the peer is not echoed back in full.
 */
function toInvalidParams(errors: ErrorObject[]): InvalidParam[] {
  const out: InvalidParam[] = [];
  const seen = new Set<string>();
  const hasDetail = errors.some((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf");
  // a wrong type explains an enum failure at the same place (extensible enums: anyOf [enum, string])
  const typeAt = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  for (const e of errors) {
    const combinator = e.keyword === "anyOf" || e.keyword === "oneOf";
    // keep a oneOf that failed because several alternatives passed: nothing else explains it
    const ambiguous = e.keyword === "oneOf" && Array.isArray((e.params as { passingSchemas?: unknown }).passingSchemas);
    if (combinator && hasDetail && !ambiguous) continue;
    if (e.keyword === "enum" && typeAt.has(e.instancePath)) continue;
    let param = e.instancePath;
    let reason: string;
    if (e.keyword === "required") {
      param += `/${escapeToken(String((e.params as { missingProperty?: unknown }).missingProperty ?? ""))}`;
      reason = MISSING_MEMBER_REASON;
    } else {
      reason = e.message ?? e.keyword;
    }
    const p = { param: clip(param, MAX_PARAM_CHARS), reason: clip(reason, MAX_REASON_CHARS) };
    const key = `${p.param}\u0000${p.reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
    if (out.length >= MAX_INVALID_PARAMS) break;
  }
  return out;
}
