// src/n32f/errors.ts — N32-f failures as TS 29.573 N32fErrorType / FailureReason (6.1.5.3.x), with the
// mapping of N32-PROFILE P10. Every failure of the engine is an N32fError; nothing partially reconstructed
// is returned alongside one. The same object feeds `n32f-error` (N32fErrorInfo, sent over N32-c) and the
// 403 ProblemDetailsMsgForwarding answered on n32f-process (P8).
import type {
  FailedModificationInfo,
  FailureReason,
  N32fErrorDetail,
  N32fErrorInfo,
  N32fErrorType,
  ProblemDetailsMsgForwarding,
} from "../model/n32.ts";
import { SeppError } from "../errors.ts";

export interface N32fErrorInit {
  failureReason?: FailureReason;
  /** The offending attribute (a JSON pointer into the decoded block, e.g. /payload/2/value) */
  attribute?: string;
  failedModificationList?: FailedModificationInfo[];
  /** Status the sending SEPP should give its NF (P8: 502 unless stated otherwise) */
  suggestedStatusCode?: number;
  /** n32fContextId of the message, when it could be read */
  n32fContextId?: string;
  /** metaData.messageId of the message, when it could be read */
  messageId?: string;
}

/** `code` is the N32fErrorType; status 403 (the n32f-process answer of P8). */
export class N32fError extends SeppError {
  override name = "N32fError";
  readonly errorType: N32fErrorType;
  readonly failureReason?: FailureReason;
  readonly attribute?: string;
  readonly failedModificationList?: FailedModificationInfo[];
  readonly suggestedStatusCode: number;
  n32fContextId?: string;
  messageId?: string;

  /** `detail` is for logs and ProblemDetails.detail: never put key material or decrypted values in it. */
  constructor(errorType: N32fErrorType, detail: string, init: N32fErrorInit = {}) {
    super(errorType, detail, { status: 403 });
    this.errorType = errorType;
    this.failureReason = init.failureReason;
    this.attribute = init.attribute;
    this.failedModificationList = init.failedModificationList;
    this.suggestedStatusCode = init.suggestedStatusCode ?? 502;
    this.n32fContextId = init.n32fContextId;
    this.messageId = init.messageId;
  }

  /** Body of `n32f-error` (TS 29.573 N32fErrorInfo); `receiverContextId` is the peer's own context ID (P7). */
  toN32fErrorInfo(receiverContextId?: string): N32fErrorInfo {
    const info: N32fErrorInfo = {
      n32fMessageId: this.messageId ?? "0000000000000000",
      n32fErrorType: this.errorType,
    };
    if (receiverContextId) info.n32fContextId = receiverContextId;
    if (this.failedModificationList?.length) info.failedModificationList = this.failedModificationList;
    if (this.failureReason) {
      const d: N32fErrorDetail = { attribute: this.attribute ?? "", msgReconstructFailReason: this.failureReason };
      info.errorDetailsList = [d];
    }
    return info;
  }

  /** The 403 answer on n32f-process (P8): a ProblemDetailsMsgForwarding. */
  override toProblem(): ProblemDetailsMsgForwarding {
    const p: ProblemDetailsMsgForwarding = {
      title: "Forbidden",
      status: 403,
      cause: this.errorType,
      detail: this.message,
      suggestedStatusCode: this.suggestedStatusCode,
    };
    if (this.attribute) p.invalidParams = [{ param: this.attribute, reason: this.failureReason ?? this.errorType }];
    return p;
  }
}

export const isN32fError = (e: unknown): e is N32fError => e instanceof N32fError;

/** An RI identity as TS 29.573 Fqdn (a failedModificationList entry names only such an identity). */
export const RI_FQDN = /^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}\.?$/;

/** The failure of an RI modification (TS 33.501 13.2.4.7, P5), with the RI in failedModificationList when known. */
function modificationFailure(type: N32fErrorType, detail: string, ipxId: string | undefined): N32fError {
  const id = ipxId !== undefined && RI_FQDN.test(ipxId) ? ipxId : undefined;
  return new N32fError(type, detail, id ? { failedModificationList: [{ ipxId: id, n32fErrorType: type }] } : {});
}
/** INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED: a modificationsBlock JWS that does not verify (checks 1–5). */
export const icomf = (detail: string, ipxId?: string) =>
  modificationFailure("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED", detail, ipxId);
/** MODIFICATIONS_INSTRUCTIONS_FAILED: an operation that the policy denies or that does not apply (check 6). */
export const mif = (detail: string, ipxId?: string) =>
  modificationFailure("MODIFICATIONS_INSTRUCTIONS_FAILED", detail, ipxId);

/** A message the sending SEPP refuses; `status`/`problemCause` go to the NF in a ProblemDetails (P3). */
export class ReformatError extends SeppError {
  override name = "ReformatError";
  constructor(status: number, cause: string, detail: string) {
    super(cause, detail, { status });
  }
}
