// Both SEPPs configured with `initiate: true` (P11 tie-break): the handshake of the SEPP whose N32 FQDN sorts
// lower goes on, the other abandons its own attempt silently and serves as responder, so the two real SEPP
// processes end with ONE association (one context each), and it stays one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { HOME, type SeppProcess, VISITED, waitFor } from "../../scripts/lib/pair.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

let w: TwoSepps;
let v: SeppProcess;
let h: SeppProcess;

beforeAll(async () => {
  w = await startTwoSepps({
    name: "both-initiate",
    capabilities: ["PRINS"],
    edit: (_side, c) => {
      c.peers![0]!.initiate = true;
    },
    state: false,
  });
  ({ visited: v, home: h } = w);
}, 60000);

afterAll(async () => {
  expect(await w?.close()).toEqual([0, 0]);
});

const contexts = async (s: SeppProcess) =>
  ((await (await s.admin("/v1/status")).json()) as { n32fContexts: number }).n32fContexts;

test("two SEPPs both initiating end with one association: the lower N32 FQDN initiates, one context each", async () => {
  expect(HOME.fqdn < VISITED.fqdn).toBe(true); // mnc001 sorts before mnc015: the home SEPP goes on
  const status = async (s: SeppProcess, peer: string) =>
    (await (await s.admin(`/v1/peers/${peer}/n32`)).json()) as Record<string, unknown>;
  // whichever order the two starts take (a side may come up while the other is in backoff), they converge on:
  // the home SEPP initiates, the visited SEPP serves, one context on each side (earlier ones retired, grace 5 s)
  const [hs, vs] = await waitFor<[Record<string, unknown>, Record<string, unknown>]>(
    "one association, initiated by the home SEPP",
    async () => {
      const [x, y] = [await status(h, "visited"), await status(v, "home")];
      const one = (await contexts(v)) === 1 && (await contexts(h)) === 1;
      const done = x.state === "active-prins" && x.role === "initiator" && y.role === "responder" && one;
      return done ? ([x, y] as [Record<string, unknown>, Record<string, unknown>]) : null;
    },
    30000,
  ).catch(async (e): Promise<never> => {
    throw new Error(
      `${e}\nhome: ${JSON.stringify(await status(h, "visited"))} ${await contexts(h)}\nvisited: ${JSON.stringify(await status(v, "home"))} ${await contexts(v)}`,
    );
  });
  expect(vs.peerContextId).toBe(hs.localContextId);
  // and it stays one: the visited SEPP's retry timer does not start a second association
  await Bun.sleep(2500);
  expect(await contexts(v)).toBe(1);
  expect(await contexts(h)).toBe(1);
  const after = (await (await v.admin("/v1/peers/home/n32")).json()) as { role: string; localContextId: string };
  expect(after.role).toBe("responder");
  expect(after.localContextId).toBe(vs.localContextId as string);
  expect(vs.state).toBe("active-prins");
  // the home SEPP never yielded: its association is the one it initiated
  const homeNow = (await (await h.admin("/v1/peers/visited/n32")).json()) as { role: string };
  expect(homeNow.role).toBe("initiator");
}, 60000);
