// test/support/sdm-subscribe.ts — the visited AMF's Nudm_SDM Subscribe (TS 29.503 5.3.2.5) for the 5G-AKA
// subscriber of test/support/home-ausf.ts, towards the home UDM through the visited SEPP.
import { HOME_UDM } from "../../scripts/lib/pair.ts";
import { AKA_SUPI } from "./home-ausf.ts";
import type { NfClient, NfResponse } from "./nf.ts";

/**
 * POST sdm-subscriptions for AKA_SUPI's am-data with `callbackReference`; `extra` members (e.g.
 * implicitUnsubscribe) follow nfInstanceId in the body.
 */
export function postSdmSubscription(
  amf: NfClient,
  udmPort: number,
  callbackReference: string,
  extra: Record<string, unknown> = {},
): Promise<NfResponse> {
  return amf.request(
    "POST",
    `${HOME_UDM}:${udmPort}`,
    `/nudm-sdm/v2/${AKA_SUPI}/sdm-subscriptions`,
    { "content-type": "application/json" },
    JSON.stringify({
      nfInstanceId: "0b1c2d3e-0000-4000-8000-0000000000a1",
      ...extra,
      callbackReference,
      monitoredResourceUris: [`http://${HOME_UDM}/nudm-sdm/v2/${AKA_SUPI}/am-data`],
    }),
  );
}
