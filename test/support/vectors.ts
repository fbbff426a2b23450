// test/support/vectors.ts — the shared key-derivation and JWE vectors computed by an independent implementation
// (../shared/spec/vectors/n32f-vectors.json beside the repository, as on CI), read once and typed once for every
// suite that checks against them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** One protected message of the vectors: its aad and plaintext as objects and the flattened JWE. */
export interface VectorMessage {
  description: string;
  aadObject: Record<string, unknown>;
  plaintextObject: { dataToEncrypt: unknown[] } | null;
  jwe: { protected: string; aad: string; iv: string; ciphertext: string; tag: string };
}

export interface N32fVectors {
  kdf: {
    master_hex: string;
    ctxId: string;
    A256GCM: Record<string, string>;
    A128GCM: Record<string, string>;
    salts: Record<string, string>;
  };
  nonces_parallel_request: Record<string, string>;
  messages: VectorMessage[];
}

export const VECTORS_FILE = join(import.meta.dir, "..", "..", "..", "shared", "spec", "vectors", "n32f-vectors.json");

let loaded: N32fVectors | undefined;
/** The vectors (a missing ../shared fails the suite that asks, naming the file). */
export function n32fVectors(): N32fVectors {
  loaded ??= JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as N32fVectors;
  return loaded;
}
