// src/model/n32.ts — TypeScript shapes of the N32 data types of TS 29.573 (Rel-18 OpenAPI:
// TS29573_N32_Handshake.yaml, TS29573_JOSEProtectedMessageForwarding.yaml) and the few TS 29.571
// common types they use. Shapes only: validation against the official schemas is src/openapi/.
// Member names are the wire names, including the legacy `IeList` and `3GppSbiTargetApiRootSupported`.

// ---- TS 29.571 common data ----
export interface PlmnId {
  mcc: string; // ^\d{3}$
  mnc: string; // ^\d{2,3}$
}
export interface PlmnIdNid extends PlmnId {
  nid?: string;
}
export interface InvalidParam {
  param: string;
  reason?: string;
}
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  cause?: string;
  invalidParams?: InvalidParam[];
  supportedFeatures?: string;
  [extra: string]: unknown;
}
export interface PatchItem {
  op: "add" | "copy" | "move" | "remove" | "replace" | "test";
  path: string;
  from?: string;
  value?: unknown;
}

// ---- TS 29.573 N32 handshake (N32-c) ----
export type SecurityCapability = "TLS" | "PRINS" | "NONE" | (string & {});
export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "CONNECT" | "TRACE";
export type IeType =
  | "UEID"
  | "LOCATION"
  | "KEY_MATERIAL"
  | "AUTHENTICATION_MATERIAL"
  | "AUTHORIZATION_TOKEN"
  | "OTHER"
  | "NONSENSITIVE";
export type IeLocation = "URI_PARAM" | "HEADER" | "BODY" | "MULTIPART_BINARY";
export type N32Purpose =
  | "ROAMING"
  | "INTER_PLMN_MOBILITY"
  | "SMS_INTERCONNECT"
  | "ROAMING_TEST"
  | "INTER_PLMN_MOBILITY_TEST"
  | "SMS_INTERCONNECT_TEST"
  | "SNPN_INTERCONNECT"
  | "SNPN_INTERCONNECT_TEST"
  | "DISASTER_ROAMING"
  | "DISASTER_ROAMING_TEST";

export interface CallbackName {
  callbackType: string;
}
export type ApiSignature = string | CallbackName;

export interface IeInfo {
  ieLoc: IeLocation;
  ieType: IeType;
  reqIe?: string;
  rspIe?: string;
  isModifiable?: boolean;
  isModifiableByIpx?: Record<string, boolean>;
}
export interface ApiIeMapping {
  apiSignature: ApiSignature;
  apiMethod: HttpMethod;
  IeList: IeInfo[];
}
export interface ProtectionPolicy {
  apiIeMappingList: ApiIeMapping[];
  dataTypeEncPolicy?: IeType[];
}
export interface IntendedN32Purpose {
  usagePurpose: N32Purpose;
  additionalInfo?: string;
  cause?: string;
}
export interface SecNegotiateReqData {
  sender: string;
  supportedSecCapabilityList: SecurityCapability[];
  "3GppSbiTargetApiRootSupported"?: boolean;
  plmnIdList?: PlmnId[];
  snpnIdList?: PlmnIdNid[];
  targetPlmnId?: PlmnId;
  targetSnpnId?: PlmnIdNid;
  intendedUsagePurpose?: IntendedN32Purpose[];
  supportedFeatures?: string;
  senderN32fFqdn?: string;
  senderN32fPort?: number;
}
export interface SecNegotiateRspData {
  sender: string;
  selectedSecCapability: SecurityCapability;
  "3GppSbiTargetApiRootSupported"?: boolean;
  plmnIdList?: PlmnId[];
  snpnIdList?: PlmnIdNid[];
  allowedUsagePurpose?: IntendedN32Purpose[];
  rejectedUsagePurpose?: IntendedN32Purpose[];
  supportedFeatures?: string;
  senderN32fFqdn?: string;
  senderN32fPortList?: number[];
}
export interface IpxProviderSecInfo {
  ipxProviderId: string;
  /** base64 DER SubjectPublicKeyInfo (N32-PROFILE P5) */
  rawPublicKeyList?: string[];
  /** base64 DER X.509 certificates (N32-PROFILE P5) */
  certificateList?: string[];
}
/**
 * N32-PROFILE P11 extension member of SecParamExchReqData / SecParamExchRspData (TS 33.501 13.2.2.2: a security
 * profile instead of policies): the schemas allow extra members; a receiver that does not know it ignores it.
 */
export interface SecurityProfileRef {
  id: string;
  version: number;
}
export interface SecParamExchReqData {
  n32fContextId: string;
  securityProfile?: SecurityProfileRef;
  jweCipherSuiteList?: string[];
  jwsCipherSuiteList?: string[];
  protectionPolicyInfo?: ProtectionPolicy;
  ipxProviderSecInfoList?: IpxProviderSecInfo[];
  sender?: string;
}
export interface SecParamExchRspData {
  n32fContextId: string;
  securityProfile?: SecurityProfileRef;
  selectedJweCipherSuite?: string;
  selectedJwsCipherSuite?: string;
  selProtectionPolicyInfo?: ProtectionPolicy;
  ipxProviderSecInfoList?: IpxProviderSecInfo[];
  sender?: string;
}
export interface N32fContextInfo {
  n32fContextId: string;
}
export type N32fErrorType =
  | "INTEGRITY_CHECK_FAILED"
  | "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED"
  | "MODIFICATIONS_INSTRUCTIONS_FAILED"
  | "DECIPHERING_FAILED"
  | "MESSAGE_RECONSTRUCTION_FAILED"
  | "CONTEXT_NOT_FOUND"
  | "INTEGRITY_KEY_EXPIRED"
  | "ENCRYPTION_KEY_EXPIRED"
  | "POLICY_MISMATCH"
  /** N32-PROFILE P11 extension value (the 3GPP type is an open string): serving PLMN mismatch, TS 33.517 4.2.2.4 */
  | "PLMN_ID_MISMATCH";
export type FailureReason = "INVALID_JSON_POINTER" | "INVALID_INDEX_TO_ENCRYPTED_BLOCK" | "INVALID_HTTP_HEADER";
export interface FailedModificationInfo {
  ipxId: string;
  n32fErrorType: N32fErrorType;
}
export interface N32fErrorDetail {
  attribute: string;
  msgReconstructFailReason: FailureReason;
}
export interface N32fErrorInfo {
  n32fMessageId: string;
  n32fErrorType: N32fErrorType;
  n32fContextId?: string;
  failedModificationList?: FailedModificationInfo[];
  errorDetailsList?: N32fErrorDetail[];
  policyMismatchList?: InvalidParam[];
}

// ---- TS 29.573 JOSE protected message forwarding (N32-f) ----
export interface FlatJweJson {
  protected?: string;
  unprotected?: Record<string, unknown>;
  header?: Record<string, unknown>;
  encrypted_key?: string;
  aad?: string;
  iv?: string;
  ciphertext: string;
  tag?: string;
}
export interface FlatJwsJson {
  payload: string;
  protected?: string;
  header?: Record<string, unknown>;
  signature: string;
}
export interface N32fReformattedReqMsg {
  reformattedData: FlatJweJson;
  modificationsBlock?: FlatJwsJson[];
}
export type N32fReformattedRspMsg = N32fReformattedReqMsg;

export interface MetaData {
  n32fContextId: string;
  messageId: string;
  /** FQDN of the authorised first-hop RI, or "NULL" (N32-PROFILE P3) */
  authorizedIpxId: string;
}
export interface RequestLine {
  method: HttpMethod;
  scheme: "http" | "https";
  authority: string;
  path: string;
  protocolVersion: string;
  queryFragment?: string;
}
export interface IndexToEncryptedValue {
  encBlockIndex: number;
}
export type EncodedHttpHeaderValue = string | IndexToEncryptedValue;
export interface HttpHeader {
  header: string;
  value: EncodedHttpHeaderValue;
}
export interface HttpPayload {
  iePath: string;
  ieValueLocation: IeLocation;
  /** any JSON value, or {"encBlockIndex": N} (N32-PROFILE P10) */
  value: unknown;
}
export interface DataToIntegrityProtectBlock {
  metaData?: MetaData;
  requestLine?: RequestLine;
  statusLine?: string;
  headers?: HttpHeader[];
  payload?: HttpPayload[];
}
export interface DataToIntegrityProtectAndCipherBlock {
  dataToEncrypt: unknown[];
}
export interface Modifications {
  identity: string;
  operations?: PatchItem[];
  tag?: string;
}
export interface ProblemDetailsMsgForwarding extends ProblemDetails {
  suggestedStatusCode?: number;
  suggestedProblemDetails?: ProblemDetails;
}
