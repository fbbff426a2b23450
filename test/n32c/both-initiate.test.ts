// Both SEPPs configured with `initiate: true` (P11 tie-break): the handshake of the SEPP whose N32 FQDN sorts
// lower goes on, the other abandons its own attempt silently and serves as responder, so the two real SEPP
// processes end with ONE association (one context each), and it stays one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server } from "node:net";
import { HOME, type SeppProcess, VISITED, freePort, waitFor } from "../../scripts/lib/pair.ts";
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

// The same, with the visited SEPP's N32-c connection to the home SEPP held back 1.5 s (a slow path): the home
// SEPP's handshake reaches the visited SEPP while the visited SEPP's own attempt is still connecting. The visited
// SEPP abandons it (P11 tie-break) and must neither send it on once connected (a second association, initiated by
// the higher FQDN) nor let its progress overwrite the state of the association it now serves ("negotiating" over
// "active-prins", which the data path reads).
describe("both initiate, the higher FQDN's connection slow", () => {
  let w2: TwoSepps;
  let delay: Server;
  const held = 1500;
  beforeAll(async () => {
    const port = await freePort();
    w2 = await startTwoSepps({
      name: "both-initiate-slow",
      capabilities: ["PRINS"],
      state: false,
      edit: (side, c) => {
        c.peers![0]!.initiate = true;
        if (side === "visited") c.peers![0]!.n32cUri = `https://127.0.0.1:${port}`;
      },
      beforeStart: (pair) =>
        new Promise<void>((resolve) => {
          delay = createServer((down) => {
            down.pause();
            setTimeout(() => {
              const up = connect(pair.sides.home.ports.n32, "127.0.0.1", () => {
                down.pipe(up);
                up.pipe(down);
                down.resume();
              });
              const end = () => {
                up.destroy();
                down.destroy();
              };
              up.on("error", end);
              down.on("error", end);
              up.on("close", end);
              down.on("close", end);
            }, held);
          });
          delay.listen(port, "127.0.0.1", () => resolve());
        }),
      order: "home-first",
    });
  }, 60000);

  afterAll(async () => {
    expect(await w2?.close()).toEqual([0, 0]);
    delay?.close();
  });

  test("one association, initiated by the home SEPP; the visited SEPP's status says active-prins as responder", async () => {
    const { visited: v2, home: h2 } = w2;
    const status = async (s: SeppProcess, peer: string) =>
      (await (await s.admin(`/v1/peers/${peer}/n32`)).json()) as Record<string, unknown>;
    await waitFor(
      "the home SEPP's association",
      async () => (await status(h2, "visited")).state === "active-prins",
      20000,
    );
    // past the visited SEPP's held connection: its abandoned attempt has had every chance to go on
    await Bun.sleep(held + 1000);
    const [hs, vs] = [await status(h2, "visited"), await status(v2, "home")];
    expect({ state: vs.state, role: vs.role }).toEqual({ state: "active-prins", role: "responder" });
    expect({ state: hs.state, role: hs.role }).toEqual({ state: "active-prins", role: "initiator" });
    expect(vs.peerContextId).toBe(hs.localContextId);
    expect(await contexts(v2)).toBe(1);
    expect(await contexts(h2)).toBe(1);
  }, 30000);
});
