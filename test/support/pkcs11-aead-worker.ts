// test/support/pkcs11-aead-worker.ts — a Bun Worker running the pkcs11 AEAD engine as a data-path worker does
// (openAeadForWorker from hw/index.ts, on the handoff of the main thread's engine). Driven by
// test/hw/aead-pkcs11-worker.test.ts through postMessage; each request is answered with `{ id, ... }`.
import {
  AeadKeyError,
  type AeadKey,
  openAeadForWorker,
  type AeadWorkerHandoff,
  type WorkerAead,
} from "../../hw/index.ts";

declare const self: Worker;

export type AeadWorkerRequest =
  /** `index`: the worker's number, under which its session is recorded in the gate */
  | { id: number; op: "open"; handoff: AeadWorkerHandoff; index?: number }
  | { id: number; op: "import"; raw: Uint8Array }
  | { id: number; op: "seal"; iv: Uint8Array; aad: Uint8Array; plaintext: Uint8Array }
  | { id: number; op: "destroy" }
  /** seal in a tight loop for `ms` (the main thread reinitializes the module meanwhile): outcomes by kind */
  | { id: number; op: "loop"; ms: number; started: SharedArrayBuffer }
  | { id: number; op: "close" };

let hw: WorkerAead | undefined;
let key: AeadKey | undefined;
let failures = 0;

const kind = (e: unknown) =>
  e instanceof AeadKeyError
    ? `AeadKeyError: ${e.message.split(":")[0]}`
    : `${(e as Error).name}: ${(e as Error).message}`;

self.onmessage = (ev: MessageEvent<AeadWorkerRequest>) => {
  const m = ev.data;
  try {
    switch (m.op) {
      case "open":
        hw = openAeadForWorker(m.handoff, () => failures++, m.index);
        return self.postMessage({ id: m.id, name: hw.aead.name });
      case "import":
        key = hw!.aead.importKey(m.raw);
        m.raw.fill(0);
        return self.postMessage({ id: m.id, bits: key.bits });
      case "seal": {
        const r = hw!.aead.seal(key!, m.iv, m.aad, m.plaintext);
        return self.postMessage({ id: m.id, ciphertext: r.ciphertext.slice(), tag: r.tag.slice() });
      }
      case "destroy":
        key?.destroy();
        return self.postMessage({ id: m.id });
      case "loop": {
        const outcomes: Record<string, number> = {};
        const iv = new Uint8Array(12);
        const aad = new Uint8Array(16);
        const pt = new Uint8Array(64);
        const end = performance.now() + m.ms;
        Atomics.store(new Int32Array(m.started), 0, 1);
        Atomics.notify(new Int32Array(m.started), 0);
        while (performance.now() < end) {
          let k = "ok";
          try {
            hw!.aead.seal(key!, iv, aad, pt);
          } catch (e) {
            k = kind(e);
          }
          outcomes[k] = (outcomes[k] ?? 0) + 1;
        }
        return self.postMessage({ id: m.id, outcomes, failures });
      }
      case "close":
        hw?.close();
        return self.postMessage({ id: m.id });
    }
  } catch (e) {
    self.postMessage({ id: m.id, error: kind(e) });
  }
};
