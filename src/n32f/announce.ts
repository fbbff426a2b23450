// src/n32f/announce.ts — the RI-relevant parameters sent over N32-f in clear text with integrity protection
// (TS 33.501 13.2.2.2 step 7; N32-PROFILE P6, P10).
//
// Right after the PRINS context becomes active, the initiating SEPP sends one N32-f request
//   requestLine = {POST, https, <responder's N32 FQDN>, /n32c-handshake/v1/exchange-params, HTTP/2},
//   header content-type: application/json,
//   payload (all clear, all BODY) /n32fContextId (initiator's), /selectedJweCipherSuite, /selectedJwsCipherSuite,
//   /protectionPolicyInfo (the modification-policy part), /ipxProviderSecInfoList,
// with an empty plaintext (nothing encrypted, P2). The responder handles it itself (never forwards it), checks that
// the announced values equal what was agreed on N32-c — else POLICY_MISMATCH with a policyMismatchList (answered
// 403, reported with n32f-error, P10) — and answers statusLine "200" with its own values (/n32fContextId =
// responder's, …, /selProtectionPolicyInfo, /ipxProviderSecInfoList). The initiator checks that response the same way.
//
// Pure: this module builds and checks DataToIntegrityProtectBlocks; the caller protects them with jwe.ts
// protectJwe(ctx, kind, aad, empty plaintext) and opens them with openJwe before checking.
import type {
  DataToIntegrityProtectBlock,
  HttpPayload,
  InvalidParam,
  IpxProviderSecInfo,
  MetaData,
  N32fErrorInfo,
  ProblemDetailsMsgForwarding,
  ProtectionPolicy,
} from "../model/n32.ts";
import { validateBody } from "../openapi/validate.ts";
import { N32fError } from "./errors.ts";
import { hasMember, isPlainObject } from "./pointer.ts";
import { normalizeRiId } from "./ri-keys.ts";

/** P6: the requestLine path of the announcement. */
export const RI_ANNOUNCE_PATH = "/n32c-handshake/v1/exchange-params";

/**
 * P11: whether the RI-relevant parameters are announced over N32-f to this peer (per-peer `profile.announceToRi`,
 * off by default: no 3GPP message carries them yet). Also decides whether a POLICY_MISMATCH about an established
 * context deactivates it.
 */
export function announceEnabled(peer: { profile: { announceToRi?: boolean } }): boolean {
  return peer.profile.announceToRi === true;
}

/** The RI-relevant parameters one side holds for an association (P6). */
export interface RiRelevantParams {
  /** the sender's own N32-f context ID */
  n32fContextId: string;
  selectedJweCipherSuite: string;
  selectedJwsCipherSuite: string;
  /** the sender's protection policy as exchanged on N32-c; only its modification-policy part is announced */
  protectionPolicy?: ProtectionPolicy;
  /** the sender's RI security information as exchanged on N32-c */
  ipxProviderSecInfoList?: readonly IpxProviderSecInfo[];
}

/** The part of an N32fContext (src/n32f/context.ts) these parameters are read from. */
export interface RiParamsSource {
  localContextId: string;
  peerContextId: string;
  enc: string;
  association: {
    jwsSuite: string;
    localPolicy?: ProtectionPolicy;
    peerPolicy?: ProtectionPolicy;
    ownRis: readonly IpxProviderSecInfo[];
    peerRis: readonly IpxProviderSecInfo[];
  };
}

/** What this SEPP announces for a context. */
export function localRiParams(ctx: RiParamsSource): RiRelevantParams {
  return {
    n32fContextId: ctx.localContextId,
    selectedJweCipherSuite: ctx.enc,
    selectedJwsCipherSuite: ctx.association.jwsSuite,
    protectionPolicy: ctx.association.localPolicy,
    ipxProviderSecInfoList: ctx.association.ownRis,
  };
}

/** What the peer must announce for a context: what it sent us on N32-c. */
export function expectedPeerRiParams(ctx: RiParamsSource): RiRelevantParams {
  return {
    n32fContextId: ctx.peerContextId,
    selectedJweCipherSuite: ctx.enc,
    selectedJwsCipherSuite: ctx.association.jwsSuite,
    protectionPolicy: ctx.association.peerPolicy,
    ipxProviderSecInfoList: ctx.association.peerRis,
  };
}

/**
 * P10: "the modification-policy part" = the mappings keeping only IEs whose isModifiable is true or that have an
 * isModifiableByIpx map, without dataTypeEncPolicy; undefined when nothing remains.
 */
export function modificationPolicyPart(policy: ProtectionPolicy | undefined): ProtectionPolicy | undefined {
  if (!policy) return undefined;
  const apiIeMappingList = [];
  for (const m of policy.apiIeMappingList) {
    const IeList = m.IeList.filter((ie) => ie.isModifiable === true || ie.isModifiableByIpx !== undefined);
    if (IeList.length > 0) apiIeMappingList.push({ apiSignature: m.apiSignature, apiMethod: m.apiMethod, IeList });
  }
  return apiIeMappingList.length > 0 ? { apiIeMappingList } : undefined;
}

const body = (iePath: string, value: unknown): HttpPayload => ({ iePath, ieValueLocation: "BODY", value });

function payloadOf(
  p: RiRelevantParams,
  policyMember: "protectionPolicyInfo" | "selProtectionPolicyInfo",
): HttpPayload[] {
  const out = [
    body("/n32fContextId", p.n32fContextId),
    body("/selectedJweCipherSuite", p.selectedJweCipherSuite),
    body("/selectedJwsCipherSuite", p.selectedJwsCipherSuite),
  ];
  const policy = modificationPolicyPart(p.protectionPolicy);
  if (policy) out.push(body(`/${policyMember}`, policy));
  if (p.ipxProviderSecInfoList && p.ipxProviderSecInfoList.length > 0)
    out.push(body("/ipxProviderSecInfoList", [...p.ipxProviderSecInfoList]));
  return out;
}

/** The announcement request block (P6); `metaData` as for any request (peer's context ID, fresh messageId). */
export function buildRiAnnouncementRequest(p: {
  metaData: MetaData;
  responderN32Fqdn: string;
  params: RiRelevantParams;
}): DataToIntegrityProtectBlock {
  return {
    metaData: p.metaData,
    requestLine: {
      method: "POST",
      scheme: "https",
      authority: p.responderN32Fqdn,
      path: RI_ANNOUNCE_PATH,
      protocolVersion: "HTTP/2",
    },
    headers: [{ header: "content-type", value: "application/json" }],
    payload: payloadOf(p.params, "protectionPolicyInfo"),
  };
}

/** The announcement response block (P6): statusLine "200", the responder's own values; metaData repeats the messageId. */
export function buildRiAnnouncementResponse(p: {
  metaData: MetaData;
  params: RiRelevantParams;
}): DataToIntegrityProtectBlock {
  return {
    metaData: p.metaData,
    statusLine: "200",
    headers: [{ header: "content-type", value: "application/json" }],
    payload: payloadOf(p.params, "selProtectionPolicyInfo"),
  };
}

/** Whether a received (verified) request block is the P6 announcement, which the SEPP handles itself. */
export function isRiAnnouncementRequest(block: DataToIntegrityProtectBlock): boolean {
  const rl = block.requestLine;
  return !!rl && rl.method === "POST" && rl.path === RI_ANNOUNCE_PATH;
}

/** POLICY_MISMATCH of P6/P7 with its policyMismatchList (TS 29.573 N32fErrorInfo.policyMismatchList). */
export class RiAnnouncementMismatch extends N32fError {
  override name = "RiAnnouncementMismatch";
  readonly policyMismatchList: InvalidParam[];
  constructor(list: InvalidParam[], init: { messageId?: string; n32fContextId?: string } = {}) {
    super("POLICY_MISMATCH", `RI-relevant parameters differ from N32-c: ${list.map((l) => l.param).join(", ")}`, {
      ...init,
      suggestedStatusCode: 403,
    });
    this.policyMismatchList = list;
  }
  override toN32fErrorInfo(receiverContextId?: string): N32fErrorInfo {
    return { ...super.toN32fErrorInfo(receiverContextId), policyMismatchList: this.policyMismatchList };
  }
  override toProblem(): ProblemDetailsMsgForwarding {
    return { ...super.toProblem(), invalidParams: this.policyMismatchList };
  }
}

/**
 * Check a received announcement request (responder side): the request line and content type of P6, nothing
 * encrypted, and every announced value equal to what the initiator sent on N32-c (`expected`, see
 * expectedPeerRiParams). Throws RiAnnouncementMismatch (POLICY_MISMATCH) listing every difference.
 */
export function checkRiAnnouncementRequest(
  block: DataToIntegrityProtectBlock,
  expected: { ownN32Fqdn: string; params: RiRelevantParams },
): void {
  const list: InvalidParam[] = [];
  const rl = block.requestLine;
  if (rl?.method !== "POST" || rl.path !== RI_ANNOUNCE_PATH || rl.scheme !== "https")
    list.push({ param: "/requestLine", reason: "not the P6 announcement request line" });
  else if (normalizeRiId(rl.authority) !== normalizeRiId(expected.ownN32Fqdn))
    list.push({ param: "/requestLine/authority", reason: "not our N32 FQDN" });
  checkCommon(block, expected.params, "protectionPolicyInfo", list);
  throwOnMismatch(block, list);
}

/** RiAnnouncementMismatch naming the block's messageId and n32fContextId, when `list` is not empty. */
function throwOnMismatch(block: DataToIntegrityProtectBlock, list: InvalidParam[]): void {
  if (list.length)
    throw new RiAnnouncementMismatch(list, {
      messageId: block.metaData?.messageId,
      n32fContextId: block.metaData?.n32fContextId,
    });
}

/**
 * Check the announcement response (initiator side): statusLine 200, the same messageId as the request, nothing
 * encrypted, and the responder's values equal to what it sent on N32-c. Throws RiAnnouncementMismatch.
 */
export function checkRiAnnouncementResponse(
  block: DataToIntegrityProtectBlock,
  expected: { params: RiRelevantParams; requestMessageId?: string },
): void {
  const list: InvalidParam[] = [];
  if (block.statusLine !== "200" && block.statusLine !== "HTTP/2 200")
    list.push({ param: "/statusLine", reason: "not 200" });
  if (expected.requestMessageId !== undefined && block.metaData?.messageId !== expected.requestMessageId)
    list.push({ param: "/metaData/messageId", reason: "not the messageId of the announcement request" });
  checkCommon(block, expected.params, "selProtectionPolicyInfo", list);
  throwOnMismatch(block, list);
}

const MEMBERS = [
  "n32fContextId",
  "selectedJweCipherSuite",
  "selectedJwsCipherSuite",
  "protectionPolicyInfo",
  "selProtectionPolicyInfo",
  "ipxProviderSecInfoList",
];

function checkCommon(
  block: DataToIntegrityProtectBlock,
  exp: RiRelevantParams,
  policyMember: "protectionPolicyInfo" | "selProtectionPolicyInfo",
  list: InvalidParam[],
): void {
  const ct = (block.headers ?? []).find((h) => h.header.toLowerCase() === "content-type");
  if (!ct || typeof ct.value !== "string" || ct.value.split(";")[0]!.trim().toLowerCase() !== "application/json")
    list.push({ param: "/headers", reason: "content-type is not application/json" });
  // read the clear payload: one BODY entry per member; unknown members are ignored (3GPP allows extra members)
  const got = new Map<string, unknown>();
  for (const [i, e] of (block.payload ?? []).entries()) {
    if (e.ieValueLocation !== "BODY" || typeof e.iePath !== "string") {
      list.push({ param: `/payload/${i}`, reason: "not a clear BODY entry" });
      continue;
    }
    if (containsEncRef(e.value)) {
      list.push({ param: `/payload/${i}/value`, reason: "encrypted value in the announcement" });
      continue;
    }
    const name = e.iePath.slice(1);
    if (!e.iePath.startsWith("/") || !MEMBERS.includes(name)) continue;
    if (got.has(name)) list.push({ param: `/payload/${i}`, reason: `${e.iePath} repeated` });
    got.set(name, e.value);
  }
  const ctx = got.get("n32fContextId");
  if (typeof ctx !== "string" || ctx.toLowerCase() !== exp.n32fContextId.toLowerCase())
    list.push({ param: "/n32fContextId", reason: "differs from the N32-c context ID" });
  if (got.get("selectedJweCipherSuite") !== exp.selectedJweCipherSuite)
    list.push({ param: "/selectedJweCipherSuite", reason: "differs from the N32-c cipher suite" });
  if (got.get("selectedJwsCipherSuite") !== exp.selectedJwsCipherSuite)
    list.push({ param: "/selectedJwsCipherSuite", reason: "differs from the N32-c cipher suite" });

  const policyIn = got.get(policyMember);
  if (policyIn !== undefined && validateBody("ProtectionPolicy", policyIn))
    list.push({ param: `/${policyMember}`, reason: "not a valid ProtectionPolicy" });
  else if (
    canonical(modificationPolicyPart(policyIn as ProtectionPolicy | undefined)) !==
    canonical(modificationPolicyPart(exp.protectionPolicy))
  )
    list.push({ param: `/${policyMember}`, reason: "modification policy differs from N32-c" });

  const risIn = got.get("ipxProviderSecInfoList");
  if (risIn !== undefined && (!Array.isArray(risIn) || risIn.some((r) => validateBody("IpxProviderSecInfo", r))))
    list.push({ param: "/ipxProviderSecInfoList", reason: "not a valid IpxProviderSecInfo list" });
  else if (canonicalRis(risIn as IpxProviderSecInfo[] | undefined) !== canonicalRis(exp.ipxProviderSecInfoList))
    list.push({ param: "/ipxProviderSecInfoList", reason: "RI security information differs from N32-c" });
}

function containsEncRef(v: unknown, depth = 0): boolean {
  if (typeof v !== "object" || v === null || depth > 64) return depth > 64;
  if (Array.isArray(v)) return v.some((x) => containsEncRef(x, depth + 1));
  if (hasMember(v as Record<string, unknown>, "encBlockIndex")) return true;
  return Object.values(v).some((x) => containsEncRef(x, depth + 1));
}

/** Order-insensitive canonical text of a policy (mappings, IE lists and isModifiableByIpx keys sorted). */
function canonical(p: ProtectionPolicy | undefined): string {
  if (!p) return "none";
  const ie = (i: Record<string, unknown>) =>
    JSON.stringify([
      i.ieLoc,
      i.ieType,
      i.reqIe ?? null,
      i.rspIe ?? null,
      i.isModifiable ?? null,
      isPlainObject(i.isModifiableByIpx)
        ? Object.entries(i.isModifiableByIpx)
            .map(([k, b]) => [normalizeRiId(k), b])
            .sort(([a], [b]) => String(a).localeCompare(String(b)))
        : null,
    ]);
  return JSON.stringify(
    p.apiIeMappingList
      .map((m) =>
        JSON.stringify([
          m.apiSignature,
          m.apiMethod,
          m.IeList.map((i) => ie(i as unknown as Record<string, unknown>)).sort(),
        ]),
      )
      .sort(),
  );
}

/** Order-insensitive canonical text of an RI list (ids normalized, key lists as sets, base64 whitespace removed). */
function canonicalRis(list: readonly IpxProviderSecInfo[] | undefined): string {
  if (!list || list.length === 0) return "none";
  const strip = (a: readonly string[] | undefined) => [...new Set((a ?? []).map((s) => s.replace(/\s+/g, "")))].sort();
  return JSON.stringify(
    list
      .map((r) => JSON.stringify([normalizeRiId(r.ipxProviderId), strip(r.certificateList), strip(r.rawPublicKeyList)]))
      .sort(),
  );
}
