// src/n32c/policies.ts — the protection policies exchanged on N32-c (TS 33.501 13.2.2.2 step 2, 13.2.3.6;
// N32-PROFILE P4, P11 "Negotiation"). Each side sends its FULL effective policy (the shipped default mapping of
// P4 merged with the per-peer additions) and compares full policies, or indicates a security profile (a named,
// versioned policy set both sides configured; `n32-default` v1 built in) instead. Pure.
import apiIeMapping from "../../config/api-ie-mapping.json" with { type: "json" };
import { BUILT_IN_PROFILE, type SecurityProfileConfig } from "../config/schema/policy.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { Logger } from "../log.ts";
import type { InvalidParam, ProtectionPolicy, SecurityProfileRef } from "../model/n32.ts";
import { buildEffectivePolicy } from "../n32f/policy.ts";
import { comparePolicies } from "./policy.ts";

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

/** P11: the built-in profile every SEPP built from N32-PROFILE knows. */
export { BUILT_IN_PROFILE };

/** `n32-default` v1 (P11): the P4 default mapping (full, as fullPolicy()) with no modification allowed. */
function builtInProfilePolicy(): ProtectionPolicy {
  const d = fullPolicy();
  return {
    apiIeMappingList: d.apiIeMappingList.map((m) => ({
      ...m,
      IeList: m.IeList.map(({ isModifiable: _m, isModifiableByIpx: _x, ...ie }) => ie),
    })),
    dataTypeEncPolicy: d.dataTypeEncPolicy,
  };
}
let builtIn: ProtectionPolicy | null = null;

export const sameProfile = (a: SecurityProfileRef, b: SecurityProfileRef) => a.id === b.id && a.version === b.version;

/**
 * The policies of a known security profile (P11), full (P4 defaults merged with the profile's policy), or
 * undefined when this SEPP does not know `ref` (another id, or another version).
 */
export function profilePolicy(
  profiles: readonly SecurityProfileConfig[],
  ref: SecurityProfileRef,
): ProtectionPolicy | undefined {
  if (sameProfile(ref, BUILT_IN_PROFILE)) {
    builtIn ??= builtInProfilePolicy();
    return builtIn;
  }
  const p = profiles.find((x) => sameProfile(x, ref));
  return p ? fullPolicy(p.protectionPolicy) : undefined;
}

/** Our full effective policy toward a peer: its security profile's, else the P4 defaults + its additions. */
export function localPolicyFor(profiles: readonly SecurityProfileConfig[], peer: PeerConfig): ProtectionPolicy {
  return (peer.securityProfile && profilePolicy(profiles, peer.securityProfile)) || fullPolicy(peer.protectionPolicy);
}

/**
 * Whether we agree to the profile an initiator indicated (P11): we know it (same id and version), and the peer
 * entry names that profile, or names none and adds nothing to the defaults (a per-peer policy is never dropped
 * silently for a profile the operator did not choose).
 */
export function acceptsProfile(
  profiles: readonly SecurityProfileConfig[],
  peer: PeerConfig,
  ref: SecurityProfileRef,
): ProtectionPolicy | undefined {
  if (peer.securityProfile ? !sameProfile(peer.securityProfile, ref) : peer.protectionPolicy) return undefined;
  return profilePolicy(profiles, ref);
}

/** A received `securityProfile` member, checked before use: the reference, absent, or "invalid". */
export function readSecurityProfile(x: unknown): SecurityProfileRef | undefined | "invalid" {
  if (x === undefined) return undefined;
  if (!x || typeof x !== "object" || Array.isArray(x)) return "invalid";
  const { id, version, ...rest } = x as Record<string, unknown>;
  if (typeof id !== "string" || !/^[\x21-\x7e]{1,64}$/.test(id)) return "invalid";
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0 || version > 2 ** 31 - 1)
    return "invalid";
  if (Object.keys(rest).length) return "invalid";
  return { id, version };
}

/**
 * TS 33.501 13.2.3.6 over full policies (P7, P11), the same on both sides of exchange-params: the peer's full
 * policy against the agreed one (none agreed or none received: nothing to compare). A mismatch is logged with the
 * peer's configured reaction; `reject` says whether the handshake is refused.
 */
export function checkPolicyMismatch(
  log: Logger,
  peer: PeerConfig,
  peerPolicy: ProtectionPolicy | undefined,
  agreed: ProtectionPolicy | undefined,
): { mismatch: InvalidParam[]; reject: boolean } {
  const mismatch = peerPolicy && agreed ? comparePolicies(peerPolicy, agreed) : [];
  if (!mismatch.length) return { mismatch, reject: false };
  log.warn("protection policy mismatch (TS 33.501 13.2.3.6)", {
    peer: peer.id,
    policyMismatchList: mismatch,
    reaction: peer.profile.onPolicyMismatch,
  });
  return { mismatch, reject: peer.profile.onPolicyMismatch === "reject" };
}
