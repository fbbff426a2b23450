// Which stored changes wait for the next start (src/config/restart.ts): the start-only members whose value differs
// from the configuration the SEPP started with; the members applied at once never count.
import { describe, expect, test } from "bun:test";
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";
import { restartRequired } from "../../src/config/restart.ts";

const config = (edit: (c: any) => void = () => {}): SeppConfig => {
  const c: any = {
    identity: { n32Fqdn: "sepp.5gc.mnc001.mcc001.3gppnetwork.org", plmnIds: [{ mcc: "001", mnc: "01" }] },
    listeners: { n32: { host: "127.0.0.1", port: 1 }, admin: { host: "127.0.0.1", port: 4 } },
    tls: {
      certificate: "a.pem",
      privateKey: "k.pem",
      trustAnchors: [{ name: "r", plmnIds: [{ mcc: "001", mnc: "01" }], roots: ["r.pem"] }],
    },
  };
  edit(c);
  const r = parseConfig(c);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
};

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
