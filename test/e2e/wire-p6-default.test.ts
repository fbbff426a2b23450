// P6 (RI-relevant parameters over N32-f) is sent only to peers configured for it (P11: per-peer
// `profile.announceToRi`, off by default): two real SEPP processes with an RI configured and no announceToRi
// set up PRINS, and no announcement crosses in either direction.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { SeppProcess } from "../../scripts/lib/pair.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import { createRootCa } from "../../src/pki/devpki.ts";
import { riAssociation, TestRi } from "../support/ri.ts";

const RI_ID = "ipx.ri-p6-default.example.org";
let w: TwoSepps;
let v: SeppProcess;
let h: SeppProcess;

beforeAll(async () => {
  const riRoot = await createRootCa({ name: "IPX provider RI root" });
  const ri = await TestRi.create(riRoot, RI_ID);
  w = await startTwoSepps({
    name: "e2e-p6-default",
    capabilities: ["PRINS"],
    edit: (side, c) => {
      riAssociation(side, c, { ri, root: riRoot, owner: "visited", authorized: true });
    },
  });
  ({ visited: v, home: h } = w);
}, 60000);

afterAll(async () => {
  expect(await w?.close()).toEqual([0, 0]);
});

test("a peer with RIs and no announceToRi gets no P6 announcement (off by default)", async () => {
  // the announcement would leave right after the context became active; give it that time, then look
  await Bun.sleep(1500);
  const sent = await (await v.admin("/metrics")).text();
  const received = await (await h.admin("/metrics")).text();
  expect(sent).not.toMatch(/sepp_ri_announcements_total\{[^}]*role="sent"/);
  expect(received).not.toMatch(/sepp_ri_announcements_total\{[^}]*role="received"/);
  expect(h.logs.some((l) => String(l.msg).includes("RI-relevant parameters received over N32-f"))).toBe(false);
});
