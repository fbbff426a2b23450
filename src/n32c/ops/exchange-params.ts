// src/n32c/ops/exchange-params.ts — the responder's exchange-params (TS 33.501 13.2.2.2, TS 29.573 5.2.3;
// N32-PROFILE P1, P7, P10): the cipher-suite round creates the context (keys exported on this connection),
// later rounds (policy, RI information) add to it; all three may come in one request.
import type { PeerConfig } from "../../config/schema/peers.ts";
import type { InvalidParam, SecParamExchReqData, SecurityProfileRef } from "../../model/n32.ts";
import type { JweEnc } from "../../n32f/context.ts";
import { initiatesFirst, type N32cCore } from "../core.ts";
import { buildContext, exportMaster } from "../keys.ts";
import * as msg from "../messages.ts";
import { acceptsProfile, checkPolicyMismatch, fullPolicy, localPolicyFor, readSecurityProfile } from "../policies.ts";
import { authorizedIpxIdOf, checkPeerRiSecInfo, ownRiSecInfo } from "../ri.ts";
import type { OperationHandler, ResponderKit } from "./kit.ts";

const OP = "exchange-params";
const MAX_NEGOTIATIONS = 256;
const NEGOTIATION_TTL_MS = 60_000;
/** Responder contexts kept per peer (current, one in its re-key grace, spares); a new one replaces the oldest. */
const MAX_RESPONDER_CONTEXTS_PER_PEER = 4;

export const exchangeParams: OperationHandler<SecParamExchReqData> = async (kit, b, id, conn) => {
  const core = kit.core;
  const peer = id.peer;
  if (!peer) return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "client certificate names no configured peer");
  if (
    b.sender !== undefined &&
    b.sender.toLowerCase().replace(/\.$/, "") !== peer.n32Fqdn.toLowerCase().replace(/\.$/, "")
  )
    return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "sender is not the TLS peer", [{ param: "/sender" }], peer.id);
  if (kit.selected.get(peer.id) !== "PRINS")
    return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "PRINS was not selected with this peer", undefined, peer.id);
  // P11 extension member (the schema lets it through unchecked): checked here before use
  const profile = readSecurityProfile((b as { securityProfile?: unknown }).securityProfile);
  if (profile === "invalid")
    return kit.fail(
      OP,
      400,
      "MANDATORY_IE_INCORRECT",
      "securityProfile must be {id: 1-64 printable characters, version: integer}",
      [{ param: "/securityProfile" }],
      peer.id,
    );
  const key = `${peer.id}:${b.n32fContextId.toLowerCase()}`;
  const cfg = core.cfg();
  let enc: JweEnc | undefined;
  let neg = kit.negotiations.get(key);

  if (b.jweCipherSuiteList !== undefined) {
    // cipher-suite round: first JWE suite of the initiator's list that we allow; ES256 for JWS (P7, P10)
    if (!(b.jwsCipherSuiteList ?? [msg.JWS_SUITE]).includes(msg.JWS_SUITE))
      return kit.fail(
        OP,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "jwsCipherSuiteList without ES256",
        [{ param: "/jwsCipherSuiteList" }],
        peer.id,
      );
    enc = b.jweCipherSuiteList.find((s): s is JweEnc => peer.jweCipherSuites.includes(s as JweEnc));
    if (!enc)
      return kit.fail(
        OP,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "no common JWE cipher suite",
        [{ param: "/jweCipherSuiteList" }],
        peer.id,
      );
    if (neg) kit.finish(key, true);
    if (kit.negotiations.size >= MAX_NEGOTIATIONS)
      return kit.fail(OP, 429, "NF_CONGESTION_RISK", "too many parameter exchanges in progress", undefined, peer.id);
    // bounded per peer: a peer that keeps negotiating (or lost its state) replaces its oldest responder
    // contexts instead of filling the store that every peer shares
    const older = core.deps.contexts
      .byPeer(peer.id)
      .filter((c) => c.role === "responder")
      .sort((x, y) => x.createdAt - y.createdAt);
    for (let i = 0; i <= older.length - MAX_RESPONDER_CONTEXTS_PER_PEER; i++)
      core.dropContext(peer.id, older[i]!.localContextId, "rekey");
    const localId = core.deps.contexts.newContextId();
    const master = exportMaster(conn, conn.protocol, peer);
    try {
      const ctx = buildContext({
        role: "responder",
        localContextId: localId,
        peerContextId: b.n32fContextId,
        initiatorContextId: b.n32fContextId,
        enc,
        master,
        peer,
        remotePlmnIds: id.plmnIds,
        localPolicy: localPolicyFor(cfg.securityProfiles, peer),
        ownRis: ownRiSecInfo(peer, cfg.storage.dir),
        peerRis: [],
        authorizedIpxId: authorizedIpxIdOf(peer),
        ...core.contextLife(cfg),
      });
      core.deps.contexts.add(ctx);
      neg = {
        peerId: peer.id,
        localId,
        rejected: false,
        timer: setTimeout(() => kit.finish(key), NEGOTIATION_TTL_MS),
      };
      neg.timer.unref?.();
      kit.negotiations.set(key, neg);
      // P11: we send N32-f on it only after step 6 (the initiator closes this connection) or after its first
      // N32-f message on it (N32cCore.sendContextId); the data path keeps the context it replaces meanwhile
      core.notYetSending.add(localId);
      conn.onClose(() => {
        kit.finish(key);
        core.notYetSending.delete(localId);
      });
      core.status(peer.id).counters.responderHandshakes++;
      core.m.handshakes.inc({ peer: peer.id, result: "ok" });
      core.activate(
        peer.id,
        {
          capability: "PRINS",
          role: "responder",
          localContextId: localId,
          peerContextId: b.n32fContextId,
          enc,
          announced: kit.announced.get(peer.id),
        },
        ctx.validUntil,
      );
      // P11 tie-break: a peer whose N32 FQDN sorts lower is the initiator of the association; contexts we
      // initiated earlier are retired like after a re-key (n32f-terminate after the grace), so one association stays
      if (initiatesFirst(peer.n32Fqdn, cfg.identity.n32Fqdn))
        for (const old of core.deps.contexts.byPeer(peer.id))
          if (old.role === "initiator") retireLater(core, peer, old.localContextId, old.peerContextId);
      core.log.info("N32-f context created, as responder", {
        peer: peer.id,
        localContextId: localId,
        peerContextId: b.n32fContextId,
        enc,
      });
    } catch (e) {
      core.deps.contexts.releaseContextId(localId);
      throw e;
    } finally {
      master.fill(0);
    }
  } else if (!neg) {
    return kit.fail(
      OP,
      404,
      "CONTEXT_NOT_FOUND",
      "no parameter exchange with this n32fContextId",
      [{ param: "/n32fContextId" }],
      peer.id,
    );
  }
  if (neg.rejected)
    return kit.fail(
      OP,
      403,
      "NEGOTIATION_NOT_ALLOWED",
      "parameter exchange rejected (policy mismatch)",
      undefined,
      peer.id,
    );
  const ctx = core.deps.contexts.get(neg.localId);
  if (!ctx)
    return kit.fail(
      OP,
      404,
      "CONTEXT_NOT_FOUND",
      "the N32-f context of this exchange is gone",
      [{ param: "/n32fContextId" }],
      peer.id,
    );

  const assoc = { ...ctx.association };
  if (b.ipxProviderSecInfoList) {
    const err = checkPeerRiSecInfo(b.ipxProviderSecInfoList, core.trust(), new Date(core.now()));
    if (err) {
      core.dropContext(peer.id, neg.localId, "local", "failed");
      kit.finish(key, true);
      core.recordError(peer.id, "NEGOTIATION_NOT_ALLOWED", err);
      return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", err, [{ param: "/ipxProviderSecInfoList" }], peer.id);
    }
    assoc.peerRis = b.ipxProviderSecInfoList;
  }
  // P11: a security profile indicated instead of the initiator's policy. Agreed (we know the same id and version
  // and it is ours for this peer): its policies are in force both ways and we echo it. Else we answer our full
  // policy and the initiator compares (13.2.3.6).
  let agreed: SecurityProfileRef | undefined;
  if (profile) {
    const pol = acceptsProfile(cfg.securityProfiles, peer, profile);
    if (pol) {
      agreed = profile;
      assoc.localPolicy = pol;
      assoc.peerPolicy = pol;
    } else
      core.log.info("security profile not agreed: answering with our full policy (P11)", {
        peer: peer.id,
        securityProfile: `${profile.id.slice(0, 64)} v${profile.version}`,
      });
  }
  if (b.protectionPolicyInfo && !agreed) {
    // TS 33.501 13.2.3.6 over full policies (P11): the peer's full policy against the agreed one in full
    const agreedPolicy = peer.partnerPolicy ? fullPolicy(peer.partnerPolicy) : undefined;
    const { mismatch, reject } = checkPolicyMismatch(core.log, peer, b.protectionPolicyInfo, agreedPolicy);
    if (reject) {
      neg.rejected = true;
      core.dropContext(peer.id, neg.localId, "policy-mismatch", "failed");
      core.recordError(peer.id, "POLICY_MISMATCH", "the peer's protection policy differs from the agreed one");
      // P7/P10: n32f-error over our own N32-c connection toward the initiator, before we answer
      await reportPolicyMismatch(kit, peer, b.n32fContextId, mismatch);
      return kit.fail(OP, 403, "POLICY_MISMATCH", "protection policy differs from the agreed one", mismatch, peer.id);
    }
    assoc.peerPolicy = b.protectionPolicyInfo;
  }
  // a later round changes what is in force at once (P11): a new association object, so nothing keyed on the old
  // one (the engine's compiled policies, the RI key sets) outlives it
  if (b.ipxProviderSecInfoList || b.protectionPolicyInfo || agreed) ctx.replaceAssociation(assoc);
  return kit.send(
    OP,
    200,
    "SecParamExchRspData",
    msg.secParamExchRsp({
      n32fContextId: neg.localId,
      sender: cfg.identity.n32Fqdn,
      jweSuite: enc,
      // the policy round is always answered with our full effective policy, or the agreed profile instead (P11)
      policy: (b.protectionPolicyInfo || profile) && !agreed ? ctx.association.localPolicy : undefined,
      profile: agreed,
      // our RIs (when we have any) in the answer to the cipher-suite round and to the RI round: an initiator
      // without own RIs sends no RI round, yet must learn ours (SecParamExchRspData carries the list in any
      // answer; docs/N32C.md "RI information")
      ris: b.ipxProviderSecInfoList || b.jweCipherSuiteList !== undefined ? ctx.association.ownRis : undefined,
    }),
  );
};

/** P7/P10: the mismatch reported with n32f-error over our own N32-c connection toward the initiator. */
async function reportPolicyMismatch(
  kit: ResponderKit,
  peer: PeerConfig,
  initiatorContextId: string,
  mismatch: InvalidParam[],
): Promise<void> {
  const core = kit.core;
  const body = msg.n32fErrorInfo({
    type: "POLICY_MISMATCH",
    receiverContextId: initiatorContextId,
    policyMismatchList: mismatch,
  });
  try {
    const r = await core.sendOnce(peer, "n32f-error", body, "N32fErrorInfo", null);
    core.status(peer.id).counters.errorsSent++;
    if (r.status !== 204)
      core.log.warn("n32f-error not accepted by the peer", {
        peer: peer.id,
        status: r.status,
        cause: r.problem?.cause,
      });
  } catch (e) {
    core.log.every(`n32f-error-send:${peer.id}`, 10_000, "warn", "could not send n32f-error to the peer", {
      peer: peer.id,
      error: e,
    });
  }
}

/** Tell the peer and wipe one of our contexts after the re-key grace (the data path may still use it meanwhile). */
function retireLater(core: N32cCore, peer: PeerConfig, localId: string, peerCtxId: string): void {
  const t = setTimeout(async () => {
    if (!core.deps.contexts.get(localId)) return;
    try {
      await core.sendOnce(peer, "n32f-terminate", msg.n32fContextInfo(peerCtxId), "N32fContextInfo", "N32fContextInfo");
      core.status(peer.id).counters.terminationsSent++;
    } catch (e) {
      core.log.every(
        `n32c-retire:${peer.id}`,
        30_000,
        "warn",
        "could not terminate the old N32-f context at the peer",
        {
          peer: peer.id,
          error: e,
        },
      );
    }
    core.dropContext(peer.id, localId, "rekey");
  }, core.deps.retireGraceMs ?? 5000);
  t.unref?.();
}
