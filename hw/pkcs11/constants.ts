// hw/pkcs11/constants.ts — PKCS#11 (Cryptoki v2.40 / v3.0, OASIS) numeric identifiers used by the binding.
// Values are those of the OASIS standard headers (pkcs11t.h); only the ones this project needs are listed.

/** Object classes (CKO_*). */
export const CKO = { DATA: 0, CERTIFICATE: 1, PUBLIC_KEY: 2, PRIVATE_KEY: 3, SECRET_KEY: 4 } as const;

/** Key types (CKK_*). */
export const CKK = { EC: 0x3, GENERIC_SECRET: 0x10, AES: 0x1f } as const;

/** Certificate types (CKC_*). */
export const CKC = { X_509: 0 } as const;

/** Attribute types (CKA_*). */
export const CKA = {
  CLASS: 0x0,
  TOKEN: 0x1,
  PRIVATE: 0x2,
  LABEL: 0x3,
  VALUE: 0x11,
  CERTIFICATE_TYPE: 0x80,
  KEY_TYPE: 0x100,
  SUBJECT: 0x101,
  ID: 0x102,
  SENSITIVE: 0x103,
  ENCRYPT: 0x104,
  DECRYPT: 0x105,
  WRAP: 0x106,
  UNWRAP: 0x107,
  SIGN: 0x108,
  VERIFY: 0x10a,
  DERIVE: 0x10c,
  VALUE_LEN: 0x161,
  EXTRACTABLE: 0x162,
  LOCAL: 0x163,
  NEVER_EXTRACTABLE: 0x164,
  ALWAYS_SENSITIVE: 0x165,
  MODIFIABLE: 0x170,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
} as const;

/** Mechanisms (CKM_*). */
export const CKM = {
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
  AES_KEY_GEN: 0x1080,
  AES_GCM: 0x1087,
  AES_KEY_WRAP: 0x2109,
  AES_KEY_WRAP_PAD: 0x210a,
} as const;

/** User types (CKU_*). */
export const CKU = { SO: 0, USER: 1 } as const;

/** Flags (CKF_*): session, slot, token, C_Initialize. */
export const CKF = {
  // session
  RW_SESSION: 0x2,
  SERIAL_SESSION: 0x4,
  // slot
  TOKEN_PRESENT: 0x1,
  REMOVABLE_DEVICE: 0x2,
  // token
  LOGIN_REQUIRED: 0x4,
  USER_PIN_INITIALIZED: 0x8,
  TOKEN_INITIALIZED: 0x400,
  USER_PIN_COUNT_LOW: 0x10000,
  USER_PIN_FINAL_TRY: 0x20000,
  USER_PIN_LOCKED: 0x40000,
  // C_Initialize
  OS_LOCKING_OK: 0x2,
} as const;

/** Return values (CKR_*). */
export const CKR = {
  OK: 0x0,
  CANCEL: 0x1,
  HOST_MEMORY: 0x2,
  SLOT_ID_INVALID: 0x3,
  GENERAL_ERROR: 0x5,
  FUNCTION_FAILED: 0x6,
  ARGUMENTS_BAD: 0x7,
  ATTRIBUTE_READ_ONLY: 0x10,
  ATTRIBUTE_SENSITIVE: 0x11,
  ATTRIBUTE_TYPE_INVALID: 0x12,
  ATTRIBUTE_VALUE_INVALID: 0x13,
  ACTION_PROHIBITED: 0x1b,
  DATA_INVALID: 0x20,
  DATA_LEN_RANGE: 0x21,
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  ENCRYPTED_DATA_INVALID: 0x40,
  ENCRYPTED_DATA_LEN_RANGE: 0x41,
  AEAD_DECRYPT_FAILED: 0x42,
  FUNCTION_CANCELED: 0x50,
  FUNCTION_NOT_SUPPORTED: 0x54,
  KEY_HANDLE_INVALID: 0x60,
  KEY_SIZE_RANGE: 0x62,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  KEY_NOT_WRAPPABLE: 0x69,
  KEY_UNEXTRACTABLE: 0x6a,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  OBJECT_HANDLE_INVALID: 0x82,
  OPERATION_ACTIVE: 0x90,
  OPERATION_NOT_INITIALIZED: 0x91,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_COUNT: 0xb1,
  SESSION_HANDLE_INVALID: 0xb3,
  SESSION_PARALLEL_NOT_SUPPORTED: 0xb4,
  SESSION_READ_ONLY: 0xb5,
  SIGNATURE_INVALID: 0xc0,
  SIGNATURE_LEN_RANGE: 0xc1,
  TEMPLATE_INCOMPLETE: 0xd0,
  TEMPLATE_INCONSISTENT: 0xd1,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  TOKEN_WRITE_PROTECTED: 0xe2,
  UNWRAPPING_KEY_HANDLE_INVALID: 0xf0,
  UNWRAPPING_KEY_TYPE_INCONSISTENT: 0xf2,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  USER_PIN_NOT_INITIALIZED: 0x102,
  USER_TYPE_INVALID: 0x103,
  WRAPPED_KEY_INVALID: 0x110,
  WRAPPED_KEY_LEN_RANGE: 0x112,
  WRAPPING_KEY_HANDLE_INVALID: 0x113,
  WRAPPING_KEY_TYPE_INCONSISTENT: 0x115,
  RANDOM_NO_RNG: 0x121,
  CURVE_NOT_SUPPORTED: 0x140,
  BUFFER_TOO_SMALL: 0x150,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;

const CKR_NAMES = new Map<number, string>(Object.entries(CKR).map(([k, v]) => [v, `CKR_${k}`]));

/** "CKR_PIN_INCORRECT" for 0xa0; "CKR_0x…" for a value this table does not know. */
export function ckrName(rv: number): string {
  return CKR_NAMES.get(rv) ?? `CKR_0x${rv.toString(16)}`;
}

/**
 * Return values that mean the token or the module's view of it is gone: the caller drops its sessions and
 * reconnects (C_Finalize/C_Initialize, find the token again, log in) with bounded backoff.
 */
export const CKR_TOKEN_GONE: ReadonlySet<number> = new Set<number>([
  CKR.DEVICE_REMOVED,
  CKR.DEVICE_ERROR,
  CKR.TOKEN_NOT_PRESENT,
  CKR.TOKEN_NOT_RECOGNIZED,
  CKR.SESSION_HANDLE_INVALID,
  CKR.SESSION_CLOSED,
  CKR.USER_NOT_LOGGED_IN,
  CKR.CRYPTOKI_NOT_INITIALIZED,
  CKR.SLOT_ID_INVALID,
]);

/** Return values that may or may not mean the token is gone: the caller probes the token (C_GetTokenInfo) to tell. */
export const CKR_AMBIGUOUS: ReadonlySet<number> = new Set<number>([
  CKR.GENERAL_ERROR,
  CKR.FUNCTION_FAILED,
  CKR.DEVICE_MEMORY,
]);

/** DER-encoded curve OIDs for CKA_EC_PARAMS (RFC 5480 namedCurve). */
export const EC_PARAMS = {
  "P-256": Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07), // 1.2.840.10045.3.1.7
  "P-384": Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22), // 1.3.132.0.34
} as const;

/** CK_UNAVAILABLE_INFORMATION (~0UL) as it reads back through a 64-bit CK_ULONG. */
export const CK_UNAVAILABLE_INFORMATION = 2 ** 64 - 1;
