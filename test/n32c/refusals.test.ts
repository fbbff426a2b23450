// N32-c refusals (N32-PROFILE P7, P9, P10; SCAS TS 33.517 4.2.5 C1–C4): each with its status and cause,
// a schema-valid application/problem+json body, and no N32-f context created on either side.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { validateBody } from "../../src/openapi/validate.ts";
import { memoryLogger } from "../../src/log.ts";
import { FQDN_A, FQDN_B, listenN32, PLMN_A, PLMN_B, rawClient, rawPost, startPair, type Pair } from "../support/pki.ts";

let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
});
afterAll(async () => {
  await pair.close();
});

function expectProblem(r: { status: number; body: any; contentType: string }, status: number, cause: string) {
  expect({ status: r.status, cause: r.body?.cause }).toEqual({ status, cause });
  expect(r.contentType).toBe("application/problem+json");
  expect(validateBody("ProblemDetails", r.body)).toBeNull();
}

function noContexts() {
  expect(pair.a.contexts.size).toBe(0);
  expect(pair.b.contexts.size).toBe(0);
}

const capReq = (sender: string, extra: object = {}) => ({
  sender,
  supportedSecCapabilityList: ["PRINS"],
  plmnIdList: [PLMN_A],
  ...extra,
});

/** Sends one N32-c request with `cert`; "closed" when the connection ends without an HTTP answer. */
async function answerStatus(
  side: Parameters<typeof rawClient>[0],
  cert: Parameters<typeof rawClient>[1],
  op: Parameters<typeof rawPost>[1],
  body: unknown,
): Promise<number | "closed"> {
  try {
    const c = await rawClient(side, cert);
    try {
      return (await rawPost(c, op, body)).status;
    } finally {
      await c.close();
    }
  } catch (e) {
    if (/closed|failed|reset/.test(String(e))) return "closed";
    throw e;
  }
}

describe("exchange-capability refusals", () => {
  test("unknown sender → 403 NEGOTIATION_NOT_ALLOWED", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-capability", capReq("sepp9.5gc.mnc001.mcc262.3gppnetwork.org")),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    await c.close();
    noContexts();
  });

  test("a certificate that names no configured peer (sender not a dNSName of it) → connection closed at set-up", async () => {
    // issue 10: a valid chain is not enough to hold an N32 connection; the certificate must name a configured
    // peer (or a listed RI), else the connection ends before any HTTP/2 frame (src/pki/admission.ts)
    expect(await answerStatus(pair.b, pair.pki.bOtherName, "exchange-capability", capReq(FQDN_A))).toBe("closed");
    noContexts();
  });

  test("PLMN in plmnIdList not carried by the certificate → 403", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-capability", capReq(FQDN_A, { plmnIdList: [PLMN_A, PLMN_B] })),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    await c.close();
  });

  test("targetPlmnId we do not serve → 403", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-capability", capReq(FQDN_A, { targetPlmnId: PLMN_A })),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    await c.close();
  });

  test("no common capability → 403; through the initiator: state failed with the cause", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-capability", capReq(FQDN_A, { supportedSecCapabilityList: ["SOMETHING"] })),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    await c.close();
    pair.b.update((cfg) => (cfg.peers![0]!.securityCapabilities = ["TLS"]));
    pair.a.update((cfg) => (cfg.peers![0]!.securityCapabilities = ["PRINS"]));
    try {
      const st = await pair.a.service.handshake("home");
      expect(st.state).toBe("failed");
      expect(st.lastError?.cause).toBe("NEGOTIATION_NOT_ALLOWED");
      noContexts();
    } finally {
      pair.b.update((cfg) => delete cfg.peers![0]!.securityCapabilities);
      pair.a.update((cfg) => delete cfg.peers![0]!.securityCapabilities);
    }
  });

  test("NONE from a peer without an association → 403", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-capability", capReq(FQDN_A, { supportedSecCapabilityList: ["NONE"] })),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    await c.close();
  });

  test("no common usage purpose → 200 with rejectedUsagePurpose", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    const r = await rawPost(
      c,
      "exchange-capability",
      capReq(FQDN_A, { intendedUsagePurpose: [{ usagePurpose: "SMS_INTERCONNECT" }] }),
    );
    expect(r.status).toBe(200);
    expect(r.body.rejectedUsagePurpose).toEqual([expect.objectContaining({ usagePurpose: "SMS_INTERCONNECT" })]);
    expect(r.body.allowedUsagePurpose).toBeUndefined();
    await c.close();
  });
});

describe("certificates and trust anchors (SCAS 33.517 4.2.5)", () => {
  // P11 "Trust": refused at connection set-up, before any HTTP/2 frame, never with an HTTP answer
  // (the SCAS expected results in both roles: test/scas/scas-trust-anchoring.test.ts)
  for (const [name, pick] of [
    ["C3: peer name and PLMN, but issued by another PLMN's root", (p: Pair["pki"]) => p.bSignedByA],
    ["C4: PLMN IDs of two different anchors", (p: Pair["pki"]) => p.bTwoAnchors],
    ["certificate without mncXXX.mccYYY labels", (p: Pair["pki"]) => p.bNoLabels],
  ] as const)
    test(`${name} → connection closed at set-up, no HTTP answer (server role)`, async () => {
      let status = 0;
      let err = "";
      try {
        const c = await rawClient(pair.a, pick(pair.pki));
        status = (await rawPost(c, "exchange-capability", { ...capReq(FQDN_B), plmnIdList: [PLMN_B] })).status;
        await c.close();
      } catch (e) {
        err = String(e);
      }
      expect(status).toBe(0);
      expect(err).toMatch(/closed|failed|reset/);
      noContexts();
    });

  test("C3/C4 in the client role: the initiator refuses such a server certificate", async () => {
    for (const bad of [pair.pki.bSignedByA, pair.pki.bTwoAnchors]) {
      const log = memoryLogger();
      const fake = (await listenN32(pair.b.cfg(), pair.b.service, log, { tls: { key: bad.keyPem, cert: bad.certPem } }))
        .n32;
      const saved = pair.a.input.peers![0]!.n32cUri;
      pair.a.update((c) => (c.peers![0]!.n32cUri = `https://127.0.0.1:${fake.port}`));
      try {
        const st = await pair.a.service.handshake("home");
        expect(st.state).toBe("failed");
        // inside the handshake: the TLS stack (only the peer PLMN's roots) or the per-PLMN check
        expect(st.lastError?.detail).toMatch(/peer certificate refused|certificate in certificate chain|verify/);
        noContexts();
      } finally {
        pair.a.update((c) => (c.peers![0]!.n32cUri = saved));
        await fake.close();
      }
    }
    // C1/C2: the legitimate certificates work in both roles
    expect((await pair.a.service.handshake("home")).state).toBe("active-prins");
    await pair.a.service.terminate("home");
    expect((await pair.b.service.handshake("visited")).state).toBe("active-prins");
    await pair.b.service.terminate("visited");
    noContexts();
  });

  test("an RI certificate offered as N32-c client certificate is refused (TLS handshake, or 403 and the connection closed)", async () => {
    // The N32 listener's CA list carries the RI roots too, since RIs relay N32-f on the same port (P11): an RI
    // certificate may then pass the TLS handshake, and N32-c refuses it before anything else (P9)
    let status = 0;
    let cause: string | undefined;
    try {
      const c = await rawClient(pair.a, pair.pki.ri);
      const r = await rawPost(c, "exchange-capability", capReq(FQDN_B));
      status = r.status;
      cause = r.body?.cause;
      await c.close();
    } catch (e) {
      expect(String(e)).toMatch(/failed|closed|timed out/);
    }
    if (status !== 0) {
      expect(status).toBe(403);
      expect(cause).toBe("NEGOTIATION_NOT_ALLOWED");
    }
    noContexts();
  });

  test("TLS 1.2 client when TLS 1.2 is not allowed: the handshake fails", async () => {
    await expect(rawClient(pair.b, pair.pki.seppA, { tls12: true })).rejects.toThrow(/TLS connection .* failed|closed/);
  });
});

describe("body checks", () => {
  test("malformed JSON → 400 MANDATORY_IE_INCORRECT with invalidParams", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    const r = await rawPost(c, "exchange-capability", '{"sender": ');
    expectProblem(r, 400, "MANDATORY_IE_INCORRECT");
    expect(r.body.invalidParams.length).toBeGreaterThan(0);
    await c.close();
  });

  test("schema: missing mandatory member → 400 MANDATORY_IE_MISSING naming it", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    const r = await rawPost(c, "exchange-capability", { sender: FQDN_A });
    expectProblem(r, 400, "MANDATORY_IE_MISSING");
    expect(r.body.invalidParams).toContainEqual(expect.objectContaining({ param: "/supportedSecCapabilityList" }));
    const r2 = await rawPost(c, "n32f-terminate", {});
    expectProblem(r2, 400, "MANDATORY_IE_MISSING");
    expect(r2.body.invalidParams).toContainEqual(expect.objectContaining({ param: "/n32fContextId" }));
    await c.close();
    noContexts();
  });

  test("schema: incorrect member → 400 MANDATORY_IE_INCORRECT naming it", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    const r = await rawPost(c, "exchange-params", { n32fContextId: "not-hex", jweCipherSuiteList: ["A256GCM"] });
    expectProblem(r, 400, "MANDATORY_IE_INCORRECT");
    expect(r.body.invalidParams).toContainEqual(expect.objectContaining({ param: "/n32fContextId" }));
    const r2 = await rawPost(c, "exchange-capability", { sender: 42, supportedSecCapabilityList: ["PRINS"] });
    expectProblem(r2, 400, "MANDATORY_IE_INCORRECT");
    expect(r2.body.invalidParams).toContainEqual(expect.objectContaining({ param: "/sender" }));
    await c.close();
    noContexts();
  });

  test("wrong content type → 415; oversized body → 413", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-capability", capReq(FQDN_A), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const big = JSON.stringify({ ...capReq(FQDN_A), padding: "x".repeat(70_000) });
    expectProblem(await rawPost(c, "exchange-capability", big), 413, "PAYLOAD_TOO_LARGE");
    await c.close();
    noContexts();
  });
});

describe("exchange-params, n32f-terminate, n32f-error refusals", () => {
  test("exchange-params before PRINS was selected → 403; unknown context ID → 404; ES256 missing → 403; no common suite → 403", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(
      await rawPost(c, "exchange-params", { n32fContextId: "0011223344556677", jweCipherSuiteList: ["A256GCM"] }),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    expect((await rawPost(c, "exchange-capability", capReq(FQDN_A))).body.selectedSecCapability).toBe("PRINS");
    expectProblem(await rawPost(c, "exchange-params", { n32fContextId: "0011223344556677" }), 404, "CONTEXT_NOT_FOUND");
    expectProblem(
      await rawPost(c, "exchange-params", {
        n32fContextId: "0011223344556677",
        jweCipherSuiteList: ["A256GCM"],
        jwsCipherSuiteList: ["ES384"],
      }),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    expectProblem(
      await rawPost(c, "exchange-params", { n32fContextId: "0011223344556677", jweCipherSuiteList: ["A192GCM"] }),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    expectProblem(
      await rawPost(c, "exchange-params", {
        n32fContextId: "0011223344556677",
        jweCipherSuiteList: ["A256GCM"],
        sender: "other.5gc.mnc001.mcc262.3gppnetwork.org",
      }),
      403,
      "NEGOTIATION_NOT_ALLOWED",
    );
    noContexts();
    // an RI certificate that is not under the RI trust store, in the RI round → 403, context dropped
    const ok = await rawPost(c, "exchange-params", {
      n32fContextId: "0011223344556677",
      jweCipherSuiteList: ["A256GCM"],
    });
    expect(ok.status).toBe(200);
    expect(pair.b.contexts.size).toBe(1);
    const { riBase64 } = await import("../support/pki.ts");
    for (const bad of [pair.pki.riFromSeppRoot, pair.pki.riP384, pair.pki.riExpired]) {
      const again = await rawPost(c, "exchange-params", {
        n32fContextId: "1011223344556677",
        jweCipherSuiteList: ["A256GCM"],
      });
      expect(again.status).toBe(200);
      const r = await rawPost(c, "exchange-params", {
        n32fContextId: "1011223344556677",
        ipxProviderSecInfoList: [{ ipxProviderId: "ipx1.ri.example.org", certificateList: [riBase64(bad)] }],
      });
      expectProblem(r, 403, "NEGOTIATION_NOT_ALLOWED");
    }
    await c.close();
    for (const ctx of pair.b.contexts.list()) pair.b.contexts.delete(ctx.localContextId);
    pair.b.service.status("visited");
  });

  test("n32f-terminate / n32f-error with an unknown context ID → 404 CONTEXT_NOT_FOUND", async () => {
    const c = await rawClient(pair.b, pair.pki.seppA);
    expectProblem(await rawPost(c, "n32f-terminate", { n32fContextId: "00000000000000aa" }), 404, "CONTEXT_NOT_FOUND");
    expectProblem(
      await rawPost(c, "n32f-error", {
        n32fMessageId: "0000000000000000",
        n32fErrorType: "INTEGRITY_CHECK_FAILED",
        n32fContextId: "00000000000000aa",
      }),
      404,
      "CONTEXT_NOT_FOUND",
    );
    await c.close();
  });

  test("a context of another peer cannot be terminated", async () => {
    await pair.a.service.handshake("home");
    const [cb] = pair.b.contexts.list();
    // a valid PLMN-B certificate that names no configured peer: cut at set-up, the context stays
    expect(
      await answerStatus(pair.b, pair.pki.bOtherName, "n32f-terminate", { n32fContextId: cb!.localContextId }),
    ).toBe("closed");
    expect(pair.b.contexts.size).toBe(1);
    await pair.a.service.terminate("home");
    noContexts();
  });

  test("rate limit → 429 NF_CONGESTION_RISK (token bucket per peer)", async () => {
    pair.b.update((cfg) => (cfg.n32c!.maxRequestsPerSecond = 3));
    try {
      const c = await rawClient(pair.b, pair.pki.seppA);
      const results = [];
      for (let i = 0; i < 8; i++)
        results.push(await rawPost(c, "n32f-terminate", { n32fContextId: "00000000000000bb" }));
      const limited = results.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(4);
      expectProblem(limited[0]!, 429, "NF_CONGESTION_RISK");
      await c.close();
    } finally {
      pair.b.update((cfg) => (cfg.n32c!.maxRequestsPerSecond = 200));
    }
  });
});
