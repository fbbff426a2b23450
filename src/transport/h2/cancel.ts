// src/transport/h2/cancel.ts — the cancellation of one inbound request, handed with it to the data path.
import type { CancelSignal } from "../h2client.ts";

/**
 * The cancellation of one inbound request (its client left before the answer): what the clients need of an
 * AbortSignal (aborted, abort listeners), in plain JS: no native AbortController and EventTarget per request.
 * Like an AbortSignal, it fires once, and a listener added after that is never called.
 */
export class StreamCancel implements CancelSignal {
  aborted = false;
  #listeners: Array<() => void> | null = null;

  /** `options` is accepted for AbortSignal compatibility: every listener runs at most once anyway. */
  addEventListener(_type: "abort", listener: () => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    this.#listeners ??= [];
    this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const l = this.#listeners;
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l!.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.#listeners;
    this.#listeners = null;
    if (!l) return;
    for (const f of l) {
      try {
        f();
      } catch {
        // as with EventTarget, one failing listener does not keep the others from running
      }
    }
  }
}
