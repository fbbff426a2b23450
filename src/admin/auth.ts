// src/admin/auth.ts — bearer-token check for the local REST API.
// The token lives in a file created 0600 at first start; it is compared in constant time and never logged.
// Brute-force protection (TS 33.117 4.2.3.4.5): a source address that sent `maxFailures` wrong or missing tokens
// within `windowMs` gets 429 ProblemDetails — whatever token it sends — until its window ends; other sources
// are unaffected. The table of sources is bounded (the oldest entry goes first).
// Security event logging (TS 33.117 4.2.3.6.1): each wrong or missing token, and the moment a source gets
// limited, is reported to `onFailure` (at most maxFailures + 1 events per source and window; the 429s that follow
// are not reported one by one). The event carries the source and the count, never the token sent.
import { timingSafeEqual, createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { problem, problemResponse } from "../problem.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

export interface AuthLimits {
  /** wrong tokens per source within `windowMs` before the source is refused (default 10) */
  maxFailures?: number;
  /** default 60 s */
  windowMs?: number;
  /** sources tracked at most (default 4096) */
  maxSources?: number;
}

/** One failed authentication: the source address, its failures in the window, whether it is now limited. */
export interface AuthFailure {
  source: string;
  failures: number;
  limited: boolean;
  /** "missing" (no or malformed Authorization header) or "wrong" (a token that does not match) */
  reason: "missing" | "wrong";
}

/** The client's address: node:http's socket (src/admin/listener.ts); "local" for in-process calls. */
export function sourceOf(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "local";
}

export function bearerAuth(
  token: () => string,
  limits: AuthLimits = {},
  onFailure?: (f: AuthFailure) => void,
): MiddlewareHandler {
  const maxFailures = limits.maxFailures ?? 10;
  const windowMs = limits.windowMs ?? 60_000;
  const maxSources = limits.maxSources ?? 4096;
  const failures = new Map<string, { count: number; since: number }>();

  return async (c, next) => {
    const src = sourceOf(c);
    const now = performance.now(); // monotonic: a step of the wall clock must neither lock out nor release a source
    let f = failures.get(src);
    if (f && now - f.since >= windowMs) {
      failures.delete(src);
      f = undefined;
    }
    if (f && f.count >= maxFailures) {
      const retry = Math.max(1, Math.ceil((f.since + windowMs - now) / 1000));
      return problemResponse(problem(429, "TOO_MANY_REQUESTS", "too many wrong bearer tokens from this source"), {
        "retry-after": String(retry),
      });
    }
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(h);
    // Hash both sides so the comparison is constant-time whatever the lengths.
    if (!m || !timingSafeEqual(digest(m[1]!), digest(token()))) {
      if (f) f.count++;
      else {
        if (failures.size >= maxSources) failures.delete(failures.keys().next().value!);
        f = { count: 1, since: now };
        failures.set(src, f);
      }
      onFailure?.({ source: src, failures: f.count, limited: f.count >= maxFailures, reason: m ? "wrong" : "missing" });
      return problemResponse(problem(401, "UNAUTHORIZED", "missing or wrong bearer token"), {
        "www-authenticate": 'Bearer realm="sepp-admin"',
      });
    }
    await next();
  };
}
