// hw/pkcs11/module.ts — a loaded PKCS#11 module (slots, tokens, sessions) and a Session with the operations the
// SEPP needs: objects, EC key pairs, ECDSA, AES keys, AES-GCM, AES key wrap, random.
//
// One Pkcs11Module per module path per process: Cryptoki state (C_Initialize) is process-wide, so opens of the
// same path share it, reference-counted. reinitialize() (C_Finalize + C_Initialize) is how a module that reads
// its token list only at C_Initialize (SoftHSM2) sees a token that came back; it bumps `epoch`, and every
// session or object handle of an older epoch is dead. The registry is JavaScript state, so it is per thread: the
// thread that opens a module owns its Cryptoki state, and a Bun Worker of the same process borrows it
// (borrow(): no C_Initialize, never C_Finalize) through the module's gate in shared memory (gate.ts), which also
// carries the epoch.
import { CKF, CKR, CKU } from "./constants.ts";
import { loadModule, Pkcs11Error, type FunctionTable, type LoadedModule } from "./ffi.ts";
import { CryptokiGate } from "./gate.ts";
import {
  INFO_SIZE,
  initializeArgs,
  type Mechanism,
  PackedTemplate,
  parseInfo,
  parseSlotInfo,
  parseTokenInfo,
  QueryTemplate,
  SLOT_INFO_SIZE,
  TOKEN_INFO_SIZE,
  ULONG,
  UlongOut,
  type ModuleInfo,
  type SlotInfo,
  type Template,
  type TokenInfo,
} from "./structs.ts";

/** Upper bounds on what we read back from a module (a faulty module must not make us allocate without limit). */
const MAX_SLOTS = 256;
const MAX_FIND = 256;
const MAX_ATTR_LEN = 64 * 1024;
const MAX_SIGNATURE = 1024;
const MAX_WRAPPED = 16 * 1024;

export function check(fn: string, rv: number, detail?: string): void {
  if (rv !== CKR.OK) throw new Pkcs11Error(fn, rv, detail);
}

const shared = new Map<string, Pkcs11Module>();
/** this thread's borrowed modules (a Worker's view of its process's modules), by gate */
const borrowed = new WeakMap<SharedArrayBuffer, Pkcs11Module>();

export class Pkcs11Module {
  readonly #lib: LoadedModule;
  /** the process-wide epoch and the borrowers' gate (shared memory) */
  readonly gate: CryptokiGate;
  /** true in a thread that borrows the module from the thread that initialized it */
  readonly borrowed: boolean;
  #refs = 0;
  #initialized = false;

  private constructor(lib: LoadedModule, gate: CryptokiGate, isBorrowed: boolean) {
    this.#lib = lib;
    this.gate = gate;
    this.borrowed = isBorrowed;
  }

  /** Load (or share) the module at `path` and C_Initialize it. Release with release(). */
  static open(path: string): Pkcs11Module {
    let m = shared.get(path);
    if (!m) {
      m = new Pkcs11Module(loadModule(path), CryptokiGate.create(), false);
      shared.set(path, m);
    }
    if (!m.#initialized) m.#initialize();
    m.#refs++;
    return m;
  }

  /**
   * The module `path` as initialized by another thread of this process (the owner, whose `gate` buffer crossed by
   * postMessage): bound in this thread (dlopen returns the mapped library) without C_Initialize. Its Cryptoki
   * state is the owner's: reinitialize() refuses, release() never finalizes. Calls on it run inside
   * `gate.enter()`/`leave()` (hw/aead-pkcs11-worker.ts), so the owner's C_Finalize never runs under them.
   */
  static borrow(path: string, gate: SharedArrayBuffer): Pkcs11Module {
    let m = borrowed.get(gate);
    if (!m) {
      m = new Pkcs11Module(loadModule(path), CryptokiGate.of(gate), true);
      m.#initialized = true;
      borrowed.set(gate, m);
    }
    return m;
  }

  get path(): string {
    return this.#lib.path;
  }
  get fns(): FunctionTable {
    return this.#lib.fns;
  }
  /** Increases at each reinitialize(): handles from an older epoch are dead. */
  get epoch(): number {
    return this.gate.generation;
  }

  #initialize(): void {
    const rv = this.fns.C_Initialize(initializeArgs(CKF.OS_LOCKING_OK));
    if (rv !== CKR.OK && rv !== CKR.CRYPTOKI_ALREADY_INITIALIZED) throw new Pkcs11Error("C_Initialize", rv, this.path);
    this.#initialized = true;
    this.gate.bump();
  }

  /**
   * C_Finalize before the borrowers' calls are over would pull the module from under them: wait for them (gate),
   * end the epoch, then finalize. The caller opens the gate again when borrowers may come back.
   */
  #finalize(): void {
    this.gate.quiesce();
    this.gate.bump();
    this.fns.C_Finalize(null);
    this.#initialized = false;
  }

  /** C_Finalize + C_Initialize: forget every session and re-read the token list. The owner's only. */
  reinitialize(): void {
    if (this.borrowed) throw new Error("a borrowed PKCS#11 module is never reinitialized (its owner thread does that)");
    try {
      if (this.#initialized) this.#finalize();
      this.#initialize();
    } finally {
      this.gate.open();
    }
  }

  /**
   * Drop one reference; the last one finalizes the module. The library stays mapped (no dlclose): a late call
   * through a stale handle (a key's FinalizationRegistry callback, say) must find a refusing module, not unmapped
   * code. The epoch bump makes every session and object of this instance dead first.
   */
  release(): void {
    if (this.borrowed || this.#refs === 0) return;
    if (--this.#refs > 0) return;
    // the gate stays shut: a borrower still holding it refuses every call from now on
    if (this.#initialized) this.#finalize();
    else this.gate.bump();
    shared.delete(this.path);
  }

  info(): ModuleInfo {
    const b = new Uint8Array(INFO_SIZE);
    check("C_GetInfo", this.fns.C_GetInfo(b));
    return parseInfo(b);
  }

  /** Slot IDs; with tokenPresent, only slots holding a token. */
  slots(tokenPresent = true): number[] {
    const n = new UlongOut().set(0);
    check("C_GetSlotList", this.fns.C_GetSlotList(tokenPresent ? 1 : 0, null, n.buf));
    const count = Math.min(n.value, MAX_SLOTS);
    if (count === 0) return [];
    const list = new Uint8Array(count * ULONG);
    n.set(count);
    check("C_GetSlotList", this.fns.C_GetSlotList(tokenPresent ? 1 : 0, list, n.buf));
    const dv = new DataView(list.buffer);
    const out: number[] = [];
    for (let i = 0; i < Math.min(n.value, count); i++)
      out.push(dv.getUint32(i * ULONG, true) + dv.getUint32(i * ULONG + 4, true) * 2 ** 32);
    return out;
  }

  slotInfo(slot: number): SlotInfo {
    const b = new Uint8Array(SLOT_INFO_SIZE);
    check("C_GetSlotInfo", this.fns.C_GetSlotInfo(slot, b));
    return parseSlotInfo(b);
  }

  tokenInfo(slot: number): TokenInfo {
    const b = new Uint8Array(TOKEN_INFO_SIZE);
    check("C_GetTokenInfo", this.fns.C_GetTokenInfo(slot, b));
    return parseTokenInfo(b);
  }

  mechanisms(slot: number): number[] {
    const n = new UlongOut().set(0);
    check("C_GetMechanismList", this.fns.C_GetMechanismList(slot, null, n.buf));
    const count = Math.min(n.value, 1024);
    if (count === 0) return [];
    const list = new Uint8Array(count * ULONG);
    n.set(count);
    check("C_GetMechanismList", this.fns.C_GetMechanismList(slot, list, n.buf));
    const dv = new DataView(list.buffer);
    const out: number[] = [];
    for (let i = 0; i < Math.min(n.value, count); i++) out.push(dv.getUint32(i * ULONG, true));
    return out;
  }

  /** A serial read-write session on `slot`. */
  openSession(slot: number): Session {
    const h = new UlongOut();
    check("C_OpenSession", this.fns.C_OpenSession(slot, CKF.SERIAL_SESSION | CKF.RW_SESSION, null, null, h.buf));
    return new Session(this, slot, h.value, this.gate.generation);
  }
}

export interface KeyPairHandles {
  publicKey: number;
  privateKey: number;
}

/** One PKCS#11 session. Every method is synchronous and finishes its operation (no operation left active). */
export class Session {
  #open = true;
  constructor(
    readonly module: Pkcs11Module,
    readonly slot: number,
    readonly handle: number,
    readonly epoch: number,
  ) {}

  get fns(): FunctionTable {
    return this.module.fns;
  }
  /** False once closed, or when the module was reinitialized since the session was opened. */
  get alive(): boolean {
    return this.#open && this.epoch === this.module.epoch;
  }

  /** C_Login; "already logged in" (login state is per application, shared by its sessions) counts as success. */
  login(pin: Uint8Array, userType: number = CKU.USER): void {
    const rv = this.fns.C_Login(this.handle, userType, pin.length ? pin : null, pin.length);
    if (rv !== CKR.OK && rv !== CKR.USER_ALREADY_LOGGED_IN) throw new Pkcs11Error("C_Login", rv);
  }

  logout(): void {
    const rv = this.fns.C_Logout(this.handle);
    if (rv !== CKR.OK && rv !== CKR.USER_NOT_LOGGED_IN) throw new Pkcs11Error("C_Logout", rv);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.epoch === this.module.epoch) this.fns.C_CloseSession(this.handle);
  }

  createObject(t: Template): number {
    const pt = new PackedTemplate(t);
    const h = new UlongOut();
    try {
      check("C_CreateObject", this.fns.C_CreateObject(this.handle, pt.buf, pt.count, h.buf));
    } finally {
      pt.wipe(t);
    }
    return h.value;
  }

  destroyObject(object: number): void {
    check("C_DestroyObject", this.fns.C_DestroyObject(this.handle, object));
  }

  /** Handles of the objects matching `t` (at most `max`). */
  findObjects(t: Template, max = MAX_FIND): number[] {
    const pt = new PackedTemplate(t);
    check("C_FindObjectsInit", this.fns.C_FindObjectsInit(this.handle, pt.buf, pt.count));
    const out: number[] = [];
    try {
      const batch = 32;
      const list = new Uint8Array(batch * ULONG);
      const dv = new DataView(list.buffer);
      const n = new UlongOut();
      while (out.length < max) {
        check("C_FindObjects", this.fns.C_FindObjects(this.handle, list, Math.min(batch, max - out.length), n.buf));
        if (n.value === 0) break;
        for (let i = 0; i < n.value; i++)
          out.push(dv.getUint32(i * ULONG, true) + dv.getUint32(i * ULONG + 4, true) * 2 ** 32);
      }
    } finally {
      this.fns.C_FindObjectsFinal(this.handle);
    }
    return out;
  }

  /**
   * C_GetAttributeValue for `types`. Throws on any error, including CKR_ATTRIBUTE_SENSITIVE (a secret value the
   * token refuses to reveal) and CKR_ATTRIBUTE_TYPE_INVALID, unless `lenient`: then unavailable ones are null.
   */
  getAttributes(object: number, types: readonly number[], lenient = false): (Uint8Array | null)[] {
    const q = new QueryTemplate(types);
    let rv = this.fns.C_GetAttributeValue(this.handle, object, q.buf, types.length);
    if (rv !== CKR.OK && !(lenient && (rv === CKR.ATTRIBUTE_SENSITIVE || rv === CKR.ATTRIBUTE_TYPE_INVALID)))
      throw new Pkcs11Error("C_GetAttributeValue", rv);
    q.allocate(MAX_ATTR_LEN);
    rv = this.fns.C_GetAttributeValue(this.handle, object, q.buf, types.length);
    if (rv !== CKR.OK && !(lenient && (rv === CKR.ATTRIBUTE_SENSITIVE || rv === CKR.ATTRIBUTE_TYPE_INVALID)))
      throw new Pkcs11Error("C_GetAttributeValue", rv);
    return q.values.map((v, i) => (v ? v.subarray(0, Math.min(v.length, q.length(i))) : null));
  }

  getAttribute(object: number, type: number): Uint8Array {
    const v = this.getAttributes(object, [type])[0];
    if (!v) throw new Pkcs11Error("C_GetAttributeValue", CKR.ATTRIBUTE_TYPE_INVALID, "empty value");
    return v;
  }

  getBool(object: number, type: number): boolean {
    return this.getAttribute(object, type)[0] === 1;
  }

  generateKey(mech: Mechanism, t: Template): number {
    const pt = new PackedTemplate(t);
    const h = new UlongOut();
    check("C_GenerateKey", this.fns.C_GenerateKey(this.handle, mech.buf, pt.buf, pt.count, h.buf));
    return h.value;
  }

  generateKeyPair(mech: Mechanism, pub: Template, priv: Template): KeyPairHandles {
    const pp = new PackedTemplate(pub);
    const pv = new PackedTemplate(priv);
    const hp = new UlongOut();
    const hv = new UlongOut();
    check(
      "C_GenerateKeyPair",
      this.fns.C_GenerateKeyPair(this.handle, mech.buf, pp.buf, pp.count, pv.buf, pv.count, hp.buf, hv.buf),
    );
    return { publicKey: hp.value, privateKey: hv.value };
  }

  /** One-part C_SignInit + C_Sign. */
  sign(mech: Mechanism, key: number, data: Uint8Array): Uint8Array {
    check("C_SignInit", this.fns.C_SignInit(this.handle, mech.buf, key));
    const out = new Uint8Array(MAX_SIGNATURE);
    const n = new UlongOut().set(out.length);
    check("C_Sign", this.fns.C_Sign(this.handle, data.length ? data : null, data.length, out, n.buf));
    return out.slice(0, n.value);
  }

  /** One-part encrypt with an output buffer of `outMax` octets. */
  encrypt(mech: Mechanism, key: number, data: Uint8Array, outMax: number): Uint8Array {
    check("C_EncryptInit", this.fns.C_EncryptInit(this.handle, mech.buf, key));
    const out = new Uint8Array(Math.max(1, outMax));
    const n = new UlongOut().set(out.length);
    check("C_Encrypt", this.fns.C_Encrypt(this.handle, data.length ? data : SCRATCH, data.length, out, n.buf));
    return out.subarray(0, n.value);
  }

  /** One-part decrypt; the CK_RV is returned to the caller on failure (a bad AEAD tag is not exceptional). */
  decrypt(mech: Mechanism, key: number, data: Uint8Array, outMax: number): { rv: number; data: Uint8Array } {
    check("C_DecryptInit", this.fns.C_DecryptInit(this.handle, mech.buf, key));
    const out = new Uint8Array(Math.max(1, outMax));
    const n = new UlongOut().set(out.length);
    const rv = this.fns.C_Decrypt(this.handle, data.length ? data : SCRATCH, data.length, out, n.buf);
    if (rv !== CKR.OK) {
      out.fill(0);
      return { rv, data: EMPTY };
    }
    return { rv, data: out.subarray(0, n.value) };
  }

  wrapKey(mech: Mechanism, wrappingKey: number, key: number): Uint8Array {
    const out = new Uint8Array(MAX_WRAPPED);
    const n = new UlongOut().set(out.length);
    check("C_WrapKey", this.fns.C_WrapKey(this.handle, mech.buf, wrappingKey, key, out, n.buf));
    return out.slice(0, n.value);
  }

  unwrapKey(mech: Mechanism, unwrappingKey: number, wrapped: Uint8Array, t: Template): number {
    const pt = new PackedTemplate(t);
    const h = new UlongOut();
    check(
      "C_UnwrapKey",
      this.fns.C_UnwrapKey(this.handle, mech.buf, unwrappingKey, wrapped, wrapped.length, pt.buf, pt.count, h.buf),
    );
    return h.value;
  }

  random(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 1 || n > 4096) throw new RangeError("random length must be 1..4096");
    const out = new Uint8Array(n);
    check("C_GenerateRandom", this.fns.C_GenerateRandom(this.handle, out, n));
    return out;
  }

  /** The session's state (CKS_*) — a cheap liveness probe of the token. */
  state(): number {
    const b = new Uint8Array(4 * ULONG);
    check("C_GetSessionInfo", this.fns.C_GetSessionInfo(this.handle, b));
    return new DataView(b.buffer).getUint32(ULONG, true);
  }
}

const SCRATCH = new Uint8Array(1);
const EMPTY = new Uint8Array(0);
