// src/config/listencheck.ts — "could the next start listen where this configuration says?", asked when a change is
// made (PUT /v1/config) rather than found at the next start: a listener moved to an address that is not this box's
// (or a name that does not resolve), to a port another process holds, or to a privileged port, made that start fail.
// Each listener address the running SEPP does not hold itself is bound once, exclusively, and closed at once; the
// addresses it holds are its own to move at the next start. A port taken after the check is the start's to find:
// it then runs the version that last started (src/sepp.ts, src/config/start.ts).
import { createServer } from "node:net";
import type { ConfigIssue, SeppConfig } from "./schema.ts";

/** One listening address: a configured host (IP literal or name) and a port. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** How long one probe may take (a host name is resolved first). */
const PROBE_MS = 3000;

const LISTENERS = ["n32", "n32f", "sbi", "admin"] as const;

/**
 * What a SEPP started with `cfg` listens on: each listener's configured address, and the one it bound when the port
 * was 0 (`bound`: the actual ports; N32-f on the N32 listener when it has none of its own).
 */
export function heldAddresses(
  cfg: SeppConfig,
  bound: { n32: number; n32f: number; sbi: number | undefined },
): ListenAddress[] {
  const L = cfg.listeners;
  const n32f = L.n32f ?? L.n32;
  return [
    L.n32,
    { host: L.n32.host, port: bound.n32 },
    n32f,
    { host: n32f.host, port: bound.n32f },
    ...(L.sbi ? [L.sbi, { host: L.sbi.host, port: bound.sbi ?? L.sbi.port }] : []),
    L.admin,
  ].map(({ host, port }) => ({ host, port }));
}

/** whether two listener hosts can take the same port's connections: the same host, or a wildcard address */
const WILDCARD = new Set(["0.0.0.0", "::", "[::]", "::0"]);
const overlap = (a: string, b: string) => a === b || WILDCARD.has(a) || WILDCARD.has(b);

/** Why `host:port` cannot be listened on now, or null when it can. */
export function probeListen(a: ListenAddress): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    const done = (why: string | null) => {
      clearTimeout(timer);
      server.removeAllListeners();
      server.close();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer within ${PROBE_MS} ms`), PROBE_MS);
    server.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    server.once("listening", () => done(null));
    server.listen({ host: a.host, port: a.port, exclusive: true });
  });
}

/**
 * The issues of `next`'s listener addresses that the running SEPP does not hold (`held`: what it listens on now) and
 * that cannot be listened on; none when every such address can.
 */
export async function checkListenAddresses(next: SeppConfig, held: ListenAddress[]): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const holds = (a: ListenAddress) => held.some((h) => h.host === a.host && h.port === a.port);
  for (const [i, name] of LISTENERS.entries()) {
    const a = next.listeners[name];
    if (!a || a.port === 0) continue;
    // two listeners of this configuration on one address (a probe would not see it when the SEPP holds it now)
    const clash = LISTENERS.slice(0, i).find((o) => {
      const b = next.listeners[o];
      return b !== undefined && b.port === a.port && overlap(a.host, b.host);
    });
    if (clash) {
      issues.push({ path: `/listeners/${name}`, reason: `the address of /listeners/${clash} (${a.host}:${a.port})` });
      continue;
    }
    if (holds(a)) continue;
    const why = await probeListen(a);
    if (why) issues.push({ path: `/listeners/${name}`, reason: `cannot listen on ${a.host}:${a.port} now (${why})` });
  }
  return issues;
}
