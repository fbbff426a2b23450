// src/sbi/ip.ts — strict IP address text forms: RFC 3986 IPv4address (dotted decimal, no leading zeros), RFC 4291
// IPv6 (no zone ID) and its RFC 5952 canonical text. Pure.

const DEC_OCTET_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** Strict dotted-quad IPv4 (RFC 3986 IPv4address: dec-octet without leading zeros), or null. */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!DEC_OCTET_RE.test(p)) return null;
    out[i] = Number(p);
  }
  return out;
}

/** RFC 4291 text form (with optional trailing dotted IPv4), without zone ID, to 16 bytes; or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null;
  let head = s;
  let v4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) !== -1) {
    v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    head = s.slice(0, lastColon + 1);
    if (!head.endsWith("::")) head = head.slice(0, -1); // drop the ':' before the IPv4 part ("::1.2.3.4" keeps it)
    if (head === "") return null;
  }
  const groupsNeeded = v4 ? 6 : 8;
  const dbl = head.indexOf("::");
  if (dbl !== -1 && head.indexOf("::", dbl + 1) !== -1) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === "") return [];
    const out: number[] = [];
    for (const g of t.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(head);
    if (!g || g.length !== groupsNeeded) return null;
    groups = g;
  } else {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return null;
    const missing = groupsNeeded - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** RFC 5952 canonical text of 16 bytes (lowercase, longest zero run of ≥ 2 groups compressed). */
export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestStart === -1) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}
