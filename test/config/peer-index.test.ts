// src/config/peer-index.ts: the same partner as a search of `peers` in configuration order, in constant time.
import { describe, expect, test } from "bun:test";
import { peerById, peerForPlmn } from "../../src/config/peer-index.ts";
import type { SeppConfig } from "../../src/config/schema.ts";
import type { PeerConfig } from "../../src/config/schema/peers.ts";
import type { PlmnId } from "../../src/model/n32.ts";
import { samePlmn } from "../../src/model/plmn.ts";

/** Only what the index reads: the partners' ids and PLMN IDs, in order. */
const configOf = (peers: Array<{ id: string; plmnIds: PlmnId[] }>) =>
  ({ peers: peers as unknown as PeerConfig[] }) as unknown as SeppConfig;

/** The linear searches the index replaces. */
const linearById = (cfg: SeppConfig, id: string) => cfg.peers.find((p) => p.id === id);
const linearForPlmn = (cfg: SeppConfig, plmn: PlmnId) =>
  cfg.peers.find((p) => p.plmnIds.some((x) => samePlmn(x, plmn)));

describe("partner index", () => {
  test("a PLMN configured for two partners, spelled '15' and '015': the first in configuration order, for every spelling", () => {
    const cfg = configOf([
      { id: "a", plmnIds: [{ mcc: "262", mnc: "01" }] },
      { id: "b", plmnIds: [{ mcc: "234", mnc: "15" }] },
      {
        id: "c",
        plmnIds: [
          { mcc: "234", mnc: "015" },
          { mcc: "310", mnc: "410" },
        ],
      },
    ]);
    for (const mnc of ["15", "015"]) expect(peerForPlmn(cfg, { mcc: "234", mnc })?.id).toBe("b");
    expect(peerForPlmn(cfg, { mcc: "310", mnc: "410" })?.id).toBe("c");
    expect(peerForPlmn(cfg, { mcc: "262", mnc: "001" })?.id).toBe("a");
    expect(peerForPlmn(cfg, { mcc: "262", mnc: "010" })).toBeUndefined();
    expect(peerForPlmn(cfg, { mcc: "263", mnc: "01" })).toBeUndefined();
    expect(peerById(cfg, "c")?.plmnIds.length).toBe(2);
    expect(peerById(cfg, "d")).toBeUndefined();
  });

  test("a changed configuration is a new object with its own index", () => {
    const before = configOf([{ id: "a", plmnIds: [{ mcc: "262", mnc: "01" }] }]);
    expect(peerForPlmn(before, { mcc: "262", mnc: "01" })?.id).toBe("a");
    const after = configOf([{ id: "z", plmnIds: [{ mcc: "262", mnc: "001" }] }]);
    expect(peerForPlmn(after, { mcc: "262", mnc: "01" })?.id).toBe("z");
    expect(peerById(after, "a")).toBeUndefined();
    expect(peerById(before, "a")?.id).toBe("a");
  });

  test("agrees with the linear search on random configurations and lookups (MNCs of 0 to 4 digits, repeated ids)", () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 12) % n; // the high bits: the low ones of this generator repeat with a short period
    };
    const digits = (n: number) => Array.from({ length: n }, () => String(rnd(3))).join(""); // few digits: collisions
    const mccs = ["234", "262", "310"];
    for (let round = 0; round < 300; round++) {
      const peers = Array.from({ length: 1 + rnd(12) }, () => ({
        id: `p${rnd(8)}`,
        plmnIds: Array.from({ length: 1 + rnd(3) }, () => ({ mcc: mccs[rnd(3)]!, mnc: digits(2 + rnd(2)) })),
      }));
      const cfg = configOf(peers);
      for (let q = 0; q < 40; q++) {
        const plmn = { mcc: mccs[rnd(3)]!, mnc: digits(rnd(5)) };
        // positions, not contents: two partners may look alike, the first must be found
        const at = (p: PeerConfig | undefined) => (p ? cfg.peers.indexOf(p) : -1);
        expect([plmn, at(peerForPlmn(cfg, plmn))]).toEqual([plmn, at(linearForPlmn(cfg, plmn))]);
        const id = `p${rnd(10)}`;
        expect(peerById(cfg, id)).toBe(linearById(cfg, id));
      }
    }
  });
});
