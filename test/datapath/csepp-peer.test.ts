// The cSEPP's peer selection for a telescopic target whose host names no PLMN (an IP literal from an
// open5gs-style callback URI): the peer stored with the label (telescopic-store.ts peerId) is the one used; without a
// stored peer it is refused (400), and a peer no longer configured is 403. Real CSepp and real telescopic table;
// the N32 association is reported absent, so a request that found its peer ends at 503 before any network I/O.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { SeppConfig } from "../../src/config/schema.ts";
import type { CSepp } from "../../src/datapath/csepp.ts";
import type { InboundRequest } from "../../src/datapath/http.ts";
import { TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import { cseppAlone } from "../support/csepp-alone.ts";
import { HOME_FQDN as HOME, homeConfig } from "../support/home-config.ts";
let cfg: SeppConfig;
let telescopic: TelescopicStore;
let csepp: CSepp;
let asked: string[] = [];

beforeAll(() => {
  cfg = homeConfig();
  telescopic = new TelescopicStore(":memory:", { seppDomain: HOME });
  const alone = cseppAlone({ config: () => cfg, telescopic });
  csepp = alone.csepp;
  asked = alone.asked;
});
afterAll(() => telescopic.close());

const req = (authority: string): InboundRequest => ({
  method: "POST",
  scheme: "http",
  authority,
  path: "/namf-callback/v1/sdm-notify/1",
  headers: [["content-type", "application/json"]],
  body: Buffer.from("{}"),
  signal: new AbortController().signal,
});
const body = (r: { body?: unknown }) => JSON.parse(String(r.body));

describe("cSEPP: a telescopic target with an IP literal goes to the peer stored with its label", () => {
  test("label bound to a configured peer: that peer is selected", async () => {
    const label = telescopic.labelFor("10.45.0.7", { scheme: "http", port: 7777, peerId: "visited" });
    asked.length = 0;
    const r = await csepp.handle(req(`${label}.${HOME}:8080`));
    expect(asked).toEqual(["visited"]);
    expect(r.status).toBe(503);
  });
  test("label without a peer (IP literal): 400, no peer asked", async () => {
    const label = telescopic.labelFor("10.45.0.8", { scheme: "http", port: 7777 });
    asked.length = 0;
    const r = await csepp.handle(req(`${label}.${HOME}:8080`));
    expect(r.status).toBe(400);
    expect(body(r).cause).toBe("MANDATORY_IE_INCORRECT");
    expect(asked).toEqual([]);
  });
  test("label bound to a peer that is no longer configured: 403 TARGET_NOT_ALLOWED", async () => {
    const label = telescopic.labelFor("10.45.0.9", { scheme: "http", port: 7777, peerId: "gone" });
    asked.length = 0;
    const r = await csepp.handle(req(`${label}.${HOME}:8080`));
    expect(r.status).toBe(403);
    expect(body(r).cause).toBe("TARGET_NOT_ALLOWED");
    expect(asked).toEqual([]);
  });
  test("an IP literal named directly (no label) is still refused: 400", async () => {
    asked.length = 0;
    const r = await csepp.handle(req("10.45.0.7:7777"));
    expect(r.status).toBe(400);
    expect(asked).toEqual([]);
  });
});
