// src/n32c/policy.ts — protection policy mismatch detection (TS 33.501 13.2.3.6, N32-PROFILE P7).
// The policy a peer sends on N32-c is compared with the one manually agreed for that partner
// (`partnerPolicy`); the result feeds `policyMismatchList` of n32f-error. Pure. Order-insensitive: the
// lists are sets (data types; mappings keyed by apiSignature + apiMethod; IEs with their modification policy).
import type { ApiIeMapping, IeInfo, InvalidParam, ProtectionPolicy } from "../model/n32.ts";

function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

const mappingKey = (m: ApiIeMapping) => `${m.apiMethod} ${canon(m.apiSignature)}`;
const ieSet = (l: IeInfo[]) => new Set(l.map((ie) => canon({ ...ie, isModifiable: ie.isModifiable ?? false })));
const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const label = (m: ApiIeMapping) =>
  `${m.apiMethod} ${typeof m.apiSignature === "string" ? m.apiSignature : m.apiSignature.callbackType}`;

/** Differences between a received policy and the agreed one; [] when they match. Bounded to 32 entries. */
export function comparePolicies(received: ProtectionPolicy, agreed: ProtectionPolicy): InvalidParam[] {
  const out: InvalidParam[] = [];
  const rTypes = new Set(received.dataTypeEncPolicy ?? []);
  const aTypes = new Set(agreed.dataTypeEncPolicy ?? []);
  if (!sameSet(rTypes, aTypes))
    out.push({ param: "/dataTypeEncPolicy", reason: "differs from the agreed data-type encryption policy" });
  const agreedByKey = new Map(agreed.apiIeMappingList.map((m) => [mappingKey(m), m]));
  const seen = new Set<string>();
  received.apiIeMappingList.forEach((m, i) => {
    const k = mappingKey(m);
    seen.add(k);
    const a = agreedByKey.get(k);
    if (!a) out.push({ param: `/apiIeMappingList/${i}`, reason: "API mapping not in the agreed policy" });
    else if (!sameSet(ieSet(m.IeList), ieSet(a.IeList)))
      out.push({
        param: `/apiIeMappingList/${i}/IeList`,
        reason: `IE list or modification policy of ${label(a)} differs from the agreed one`,
      });
  });
  for (const [k, a] of agreedByKey) {
    if (!seen.has(k)) out.push({ param: "/apiIeMappingList", reason: `agreed mapping ${label(a)} missing` });
  }
  return out.slice(0, 32);
}
