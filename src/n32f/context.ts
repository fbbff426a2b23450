// src/n32f/context.ts — the N32-f context (TS 33.501 13.2.2.4, N32-PROFILE P1) and the store of live ones.
//
// A context holds what one N32-c handshake agreed: the two context IDs, the cipher suite, the four AES keys
// (as opaque AeadKeys of hw/aead.ts, so a PKCS#11 engine can hold them) and IV salts picked for this SEPP's
// N32-c role (digest §7b), the SEQ counters of the two salts it sends with, and the replay windows of the two
// salts it receives with. Keys and salts live only in #private fields: no enumerable property, toJSON() or
// inspection shows them. Pure and synchronous; the clock is injectable.
import type { AeadEngine, AeadKey } from "../../hw/aead.ts";
import { GCM_IV_LENGTH } from "../../hw/aead.ts";
import type { IpxProviderSecInfo, PlmnId, ProtectionPolicy } from "../model/n32.ts";
import { N32fError } from "./errors.ts";
import { deriveN32fKeyMaterial, MASTER_KEY_LENGTH, wipeKeyMaterial, type JweEnc, type N32fKeyMaterial } from "./kdf.ts";
import { ReplayWindow } from "./replay.ts";
import type { SharedReplayWindow } from "./replay-shared.ts";
import { MAX_SEQ, type SharedSeq } from "./seq.ts";
import type { N32fSharedCounters } from "./shared-counters.ts";

export type { JweEnc } from "./kdf.ts";
export type N32cRole = "initiator" | "responder";
/** Whether a JWE carries an HTTP request or response (selects the key/salt pair, digest §7b). */
export type N32fMessageKind = "request" | "response";
export type N32fContextState = "active" | "inactive" | "terminated";

/** What N32-c agreed for this association; opaque here except where noted. */
export interface N32fAssociation {
  peerFqdn: string;
  remotePlmnIds: PlmnId[];
  jwsSuite: "ES256";
  localPolicy?: ProtectionPolicy;
  /** The peer's policy, as received on N32-c. */
  peerPolicy?: ProtectionPolicy;
  /** RI security information exchanged on THIS association (P5). */
  ownRis: IpxProviderSecInfo[];
  peerRis: IpxProviderSecInfo[];
  /** First-hop RI allowed to modify OUR outgoing messages ("NULL" on the wire when null). */
  authorizedIpxId: string | null;
}

export interface N32fContextParams {
  /** Ours, 16 hex: what the peer puts in metaData.n32fContextId when sending to us. */
  localContextId: string;
  /** The peer's: what WE put in metaData.n32fContextId when sending to the peer. */
  peerContextId: string;
  /** Our N32-c role in the handshake that created this context. */
  role: N32cRole;
  enc: JweEnc;
  /** 64-octet TLS exporter output (P1); wiped (fill(0)) by createN32fContext, also on failure. */
  master: Uint8Array;
  /** ID fed to the KDF (P1: initiator's ID; the per-peer setting may pick the responder's). Must be one of the two IDs. */
  kdfContextId: string;
  /** AEAD engine (hw/aead.ts); raw keys are wiped right after importKey. */
  engine: AeadEngine;
  /** Configured peer id. */
  peerId: string;
  association: N32fAssociation;
  /** Epoch ms after which the context is past its life (P1: default validity 24 h, decided by the caller). */
  validUntil: number;
  /** needsRekey() once a send counter passes this (default 2^31, P1). */
  rekeyThreshold?: number;
  /** needsRekey() this long before validUntil (default: 5 min, or a tenth of the lifetime if shorter). */
  rekeyMarginMs?: number;
  /** Initial state (default "active"). */
  state?: "active" | "inactive";
  /** Injectable clock (epoch ms) for tests. */
  now?: () => number;
  /**
   * SEQ counters and replay windows in shared memory, for a context used by several workers (issue 11 §3): every
   * worker creates its context from the same key material and the same block (shared-counters.ts). Default:
   * counters and windows of this thread only (the single-process path).
   */
  shared?: N32fSharedCounters;
}

/** Read-only usage counters of a context (for status; never secret). */
export interface N32fContextCounters {
  sentRequests: number;
  sentResponses: number;
  receivedRequests: number;
  receivedResponses: number;
  /** SEQ the next sent request / response will use. */
  nextRequestSeq: number;
  nextResponseSeq: number;
  /** Highest SEQ accepted on receive, -1 before the first. */
  highestReceivedRequestSeq: number;
  highestReceivedResponseSeq: number;
}

/** Public, non-secret view of a context (what toJSON() returns). */
export interface N32fContextInfo {
  localContextId: string;
  peerContextId: string;
  peerId: string;
  peerFqdn: string;
  role: N32cRole;
  enc: JweEnc;
  state: N32fContextState;
  engine: string;
  createdAt: number;
  validUntil: number;
  authorizedIpxId: string | null;
  needsRekey: boolean;
  counters: N32fContextCounters;
}

export { MAX_SEQ } from "./seq.ts";
export const DEFAULT_REKEY_THRESHOLD = 2 ** 31;
const DEFAULT_REKEY_MARGIN_MS = 5 * 60_000;

const CONTEXT_ID_RE = /^[0-9a-fA-F]{16}$/;
const PEER_CONTEXT_ID_RE = /^[\x21-\x7e]{1,64}$/;

interface SendSide {
  key: AeadKey;
  salt: Uint8Array;
  seq: number; // next SEQ to use (single-process: a plain field, the hot path stays as it was)
  shared: SharedSeq | null; // the counter in shared memory instead, when workers share the context
  count: number; // sent by this thread
}
interface ReceiveSide {
  key: AeadKey;
  salt: Uint8Array;
  window: ReplayWindow | SharedReplayWindow;
}

export class N32fContext {
  readonly localContextId: string;
  readonly peerContextId: string;
  readonly role: N32cRole;
  readonly enc: JweEnc;
  readonly peerId: string;
  /** Replaced whole (never mutated) when a later N32-c round changes it: caches keyed on it follow (P11). */
  get association(): N32fAssociation {
    return this.#association;
  }
  #association: N32fAssociation;
  /** A later N32-c round changed the policy or RI information: in force at once (P11 "Rounds and activation"). */
  replaceAssociation(a: N32fAssociation): void {
    this.#association = a;
  }
  readonly validUntil: number;
  readonly createdAt: number;
  readonly engine: AeadEngine;
  readonly rekeyThreshold: number;
  readonly rekeyMarginMs: number;
  #state: N32fContextState;
  readonly #now: () => number;
  readonly #sendRequest: SendSide;
  readonly #sendResponse: SendSide;
  readonly #receiveRequest: ReceiveSide;
  readonly #receiveResponse: ReceiveSide;

  /** Use createN32fContext(). */
  constructor(
    p: N32fContextParams,
    keys: { sendRequest: SendSide; sendResponse: SendSide; receiveRequest: ReceiveSide; receiveResponse: ReceiveSide },
  ) {
    this.localContextId = p.localContextId;
    this.peerContextId = p.peerContextId;
    this.role = p.role;
    this.enc = p.enc;
    this.peerId = p.peerId;
    this.#association = p.association;
    this.validUntil = p.validUntil;
    this.engine = p.engine;
    this.#now = p.now ?? Date.now;
    this.createdAt = this.#now();
    this.rekeyThreshold = p.rekeyThreshold ?? DEFAULT_REKEY_THRESHOLD;
    this.rekeyMarginMs =
      p.rekeyMarginMs ??
      Math.min(DEFAULT_REKEY_MARGIN_MS, Math.max(0, Math.floor((p.validUntil - this.createdAt) / 10)));
    this.#state = p.state ?? "active";
    this.#sendRequest = keys.sendRequest;
    this.#sendResponse = keys.sendResponse;
    this.#receiveRequest = keys.receiveRequest;
    this.#receiveResponse = keys.receiveResponse;
  }

  get state(): N32fContextState {
    return this.#state;
  }

  /** Mark usable again (e.g. a pending policy mismatch was resolved). A terminated context stays terminated. */
  activate(): void {
    if (this.#state !== "terminated") this.#state = "active";
  }

  /** Mark not usable for traffic (e.g. policy mismatch, P7/P10) without destroying the keys. */
  deactivate(): void {
    if (this.#state !== "terminated") this.#state = "inactive";
  }

  /** Past its validity (P1). */
  isExpired(): boolean {
    return this.#now() >= this.validUntil;
  }

  /** True when a new N32-c handshake should start (P1): a send counter passed the threshold or validity is near. */
  needsRekey(): boolean {
    if (this.#state === "terminated") return true;
    if (nextSeq(this.#sendRequest) > this.rekeyThreshold || nextSeq(this.#sendResponse) > this.rekeyThreshold)
      return true;
    return this.#now() >= this.validUntil - this.rekeyMarginMs;
  }

  /** Destroy all keys (wipe), zero the salts, mark terminated. Idempotent. */
  destroy(): void {
    for (const side of [this.#sendRequest, this.#sendResponse, this.#receiveRequest, this.#receiveResponse]) {
      side.key.destroy();
      side.salt.fill(0);
    }
    this.#state = "terminated";
  }

  counters(): N32fContextCounters {
    return {
      sentRequests: this.#sendRequest.count,
      sentResponses: this.#sendResponse.count,
      receivedRequests: this.#receiveRequest.window.accepted,
      receivedResponses: this.#receiveResponse.window.accepted,
      nextRequestSeq: nextSeq(this.#sendRequest),
      nextResponseSeq: nextSeq(this.#sendResponse),
      highestReceivedRequestSeq: this.#receiveRequest.window.highest,
      highestReceivedResponseSeq: this.#receiveResponse.window.highest,
    };
  }

  toJSON(): N32fContextInfo {
    return {
      localContextId: this.localContextId,
      peerContextId: this.peerContextId,
      peerId: this.peerId,
      peerFqdn: this.association.peerFqdn,
      role: this.role,
      enc: this.enc,
      state: this.#state,
      engine: this.engine.name,
      createdAt: this.createdAt,
      validUntil: this.validUntil,
      authorizedIpxId: this.association.authorizedIpxId,
      needsRekey: this.needsRekey(),
      counters: this.counters(),
    };
  }

  /**
   * Move a send counter forward to `seq` (never back, so no nonce is ever reused). For tests (reproducing
   * vectors at a given SEQ, exhaustion near 2^32) and for an operator skipping SEQs; not needed otherwise.
   */
  advanceSendSeq(kind: N32fMessageKind, seq: number): void {
    const side = kind === "request" ? this.#sendRequest : this.#sendResponse;
    if (side.shared) {
      side.shared.advanceTo(seq);
      return;
    }
    if (!Number.isInteger(seq) || seq < side.seq || seq > MAX_SEQ + 1) {
      throw new RangeError(`SEQ can only move forward, within 0..2^32 (now ${side.seq})`);
    }
    side.seq = seq;
  }

  /** ENCRYPTION_KEY_EXPIRED when the context is terminated or past its validity (P1, P10). */
  assertUsable(): void {
    if (this.#state === "terminated") throw expired("N32-f context terminated", this.localContextId);
    if (this.isExpired()) throw expired("N32-f context past its validity", this.localContextId);
  }

  /**
   * AES-GCM with the next nonce of the `kind` send salt (nonce = salt ‖ SEQ big-endian, P1). The SEQ is
   * consumed before the engine runs, so even a failing engine call never leads to nonce reuse.
   * Used by jwe.ts protectJwe(); call that instead.
   */
  sealNext(
    kind: N32fMessageKind,
    additionalData: Uint8Array,
    plaintext: Uint8Array,
  ): { iv: Uint8Array; seq: number; ciphertext: Uint8Array; tag: Uint8Array } {
    this.assertUsable();
    const side = kind === "request" ? this.#sendRequest : this.#sendResponse;
    let seq = side.seq;
    if (side.shared === null) {
      if (seq > MAX_SEQ) throw expired(`SEQ space of the ${kind} salt exhausted`, this.localContextId);
      side.seq = seq + 1;
    } else {
      seq = side.shared.take(); // atomic across the workers (seq.ts)
      if (seq < 0) throw expired(`SEQ space of the ${kind} salt exhausted`, this.localContextId);
    }
    const iv = Buffer.allocUnsafe(GCM_IV_LENGTH);
    iv.set(side.salt, 0);
    iv.writeUInt32BE(seq, 8);
    const { ciphertext, tag } = this.engine.seal(side.key, iv, additionalData, plaintext);
    side.count++;
    return { iv, seq, ciphertext, tag };
  }

  /**
   * Verify and decrypt with the `kind` receive key (P1 order): usable context (ENCRYPTION_KEY_EXPIRED), iv
   * salt equals the expected one, AEAD tag, then the replay window (all INTEGRITY_CHECK_FAILED). The window
   * moves only after success. Used by jwe.ts openJwe(); call that instead.
   */
  openReceived(
    kind: N32fMessageKind,
    iv: Uint8Array,
    additionalData: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
  ): { plaintext: Uint8Array; seq: number } {
    this.assertUsable();
    const side = kind === "request" ? this.#receiveRequest : this.#receiveResponse;
    if (iv.length !== GCM_IV_LENGTH) throw integrity("iv is not 12 octets", this.localContextId);
    for (let i = 0; i < side.salt.length; i++) {
      if (iv[i] !== side.salt[i]) throw integrity(`iv salt is not the expected ${kind} salt`, this.localContextId);
    }
    const seq = ((iv[8]! << 24) | (iv[9]! << 16) | (iv[10]! << 8) | iv[11]!) >>> 0;
    const plaintext = this.engine.open(side.key, iv, additionalData, ciphertext, tag);
    if (plaintext === null) throw integrity("JWE authentication tag does not verify", this.localContextId);
    if (!side.window.accept(seq)) {
      plaintext.fill(0);
      throw integrity("replayed", this.localContextId);
    }
    return { plaintext, seq };
  }
}

function nextSeq(side: SendSide): number {
  return side.shared ? side.shared.next : side.seq;
}
function expired(detail: string, ctxId: string): N32fError {
  return new N32fError("ENCRYPTION_KEY_EXPIRED", detail, { n32fContextId: ctxId });
}
function integrity(detail: string, ctxId: string): N32fError {
  return new N32fError("INTEGRITY_CHECK_FAILED", detail, { n32fContextId: ctxId });
}

/**
 * Create an N32-f context from the TLS exporter master key (P1). Derives the four keys and salts with
 * N32-KDF under `kdfContextId`, picks them for `role` (digest §7b), imports the keys into `engine` and wipes
 * the master and every raw key. Throws RangeError on invalid parameters (a bug in the caller).
 */
export function createN32fContext(p: N32fContextParams): N32fContext {
  let material: N32fKeyMaterial | null = null;
  const imported: AeadKey[] = [];
  try {
    if (!CONTEXT_ID_RE.test(p.localContextId)) throw new RangeError("localContextId must be 16 hex digits");
    if (!PEER_CONTEXT_ID_RE.test(p.peerContextId)) throw new RangeError("peerContextId must be 1-64 printable ASCII");
    if (p.kdfContextId !== p.localContextId && p.kdfContextId !== p.peerContextId) {
      throw new RangeError("kdfContextId must be one of the two context IDs, exactly as sent");
    }
    if (p.role !== "initiator" && p.role !== "responder") throw new RangeError("role must be initiator or responder");
    if (p.master.length !== MASTER_KEY_LENGTH) throw new RangeError(`master key must be ${MASTER_KEY_LENGTH} octets`);
    if (!Number.isFinite(p.validUntil)) throw new RangeError("validUntil must be a finite epoch ms");
    if (
      p.rekeyThreshold !== undefined &&
      !(Number.isInteger(p.rekeyThreshold) && p.rekeyThreshold >= 0 && p.rekeyThreshold <= MAX_SEQ)
    ) {
      throw new RangeError("rekeyThreshold must be an integer in 0..2^32-1");
    }
    material = deriveN32fKeyMaterial(p.master, p.kdfContextId, p.enc);
    const m = material;
    const side = (label: "parallel_request" | "parallel_response" | "reverse_request" | "reverse_response") => {
      const key = p.engine.importKey(m.keys[`${label}_key`]);
      imported.push(key);
      return { key, salt: Uint8Array.from(m.salts[`${label}_iv_salt`]) };
    };
    // Digest §7b: "parallel" = the N32-c initiator is the HTTP/2 client; "reverse" = the responder is.
    const initiator = p.role === "initiator";
    const sendRequest = side(initiator ? "parallel_request" : "reverse_request");
    const receiveResponse = side(initiator ? "parallel_response" : "reverse_response");
    const receiveRequest = side(initiator ? "reverse_request" : "parallel_request");
    const sendResponse = side(initiator ? "reverse_response" : "parallel_response");
    const sh = p.shared;
    return new N32fContext(p, {
      sendRequest: { ...sendRequest, seq: 0, shared: sh ? sh.sendRequest : null, count: 0 },
      sendResponse: { ...sendResponse, seq: 0, shared: sh ? sh.sendResponse : null, count: 0 },
      receiveRequest: { ...receiveRequest, window: sh ? sh.receiveRequest : new ReplayWindow() },
      receiveResponse: { ...receiveResponse, window: sh ? sh.receiveResponse : new ReplayWindow() },
    });
  } catch (e) {
    for (const k of imported) k.destroy();
    throw e;
  } finally {
    p.master.fill(0);
    if (material) wipeKeyMaterial(material);
  }
}
