// test/support/contexts.ts — two N32-f contexts as one N32-c handshake would leave them (same master, the
// initiator's context ID fed to the KDF, P1): the cSEPP as initiator, the pSEPP as responder, each in its store.
// `policy` plays both parts of a parameter exchange: ours on the initiator, the peer's received on the responder.
// sideParams: the parameters of one side from a given master and the two context IDs, for the tests that build
// their contexts themselves (test vectors, shared counters, workers).
import { type AeadEngine, SoftwareAeadEngine } from "../../hw/aead.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import {
  createN32fContext,
  type JweEnc,
  type N32cRole,
  type N32fAssociation,
  type N32fContext,
  type N32fContextParams,
} from "../../src/n32f/context.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";

/** An association toward `peerFqdn` without policies, PLMN IDs or RIs; `over` replaces members. */
export const bareAssociation = (
  peerFqdn = "sepp.example.org",
  over: Partial<N32fAssociation> = {},
): N32fAssociation => ({
  peerFqdn,
  remotePlmnIds: [],
  jwsSuite: "ES256",
  ownRis: [],
  peerRis: [],
  authorizedIpxId: null,
  ...over,
});

/**
 * One side's context parameters (P1: the initiator's context ID is fed to the KDF; `role` picks which ID is
 * local): a copy of `master` (createN32fContext wipes it), a software engine, peer "peer", a bare association,
 * valid for `validForMs` (default 1 h); `over` replaces any member.
 */
export function sideParams(
  role: N32cRole,
  o: { initiatorId: string; responderId: string; master: Uint8Array; enc?: JweEnc; validForMs?: number },
  over: Partial<N32fContextParams> = {},
): N32fContextParams {
  const initiator = role === "initiator";
  return {
    localContextId: initiator ? o.initiatorId : o.responderId,
    peerContextId: initiator ? o.responderId : o.initiatorId,
    role,
    enc: o.enc ?? "A256GCM",
    master: o.master.slice(),
    kdfContextId: o.initiatorId,
    engine: new SoftwareAeadEngine(),
    peerId: "peer",
    association: bareAssociation(),
    validUntil: Date.now() + (o.validForMs ?? 3_600_000),
    ...over,
  };
}

export interface ContextPair {
  /** the N32-c initiator (sends requests with parallel_request_*) */
  c: N32fContext;
  /** the N32-c responder */
  p: N32fContext;
  cStore: N32fContextStore;
  pStore: N32fContextStore;
  /** a copy of the master (tests that derive raw keys themselves); wipe it when done */
  master: Uint8Array;
  cId: string;
  pId: string;
}

export function contextPair(o: {
  engine: AeadEngine;
  enc?: JweEnc;
  policy?: ProtectionPolicy;
  validForMs?: number;
}): ContextPair {
  const enc = o.enc ?? "A256GCM";
  const master = crypto.getRandomValues(new Uint8Array(64));
  const cStore = new N32fContextStore();
  const pStore = new N32fContextStore();
  const cId = cStore.newContextId();
  const pId = pStore.newContextId();
  const assoc = (peerFqdn: string, localPolicy?: ProtectionPolicy, peerPolicy?: ProtectionPolicy): N32fAssociation =>
    bareAssociation(peerFqdn, { localPolicy, peerPolicy });
  const base = { enc, engine: o.engine, validUntil: Date.now() + (o.validForMs ?? 60_000), kdfContextId: cId } as const;
  const c = createN32fContext({
    ...base,
    master: master.slice(),
    localContextId: cId,
    peerContextId: pId,
    role: "initiator",
    peerId: "home",
    association: assoc("sepp.home.example.org", o.policy),
  });
  const p = createN32fContext({
    ...base,
    master: master.slice(),
    localContextId: pId,
    peerContextId: cId,
    role: "responder",
    peerId: "visited",
    association: assoc("sepp.visited.example.org", undefined, o.policy),
  });
  cStore.add(c);
  pStore.add(p);
  return { c, p, cStore, pStore, master, cId, pId };
}
