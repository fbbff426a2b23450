// test/support/telescopic-resolve.ts — a second SEPP process's telescopic resolution, for
// test/sbi/telescopic-label.test.ts: `bun telescopic-resolve.ts <dataDir> <seppDomain> <keyFile> <label>…` opens its
// own (new) table in dataDir with the label key read as a start reads it (telescopic-keys.ts), resolves each label
// and prints one JSON line: the entries (null for a label it cannot resolve).
import { loadTelescopicLabelKeys } from "../../src/sbi/telescopic-keys.ts";
import { TelescopicStore } from "../../src/sbi/telescopic-store.ts";

const [dataDir, seppDomain, keyFile, ...labels] = process.argv.slice(2);
if (!dataDir || !seppDomain || !keyFile)
  throw new Error("usage: telescopic-resolve.ts dataDir seppDomain keyFile label…");
const store = new TelescopicStore(`${dataDir}/telescopic.db`, {
  seppDomain,
  labelKeys: loadTelescopicLabelKeys(dataDir, { mode: "stateless", keyFile }),
});
console.log(JSON.stringify(labels.map((l) => store.resolve(l))));
store.close();
