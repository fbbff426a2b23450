// hw/pkcs11/ffi.ts — the raw Cryptoki ABI through bun:ffi: dlopen a module, C_GetFunctionList, one callable per
// CK_FUNCTION_LIST entry. The C struct layouts (CK_ATTRIBUTE, CK_MECHANISM, CK_TOKEN_INFO, ...) are in structs.ts.
//
// Why bun:ffi and not the pkcs11js addon: bun:ffi works unchanged inside `bun build --compile` binaries for x64
// and arm64, with nothing extracted to $TMPDIR at run time and nothing to cross-build (docs/SECURITY.md,
// "PKCS#11 binding"). Every call is synchronous, which the N32-f AEAD hot path wants.
//
// ABI: Linux LP64 (x86_64, aarch64), little-endian. CK_ULONG and pointers are 8 octets; structs use the
// platform's natural alignment (PKCS#11 packs structs only on Windows). Other ABIs are refused at load time.
import { CFunction, dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { ckrName, CKR } from "./constants.ts";

import { ULONG } from "./structs.ts";

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
