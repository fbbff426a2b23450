// The update spool (src/system/update.ts): a start removes a bundle left over by a process killed during an upload,
// and nothing else of the directory system.spoolDir names: the operator may name one that holds other files.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { SystemSchema } from "../../src/system/config.ts";
import { UpdateService } from "../../src/system/update.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const fresh = freshDirs("sepp-spool-");

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
