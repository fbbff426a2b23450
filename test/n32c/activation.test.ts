// P11 "Rounds and activation": the responder sends N32-f on a new context only after the initiator has closed the
// first N32-c connection (TS 33.501 13.2.2.2 step 6) or after the first N32-f message on that context arrived.
// Until then the data path (N32cService.brief, the context it sends on) keeps the context the new one replaces.
// Real N32-c over mutual TLS on loopback; the initiator's side of the new context is built from the same TLS
// exporter (P1) on the raw connection.
import { afterEach, expect, test } from "bun:test";
import type { H2Client } from "../../src/transport/h2client.ts";
import { buildContext, exportMaster } from "../../src/n32c/keys.ts";
import { DEFAULT_POLICY } from "../../src/n32c/policies.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { FQDN_A, PLMN_A, PLMN_B, type Pair, rawClient, rawPost, startPair } from "../support/pki.ts";
import { waitFor } from "../../scripts/lib/pair.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** B's context to send on toward A (what its data path uses). */
const sendingAtB = (p: Pair) => p.b.service.brief("visited")?.localContextId ?? null;

/** As A, on a raw connection kept open: exchange-capability and the cipher-suite round. B's new context ID. */
async function newExchange(c: H2Client, initiatorId: string): Promise<string> {
  const cap = await rawPost(c, "exchange-capability", {
    sender: FQDN_A,
    supportedSecCapabilityList: ["PRINS"],
    plmnIdList: [PLMN_A],
    targetPlmnId: PLMN_B,
  });
  expect(cap.status).toBe(200);
  const r = await rawPost(c, "exchange-params", {
    n32fContextId: initiatorId,
    jweCipherSuiteList: ["A256GCM"],
    sender: FQDN_A,
  });
  expect(r.status).toBe(200);
  return r.body.n32fContextId as string;
}

test("responder: a new context is not sent on before step 6; the context it replaces is used until the initiator closes the first connection", async () => {
  pair = await startPair();
  const first = await pair.a.service.handshake("home");
  const old = first.peerContextId!; // B's context of the first association
  await waitFor("B sending on its first context after step 6", () => sendingAtB(pair!) === old, 3000, 10);
  const c = await rawClient(pair.b, pair.pki.seppA);
  let closed = false;
  try {
    const fresh = await newExchange(c, "00000000000000c1");
    // B's current association is the new one (status), but it sends on the old one
    expect(pair.b.service.status("visited")!.localContextId).toBe(fresh);
    expect(sendingAtB(pair)).toBe(old);
    await Bun.sleep(200);
    expect(sendingAtB(pair)).toBe(old);
    // step 6: the initiator closes the first N32-c connection → B sends on the new context
    await c.close();
    closed = true;
    await waitFor("B sending on the new context after step 6", () => sendingAtB(pair!) === fresh, 3000, 10);
  } finally {
    if (!closed) await c.close();
  }
});

test("responder without an earlier context: no context to send on until step 6", async () => {
  pair = await startPair();
  const c = await rawClient(pair.b, pair.pki.seppA);
  try {
    const fresh = await newExchange(c, "00000000000000c2");
    expect(pair.b.service.status("visited")!.state).toBe("active-prins");
    expect(sendingAtB(pair)).toBeNull();
    await c.close();
    await waitFor("B sending on the new context after step 6", () => sendingAtB(pair!) === fresh, 3000, 10);
  } finally {
    await c.close();
  }
});

test("responder: the first N32-f message received on the new context lets it send there before step 6", async () => {
  pair = await startPair();
  const c = await rawClient(pair.b, pair.pki.seppA);
  try {
    const initiatorId = "00000000000000c3";
    const fresh = await newExchange(c, initiatorId);
    expect(sendingAtB(pair)).toBeNull();
    // A's side of the context, keyed from the same TLS connection (P1), protects one request for B
    const master = exportMaster(c, c.protocol, pair.a.cfg().peers[0]!);
    const ctxA = buildContext({
      role: "initiator",
      localContextId: initiatorId,
      peerContextId: fresh,
      initiatorContextId: initiatorId,
      enc: "A256GCM",
      master,
      peer: pair.a.cfg().peers[0]!,
      remotePlmnIds: [PLMN_B],
      ownRis: [],
      peerRis: [],
      authorizedIpxId: null,
      engine: new SoftwareAeadEngine(),
      validitySeconds: 3600,
      rekeySeqThreshold: 2 ** 31,
      rekeyMarginSeconds: 300,
      now: Date.now,
    });
    master.fill(0);
    const engine = new PrinsEngine({ defaults: DEFAULT_POLICY, riTrust: TrustStore.fromConfig(pair.b.cfg()) });
    const wire = engine.protectRequest(ctxA, {
      kind: "request",
      method: "GET",
      scheme: "https",
      authority: "udm.5gc.mnc410.mcc310.3gppnetwork.org",
      path: "/nudm-sdm/v2/imsi-310410000000001/am-data",
      query: "",
      headers: [],
      body: new Uint8Array(0),
    });
    // B's data path accepts it on the new context (what its pSEPP does with an n32f-process body)
    const opened = engine.openRequest(JSON.parse(wire.body), pair.b.contexts);
    expect(opened.ctx.localContextId).toBe(fresh);
    expect(sendingAtB(pair)).toBe(fresh);
  } finally {
    await c.close();
  }
});
