// src/sbi/special-addresses.ts — addresses and host names that are never a producer on the inter-PLMN path by
// default (N32-PROFILE P8; RFC 6890 special-purpose registries; TS 33.501 5.9.3.2): loopback, link-local,
// private-use, shared (CGNAT), unspecified, documentation, benchmarking, multicast, reserved and cloud-metadata
// addresses, IPv4 and IPv6, including the IPv4 an IPv6 address embeds by a standard translation (mapped,
// compatible, SIIT, NAT64, 6to4, Teredo), and local or metadata host names. Also the CIDR arithmetic the egress
// allow-list uses. Pure.
import { parseIPv4, parseIPv6 } from "./ip.ts";

export interface Cidr {
  v6: boolean;
  bytes: Uint8Array;
  bits: number;
}

export function inCidr(addr: Uint8Array, c: Cidr): boolean {
  if (addr.length !== c.bytes.length) return false;
  let bits = c.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf("/");
  if (slash === -1) return null;
  let a = s.slice(0, slash);
  const b = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(b)) return null;
  const bits = Number(b);
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const v4 = parseIPv4(a);
  if (v4) return bits <= 32 ? { v6: false, bytes: v4, bits } : null;
  const v6 = parseIPv6(a);
  if (v6) return bits <= 128 ? { v6: true, bytes: v6, bits } : null;
  return null;
}

const cidr = (s: string): Cidr => {
  const c = parseCidr(s);
  if (!c) throw new Error(`bad built-in CIDR ${s}`);
  return c;
};

/** IPv4 ranges that are never a producer on the inter-PLMN path unless explicitly allowed (RFC 6890 and cloud metadata). */
const SPECIAL_V4: Array<[Cidr, string]> = [
  [cidr("0.0.0.0/8"), "unspecified/this-network"],
  [cidr("10.0.0.0/8"), "private-use"],
  [cidr("100.64.0.0/10"), "shared address space (CGNAT)"],
  [cidr("127.0.0.0/8"), "loopback"],
  [cidr("169.254.0.0/16"), "link-local (incl. cloud metadata 169.254.169.254)"],
  [cidr("172.16.0.0/12"), "private-use"],
  [cidr("192.0.0.0/24"), "IETF protocol assignments (incl. metadata 192.0.0.192)"],
  [cidr("192.0.2.0/24"), "documentation"],
  [cidr("192.168.0.0/16"), "private-use"],
  [cidr("198.18.0.0/15"), "benchmarking"],
  [cidr("198.51.100.0/24"), "documentation"],
  [cidr("203.0.113.0/24"), "documentation"],
  [cidr("224.0.0.0/4"), "multicast"],
  [cidr("240.0.0.0/4"), "reserved/broadcast"],
  [cidr("168.63.129.16/32"), "cloud metadata (Azure)"],
];
const SPECIAL_V6: Array<[Cidr, string]> = [
  [cidr("::/128"), "unspecified"],
  [cidr("::1/128"), "loopback"],
  [cidr("::/96"), "IPv4-compatible (deprecated)"],
  [cidr("100::/64"), "discard-only"],
  [cidr("2001:db8::/32"), "documentation"],
  [cidr("fd00:ec2::254/128"), "cloud metadata (AWS IPv6)"],
  [cidr("fc00::/7"), "unique-local (private-use)"],
  [cidr("fe80::/10"), "link-local"],
  [cidr("fec0::/10"), "site-local (deprecated)"],
  [cidr("ff00::/8"), "multicast"],
];

/** The IPv4 address an IPv6 address embeds by a standard translation, if any. */
export function embeddedIPv4(b: Uint8Array): Uint8Array | null {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (SIIT)
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12);
  if (zero(0, 12) && !(b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15]! <= 1)) return b.slice(12);
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return b.slice(12);
  // 64:ff9b::/96 (NAT64 well-known) and 64:ff9b:1::/48 (local-use NAT64, RFC 8215)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return b.slice(12);
  // 2002::/16 (6to4): the IPv4 address is in bits 16..47
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6);
  // 2001:0::/32 (Teredo): client address obfuscated (XOR 0xff) in the last 32 bits
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return b.slice(12).map((x) => x ^ 0xff);
  return null;
}

/** Why an address is special (never a default target), or null for an ordinary global unicast address. */
export function specialAddressReason(addr: Uint8Array): string | null {
  if (addr.length === 4) {
    for (const [c, why] of SPECIAL_V4) if (inCidr(addr, c)) return why;
    return null;
  }
  for (const [c, why] of SPECIAL_V6) if (inCidr(addr, c)) return why;
  const v4 = embeddedIPv4(addr);
  if (v4) {
    const why = specialAddressReason(v4);
    if (why) return `IPv6 form of an IPv4 ${why} address`;
  }
  return null;
}

/** Host names that resolve to the local machine or a cloud metadata service. */
const SPECIAL_NAMES = [
  /^localhost$/,
  /\.localhost$/,
  /^metadata\.google\.internal$/,
  /^metadata(\.goog)?$/,
  /^instance-data(\.ec2\.internal)?$/,
  /\.internal$/,
  /\.local$/,
];

export function specialNameReason(host: string): string | null {
  if (!host.includes(".")) return "single-label host name";
  for (const re of SPECIAL_NAMES) if (re.test(host)) return "local or metadata host name";
  return null;
}
