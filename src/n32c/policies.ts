// src/n32c/policies.ts — the protection policies exchanged on N32-c (TS 33.501 13.2.2.2 step 2, 13.2.3.6;
// N32-PROFILE P4, P11 "Negotiation"). Each side sends its FULL effective policy (the shipped default mapping of
// P4 merged with the per-peer additions) and compares full policies. Pure.
import apiIeMapping from "../../config/api-ie-mapping.json" with { type: "json" };
import type { ProtectionPolicy } from "../model/n32.ts";
import { buildEffectivePolicy } from "../n32f/policy.ts";

/** The shipped default NF API data-type placement mapping (P4, config/api-ie-mapping.json). */
export const DEFAULT_POLICY = apiIeMapping as ProtectionPolicy;

const full = new WeakMap<object, ProtectionPolicy>();
let defaultsOnly: ProtectionPolicy | null = null;

/**
 * The full effective policy: P4 defaults (always-encrypted types, UEID, the default mapping) merged with
 * `additions` (a peer's `protectionPolicy` or `partnerPolicy`), in the wire shape. Cached per additions object.
 *
 * @example
 * msg.secParamExchReq({ n32fContextId, policy: fullPolicy(peer.protectionPolicy) });
 */
export function fullPolicy(additions?: ProtectionPolicy): ProtectionPolicy {
  const hit = additions ? full.get(additions) : defaultsOnly;
  if (hit) return hit;
  const e = buildEffectivePolicy({ defaults: DEFAULT_POLICY, local: additions });
  const p: ProtectionPolicy = {
    apiIeMappingList: e.mappings.map((m) => ({ ...m, IeList: [...m.IeList] })),
    dataTypeEncPolicy: [...e.encryptedTypes],
  };
  if (additions) full.set(additions, p);
  else defaultsOnly = p;
  return p;
}
