// test/support/pkcs11-probe.ts — a tiny entry point compiled with `bun build --compile` by test/hw/compiled.test.ts:
// proves the compiled binary reaches a PKCS#11 module through the bun:ffi binding (dlopen, CK_FUNCTION_LIST, AES-GCM
// in the token equal to node:crypto). Usage: pkcs11-probe <module> <token-uri> (PIN in PROBE_PIN). Prints JSON.
import { randomBytes } from "node:crypto";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { Pkcs11AeadEngine } from "../../hw/aead-pkcs11.ts";
import { Pkcs11Token } from "../../hw/pkcs11/token.ts";
import { createLogger } from "../../src/log.ts";

const [modulePath, tokenUri] = process.argv.slice(2);
if (!modulePath || !tokenUri) {
  console.error("usage: pkcs11-probe <module> <token-uri>");
  process.exit(2);
}
const token = Pkcs11Token.open({
  modulePath,
  tokenUri,
  readPin: () => new TextEncoder().encode(process.env.PROBE_PIN ?? ""),
  poolSize: 1,
  log: createLogger({ level: "error", sink: (l) => console.error(l) }),
});
const st = token.state();
if (!st.healthy) {
  console.log(JSON.stringify({ ok: false, detail: st.detail }));
  process.exit(1);
}
const hw = new Pkcs11AeadEngine(token);
const sw = new SoftwareAeadEngine();
const raw = randomBytes(32);
const iv = randomBytes(12);
const pt = randomBytes(1000);
const a = hw.seal(hw.importKey(raw), iv, new Uint8Array(0), pt);
const b = sw.seal(sw.importKey(raw), iv, new Uint8Array(0), pt);
const same =
  Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext)) && Buffer.from(a.tag).equals(Buffer.from(b.tag));
console.log(
  JSON.stringify({
    ok: same,
    token: st.token?.label,
    layout: hw.layout,
    compiled: import.meta.path.includes("$bunfs") || !import.meta.path.endsWith(".ts"),
  }),
);
hw.close();
token.close();
