// Which stored changes wait for the next start (src/config/restart.ts): the start-only members whose value differs
// from the configuration the SEPP started with; the members applied at once never count.
import { describe, expect, test } from "bun:test";
import { restartRequired } from "../../src/config/restart.ts";
import { soloConfig } from "../support/solo-config.ts";

const config = soloConfig;
/** The edits one after the other. */
const all =
  (...edits: Array<(c: any) => void>) =>
  (c: any) => {
    for (const edit of edits) edit(c);
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
  test("the SBI listener, the telescopic table, the producer clients, the N32 listener bounds and the admin token file are listed", () => {
    // each is read once when its object is built at start (src/datapath/index.ts, src/n32c/listeners.ts,
    // src/config/bootstrap.ts): a stored change waits for the next start
    const sbiTls = (c: any) => {
      c.listeners.sbi = { host: "127.0.0.1", port: 3, tls: true };
      c.sbi = { certificate: "sbi.pem", privateKey: "sbi-key.pem", clientCa: ["nf-ca.pem"] };
    };
    const started = config(sbiTls);
    const cases: Array<[string, (c: any) => void]> = [
      ["n32c.requestTimeoutMs", (c) => (c.n32c = { requestTimeoutMs: 5000 })],
      ["n32Connections", (c) => (c.n32Connections = { maxConnections: 512 })],
      ["n32Connections", (c) => (c.n32Connections = { maxConnectionsPerPeer: 8 })],
      ["n32Connections", (c) => (c.n32Connections = { maxPendingPerSource: 4 })],
      ["n32Connections", (c) => (c.n32Connections = { prefaceTimeoutMs: 2000 })],
      ["n32Connections", (c) => (c.n32Connections = { idleTimeoutMs: 60_000 })],
      ["n32Connections", (c) => (c.n32Connections = { maxResetsPer10s: 50 })],
      ["sbi.seppDomain", (c) => (c.sbi.seppDomain = "sepp.example.org")],
      ["sbi.telescopicMaxEntries", (c) => (c.sbi.telescopicMaxEntries = 60_000)],
      ["sbi.telescopicMaxEntriesPerPeer", (c) => (c.sbi.telescopicMaxEntriesPerPeer = 5000)],
      ["sbi.telescopicLabels", (c) => (c.sbi.telescopicLabels = { mode: "table" })],
      ["sbi.telescopicLabels", (c) => (c.sbi.telescopicLabels = { previousKeyFile: "old.key" })],
      ["sbi.producerCa", (c) => (c.sbi.producerCa = ["producer-ca.pem"])],
      ["sbi.clientCa", (c) => (c.sbi.clientCa = ["other-nf-ca.pem"])],
      ["sbi.certificate", (c) => (c.sbi.certificate = "sbi2.pem")],
      ["sbi.privateKey", (c) => (c.sbi.privateKey = "sbi2-key.pem")],
      ["sbi.requestTimeoutMs", (c) => (c.sbi.requestTimeoutMs = 5000)],
      ["sbi.maxBodyBytes", (c) => (c.sbi.maxBodyBytes = 2 << 20)],
      ["sbi.maxHeaders", (c) => (c.sbi.maxHeaders = 64)],
      ["sbi.maxConcurrentStreams", (c) => (c.sbi.maxConcurrentStreams = 128)],
      ["sbi.maxConnections", (c) => (c.sbi.maxConnections = 2048)],
      ["sbi.maxConnectionsPerSource", (c) => (c.sbi.maxConnectionsPerSource = 32)],
      ["sbi.prefaceTimeoutMs", (c) => (c.sbi.prefaceTimeoutMs = 2000)],
      ["sbi.idleTimeoutMs", (c) => (c.sbi.idleTimeoutMs = 60_000)],
      ["sbi.maxResetsPer10s", (c) => (c.sbi.maxResetsPer10s = 50)],
      ["admin", (c) => (c.admin = { tokenFile: "other.token" })],
    ];
    for (const [name, edit] of cases)
      expect({
        name,
        waiting: restartRequired(started, config(all(sbiTls, edit))),
      }).toEqual({
        name,
        waiting: [name],
      });
    // an equal configuration with every one of them changed from its default waits for nothing
    const every = all(sbiTls, ...cases.map(([, edit]) => edit));
    expect(restartRequired(config(every), config(every))).toEqual([]);
  });
  test("the SBI listener's TLS material waits only when the listener started with TLS", () => {
    const cert = (c: any) => (c.sbi = { certificate: "other.pem", privateKey: "other-key.pem" });
    const ca = (c: any) => (c.sbi.clientCa = ["x.pem"]); // only with a TLS listener (schema)
    // no TLS SBI listener: its TLS members are not used now, nor at the next start unless listeners changes
    expect(restartRequired(config(), config(cert))).toEqual([]);
    const tls = (c: any) => {
      c.listeners.sbi = { host: "127.0.0.1", port: 3, tls: true };
      c.sbi = { certificate: "sbi.pem", privateKey: "sbi-key.pem" };
    };
    expect(restartRequired(config(tls), config(all(tls, cert, ca)))).toEqual([
      "sbi.clientCa",
      "sbi.certificate",
      "sbi.privateKey",
    ]);
  });
  test("the SEPP domain of the telescopic table follows identity.n32Fqdn while sbi.seppDomain is absent", () => {
    const fqdn = (c: any) => (c.identity.n32Fqdn = "sepp2.5gc.mnc001.mcc001.3gppnetwork.org");
    expect(restartRequired(config(), config(fqdn))).toEqual(["sbi.seppDomain"]);
    // the same domain written out, in another case or with the root dot: nothing changes for the table
    const same = (c: any) => (c.sbi = { seppDomain: "SEPP.5gc.mnc001.mcc001.3gppnetwork.org." });
    expect(restartRequired(config(), config(same))).toEqual([]);
    // an explicit sbi.seppDomain: identity.n32Fqdn is applied at once
    const explicit = (c: any) => (c.sbi = { seppDomain: "sepp.example.org" });
    expect(restartRequired(config(explicit), config(all(explicit, fqdn)))).toEqual([]);
  });
  test("a peer's allowTls12 waits only when the N32 listener started without TLS 1.2", () => {
    const peer = (allowTls12: boolean) => (c: any) =>
      (c.peers = [
        {
          id: "p",
          n32Fqdn: "sepp.5gc.mnc002.mcc002.3gppnetwork.org",
          plmnIds: [{ mcc: "002", mnc: "02" }],
          n32cUri: "https://127.0.0.1:9",
          profile: { allowTls12 },
        },
      ]);
    // the listener's TLS floor is TLS 1.3 (src/n32c/listeners.ts n32ListenerOptions): TLS 1.2 needs a restart
    expect(restartRequired(config(peer(false)), config(peer(true)))).toEqual(["peers[].profile.allowTls12"]);
    expect(restartRequired(config(), config(peer(true)))).toEqual(["peers[].profile.allowTls12"]);
    // withdrawn: refused per request at once (src/n32c/core.ts)
    expect(restartRequired(config(peer(true)), config(peer(false)))).toEqual([]);
    // a listener that started with TLS 1.2 already takes it
    const tls12 = (c: any) => (c.tls.minVersion = "TLSv1.2");
    expect(restartRequired(config(all(tls12, peer(false))), config(all(tls12, peer(true))))).toEqual([]);
  });
  test("n32c.maxBodyBytes waits only above the N32 listener's cap of N32-c bodies at start", () => {
    // the cap: max(n32c.maxBodyBytes, 2 × sbi.maxBodyBytes + 64 KiB) at start (src/n32c/listeners.ts); below it the
    // N32-c bound is checked per request (src/n32c/ops/kit.ts)
    const body = (n: number) => (c: any) => (c.n32c = { maxBodyBytes: n });
    const cap = 2 * (1 << 20) + 65536;
    expect(restartRequired(config(), config(body(1 << 20)))).toEqual([]);
    expect(restartRequired(config(), config(body(cap)))).toEqual([]);
    expect(restartRequired(config(), config(body(cap + 1)))).toEqual(["n32c.maxBodyBytes"]);
    expect(restartRequired(config(body(4 << 20)), config(body(1 << 20)))).toEqual([]);
    expect(restartRequired(config(body(4 << 20)), config(body(4 << 20)))).toEqual([]);
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
