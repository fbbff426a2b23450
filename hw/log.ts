// hw/log.ts — the logger port hw/ receives: the few calls the keystores and the token make. hw/ owns no logger
// (it never imports the application's src/log.ts); the caller passes one, and the application's JSON-lines
// logger fits as it is. hw/ never hands it a secret (PINs, key bytes), so redaction stays the logger's safety net,
// not hw's protection.

export type HwLogLevel = "debug" | "info" | "warn" | "error";
export type HwLogFields = Record<string, unknown>;

/** What hw/ logs through: events of the token and the keystores, never key material or a PIN. */
export interface HwLogger {
  info(msg: string, fields?: HwLogFields): void;
  warn(msg: string, fields?: HwLogFields): void;
  error(msg: string, fields?: HwLogFields): void;
  /** A logger that adds `fields` to every event (e.g. `{component: "pkcs11"}`). */
  child(fields: HwLogFields): HwLogger;
  /** Log at most once per `intervalMs` for the same key (a token that stays away is not a flood); true when logged. */
  every(key: string, intervalMs: number, level: HwLogLevel, msg: string, fields?: HwLogFields): boolean;
}
