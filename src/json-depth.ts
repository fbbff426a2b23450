// src/json-depth.ts — how deeply a JSON text nests, found by one scan of the text before it is parsed. N32 bodies
// are shallow (TS 29.573 data types nest a few levels); a peer's body nested thousands of levels deep is refused
// with 400 before JSON.parse and before any code that walks the value recursively (every wait and size bounded).
// Hand-written: JSON.parse has no depth option and a reviver runs only after the whole value was built.

/** True when `text` opens more than `max` arrays/objects inside each other (brackets inside strings ignored). */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
