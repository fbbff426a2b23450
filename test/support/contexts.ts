// test/support/contexts.ts — two N32-f contexts as one N32-c handshake would leave them (same master, the
// initiator's context ID fed to the KDF, P1): the cSEPP as initiator, the pSEPP as responder, each in its store.
// `policy` plays both parts of a parameter exchange: ours on the initiator, the peer's received on the responder.
import type { AeadEngine } from "../../hw/aead.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { createN32fContext, type JweEnc, type N32fAssociation, type N32fContext } from "../../src/n32f/context.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";

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
  const assoc = (peerFqdn: string, localPolicy?: ProtectionPolicy, peerPolicy?: ProtectionPolicy): N32fAssociation => ({
    peerFqdn,
    localPolicy,
    peerPolicy,
    remotePlmnIds: [],
    jwsSuite: "ES256",
    ownRis: [],
    peerRis: [],
    authorizedIpxId: null,
  });
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
