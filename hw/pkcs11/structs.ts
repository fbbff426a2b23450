// hw/pkcs11/structs.ts — the C side of the Cryptoki ABI (Linux LP64, little-endian; see ffi.ts): CK_ULONG and
// pointer access, CK_ATTRIBUTE templates, CK_MECHANISM, and the fixed-size structs read back from the module
// (CK_TOKEN_INFO, CK_SLOT_INFO, CK_INFO, CK_C_INITIALIZE_ARGS).
import { ptr } from "bun:ffi";

export const ULONG = 8;

// ---- little-endian CK_ULONG / pointer access -------------------------------------------------------------

export function putUlong(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, n >>> 0, true);
  dv.setUint32(off + 4, Math.floor(n / 0x1_0000_0000) >>> 0, true);
}

export function getUlong(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x1_0000_0000;
}

/** Address of a non-empty typed array (0 for null / empty: the caller passes a NULL pointer then). */
export function addr(a: Uint8Array | null | undefined): number {
  return a && a.length > 0 ? (ptr(a) as number) : 0;
}

/** A CK_ULONG out-parameter. */
export class UlongOut {
  readonly buf = new Uint8Array(ULONG);
  readonly #dv = new DataView(this.buf.buffer);
  set(n: number): this {
    putUlong(this.#dv, 0, n);
    return this;
  }
  get value(): number {
    return getUlong(this.#dv, 0);
  }
}

// ---- CK_ATTRIBUTE templates -----------------------------------------------------------------------------

/** An attribute value: boolean → CK_BBOOL, number → CK_ULONG, string → UTF-8 bytes, bytes as given. */
export type AttrValue = boolean | number | string | Uint8Array;
export type Template = ReadonlyArray<readonly [type: number, value: AttrValue]>;

const ATTR_SIZE = 3 * ULONG;
const enc = new TextEncoder();

function encodeValue(v: AttrValue): Uint8Array {
  if (typeof v === "boolean") return Uint8Array.of(v ? 1 : 0);
  if (typeof v === "number") {
    const b = new Uint8Array(ULONG);
    putUlong(new DataView(b.buffer), 0, v);
    return b;
  }
  if (typeof v === "string") return enc.encode(v);
  return v;
}

/**
 * A packed CK_ATTRIBUTE array. `keep` holds the value buffers the array points into, so they stay alive while
 * the template is in use. Call wipe() after use when a value was secret (CKA_VALUE of a session key).
 */
export class PackedTemplate {
  readonly buf: Uint8Array;
  readonly count: number;
  readonly #keep: Uint8Array[] = [];
  constructor(t: Template) {
    this.count = t.length;
    this.buf = new Uint8Array(Math.max(1, t.length) * ATTR_SIZE);
    const dv = new DataView(this.buf.buffer);
    t.forEach(([type, value], i) => {
      const v = encodeValue(value);
      this.#keep.push(v);
      putUlong(dv, i * ATTR_SIZE, type);
      putUlong(dv, i * ATTR_SIZE + ULONG, addr(v));
      putUlong(dv, i * ATTR_SIZE + 2 * ULONG, v.length);
    });
  }
  /** Zero the value buffers this template created (never the caller's own Uint8Array values). */
  wipe(t: Template): void {
    this.#keep.forEach((b, i) => {
      if (b !== t[i]?.[1]) b.fill(0);
    });
  }
}

/** A CK_ATTRIBUTE array for C_GetAttributeValue: first call with null pointers learns the lengths. */
export class QueryTemplate {
  readonly buf: Uint8Array;
  readonly #dv: DataView;
  readonly values: (Uint8Array | null)[];
  constructor(readonly types: readonly number[]) {
    this.buf = new Uint8Array(Math.max(1, types.length) * ATTR_SIZE);
    this.#dv = new DataView(this.buf.buffer);
    this.values = types.map(() => null);
    types.forEach((type, i) => {
      putUlong(this.#dv, i * ATTR_SIZE, type);
      putUlong(this.#dv, i * ATTR_SIZE + ULONG, 0);
      putUlong(this.#dv, i * ATTR_SIZE + 2 * ULONG, 0);
    });
  }
  length(i: number): number {
    return getUlong(this.#dv, i * ATTR_SIZE + 2 * ULONG);
  }
  /** Allocate value buffers for the lengths the module reported (bounded); unavailable ones stay null. */
  allocate(maxLen: number): void {
    this.types.forEach((_, i) => {
      const len = this.length(i);
      // CK_UNAVAILABLE_INFORMATION reads back as 2^64-1 (not representable exactly; anything above maxLen)
      const b = len > 0 && len <= maxLen ? new Uint8Array(len) : null;
      this.values[i] = b;
      putUlong(this.#dv, i * ATTR_SIZE + ULONG, addr(b));
      if (!b) putUlong(this.#dv, i * ATTR_SIZE + 2 * ULONG, 0);
    });
  }
}

// ---- CK_MECHANISM ---------------------------------------------------------------------------------------

/** A CK_MECHANISM with an optional parameter block; reusable (set() rewrites it in place). */
export class Mechanism {
  readonly buf = new Uint8Array(3 * ULONG);
  readonly #dv = new DataView(this.buf.buffer);
  #param: Uint8Array | null = null;
  constructor(type: number, param?: Uint8Array | null) {
    this.set(type, param ?? null);
  }
  set(type: number, param: Uint8Array | null): this {
    this.#param = param;
    putUlong(this.#dv, 0, type);
    putUlong(this.#dv, ULONG, addr(param));
    putUlong(this.#dv, 2 * ULONG, param ? param.length : 0);
    return this;
  }
  get param(): Uint8Array | null {
    return this.#param;
  }
}

// ---- fixed-size structs read back from the module -------------------------------------------------------

const dec = new TextDecoder();
/** Space-padded UTF-8 field of a CK_*_INFO struct. */
export function paddedString(b: Uint8Array, off: number, len: number): string {
  return dec.decode(b.subarray(off, off + len)).replace(/[\s\0]+$/, "");
}

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: number;
  maxSessionCount: number;
  sessionCount: number;
  maxRwSessionCount: number;
  rwSessionCount: number;
  maxPinLen: number;
  minPinLen: number;
}

/** sizeof(CK_TOKEN_INFO) on LP64: 96 octets of strings, 11 CK_ULONGs, 2 CK_VERSIONs, utcTime[16], padding. */
export const TOKEN_INFO_SIZE = 208;

export function parseTokenInfo(b: Uint8Array): TokenInfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    label: paddedString(b, 0, 32),
    manufacturer: paddedString(b, 32, 32),
    model: paddedString(b, 64, 16),
    serial: paddedString(b, 80, 16),
    flags: getUlong(dv, 96),
    maxSessionCount: getUlong(dv, 104),
    sessionCount: getUlong(dv, 112),
    maxRwSessionCount: getUlong(dv, 120),
    rwSessionCount: getUlong(dv, 128),
    maxPinLen: getUlong(dv, 136),
    minPinLen: getUlong(dv, 144),
  };
}

export interface SlotInfo {
  description: string;
  manufacturer: string;
  flags: number;
}
/** sizeof(CK_SLOT_INFO) on LP64. */
export const SLOT_INFO_SIZE = 112;
export function parseSlotInfo(b: Uint8Array): SlotInfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { description: paddedString(b, 0, 64), manufacturer: paddedString(b, 64, 32), flags: getUlong(dv, 96) };
}

export interface ModuleInfo {
  cryptokiVersion: string;
  manufacturer: string;
  description: string;
  libraryVersion: string;
}
/** sizeof(CK_INFO) on LP64. */
export const INFO_SIZE = 88;
export function parseInfo(b: Uint8Array): ModuleInfo {
  return {
    cryptokiVersion: `${b[0]}.${b[1]}`,
    manufacturer: paddedString(b, 2, 32),
    description: paddedString(b, 48, 32),
    libraryVersion: `${b[80]}.${b[81]}`,
  };
}

/** CK_C_INITIALIZE_ARGS with CKF_OS_LOCKING_OK: the module may be called from several threads (Workers). */
export function initializeArgs(flags: number): Uint8Array {
  const b = new Uint8Array(6 * ULONG);
  putUlong(new DataView(b.buffer), 4 * ULONG, flags);
  return b;
}
