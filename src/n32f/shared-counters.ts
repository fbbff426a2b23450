// src/n32f/shared-counters.ts — the shared-memory block of one N32-f context (issue 11 §3 "one N32-f association
// per peer for all workers"): the SEQ counters of its two send salts and the replay windows of its two receive
// salts (N32-PROFILE P1), in one SharedArrayBuffer. The thread that creates the context allocates it; the
// buffer is posted to each worker (postMessage shares a SharedArrayBuffer, it does not copy it), which gives it
// to createN32fContext({ shared }) together with the same key material. Holds no key and no salt.
import { SHARED_REPLAY_WORDS, SharedReplayWindow } from "./replay-shared.ts";
import { SHARED_SEQ_WORDS, SharedSeq } from "./seq.ts";

const SEND_REQUEST = 0;
const SEND_RESPONSE = SEND_REQUEST + SHARED_SEQ_WORDS;
const RECEIVE_REQUEST = SEND_RESPONSE + SHARED_SEQ_WORDS;
const RECEIVE_RESPONSE = RECEIVE_REQUEST + SHARED_REPLAY_WORDS;
const WORDS = RECEIVE_RESPONSE + SHARED_REPLAY_WORDS;
/** Octets of one context's shared block (about 8 KiB). */
export const SHARED_COUNTERS_BYTES = WORDS * 4;

export class N32fSharedCounters {
  /** Post this to the workers; N32fSharedCounters.of(buffer) there. */
  readonly buffer: SharedArrayBuffer;
  readonly sendRequest: SharedSeq;
  readonly sendResponse: SharedSeq;
  readonly receiveRequest: SharedReplayWindow;
  readonly receiveResponse: SharedReplayWindow;

  private constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== SHARED_COUNTERS_BYTES)
      throw new RangeError(`an N32-f shared block is ${SHARED_COUNTERS_BYTES} octets`);
    const w = new Uint32Array(buffer);
    this.buffer = buffer;
    this.sendRequest = new SharedSeq(w, SEND_REQUEST);
    this.sendResponse = new SharedSeq(w, SEND_RESPONSE);
    this.receiveRequest = new SharedReplayWindow(w, RECEIVE_REQUEST);
    this.receiveResponse = new SharedReplayWindow(w, RECEIVE_RESPONSE);
  }

  /** A fresh block (every counter at 0, both windows empty). */
  static create(): N32fSharedCounters {
    return new N32fSharedCounters(new SharedArrayBuffer(SHARED_COUNTERS_BYTES));
  }

  /** The block of `buffer`, as created by create() in another thread. */
  static of(buffer: SharedArrayBuffer): N32fSharedCounters {
    return new N32fSharedCounters(buffer);
  }
}
