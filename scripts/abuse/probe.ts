// scripts/abuse/probe.ts — the legitimate partner opening new N32 connections during an attack: once a second a
// mutual-TLS connection with the partner's own certificate (what the home SEPP's N32 client does when it connects
// or reconnects), counted admitted when the SEPP under attack speaks HTTP/2 on it (its SETTINGS frame, sent only
// after admission) within 3 s; then closed. The partner's established connections are the load's business
// (load.ts); this shows whether a partner that loses its connection during the attack could come back.
import { FRAME, n32TlsConn, sleep } from "./raw.ts";
import type { AttackTarget } from "./world.ts";

export class PartnerConnProbe {
  readonly #t: AttackTarget;
  readonly #outcomes: Array<{ at: number; ok: boolean }> = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  #pending = 0;

  constructor(t: AttackTarget) {
    this.#t = t;
  }

  start(everyMs = 1000): void {
    this.#timer = setInterval(() => void this.#once(), everyMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const end = Date.now() + 4000;
    while (this.#pending > 0 && Date.now() < end) await sleep(50);
  }

  /** probes started in [from, to): admitted / all */
  stats(from: number, to: number): { ok: number; sent: number } {
    const xs = this.#outcomes.filter((o) => o.at >= from && o.at < to);
    return { ok: xs.filter((o) => o.ok).length, sent: xs.length };
  }

  pendingBefore(): boolean {
    return this.#pending > 0;
  }

  async #once(): Promise<void> {
    const at = performance.now();
    this.#pending++;
    const c = n32TlsConn(this.#t, "partner");
    const end = performance.now() + 3000;
    while (performance.now() < end && !c.isClosed() && c.frames.count(FRAME.SETTINGS) === 0) await sleep(20);
    const ok = c.frames.count(FRAME.SETTINGS) > 0 && !c.isClosed();
    c.destroy();
    this.#pending--;
    if (this.#outcomes.length < 10_000) this.#outcomes.push({ at, ok });
  }
}
