// src/config/schema/identity.ts — who we are on N32: our FQDN(s), PLMN IDs, announced N32-f ports.
import * as v from "valibot";
import { Fqdn, PlmnIdSchema } from "./common.ts";

export const IdentitySchema = v.strictObject({
  /** Our N32 FQDN: `sender` on N32-c, dNSName of our certificate. */
  n32Fqdn: Fqdn,
  plmnIds: v.pipe(v.array(PlmnIdSchema), v.minLength(1)),
  /** FQDN announced as senderN32fFqdn; defaults to n32Fqdn */
  n32fFqdn: v.optional(Fqdn),
  /**
   * Ports announced as senderN32fPortList (the first as senderN32fPort): our externally visible N32-f endpoint
   * behind a load balancer or NAT (P11: the peer sends N32-f there); absent: the N32-f listener's bound port
   */
  n32fPorts: v.optional(
    v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))), v.minLength(1), v.maxLength(8)),
  ),
});
