// src/config/peer-index.ts — the configured roaming partners by id and by PLMN, in constant time. The data path
// asks on every request (the cSEPP: which partner serves the target PLMN; both sides: the partner of an association
// or context), and an operator has hundreds of roaming partners: a `find` over `peers` (and, by PLMN, over each
// partner's PLMN IDs) per request grew with their number (docs/PERFORMANCE.md "Partner lookups and screening rules").
//
// Built once per configuration object, on first use: a SeppConfig is never changed in place (a change is a new
// object from the store), so the index is never stale. Same answers as the linear search it replaces: the first
// partner in configuration order, and PLMN identity as src/model/plmn.ts defines it (a 2-digit MNC is its 3-digit
// form with a leading zero).
import type { PlmnId } from "../model/n32.ts";
import type { SeppConfig } from "./schema.ts";
import type { PeerConfig } from "./schema/peers.ts";

interface PeerIndex {
  byId: Map<string, PeerConfig>;
  /** MCC → MNC → partner; each configured MNC (2 or 3 digits, schema) under both of its spellings */
  byPlmn: Map<string, Map<string, PeerConfig>>;
}

const INDEXES = new WeakMap<SeppConfig, PeerIndex>();

function indexOf(cfg: SeppConfig): PeerIndex {
  let ix = INDEXES.get(cfg);
  if (ix) return ix;
  ix = { byId: new Map(), byPlmn: new Map() };
  for (const p of cfg.peers) {
    if (!ix.byId.has(p.id)) ix.byId.set(p.id, p);
    for (const { mcc, mnc } of p.plmnIds) {
      let mncs = ix.byPlmn.get(mcc);
      if (!mncs) {
        mncs = new Map();
        ix.byPlmn.set(mcc, mncs);
      }
      for (const spelling of spellingsOf(mnc)) if (!mncs.has(spelling)) mncs.set(spelling, p);
    }
  }
  INDEXES.set(cfg, ix);
  return ix;
}

/** A configured MNC and its other spelling: "15" ↔ "015"; a 3-digit MNC without a leading zero has one. */
function spellingsOf(mnc: string): string[] {
  if (mnc.length === 2) return [mnc, `0${mnc}`];
  if (mnc.length === 3 && mnc.charCodeAt(0) === 0x30) return [mnc, mnc.slice(1)];
  return [mnc];
}

/** The configured partner with this id. */
export function peerById(cfg: SeppConfig, id: string): PeerConfig | undefined {
  return indexOf(cfg).byId.get(id);
}

/** The first configured partner one of whose PLMN IDs is `plmn`. */
export function peerForPlmn(cfg: SeppConfig, plmn: PlmnId): PeerConfig | undefined {
  const mncs = indexOf(cfg).byPlmn.get(plmn.mcc);
  if (!mncs) return undefined;
  const m = plmn.mnc;
  // 2 and 3 digits are both indexed; a shorter MNC is its 3-digit form ("5" is "005"), a longer one is no configured
  // MNC (those are 2 or 3 digits)
  if (m.length === 2 || m.length === 3) return mncs.get(m);
  return m.length < 2 ? mncs.get(m.padStart(3, "0")) : undefined;
}
