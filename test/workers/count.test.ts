// How many data-path workers a configuration runs (src/workers/count.ts): "auto" (the default) is one per CPU
// where the configuration lets the data path run in workers, else 1 with the reason; a number is taken as it is, up
// to one per CPU.
import { describe, expect, test } from "bun:test";
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";
import { soloConfig } from "../support/solo-config.ts";
import { workerCount } from "../../src/workers/count.ts";

/** a stand-alone SEPP with the listeners workers need: SBI and a separate N32-f listener */
const config = (edit: (c: any) => void = () => {}): SeppConfig =>
  soloConfig((c) => {
    c.listeners.n32f = { host: "127.0.0.1", port: 2 };
    c.listeners.sbi = { host: "127.0.0.1", port: 3 };
    edit(c);
  });

describe("workerCount", () => {
  test('the default is "auto": one worker per CPU, at most 64', () => {
    expect(config().workers).toBe("auto");
    expect(workerCount(config(), 4)).toEqual({ count: 4, reason: "auto: one per CPU" });
    expect(workerCount(config(), 1).count).toBe(1);
    expect(workerCount(config(), 200).count).toBe(64);
  });
  test('"auto" stays at 1, with the reason, where workers cannot run', () => {
    const shared = workerCount(
      config((c) => delete c.listeners.n32f),
      8,
    );
    expect(shared).toEqual({ count: 1, reason: expect.stringContaining("listeners.n32f") });
    expect(
      workerCount(
        config((c) => delete c.listeners.sbi),
        8,
      ),
    ).toEqual({
      count: 1,
      reason: expect.stringContaining("listeners.sbi"),
    });
  });
  test('"auto" runs one worker per CPU with the pkcs11 AEAD engine too (each worker has its own token session)', () => {
    const p11 = config((c) => {
      c.keystore = {
        backend: "pkcs11",
        module: "/usr/lib/softhsm/libsofthsm2.so",
        tokenUri: "pkcs11:token=t",
        pinEnv: "PIN",
      };
      c.aead = { engine: "pkcs11" };
    });
    expect(workerCount(p11, 8)).toEqual({ count: 8, reason: "auto: one per CPU" });
  });
  test("a number is taken as configured", () => {
    expect(
      workerCount(
        config((c) => (c.workers = 1)),
        8,
      ),
    ).toEqual({ count: 1, reason: "configured" });
    expect(
      workerCount(
        config((c) => (c.workers = 3)),
        8,
      ),
    ).toEqual({ count: 3, reason: "configured" });
  });
  test("a number over this machine's CPUs runs one per CPU, and says why", () => {
    expect(
      workerCount(
        config((c) => (c.workers = 64)),
        4,
      ),
    ).toEqual({ count: 4, reason: "configured 64, at most one per CPU: this machine has 4" });
    expect(
      workerCount(
        config((c) => (c.workers = 4)),
        4,
      ),
    ).toEqual({ count: 4, reason: "configured" });
    expect(
      workerCount(
        config((c) => (c.workers = 1)),
        1,
      ),
    ).toEqual({ count: 1, reason: "configured" });
  });
  test("anything else is refused by the schema", () => {
    for (const w of [0, 65, 1.5, "all", null])
      expect(parseConfig({ ...JSON.parse(JSON.stringify(config())), workers: w }).ok).toBe(false);
  });
});
