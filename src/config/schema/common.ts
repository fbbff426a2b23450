// src/config/schema/common.ts — the value types every part of the configuration schema uses.
import * as v from "valibot";

const FQDN_RE = /^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}\.?$/; // TS 29.571 Fqdn

export const Fqdn = v.pipe(v.string(), v.minLength(4), v.maxLength(253), v.regex(FQDN_RE, "not an FQDN"));
export const PlmnIdSchema = v.strictObject({
  mcc: v.pipe(v.string(), v.regex(/^\d{3}$/, "mcc must be 3 digits")),
  mnc: v.pipe(v.string(), v.regex(/^\d{2,3}$/, "mnc must be 2 or 3 digits")),
});
export const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
export const Host = v.pipe(v.string(), v.minLength(1), v.maxLength(253));
/** A PEM text ("-----BEGIN …") or a path to a PEM file (relative paths are relative to storage.dir). */
export const PemSource = v.pipe(v.string(), v.minLength(1), v.maxLength(65536));
export const HttpsUri = v.pipe(
  v.string(),
  v.url(),
  v.regex(/^https:\/\//, "must be an https:// URI"),
  v.maxLength(2048),
);
export const PosInt = v.pipe(v.number(), v.integer(), v.minValue(1));
