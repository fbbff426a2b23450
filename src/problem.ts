// src/problem.ts — ProblemDetails (TS 29.571) responses, `application/problem+json`.
// Causes for N32-c are those of N32-PROFILE P7; for N32-f forwarding see P8/P10.
import type { InvalidParam, ProblemDetails } from "./model/n32.ts";

export const PROBLEM_JSON = "application/problem+json";

export type ProblemCause =
  | "MANDATORY_IE_MISSING"
  | "MANDATORY_IE_INCORRECT"
  | "NEGOTIATION_NOT_ALLOWED"
  | "CONTEXT_NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "NF_CONGESTION_RISK"
  | "RESOURCE_NOT_FOUND"
  | "UNAUTHORIZED"
  | "INVALID_CONFIGURATION"
  | "SYSTEM_FAILURE"
  | "POLICY_MISMATCH"
  | (string & {});

export function problem(
  status: number,
  cause: ProblemCause,
  detail: string,
  invalidParams?: InvalidParam[],
): ProblemDetails {
  const p: ProblemDetails = { status, cause, title: TITLES[status] ?? "Error", detail };
  if (invalidParams?.length) p.invalidParams = invalidParams.slice(0, 32);
  return p;
}

/** A Response carrying a ProblemDetails body. */
export function problemResponse(p: ProblemDetails, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(p), {
    status: p.status ?? 500,
    headers: { "content-type": PROBLEM_JSON, ...headers },
  });
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  411: "Length Required",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
