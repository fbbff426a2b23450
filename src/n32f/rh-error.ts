// src/n32f/rh-error.ts — recognising and verifying an error originated by a Roaming Hub (RH) or other Roaming
// Intermediary (TS 33.501 5.9.3.2, 13.2.4.5.2a, 13.2.4.7; N32-DIGEST §4.5).
//
// An RH that originates an error cannot produce the SEPPs' JWE: it sends a `reformattedData` holding ONLY metaData
// (the N32-f message ID and context ID of the failed message) and signs, as any RI does (ES256 flattened JWS,
// P5), the patches that turn that metadata-only object into its error (e.g. a statusLine, headers and a
// ProblemDetails payload). Our reading of that shape: a FlatJweJson with no `protected`, `iv`, `tag` or non-empty
// `encrypted_key`, `ciphertext` "" (or absent), and an `aad` whose decoded DataToIntegrityProtectBlock has no
// member other than `metaData`.
//
// Verification: at least one JWS; every JWS passes the checks of modifications.ts (readable, ES256, valid
// Modifications, signature with a key of `identity` from THIS association's RI information); the last JWS is by
// the adjacent RH (the RI next to us); `tag` absent — or, when the caller knows the JWE tag of the failed message,
// equal to it; the patches may only create or change statusLine, headers and payload (never metaData or a
// requestLine) and never insert an encBlockIndex reference (an RH holds no N32-f key). Failures are
// INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED (signature, key, identity, tag) or MODIFICATIONS_INSTRUCTIONS_FAILED
// (patch). The caller locates the failed message by metaData.messageId. Pure and synchronous.
import type { DataToIntegrityProtectBlock, MetaData } from "../model/n32.ts";
import { validateReceivedBlock } from "../openapi/validate.ts";
import { b64uDecode } from "./b64.ts";
import { N32fError } from "./errors.ts";
import type { HttpMessage } from "./message.ts";
import { icomf, mif } from "./errors.ts";
import { MAX_JWS_ENTRIES } from "./modifications.ts";
import { verifyModificationJws } from "./modifications-jws.ts";
import { applyOne, canonicalAgainst } from "./modifications-patch.ts";
import { hasMember, isPlainObject, parsePointer } from "./pointer.ts";
import { reconstruct } from "./reconstruct.ts";
import { normalizeRiId, type RiKeySet } from "./ri-keys.ts";

export interface RhErrorCandidate {
  metaData: MetaData;
  modificationsBlock: readonly unknown[];
}

export interface RhError {
  /** metaData of the failed message (locate it by messageId) */
  metaData: MetaData;
  /** identity of the RH that signed last (the adjacent one) */
  adjacentRh: string;
  /** identities of every signer, in order (the originator first) */
  signers: string[];
  /** the metadata-only block with the RH's patches applied */
  block: DataToIntegrityProtectBlock;
  /** the error as an HTTP response, when the RH gave a statusLine (reconstruct.ts, nothing encrypted) */
  response?: HttpMessage;
}

const CONTEXT_ID = /^[A-Fa-f0-9]{16}$/;
const MESSAGE_ID = /^[\x20-\x7e]{1,64}$/;
const MAX_AAD_CHARS = 4096;

/**
 * The metaData of `msg` when it has the shape of an RH-originated error (see above), else null. Only the shape is
 * checked here: nothing in it is authenticated until verifyRhError.
 */
export function readRhError(msg: unknown): RhErrorCandidate | null {
  if (!isPlainObject(msg) || !isPlainObject(msg.reformattedData)) return null;
  const r = msg.reformattedData;
  if (r.protected !== undefined || r.iv !== undefined || r.tag !== undefined) return null;
  if (r.encrypted_key !== undefined && r.encrypted_key !== "") return null;
  if (r.ciphertext !== undefined && r.ciphertext !== "") return null;
  if (typeof r.aad !== "string" || r.aad.length === 0 || r.aad.length > MAX_AAD_CHARS) return null;
  const bytes = b64uDecode(r.aad);
  if (!bytes) return null;
  let block: unknown;
  try {
    block = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!isPlainObject(block) || Object.keys(block).length !== 1 || !isPlainObject(block.metaData)) return null;
  const m = block.metaData;
  if (typeof m.n32fContextId !== "string" || !CONTEXT_ID.test(m.n32fContextId)) return null;
  if (typeof m.messageId !== "string" || !MESSAGE_ID.test(m.messageId)) return null;
  const authorizedIpxId = m.authorizedIpxId === null || m.authorizedIpxId === undefined ? "NULL" : m.authorizedIpxId;
  if (typeof authorizedIpxId !== "string") return null;
  const mods = Array.isArray(msg.modificationsBlock) ? msg.modificationsBlock : [];
  return {
    metaData: { n32fContextId: m.n32fContextId, messageId: m.messageId, authorizedIpxId },
    modificationsBlock: mods,
  };
}

/** Top-level members an RH error may create or change. */
const RH_WRITABLE = new Set(["statusLine", "headers", "payload"]);

/**
 * Verify an RH-originated error (see the header). `riKeys` are those of the association the failed message was
 * sent on; `adjacentRhId` the RI next to us on it. Throws N32fError; returns the verified error otherwise.
 */
export function verifyRhError(p: {
  candidate: RhErrorCandidate;
  riKeys: RiKeySet;
  adjacentRhId: string;
  /** the JWE tag of the failed message, when known: a `tag` in the RH's Modifications must equal it */
  failedJweTag?: string;
  now?: number;
}): RhError {
  const { candidate, riKeys } = p;
  const now = p.now ?? Date.now();
  const jwss = candidate.modificationsBlock;
  try {
    if (jwss.length === 0) throw icomf("RH-originated error without a signed modification");
    if (jwss.length > MAX_JWS_ENTRIES) throw icomf(`more than ${MAX_JWS_ENTRIES} modificationsBlock entries`);
    let doc: Record<string, unknown> = { metaData: structuredClone(candidate.metaData) };
    const signers: string[] = [];
    for (let i = 0; i < jwss.length; i++) {
      const v = verifyModificationJws(jwss[i], i, riKeys, now);
      if (v.tag !== undefined && v.tag !== p.failedJweTag)
        throw icomf(`modificationsBlock/${i}: tag does not bind to the failed message`, v.identity);
      signers.push(v.identity);
      for (let j = 0; j < v.operations.length; j++) {
        const op = v.operations[j]!;
        const fail = (d: string) => mif(`modificationsBlock/${i}/operations/${j}: ${d}`, v.identity);
        for (const ptr of op.op === "move" || op.op === "copy" ? [op.path, op.from] : [op.path]) {
          const tokens = typeof ptr === "string" ? parsePointer(ptr) : null;
          if (!tokens || !canonicalAgainst(doc, tokens, true)) throw fail("invalid JSON pointer");
          if (op.op !== "test" && !RH_WRITABLE.has(tokens[0] ?? ""))
            throw fail("an RH error may only set statusLine, headers and payload");
        }
        doc = applyOne(doc, { ...op } as never, fail);
        if (containsEncRef(doc.headers) || containsEncRef(doc.payload))
          throw fail("encBlockIndex in an RH-originated error");
      }
    }
    const adjacent = signers[signers.length - 1]!;
    if (adjacent !== normalizeRiId(p.adjacentRhId)) throw icomf("the last signer is not the adjacent RH", adjacent);
    if (validateReceivedBlock("DataToIntegrityProtectBlock", doc))
      throw mif("patched block is not a valid DataToIntegrityProtectBlock", adjacent);
    const block = doc as DataToIntegrityProtectBlock;
    const out: RhError = { metaData: candidate.metaData, adjacentRh: adjacent, signers, block };
    if (block.statusLine !== undefined) out.response = reconstruct(block, [], { expect: "response" });
    return out;
  } catch (e) {
    if (e instanceof N32fError) {
      e.messageId ??= candidate.metaData.messageId;
      e.n32fContextId ??= candidate.metaData.n32fContextId;
    }
    throw e;
  }
}

function containsEncRef(v: unknown, depth = 0): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (depth > 64) return true;
  if (Array.isArray(v)) return v.some((x) => containsEncRef(x, depth + 1));
  if (hasMember(v as Record<string, unknown>, "encBlockIndex")) return true;
  return Object.values(v).some((x) => containsEncRef(x, depth + 1));
}
