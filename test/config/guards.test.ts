// src/config/guards.ts: what a change through the admin API may not do — the members through which a holder of the
// admin token would run code of its own or install unsigned firmware.
import { expect, test } from "bun:test";
import defaultConfig from "../../config/default.json" with { type: "json" };
import { apiChangeGuard } from "../../src/config/guards.ts";
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";

const parsed = (edit: (c: any) => void = () => {}): SeppConfig => {
  const c = structuredClone(defaultConfig) as any;
  edit(c);
  const r = parseConfig(c);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
};
const prev = parsed((c) => (c.system = { minVersion: "1.2.0" }));
const paths = (edit: (c: any) => void) =>
  apiChangeGuard(
    parsed((c) => {
      c.system = { minVersion: "1.2.0" };
      edit(c);
    }),
    prev,
  ).map((i) => i.path);

test("the OTA keyring, the programs and the PKCS#11 library the SEPP runs, storage.dir: not through the API", () => {
  expect(paths((c) => (c.system.keyring = "/tmp/mine.pem"))).toEqual(["/system/keyring"]);
  expect(paths((c) => (c.system.raucCommand = "/tmp/x"))).toEqual(["/system/raucCommand"]);
  expect(paths((c) => (c.system.rebootCommand = ["sh", "-c", "id > /tmp/pwned"]))).toEqual(["/system/rebootCommand"]);
  const pkcs11 = (c: any) =>
    (c.keystore = { backend: "pkcs11", module: "/tmp/evil.so", tokenUri: "pkcs11:token=x", pinFile: "pin" });
  expect(paths(pkcs11)).toEqual(["/keystore/backend", "/keystore/module"]);
  expect(paths((c) => (c.storage.dir = "elsewhere"))).toEqual(["/storage/dir"]);
});

test("system.minVersion may be raised, not lowered; other members change freely; a first configuration has no guard", () => {
  expect(paths((c) => (c.system.minVersion = "1.1.9"))).toEqual(["/system/minVersion"]);
  expect(paths((c) => (c.system.minVersion = "1.10.0"))).toEqual([]);
  expect(paths((c) => (c.system.compatible = "other-board"))).toEqual([]);
  expect(paths((c) => (c.keystore.dir = "keys2"))).toEqual([]);
  expect(paths((c) => (c.listeners.n32.port = 9443))).toEqual([]);
  expect(
    apiChangeGuard(
      parsed((c) => (c.system = { keyring: "/x.pem", minVersion: "0.0.1" })),
      null,
    ),
  ).toEqual([]);
});

test("workers: a change naming more than one per CPU of this machine is refused; an unchanged one is not", () => {
  const change = (edit: (c: any) => void, from: (c: any) => void, cpus: number) =>
    apiChangeGuard(parsed(edit), parsed(from), cpus);
  expect(
    change(
      (c) => (c.workers = 64),
      () => {},
      4,
    ),
  ).toEqual([
    {
      path: "/workers",
      reason: '64 workers, but this machine has 4 CPUs: at most one per CPU ("auto" runs one per CPU)',
    },
  ]);
  expect(
    change(
      (c) => (c.workers = 4),
      () => {},
      4,
    ),
  ).toEqual([]);
  expect(
    change(
      (c) => (c.workers = "auto"),
      (c) => (c.workers = 8),
      2,
    ),
  ).toEqual([]);
  // a stored value from a bigger gateway does not block other changes (the start runs one per CPU)
  expect(
    change(
      (c) => {
        c.workers = 8;
        c.log = { level: "debug" };
      },
      (c) => (c.workers = 8),
      2,
    ),
  ).toEqual([]);
});
