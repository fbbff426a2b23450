// src/transport/h2/exchange.ts — one bounded request of a client (the N32 clients, the producer clients): on a
// connection (conn.ts), answered within `timeoutMs` or given up, a response body of at most `maxBodyBytes`, given up
// (RST_STREAM CANCEL) when `signal` aborts — the client that asked for it went away, so the peer stops too.
import { armTimer, disarmTimer } from "../../timers.ts";
import type { CancelSignal } from "./cancel.ts";
import type { H2Conn } from "./conn.ts";
import { H2StreamError, type OnResponse, type OutBody } from "./stream.ts";

export interface ExchangeBounds {
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: CancelSignal;
}

/**
 * Sends `fields` (pseudo-header fields first) and `body`; `done` runs exactly once, with the response or with an
 * H2StreamError ("timeout" and "cancelled" besides the layer's own kinds). A callback, not a promise: each caller
 * builds its own answer and error type without a second promise turn per request.
 */
export function exchange(
  conn: H2Conn,
  fields: string[],
  body: OutBody | null,
  b: ExchangeBounds,
  done: OnResponse,
): void {
  if (b.signal?.aborted) {
    done(new H2StreamError("cancelled", "cancelled by the client"), [], null);
    return;
  }
  let settled = false;
  const finish: OnResponse = (err, f, rb) => {
    if (settled) return;
    settled = true;
    disarmTimer(timer);
    b.signal?.removeEventListener("abort", onAbort);
    if (err?.kind === "timeout" || err?.kind === "cancelled") conn.cancel(finish);
    done(err, f, rb);
  };
  const timer = armTimer(
    () => finish(new H2StreamError("timeout", `no answer within ${b.timeoutMs} ms`), [], null),
    b.timeoutMs,
  );
  const onAbort = () => finish(new H2StreamError("cancelled", "cancelled by the client"), [], null);
  b.signal?.addEventListener("abort", onAbort, { once: true });
  conn.request(fields, body, finish, b.maxBodyBytes);
}
