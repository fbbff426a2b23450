// src/n32f/engine.ts — the N32-f PRINS pipeline (TS 33.501 13.2.4, TS 29.573 6.2; N32-PROFILE P1–P5, P8, P10):
// composes reformatting (reformat.ts), protection (jwe.ts), verification of Roaming Intermediary modifications
// (modifications.ts) and reconstruction (reconstruct.ts). Pure and synchronous: the data path hands it an
// HttpMessage or a parsed n32f-process body and gets bytes or a message back; every failure is an N32fError
// (or a ReformatError for an NF message the sending SEPP refuses). Nothing partially verified leaves it.
//
//   sending:   HttpMessage ─reformat→ {block, dataToEncrypt} ─JSON→ aad, plaintext ─protectJwe→ N32fReformatted*Msg
//              (by default a JSON body's payload is written in WebAssembly from its octets, wasm/reformat-wasm.ts,
//              byte-identical; the reference writes what it declines; the opt-in text engine is text/)
//   receiving: body ─schema→ parseJwe → metaData.n32fContextId → context → openJwe → block schema
//              → verifyModifications → reconstruct → HttpMessage
import type {
  DataToIntegrityProtectBlock,
  HttpMethod,
  MetaData,
  N32fReformattedReqMsg,
  ProtectionPolicy,
} from "../model/n32.ts";
import { validateBody, validateReceivedBlock } from "../openapi/validate.ts";
import type { N32fContext, N32fMessageKind } from "./context.ts";
import type { N32fContextStore } from "./context-store.ts";
import { AsciiText } from "../ascii-text.ts";
import { asBuffer } from "../bytes.ts";
import { FRAME_AAD, FRAME_CIPHERTEXT, FRAME_CLOSE, FRAME_IV, FRAME_OPEN, FRAME_TAG } from "./frame.ts";
import { N32fError } from "./errors.ts";
import { openJwe, parseCipherBlock, parseJwe, protectJwe, type ParsedJwe, type ProtectedJwe } from "./jwe.ts";
import type { HttpMessage } from "./message.ts";
import { verifyModifications } from "./modifications.ts";
import { buildEffectivePolicy, modificationRules, type EffectivePolicy } from "./policy.ts";
import { authorizedIpxIdOf, receivedIds, receivedMessageId } from "./metadata.ts";
import { reconstruct } from "./reconstruct.ts";
import { riKeysOf, type RiTrust } from "./ri-keys.ts";
import { reformatReferenceText, reformatText } from "./text/reformat-text.ts";
import { type AadRead, aadBlock, loadOpenWasm, readAadWasm, rebuildWasm } from "./wasm/open-wasm.ts";
import { loadPayloadWasm, reformatWasm } from "./wasm/reformat-wasm.ts";

const EMPTY = new Uint8Array(0);
const UTF8 = new TextDecoder();
const EMPTY_POLICY: ProtectionPolicy = { apiIeMappingList: [] };

export interface PrinsEngineOptions {
  /** The shipped default NF API data-type placement mapping (config/api-ie-mapping.json). */
  defaults: ProtectionPolicy;
  /** The RI trust store (certificates in IpxProviderSecInfo must chain to it, P10). */
  riTrust: RiTrust;
  /** Validate every body we build against the 3GPP schema before it leaves (tests; costs a few µs). */
  validateOutgoing?: boolean;
  /**
   * How the JWE aad and plaintext are written (issue 11 §4), byte-identical whichever: "wasm" (default) writes a JSON
   * body's payload entries in WebAssembly from the body's octets (src/n32f/wasm/), the reference the messages it
   * declines; "reference" = reformat() and JSON.stringify; "text" copies JSON body members as JavaScript strings
   * (src/n32f/text/; slower than the reference, kept as the property tests' second implementation).
   * docs/PERFORMANCE.md "A format engine in WebAssembly".
   */
  reformatEngine?: "wasm" | "text" | "reference";
  /**
   * How a received aad becomes the NF message, identical whichever: "wasm" (default) by the WebAssembly module where
   * it vouches for the aad (src/n32f/wasm/open-wasm.ts), the reference for the rest; "reference" = JSON.parse of the
   * aad, reconstruct() and JSON.stringify.
   */
  openEngine?: "wasm" | "reference";
  now?: () => number;
}

/** The request a response answers: finds the mapping for the response, and its messageId is repeated (P3). */
export interface RequestRef {
  method: HttpMethod;
  path: string;
  messageId: string;
  callbackType?: string;
}

export interface OpenedRequest {
  ctx: N32fContext;
  message: HttpMessage;
  messageId: string;
  /** metaData.authorizedIpxId as received, normalised ("NULL" → null) */
  authorizedIpxId: string | null;
  /** how many RI modifications were verified and applied */
  modifications: number;
}

interface Policies {
  encryption: EffectivePolicy;
  /** Modification rules for the peer's RIs: the policy the peer sent on N32-c (else nothing is modifiable). */
  peerMods: EffectivePolicy;
  /** Modification rules for our own RIs: our local policy. */
  ownMods: EffectivePolicy;
}

/** Messages whose aad and plaintext fit are written into one reused buffer; larger ones get their own. */
const PROTECT_SCRATCH_MAX = 64 * 1024;
let scratch = Buffer.allocUnsafe(8 * 1024);
/** The reused buffer, grown to `n` octets (protect is synchronous and not re-entrant). */
function protectScratch(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.min(PROTECT_SCRATCH_MAX, Math.max(n, scratch.length * 2)));
  return scratch;
}

const ID_BYTES = Buffer.alloc(8);
/** 16 lowercase hex digits from the CSPRNG (P3); the random octets go through one reused buffer. */
export function newMessageId(): string {
  crypto.getRandomValues(ID_BYTES);
  return ID_BYTES.toString("hex");
}

export class PrinsEngine {
  readonly #opts: PrinsEngineOptions;
  readonly #policies = new WeakMap<object, Policies>();

  readonly #openWasm: boolean;

  constructor(opts: PrinsEngineOptions) {
    this.#opts = opts;
    this.#openWasm = (opts.openEngine ?? "wasm") === "wasm";
    // a module that cannot load, or that the platform runs wrongly, shows at start
    if ((opts.reformatEngine ?? "wasm") === "wasm" || this.#openWasm) loadPayloadWasm();
    if (this.#openWasm) loadOpenWasm();
  }

  /** The effective policies of a context's association, built once (P4: per-peer policies only add protection). */
  policiesOf(ctx: N32fContext): Policies {
    const a = ctx.association;
    let p = this.#policies.get(a);
    if (!p) {
      const encryption = buildEffectivePolicy({
        defaults: this.#opts.defaults,
        local: a.localPolicy,
        peer: a.peerPolicy,
      });
      p = {
        encryption,
        peerMods: buildEffectivePolicy({ defaults: a.peerPolicy ?? EMPTY_POLICY }),
        ownMods: buildEffectivePolicy({ defaults: a.localPolicy ?? EMPTY_POLICY }),
      };
      this.#policies.set(a, p);
    }
    return p;
  }

  // ---------------------------------------------------------------- sending

  /** cSEPP: protect an NF request for the peer of `ctx`. Returns the n32f-process body (JSON text). */
  protectRequest(
    ctx: N32fContext,
    msg: HttpMessage,
    messageId: string = newMessageId(),
  ): { body: string; messageId: string } {
    return { body: this.#protect(ctx, "request", msg, messageId, undefined).toString(), messageId };
  }

  /** pSEPP: protect the producer's response to `req` (the 200 body of n32f-process, N32fReformattedRspMsg). */
  protectResponse(ctx: N32fContext, msg: HttpMessage, req: RequestRef): string {
    return this.#protect(ctx, "response", msg, req.messageId, req).toString();
  }

  /** protectRequest() with the body in its pieces, as the data path sends it (never joined into one string). */
  protectRequestPieces(
    ctx: N32fContext,
    msg: HttpMessage,
    messageId: string = newMessageId(),
  ): { body: AsciiText; messageId: string } {
    return { body: this.#protect(ctx, "request", msg, messageId, undefined), messageId };
  }

  /** protectResponse() with the body in its pieces, as the data path sends it. */
  protectResponsePieces(ctx: N32fContext, msg: HttpMessage, req: RequestRef): AsciiText {
    return this.#protect(ctx, "response", msg, req.messageId, req);
  }

  #protect(
    ctx: N32fContext,
    kind: N32fMessageKind,
    msg: HttpMessage,
    messageId: string,
    req: RequestRef | undefined,
  ): AsciiText {
    if (ctx.state !== "active")
      throw new N32fError("CONTEXT_NOT_FOUND", "N32-f context not active", { n32fContextId: ctx.localContextId });
    const metaData: MetaData = {
      n32fContextId: ctx.peerContextId, // P3: the receiver's own context ID
      messageId,
      authorizedIpxId: ctx.association.authorizedIpxId ?? "NULL",
    };
    const engine = this.#opts.reformatEngine ?? "wasm";
    const opts = {
      metaData,
      policy: this.policiesOf(ctx).encryption,
      request: req ? { method: req.method, path: req.path, callbackType: req.callbackType } : undefined,
    };
    // aad and plaintext as UTF-8 in one reused buffer (not two Buffers per message): protectJwe() encodes the aad and
    // seals the plaintext synchronously and keeps neither
    let aad: Uint8Array;
    let plaintext: Uint8Array;
    const bytes = engine === "wasm" ? reformatWasm(msg, opts) : null;
    if (bytes) {
      aad = bytes.aad;
      plaintext = bytes.plaintext.length ? bytes.plaintext : EMPTY;
    } else {
      const texts = (engine === "text" ? reformatText : reformatReferenceText)(msg, opts);
      const aadLen = Buffer.byteLength(texts.aad, "utf8");
      const need = aadLen + (texts.plaintext ? Buffer.byteLength(texts.plaintext, "utf8") : 0);
      const buf = need <= PROTECT_SCRATCH_MAX ? protectScratch(need) : Buffer.allocUnsafe(need);
      buf.write(texts.aad, 0, aadLen, "utf8");
      aad = buf.subarray(0, aadLen);
      plaintext = need > aadLen ? buf.subarray(aadLen, need) : EMPTY;
      if (need > aadLen) buf.write(texts.plaintext, aadLen, need - aadLen, "utf8");
    }
    // tests: what is sealed, as text, for the schema check below (before the plaintext is wiped)
    const sealed = this.#opts.validateOutgoing
      ? { aad: UTF8.decode(aad), plaintext: plaintext.length ? UTF8.decode(plaintext) : "" }
      : null;
    let jwe: ProtectedJwe;
    try {
      jwe = protectJwe(ctx, kind, aad, plaintext);
    } finally {
      if (plaintext.length) plaintext.fill(0); // the clear values of encrypted IEs
    }
    // = `{"reformattedData":${JSON.stringify(jwe)}}`: the members protectJwe() returns, in its order, are base64url
    // strings that need no escaping, so the text is written directly (stringify would scan the whole aad again), in
    // pieces that are all ASCII (frame.ts reads this frame back without JSON.parse)
    const body = new AsciiText([
      FRAME_OPEN,
      jwe.protected,
      FRAME_AAD,
      jwe.aad,
      FRAME_IV,
      jwe.iv,
      FRAME_CIPHERTEXT,
      jwe.ciphertext,
      FRAME_TAG,
      jwe.tag,
      FRAME_CLOSE,
    ]);
    if (sealed) {
      const block = JSON.parse(sealed.aad);
      const dataToEncrypt: unknown[] = sealed.plaintext ? JSON.parse(sealed.plaintext).dataToEncrypt : [];
      const bad =
        // P10: HttpPayload.value may be any JSON value (the one exception to the unmodified schema)
        validateReceivedBlock("DataToIntegrityProtectBlock", block) ??
        (dataToEncrypt.length ? validateBody("DataToIntegrityProtectAndCipherBlock", { dataToEncrypt }) : null) ??
        validateBody(
          kind === "request" ? "N32fReformattedReqMsg" : "N32fReformattedRspMsg",
          JSON.parse(body.toString()),
        );
      if (bad)
        throw new Error(
          `bug: outgoing N32-f ${kind} does not validate: ${bad.map((b) => `${b.param} ${b.reason}`).join("; ")}`,
        );
    }
    return body;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * pSEPP: verify an n32f-process request body (already JSON-parsed, size-bounded) and rebuild the NF request.
   * Context lookup by metaData.n32fContextId (our own ID), then P2/P1 checks, RI modifications (P5), reconstruction.
   */
  openRequest(body: unknown, contexts: N32fContextStore): OpenedRequest {
    const { parsed, block, modificationsBlock, tagB64, fast } = this.#parseOuter(body, "N32fReformattedReqMsg");
    const ctxId = block.metaData!.n32fContextId;
    const ctx = contexts.get(ctxId);
    const messageId = block.metaData!.messageId;
    if (!ctx) throw new N32fError("CONTEXT_NOT_FOUND", "unknown n32fContextId", { n32fContextId: ctxId, messageId });
    const { message, authorizedIpxId, modifications } = this.#open(
      ctx,
      "request",
      parsed,
      tagB64,
      block,
      modificationsBlock,
      undefined,
      fast,
    );
    return { ctx, message, messageId, authorizedIpxId, modifications };
  }

  /** cSEPP: verify the N32fReformattedRspMsg answering our request `req` on `ctx` and rebuild the NF response. */
  openResponse(ctx: N32fContext, body: unknown, req: RequestRef): HttpMessage {
    const { parsed, block, modificationsBlock, tagB64, fast } = this.#parseOuter(body, "N32fReformattedRspMsg");
    const md = block.metaData!;
    if (md.n32fContextId.toLowerCase() !== ctx.localContextId.toLowerCase())
      throw new N32fError("CONTEXT_NOT_FOUND", "response for another N32-f context", {
        n32fContextId: md.n32fContextId,
        messageId: md.messageId,
      });
    const { message } = this.#open(ctx, "response", parsed, tagB64, block, modificationsBlock, req, fast);
    answersRequest(md.messageId, req, ctx);
    return message;
  }

  #parseOuter(
    body: unknown,
    schema: "N32fReformattedReqMsg" | "N32fReformattedRspMsg",
  ): {
    parsed: ParsedJwe;
    tagB64: string;
    block: DataToIntegrityProtectBlock;
    modificationsBlock: unknown[] | undefined;
    fast: AadRead | null;
  } {
    const outer = validateBody(schema, body);
    if (outer) {
      throw new N32fError(
        "MESSAGE_RECONSTRUCTION_FAILED",
        `${schema} invalid at ${outer[0]!.param}: ${outer[0]!.reason}`,
        {
          failureReason: "INVALID_JSON_POINTER",
          attribute: outer[0]!.param,
          suggestedStatusCode: 400,
        },
      );
    }
    const msg = body as N32fReformattedReqMsg;
    const parsed = parseJwe(msg.reformattedData);
    let block: DataToIntegrityProtectBlock;
    // the module reads the aad where it vouches for it (the head is then all that is parsed here); not with RI
    // modifications, which patch the whole block (P5)
    const fast = this.#openWasm && msg.modificationsBlock === undefined ? readAadWasm(parsed.aad) : null;
    try {
      block = fast ? fast.head : JSON.parse(asBuffer(parsed.aad).toString("utf8")); // at once: a reused buffer
    } catch {
      throw new N32fError("MESSAGE_RECONSTRUCTION_FAILED", "aad is not JSON", {
        failureReason: "INVALID_JSON_POINTER",
        attribute: "/aad",
      });
    }
    // Only the context ID is read before the AEAD verifies, and only after its pattern is checked.
    if (!receivedIds(block)) {
      throw new N32fError("MESSAGE_RECONSTRUCTION_FAILED", "metaData missing or invalid", {
        failureReason: "INVALID_JSON_POINTER",
        attribute: "/metaData",
        messageId: receivedMessageId(block),
      });
    }
    return { parsed, tagB64: msg.reformattedData.tag ?? "", block, modificationsBlock: msg.modificationsBlock, fast };
  }

  #open(
    ctx: N32fContext,
    kind: N32fMessageKind,
    parsed: ParsedJwe,
    tagB64: string,
    block: DataToIntegrityProtectBlock,
    modificationsBlock: unknown[] | undefined,
    req: RequestRef | undefined,
    fast: AadRead | null,
  ): { message: HttpMessage; authorizedIpxId: string | null; modifications: number } {
    const messageId = block.metaData!.messageId;
    try {
      if (ctx.state !== "active") throw new N32fError("CONTEXT_NOT_FOUND", "N32-f context not active");
      const { plaintext } = openJwe(ctx, kind, parsed);
      try {
        if (fast) {
          const r = rebuildWasm(fast, plaintext, kind);
          if (r) return { ...r, modifications: 0 };
          // declined after the AEAD: the reference steps on the whole aad and the same plaintext
          return this.#finish(ctx, kind, plaintext, tagB64, aadBlock(fast), modificationsBlock, req);
        }
        return this.#finish(ctx, kind, plaintext, tagB64, block, modificationsBlock, req);
      } finally {
        plaintext.fill(0);
      }
    } catch (e) {
      if (e instanceof N32fError) {
        e.messageId ??= messageId;
        e.n32fContextId ??= ctx.localContextId;
      }
      throw e;
    }
  }

  /** The steps after the AEAD (TS 33.501 13.2.4.7): plaintext, block schema (P10), RI modifications (P5), reconstruction. */
  #finish(
    ctx: N32fContext,
    kind: N32fMessageKind,
    plaintext: Uint8Array,
    tagB64: string,
    block: DataToIntegrityProtectBlock,
    modificationsBlock: unknown[] | undefined,
    req: RequestRef | undefined,
  ): { message: HttpMessage; authorizedIpxId: string | null; modifications: number } {
    const dataToEncrypt = parseCipherBlock(plaintext);
    const invalid = validateReceivedBlock("DataToIntegrityProtectBlock", block);
    if (invalid)
      throw new N32fError(
        "MESSAGE_RECONSTRUCTION_FAILED",
        `aad invalid at ${invalid[0]!.param}: ${invalid[0]!.reason}`,
        {
          failureReason: "INVALID_JSON_POINTER",
          attribute: invalid[0]!.param,
        },
      );
    const raw = block.metaData!.authorizedIpxId as unknown;
    const authorizedIpxId = authorizedIpxIdOf(block);
    let patched = block;
    const mods = modificationsBlock?.length ?? 0;
    if (mods > 0) {
      const pol = this.policiesOf(ctx);
      // The rules of the API the message belongs to: its own request line, or that of the request it answers.
      const rl = block.requestLine ?? req;
      patched = verifyModifications({
        block,
        jweTag: tagB64,
        modificationsBlock,
        riKeys: riKeysOf(ctx.association, this.#opts.riTrust),
        policyRules: (side) =>
          rl
            ? modificationRules(
                side === "peer" ? pol.peerMods : pol.ownMods,
                kind,
                rl.method,
                rl.path,
                req?.callbackType,
              )
            : [],
        authorizedIpxId: raw as string | null,
        kind,
        now: (this.#opts.now ?? Date.now)(),
      });
    }
    const message = reconstruct(patched, dataToEncrypt, { expect: kind });
    return { message, authorizedIpxId, modifications: mods };
  }
}

/** Only after verification: a response repeats the messageId of the request it answers (P3). */
function answersRequest(messageId: string, req: RequestRef, ctx: N32fContext): void {
  if (messageId !== req.messageId)
    throw new N32fError("MESSAGE_RECONSTRUCTION_FAILED", "response messageId differs from the request's", {
      failureReason: "INVALID_HTTP_HEADER",
      attribute: "/metaData/messageId",
      messageId: req.messageId,
      n32fContextId: ctx.localContextId,
    });
}
