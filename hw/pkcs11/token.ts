// hw/pkcs11/token.ts — one logged-in token: find it by PKCS#11 URI, a bounded pool of sessions, login with a PIN
// from a file or the environment, health, and recovery with bounded backoff.
//
// Failure handling (issue 5): token absent at start, removed while running, wrong PIN, PIN locked, session limit.
// None of them throws out of open(); the token reports healthy=false with a clear detail and a background timer
// (unref'd, so it never keeps the process alive) retries. A wrong or locked PIN is not retried with the same PIN:
// repeating a wrong PIN is how a real HSM locks its user PIN; the retry waits until the PIN source changes.
import { createHash } from "node:crypto";
import type { HwLogger } from "../log.ts";
import { CKF, CKR, CKR_AMBIGUOUS, CKR_TOKEN_GONE } from "./constants.ts";
import { Pkcs11Error } from "./ffi.ts";
import type { TokenInfo } from "./structs.ts";
import { Pkcs11Module, type Session } from "./module.ts";
import { parsePkcs11Uri, tokenMatches, type Pkcs11Uri } from "./uri.ts";

export interface TokenOptions {
  modulePath: string;
  /** RFC 7512 URI selecting the token (token/manufacturer/serial/model/slot-id). */
  tokenUri: string;
  /** Reads the user PIN (file or environment) each time it is needed; the caller's buffer is wiped after C_Login. */
  readPin: () => Uint8Array;
  poolSize: number;
  log: HwLogger;
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface TokenState {
  healthy: boolean;
  detail?: string;
  token?: { label: string; manufacturer: string; model: string; serial: string };
}

/** The token cannot serve a request right now (absent, removed, not logged in). HTTP 503 at the edge. */
export class TokenUnavailableError extends Error {
  override name = "TokenUnavailableError";
}

export class Pkcs11Token {
  readonly uri: Pkcs11Uri;
  readonly module: Pkcs11Module;
  readonly #opts: TokenOptions;
  readonly #log: HwLogger;
  #slot: number | null = null;
  #info: TokenInfo | null = null;
  #pool: Session[] = [];
  #busy = new Set<Session>();
  #healthy = false;
  #detail = "not connected";
  #timer: ReturnType<typeof setTimeout> | null = null;
  #delay: number;
  #failedPin: string | null = null;
  #closed = false;
  #listeners = new Set<(healthy: boolean) => void>();

  private constructor(opts: TokenOptions, module: Pkcs11Module) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: "pkcs11" });
    this.uri = parsePkcs11Uri(opts.tokenUri);
    this.module = module;
    this.#delay = opts.retryInitialMs ?? 500;
  }

  /**
   * Load the module and try to connect. Throws only for what configuration must fix (module cannot be loaded,
   * malformed URI); an absent token, a wrong PIN, etc. give an unhealthy token that keeps retrying.
   */
  static open(opts: TokenOptions): Pkcs11Token {
    parsePkcs11Uri(opts.tokenUri); // malformed URI: throw before loading anything
    const module = Pkcs11Module.open(opts.modulePath);
    const t = new Pkcs11Token(opts, module);
    t.#connect(true);
    return t;
  }

  get healthy(): boolean {
    return this.#healthy;
  }
  get slot(): number | null {
    return this.#slot;
  }

  /** Called with the new health on every change (e.g. to update a metric). */
  onHealth(fn: (healthy: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The current state; probes the token (C_GetTokenInfo, cheap) so a removal shows without traffic. */
  state(): TokenState {
    if (this.#healthy && this.#slot !== null) {
      try {
        const info = this.module.tokenInfo(this.#slot);
        if (!tokenMatches(this.uri, info))
          throw new Pkcs11Error("C_GetTokenInfo", CKR.TOKEN_NOT_RECOGNIZED, "a different token is in the slot");
        this.#info = info;
      } catch (e) {
        this.#down(e);
      }
    }
    const s: TokenState = { healthy: this.#healthy };
    if (!this.#healthy) s.detail = this.#detail;
    if (this.#info)
      s.token = {
        label: this.#info.label,
        manufacturer: this.#info.manufacturer,
        model: this.#info.model,
        serial: this.#info.serial,
      };
    return s;
  }

  /**
   * Run `fn` with an idle pooled session (synchronously: PKCS#11 calls through bun:ffi block, so no other JS runs
   * meanwhile; the pool matters for re-entrant use and Worker-safe modules). A token-gone error marks the token
   * down and starts recovery; the error is rethrown.
   */
  withSession<T>(fn: (s: Session) => T): T {
    if (this.#closed) throw new TokenUnavailableError("keystore closed");
    if (!this.#healthy) throw new TokenUnavailableError(`PKCS#11 token unavailable: ${this.#detail}`);
    const s = this.#pool.find((x) => !this.#busy.has(x) && x.alive);
    if (!s) throw new TokenUnavailableError(`all ${this.#pool.length} PKCS#11 sessions are busy`);
    this.#busy.add(s);
    try {
      return fn(s);
    } catch (e) {
      if (e instanceof Pkcs11Error && this.#isGone(e)) {
        this.#down(e);
        throw new TokenUnavailableError(`PKCS#11 token unavailable: ${e.message}`);
      }
      throw e;
    } finally {
      this.#busy.delete(s);
    }
  }

  /** A session of its own (the AEAD engine's), outside the pool; closed by the caller or at reconnect. */
  openDedicatedSession(): Session {
    if (!this.#healthy || this.#slot === null)
      throw new TokenUnavailableError(`PKCS#11 token unavailable: ${this.#detail}`);
    return this.module.openSession(this.#slot);
  }

  /** Report a failure seen outside withSession (e.g. by the AEAD engine). */
  reportFailure(e: unknown): void {
    if (e instanceof Pkcs11Error && this.#isGone(e)) this.#down(e);
  }

  /** Is the token still there and the same? (C_GetTokenInfo on its slot; cheap.) */
  probe(): boolean {
    if (!this.#healthy || this.#slot === null) return false;
    try {
      return tokenMatches(this.uri, this.module.tokenInfo(this.#slot));
    } catch {
      return false;
    }
  }

  #isGone(e: Pkcs11Error): boolean {
    if (CKR_TOKEN_GONE.has(e.rv)) return true;
    return CKR_AMBIGUOUS.has(e.rv) && !this.probe();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#closeSessions();
    this.#healthy = false;
    this.#detail = "closed";
    this.module.release();
  }

  // ---- connection --------------------------------------------------------------------------------------

  #setHealth(h: boolean, detail: string): void {
    const changed = h !== this.#healthy;
    this.#healthy = h;
    this.#detail = detail;
    if (!changed) return;
    for (const f of this.#listeners) {
      try {
        f(h);
      } catch (e) {
        // a listener must not break the connection logic that called it
        this.#log.error("PKCS#11 health listener failed", { error: e instanceof Error ? e.name : "error" });
      }
    }
  }

  #down(e: unknown): void {
    if (this.#closed) return;
    const msg = e instanceof Error ? e.message : String(e);
    if (this.#healthy) this.#log.error("PKCS#11 token lost", { reason: msg });
    this.#setHealth(false, msg);
    this.#closeSessions();
    this.#schedule(true);
  }

  #closeSessions(): void {
    for (const s of this.#pool) {
      try {
        s.close();
      } catch {
        /* the token is gone anyway */
      }
    }
    this.#pool = [];
    this.#busy.clear();
  }

  #schedule(reset = false): void {
    if (this.#closed || this.#timer) return;
    if (reset) this.#delay = this.#opts.retryInitialMs ?? 500;
    const d = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#opts.retryMaxMs ?? 30_000);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect(false);
    }, d);
    this.#timer.unref?.();
  }

  /** Find the token's slot; a module that lists tokens only at C_Initialize is reinitialized once. */
  #findSlot(mayReinit: boolean): number | null {
    const search = () => {
      for (const slot of this.module.slots(true)) {
        if (this.uri.slotId !== undefined && slot !== this.uri.slotId) continue;
        let info: TokenInfo;
        try {
          info = this.module.tokenInfo(slot);
        } catch {
          continue;
        }
        if (!(info.flags & CKF.TOKEN_INITIALIZED)) continue;
        if (tokenMatches(this.uri, info, slot)) return slot;
      }
      return null;
    };
    let slot: number | null = null;
    try {
      slot = search();
    } catch {
      slot = null;
    }
    if (slot === null && mayReinit) {
      this.module.reinitialize();
      slot = search();
    }
    return slot;
  }

  #connect(first: boolean): void {
    if (this.#closed) return;
    try {
      this.#closeSessions();
      // At start the module is freshly initialized; later, a lost token needs a fresh C_Initialize to reappear.
      const slot = this.#findSlot(!first || this.#slot !== null);
      if (slot === null) {
        this.#fail(`token not found: ${this.#opts.tokenUri}`);
        return;
      }
      const info = this.module.tokenInfo(slot);
      this.#slot = slot;
      this.#info = info;
      if (info.flags & CKF.USER_PIN_LOCKED) {
        this.#fail("the user PIN is locked: the token's security officer must unlock it");
        return;
      }
      this.#openPool(slot);
      this.#login();
      this.#setHealth(true, "ok");
      this.#delay = this.#opts.retryInitialMs ?? 500;
      this.#log.info("PKCS#11 token ready", { label: info.label, model: info.model, sessions: this.#pool.length });
    } catch (e) {
      this.#closeSessions();
      this.#fail(e instanceof Error ? e.message : String(e));
    }
  }

  #fail(detail: string): void {
    this.#setHealth(false, detail);
    this.#log.every(`pkcs11-connect:${detail}`, 60_000, "error", "PKCS#11 token not usable", { reason: detail });
    this.#schedule();
  }

  #openPool(slot: number): void {
    const want = this.#opts.poolSize;
    for (let i = 0; i < want; i++) {
      try {
        this.#pool.push(this.module.openSession(slot));
      } catch (e) {
        // A token with a session limit below sessionPoolSize: use what it gives, and say so.
        if (e instanceof Pkcs11Error && e.rv === CKR.SESSION_COUNT && this.#pool.length > 0) {
          this.#log.warn("PKCS#11 session limit reached: smaller pool", { wanted: want, got: this.#pool.length });
          break;
        }
        throw e;
      }
    }
  }

  #login(): void {
    const s = this.#pool[0];
    if (!s) throw new TokenUnavailableError("no session");
    const pin = this.#opts.readPin();
    try {
      const digest = createHash("sha256").update(pin).digest("hex");
      if (this.#failedPin !== null && digest === this.#failedPin)
        throw new Pkcs11Error(
          "C_Login",
          CKR.PIN_INCORRECT,
          "same PIN as the last refused one: not retried, fix the PIN source",
        );
      try {
        s.login(pin);
        this.#failedPin = null;
      } catch (e) {
        if (
          e instanceof Pkcs11Error &&
          (e.rv === CKR.PIN_INCORRECT || e.rv === CKR.PIN_LOCKED || e.rv === CKR.PIN_EXPIRED)
        )
          this.#failedPin = digest;
        throw e;
      }
    } finally {
      pin.fill(0);
    }
  }
}
