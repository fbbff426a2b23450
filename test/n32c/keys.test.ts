// src/n32c/keys.ts: the N32-f context N32-c builds (P1 KDF input, P10 partner-policy fallback).
import { describe, expect, test } from "bun:test";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { buildContext } from "../../src/n32c/keys.ts";
import { PeerSchema } from "../../src/config/schema/peers.ts";
import * as v from "valibot";
import type { ProtectionPolicy } from "../../src/model/n32.ts";

const partnerPolicy: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: "/nudm-sdm/v2/{supi}/am-data",
      apiMethod: "GET",
      IeList: [{ ieLoc: "BODY", ieType: "OTHER", rspIe: "/gpsis", isModifiable: true }],
    },
  ],
};
const peer = v.parse(PeerSchema, {
  id: "home",
  n32Fqdn: "sepp.5gc.mnc001.mcc262.3gppnetwork.org",
  plmnIds: [{ mcc: "262", mnc: "01" }],
  n32cUri: "https://127.0.0.1:1",
  partnerPolicy,
});
const base = {
  role: "initiator" as const,
  localContextId: "0123456789abcdef",
  peerContextId: "fedcba9876543210",
  initiatorContextId: "0123456789abcdef",
  enc: "A128GCM" as const,
  peer,
  remotePlmnIds: [{ mcc: "262", mnc: "01" }],
  ownRis: [],
  peerRis: [],
  authorizedIpxId: null,
  engine: new SoftwareAeadEngine(),
  validitySeconds: 60,
  rekeySeqThreshold: 2 ** 31,
  rekeyMarginSeconds: 5,
  now: Date.now,
};

describe("buildContext", () => {
  test("without a policy from the peer, the configured partner policy decides (P10)", () => {
    const ctx = buildContext({ ...base, master: new Uint8Array(64).fill(7) });
    expect(ctx.association.peerPolicy).toEqual(partnerPolicy);
  });
  test("a policy received on N32-c wins over the configured one", () => {
    const received: ProtectionPolicy = {
      apiIeMappingList: [
        { apiSignature: "/x", apiMethod: "GET", IeList: [{ ieLoc: "HEADER", ieType: "OTHER", reqIe: "x-a" }] },
      ],
    };
    const ctx = buildContext({ ...base, master: new Uint8Array(64).fill(7), peerPolicy: received });
    expect(ctx.association.peerPolicy).toEqual(received);
  });
  test("the master passed in is not consumed (the caller wipes its own copy)", () => {
    const master = new Uint8Array(64).fill(9);
    buildContext({ ...base, master });
    expect(master.every((b) => b === 9)).toBe(true);
  });
});
