// hw/pkcs11/ffi.ts — the raw Cryptoki ABI through bun:ffi: dlopen a module, C_GetFunctionList, one callable per
// CK_FUNCTION_LIST entry, and the C struct layouts (CK_ATTRIBUTE, CK_MECHANISM, CK_TOKEN_INFO, ...).
//
// Why bun:ffi and not the pkcs11js addon: bun:ffi works unchanged inside `bun build --compile` binaries for x64
// and arm64, with nothing extracted to $TMPDIR at run time and nothing to cross-build (docs/SECURITY.md,
// "PKCS#11 binding"). Every call is synchronous, which the N32-f AEAD hot path wants.
//
// ABI: Linux LP64 (x86_64, aarch64), little-endian. CK_ULONG and pointers are 8 octets; structs use the
// platform's natural alignment (PKCS#11 packs structs only on Windows). Other ABIs are refused at load time.
import { CFunction, dlopen, FFIType, ptr, read, type Pointer } from "bun:ffi";
import { ckrName, CKR } from "./constants.ts";

export const ULONG = 8;

/** A PKCS#11 call failed. `rv` is the CK_RV, `code` its name (CKR_…); never carries PINs or key material. */
export class Pkcs11Error extends Error {
  override name = "Pkcs11Error";
  readonly code: string;
  constructor(
    readonly fn: string,
    readonly rv: number,
    detail?: string,
  ) {
    super(`${fn} failed: ${ckrName(rv)}${detail ? ` (${detail})` : ""}`);
    this.code = ckrName(rv);
  }
}

/** The CK_FUNCTION_LIST entries in table order (PKCS#11 v2.40 pkcs11f.h); v3.0 lists start the same way. */
const FUNCTION_ORDER = [
  "C_Initialize",
  "C_Finalize",
  "C_GetInfo",
  "C_GetFunctionList",
  "C_GetSlotList",
  "C_GetSlotInfo",
  "C_GetTokenInfo",
  "C_GetMechanismList",
  "C_GetMechanismInfo",
  "C_InitToken",
  "C_InitPIN",
  "C_SetPIN",
  "C_OpenSession",
  "C_CloseSession",
  "C_CloseAllSessions",
  "C_GetSessionInfo",
  "C_GetOperationState",
  "C_SetOperationState",
  "C_Login",
  "C_Logout",
  "C_CreateObject",
  "C_CopyObject",
  "C_DestroyObject",
  "C_GetObjectSize",
  "C_GetAttributeValue",
  "C_SetAttributeValue",
  "C_FindObjectsInit",
  "C_FindObjects",
  "C_FindObjectsFinal",
  "C_EncryptInit",
  "C_Encrypt",
  "C_EncryptUpdate",
  "C_EncryptFinal",
  "C_DecryptInit",
  "C_Decrypt",
  "C_DecryptUpdate",
  "C_DecryptFinal",
  "C_DigestInit",
  "C_Digest",
  "C_DigestUpdate",
  "C_DigestKey",
  "C_DigestFinal",
  "C_SignInit",
  "C_Sign",
  "C_SignUpdate",
  "C_SignFinal",
  "C_SignRecoverInit",
  "C_SignRecover",
  "C_VerifyInit",
  "C_Verify",
  "C_VerifyUpdate",
  "C_VerifyFinal",
  "C_VerifyRecoverInit",
  "C_VerifyRecover",
  "C_DigestEncryptUpdate",
  "C_DecryptDigestUpdate",
  "C_SignEncryptUpdate",
  "C_DecryptVerifyUpdate",
  "C_GenerateKey",
  "C_GenerateKeyPair",
  "C_WrapKey",
  "C_UnwrapKey",
  "C_DeriveKey",
  "C_SeedRandom",
  "C_GenerateRandom",
  "C_GetFunctionStatus",
  "C_CancelFunction",
  "C_WaitForSlotEvent",
] as const;

type P = "ptr";
type U = "u64";
type U8 = "u8";
/** The signatures of the functions the binding uses (CK_ULONG handles as u64, everything else pointers). */
const SIGNATURES = {
  C_Initialize: ["ptr"],
  C_Finalize: ["ptr"],
  C_GetInfo: ["ptr"],
  C_GetSlotList: ["u8", "ptr", "ptr"],
  C_GetSlotInfo: ["u64", "ptr"],
  C_GetTokenInfo: ["u64", "ptr"],
  C_GetMechanismList: ["u64", "ptr", "ptr"],
  C_OpenSession: ["u64", "u64", "ptr", "ptr", "ptr"],
  C_CloseSession: ["u64"],
  C_CloseAllSessions: ["u64"],
  C_GetSessionInfo: ["u64", "ptr"],
  C_Login: ["u64", "u64", "ptr", "u64"],
  C_Logout: ["u64"],
  C_CreateObject: ["u64", "ptr", "u64", "ptr"],
  C_DestroyObject: ["u64", "u64"],
  C_GetAttributeValue: ["u64", "u64", "ptr", "u64"],
  C_FindObjectsInit: ["u64", "ptr", "u64"],
  C_FindObjects: ["u64", "ptr", "u64", "ptr"],
  C_FindObjectsFinal: ["u64"],
  C_EncryptInit: ["u64", "ptr", "u64"],
  C_Encrypt: ["u64", "ptr", "u64", "ptr", "ptr"],
  C_DecryptInit: ["u64", "ptr", "u64"],
  C_Decrypt: ["u64", "ptr", "u64", "ptr", "ptr"],
  C_SignInit: ["u64", "ptr", "u64"],
  C_Sign: ["u64", "ptr", "u64", "ptr", "ptr"],
  C_VerifyInit: ["u64", "ptr", "u64"],
  C_Verify: ["u64", "ptr", "u64", "ptr", "u64"],
  C_GenerateKey: ["u64", "ptr", "ptr", "u64", "ptr"],
  C_GenerateKeyPair: ["u64", "ptr", "ptr", "u64", "ptr", "u64", "ptr", "ptr"],
  C_WrapKey: ["u64", "ptr", "u64", "u64", "ptr", "ptr"],
  C_UnwrapKey: ["u64", "ptr", "u64", "ptr", "u64", "ptr", "u64", "ptr"],
  C_GenerateRandom: ["u64", "ptr", "u64"],
} as const satisfies Record<string, readonly (P | U | U8)[]>;

export type FnName = keyof typeof SIGNATURES;
type Arg = number | bigint | NodeJS.TypedArray | Pointer | null;
/** Each function returns its CK_RV as a number. */
export type FunctionTable = { readonly [K in FnName]: (...args: Arg[]) => number };

export interface LoadedModule {
  readonly path: string;
  readonly fns: FunctionTable;
  /** Cryptoki version the module's function list announces (e.g. "2.40"). */
  readonly version: string;
  close(): void;
}

/** dlopen the module with its one exported entry point, C_GetFunctionList; a clear error when that fails. */
function openLibrary(path: string) {
  try {
    return dlopen(path, { C_GetFunctionList: { args: [FFIType.ptr], returns: FFIType.u64_fast } });
  } catch (e) {
    throw new Error(`cannot load PKCS#11 module ${path}: ${(e as Error).message}`);
  }
}

/** dlopen a PKCS#11 module and bind the functions of its CK_FUNCTION_LIST. Throws on a wrong ABI or a bad module. */
export function loadModule(path: string): LoadedModule {
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64"))
    throw new Error(`PKCS#11 binding supports linux x64/arm64 only, not ${process.platform} ${process.arch}`);
  const lib = openLibrary(path);
  const out = new BigUint64Array(1);
  const rv = Number(lib.symbols.C_GetFunctionList(out));
  if (rv !== CKR.OK || out[0] === 0n) {
    lib.close();
    throw new Pkcs11Error("C_GetFunctionList", rv, path);
  }
  const list = Number(out[0]) as Pointer;
  const major = read.u8(list, 0);
  const minor = read.u8(list, 1);
  if (major !== 2 && major !== 3)
    throw new Error(`PKCS#11 module ${path} announces Cryptoki ${major}.${minor}; 2.x or 3.x needed`);
  const fns: Record<string, (...a: Arg[]) => number> = {};
  for (const [name, args] of Object.entries(SIGNATURES)) {
    const index = FUNCTION_ORDER.indexOf(name as (typeof FUNCTION_ORDER)[number]);
    const fp = read.ptr(list, ULONG + index * ULONG);
    if (!fp) {
      fns[name] = () => CKR.FUNCTION_NOT_SUPPORTED;
      continue;
    }
    const f = CFunction({
      ptr: fp as Pointer,
      args: args as unknown as ("ptr" | "u64" | "u8")[],
      returns: FFIType.u64_fast,
    });
    fns[name] = (...a: Arg[]) => Number(f(...(a as never[])));
  }
  return {
    path,
    fns: fns as unknown as FunctionTable,
    version: `${major}.${minor}`,
    close: () => lib.close(),
  };
}

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
