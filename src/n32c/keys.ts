// src/n32c/keys.ts — N32-f master key export and context creation (TS 33.501 13.2.2.2 step 4,
// 13.2.4.4.1; N32-PROFILE P1). The master key is the TLS exporter of the N32-c connection that carried
// the cipher-suite round: label EXPORTER_3GPP_N32_MASTER, 64 octets, a zero-length context. Under TLS 1.2
// the per-peer setting `tls12ExporterContext` picks a zero-length context ("empty") or none ("none");
// under TLS 1.3 both are the same (RFC 8446 7.5).
import type { AeadEngine } from "../../hw/aead.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { IpxProviderSecInfo, PlmnId, ProtectionPolicy } from "../model/n32.ts";
import {
  createN32fContext,
  type JweEnc,
  type N32cRole,
  type N32fContext,
  type N32fContextParams,
} from "../n32f/context.ts";
import { N32fSharedCounters } from "../n32f/shared-counters.ts";

/** What a data-path worker needs to hold the same context (issue 11 §3): the parameters without engine and clock. */
export type SharedContextSpec = Omit<N32fContextParams, "engine" | "now" | "shared">;
/**
 * Hands a new context to the data-path workers (src/workers/pool.ts): `spec.master` is a copy the callee owns and
 * must wipe; `shared` is the block this thread's context also uses.
 */
export type ContextShare = (spec: SharedContextSpec, shared: N32fSharedCounters) => void;

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
  /** data-path workers: the context's counters go to a shared block and the context is handed to them */
  share?: ContextShare;
}

/** Create the N32-f context (P1: kdfContextId = the initiator's ID unless the peer's profile says responder). */
export function buildContext(i: ContextInput): N32fContext {
  const responderId = i.role === "initiator" ? i.peerContextId : i.localContextId;
  const kdfContextId = i.peer.profile.kdfContextId === "responder" ? responderId : i.initiatorContextId;
  const validUntil = i.now() + i.validitySeconds * 1000;
  const spec: SharedContextSpec = {
    localContextId: i.localContextId,
    peerContextId: i.peerContextId,
    role: i.role,
    enc: i.enc,
    master: Uint8Array.from(i.master),
    kdfContextId,
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
  };
  if (!i.share) return createN32fContext({ ...spec, engine: i.engine, now: i.now });
  const shared = N32fSharedCounters.create();
  const forWorkers = Uint8Array.from(i.master); // createN32fContext wipes spec.master
  const ctx = createN32fContext({ ...spec, engine: i.engine, now: i.now, shared });
  i.share({ ...spec, master: forWorkers }, shared);
  return ctx;
}
