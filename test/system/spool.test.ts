// The update spool (src/system/update.ts): a start removes a bundle left over by a process killed during an upload,
// and nothing else of the directory system.spoolDir names: the operator may name one that holds other files.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { SystemSchema } from "../../src/system/config.ts";
import { UpdateService } from "../../src/system/update.ts";
import { freshDirs } from "../support/tmp-dirs.ts";
import { tmpfsPartitions } from "../support/tmpfs.ts";

const fresh = freshDirs("sepp-spool-");
const { partition } = tmpfsPartitions("sepp-spool-part-");

test("a start removes the spool's own leftover bundle only (spoolDir 'pki' emptied the TLS material before)", () => {
  const dataDir = fresh();
  const pki = join(dataDir, "pki");
  mkdirSync(join(pki, "sub"), { recursive: true });
  for (const f of ["sepp.crt.pem", "sepp.key.pem", "root.crt.pem", "sub/x.pem", "upload.raucb"])
    writeFileSync(join(pki, f), "x");
  const unused = () => Promise.reject(new Error("RAUC is not called at start"));
  new UpdateService({
    config: () => v.parse(SystemSchema, { spoolDir: "pki" }),
    dataDir,
    rauc: { info: unused, install: unused },
    log: { info: () => {}, warn: () => {} },
  });
  expect(readdirSync(pki).sort()).toEqual(["root.crt.pem", "sepp.crt.pem", "sepp.key.pem", "sub"]);
  expect(readdirSync(join(pki, "sub"))).toEqual(["x.pem"]);
});

test("a spoolDir that names a file does not stop the start: its leftover is not removed, and that is logged", () => {
  const dataDir = fresh();
  writeFileSync(join(dataDir, "visited"), "a file"); // the mutation campaign's spoolDir "visited"
  const warned: string[] = [];
  const unused = () => Promise.reject(new Error("RAUC is not called at start"));
  new UpdateService({
    config: () => v.parse(SystemSchema, { spoolDir: "visited" }),
    dataDir,
    rauc: { info: unused, install: unused },
    log: { info: () => {}, warn: (m) => warned.push(m) },
  });
  expect(warned).toEqual(["update spool: a leftover bundle could not be removed"]);
});

test("a bundle may not fill the partition: 507 INSUFFICIENT_STORAGE, declared or streamed, nothing left; 1 MiB stays free", async () => {
  const dataDir = partition(8); // a real 8 MiB file system
  const free = () => Number(statfsSync(dataDir).bavail) * Number(statfsSync(dataDir).bsize);
  const unused = () => Promise.reject(new Error("RAUC is not reached: the bundle is refused before"));
  const svc = (maxBundleBytes?: number) =>
    new UpdateService({
      config: () =>
        v.parse(SystemSchema, { spoolDir: "spool", updates: true, ...(maxBundleBytes ? { maxBundleBytes } : {}) }),
      dataDir,
      rauc: { info: unused, install: unused },
      log: { info: () => {}, warn: () => {} },
    });
  const before = free();
  const body = (mib: number) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < mib * 16; i++) c.enqueue(new Uint8Array(64 * 1024));
        c.close();
      },
    });
  // declared: refused before a byte is written
  const declared = await svc().upload(body(1), 20 << 20);
  expect(declared).toMatchObject({ ok: false, refusal: { status: 507, cause: "INSUFFICIENT_STORAGE" } });
  // streamed without a length: stopped at the room (before: ENOSPC, a 500, and a full partition meanwhile)
  const streamed = await svc().upload(body(12), undefined);
  expect(streamed).toMatchObject({ ok: false, refusal: { status: 507, cause: "INSUFFICIENT_STORAGE" } });
  expect(readdirSync(join(dataDir, "spool"))).toEqual([]);
  expect(free()).toBe(before);
  // maxBundleBytes under the room: still 413
  expect(await svc(1 << 20).upload(body(2), undefined)).toMatchObject({ ok: false, refusal: { status: 413 } });
});
