// The composed PRINS pipeline (src/n32f/engine.ts): cSEPP protects, pSEPP opens, pSEPP protects the response,
// cSEPP opens it — over every fixture message, with both contexts derived from one master as N32-c would.
import { describe, expect, test } from "bun:test";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";
import { PrinsEngine, newMessageId } from "../../src/n32f/engine.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { readFrame } from "../../src/n32f/frame.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { validateBody } from "../../src/openapi/validate.ts";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { loadFixtures } from "../fixtures/messages/load.ts";
import { partsPolicy } from "../support/fixture-policy.ts";
import { contextPair } from "../support/contexts.ts";

const engine = new SoftwareAeadEngine();
const prins = new PrinsEngine({
  defaults: defaults as ProtectionPolicy,
  riTrust: new TrustStore([], []),
  validateOutgoing: true,
});

function pair(enc: "A128GCM" | "A256GCM" = "A256GCM", policy?: ProtectionPolicy) {
  const { c, p, cStore, pStore, master } = contextPair({ engine, enc, policy });
  master.fill(0);
  return { c, p, cStore, pStore };
}

const fixtures = loadFixtures();
const requests = fixtures.filter((f) => f.message.kind === "request");
const responses = fixtures.filter((f) => f.message.kind === "response");

describe("PRINS engine round trip", () => {
  for (const req of requests) {
    test(`${req.name}: request protected by the cSEPP opens at the pSEPP unchanged, sensitive IEs never in clear`, () => {
      const { c, pStore } = pair("A256GCM", partsPolicy(req));
      const { body, messageId } = prins.protectRequest(c, req.message);
      expect(messageId).toMatch(/^[0-9a-f]{16}$/);
      const wire = JSON.parse(body);
      expect(validateBody("N32fReformattedReqMsg", wire)).toBeNull();
      const aadText = Buffer.from(wire.reformattedData.aad, "base64url").toString();
      for (const s of req.sensitive) expect(aadText).not.toContain(s);
      const opened = prins.openRequest(wire, pStore);
      expect(opened.messageId).toBe(messageId);
      expect(opened.authorizedIpxId).toBeNull();
      expect(opened.message.method).toBe(req.message.method!);
      expect(opened.message.path).toBe(req.message.path!);
      expect(opened.message.query ?? "").toBe(req.message.query ?? "");
      expect(opened.message.headers).toEqual(req.message.headers.filter(([n]) => n !== "3gpp-sbi-target-apiroot"));
      expect(Buffer.from(opened.message.body ?? []).length > 0).toBe((req.message.body?.length ?? 0) > 0);
    });
  }

  for (const rsp of responses) {
    test(`${rsp.name}: response protected by the pSEPP opens at the cSEPP unchanged`, () => {
      const { c, p } = pair("A128GCM");
      const req = {
        method: rsp.request!.method,
        path: rsp.request!.path,
        callbackType: rsp.request!.callbackType,
        messageId: newMessageId(),
      };
      const body = prins.protectResponse(p, rsp.message, req);
      const wire = JSON.parse(body);
      expect(validateBody("N32fReformattedRspMsg", wire)).toBeNull();
      const aadText = Buffer.from(wire.reformattedData.aad, "base64url").toString();
      for (const s of rsp.sensitive) expect(aadText).not.toContain(s);
      const msg = prins.openResponse(c, wire, req);
      expect(msg.status).toBe(rsp.message.status!);
      expect(msg.headers).toEqual(rsp.message.headers);
    });
  }
});

describe("the body in pieces, as the data path sends it (protectRequestPieces / protectResponsePieces)", () => {
  test("every fixture: each piece ASCII, the length the octets of the joined text, which is our frame and opens", () => {
    const ascii = /^[\x00-\x7f]*$/;
    const check = (t: { pieces: readonly string[]; length: number; toString(): string }) => {
      for (const piece of t.pieces) expect(piece).toMatch(ascii);
      expect(t.length).toBe(Buffer.byteLength(t.toString(), "utf8"));
      const frame = readFrame(t.toString()); // the frame read without JSON.parse: exactly what JSON.parse gives
      expect(frame).toEqual(JSON.parse(t.toString()));
      return frame;
    };
    for (const req of requests) {
      const { c, pStore } = pair("A256GCM", partsPolicy(req));
      const { body, messageId } = prins.protectRequestPieces(c, req.message);
      expect(prins.openRequest(check(body), pStore).messageId).toBe(messageId);
    }
    for (const rsp of responses) {
      const { c, p } = pair("A128GCM");
      const ref = { method: rsp.request!.method, path: rsp.request!.path, messageId: newMessageId() };
      const body = prins.protectResponsePieces(p, rsp.message, ref);
      expect(prins.openResponse(c, check(body), ref).status).toBe(rsp.message.status!);
    }
  });
});

describe("PRINS engine refusals", () => {
  const req = requests.find((f) => f.name.startsWith("nudm-sdm-am-data"))!;

  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(N32fError);
      return (e as N32fError).errorType;
    }
    throw new Error("no error");
  };

  test("unknown context ID → CONTEXT_NOT_FOUND, with the messageId kept for n32f-error", () => {
    const { c } = pair();
    const wire = JSON.parse(prins.protectRequest(c, req.message).body);
    let thrown: unknown;
    try {
      prins.openRequest(wire, new N32fContextStore());
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(N32fError);
    expect((thrown as N32fError).errorType).toBe("CONTEXT_NOT_FOUND");
    expect((thrown as N32fError).messageId).toMatch(/^[0-9a-f]{16}$/);
  });

  test("replay of a captured message → INTEGRITY_CHECK_FAILED", () => {
    const { c, pStore } = pair();
    const wire = JSON.parse(prins.protectRequest(c, req.message).body);
    prins.openRequest(structuredClone(wire), pStore);
    expect(code(() => prins.openRequest(wire, pStore))).toBe("INTEGRITY_CHECK_FAILED");
  });

  test("aad edited in clear (SUPI reference swapped) → INTEGRITY_CHECK_FAILED", () => {
    const { c, pStore } = pair();
    const wire = JSON.parse(prins.protectRequest(c, req.message).body);
    const block = JSON.parse(Buffer.from(wire.reformattedData.aad, "base64url").toString());
    block.requestLine.authority = "evil.example.org";
    wire.reformattedData.aad = Buffer.from(JSON.stringify(block)).toString("base64url");
    expect(code(() => prins.openRequest(wire, pStore))).toBe("INTEGRITY_CHECK_FAILED");
  });

  test("a request for the response direction (reflection) does not open", () => {
    const { c, p } = pair();
    const wire = JSON.parse(prins.protectRequest(c, req.message).body);
    // the cSEPP's own request, reflected back to it as if it were the response
    expect(code(() => prins.openResponse(c, wire, { method: "GET", path: "/", messageId: "x" }))).toBe(
      "CONTEXT_NOT_FOUND",
    );
    void p;
  });

  test("response repeating another messageId is refused", () => {
    const { c, p } = pair();
    const rsp = responses.find((f) => f.name.startsWith("nudm-sdm-am-data"))!;
    const body = prins.protectResponse(p, rsp.message, {
      method: "GET",
      path: req.message.path!,
      messageId: "00000000000000aa",
    });
    expect(
      code(() =>
        prins.openResponse(c, JSON.parse(body), {
          method: "GET",
          path: req.message.path!,
          messageId: "00000000000000bb",
        }),
      ),
    ).toBe("MESSAGE_RECONSTRUCTION_FAILED");
  });

  test("schema-invalid outer message and a deactivated context are refused", () => {
    const { c, p, pStore } = pair();
    expect(code(() => prins.openRequest({ reformattedData: { iv: "x" } }, pStore))).toBe(
      "MESSAGE_RECONSTRUCTION_FAILED",
    );
    const wire = JSON.parse(prins.protectRequest(c, req.message).body);
    p.deactivate();
    expect(code(() => prins.openRequest(wire, pStore))).toBe("CONTEXT_NOT_FOUND");
    c.deactivate();
    expect(code(() => prins.protectRequest(c, req.message))).toBe("CONTEXT_NOT_FOUND");
  });
});

describe("TS 33.517 4.2.2.5: confidential IEs replacement handling in the original N32-f message", () => {
  test("the SUPI in the path and the access token are encBlockIndex references; the AV in the AUSF answer too", () => {
    const { c, p, pStore } = pair();
    const req = requests.find((f) => f.name.startsWith("nudm-sdm-am-data"))!;
    const wire = JSON.parse(prins.protectRequest(c, req.message).body);
    const block = JSON.parse(Buffer.from(wire.reformattedData.aad, "base64url").toString());
    expect(block.requestLine.path).toMatch(/^\/nudm-sdm\/v2\/\{encBlockIndex:\d+\}\/am-data$/);
    const auth = block.headers.find((h: { header: string }) => h.header === "authorization");
    expect(auth.value).toEqual({ encBlockIndex: expect.any(Number) });
    // and the receiving SEPP puts the values back
    const opened = prins.openRequest(wire, pStore);
    expect(opened.message.path).toBe(req.message.path!);

    const ausf = responses.find((f) => f.name.startsWith("nausf-ue-authentications"))!;
    const body = prins.protectResponse(p, ausf.message, {
      method: "POST",
      path: ausf.request!.path,
      messageId: newMessageId(),
    });
    const rblock = JSON.parse(Buffer.from(JSON.parse(body).reformattedData.aad, "base64url").toString());
    const av = rblock.payload.find((e: { iePath: string }) => e.iePath.startsWith("/5gAuthData"));
    expect(av).toBeDefined();
    expect(JSON.stringify(av.value)).toContain("encBlockIndex");
    for (const s of ausf.sensitive) expect(JSON.stringify(rblock)).not.toContain(s);
  });
});
