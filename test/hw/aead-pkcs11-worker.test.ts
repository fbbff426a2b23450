// The pkcs11 AEAD engine in a data-path worker (hw/aead-pkcs11-worker.ts through openAeadForWorker, hw/index.ts)
// against SoftHSM2, with real Bun Worker threads of this process: the worker borrows the module the main thread
// initialized (no C_Initialize, no PIN), its keys are session objects of its own session that the main thread's
// sessions see (PKCS#11: session objects and login state are the application's), a worker that closes or ends
// never finalizes the module under the main thread, and the main thread's reinitialize (a token that came back)
// waits for the worker's calls, after which the worker's old keys say "key lost" and new ones work.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { Pkcs11AeadEngine } from "../../hw/aead-pkcs11.ts";
import { Pkcs11Token } from "../../hw/pkcs11/token.ts";
import { memoryLogger } from "../../src/log.ts";
import { waitFor } from "../../scripts/lib/pair.ts";
import { softhsm, type TestToken } from "../support/softhsm.ts";
import type { AeadWorkerRequest } from "../support/pkcs11-aead-worker.ts";

const hsm = softhsm();
let tok: TestToken;
let token: Pkcs11Token;
let engine: Pkcs11AeadEngine;
let pinReads = 0;
const sw = new SoftwareAeadEngine();
const iv = randomBytes(12);
const aad = new TextEncoder().encode('{"authorizedIpxId":"NULL"}');
const plaintext = new TextEncoder().encode('{"ie":"secret"}');

type Req = AeadWorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** One worker thread running test/support/pkcs11-aead-worker.ts. */
class AeadWorker {
  readonly w = new Worker(new URL("../support/pkcs11-aead-worker.ts", import.meta.url).href);
  readonly closed = new Promise<void>((res) => this.w.addEventListener("close", () => res()));
  #seq = 0;
  call(req: Req): Promise<Record<string, any>> {
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const on = (ev: MessageEvent) => {
        if (ev.data.id !== id) return;
        this.w.removeEventListener("message", on);
        if (ev.data.error) reject(new Error(ev.data.error));
        else resolve(ev.data);
      };
      this.w.addEventListener("message", on);
      this.w.postMessage({ ...req, id });
    });
  }
}

const softwareSeal = (raw: Uint8Array) => {
  const k = sw.importKey(raw);
  const r = sw.seal(k, iv, aad, plaintext);
  return { ciphertext: Buffer.from(r.ciphertext).toString("hex"), tag: Buffer.from(r.tag).toString("hex") };
};
const hex = (r: Record<string, any>) => ({
  ciphertext: Buffer.from(r.ciphertext).toString("hex"),
  tag: Buffer.from(r.tag).toString("hex"),
});

beforeAll(() => {
  tok = hsm.createToken();
  token = Pkcs11Token.open({
    modulePath: hsm.module,
    tokenUri: tok.uri,
    readPin: () => {
      pinReads++;
      return new TextEncoder().encode(tok.pin);
    },
    poolSize: 1,
    log: memoryLogger(),
    retryInitialMs: 50,
    retryMaxMs: 200,
  });
  engine = new Pkcs11AeadEngine(token);
});
afterAll(() => {
  engine.close();
  token.close();
});

describe("pkcs11 AEAD engine in a worker thread (SoftHSM2)", () => {
  test("the worker's session is logged in already (no PIN crosses), its keys are session objects the main thread sees, same bytes as node:crypto", async () => {
    const w = new AeadWorker();
    try {
      const before = engine.sessionKeys();
      const reads = pinReads;
      expect(await w.call({ op: "open", handoff: engine.workerHandoff() })).toMatchObject({ name: "pkcs11" });
      const raw = randomBytes(32);
      const want = softwareSeal(raw);
      expect(await w.call({ op: "import", raw: new Uint8Array(raw) })).toMatchObject({ bits: 256 });
      expect(engine.sessionKeys()).toBe(before! + 1);
      expect(hex(await w.call({ op: "seal", iv, aad, plaintext }))).toEqual(want);
      await w.call({ op: "destroy" });
      expect(engine.sessionKeys()).toBe(before);
      expect(pinReads).toBe(reads); // nobody logged in again: the login state is the process's
      // the handoff carries no key and no PIN: module path, gate, layout
      expect(Object.keys(engine.workerHandoff()).sort()).toEqual(["engine", "gate", "layout", "module"]);
    } finally {
      w.w.terminate();
    }
  });

  test("a worker that closes its engine and ends leaves the main thread's module, sessions and keys working", async () => {
    const raw = randomBytes(32);
    const mainKey = engine.importKey(new Uint8Array(raw));
    const base = engine.sessionKeys()!;
    const w = new AeadWorker();
    await w.call({ op: "open", handoff: engine.workerHandoff() });
    await w.call({ op: "import", raw: randomBytes(16) });
    expect(engine.sessionKeys()).toBe(base + 1);
    await w.call({ op: "close" }); // its session, and its key with it
    w.w.terminate();
    await w.closed;
    expect(engine.sessionKeys()).toBe(base);
    // a C_Finalize in the worker would have ended every session of the process: the main thread's key still works
    const r = engine.seal(mainKey, iv, aad, plaintext);
    expect(hex(r)).toEqual(softwareSeal(raw));
    expect(token.state().healthy).toBe(true);
    mainKey.destroy();
  });

  test("a worker that dies without closing (terminated) leaves its session: the main thread closes it, and its keys go", async () => {
    const base = engine.sessionKeys()!;
    const w = new AeadWorker();
    await w.call({ op: "open", handoff: engine.workerHandoff(), index: 3 });
    await w.call({ op: "import", raw: randomBytes(32) });
    await w.call({ op: "import", raw: randomBytes(16) });
    expect(engine.sessionKeys()).toBe(base + 2);
    w.w.terminate(); // as a crash: no close()
    await w.closed;
    expect(engine.sessionKeys()).toBe(base + 2); // the session outlives its thread: Cryptoki state is the process's
    expect(engine.closeBorrowerSession(2)).toBe(false); // another worker's number: nothing recorded
    expect(engine.closeBorrowerSession(3)).toBe(true);
    expect(engine.sessionKeys()).toBe(base);
    expect(engine.closeBorrowerSession(3)).toBe(false); // once
    // a worker that closed its engine leaves no record: its handle is never closed a second time
    const w2 = new AeadWorker();
    await w2.call({ op: "open", handoff: engine.workerHandoff(), index: 4 });
    await w2.call({ op: "import", raw: randomBytes(32) });
    await w2.call({ op: "close" });
    w2.w.terminate();
    await w2.closed;
    expect(engine.closeBorrowerSession(4)).toBe(false);
    expect(engine.sessionKeys()).toBe(base);
    expect(token.state().healthy).toBe(true);
  });

  test("the main thread's reinitialize (token gone and back) waits for the worker's calls; the worker's old key then says 'key lost', a new one works", async () => {
    const w = new AeadWorker();
    try {
      await w.call({ op: "open", handoff: engine.workerHandoff() });
      await w.call({ op: "import", raw: randomBytes(32) });
      let lost = 0;
      engine.onKeysLost(() => lost++);
      const started = new SharedArrayBuffer(4);
      const loop = w.call({ op: "loop", ms: 3000, started });
      await waitFor("worker sealing", () => Atomics.load(new Int32Array(started), 0) === 1, 5000, 5);
      // the token goes: the main thread notices (status probe), then reinitializes the module to look for it
      const epoch = token.module.epoch;
      hsm.deleteToken(tok.label);
      expect(token.state().healthy).toBe(false);
      await waitFor("module reinitialized", () => token.module.epoch > epoch, 5000, 10);
      hsm.createToken(tok.label, tok.pin); // back (empty, same label and PIN)
      await waitFor("token healthy", () => token.healthy, 5000, 10);
      const { outcomes, failures } = await loop;
      // only successes before, and "key lost" (or "being reinitialized") after: never a call on a dead or
      // reused handle (a Pkcs11Error such as CKR_SESSION_HANDLE_INVALID), never a crash
      expect(Object.keys(outcomes).sort()).toEqual(
        ["AeadKeyError: key lost", "ok", "AeadKeyError: the PKCS#11 module is being reinitialized; try again"]
          .filter((k) => k in outcomes)
          .sort(),
      );
      expect(outcomes.ok).toBeGreaterThan(0);
      expect(outcomes["AeadKeyError: key lost"]).toBeGreaterThan(0);
      expect(failures).toBe(0);
      expect(lost).toBe(1); // the main thread's engine tells the SEPP (which re-handshakes)
      // a new key in the worker: a new session on the token as it is now
      const raw = randomBytes(32);
      await w.call({ op: "import", raw: new Uint8Array(raw) });
      expect(hex(await w.call({ op: "seal", iv, aad, plaintext }))).toEqual(softwareSeal(raw));
    } finally {
      w.w.terminate();
    }
  }, 20000);
});
