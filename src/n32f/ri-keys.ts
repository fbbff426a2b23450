// src/n32f/ri-keys.ts — verification keys of the Roaming Intermediaries of ONE N32 association (TS 33.501
// 13.2.2.2 step 3, 13.2.4.7; N32-PROFILE P5, P10; SCAS TS 33.517 4.2.2.2 and 4.2.2.3).
//
// The RI security information exchanged on an N32-c association (IpxProviderSecInfo: `certificateList` = base64
// DER X.509, `rawPublicKeyList` = base64 DER SubjectPublicKeyInfo, P5) is turned into node:crypto KeyObjects once
// per association, so that verifying a JWS on the data path is one synchronous `crypto.verify`. A certificate
// must pass the P10 checks of the RI trust store (src/pki/trust.ts verifyRiCert: issued under the separate RI
// roots, valid now, dNSName = ipxProviderId, P-256); its validity window is kept and re-checked at every use.
// A raw key must be an EC P-256 key. Keys live only in the RiKeySet of the association they were learned on:
// there is no global registry, so a key from another association can never verify (4.2.2.3), and a peer
// SEPP's key is never in it (4.2.2.2).
import { createPublicKey, X509Certificate, type KeyObject } from "node:crypto";
import type { IpxProviderSecInfo } from "../model/n32.ts";
import { SeppError } from "../errors.ts";

/** Which side contracts the RI: "peer" = in the peer's ipxProviderSecInfoList, "own" = ours (P10). */
export type RiSide = "own" | "peer";

export interface RiVerificationKey {
  key: KeyObject;
  source: "certificate" | "rawPublicKey";
  /** certificate validity (epoch ms); absent for raw keys */
  notBefore?: number;
  notAfter?: number;
}

export interface RiEntry {
  /** lowercased, without a trailing dot */
  ipxProviderId: string;
  sides: ReadonlySet<RiSide>;
  keys: readonly RiVerificationKey[];
}

/** The part of src/pki/trust.ts TrustStore used here (P10 RI certificate checks). */
export interface RiTrust {
  verifyRiCert(chain: X509Certificate[], ipxProviderId: string, now?: Date): string | null;
}

/** Bounds on what a peer may hand us (everything from the network is bounded). */
export const MAX_RIS_PER_LIST = 16;
export const MAX_KEYS_PER_RI = 8;
const MAX_ENTRY_CHARS = 16_384;

/** An RI key list refused as a whole (N32-c answers 403 NEGOTIATION_NOT_ALLOWED, P10). */
export class RiKeyError extends SeppError {
  override name = "RiKeyError";
  readonly ipxProviderId: string;
  constructor(ipxProviderId: string, detail: string) {
    super("INVALID_RI_KEY", `RI ${ipxProviderId}: ${detail}`, { status: 403, problemCause: "NEGOTIATION_NOT_ALLOWED" });
    this.ipxProviderId = ipxProviderId;
  }
}

/** FQDNs compare case-insensitively, a trailing dot ignored. */
export function normalizeRiId(id: string): string {
  const l = id.toLowerCase();
  return l.endsWith(".") ? l.slice(0, -1) : l;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (with padding, as a PEM body without its armour; whitespace tolerated). */
export function decodeB64Der(s: string): Buffer | null {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_ENTRY_CHARS) return null;
  const compact = s.replace(/[\r\n\t ]+/g, "");
  if (!B64.test(compact)) return null;
  const der = Buffer.from(compact, "base64");
  return der.toString("base64") === compact ? der : null;
}

export function isP256Key(k: KeyObject): boolean {
  return k.type === "public" && k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails?.namedCurve === "prime256v1";
}

/** A raw public key of `rawPublicKeyList` (base64 DER SPKI, P5); RiKeyError unless it is EC P-256. */
export function parseRawPublicKey(ipxProviderId: string, b64: string): RiVerificationKey {
  const der = decodeB64Der(b64);
  if (!der) throw new RiKeyError(ipxProviderId, "raw public key is not base64 DER");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  } catch {
    throw new RiKeyError(ipxProviderId, "raw public key is not a DER SubjectPublicKeyInfo");
  }
  if (!isP256Key(key)) throw new RiKeyError(ipxProviderId, "raw public key is not ECDSA P-256");
  return { key, source: "rawPublicKey" };
}

/**
 * The verification keys of one IpxProviderSecInfo (P5, P10). Each non-CA certificate of `certificateList` is a
 * leaf (the CA certificates of the list serve as intermediates); each must pass trust.verifyRiCert. Throws
 * RiKeyError at the first entry that fails, so a bad list is refused as a whole (N32-c answers 403
 * NEGOTIATION_NOT_ALLOWED, P10).
 */
export function riKeysFromSecInfo(
  info: IpxProviderSecInfo,
  trust: RiTrust,
  now: Date = new Date(),
): RiVerificationKey[] {
  const id = info.ipxProviderId;
  const certs = info.certificateList ?? [];
  const raws = info.rawPublicKeyList ?? [];
  if (certs.length + raws.length === 0) throw new RiKeyError(id, "neither certificateList nor rawPublicKeyList");
  if (certs.length > MAX_KEYS_PER_RI || raws.length > MAX_KEYS_PER_RI)
    throw new RiKeyError(id, `more than ${MAX_KEYS_PER_RI} keys`);
  const parsed: X509Certificate[] = [];
  for (const c of certs) {
    const der = decodeB64Der(c);
    if (!der) throw new RiKeyError(id, "certificate is not base64 DER");
    try {
      parsed.push(new X509Certificate(der));
    } catch {
      throw new RiKeyError(id, "certificate is not a DER X.509 certificate");
    }
  }
  const intermediates = parsed.filter((c) => c.ca);
  const out: RiVerificationKey[] = [];
  for (const leaf of parsed.filter((c) => !c.ca)) {
    const err = trust.verifyRiCert([leaf, ...intermediates], id, now);
    if (err) throw new RiKeyError(id, err);
    out.push({
      key: leaf.publicKey,
      source: "certificate",
      notBefore: new Date(leaf.validFrom).getTime(),
      notAfter: new Date(leaf.validTo).getTime(),
    });
  }
  if (certs.length > 0 && out.length === 0) throw new RiKeyError(id, "certificateList holds no end-entity certificate");
  for (const r of raws) out.push(parseRawPublicKey(id, r));
  return out;
}

/** The RI keys of one association, by normalized ipxProviderId. Immutable once built. */
export class RiKeySet {
  readonly #byId: ReadonlyMap<string, RiEntry>;
  constructor(entries: Map<string, RiEntry>) {
    this.#byId = entries;
  }
  static readonly EMPTY = new RiKeySet(new Map());

  lookup(identity: string): RiEntry | undefined {
    return this.#byId.get(normalizeRiId(identity));
  }
  get size(): number {
    return this.#byId.size;
  }
  ids(): string[] {
    return [...this.#byId.keys()];
  }
  /** Public information only (no key material). */
  toJSON(): Array<{ ipxProviderId: string; sides: RiSide[]; keys: number }> {
    return [...this.#byId.values()].map((e) => ({
      ipxProviderId: e.ipxProviderId,
      sides: [...e.sides],
      keys: e.keys.length,
    }));
  }
}

/**
 * Build the RiKeySet of one association from the RI information exchanged on it: `peerRis` (the peer's
 * ipxProviderSecInfoList) and `ownRis` (ours). An RI listed on both sides gets both sides (its ops must then pass
 * both policies, see modifications.ts). Throws RiKeyError on the first invalid entry.
 */
export function prepareRiKeys(p: {
  ownRis: readonly IpxProviderSecInfo[];
  peerRis: readonly IpxProviderSecInfo[];
  trust: RiTrust;
  now?: Date;
}): RiKeySet {
  const now = p.now ?? new Date();
  const byId = new Map<string, { ipxProviderId: string; sides: Set<RiSide>; keys: RiVerificationKey[] }>();
  for (const [side, list] of [
    ["own", p.ownRis],
    ["peer", p.peerRis],
  ] as const) {
    if (list.length > MAX_RIS_PER_LIST) throw new RiKeyError("(list)", `more than ${MAX_RIS_PER_LIST} RIs`);
    for (const info of list) {
      const id = normalizeRiId(info.ipxProviderId);
      const keys = riKeysFromSecInfo(info, p.trust, now);
      let e = byId.get(id);
      if (!e) {
        e = { ipxProviderId: id, sides: new Set(), keys: [] };
        byId.set(id, e);
      }
      e.sides.add(side);
      e.keys.push(...keys);
      if (e.keys.length > 2 * MAX_KEYS_PER_RI) throw new RiKeyError(id, "too many keys");
    }
  }
  return new RiKeySet(byId as Map<string, RiEntry>);
}

const cache = new WeakMap<object, RiKeySet>();

/**
 * The RiKeySet of an association (N32fAssociation of src/n32f/context.ts), prepared once and cached on the
 * association object (WeakMap, so it goes with the association).
 */
export function riKeysOf(
  association: { ownRis: readonly IpxProviderSecInfo[]; peerRis: readonly IpxProviderSecInfo[] },
  trust: RiTrust,
  now?: Date,
): RiKeySet {
  let set = cache.get(association);
  if (!set) {
    set = prepareRiKeys({ ownRis: association.ownRis, peerRis: association.peerRis, trust, now });
    cache.set(association, set);
  }
  return set;
}

/** Whether a key may be used at `now` (epoch ms): certificates only within their validity (P10 "valid now"). */
export function keyUsableAt(k: RiVerificationKey, now: number): boolean {
  if (k.notBefore !== undefined && now < k.notBefore) return false;
  if (k.notAfter !== undefined && now > k.notAfter) return false;
  return true;
}
