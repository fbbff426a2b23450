// TLS 1.2 on N32-c only where a peer allows it (N32-PROFILE P1), and the per-peer exporter context setting
// `tls12ExporterContext` ("empty" = zero-length context, "none" = no context; they differ under TLS 1.2).
import { afterEach, expect, test } from "bun:test";
import { openJwe, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { n32ListenerOptions } from "../../src/n32c/listeners.ts";
import { listenN32, rawClient, rawPost, startPair, FQDN_A, PLMN_A, type Pair } from "../support/pki.ts";

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** Restart B's N32 listener as a TLS 1.2-only server (an old peer). */
async function bOnTls12(p: Pair) {
  const cfg = p.b.cfg();
  await p.b.server.close();
  p.b.server = (await listenN32(cfg, p.b.service, p.b.log, { maxTlsVersion: "TLSv1.2" })).n32;
  p.b.uri = `https://127.0.0.1:${p.b.server.port}`;
  p.a.update((c) => (c.peers![0]!.n32cUri = p.b.uri));
}

const agree = (p: Pair) => {
  const [ca] = p.a.contexts.list();
  const cb = p.b.contexts.get(ca!.peerContextId)!;
  const e = new TextEncoder();
  const jwe = protectJwe(ca!, "request", e.encode("{}"), e.encode("x"));
  try {
    return new TextDecoder().decode(openJwe(cb, "request", parseJwe(jwe)).plaintext) === "x";
  } catch {
    return false;
  }
};

for (const mode of ["empty", "none"] as const) {
  test(`TLS 1.2 allowed on both sides, tls12ExporterContext "${mode}" on both: keys agree`, async () => {
    const allow = (c: any) => (c.peers[0].profile = { allowTls12: true, tls12ExporterContext: mode });
    pair = await startPair({ a: allow, b: allow });
    await bOnTls12(pair);
    const st = await pair.a.service.handshake("home");
    expect(st.state).toBe("active-prins");
    expect(agree(pair)).toBe(true);
  });
}

test('TLS 1.2 with "none" on one side and "empty" on the other: different masters, keys do not agree', async () => {
  pair = await startPair({
    a: (c: any) => (c.peers[0].profile = { allowTls12: true, tls12ExporterContext: "none" }),
    b: (c: any) => (c.peers[0].profile = { allowTls12: true }),
  });
  await bOnTls12(pair);
  expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
  expect(agree(pair)).toBe(false);
});

test("TLS 1.2 from a peer that is not allowed it (listener open to 1.2 for another peer) → 403, no context", async () => {
  // B's listener accepts 1.2 because another peer of B is allowed it; B's settings for A do not allow it
  pair = await startPair({
    b: (c: any) =>
      c.peers.push({
        id: "old-partner",
        n32Fqdn: "other.5gc.mnc410.mcc310.3gppnetwork.org",
        plmnIds: [{ mcc: "310", mnc: "410" }],
        n32cUri: "https://127.0.0.1:1",
        initiate: false,
        profile: { allowTls12: true },
      }),
  });
  await bOnTls12(pair);
  const c = await rawClient(pair.b, pair.pki.seppA, { tls12: true });
  const r = await rawPost(c, "exchange-capability", {
    sender: FQDN_A,
    supportedSecCapabilityList: ["PRINS"],
    plmnIdList: [PLMN_A],
  });
  expect(r.status).toBe(403);
  expect(r.body.cause).toBe("NEGOTIATION_NOT_ALLOWED");
  expect(r.body.detail).toContain("TLS 1.2");
  await c.close().catch(() => {});
  // and our initiator does not offer 1.2 to a peer that is not allowed it
  const st = await pair.a.service.handshake("home");
  expect(st.state).toBe("failed");
  expect(pair.a.contexts.size + pair.b.contexts.size).toBe(0);
});

test("listener options follow the configuration", async () => {
  pair = await startPair();
  expect(n32ListenerOptions(pair.a.cfg()).minVersion).toBe("TLSv1.3");
  pair.a.update((c: any) => (c.peers[0].profile = { allowTls12: true }));
  expect(n32ListenerOptions(pair.a.cfg()).minVersion).toBe("TLSv1.2");
  // N32-f shares the port: the listener bound covers a reformatted SBI body (the N32-c limit is checked per request)
  const cfg = pair.a.cfg();
  expect(n32ListenerOptions(cfg).limits.maxBodyBytes).toBe(cfg.sbi.maxBodyBytes * 2 + 65536);
});
