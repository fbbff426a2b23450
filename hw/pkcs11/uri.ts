// hw/pkcs11/uri.ts — PKCS#11 URIs (RFC 7512): parse, match a token, turn object attributes into a template, format.
//
//   pkcs11:token=sepp;object=sepp-identity;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
//
// Path attributes are ';'-separated, query attributes '&'-separated, values percent-encoded (RFC 7512 2.3).
// Secrets stay out of URIs here: `pin-value` is refused (the PIN comes from a file or the environment only).
import { CKO } from "./constants.ts";
import type { Template } from "./structs.ts";
import type { TokenInfo } from "./structs.ts";
import { CKA } from "./constants.ts";

export type ObjectType = "public" | "private" | "cert" | "secret-key" | "data";

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  object?: string;
  type?: ObjectType;
  /** CKA_ID, raw octets */
  id?: Uint8Array;
  slotId?: number;
  slotDescription?: string;
  slotManufacturer?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: string;
  modulePath?: string;
  moduleName?: string;
  pinSource?: string;
}

export class Pkcs11UriError extends Error {
  override name = "Pkcs11UriError";
}

const MAX_URI = 4096;
const TYPES: readonly ObjectType[] = ["public", "private", "cert", "secret-key", "data"];

function pctDecode(s: string, what: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (s[i] === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new Pkcs11UriError(`bad percent-encoding in ${what}`);
      out.push(parseInt(h, 16));
      i += 2;
    } else if (c < 0x21 || c > 0x7e) {
      throw new Pkcs11UriError(`character not allowed in ${what}; percent-encode it`);
    } else {
      out.push(c);
    }
  }
  return Uint8Array.from(out);
}

const td = new TextDecoder("utf-8", { fatal: true });
function pctString(s: string, what: string): string {
  try {
    return td.decode(pctDecode(s, what));
  } catch (e) {
    if (e instanceof Pkcs11UriError) throw e;
    throw new Pkcs11UriError(`${what} is not UTF-8`);
  }
}

/** Parse an RFC 7512 URI. Throws Pkcs11UriError with the reason; never echoes a pin-value. */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (uri.length > MAX_URI) throw new Pkcs11UriError("PKCS#11 URI too long");
  if (!/^pkcs11:/i.test(uri)) throw new Pkcs11UriError("a PKCS#11 URI starts with pkcs11:");
  const rest = uri.slice(7);
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? "" : rest.slice(q + 1);
  const out: Pkcs11Uri = {};
  const seen = new Set<string>();
  for (const part of path ? path.split(";") : []) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Pkcs11UriError(`path attribute without a value: ${part.slice(0, 40)}`);
    const name = part.slice(0, eq).toLowerCase();
    const raw = part.slice(eq + 1);
    if (seen.has(name)) throw new Pkcs11UriError(`repeated path attribute ${name}`);
    seen.add(name);
    switch (name) {
      case "token":
        out.token = pctString(raw, name);
        break;
      case "manufacturer":
        out.manufacturer = pctString(raw, name);
        break;
      case "serial":
        out.serial = pctString(raw, name);
        break;
      case "model":
        out.model = pctString(raw, name);
        break;
      case "object":
        out.object = pctString(raw, name);
        break;
      case "id":
        out.id = pctDecode(raw, name);
        break;
      case "slot-description":
        out.slotDescription = pctString(raw, name);
        break;
      case "slot-manufacturer":
        out.slotManufacturer = pctString(raw, name);
        break;
      case "library-manufacturer":
        out.libraryManufacturer = pctString(raw, name);
        break;
      case "library-description":
        out.libraryDescription = pctString(raw, name);
        break;
      case "library-version":
        out.libraryVersion = pctString(raw, name);
        break;
      case "slot-id": {
        const v = pctString(raw, name);
        if (!/^\d{1,15}$/.test(v)) throw new Pkcs11UriError("slot-id must be a decimal number");
        out.slotId = Number(v);
        break;
      }
      case "type": {
        const v = pctString(raw, name) as ObjectType;
        if (!TYPES.includes(v)) throw new Pkcs11UriError(`type must be one of ${TYPES.join(", ")}`);
        out.type = v;
        break;
      }
      default:
        // RFC 7512 2.3: vendor attributes start with "x-"; anything else is unknown and the URI is refused.
        if (!name.startsWith("x-")) throw new Pkcs11UriError(`unknown path attribute ${name.slice(0, 40)}`);
    }
  }
  for (const part of query ? query.split("&") : []) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Pkcs11UriError("query attribute without a value");
    const name = part.slice(0, eq).toLowerCase();
    const raw = part.slice(eq + 1);
    switch (name) {
      case "pin-value":
        throw new Pkcs11UriError("pin-value is not accepted in a PKCS#11 URI here: use pinFile or pinEnv");
      case "pin-source":
        out.pinSource = pctString(raw, name);
        break;
      case "module-path":
        out.modulePath = pctString(raw, name);
        break;
      case "module-name":
        out.moduleName = pctString(raw, name);
        break;
      default:
        if (!name.startsWith("x-")) throw new Pkcs11UriError(`unknown query attribute ${name.slice(0, 40)}`);
    }
  }
  return out;
}

/** Does the token described by `info` match the token attributes of `uri`? (Absent attributes match anything.) */
export function tokenMatches(
  uri: Pkcs11Uri,
  info: Pick<TokenInfo, "label" | "manufacturer" | "model" | "serial">,
  slotId?: number,
): boolean {
  if (uri.slotId !== undefined && slotId !== undefined && uri.slotId !== slotId) return false;
  if (uri.token !== undefined && uri.token !== info.label) return false;
  if (uri.manufacturer !== undefined && uri.manufacturer !== info.manufacturer) return false;
  if (uri.model !== undefined && uri.model !== info.model) return false;
  if (uri.serial !== undefined && uri.serial !== info.serial) return false;
  return true;
}

const CLASS_OF: Record<ObjectType, number> = {
  public: CKO.PUBLIC_KEY,
  private: CKO.PRIVATE_KEY,
  cert: CKO.CERTIFICATE,
  "secret-key": CKO.SECRET_KEY,
  data: CKO.DATA,
};

/** The C_FindObjectsInit template for the object attributes of `uri` (object → CKA_LABEL, id → CKA_ID, type → CKA_CLASS). */
export function objectTemplate(uri: Pkcs11Uri): Template {
  const t: [number, string | number | Uint8Array][] = [];
  if (uri.type !== undefined) t.push([CKA.CLASS, CLASS_OF[uri.type]]);
  if (uri.object !== undefined) t.push([CKA.LABEL, uri.object]);
  if (uri.id !== undefined) t.push([CKA.ID, uri.id]);
  return t;
}

const te = new TextEncoder();
function pctEncode(v: string | Uint8Array, all = false): string {
  const bytes = typeof v === "string" ? te.encode(v) : v;
  let s = "";
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    s += !all && /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/.test(ch) ? ch : `%${b.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return s;
}

/** Format a PKCS#11 URI (path attributes in RFC 7512 order: token, manufacturer, serial, model, object, type, id). */
export function formatPkcs11Uri(u: Pkcs11Uri): string {
  const parts: string[] = [];
  if (u.token !== undefined) parts.push(`token=${pctEncode(u.token)}`);
  if (u.manufacturer !== undefined) parts.push(`manufacturer=${pctEncode(u.manufacturer)}`);
  if (u.serial !== undefined) parts.push(`serial=${pctEncode(u.serial)}`);
  if (u.model !== undefined) parts.push(`model=${pctEncode(u.model)}`);
  if (u.slotId !== undefined) parts.push(`slot-id=${u.slotId}`);
  if (u.object !== undefined) parts.push(`object=${pctEncode(u.object)}`);
  if (u.type !== undefined) parts.push(`type=${u.type}`);
  if (u.id !== undefined) parts.push(`id=${pctEncode(u.id, true)}`);
  const query: string[] = [];
  if (u.modulePath !== undefined) query.push(`module-path=${pctEncode(u.modulePath).replace(/&/g, "%26")}`);
  if (u.moduleName !== undefined) query.push(`module-name=${pctEncode(u.moduleName).replace(/&/g, "%26")}`);
  return `pkcs11:${parts.join(";")}${query.length ? `?${query.join("&")}` : ""}`;
}
