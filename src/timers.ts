/**
 * Counted timers for the data path and the listeners' body reader (transport/h2/requests.ts). Bun has no
 * `process.getActiveResourcesInfo()`, so the timers a request arms are not visible from outside; this module keeps one integer of live ones (gauge `sepp_datapath_timers`) so the leak tests
 * can assert it returns to 0 (issue 4: "no leak of streams, timers or memory").
 *
 * +1 when armed, -1 exactly once: when it fires or when it is disarmed, whichever comes first.
 * - fire: one module-level trampoline (no closure per timer: the callback is passed as the timer's argument) decrements,
 *   then clears the firing timer so it reads as destroyed, then runs the callback;
 * - disarm: a timer that is already destroyed (fired, or disarmed before) is not counted again. The callers routinely
 *   clear a timer from within its own callback, or after it fired; both are no-ops here.
 * "Destroyed" is the Timeout object's `_destroyed` flag (Node's Timeout API, implemented by Bun); test/datapath/timers.test.ts
 * pins that behaviour so a runtime change fails a test, not the gauge.
 */

type Timer = ReturnType<typeof setTimeout>;

let live = 0;

function fire(this: Timer, fn: () => void): void {
  live--;
  clearTimeout(this); // marks it destroyed: a disarmTimer() from fn (or later) does not decrement twice
  fn();
}

/** setTimeout, counted. Disarm it with disarmTimer(), not clearTimeout() (that would leave it counted). */
export function armTimer(fn: () => void, ms: number): Timer {
  live++;
  return setTimeout(fire, ms, fn);
}

/** clearTimeout, counted: safe to call after the timer fired, from its own callback, or more than once. */
export function disarmTimer(t: Timer): void {
  if ((t as unknown as { _destroyed: boolean })._destroyed) return;
  live--;
  clearTimeout(t);
}

/** Timers armed with armTimer() that have neither fired nor been disarmed. */
export function liveTimers(): number {
  return live;
}
