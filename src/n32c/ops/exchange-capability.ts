// src/n32c/ops/exchange-capability.ts — the responder's exchange-capability (TS 33.501 13.5, TS 29.573
// 5.2.2; N32-PROFILE P7, P10): who may negotiate, which capability is selected, ["NONE"] teardown (NFTLST).
import type { PeerConfig } from "../../config/schema/peers.ts";
import type { N32Purpose, SecNegotiateReqData } from "../../model/n32.ts";
import { API_PREFIX } from "../core-types.ts";
import { plmnKey } from "../../model/plmn.ts";
import { initiatesFirst } from "../core.ts";
import * as msg from "../messages.ts";
import { inPlmns, type OperationHandler, type Reply, type ResponderKit } from "./kit.ts";

const OP = "exchange-capability";

export const exchangeCapability: OperationHandler<SecNegotiateReqData> = (kit, b, id) => {
  const core = kit.core;
  const peer = core.peerByFqdn(b.sender);
  if (!peer) return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "sender is not a configured peer");
  const sender = b.sender.toLowerCase().replace(/\.$/, "");
  if (!id.dnsNames.some((n) => n.replace(/\.$/, "") === sender))
    return kit.fail(
      OP,
      403,
      "NEGOTIATION_NOT_ALLOWED",
      "sender is not a dNSName of the client certificate",
      undefined,
      peer.id,
    );
  if (!id.plmnIds.some((p) => inPlmns(peer.plmnIds, p)))
    return kit.fail(
      OP,
      403,
      "NEGOTIATION_NOT_ALLOWED",
      "client certificate carries none of the peer's PLMN IDs",
      undefined,
      peer.id,
    );
  for (const p of b.plmnIdList ?? []) {
    if (!inPlmns(id.plmnIds, p) || !inPlmns(peer.plmnIds, p))
      return kit.fail(
        OP,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        `PLMN ${plmnKey(p)} is not allowed for this sender`,
        [{ param: "/plmnIdList" }],
        peer.id,
      );
  }
  if (b.targetPlmnId && !inPlmns(core.cfg().identity.plmnIds, b.targetPlmnId))
    return kit.fail(
      OP,
      403,
      "NEGOTIATION_NOT_ALLOWED",
      "targetPlmnId is not served by this SEPP",
      [{ param: "/targetPlmnId" }],
      peer.id,
    );

  const list = b.supportedSecCapabilityList;
  const none = list.length === 1 && list[0] === "NONE";
  // P11: configured to send initiators to another SEPP of our PLMN (n32c.redirectTo): 307 with its
  // exchange-capability URI, after the sender was identified (an unknown party learns nothing). A NONE teardown
  // of an association we hold is still served here.
  const redirectTo = core.cfg().n32c.redirectTo;
  if (redirectTo && !(none && core.associations.has(peer.id))) {
    core.log.info("exchange-capability redirected (307) to another SEPP of our PLMN", {
      peer: peer.id,
      to: redirectTo,
    });
    return kit.redirect(OP, `${redirectTo.replace(/\/+$/, "")}${API_PREFIX}/exchange-capability`);
  }
  if (none) return teardown(kit, peer);

  // both sides initiating at once (P11): the handshake of the SEPP with the lower N32 FQDN goes on; the other
  // abandons its own attempt silently and serves as responder
  const ours = core.initiating.get(peer.id);
  if (ours) {
    if (initiatesFirst(core.cfg().identity.n32Fqdn, peer.n32Fqdn))
      return kit.fail(
        OP,
        403,
        "NEGOTIATION_NOT_ALLOWED",
        "both SEPPs initiated: the handshake of the SEPP with the lower N32 FQDN goes on (P11)",
        undefined,
        peer.id,
      );
    ours.abandon();
  }

  // with RIs configured or announced for this peer, PRINS only (P11; TLS mode never runs through an RI)
  const acceptable: readonly string[] = core.capabilitiesFor(peer);
  const choice = list.find((cap) => acceptable.includes(cap));
  if (!choice) return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "no common security capability", undefined, peer.id);
  const intended = (b.intendedUsagePurpose ?? []).map((x) => x.usagePurpose as N32Purpose);
  const allowed = intended.filter((x) => peer.intendedUsagePurpose.includes(x as never));
  const rejected = intended.filter((x) => !peer.intendedUsagePurpose.includes(x as never));
  kit.selected.set(peer.id, choice);
  // P11: N32-f toward the initiator goes to the endpoint it announced (n32f-endpoint.ts)
  const announced = msg.announcementOf(b);
  kit.announced.set(peer.id, announced);
  if (choice === "TLS" && (intended.length === 0 || allowed.length > 0)) {
    core.status(peer.id).counters.responderHandshakes++;
    core.m.handshakes.inc({ peer: peer.id, result: "ok" });
    core.activate(peer.id, { capability: "TLS", role: "responder", announced }, null);
    core.log.info("N32 association active (TLS), as responder", { peer: peer.id });
  }
  return kit.send(
    OP,
    200,
    "SecNegotiateRspData",
    msg.secNegotiateRsp(core.me(), { selected: choice, allowed, rejected }),
  );
};

/** ["NONE"] from an established peer tears the association down (NFTLST, P7). */
function teardown(kit: ResponderKit, peer: PeerConfig): Reply {
  const core = kit.core;
  const cur = core.associations.get(peer.id);
  if (!cur)
    return kit.fail(OP, 403, "NEGOTIATION_NOT_ALLOWED", "NONE from a peer without an association", undefined, peer.id);
  core.associations.delete(peer.id);
  kit.selected.delete(peer.id);
  kit.announced.delete(peer.id);
  if (cur.localContextId) core.dropContext(peer.id, cur.localContextId, "peer");
  else core.emit("context-terminated", { peerId: peer.id, capability: cur.capability, reason: "peer" });
  core.status(peer.id).counters.terminationsReceived++;
  core.setState(peer.id, "terminated", { localContextId: null, peerContextId: null, validUntil: null });
  core.log.info("N32 association torn down by the peer (NONE)", { peer: peer.id });
  return kit.send(OP, 200, "SecNegotiateRspData", msg.secNegotiateRsp(core.me(), { selected: "NONE" }));
}
