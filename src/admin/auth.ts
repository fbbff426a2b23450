// src/admin/auth.ts — bearer-token check for the local REST API.
// The token lives in a file created 0600 at first start; it is compared in constant time and never logged.
import { timingSafeEqual, createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { problem, problemResponse } from "../problem.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function bearerAuth(token: () => string): MiddlewareHandler {
  return async (c, next) => {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(h);
    // Hash both sides so the comparison is constant-time whatever the lengths.
    if (!m || !timingSafeEqual(digest(m[1]!), digest(token()))) {
      return problemResponse(problem(401, "UNAUTHORIZED", "missing or wrong bearer token"), {
        "www-authenticate": 'Bearer realm="sepp-admin"',
      });
    }
    await next();
  };
}
