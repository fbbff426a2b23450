// src/transport/h2/cancel.ts — what a request's cancellation offers (CancelSignal), and the cancellation of one
// inbound request, handed with it to the data path (StreamCancel).
/**
 * What a request's cancellation must offer: the part of AbortSignal used here. An AbortSignal is one; the data
 * path passes a lighter one per inbound request (StreamCancel below: no native controller).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

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
