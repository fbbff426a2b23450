// exchange-capability 307 (TS 29.573 Rel-18: redirect to another SEPP of the peer): which Locations are
// followed (src/n32c/redirect.ts), at most 2 redirects, the new connection verified like any other (per-PLMN
// anchor, dNSName = the Location host, one of the peer's PLMN IDs), the rest of the handshake and a later
// terminate go to the SEPP we were redirected to. Real SEPPs and a redirecting N32 server (mutual TLS, HTTP/2)
// on 127.0.0.1; redirect host names are mapped to 127.0.0.1 by the resolveHost hook.
import { afterEach, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { MAX_REDIRECTS, redirectTarget } from "../../src/n32c/redirect.ts";
import { openJwe, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { issueSeppCert, type DevCert } from "../../src/pki/devpki.ts";
import type { N32Env } from "../../src/transport/h2server.ts";
import { type N32cSepp, startN32cSepp, startPeerN32Server } from "../support/n32c-sepp.ts";
import { FQDN_A, FQDN_B, PLMN_A, PLMN_B, testPki } from "../support/pki.ts";

const SEPP2 = "sepp2.5gc.mnc410.mcc310.3gppnetwork.org";
const SEPP3 = "sepp3.5gc.mnc410.mcc310.3gppnetwork.org";
const PATH = "/n32c-handshake/v1/exchange-capability";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

type Sepp = N32cSepp;

/** A SEPP (N32-c service and its N32 listener) from the harness configuration of side `side`, with `cert`/`fqdn`. */
const sepp = (side: "a" | "b", o: { cert?: DevCert; fqdn?: string; resolveHost?: (h: string) => string } = {}) =>
  startN32cSepp(side, closers, { ...o, retireGraceMs: 100, tmpPrefix: "n32c-redir" });

/** An N32 server (certificate `cert`) answering every exchange-capability with 307 and `location()`. */
async function redirector(
  cert: DevCert,
  location: () => string | undefined,
): Promise<{ uri: string; port: number; requests: string[] }> {
  const requests: string[] = [];
  const app = new Hono<{ Bindings: N32Env }>();
  app.post("*", (c) => {
    requests.push(c.req.path);
    const loc = location();
    return c.body(null, 307, loc === undefined ? {} : { location: loc });
  });
  const server = await startPeerN32Server(cert, app, closers);
  return { uri: `https://127.0.0.1:${server.port}`, port: server.port, requests };
}

/** Visited SEPP "a" toward peer "home" (PLMN B, FQDN_B) at `peerUri`; every host name resolves to 127.0.0.1. */
async function visited(peerUri: string, resolved: string[]): Promise<Sepp> {
  const a = await sepp("a", {
    resolveHost: (h) => {
      resolved.push(h);
      return "127.0.0.1";
    },
  });
  a.update((c) => (c.peers![0]!.n32cUri = peerUri));
  return a;
}

/** The SEPP of PLMN B we are redirected to (certificate and identity SEPP2), with a as its peer. */
async function sepp2(a: Sepp, cert?: DevCert): Promise<Sepp> {
  const pki = await testPki();
  const s = await sepp("b", { cert: cert ?? (await issueSeppCert(pki.rootB, { dnsNames: [SEPP2] })), fqdn: SEPP2 });
  s.update((c) => (c.peers![0]!.n32cUri = a.uri));
  return s;
}

const received = (s: Sepp) =>
  s.traces.filter((t) => t.direction === "received" && t.kind === "request").map((t) => t.operation);

describe("redirectTarget (which Location is followed)", () => {
  const peer = { n32Fqdn: FQDN_B, plmnIds: [PLMN_B] } as Parameters<typeof redirectTarget>[1];
  test("accepted: the peer's FQDN or a name in its PLMN's 3GPP domain, https, exact path, optional port", () => {
    expect(redirectTarget(`https://${SEPP2}:8443${PATH}`, peer)).toEqual({
      ok: true,
      target: { uri: `https://${SEPP2}:8443`, fqdn: SEPP2 },
    });
    expect(redirectTarget(`https://${FQDN_B}${PATH}`, peer)).toEqual({
      ok: true,
      target: { uri: `https://${FQDN_B}`, fqdn: FQDN_B },
    });
    expect(redirectTarget(`https://SEPP2.5GC.MNC410.MCC310.3GPPNETWORK.ORG:9${PATH}`, peer).ok).toBe(true);
    // MNC padded to 3 digits (P9)
    const twoDigit = { n32Fqdn: FQDN_A, plmnIds: [PLMN_A] } as Parameters<typeof redirectTarget>[1];
    expect(redirectTarget(`https://x.5gc.mnc001.mcc262.3gppnetwork.org${PATH}`, twoDigit).ok).toBe(true);
  });
  test("refused: anything else", () => {
    const bad = [
      undefined,
      "",
      PATH,
      `//${SEPP2}${PATH}`,
      `http://${SEPP2}${PATH}`,
      `https://127.0.0.1:8443${PATH}`,
      `https://[::1]:8443${PATH}`,
      `https://${SEPP2}/n32c-handshake/v1/exchange-params`,
      `https://${SEPP2}${PATH}/`,
      `https://${SEPP2}${PATH}?x=1`,
      `https://${SEPP2}${PATH}#f`,
      `https://user:pw@${SEPP2}${PATH}`,
      `https://sepp.5gc.mnc001.mcc262.3gppnetwork.org${PATH}`, // another PLMN (ours)
      `https://evil.example.org${PATH}`,
      `https://5gc.mnc410.mcc310.3gppnetwork.org.evil.example.org${PATH}`,
      `https://x5gc.mnc410.mcc310.3gppnetwork.org${PATH}`,
      `https://localhost${PATH}`,
      `https://${"a".repeat(1100)}.5gc.mnc410.mcc310.3gppnetwork.org${PATH}`,
    ];
    for (const l of bad) expect({ l, ok: redirectTarget(l, peer).ok }).toEqual({ l, ok: false });
  });
});

describe("exchange-capability 307 between SEPPs", () => {
  test("followed to another SEPP of the peer's PLMN: the handshake completes there, keys agree, terminate goes there", async () => {
    const pki = await testPki();
    const resolved: string[] = [];
    let target = "";
    const r = await redirector(pki.seppB, () => target);
    const a = await visited(r.uri, resolved);
    const s2 = await sepp2(a);
    target = `https://${SEPP2}:${s2.server.port}${PATH}`;

    const st = await a.service.handshake("home");
    expect(st.state).toBe("active-prins");
    expect(r.requests).toEqual([PATH]);
    expect(resolved).toEqual([SEPP2]);
    expect(received(s2)).toEqual(["exchange-capability", "exchange-params", "exchange-params"]); // cipher suites, policy
    const ca = a.contexts.list()[0]!;
    const cb = s2.contexts.list()[0]!;
    expect(ca.peerContextId).toBe(cb.localContextId);
    expect(cb.peerContextId).toBe(ca.localContextId);
    const enc = new TextEncoder();
    const jwe = protectJwe(ca, "request", enc.encode("{}"), enc.encode("via redirect"));
    expect(new TextDecoder().decode(openJwe(cb, "request", parseJwe(jwe)).plaintext)).toBe("via redirect");
    expect(a.log.lines.some((l) => l.msg === "exchange-capability redirected (307)")).toBe(true);

    // the association belongs to SEPP2: n32f-terminate reaches it (not the redirector)
    await a.service.terminate("home");
    expect(received(s2)).toEqual(["exchange-capability", "exchange-params", "exchange-params", "n32f-terminate"]);
    expect(s2.contexts.size).toBe(0);
    expect(r.requests.length).toBe(1);
  });

  test(`two redirects are followed (the peer's own FQDN on another port, then SEPP2); a third is refused`, async () => {
    const pki = await testPki();
    const resolved: string[] = [];
    let second = "";
    const r2 = await redirector(pki.seppB, () => second);
    const r1 = await redirector(pki.seppB, () => `https://${FQDN_B}:${r2.port}${PATH}`);
    const a = await visited(r1.uri, resolved);
    const s2 = await sepp2(a);
    second = `https://${SEPP2}:${s2.server.port}${PATH}`;
    expect((await a.service.handshake("home")).state).toBe("active-prins");
    expect(MAX_REDIRECTS).toBe(2);
    expect([r1.requests.length, r2.requests.length]).toEqual([1, 1]);
    expect(resolved).toEqual([FQDN_B, SEPP2]);
    expect(s2.contexts.size).toBe(1);

    // a redirector that keeps redirecting to itself: 1 + 2 requests, then the handshake fails
    const loop = await redirector(pki.seppB, () => `https://${FQDN_B}:${loop.port}${PATH}`);
    const b = await visited(loop.uri, []);
    const st = await b.service.handshake("home");
    expect(st.state).toBe("failed");
    expect(st.lastError?.cause).toBe("REDIRECT_NOT_ALLOWED");
    expect(st.lastError?.detail).toContain("more than 2 redirects");
    expect(loop.requests.length).toBe(3);
    expect(b.contexts.size).toBe(0);
  });

  test("Locations outside the rule are not followed: nothing is resolved or contacted, the handshake fails", async () => {
    const pki = await testPki();
    let location: string | undefined = "";
    const r = await redirector(pki.seppB, () => location);
    const resolved: string[] = [];
    const a = await visited(r.uri, resolved);
    const s2 = await sepp2(a);
    const p = s2.server.port;
    const cases: (string | undefined)[] = [
      undefined,
      PATH,
      `http://${SEPP2}:${p}${PATH}`,
      `https://127.0.0.1:${p}${PATH}`,
      `https://sepp9.5gc.mnc001.mcc262.3gppnetwork.org:${p}${PATH}`,
      `https://evil.example.org:${p}${PATH}`,
      `https://${SEPP2}:${p}/n32c-handshake/v1/exchange-params`,
    ];
    for (const l of cases) {
      location = l;
      const st = await a.service.handshake("home");
      expect({ l, state: st.state, cause: st.lastError?.cause }).toEqual({
        l,
        state: "failed",
        cause: "REDIRECT_NOT_ALLOWED",
      });
    }
    expect(resolved).toEqual([]);
    expect(received(s2)).toEqual([]);
    expect(s2.server.sessions()).toBe(0);
    expect(a.contexts.size).toBe(0);
  });

  test("the redirect target is verified like any other N32 peer: wrong name, wrong PLMN anchor → refused before any request", async () => {
    const pki = await testPki();
    let location = "";
    const r = await redirector(pki.seppB, () => location);
    const a = await visited(r.uri, []);
    const s2 = await sepp2(a);
    // a name in the PLMN's domain, but the server's certificate names SEPP2 only
    location = `https://${SEPP3}:${s2.server.port}${PATH}`;
    let st = await a.service.handshake("home");
    expect(st.state).toBe("failed");
    expect(st.lastError?.cause).toBe("CONNECTION_FAILED");
    expect(st.lastError?.detail).toContain(`does not name ${SEPP3}`);
    // SEPP2's name and PLMN, but its certificate issued by PLMN A's root (TS 33.501 13.1.2: per-PLMN anchors)
    const forged = await sepp2(a, await issueSeppCert(pki.rootA, { dnsNames: [SEPP2] }));
    location = `https://${SEPP2}:${forged.server.port}${PATH}`;
    st = await a.service.handshake("home");
    expect(st.state).toBe("failed");
    expect(st.lastError?.cause).toBe("CONNECTION_FAILED");
    // inside the TLS handshake: only the roots of the peer PLMN's anchor are offered to the TLS stack (P11)
    expect(st.lastError?.detail).toMatch(/refused|certificate in certificate chain|verify/);
    expect(received(s2)).toEqual([]);
    expect(received(forged)).toEqual([]);
    expect(a.contexts.size).toBe(0);
  });

  test("a SEPP configured with n32c.redirectTo answers exchange-capability 307 toward another SEPP of its PLMN; the initiator completes there", async () => {
    const resolved: string[] = [];
    const b = await sepp("b"); // the SEPP of PLMN B that the visited SEPP is configured with
    const a = await visited(b.uri, resolved);
    const s2 = await sepp2(a);
    b.update((c) => {
      c.n32c!.redirectTo = `https://${SEPP2}:${s2.server.port}`;
      c.peers![0]!.n32cUri = a.uri;
    });
    const st = await a.service.handshake("home");
    expect(st.state).toBe("active-prins");
    const answered = b.traces.filter((t) => t.direction === "sent" && t.kind === "response");
    expect(answered.map((t) => [t.operation, t.status])).toEqual([["exchange-capability", 307]]);
    expect(resolved).toEqual([SEPP2]);
    expect(received(s2)).toEqual(["exchange-capability", "exchange-params", "exchange-params"]);
    expect(b.contexts.list().length).toBe(0);
    expect(s2.contexts.list()[0]!.peerContextId).toBe(a.contexts.list()[0]!.localContextId);
  });

  test("n32c.redirectTo must be another SEPP in our own PLMN's 3GPP domain", async () => {
    const b = await sepp("b");
    const bad = [
      `https://sepp9.5gc.mnc001.mcc262.3gppnetwork.org`, // another PLMN
      `https://${FQDN_B}:8443`, // ourselves
      `https://${SEPP2}/some/path`,
    ];
    for (const uri of bad) expect(() => b.update((c) => (c.n32c!.redirectTo = uri))).toThrow(/redirectTo/);
    b.update((c) => (c.n32c!.redirectTo = `https://${SEPP2}:8443`));
    expect(b.cfg().n32c.redirectTo).toBe(`https://${SEPP2}:8443`);
  });
});
