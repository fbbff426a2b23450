// src/n32c/initiator-params.ts — the initiator's exchange-params rounds on the first N32-c connection (TS 33.501
// 13.2.2.2 step 2, 13.2.3.6; TS 29.573 5.2.3; N32-PROFILE P1, P7, P10, P11): cipher suites, protection policies
// (or a security profile), RI security information, then the master key (TLS exporter) and the N32-f context.
import type { PeerConfig } from "../config/schema/peers.ts";
import type { N32fContextInfo, SecParamExchRspData } from "../model/n32.ts";
import type { N32fContext } from "../n32f/context.ts";
import type { H2Client } from "../transport/h2client.ts";
import { fromProblem, N32cError, type N32cTarget } from "./core-types.ts";
import type { N32cCore } from "./core.ts";
import { buildContext, exportMaster } from "./keys.ts";
import * as msg from "./messages.ts";
import {
  checkPolicyMismatch,
  fullPolicy,
  localPolicyFor,
  profilePolicy,
  readSecurityProfile,
  sameProfile,
} from "./policies.ts";
import { authorizedIpxIdOf, checkPeerRiSecInfo, ownRiSecInfo, unannouncedPeerRis } from "./ri.ts";

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The exchange-params rounds on the first connection (P7), then key export and the context (P1). */
export async function exchangeParams(
  core: N32cCore,
  client: H2Client,
  peer: PeerConfig,
  target: N32cTarget,
): Promise<N32fContext> {
  const cfg = core.cfg();
  const contexts = core.deps.contexts;
  const localId = contexts.newContextId();
  const pending = { peerId: peer.id, rejected: null as null | { param: string }[] };
  core.initiatorPending.set(localId, pending);
  let master: Uint8Array | null = null;
  let peerCtxId: string | null = null;
  let added = false;
  try {
    const post = (body: unknown) =>
      core.post<SecParamExchRspData>(
        client,
        peer,
        "exchange-params",
        body,
        "SecParamExchReqData",
        "SecParamExchRspData",
        target,
      );
    const checkRound = (r: {
      status: number;
      body: SecParamExchRspData | null;
      problem: { cause?: string; detail?: string } | null;
    }) => {
      if (pending.rejected) throw new N32cError("POLICY_MISMATCH", "the peer reported a protection policy mismatch");
      if (!r.body) throw fromProblem("exchange-params", r);
      if (peerCtxId !== null && !sameId(r.body.n32fContextId, peerCtxId))
        throw new N32cError("MANDATORY_IE_INCORRECT", "exchange-params: the peer changed its n32fContextId");
      return r.body;
    };

    // 1. cipher suites (mandatory)
    const c1 = checkRound(
      await post(
        msg.secParamExchReq({
          n32fContextId: localId,
          sender: cfg.identity.n32Fqdn,
          jweCipherSuites: peer.jweCipherSuites,
        }),
      ),
    );
    const enc = peer.jweCipherSuites.find((s) => s === c1.selectedJweCipherSuite);
    if (!enc) throw new N32cError("NEGOTIATION_NOT_ALLOWED", "peer selected a JWE cipher suite we did not offer");
    if ((c1.selectedJwsCipherSuite ?? msg.JWS_SUITE) !== msg.JWS_SUITE)
      throw new N32cError("NEGOTIATION_NOT_ALLOWED", "peer selected a JWS suite other than ES256");
    peerCtxId = c1.n32fContextId;
    // the peer's RI security information: the latest answer that carries a list (P10; docs/N32C.md)
    let peerRis = c1.ipxProviderSecInfoList ?? [];
    // P1: the master key comes from the connection that carried the cipher-suite round
    master = exportMaster(client, client.protocol, peer);

    // 2. protection policies: our full effective policy (P4 defaults + our additions for this peer), or the
    // security profile configured for the peer instead (P11); the peer answers with its own full policy (or
    // the same profile), compared with the agreed one in full (TS 33.501 13.2.3.6, P11)
    const profile = peer.securityProfile;
    const localPolicy = localPolicyFor(cfg.securityProfiles, peer);
    let peerPolicy = c1.selProtectionPolicyInfo;
    {
      const c2 = checkRound(
        await post(
          msg.secParamExchReq(
            profile ? { n32fContextId: localId, profile } : { n32fContextId: localId, policy: localPolicy },
          ),
        ),
      );
      peerRis = c2.ipxProviderSecInfoList ?? peerRis;
      const echoed = readSecurityProfile((c2 as { securityProfile?: unknown }).securityProfile);
      if (echoed === "invalid" || (echoed && (!profile || !sameProfile(echoed, profile))))
        throw new N32cError(
          "MANDATORY_IE_INCORRECT",
          "exchange-params: the peer answered a securityProfile we did not indicate",
        );
      if (echoed) {
        // agreed: the profile's policies are in force both ways, nothing to compare
        peerPolicy = localPolicy;
      } else {
        if (profile)
          core.log.info("security profile not agreed by the peer: comparing full policies (P11)", {
            peer: peer.id,
            securityProfile: `${profile.id} v${profile.version}`,
          });
        peerPolicy = c2.selProtectionPolicyInfo ?? peerPolicy;
        // the agreed policy: the partner policy when configured, else the profile both operators chose
        const agreed = peer.partnerPolicy
          ? fullPolicy(peer.partnerPolicy)
          : profile
            ? profilePolicy(cfg.securityProfiles, profile)
            : undefined;
        const { mismatch, reject } = checkPolicyMismatch(core.log, peer, peerPolicy, agreed);
        if (reject) {
          const body = msg.n32fErrorInfo({
            type: "POLICY_MISMATCH",
            receiverContextId: peerCtxId,
            policyMismatchList: mismatch,
          });
          try {
            await core.post(client, peer, "n32f-error", body, "N32fErrorInfo", null, target);
            core.status(peer.id).counters.errorsSent++;
          } catch (e) {
            core.log.warn("could not send n32f-error to the peer", { peer: peer.id, error: e });
          }
          peerCtxId = null; // the peer drops its context on the error report
          throw new N32cError("POLICY_MISMATCH", "the peer's protection policy differs from the agreed one");
        }
      }
    }

    // 3. RI security information (when we have RIs to announce, P10: the list needs ≥ 1 entry). Without own
    // RIs the peer's list comes from its answer to the cipher-suite (or policy) round.
    const ownRis = ownRiSecInfo(peer, cfg.storage.dir);
    if (ownRis.length) {
      const c3 = checkRound(await post(msg.secParamExchReq({ n32fContextId: localId, ris: ownRis })));
      peerRis = c3.ipxProviderSecInfoList ?? peerRis;
    }
    if (peerRis.length) {
      const err = checkPeerRiSecInfo(peerRis, core.trust(), new Date(core.now()));
      if (err) throw new N32cError("NEGOTIATION_NOT_ALLOWED", err);
    }
    const missing = unannouncedPeerRis(peer, peerRis);
    if (missing.length)
      core.log.every(
        `n32c-ri-missing:${peer.id}`,
        30_000,
        "warn",
        "the peer did not announce RIs configured as its own; their modifications will be refused",
        {
          peer: peer.id,
          ipxProviderIds: missing,
        },
      );
    if (pending.rejected) throw new N32cError("POLICY_MISMATCH", "the peer reported a protection policy mismatch");

    const ctx = buildContext({
      role: "initiator",
      localContextId: localId,
      peerContextId: peerCtxId,
      initiatorContextId: localId,
      enc,
      master,
      peer,
      remotePlmnIds: client.peerPlmnIds,
      localPolicy,
      peerPolicy,
      ownRis,
      peerRis,
      authorizedIpxId: authorizedIpxIdOf(peer),
      ...core.contextLife(cfg),
    });
    contexts.add(ctx);
    added = true;
    // P7: the first N32-c connection is closed after parameter exchange
    await client.close();
    return ctx;
  } catch (e) {
    if (!added) contexts.releaseContextId(localId);
    // the responder already holds a context for this exchange: ask it to drop it (best effort)
    if (peerCtxId !== null && !client.closed) {
      await core
        .post<N32fContextInfo>(
          client,
          peer,
          "n32f-terminate",
          msg.n32fContextInfo(peerCtxId),
          "N32fContextInfo",
          "N32fContextInfo",
          target,
        )
        .catch(() => {});
    }
    throw e;
  } finally {
    master?.fill(0);
    core.initiatorPending.delete(localId);
  }
}
