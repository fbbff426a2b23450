// Which stored changes wait for the next start (src/config/restart.ts): the start-only members whose value differs
// from the configuration the SEPP started with; the members applied at once never count.
import { describe, expect, test } from "bun:test";
import { restartRequired } from "../../src/config/restart.ts";
import { soloConfig } from "../support/solo-config.ts";

const config = soloConfig;

describe("restartRequired", () => {
  test("the same configuration, or an equal one, waits for nothing", () => {
    const c = config();
    expect(restartRequired(c, c)).toEqual([]);
    expect(restartRequired(c, config())).toEqual([]);
  });
  test("start-only members are listed by name", () => {
    const started = config();
    expect(
      restartRequired(
        started,
        config((c) => (c.listeners.n32.port = 2)),
      ),
    ).toEqual(["listeners"]);
    expect(
      restartRequired(
        started,
        config((c) => (c.workers = 2)),
      ),
    ).toEqual(["workers"]);
    expect(
      restartRequired(
        started,
        config((c) => (c.tls.certificate = "b.pem")),
      ),
    ).toEqual(["tls.certificate"]);
    expect(
      restartRequired(
        started,
        config((c) => (c.storage = { dir: "other" })),
      ),
    ).toEqual(["storage"]);
  });
  test("members applied at once are not listed (trust anchors, peers, screening)", () => {
    const started = config();
    const live = config((c) => {
      c.tls.trustAnchors[0].roots = ["other.pem"];
      c.screening = { operations: { mode: "log" } };
      c.peers = [
        {
          id: "p",
          n32Fqdn: "sepp.5gc.mnc002.mcc002.3gppnetwork.org",
          plmnIds: [{ mcc: "002", mnc: "02" }],
          n32cUri: "https://127.0.0.1:9",
        },
      ];
    });
    expect(restartRequired(started, live)).toEqual([]);
  });
});
