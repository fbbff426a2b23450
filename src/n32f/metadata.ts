// src/n32f/metadata.ts — the two identifiers a receiver reads from a DataToIntegrityProtectBlock before the AEAD has
// verified it (TS 29.573 6.2.2 MetaData; N32-PROFILE P3): the context ID, only after its pattern is checked, to find
// the key; the messageId, to name the message in an error. Shared by the engine and the WebAssembly reader.

const MESSAGE_ID_RE = /^[\x20-\x7e]{1,64}$/; // P3: a receiver accepts 1..64 printable characters
const CONTEXT_ID_RE = /^[0-9A-Fa-f]{16}$/;

/** metaData.n32fContextId and messageId of a parsed block; null when either is missing or not of its pattern. */
export function receivedIds(block: unknown): { n32fContextId: string; messageId: string } | null {
  const md = (block as { metaData?: { n32fContextId?: unknown; messageId?: unknown } } | null)?.metaData;
  if (!md || typeof md.n32fContextId !== "string" || !CONTEXT_ID_RE.test(md.n32fContextId)) return null;
  if (typeof md.messageId !== "string" || !MESSAGE_ID_RE.test(md.messageId)) return null;
  return { n32fContextId: md.n32fContextId, messageId: md.messageId };
}

/** The messageId of a block when it has one of the pattern (for an error about the block). */
export function receivedMessageId(block: unknown): string | undefined {
  const id = (block as { metaData?: { messageId?: unknown } } | null)?.metaData?.messageId;
  return typeof id === "string" && MESSAGE_ID_RE.test(id) ? id : undefined;
}

/** metaData.authorizedIpxId as the data path uses it (P3): lower case; null when absent, JSON null, "" or "NULL". */
export function authorizedIpxIdOf(block: { metaData?: { authorizedIpxId?: unknown } }): string | null {
  const raw = block.metaData?.authorizedIpxId;
  return typeof raw === "string" && raw !== "" && raw.toUpperCase() !== "NULL" ? raw.toLowerCase() : null;
}
