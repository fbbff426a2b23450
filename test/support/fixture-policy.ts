// test/support/fixture-policy.ts — the per-peer policy a message fixture asks for: its binary multipart parts
// (`encryptParts`) encrypted as OTHER (TS 29.573 6.1.5.2.x, MULTIPART_BINARY); policies only add protection (P4).
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import type { Fixture } from "../fixtures/messages/load.ts";

/** The fixture's binary parts as a per-peer policy, or undefined when it names none. */
export function partsPolicy(fx: Fixture): ProtectionPolicy | undefined {
  if (!fx.encryptParts) return undefined;
  return {
    apiIeMappingList: [
      {
        apiSignature: fx.message.path ?? fx.request!.path,
        apiMethod: fx.message.method ?? fx.request!.method,
        IeList: fx.encryptParts.map((id) => ({
          ieLoc: "MULTIPART_BINARY" as const,
          ieType: "OTHER" as const,
          reqIe: id,
        })),
      },
    ],
    dataTypeEncPolicy: ["OTHER"],
  };
}
