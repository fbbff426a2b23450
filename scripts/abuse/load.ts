// scripts/abuse/load.ts — the legitimate traffic of the abuse campaign: open-loop (a request every 1/rate s,
// whatever the answers do), each one end to end through both SEPPs, counted a success only when the producer
// answered 2xx (its mark on the answer) within the timeout.
// - "nf": the visited AMF → the visited SEPP's SBI port (under attack) → N32-f → home SEPP → home UDM. It opens a
//   new connection every `reconnectEvery` requests, as NFs do, so refused new connections show;
// - "partner": a home NF → home SEPP → the visited SEPP's N32 port (under attack) → visited SMF: the legitimate
//   partner's N32-f traffic into the SEPP under attack (its connections are the home SEPP's own pool).
import { NfClient } from "../../test/support/nf.ts";
import { VISITED_SMF } from "../lib/pair.ts";
import { PRODUCER_MARK } from "./world.ts";

export type Flow = "nf" | "partner";

interface Outcome {
  flow: Flow;
  /** start time (performance.now()) */
  at: number;
  ok: boolean;
  /** "200", "504", "timeout", "error: …" */
  result: string;
}

export interface WindowStats {
  sent: number;
  ok: number;
  /** result → count, failures only */
  failures: Record<string, number>;
}

export interface LoadOptions {
  nfSbiPort: number;
  udmAuthority: string;
  udmPath: string;
  homeSbiPort: number;
  vsmfPort: number;
  /** requests per second per flow */
  rate: number;
  timeoutMs: number;
  reconnectEvery: number;
}

export class LegitLoad {
  readonly #o: LoadOptions;
  readonly #outcomes: Outcome[] = [];
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #pending = 0;
  #nf: NfClient | null = null;
  #nfUses = 0;
  #home: NfClient | null = null;

  constructor(o: LoadOptions) {
    this.#o = o;
  }

  start(): void {
    const every = 1000 / this.#o.rate;
    this.#timers.push(setInterval(() => this.#fire("nf"), every));
    // offset the partner flow by half a period: the two flows do not fire in the same tick
    setTimeout(() => this.#timers.push(setInterval(() => this.#fire("partner"), every)), every / 2);
  }

  async stop(): Promise<void> {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    const end = Date.now() + this.#o.timeoutMs + 1000;
    while (this.#pending > 0 && Date.now() < end) await Bun.sleep(50);
    this.#nf?.close();
    this.#home?.close();
  }

  /** Requests started in [from, to) (performance.now() times) and how they ended. */
  stats(flow: Flow, from: number, to: number): WindowStats {
    const s: WindowStats = { sent: 0, ok: 0, failures: {} };
    for (const o of this.#outcomes) {
      if (o.flow !== flow || o.at < from || o.at >= to) continue;
      s.sent++;
      if (o.ok) s.ok++;
      else s.failures[o.result] = (s.failures[o.result] ?? 0) + 1;
    }
    return s;
  }

  /** Requests still unanswered that started before `t` (a window is complete when this is 0). */
  pendingBefore(t: number): boolean {
    return this.#pendingStarts.some((x) => x < t);
  }
  readonly #pendingStarts: number[] = [];

  #client(flow: Flow): NfClient {
    if (flow === "partner") {
      this.#home ??= new NfClient(this.#o.homeSbiPort);
      return this.#home;
    }
    if (!this.#nf || this.#nfUses >= this.#o.reconnectEvery) {
      // the old connection finishes what it carries, then closes (GOAWAY)
      this.#nf?.close();
      this.#nf = new NfClient(this.#o.nfSbiPort);
      this.#nfUses = 0;
    }
    this.#nfUses++;
    return this.#nf;
  }

  #fire(flow: Flow): void {
    const at = performance.now();
    this.#pending++;
    this.#pendingStarts.push(at);
    const c = this.#client(flow);
    const p =
      flow === "nf"
        ? c.request("GET", this.#o.udmAuthority, this.#o.udmPath, { accept: "application/json" }, undefined, {
            timeoutMs: this.#o.timeoutMs,
          })
        : c.request(
            "POST",
            `${VISITED_SMF}:${this.#o.vsmfPort}`,
            "/nsmf-pdusession/v1/vsmf-pdu-sessions/vs-7/modify",
            { "content-type": "application/json" },
            JSON.stringify({ requestIndication: "NW_REQ_PDU_SES_MOD" }),
            { timeoutMs: this.#o.timeoutMs },
          );
    p.then(
      (r) => {
        const ok = r.status >= 200 && r.status < 300 && r.headers[PRODUCER_MARK] === "1";
        this.#done({ flow, at, ok, result: String(r.status) });
      },
      (e: Error) => {
        const m = String(e?.message ?? e);
        this.#done({ flow, at, ok: false, result: m.includes("no answer") ? "timeout" : `error: ${m.slice(0, 60)}` });
      },
    );
  }

  #done(o: Outcome): void {
    this.#pending--;
    const i = this.#pendingStarts.indexOf(o.at);
    if (i >= 0) this.#pendingStarts.splice(i, 1);
    if (this.#outcomes.length < 200_000) this.#outcomes.push(o);
  }
}
