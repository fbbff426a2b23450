// src/n32f/modifications.ts — Roaming Intermediary modifications of a received message verified and applied
// (TS 33.501 13.2.4.5–13.2.4.7, 13.2.4.9; TS 29.573 Modifications / FlatJwsJson; N32-PROFILE P5, P10;
// SCAS TS 33.517 4.2.2.2, 4.2.2.3, 4.2.2.7, 4.2.2.8).
//
// Input: the decoded DataToIntegrityProtectBlock of a message whose JWE already verified, the JWE `tag`, and the
// `modificationsBlock`. For each JWS in array order, stopping at the first failure (P5):
//   1. readable flattened JWS, `alg` exactly "ES256" in the protected header ........ INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   2. payload is a valid `Modifications` (schema; identity an Fqdn) ................. INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   3. signature verifies with a key of `identity` from THIS association's RI info ... INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   4. `tag` equals the JWE tag ...................................................... INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   5. the first JWS's identity equals `authorizedIpxId` (none while it is "NULL") .... INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   6. each op, against the document patched so far: a canonical JSON pointer, allowed by the modification
//      policy, applies (fast-json-patch), and neither creates, moves, copies nor removes an `encBlockIndex`
//      reference ...................................................................... MODIFICATIONS_INSTRUCTIONS_FAILED
// The patched block must still be a valid received block (plausibility, P10 schema leniencies) .. MODIFICATIONS_INSTRUCTIONS_FAILED
// The JWS checks 1–3 are modifications-jws.ts, the operations of check 6 against the policy (P10: which IE an op
// touches, who may modify it) modifications-patch.ts; this module runs them in order over the modificationsBlock.
// RIs of the peer's list are checked against the peer's policy, our own RIs against our local policy; an RI on
// both lists must pass both. Pure and synchronous.
import type { DataToIntegrityProtectBlock, HttpMethod, IeInfo } from "../model/n32.ts";
import { validateReceivedBlock } from "../openapi/validate.ts";
import { icomf, mif, N32fError } from "./errors.ts";
import { verifyModificationJws } from "./modifications-jws.ts";
import { applyChecked } from "./modifications-patch.ts";
import { modificationRules, type EffectivePolicy } from "./policy.ts";
import { normalizeRiId, type RiKeySet, type RiSide } from "./ri-keys.ts";

/** The modification rules (IeInfo with isModifiable / isModifiableByIpx) that apply to this message for RIs of
 *  `side`: policy.ts modificationRules(peer policy | local policy, kind, method, path). Called lazily. */
export type ModificationRulesResolver = (side: RiSide) => readonly IeInfo[];

/**
 * The resolver for one message from the two per-side effective policies of an association (build them once per
 * context with policy.ts buildEffectivePolicy: `peer` from the policy the peer sent on N32-c, else the configured
 * partner policy; `local` from our own policy). For a response, `method`/`path`/`callbackType` are the request's.
 * A side without a policy has no modifiable IE.
 */
export function modificationRulesResolver(
  policies: { peer?: EffectivePolicy; local?: EffectivePolicy },
  kind: "request" | "response",
  method: HttpMethod,
  path: string,
  callbackType?: string,
): ModificationRulesResolver {
  return (side) => {
    const p = side === "peer" ? policies.peer : policies.local;
    return p ? modificationRules(p, kind, method, path, callbackType) : [];
  };
}

export interface VerifyModificationsInput {
  /** decoded DataToIntegrityProtectBlock, already AEAD-verified; never mutated */
  block: DataToIntegrityProtectBlock;
  /** the JWE `tag` member as received (base64url) */
  jweTag: string;
  modificationsBlock: readonly unknown[] | undefined;
  /** RI keys of THIS association only (ri-keys.ts riKeysOf) */
  riKeys: RiKeySet;
  policyRules: ModificationRulesResolver;
  /** metaData.authorizedIpxId as received ("NULL", "null", "", null and undefined mean none, P3) */
  authorizedIpxId: string | null | undefined;
  /** reqIe or rspIe of the rules; default: "request" when the block has a requestLine */
  kind?: "request" | "response";
  /** epoch ms, for certificate validity (default Date.now()) */
  now?: number;
}

/** Bounds (everything from the network is bounded). */
export const MAX_JWS_ENTRIES = 16;

/** The authorized first-hop RI, or null when none (P3 receive leniency). */
export function normalizeAuthorizedIpxId(v: unknown): string | null {
  if (typeof v !== "string") return null;
  if (v === "" || v.toUpperCase() === "NULL") return null;
  return normalizeRiId(v);
}

/**
 * Verify the modificationsBlock of a message and return the patched block (P5). Without modifications the input
 * block itself is returned. On failure throws N32fError (INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED or
 * MODIFICATIONS_INSTRUCTIONS_FAILED, with failedModificationList); the input block is never mutated.
 */
export function verifyModifications(input: VerifyModificationsInput): DataToIntegrityProtectBlock {
  const { block, jweTag, modificationsBlock, riKeys } = input;
  if (!modificationsBlock || modificationsBlock.length === 0) return block;
  const now = input.now ?? Date.now();
  const kind = input.kind ?? (block.requestLine ? "request" : "response");
  const authorized = normalizeAuthorizedIpxId(input.authorizedIpxId);
  const messageId = block.metaData?.messageId;
  const contextId = block.metaData?.n32fContextId;
  try {
    if (modificationsBlock.length > MAX_JWS_ENTRIES)
      throw icomf(`more than ${MAX_JWS_ENTRIES} modificationsBlock entries`, authorized ?? undefined);
    let doc = clone(block) as Record<string, unknown>;
    const ruleCache = new Map<RiSide, readonly IeInfo[]>();
    const rulesFor = (side: RiSide) => {
      let r = ruleCache.get(side);
      if (!r) {
        r = input.policyRules(side);
        ruleCache.set(side, r);
      }
      return r;
    };
    for (let i = 0; i < modificationsBlock.length; i++) {
      const v = verifyModificationJws(modificationsBlock[i], i, riKeys, now);
      if (v.tag !== jweTag) throw icomf(`modificationsBlock/${i}: tag does not equal the JWE tag`, v.identity);
      if (i === 0) {
        if (authorized === null) throw icomf("modifications present while authorizedIpxId is NULL", v.identity);
        if (v.identity !== authorized) throw icomf("the first modification is not by authorizedIpxId", v.identity);
      }
      const sides = [...v.entry.sides].map(rulesFor);
      doc = applyChecked(doc, v.operations, {
        identity: v.identity,
        kind,
        rules: sides,
        where: `modificationsBlock/${i}`,
      });
    }
    const invalid = validateReceivedBlock("DataToIntegrityProtectBlock", doc);
    if (invalid)
      throw mif(`patched block is not a valid DataToIntegrityProtectBlock (${invalid[0]?.param ?? ""})`, undefined);
    return doc as DataToIntegrityProtectBlock;
  } catch (e) {
    if (e instanceof N32fError) {
      e.messageId ??= messageId;
      e.n32fContextId ??= contextId;
    }
    throw e;
  }
}

/** A deep copy of a JSON value (own enumerable members; `__proto__` kept as data). */
function clone(v: unknown): unknown {
  return structuredClone(v);
}
