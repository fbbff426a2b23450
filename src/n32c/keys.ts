// src/n32c/keys.ts — N32-f master key export and context creation (TS 33.501 13.2.2.2 step 4,
// 13.2.4.4.1; N32-PROFILE P1). The master key is the TLS exporter of the N32-c connection that carried
// the cipher-suite round: label EXPORTER_3GPP_N32_MASTER, 64 octets, a zero-length context. Under TLS 1.2
// the per-peer setting `tls12ExporterContext` picks a zero-length context ("empty") or none ("none");
// under TLS 1.3 both are the same (RFC 8446 7.5).
import type { AeadEngine } from "../../hw/aead.ts";
import type { PeerConfig } from "../config/schema.ts";
import type { IpxProviderSecInfo, PlmnId, ProtectionPolicy } from "../model/n32.ts";
import { createN32fContext, type JweEnc, type N32cRole, type N32fContext } from "../n32f/context.ts";

export const EXPORTER_LABEL = "EXPORTER_3GPP_N32_MASTER";
export const MASTER_LENGTH = 64;

export interface Exporter {
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array;
}

/** The N32-f master key of this connection (P1). The caller owns (and wipes) the result. */
export function exportMaster(conn: Exporter, tlsVersion: string | null, peer: PeerConfig): Uint8Array {
  const noContext = tlsVersion === "TLSv1.2" && peer.profile.tls12ExporterContext === "none";
  return conn.exportKeyingMaterial(MASTER_LENGTH, EXPORTER_LABEL, noContext ? undefined : new Uint8Array(0));
}

export interface ContextInput {
  role: N32cRole;
  localContextId: string;
  peerContextId: string;
  /** the initiator's context ID exactly as sent in the first SecParamExchReqData */
  initiatorContextId: string;
  enc: JweEnc;
  /** copied here: the callee wipes its copy; the caller still wipes its own */
  master: Uint8Array;
  peer: PeerConfig;
  remotePlmnIds: PlmnId[];
  localPolicy?: ProtectionPolicy;
  peerPolicy?: ProtectionPolicy;
  ownRis: IpxProviderSecInfo[];
  peerRis: IpxProviderSecInfo[];
  authorizedIpxId: string | null;
  engine: AeadEngine;
  validitySeconds: number;
  rekeySeqThreshold: number;
  rekeyMarginSeconds: number;
  now: () => number;
}

/** Create the N32-f context (P1: kdfContextId = the initiator's ID unless the peer's profile says responder). */
export function buildContext(i: ContextInput): N32fContext {
  const responderId = i.role === "initiator" ? i.peerContextId : i.localContextId;
  const kdfContextId = i.peer.profile.kdfContextId === "responder" ? responderId : i.initiatorContextId;
  const validUntil = i.now() + i.validitySeconds * 1000;
  return createN32fContext({
    localContextId: i.localContextId,
    peerContextId: i.peerContextId,
    role: i.role,
    enc: i.enc,
    master: Uint8Array.from(i.master),
    kdfContextId,
    engine: i.engine,
    peerId: i.peer.id,
    association: {
      peerFqdn: i.peer.n32Fqdn,
      remotePlmnIds: i.remotePlmnIds,
      jwsSuite: "ES256",
      localPolicy: i.localPolicy,
      // P10: the policy the peer sent on N32-c, else the configured partner policy (both only add protection,
      // and they decide what the peer's RIs may modify)
      peerPolicy: i.peerPolicy ?? i.peer.partnerPolicy,
      ownRis: i.ownRis,
      peerRis: i.peerRis,
      authorizedIpxId: i.authorizedIpxId,
    },
    validUntil,
    rekeyThreshold: i.rekeySeqThreshold,
    rekeyMarginMs: Math.min(i.rekeyMarginSeconds * 1000, Math.max(0, validUntil - i.now())),
    now: i.now,
  });
}
