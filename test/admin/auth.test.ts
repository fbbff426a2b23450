// The admin API's wrong-token limit (src/admin/auth.ts) keeps its window on a monotonic clock: a wall clock stepped
// back (NTP on a gateway whose clock ran ahead) must not lock the operator out until it catches up.
import { afterEach, expect, setSystemTime, test } from "bun:test";
import { Hono } from "hono";
import { bearerAuth } from "../../src/admin/auth.ts";

afterEach(() => setSystemTime()); // the real clock again

test("a source limited for wrong tokens is let in again after the window, whatever the wall clock did meanwhile", async () => {
  const app = new Hono();
  app.use(bearerAuth(() => "right-token-0123456789", { maxFailures: 2, windowMs: 150 }));
  app.get("/x", (c) => c.text("ok"));
  const call = (token: string) => app.request("/x", { headers: { authorization: `Bearer ${token}` } });
  expect((await call("wrong")).status).toBe(401);
  expect((await call("wrong")).status).toBe(401);
  expect((await call("right-token-0123456789")).status).toBe(429);
  setSystemTime(new Date(Date.now() - 3_600_000)); // the wall clock stepped back by an hour
  await Bun.sleep(200);
  // before: 429 for the hour the wall clock needed to reach the window's end again
  expect((await call("right-token-0123456789")).status).toBe(200);
});
