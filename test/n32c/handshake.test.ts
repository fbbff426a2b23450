// N32-c between two real SEPPs (HTTP/2 over mutual TLS on loopback): PRINS with policy and RI rounds,
// TLS, key agreement checked in-process (all four directions), KDF input = initiator's context ID,
// every body sent schema-valid, first connection closed.
import { fullPolicy } from "../../src/n32c/policies.ts";
import { afterEach, describe, expect, test } from "bun:test";
import tls from "node:tls";
import { SoftwareAeadEngine, type AeadKey } from "../../hw/aead.ts";
import { openJwe, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { deriveN32fKeyMaterial } from "../../src/n32f/kdf.ts";
import type { N32fContext } from "../../src/n32f/context.ts";
import { validateBody } from "../../src/openapi/validate.ts";
import { FQDN_A, FQDN_B, POLICY_A, POLICY_B, RI_ID, startPair, type Pair } from "../support/pki.ts";
import { waitFor } from "../../scripts/lib/pair.ts";

class RecordingEngine extends SoftwareAeadEngine {
  imported: Uint8Array[] = [];
  override importKey(raw: Uint8Array): AeadKey {
    this.imported.push(Uint8Array.from(raw));
    return super.importKey(raw);
  }
}

let pair: Pair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

const enc = new TextEncoder();

function crossCheck(sender: N32fContext, receiver: N32fContext, kind: "request" | "response", text: string): void {
  const aad = enc.encode(
    JSON.stringify({
      metaData: { n32fContextId: receiver.localContextId, messageId: "0123456789abcdef", authorizedIpxId: "NULL" },
    }),
  );
  const jwe = protectJwe(sender, kind, aad, enc.encode(text));
  const opened = openJwe(receiver, kind, parseJwe(jwe));
  expect(new TextDecoder().decode(opened.plaintext)).toBe(text);
}

describe("N32-c handshake between two SEPPs", () => {
  test("PRINS with policy round and RI round: same keys and salts on both sides, KDF over the initiator's ID", async () => {
    const engines = { a: new RecordingEngine(), b: new RecordingEngine() };
    // record the TLS exporter output of every connection (test-only), to recompute the keys independently
    const exported: { label: string; out: Uint8Array }[] = [];
    const orig = tls.TLSSocket.prototype.exportKeyingMaterial;
    tls.TLSSocket.prototype.exportKeyingMaterial = function (this: tls.TLSSocket, ...args: Parameters<typeof orig>) {
      const out = orig.apply(this, args);
      exported.push({ label: args[1], out: Uint8Array.from(out) });
      return out;
    } as typeof orig;
    try {
      const pki = (await import("../support/pki.ts")).testPki;
      const p = await pki();
      const riEntry = { ipxProviderId: RI_ID, side: "own" as const, certificates: [p.ri.certPem], authorized: true };
      pair = await startPair({
        engine: (n) => engines[n],
        a: (c) => {
          Object.assign(c.peers![0]!, {
            protectionPolicy: POLICY_A,
            partnerPolicy: POLICY_B,
            roamingIntermediaries: [riEntry],
          });
        },
        b: (c) => {
          Object.assign(c.peers![0]!, {
            protectionPolicy: POLICY_B,
            partnerPolicy: POLICY_A,
            roamingIntermediaries: [{ ...riEntry, authorized: false }],
          });
        },
      });
      const { a, b } = pair;
      const active: string[] = [];
      a.service.on("context-active", (e) => active.push(`a:${e.role}:${e.capability}`));
      b.service.on("context-active", (e) => active.push(`b:${e.role}:${e.capability}`));

      const st = await a.service.handshake("home");
      expect(st.state).toBe("active-prins");
      expect(st.role).toBe("initiator");
      expect(st.capability).toBe("PRINS");
      expect(st.jweCipherSuite).toBe("A256GCM");
      expect(st.lastError).toBeNull();

      const [ca] = a.contexts.list();
      const [cb] = b.contexts.list();
      expect(a.contexts.size).toBe(1);
      expect(b.contexts.size).toBe(1);
      expect(ca!.role).toBe("initiator");
      expect(cb!.role).toBe("responder");
      expect(ca!.peerContextId).toBe(cb!.localContextId);
      expect(cb!.peerContextId).toBe(ca!.localContextId);
      expect(ca!.localContextId).toMatch(/^[0-9a-f]{16}$/);
      expect(st.localContextId).toBe(ca!.localContextId);
      expect(st.peerContextId).toBe(cb!.localContextId);
      expect(b.service.status("visited")!.state).toBe("active-prins");
      expect(b.service.status("visited")!.role).toBe("responder");
      // policy and RI information exchanged on this association
      // (each side's FULL effective policy: P4 defaults merged with its additions, P11)
      expect(cb!.association.peerPolicy).toEqual(fullPolicy(POLICY_A));
      expect(ca!.association.peerPolicy).toEqual(fullPolicy(POLICY_B));
      expect(ca!.association.peerPolicy!.apiIeMappingList.length).toBeGreaterThan(100);
      expect(cb!.association.peerRis.map((r) => r.ipxProviderId)).toEqual([RI_ID]);
      expect(ca!.association.peerRis.map((r) => r.ipxProviderId)).toEqual([RI_ID]);
      expect(ca!.association.authorizedIpxId).toBe(RI_ID);

      // all four directions: a JWE from one side opens with the other side's context
      crossCheck(ca!, cb!, "request", "a→b request");
      crossCheck(cb!, ca!, "response", "b→a response");
      crossCheck(cb!, ca!, "request", "b→a request");
      crossCheck(ca!, cb!, "response", "a→b response");

      // both sides exported the same master on the cipher-suite connection; keys = KDF(master, initiator's ID)
      const masters = exported.filter((e) => e.label === "EXPORTER_3GPP_N32_MASTER");
      expect(masters.length).toBe(2);
      expect(Buffer.from(masters[0]!.out).equals(Buffer.from(masters[1]!.out))).toBe(true);
      const m = deriveN32fKeyMaterial(masters[0]!.out, ca!.localContextId, "A256GCM");
      const expectKeys = [
        m.keys.parallel_request_key,
        m.keys.parallel_response_key,
        m.keys.reverse_request_key,
        m.keys.reverse_response_key,
      ]
        .map((k) => Buffer.from(k).toString("hex"))
        .sort();
      expect(engines.a.imported.map((k) => Buffer.from(k).toString("hex")).sort()).toEqual(expectKeys);
      expect(engines.b.imported.map((k) => Buffer.from(k).toString("hex")).sort()).toEqual(expectKeys);
      const wrong = deriveN32fKeyMaterial(masters[0]!.out, cb!.localContextId, "A256GCM");
      expect(engines.a.imported.map((k) => Buffer.from(k).toString("hex"))).not.toContain(
        Buffer.from(wrong.keys.parallel_request_key).toString("hex"),
      );

      // every body either side sent validates against the 3GPP schema
      const sent = [...a.traces, ...b.traces].filter((t) => t.direction === "sent");
      expect(sent.length).toBeGreaterThanOrEqual(8);
      for (const t of sent) {
        if (t.schema)
          expect({ op: t.operation, errs: validateBody(t.schema, t.body) }).toEqual({ op: t.operation, errs: null });
      }
      const ops = a.traces.filter((t) => t.direction === "sent" && t.kind === "request").map((t) => t.operation);
      expect(ops).toEqual(["exchange-capability", "exchange-params", "exchange-params", "exchange-params"]);
      const rounds = a.traces
        .filter((t) => t.direction === "sent" && t.operation === "exchange-params")
        .map((t) => Object.keys(t.body as object).sort());
      expect(rounds[0]).toEqual(["jweCipherSuiteList", "jwsCipherSuiteList", "n32fContextId", "sender"]);
      expect(rounds[1]).toEqual(["n32fContextId", "protectionPolicyInfo"]);
      expect(rounds[2]).toEqual(["ipxProviderSecInfoList", "n32fContextId"]);
      // the first N32-c connection is closed after parameter exchange
      await waitFor("first N32-c connection closed", () => b.server.sessions() === 0, 3000, 10);
      expect(active.sort()).toEqual(["a:initiator:PRINS", "b:responder:PRINS"]);
      expect(a.metrics.render()).toContain('sepp_n32c_handshakes_total{peer="home",result="ok"} 1');
      expect(a.metrics.render()).toContain("sepp_n32f_contexts_active 1");
      // no key material in logs
      const logs = JSON.stringify([...a.log.lines, ...b.log.lines]);
      expect(logs).not.toContain(Buffer.from(masters[0]!.out).toString("hex").slice(0, 16));
    } finally {
      tls.TLSSocket.prototype.exportKeyingMaterial = orig;
    }
  });

  test("A128GCM chosen when it is the first common suite; kdfContextId responder on both sides still agrees", async () => {
    pair = await startPair({
      a: (c) =>
        Object.assign(c.peers![0]!, {
          jweCipherSuites: ["A128GCM", "A256GCM"],
          profile: { kdfContextId: "responder" },
        }),
      b: (c) => Object.assign(c.peers![0]!, { profile: { kdfContextId: "responder" } }),
    });
    const st = await pair.a.service.handshake("home");
    expect(st.state).toBe("active-prins");
    expect(st.jweCipherSuite).toBe("A128GCM");
    const [ca] = pair.a.contexts.list();
    const [cb] = pair.b.contexts.list();
    crossCheck(ca!, cb!, "request", "x");
    crossCheck(cb!, ca!, "request", "y");
  });

  test("kdfContextId set differently on the two sides gives different keys (the setting is applied)", async () => {
    pair = await startPair({ a: (c) => Object.assign(c.peers![0]!, { profile: { kdfContextId: "responder" } }) });
    await pair.a.service.handshake("home");
    const [ca] = pair.a.contexts.list();
    const [cb] = pair.b.contexts.list();
    const aad = enc.encode("{}");
    const jwe = protectJwe(ca!, "request", aad, enc.encode("x"));
    expect(() => openJwe(cb!, "request", parseJwe(jwe))).toThrow();
  });

  test("TLS negotiation: capability TLS on both sides, no N32-f context, connection closed", async () => {
    pair = await startPair({ a: (c) => Object.assign(c.peers![0]!, { securityCapabilities: ["TLS", "PRINS"] }) });
    const st = await pair.a.service.handshake("home");
    expect(st.state).toBe("active-tls");
    expect(st.capability).toBe("TLS");
    expect(pair.b.service.status("visited")!.state).toBe("active-tls");
    expect(pair.a.contexts.size).toBe(0);
    expect(pair.b.contexts.size).toBe(0);
    await waitFor("N32-c connection closed", () => pair!.b.server.sessions() === 0, 3000, 10);
    for (const t of [...pair.a.traces, ...pair.b.traces].filter((t) => t.direction === "sent" && t.schema))
      expect(validateBody(t.schema!, t.body)).toBeNull();
  });

  test("PRINS required where the peer has RIs: TLS offered first is skipped", async () => {
    const p = await (await import("../support/pki.ts")).testPki();
    const ri = { ipxProviderId: RI_ID, side: "peer" as const, certificates: [p.ri.certPem] };
    pair = await startPair({
      a: (c) => Object.assign(c.peers![0]!, { securityCapabilities: ["TLS", "PRINS"] }),
      b: (c) => Object.assign(c.peers![0]!, { roamingIntermediaries: [ri] }),
    });
    const st = await pair.a.service.handshake("home");
    expect(st.capability).toBe("PRINS");
  });
  test("both sides initiate (initiate: true on both): one association, initiated by the lower N32 FQDN (P11)", async () => {
    pair = await startPair({ a: (c) => (c.peers![0]!.initiate = true), b: (c) => (c.peers![0]!.initiate = true) });
    expect(FQDN_A < FQDN_B).toBe(true);
    pair.a.service.start();
    pair.b.service.start();
    await waitFor(
      "one association",
      () =>
        pair!.a.contexts.size === 1 &&
        pair!.b.contexts.size === 1 &&
        pair!.a.service.status("home")!.role === "initiator" &&
        pair!.b.service.status("visited")!.role === "responder",
      8000,
      10,
    );
    const [ca] = pair.a.contexts.list();
    crossCheck(ca!, pair.b.contexts.get(ca!.peerContextId)!, "request", "ok");
    await Bun.sleep(500); // B's retry timer starts no second association
    expect(pair.a.contexts.size + pair.b.contexts.size).toBe(2);
  });
});
