// N32-c RI security information (TS 33.501 13.2.2.2 step 3; N32-PROFILE P5, P10) when only one side, or each
// side, has Roaming Intermediaries: after the handshake both contexts hold the same RI view
// (initiator.peerRis = responder.ownRis, initiator.ownRis = responder.peerRis), and the initiator can verify a
// signature of the responder's RI with the keys of its association. Two real SEPPs over mutual TLS on loopback.
import { afterEach, describe, expect, test } from "bun:test";
import { createPrivateKey, sign, verify } from "node:crypto";
import type { N32fContext } from "../../src/n32f/context.ts";
import { prepareRiKeys } from "../../src/n32f/ri-keys.ts";
import { issueRiCert } from "../../src/pki/devpki.ts";
import { validateBody } from "../../src/openapi/validate.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { RI_ID, startPair, testPki, type Pair } from "../support/pki.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

const RI2 = "ipx2.ri.example.org";
const ids = (l: { ipxProviderId: string }[]) => l.map((r) => r.ipxProviderId);

function only(p: Pair): { ca: N32fContext; cb: N32fContext } {
  expect(p.a.contexts.size).toBe(1);
  expect(p.b.contexts.size).toBe(1);
  return { ca: p.a.contexts.list()[0]!, cb: p.b.contexts.list()[0]! };
}

/** Both sides see the same RIs on this association. */
function sameView(ca: N32fContext, cb: N32fContext): void {
  expect(ca.association.peerRis).toEqual(cb.association.ownRis);
  expect(ca.association.ownRis).toEqual(cb.association.peerRis);
}

describe("RI security information on N32-c", () => {
  test("only the responder has RIs: the initiator learns them from the cipher-suite answer (no RI round) and can verify them", async () => {
    const pki = await testPki();
    pair = await startPair({
      // the initiator expects the partner's RI (configuration), has none of its own
      a: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [{ ipxProviderId: RI_ID, side: "peer", certificates: [pki.ri.certPem] }],
        }),
      b: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [{ ipxProviderId: RI_ID, side: "own", certificates: [pki.ri.certPem] }],
        }),
    });
    const st = await pair.a.service.handshake("home");
    expect(st.state).toBe("active-prins");
    const { ca, cb } = only(pair);
    expect(ids(cb.association.ownRis)).toEqual([RI_ID]);
    expect(ids(ca.association.peerRis)).toEqual([RI_ID]);
    expect(ca.association.ownRis).toEqual([]);
    sameView(ca, cb);

    // no RI round was sent (the initiator has nothing to announce): cipher-suite and policy rounds only; the
    // list came with the cipher-suite answer
    const rounds = pair.a.traces.filter((t) => t.direction === "sent" && t.operation === "exchange-params");
    expect(rounds.length).toBe(2);
    for (const t of rounds) expect(t.body as object).not.toHaveProperty("ipxProviderSecInfoList");
    const answer = pair.a.traces.find((t) => t.direction === "received" && t.operation === "exchange-params")!;
    expect(validateBody("SecParamExchRspData", answer.body)).toBeNull();
    expect(
      ids((answer.body as { ipxProviderSecInfoList: { ipxProviderId: string }[] }).ipxProviderSecInfoList),
    ).toEqual([RI_ID]);

    // a signature of the responder's RI verifies with the key the initiator's association holds for it
    const keys = prepareRiKeys({
      ownRis: ca.association.ownRis,
      peerRis: ca.association.peerRis,
      trust: TrustStore.fromConfig(pair.a.cfg()),
    });
    const entry = keys.lookup(RI_ID)!;
    expect([...entry.sides]).toEqual(["peer"]);
    const data = Buffer.from("modifications by the responder's RI");
    const sig = sign("sha256", data, createPrivateKey(pki.ri.keyPem));
    expect(entry.keys.some((k) => verify("sha256", data, k.key, sig))).toBe(true);
    // configured and announced: no warning
    expect(pair.a.log.lines.some((l) => String(l.msg).includes("did not announce"))).toBe(false);
  });

  test("the initiator's configuration names a peer RI the peer does not announce: warned, not trusted; views still equal", async () => {
    const pki = await testPki();
    pair = await startPair({
      a: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [{ ipxProviderId: RI_ID, side: "peer", certificates: [pki.ri.certPem] }],
        }),
    });
    expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
    const { ca, cb } = only(pair);
    expect(ca.association.peerRis).toEqual([]);
    sameView(ca, cb);
    const warn = pair.a.log.lines.find((l) => String(l.msg).includes("did not announce"));
    expect(warn).toBeDefined();
    expect(JSON.stringify(warn)).toContain(RI_ID);
  });

  test("only the initiator has RIs: the RI round carries them, the responder keeps them, no list comes back", async () => {
    const pki = await testPki();
    pair = await startPair({
      a: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [
            { ipxProviderId: RI_ID, side: "own", certificates: [pki.ri.certPem], authorized: true },
          ],
        }),
    });
    expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
    const { ca, cb } = only(pair);
    expect(ids(cb.association.peerRis)).toEqual([RI_ID]);
    expect(cb.association.ownRis).toEqual([]);
    sameView(ca, cb);
    const answers = pair.a.traces.filter((t) => t.direction === "received" && t.operation === "exchange-params");
    expect(answers.length).toBe(3); // cipher suites, policy, RI information
    for (const t of answers) expect((t.body as object) ?? {}).not.toHaveProperty("ipxProviderSecInfoList");
  });

  test("each side has its own RI: both lists cross, both views equal", async () => {
    const pki = await testPki();
    const ri2 = await issueRiCert(pki.riRoot, { ipxProviderId: RI2 });
    pair = await startPair({
      a: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [
            { ipxProviderId: RI_ID, side: "own", certificates: [pki.ri.certPem], authorized: true },
            { ipxProviderId: RI2, side: "peer", certificates: [ri2.certPem] },
          ],
        }),
      b: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [
            { ipxProviderId: RI2, side: "own", certificates: [ri2.certPem] },
            { ipxProviderId: RI_ID, side: "peer", certificates: [pki.ri.certPem] },
          ],
        }),
    });
    expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
    const { ca, cb } = only(pair);
    expect(ids(ca.association.ownRis)).toEqual([RI_ID]);
    expect(ids(ca.association.peerRis)).toEqual([RI2]);
    sameView(ca, cb);
  });

  test("the responder's list in the cipher-suite answer is checked like an RI round: a certificate outside the RI store fails the handshake", async () => {
    const pki = await testPki();
    pair = await startPair({
      // B announces an RI whose certificate was issued by a SEPP root, not under the RI trust store
      b: (c) =>
        Object.assign(c.peers![0]!, {
          roamingIntermediaries: [{ ipxProviderId: RI_ID, side: "own", certificates: [pki.riFromSeppRoot.certPem] }],
        }),
    });
    const st = await pair.a.service.handshake("home");
    expect(st.state).toBe("failed");
    expect(st.lastError?.cause).toBe("NEGOTIATION_NOT_ALLOWED");
    expect(st.lastError?.detail).toContain(RI_ID);
    expect(pair.a.contexts.size).toBe(0);
    // the initiator asked the responder to drop the context it had created
    expect(pair.b.contexts.size).toBe(0);
  });
});
