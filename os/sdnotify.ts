// os/sdnotify.ts — systemd service notification (sd_notify(3)): READY=1, WATCHDOG=1, STATUS=…, STOPPING=1.
//
// The protocol is one datagram on the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
// namespace). Bun has no unix datagram sockets (node:dgram is UDP only) and `systemd-notify` sends from its own
// short-lived PID, which systemd ignores under NotifyAccess=main (the unit's default for Type=notify) unless
// the message races in before the child exits. So the datagram is sent from this process through bun:ffi on the
// C library: socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC), sendto(), close(). Without NOTIFY_SOCKET nothing happens.
import { dlopen, type Library, ptr } from "bun:ffi";

const AF_UNIX = 1;
const SOCK_DGRAM = 2; // Linux x86_64 and aarch64
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 108;

type Libc = Library<{
  socket: { args: ["i32", "i32", "i32"]; returns: "i32" };
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"]; returns: "i64" };
  close: { args: ["i32"]; returns: "i32" };
}>;

let libc: Libc | null | undefined;
function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  for (const name of ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"]) {
    try {
      libc = dlopen(name, {
        socket: { args: ["i32", "i32", "i32"], returns: "i32" },
        sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
        close: { args: ["i32"], returns: "i32" },
      }) as Libc;
      break;
    } catch {
      /* next name */
    }
  }
  return libc;
}

/** struct sockaddr_un for a path or an abstract name ("@…"); null when it does not fit. */
export function sockaddrUn(socketName: string): { addr: Uint8Array; len: number } | null {
  const abstract = socketName.startsWith("@");
  const name = Buffer.from(abstract ? `\0${socketName.slice(1)}` : socketName, "utf8");
  if (name.length === 0 || name.length >= SUN_PATH_MAX) return null;
  const addr = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true); // sa_family_t, host order (little-endian targets)
  addr.set(name, 2);
  // abstract names are exactly their bytes; a path is NUL-terminated (the array is zeroed)
  return { addr, len: 2 + name.length + (abstract ? 0 : 1) };
}

/**
 * Send one notification ("READY=1", "WATCHDOG=1", "STATUS=…", newline-separated assignments).
 * Returns false when there is no NOTIFY_SOCKET or the datagram could not be sent; never throws.
 */
export function sdNotify(state: string, socketName = process.env.NOTIFY_SOCKET): boolean {
  if (!socketName) return false;
  const sa = sockaddrUn(socketName);
  const c = openLibc();
  if (!sa || !c) return false;
  const fd = c.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const msg = Buffer.from(state, "utf8");
    const n = c.symbols.sendto(fd, ptr(msg), msg.length, 0, ptr(sa.addr), sa.len);
    return Number(n) === msg.length;
  } finally {
    c.symbols.close(fd);
  }
}

/**
 * The watchdog interval systemd asks for (WatchdogSec → $WATCHDOG_USEC, for this PID when $WATCHDOG_PID is set),
 * in milliseconds; undefined when the watchdog is off.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return undefined;
  return Math.max(1, Math.floor(usec / 1000));
}

/** READY=1 now, then WATCHDOG=1 at half the interval systemd asked for; returns the timer (cleared at stop). */
export function notifyReady(): ReturnType<typeof setInterval> | undefined {
  sdNotify(`READY=1\nSTATUS=serving\nMAINPID=${process.pid}`);
  const every = watchdogIntervalMs();
  if (every === undefined) return undefined;
  const t = setInterval(() => sdNotify("WATCHDOG=1"), Math.max(1, Math.floor(every / 2)));
  t.unref();
  return t;
}
