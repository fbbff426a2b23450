// src/errors.ts — the one error base of the SEPP. Every failure that src/ throws on purpose is a SeppError: a
// stable machine-readable `code` (what logs, metrics and tests key on), the HTTP `status` it answers with at
// the edge, and `toProblem()` rendering it as a ProblemDetails (TS 29.571 5.2.4.1). The shape follows jose's
// JOSEError (a stable code per failure) and hono's HTTPException (the status travels with the error).
// `Error.cause` keeps its ES2022 meaning (the error this one wraps); a ProblemDetails cause is `problemCause`.
import type { ProblemDetails } from "./model/n32.ts";
import { problem } from "./problem.ts";

export interface SeppErrorOptions {
  /** HTTP status of the answer (default 500). */
  status?: number;
  /** ProblemDetails.cause when it is not `code` (TS 29.571 Table 5.2.7.2-1 or the API's own causes). */
  problemCause?: string;
  /** The error this one wraps (ES2022 `Error.cause`). */
  cause?: unknown;
}

/**
 * Base of every SEPP error.
 *
 * @example
 * ```ts
 * try { resolve(req) } catch (e) {
 *   if (e instanceof SeppError) return problemOut(e.toProblem());
 *   throw e; // a bug, not a refusal
 * }
 * ```
 */
export class SeppError extends Error {
  override name = "SeppError";
  /** Stable identifier of the failure (UPPER_SNAKE); never localised, never carries input. */
  readonly code: string;
  /** HTTP status this error answers with. */
  readonly status: number;
  /** ProblemDetails.cause of toProblem(); `code` unless the class says otherwise. */
  readonly problemCause: string;

  /** `message` is ProblemDetails.detail: never put key material or protected values in it. */
  constructor(code: string, message: string, options: SeppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 500;
    this.problemCause = options.problemCause ?? code;
  }

  /** The error as a ProblemDetails (TS 29.571): status, cause, title of the status, detail = message. */
  toProblem(): ProblemDetails {
    return problem(this.status, this.problemCause, this.message);
  }
}

export const isSeppError = (e: unknown): e is SeppError => e instanceof SeppError;
