// src/datapath/ri-announce-block.ts — what both sides of the P6 announcement over N32-f share (TS 33.501 13.2.2.2,
// last paragraph; N32-PROFILE P6, P10): the verified message turned back into its block, protection with an empty
// plaintext, metaData, the counters, and giving up a context on onPolicyMismatch: reject.
import type { Registry } from "../metrics.ts";
import type { DataToIntegrityProtectBlock, HttpPayload, MetaData } from "../model/n32.ts";
import type { N32fContext } from "../n32f/context.ts";
import { protectJwe } from "../n32f/jwe.ts";
import type { HttpMessage } from "../n32f/message.ts";
import { appendToken } from "../n32f/pointer.ts";
import type { DataPathDeps, N32cView } from "./deps.ts";

const EMPTY = new Uint8Array(0);

/**
 * The announcement block as verified: the reconstructed message (RI modifications applied) turned back into
 * the DataToIntegrityProtectBlock shape that src/n32f/announce.ts checks. The announcement is all clear BODY
 * members (P6), so one payload entry per top-level member is exact; a body that is not a JSON object yields
 * no payload (and the check then reports every member missing).
 */
export function announcementBlockOf(m: HttpMessage, metaData: MetaData): DataToIntegrityProtectBlock {
  const block: DataToIntegrityProtectBlock = {
    metaData,
    headers: m.headers.map(([header, value]) => ({ header, value })),
  };
  if (m.kind === "request") {
    block.requestLine = {
      method: m.method!,
      scheme: m.scheme ?? "https",
      authority: m.authority ?? "",
      path: m.path ?? "",
      protocolVersion: "HTTP/2",
    };
    if (m.query !== undefined) block.requestLine.queryFragment = m.query;
  } else block.statusLine = String(m.status ?? 0);
  let body: unknown;
  try {
    body = m.body?.length ? JSON.parse(Buffer.from(m.body).toString("utf8")) : undefined;
  } catch {
    body = undefined;
  }
  if (body && typeof body === "object" && !Array.isArray(body)) {
    block.payload = Object.entries(body as Record<string, unknown>).map(
      ([k, value]): HttpPayload => ({
        iePath: appendToken("", k),
        ieValueLocation: "BODY",
        value: value as HttpPayload["value"],
      }),
    );
  }
  return block;
}

/** The verified JWE carried nothing encrypted (P6: empty plaintext). Read after the AEAD verified it. */
export function ciphertextEmpty(body: unknown): boolean {
  const c = (body as { reformattedData?: { ciphertext?: unknown } } | null)?.reformattedData?.ciphertext;
  return c === undefined || c === "";
}

/** Protect an announcement block with an empty plaintext: the n32f-process body (N32fReformatted*Msg). */
export function protectBlock(
  ctx: N32fContext,
  kind: "request" | "response",
  block: DataToIntegrityProtectBlock,
): string {
  const jwe = protectJwe(ctx, kind, Buffer.from(JSON.stringify(block), "utf8"), EMPTY);
  return `{"reformattedData":${JSON.stringify(jwe)}}`;
}

/** onPolicyMismatch: reject — the context carries no more traffic: dropped through N32-c when it can, else deactivated. */
export function giveUp(n32c: N32cView, ctx: N32fContext): void {
  ctx.deactivate();
  n32c.dropContext?.(ctx.peerId, ctx.localContextId);
}

export function metaDataOf(ctx: N32fContext, messageId: string): MetaData {
  return { n32fContextId: ctx.peerContextId, messageId, authorizedIpxId: ctx.association.authorizedIpxId ?? "NULL" };
}

export type RiAnnounceDeps = Pick<
  DataPathDeps,
  "config" | "log" | "metrics" | "contexts" | "n32c" | "prins" | "peerClients"
>;

export function counters(r: Registry) {
  return {
    sent: r.counter(
      "sepp_ri_announcements_total",
      "P6 RI-relevant parameter announcements by peer, role (sent: as initiator; received: as responder) and result",
    ),
    mismatches: r.counter(
      "sepp_n32f_errors_total",
      "N32-f errors by N32fErrorType and side (detected: by us; reported: by the peer)",
    ),
  };
}
