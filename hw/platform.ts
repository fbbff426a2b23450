// hw/platform.ts — process hardening for key material in memory: no core dumps, and buffer wiping.
//
// The TLS private key is unsealed into memory (Bun's TLS cannot use a token-resident key, docs/SECURITY.md), and
// N32-f session keys of the software AEAD engine live in the process. A core dump or a ptrace-readable process
// would carry them to disk or to another user, so at start the SEPP sets RLIMIT_CORE to 0 (setrlimit) and
// clears the dumpable flag (prctl PR_SET_DUMPABLE 0, which also blocks ptrace attach by same-uid processes and
// makes /proc/<pid>/mem root-only). Both through bun:ffi on the C library (Linux).
import { dlopen, type Library } from "bun:ffi";

const RLIMIT_CORE = 4; // <sys/resource.h>, Linux (x86_64 and aarch64)
const PR_SET_DUMPABLE = 4; // <linux/prctl.h>
const PR_GET_DUMPABLE = 3;

type Libc = Library<{
  setrlimit: { args: ["i32", "ptr"]; returns: "i32" };
  getrlimit: { args: ["i32", "ptr"]; returns: "i32" };
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"]; returns: "i32" };
}>;

let libc: Libc | null | undefined;
function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return null;
  for (const name of ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"]) {
    try {
      libc = dlopen(name, {
        setrlimit: { args: ["i32", "ptr"], returns: "i32" },
        getrlimit: { args: ["i32", "ptr"], returns: "i32" },
        prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
      }) as Libc;
      break;
    } catch {
      /* try the next name */
    }
  }
  return libc;
}

export interface HardeningResult {
  /** RLIMIT_CORE is 0 (soft and hard). */
  coreDumpsDisabled: boolean;
  /** PR_GET_DUMPABLE is 0. */
  notDumpable: boolean;
  detail?: string;
}

/** Disable core dumps for this process (RLIMIT_CORE 0 and PR_SET_DUMPABLE 0). Never throws; reports what held. */
export function disableCoreDumps(): HardeningResult {
  const c = openLibc();
  if (!c)
    return {
      coreDumpsDisabled: false,
      notDumpable: false,
      detail: "C library not available through bun:ffi (not Linux?)",
    };
  const lim = new BigUint64Array(2); // struct rlimit { rlim_t rlim_cur, rlim_max } (rlim_t: 64 bits on LP64)
  const r1 = c.symbols.setrlimit(RLIMIT_CORE, lim);
  const r2 = c.symbols.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const st = coreDumpState();
  const res: HardeningResult = { coreDumpsDisabled: st.coreLimit === 0, notDumpable: st.dumpable === 0 };
  if (r1 !== 0 || r2 !== 0) res.detail = `setrlimit=${r1} prctl=${r2}`;
  return res;
}

/** The current RLIMIT_CORE soft limit and dumpable flag (null where unavailable). */
export function coreDumpState(): { coreLimit: number | null; dumpable: number | null } {
  const c = openLibc();
  if (!c) return { coreLimit: null, dumpable: null };
  const lim = new BigUint64Array(2);
  const ok = c.symbols.getrlimit(RLIMIT_CORE, lim) === 0;
  const d = c.symbols.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  return { coreLimit: ok ? Number(lim[0]) : null, dumpable: d < 0 ? null : d };
}

/**
 * Zero buffers that held secrets (PINs, key bytes, request bodies with keys). JS strings cannot be wiped: keep
 * secrets in Uint8Array from the moment they are read, and pass strings only where an API demands one.
 */
export function wipe(...bufs: (Uint8Array | ArrayBuffer | null | undefined)[]): void {
  for (const b of bufs) {
    if (!b) continue;
    if (b instanceof ArrayBuffer) new Uint8Array(b).fill(0);
    else b.fill(0);
  }
}

/** Run `fn` with `buf` and wipe `buf` afterwards, whatever happens. */
export function withWiped<T>(buf: Uint8Array, fn: (b: Uint8Array) => T): T {
  try {
    return fn(buf);
  } finally {
    buf.fill(0);
  }
}

export async function withWipedAsync<T>(buf: Uint8Array, fn: (b: Uint8Array) => Promise<T>): Promise<T> {
  try {
    return await fn(buf);
  } finally {
    buf.fill(0);
  }
}
