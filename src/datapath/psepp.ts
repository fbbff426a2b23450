// src/datapath/psepp.ts — the receiving side for a roaming partner's requests to our producers (pSEPP;
// TS 33.501 13.1.1.2, 13.2.4.7; TS 29.573 6.2; N32-PROFILE P8, P10, P11), composed of its three jobs:
//  - n32f-process.ts: PRINS, POST /n32f-forward/v1/n32f-process: admission of the sender (n32f-sender.ts), gzip
//    and OPTIONS, opening the message, 403 ProblemDetailsMsgForwarding and n32f-error reports;
//  - delivery.ts: a verified request delivered to our producer (PLMN checks, screening, egress allow-list,
//    callback URIs) and the producer's answer protected back;
//  - tls-relay.ts: TLS mode, any other request on N32-f routed on 3gpp-Sbi-Target-apiRoot under the same checks.
// They share the metrics and the border screening built here once.
import { Screening } from "../screening/screening.ts";
import { ProducerDelivery } from "./delivery.ts";
import { dataPathMetrics, type HandlerDeps } from "./deps.ts";
import type { InboundRequest, N32fConn, OutboundResponse } from "./http.ts";
import { N32fProcess } from "./n32f-process.ts";
import { TlsRelay } from "./tls-relay.ts";

export class PSepp {
  readonly #process: N32fProcess;
  readonly #relay: TlsRelay;
  constructor(d: HandlerDeps) {
    const m = dataPathMetrics(d.metrics);
    const screening = d.screening ?? new Screening(d);
    this.#process = new N32fProcess(d, m, new ProducerDelivery(d, m, screening));
    this.#relay = new TlsRelay(d, m, screening);
  }

  /** OPTIONS /n32f-forward/v1/n32f-process (P11): which content codings n32f-process accepts. */
  n32fProcessOptions(): OutboundResponse {
    return this.#process.options();
  }

  /** POST /n32f-forward/v1/n32f-process */
  n32fProcess(req: InboundRequest, conn: N32fConn): Promise<OutboundResponse> {
    return this.#process.handle(req, conn);
  }

  /** TLS mode: a peer's plain HTTP/2 request on N32-f (TS 33.501 13.1.1.2). */
  tlsRelay(req: InboundRequest, conn: N32fConn): Promise<OutboundResponse> {
    return this.#relay.relay(req, conn);
  }
}
