// src/workers/messages.ts — what the main thread and the data-path workers say to each other (issue 11 §3,
// docs/ARCHITECTURE.md "Worker model"). Everything crosses by postMessage inside one process: the N32-f master of
// a context is copied into the worker's heap (never a file or a pipe) and wiped there once the keys are derived.
import type { AeadWorkerHandoff } from "../../hw/index.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { LogLevel } from "../log.ts";
import type { MetricSnapshot } from "../metrics.ts";
import type { N32fErrorReport } from "../n32c/messages.ts";
import type { SharedContextSpec } from "../n32c/keys.ts";
import type { N32fEndpoint } from "../n32c/n32f-endpoint.ts";
import type { N32fContextState } from "../n32f/context.ts";
import type { ScreeningObservation } from "../screening/screening.ts";

/** One context for the workers: its parameters (with a copy of the master) and its shared block. */
export interface SharedContextMsg {
  spec: SharedContextSpec;
  buffer: SharedArrayBuffer;
}

/** What the data path asks the N32-c service on every request (N32cView.brief) and where N32-f goes. */
export interface PeerView {
  brief: { state: string; capability: "PRINS" | "TLS" | null; localContextId: string | null };
  endpoint?: N32fEndpoint;
}

/** The main thread's view that the workers mirror: per peer, and the state of every live context. */
export interface SyncMsg {
  op: "sync";
  peers: Record<string, PeerView>;
  contexts: Record<string, N32fContextState>;
}

export type ToWorker =
  | {
      op: "init";
      index: number;
      /** how many workers share the ports (each enforces its share of the box-wide bounds: share-limits.ts) */
      workers: number;
      config: SeppConfig;
      dataDir: string;
      logLevel: LogLevel;
      tls: { key: string; cert: string };
      /** ports already bound by another worker (SO_REUSEPORT), else the configured ones */
      ports: { sbi?: number; n32f?: number };
      validateOutgoing: boolean;
      /** the main thread's AEAD engine, to run in the worker (pkcs11: module, gate, layout; no key, no PIN) */
      aead: AeadWorkerHandoff;
      contexts: SharedContextMsg[];
      sync: SyncMsg;
      /** per worker: requests in hand, then utilization, an Int32 each (src/workers/handoff.ts) */
      handoff: SharedArrayBuffer;
      /** tests only: hand requests off whatever the utilization */
      handoffAlwaysSpill: boolean;
    }
  /** a port to another worker, for the requests handed between the two (src/workers/handoff.ts) */
  | { op: "handoff-link"; peer: number; port: MessagePort }
  /** that worker ended: what it was serving for this one is answered, the port closed */
  | { op: "handoff-unlink"; peer: number }
  | ({ op: "context" } & SharedContextMsg)
  | SyncMsg
  | { op: "config"; config: SeppConfig; logLevel: LogLevel }
  | { op: "metrics"; id: number }
  | { op: "observed"; observation: ScreeningObservation }
  /** the answer to a worker's "need-context": the context if the main thread holds it, with its state */
  | { op: "context-reply"; ask: number; context: (SharedContextMsg & { state: N32fContextState }) | null }
  | { op: "stop" };

/** N32-c calls a worker's data path makes; the main thread runs them (N32-c stays there). */
export type N32cCall =
  | { call: "reportError"; peerId: string; report: N32fErrorReport }
  | { call: "handshake"; peerId: string }
  | { call: "renegotiate"; peerId: string; why: string }
  | { call: "dropContext"; peerId: string; localContextId: string };

export type FromWorker =
  | { op: "ready"; ports: { sbi: number; n32f: number } }
  | { op: "stopped" }
  | { op: "metrics"; id: number; snapshot: MetricSnapshot[] }
  /** a screening observation for the other workers (a serving partner, a producer's overload) */
  | { op: "observed"; observation: ScreeningObservation }
  /** an N32-f message named a context this worker does not hold: does the main thread hold it? */
  | { op: "need-context"; ask: number; n32fContextId: string }
  | ({ op: "n32c" } & N32cCall)
  /** a PKCS#11 call of the worker's AEAD engine failed: the main thread (the token's owner) probes the token */
  | { op: "aead-failure" }
  | { op: "failed"; error: string };
