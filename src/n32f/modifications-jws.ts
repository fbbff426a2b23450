// src/n32f/modifications-jws.ts — one entry of a modificationsBlock verified (TS 33.501 13.2.4.5, 13.2.4.9;
// TS 29.573 FlatJwsJson, Modifications; N32-PROFILE P5; SCAS TS 33.517 4.2.2.7): a readable flattened JWS with
// `alg` exactly ES256 in the protected header (never "none", no `crit`), a payload that is a valid Modifications
// whose identity is an FQDN, and a signature that verifies with a key of that identity from THIS association's RI
// security information (ri-keys.ts). Failures are INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED naming the claimed RI.
// ES256 is verified with node:crypto `verify` (dsaEncoding "ieee-p1363", the JWS R‖S form) on KeyObjects prepared
// once per association: WebCrypto's subtle.verify is asynchronous (a Promise per JWS), which would make the whole
// receive path async; the engine is synchronous by design.
import { verify } from "node:crypto";
import type { FlatJwsJson, Modifications, PatchItem } from "../model/n32.ts";
import { validateBody } from "../openapi/validate.ts";
import { b64uDecode } from "./b64.ts";
import { icomf, RI_FQDN as FQDN } from "./errors.ts";
import { hasMember, isPlainObject } from "./pointer.ts";
import { keyUsableAt, normalizeRiId, type RiEntry, type RiKeySet } from "./ri-keys.ts";

/** Bounds (everything from the network is bounded). */
export const MAX_OPS_PER_JWS = 256;
const MAX_PROTECTED_CHARS = 1024;
const MAX_PAYLOAD_CHARS = 1 << 20;

/** A JWS that passed checks 1–4: its signer and its operations. */
export interface VerifiedModification {
  identity: string;
  entry: RiEntry;
  operations: PatchItem[];
  tag: string | undefined;
}

/**
 * Checks 1–3 of one modificationsBlock entry (readable, ES256, valid Modifications, signature with a key of
 * `identity` in `riKeys`). The tag check is the caller's. Throws N32fError INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED.
 */
export function verifyModificationJws(
  jws: unknown,
  index: number,
  riKeys: RiKeySet,
  now: number,
): VerifiedModification {
  if (!isPlainObject(jws)) throw icomf(`modificationsBlock/${index}: not a flattened JWS object`);
  const { protected: protB64, payload, signature, header } = jws as Partial<FlatJwsJson> & Record<string, unknown>;
  // for the report only (failedModificationList.ipxId): the identity the payload claims, before anything is verified
  let claimedId: string | undefined | null = null;
  const claimedIdentity = (): string | undefined => {
    if (claimedId === null) {
      const m = typeof payload === "string" && payload.length <= MAX_PAYLOAD_CHARS ? parseJsonB64(payload) : undefined;
      claimedId = isPlainObject(m) && typeof m.identity === "string" && FQDN.test(m.identity) ? m.identity : undefined;
    }
    return claimedId;
  };
  const fail = (detail: string, ipxId?: string) =>
    icomf(`modificationsBlock/${index}: ${detail}`, ipxId ?? claimedIdentity());
  if (typeof payload !== "string" || typeof signature !== "string") throw fail("payload or signature missing");
  if (typeof protB64 !== "string" || protB64.length > MAX_PROTECTED_CHARS) throw fail("no protected header");
  if (header !== undefined && !isPlainObject(header)) throw fail("unprotected header is not an object");
  const hdr = parseJsonB64(protB64);
  if (!isPlainObject(hdr)) throw fail("protected header unreadable");
  // TS 33.501 13.2.4.9 / TS 33.210 JWS profile: ES256 only, never "none" (SCAS 4.2.2.7)
  if (hdr.alg !== "ES256")
    throw fail(`alg ${typeof hdr.alg === "string" ? JSON.stringify(hdr.alg.slice(0, 16)) : "missing"} is not ES256`);
  if (hasMember(hdr, "crit")) throw fail("crit is not supported"); // RFC 7515 4.1.11: no extension is understood
  if (header && (hasMember(header, "alg") || hasMember(header, "crit")))
    throw fail("alg/crit in the unprotected header");
  if (payload.length > MAX_PAYLOAD_CHARS) throw fail("payload too large");
  const mods = parseJsonB64(payload);
  if (mods === undefined) throw fail("payload unreadable");
  const invalid = validateBody("Modifications", mods);
  const claimed =
    isPlainObject(mods) && typeof mods.identity === "string" && FQDN.test(mods.identity) ? mods.identity : undefined;
  if (invalid)
    throw fail(
      `payload is not a valid Modifications (${invalid[0]?.param ?? ""} ${invalid[0]?.reason ?? ""})`,
      claimed,
    );
  const m = mods as Modifications;
  if (!claimed) throw fail("identity is not an FQDN");
  const sig = b64uDecode(signature);
  if (sig?.length !== 64) throw fail("ES256 signature is not 64 octets of base64url", claimed);
  const entry = riKeys.lookup(m.identity);
  if (!entry) throw fail("identity is not an RI of this N32 association", claimed);
  const input = Buffer.from(`${protB64}.${payload}`, "ascii");
  let ok = false;
  for (const k of entry.keys) {
    if (!keyUsableAt(k, now)) continue;
    if (verify("sha256", input, { key: k.key, dsaEncoding: "ieee-p1363" }, sig)) {
      ok = true;
      break;
    }
  }
  if (!ok) throw fail("signature does not verify with a key of this RI on this association", claimed);
  const operations = m.operations ?? [];
  if (operations.length > MAX_OPS_PER_JWS) throw fail(`more than ${MAX_OPS_PER_JWS} operations`, claimed);
  return { identity: normalizeRiId(m.identity), entry, operations, tag: m.tag };
}

function parseJsonB64(s: string): unknown {
  const bytes = b64uDecode(s);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}
