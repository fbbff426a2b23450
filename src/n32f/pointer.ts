// src/n32f/pointer.ts — RFC 6901 JSON Pointer: the one module of src/ that escapes, parses, formats and walks
// pointers (N32-f iePath and IE lists, TS 29.573 HttpPayload.iePath, N32-PROFILE P3/P10; RI modifications; the
// telescopic rewriting; InvalidParam.param of the OpenAPI checks). Pure and on the N32-f hot path: the common
// token (no `~`, no `/`) costs no regex and no copy. Setting a value follows P10: missing parents are created (an array when the
// next segment is a non-negative integer, else an object); an array index beyond the current length is refused.
// Hand-written (a dozen lines each): fast-json-patch's pointer helpers do not create parents the P10 way and
// assign `__proto__` with plain property writes, which we must not do with network data.
import { SeppError } from "../errors.ts";

/** RFC 6901 reference token escaping (section 3: `~` → `~0`, then `/` → `~1`). */
export function escapeToken(token: string): string {
  if (token.indexOf("~") < 0 && token.indexOf("/") < 0) return token;
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** RFC 6901 section 4: `~1` → `/` first, then `~0` → `~` (so `~01` is `~1`, not `/`). */
export function unescapeToken(token: string): string {
  if (token.indexOf("~") < 0) return token;
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** `pointer` extended by one reference token: `appendToken("/a", "b/c")` is `/a/b~1c`. */
export function appendToken(pointer: string, token: string): string {
  return `${pointer}/${escapeToken(token)}`;
}

/**
 * Tokens of a pointer; "" is the root (no tokens). Returns null for a malformed pointer (no leading "/",
 * or a "~" not followed by 0/1). The usual pointer without `~` costs one slice (one split when deeper).
 */
export function parsePointer(pointer: string): string[] | null {
  if (pointer === "") return [];
  if (pointer.charCodeAt(0) !== 47 /* / */) return null;
  if (pointer.indexOf("~") < 0) return pointer.indexOf("/", 1) < 0 ? [pointer.slice(1)] : pointer.slice(1).split("/");
  if (/~(?![01])/.test(pointer)) return null;
  return pointer.slice(1).split("/").map(unescapeToken);
}

export function formatPointer(tokens: readonly string[]): string {
  let out = "";
  for (const t of tokens) out += `/${escapeToken(t)}`;
  return out;
}

/** A non-negative integer in canonical form ("0", "12"; not "01", "-1", "1e2"). */
export function isIndexToken(token: string): boolean {
  return /^(?:0|[1-9][0-9]{0,8})$/.test(token);
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Own-property write that never triggers the `__proto__` setter. */
export function defineMember(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

export function hasMember(obj: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(obj, key);
}

/** Value at the pointer tokens, or undefined when absent (own members only). */
export function getAt(root: unknown, tokens: readonly string[]): unknown {
  let cur: unknown = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!isIndexToken(t)) return undefined;
      const i = Number(t);
      if (i >= cur.length) return undefined;
      cur = cur[i];
    } else if (isPlainObject(cur)) {
      if (!hasMember(cur, t)) return undefined;
      cur = cur[t];
    } else return undefined;
  }
  return cur;
}

export class PointerError extends SeppError {
  override name = "PointerError";
  constructor(detail: string) {
    super("INVALID_JSON_POINTER", detail, { status: 400, problemCause: "MANDATORY_IE_INCORRECT" });
  }
}

/** The containers a caller owns (may mutate): a Set for one call's work, a WeakSet for longer-lived ones. */
export interface Owned {
  has(o: object): boolean;
  add(o: object): unknown;
}

/**
 * Set `value` at `tokens` under `root` and return the (possibly new) root. Containers met on the way that are
 * not in `owned` are shallow-copied first (copy-on-write), so values borrowed from the caller are never mutated;
 * containers created here are added to `owned`. Throws PointerError when the pointer cannot be applied.
 */
export function setAt(root: unknown, tokens: readonly string[], value: unknown, owned: Owned): unknown {
  if (tokens.length === 0) return value;
  const top = own(root === undefined ? newContainer(tokens[0]!, owned) : root, owned);
  let cur: object = top;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const last = i === tokens.length - 1;
    if (Array.isArray(cur)) {
      if (!isIndexToken(t)) throw new PointerError(`segment "${t}" is not an index of an array`);
      const idx = Number(t);
      if (idx > cur.length) throw new PointerError(`array index ${idx} beyond length ${cur.length}`);
      if (last) {
        cur[idx] = value;
        break;
      }
      const child = idx < cur.length ? cur[idx] : newContainer(tokens[i + 1]!, owned);
      if (typeof child !== "object" || child === null) throw new PointerError(`segment "${t}" is not a container`);
      const c = own(child, owned);
      cur[idx] = c;
      cur = c;
    } else if (isPlainObject(cur)) {
      if (last) {
        defineMember(cur, t, value);
        break;
      }
      const child = hasMember(cur, t) ? cur[t] : newContainer(tokens[i + 1]!, owned);
      if (typeof child !== "object" || child === null) throw new PointerError(`segment "${t}" is not a container`);
      const c = own(child, owned);
      defineMember(cur, t, c);
      cur = c;
    } else throw new PointerError("parent is not a container");
  }
  return top;
}

function newContainer(nextToken: string, owned: Owned): object {
  const c = isIndexToken(nextToken) ? [] : {};
  owned.add(c);
  return c;
}

function own(v: unknown, owned: Owned): object {
  if (typeof v !== "object" || v === null) throw new PointerError("parent is not a container");
  if (owned.has(v)) return v;
  let copy: object;
  if (Array.isArray(v)) copy = v.slice();
  else {
    copy = {};
    for (const k of Object.keys(v)) defineMember(copy as Record<string, unknown>, k, (v as Record<string, unknown>)[k]);
  }
  owned.add(copy);
  return copy;
}
