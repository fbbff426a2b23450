// src/datapath/callback-rewrite.ts — topology hiding of a partner's request at the pSEPP (TS 33.501 13.1.1.1;
// N32-PROFILE P8): the URIs in the request body that our NFs will later call back on (notification and callback
// URIs, the V-SMF's PDU session URI of Nsmf_PDUSession create) are rewritten to telescopic FQDNs of our SEPP, so
// that the call back comes to us and goes on over N32. Only requests that a rewrite rule names are parsed at all;
// a JSON body, or the JSON root part of multipart/related (TS 29.500 6.1.2.4, e.g. with an N1 SM binary part).
// Used by both the PRINS delivery and the TLS-mode relay. Throws TelescopicError when the table refuses a mapping.
import type { PeerConfig } from "../config/schema/peers.ts";
import { bodyKind, parseContentType } from "../n32f/message.ts";
import {
  buildMultipart,
  MultipartError,
  parseMultipart,
  rootPartIndex,
  type MultipartPart,
} from "../n32f/multipart.ts";
import {
  findUriRewriteRule,
  peerUriFilter,
  rewriteRequestUris,
  rewriteVsmfPduSessionUri,
  type SbiEndpoint,
} from "../sbi/telescopic-rewrite.ts";
import type { TelescopicStore } from "../sbi/telescopic-store.ts";

const PDU_SESSIONS_RE = /\/nsmf-pdusession\/v1\/pdu-sessions$/;

const isPduSessionCreate = (method: string, path: string) => method === "POST" && PDU_SESSIONS_RE.test(path);

/** What the rewriting needs: the telescopic table and how our NFs reach our SBI listener. */
export interface CallbackRewriteDeps {
  telescopic: TelescopicStore;
  sbiEndpoint: () => SbiEndpoint;
}

/** The body with callback URIs rewritten: a JSON body, or the JSON root part of multipart/related (Nsmf_PDUSession create with N1 SM binary). */
export function rewriteCallbacks(
  d: CallbackRewriteDeps,
  method: string,
  path: string,
  contentType: string | undefined,
  peer: PeerConfig,
  body: Uint8Array | undefined,
): Uint8Array | undefined {
  if (!body || body.length === 0 || !contentType) return body;
  // only requests that a rewrite rule names carry such URIs: the others are not parsed at all
  if (!findUriRewriteRule(method, path) && !isPduSessionCreate(method, path)) return body;
  const ct = parseContentType(contentType);
  const kind = ct ? bodyKind(ct.mediaType) : null;
  if (kind === "json") return rewriteJson(d, method, path, peer, body) ?? body;
  if (kind !== "multipart" || !ct) return body;
  const boundary = ct.params.get("boundary");
  if (!boundary) return body;
  let parts: MultipartPart[];
  try {
    parts = parseMultipart(body, boundary);
  } catch (e) {
    if (e instanceof MultipartError) return body; // the producer judges its own malformed input
    throw e;
  }
  const rootIndex = rootPartIndex(parts, ct.params.get("start"));
  const root = parts[rootIndex];
  if (!root) return body;
  const out = rewriteJson(d, method, path, peer, root.data);
  if (!out) return body;
  parts[rootIndex] = { headers: root.headers.filter(([n]) => n !== "content-length"), data: out };
  return buildMultipart(boundary, parts);
}

/** A rewritten JSON document, or null when it is not JSON or nothing was rewritten. */
function rewriteJson(
  d: CallbackRewriteDeps,
  method: string,
  path: string,
  peer: PeerConfig,
  json: Uint8Array,
): Uint8Array | null {
  const filter = peerUriFilter(peer);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(json).toString("utf8"));
  } catch {
    return null;
  }
  const sbi = d.sbiEndpoint();
  const r1 = rewriteRequestUris(method, path, parsed, d.telescopic, sbi, filter);
  let out = r1.body;
  let n = r1.rewritten;
  if (isPduSessionCreate(method, path)) {
    const r2 = rewriteVsmfPduSessionUri(out, d.telescopic, sbi, filter);
    out = r2.body;
    n += r2.rewritten;
  }
  return n > 0 ? Buffer.from(JSON.stringify(out)) : null;
}
