// bench/n32f/pipelines.ts — what bench:n32f times: a context pair per message, our engine (reference and text
// reformatting), the jose pipeline, the floor and the format minimum (see bench/n32f.ts).
import { parseN32fBody } from "../../src/n32f/frame.ts";
import { createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import { FlattenedEncrypt, flattenedDecrypt } from "jose";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import type { N32fContext } from "../../src/n32f/context.ts";
import type { N32fContextStore } from "../../src/n32f/context-store.ts";
import { PrinsEngine, newMessageId } from "../../src/n32f/engine.ts";
import { deriveN32fKeyMaterial, type JweEnc } from "../../src/n32f/kdf.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";
import { reformat } from "../../src/n32f/reformat.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import { contextPair } from "../../test/support/contexts.ts";
import type { Case } from "./cases.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const ENC: JweEnc = "A256GCM";

// ------------------------------------------------------------------------------------------------ contexts

export const aead = new SoftwareAeadEngine();
/** The SEPP's engine as it runs (reformatEngine default: "wasm"), the reference, and the opt-in text engine. */
export const prinsDefault = new PrinsEngine({
  defaults: defaults as ProtectionPolicy,
  riTrust: new TrustStore([], []),
});
export const prins = new PrinsEngine({
  defaults: defaults as ProtectionPolicy,
  riTrust: new TrustStore([], []),
  reformatEngine: "text",
});
export const prinsRef = new PrinsEngine({
  defaults: defaults as ProtectionPolicy,
  riTrust: new TrustStore([], []),
  reformatEngine: "reference",
  openEngine: "reference",
});

export interface Pair {
  /** the side that protects this case's message (cSEPP for a request, pSEPP for a response) */
  sender: N32fContext;
  /** the side that opens it */
  receiver: N32fContext;
  receiverStore: N32fContextStore;
  /** key (imported once, as a real jose user would keep it) and salt of the sender's direction, for jose */
  joseKey: CryptoKey;
  salt: Uint8Array;
  seq: number;
}

export async function pairFor(c: Case): Promise<Pair> {
  // Both sides apply the same extra policy (as after N32-c parameter exchange: ours locally, the peer's received).
  const {
    c: cCtx,
    p: pCtx,
    cStore,
    pStore,
    master,
    cId,
  } = contextPair({ engine: aead, enc: ENC, policy: c.peerPolicy, validForMs: 3_600_000 });
  const material = deriveN32fKeyMaterial(master, cId, ENC);
  master.fill(0);
  // The initiator (cSEPP, HTTP/2 client) sends requests with parallel_request_*; the responder answers with parallel_response_*.
  const isReq = c.message.kind === "request";
  const rawKey = Uint8Array.from(isReq ? material.keys.parallel_request_key : material.keys.parallel_response_key);
  const joseKey = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, ["encrypt", "decrypt"]);
  rawKey.fill(0);
  return {
    sender: isReq ? cCtx : pCtx,
    receiver: isReq ? pCtx : cCtx,
    receiverStore: isReq ? pStore : cStore,
    joseKey,
    salt: Uint8Array.from(isReq ? material.salts.parallel_request_iv_salt : material.salts.parallel_response_iv_salt),
    // jose uses SEQs far above ours so the two never share a nonce under one key
    seq: 0x8000_0000,
  };
}

// ------------------------------------------------------------------------------------------------ pipelines

export function oursProtect(c: Case, p: Pair, engine: PrinsEngine = prinsDefault): string {
  if (c.message.kind === "request") return engine.protectRequest(p.sender, c.message).body;
  return engine.protectResponse(p.sender, c.message, c.request!);
}

/** The text-level reformatting. */
export const oursTextProtect = (c: Case, p: Pair): string => oursProtect(c, p, prins);
/** The reference reformatting (reformat() + JSON.stringify). */
export const oursRefProtect = (c: Case, p: Pair): string => oursProtect(c, p, prinsRef);

/** Open as the SEPP does (`engine`: the default, the aad read by the WebAssembly module; or the reference). */
export function oursOpen(c: Case, p: Pair, body: string, engine: PrinsEngine = prinsDefault): HttpMessage {
  const wire: unknown = parseN32fBody(body); // as the SEPP reads it (JSON.parse but for our own frame)
  if (c.message.kind === "request") return engine.openRequest(wire, p.receiverStore).message;
  return engine.openResponse(p.receiver, wire, c.request!);
}

/** Open with the reference steps alone (JSON.parse of the aad, reconstruct, JSON.stringify). */
export const oursRefOpen = (c: Case, p: Pair, body: string): HttpMessage => oursOpen(c, p, body, prinsRef);

export async function joseProtect(c: Case, p: Pair): Promise<string> {
  const ctx = p.sender;
  const { block, dataToEncrypt } = reformat(c.message, {
    metaData: {
      n32fContextId: ctx.peerContextId,
      messageId: c.request?.messageId ?? newMessageId(),
      authorizedIpxId: "NULL",
    },
    policy: prins.policiesOf(ctx).encryption,
    request: c.request,
  });
  const aad = te.encode(JSON.stringify(block));
  const plaintext = dataToEncrypt.length ? te.encode(JSON.stringify({ dataToEncrypt })) : new Uint8Array(0);
  const iv = new Uint8Array(12);
  iv.set(p.salt, 0);
  new DataView(iv.buffer).setUint32(8, p.seq++);
  const jwe = await new FlattenedEncrypt(plaintext)
    .setProtectedHeader({ alg: "dir", enc: ENC })
    .setAdditionalAuthenticatedData(aad)
    .setInitializationVector(iv)
    .encrypt(p.joseKey);
  return JSON.stringify({ reformattedData: jwe });
}

export async function joseOpen(c: Case, p: Pair, body: string): Promise<HttpMessage> {
  const wire = JSON.parse(body) as { reformattedData: Parameters<typeof flattenedDecrypt>[0] };
  const r = await flattenedDecrypt(wire.reformattedData, p.joseKey);
  const block = JSON.parse(td.decode(r.additionalAuthenticatedData!));
  const dataToEncrypt = r.plaintext.length
    ? (JSON.parse(td.decode(r.plaintext)) as { dataToEncrypt: unknown[] }).dataToEncrypt
    : [];
  return reconstruct(block, dataToEncrypt, { expect: c.message.kind });
}

export function floorFor(json: string): () => void {
  const key = createSecretKey(crypto.getRandomValues(new Uint8Array(32)));
  const iv = Buffer.alloc(12);
  let seq = 0;
  return () => {
    const bytes = Buffer.from(JSON.stringify(JSON.parse(json)), "utf8");
    iv.writeUInt32BE(seq++ >>> 0, 8);
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
    cipher.update(bytes);
    cipher.final();
    cipher.getAuthTag();
  };
}

/**
 * The least work the PRINS wire format itself needs for a JSON message, written without any of the engine's
 * checks (no schema validation, no policy lookup, no replay window, no encBlockIndex, nothing encrypted but the
 * engine's dataToEncrypt): protect = JSON.parse of the NF body, JSON.stringify of a P3 block holding every
 * top-level member, base64url, one AES-GCM, the body text; verify = JSON.parse of that body, base64url decode,
 * JSON.parse of the aad and of the plaintext, one AES-GCM, JSON.stringify of the rebuilt body. Not a pipeline
 * anyone should ship: a yardstick for what is left once the format's own cost is paid (docs/PERFORMANCE.md).
 */
export function formatMinimumFor(c: Case, p: Pair): { protect: () => string; verify: (body: string) => unknown } {
  const ct = c.message.headers.find(([n]) => n === "content-type")?.[1] ?? "";
  if (!ct.includes("json") || !c.message.body) throw new Error("formatMinimumFor: JSON bodies only");
  const nfText = td.decode(c.message.body);
  const { dataToEncrypt } = reformat(c.message, {
    metaData: { n32fContextId: p.sender.peerContextId, messageId: "0", authorizedIpxId: "NULL" },
    policy: prins.policiesOf(p.sender).encryption,
    request: c.request,
  });
  const head = {
    metaData: { n32fContextId: p.sender.peerContextId, messageId: "0000000000000000", authorizedIpxId: "NULL" },
    statusLine: String(c.message.status ?? 200),
    headers: c.message.headers.map(([header, value]) => ({ header, value })),
  };
  const key = createSecretKey(crypto.getRandomValues(new Uint8Array(32)));
  const prot = Buffer.from('{"alg":"dir","enc":"A256GCM"}').toString("base64url");
  const iv = Buffer.alloc(12);
  let seq = 0;
  return {
    protect: () => {
      const root = JSON.parse(nfText) as Record<string, unknown>;
      const payload: unknown[] = [];
      for (const k of Object.keys(root)) payload.push({ iePath: `/${k}`, ieValueLocation: "BODY", value: root[k] });
      const aadB64 = Buffer.from(JSON.stringify({ ...head, payload }), "utf8").toString("base64url");
      const plaintext = Buffer.from(JSON.stringify({ dataToEncrypt }), "utf8");
      iv.writeUInt32BE(seq++ >>> 0, 8);
      const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
      cipher.setAAD(Buffer.from(`${prot}.${aadB64}`, "latin1"));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return `{"reformattedData":{"protected":"${prot}","aad":"${aadB64}","iv":"${iv.toString("base64url")}","ciphertext":"${ciphertext.toString("base64url")}","tag":"${cipher.getAuthTag().toString("base64url")}"}}`;
    },
    verify: (body: string) => {
      const w = (JSON.parse(body) as { reformattedData: Record<string, string> }).reformattedData;
      const block = JSON.parse(Buffer.from(w.aad!, "base64url").toString("utf8")) as {
        payload: Array<{ iePath: string; value: unknown }>;
      };
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(w.iv!, "base64url"), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(`${w.protected}.${w.aad}`, "latin1"));
      decipher.setAuthTag(Buffer.from(w.tag!, "base64url"));
      const plaintext = Buffer.concat([decipher.update(Buffer.from(w.ciphertext!, "base64url")), decipher.final()]);
      JSON.parse(plaintext.toString("utf8"));
      const root: Record<string, unknown> = {};
      for (const e of block.payload) root[e.iePath.slice(1)] = e.value;
      return Buffer.from(JSON.stringify(root), "utf8");
    },
  };
}

/**
 * The work the jose pipeline and ours both do, as the jose pipeline does it: protect = reformat() and JSON.stringify
 * of the block and of the plaintext; verify = JSON.parse of the n32f-process body, of the aad text and of the
 * plaintext text, and reconstruct(). Neither pipeline can be faster than this part of it, so jose / shared bounds the
 * "vs jose" ratio of any engine that keeps this work (docs/PERFORMANCE.md). No base64url, no AEAD, no checks.
 */
export function sharedFor(c: Case, p: Pair): { protect: () => string; verify: () => HttpMessage } {
  const opts = {
    metaData: { n32fContextId: p.sender.peerContextId, messageId: "0123456789abcdef", authorizedIpxId: "NULL" },
    policy: prins.policiesOf(p.sender).encryption,
    request: c.request,
  };
  const body = oursProtect(c, p, prinsRef);
  const first = reformat(c.message, opts);
  const aadText = JSON.stringify(first.block);
  const plaintextText = first.dataToEncrypt.length ? JSON.stringify({ dataToEncrypt: first.dataToEncrypt }) : "";
  return {
    protect: () => {
      const { block, dataToEncrypt } = reformat(c.message, opts);
      return JSON.stringify(block) + (dataToEncrypt.length ? JSON.stringify({ dataToEncrypt }) : "");
    },
    verify: () => {
      JSON.parse(body);
      const block = JSON.parse(aadText);
      const dataToEncrypt = plaintextText
        ? (JSON.parse(plaintextText) as { dataToEncrypt: unknown[] }).dataToEncrypt
        : [];
      return reconstruct(block, dataToEncrypt, { expect: c.message.kind });
    },
  };
}
