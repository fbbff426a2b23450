// src/n32c/messages.ts — builders of every N32-c body we send (TS 29.573 6.1.6, N32-PROFILE P7). Pure.
// Each builder validates its result against the official schema (src/openapi): a body that fails our own
// validation is a bug in this SEPP, so it throws instead of sending.
import type {
  FailedModificationInfo,
  InvalidParam,
  IpxProviderSecInfo,
  N32fContextInfo,
  N32fErrorDetail,
  N32fErrorInfo,
  N32fErrorType,
  N32Purpose,
  PlmnId,
  ProblemDetails,
  ProtectionPolicy,
  SecNegotiateReqData,
  SecNegotiateRspData,
  SecParamExchReqData,
  SecParamExchRspData,
  SecurityCapability,
  SecurityProfileRef,
} from "../model/n32.ts";
import { validateBody, type N32SchemaName } from "../openapi/validate.ts";
import { SeppError } from "../errors.ts";

/** `supportedFeatures` with NFTLST (feature 1, N32-PROFILE P7). */
export const SUPPORTED_FEATURES = "1";
/** n32fMessageId of an n32f-error that is not about an N32-f message (P10). */
export const NO_MESSAGE_ID = "0000000000000000";
export const JWS_SUITE = "ES256";

export class InvalidOwnBodyError extends SeppError {
  override name = "InvalidOwnBodyError";
  constructor(detail: string) {
    super("INVALID_OWN_BODY", detail, { status: 500, problemCause: "SYSTEM_FAILURE" });
  }
}

/** Validate a body we are about to send; throws (a bug) when it does not match the schema. */
export function checked<T>(schema: N32SchemaName, body: T): T {
  const errs = validateBody(schema, body);
  if (errs)
    throw new InvalidOwnBodyError(
      `own ${schema} body invalid: ${errs.map((e) => `${e.param} ${e.reason ?? ""}`).join("; ")}`,
    );
  return body;
}

export interface OwnIdentity {
  n32Fqdn: string;
  plmnIds: PlmnId[];
  n32fFqdn?: string;
  /** our announced N32-f ports (identity.n32fPorts, else the bound listener's port); absent when unknown */
  n32fPorts?: number[];
}

/** exchange-capability request (TS 33.501 13.5 step 1; P7): capabilities in our priority order. */
export function secNegotiateReq(
  me: OwnIdentity,
  o: { capabilities: SecurityCapability[]; targetPlmnId?: PlmnId; purposes: N32Purpose[] },
): SecNegotiateReqData {
  const b: SecNegotiateReqData = {
    sender: me.n32Fqdn,
    supportedSecCapabilityList: o.capabilities,
    "3GppSbiTargetApiRootSupported": true,
    plmnIdList: me.plmnIds,
    supportedFeatures: SUPPORTED_FEATURES,
    senderN32fFqdn: me.n32fFqdn ?? me.n32Fqdn,
  };
  if (o.targetPlmnId) b.targetPlmnId = o.targetPlmnId;
  if (o.purposes.length) b.intendedUsagePurpose = o.purposes.map((usagePurpose) => ({ usagePurpose }));
  if (me.n32fPorts?.length) b.senderN32fPort = me.n32fPorts[0];
  return checked("SecNegotiateReqData", b);
}

/** NFTLST teardown request: `["NONE"]` (P7). */
export function secNegotiateNoneReq(me: OwnIdentity): SecNegotiateReqData {
  return checked("SecNegotiateReqData", {
    sender: me.n32Fqdn,
    supportedSecCapabilityList: ["NONE"],
    plmnIdList: me.plmnIds,
    supportedFeatures: SUPPORTED_FEATURES,
  });
}

export function secNegotiateRsp(
  me: OwnIdentity,
  o: { selected: SecurityCapability; allowed?: N32Purpose[]; rejected?: N32Purpose[] },
): SecNegotiateRspData {
  const b: SecNegotiateRspData = {
    sender: me.n32Fqdn,
    selectedSecCapability: o.selected,
    "3GppSbiTargetApiRootSupported": true,
    plmnIdList: me.plmnIds,
    supportedFeatures: SUPPORTED_FEATURES,
  };
  if (o.selected !== "NONE") b.senderN32fFqdn = me.n32fFqdn ?? me.n32Fqdn;
  if (o.selected !== "NONE" && me.n32fPorts?.length) b.senderN32fPortList = [...me.n32fPorts];
  if (o.allowed?.length) b.allowedUsagePurpose = o.allowed.map((usagePurpose) => ({ usagePurpose }));
  if (o.rejected?.length)
    b.rejectedUsagePurpose = o.rejected.map((usagePurpose) => ({
      usagePurpose,
      cause: "usage purpose not allowed with this PLMN",
    }));
  return checked("SecNegotiateRspData", b);
}

/**
 * exchange-params request (P7): cipher-suite round, policy round, RI round, or all in one. The policy round carries
 * our full policy, or (P11) the security profile indicated instead (`securityProfile`, an extension member the
 * schema allows).
 */
export function secParamExchReq(o: {
  n32fContextId: string;
  sender?: string;
  jweCipherSuites?: string[];
  policy?: ProtectionPolicy;
  profile?: SecurityProfileRef;
  ris?: IpxProviderSecInfo[];
}): SecParamExchReqData {
  const b: SecParamExchReqData = { n32fContextId: o.n32fContextId };
  if (o.jweCipherSuites) {
    b.jweCipherSuiteList = o.jweCipherSuites;
    b.jwsCipherSuiteList = [JWS_SUITE];
  }
  if (o.policy) b.protectionPolicyInfo = o.policy;
  if (o.profile) b.securityProfile = { id: o.profile.id, version: o.profile.version };
  if (o.ris?.length) b.ipxProviderSecInfoList = o.ris;
  if (o.sender) b.sender = o.sender;
  return checked("SecParamExchReqData", b);
}

/** exchange-params answer: our full policy, or (P11) the agreed security profile echoed instead. */
export function secParamExchRsp(o: {
  n32fContextId: string;
  sender?: string;
  jweSuite?: string;
  policy?: ProtectionPolicy;
  profile?: SecurityProfileRef;
  ris?: IpxProviderSecInfo[];
}): SecParamExchRspData {
  const b: SecParamExchRspData = { n32fContextId: o.n32fContextId };
  if (o.jweSuite) {
    b.selectedJweCipherSuite = o.jweSuite;
    b.selectedJwsCipherSuite = JWS_SUITE;
  }
  if (o.policy) b.selProtectionPolicyInfo = o.policy;
  if (o.profile) b.securityProfile = { id: o.profile.id, version: o.profile.version };
  if (o.ris?.length) b.ipxProviderSecInfoList = o.ris;
  if (o.sender) b.sender = o.sender;
  return checked("SecParamExchRspData", b);
}

/** n32f-terminate request (the receiver's own ID) and response (the requester's own ID) (P7, P10). */
export function n32fContextInfo(n32fContextId: string): N32fContextInfo {
  return checked("N32fContextInfo", { n32fContextId });
}

/** What an n32f-error reports (P7): `receiverContextId` = the receiver's own context ID, `messageId` = the failed
 *  message's metaData.messageId ("0000000000000000" when none). */
export interface N32fErrorReport {
  type: N32fErrorType;
  receiverContextId?: string;
  messageId?: string;
  policyMismatchList?: InvalidParam[];
  failedModificationList?: FailedModificationInfo[];
  errorDetailsList?: N32fErrorDetail[];
}

/** n32f-error (P7): `n32fContextId` = the receiver's own context ID. */
export function n32fErrorInfo(o: N32fErrorReport): N32fErrorInfo {
  const b: N32fErrorInfo = { n32fMessageId: o.messageId ?? NO_MESSAGE_ID, n32fErrorType: o.type };
  if (o.receiverContextId) b.n32fContextId = o.receiverContextId;
  if (o.policyMismatchList?.length) b.policyMismatchList = o.policyMismatchList.slice(0, 32);
  if (o.failedModificationList?.length) b.failedModificationList = o.failedModificationList.slice(0, 32);
  if (o.errorDetailsList?.length) b.errorDetailsList = o.errorDetailsList.slice(0, 32);
  return checked("N32fErrorInfo", b);
}

export function problemBody(p: ProblemDetails): ProblemDetails {
  return checked("ProblemDetails", p);
}

/** What the peer announced in exchange-capability (P11; its body validated against the schema before). */
export interface PeerAnnouncement {
  n32fFqdn?: string;
  /** the announced ports in the peer's order, only those in 1..65535 */
  n32fPorts: number[];
  /** `3GppSbiTargetApiRootSupported` (schema default: false) */
  targetApiRootSupported: boolean;
}

/** The announcement of an exchange-capability body (request from an initiator, answer from a responder). */
export function announcementOf(b: SecNegotiateReqData | SecNegotiateRspData): PeerAnnouncement {
  const single = (b as SecNegotiateReqData).senderN32fPort;
  const list = (b as SecNegotiateRspData).senderN32fPortList ?? (single === undefined ? [] : [single]);
  const a: PeerAnnouncement = {
    // a Uinteger outside the port range is not a port: left out (bounded: the first 8)
    n32fPorts: list.slice(0, 8).filter((p) => Number.isInteger(p) && p >= 1 && p <= 65535),
    targetApiRootSupported: b["3GppSbiTargetApiRootSupported"] === true,
  };
  if (b.senderN32fFqdn !== undefined) a.n32fFqdn = b.senderN32fFqdn;
  return a;
}
