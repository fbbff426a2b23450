// src/config/schema/listeners.ts — the N32, N32-f, SBI and admin listeners.
import * as v from "valibot";
import { Host, PemSource, Port } from "./common.ts";

const ListenerSchema = v.strictObject({ host: Host, port: Port });

/** The local REST API listener: loopback by default; any other address needs TLS (the bearer token travels). */
const AdminListenerSchema = v.strictObject({
  host: Host,
  port: Port,
  tls: v.optional(
    v.strictObject({
      certificate: PemSource,
      privateKey: PemSource,
      /** CAs of admin client certificates: when set, a client certificate is required */
      clientCa: v.optional(v.array(PemSource), []),
    }),
  ),
});

/** localhost, 127.0.0.0/8, ::1 (also IPv4-mapped): the addresses only this box can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return !!m && m[1] === "127" && m.slice(2).every((o) => Number(o) <= 255);
}

export const ListenersSchema = v.strictObject({
  /** N32-c (HTTP/2 over mutual TLS); also N32-f when `n32f` is absent */
  n32: ListenerSchema,
  /** A separate N32-f listener; absent: N32-f shares the N32-c port */
  n32f: v.optional(ListenerSchema),
  /** SBI side towards our own NFs/SCP (h2c prior knowledge, or TLS when `tls` is true) */
  sbi: v.optional(v.strictObject({ host: Host, port: Port, tls: v.optional(v.boolean(), false) })),
  /** Local REST API; loopback by default, TLS required on any other address */
  admin: AdminListenerSchema,
});
