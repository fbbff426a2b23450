// src/n32c/responder.ts — the N32-c server side: hono routes under /n32c-handshake/v1/ (TS 29.573 5.2,
// 6.1; TS 33.501 13.2.2, 13.5). One handler module per operation (src/n32c/ops/); every route runs the same
// admission steps first (ops/kit.ts: certificate, rate, content type, size, JSON, schema).
import { Hono } from "hono";
import type { N32fContextInfo, N32fErrorInfo, SecNegotiateReqData, SecParamExchReqData } from "../model/n32.ts";
import type { N32SchemaName } from "../openapi/validate.ts";
import { PROBLEM_JSON, problem as mkProblem } from "../problem.ts";
import type { N32Env } from "../transport/h2server.ts";
import { API_PREFIX, type N32cOperation } from "./core-types.ts";
import type { N32cCore } from "./core.ts";
import * as msg from "./messages.ts";
import { exchangeCapability } from "./ops/exchange-capability.ts";
import { exchangeParams } from "./ops/exchange-params.ts";
import { type Ctx, type OperationHandler, Reply, ResponderKit } from "./ops/kit.ts";
import { n32fError } from "./ops/n32f-error.ts";
import { n32fTerminate } from "./ops/n32f-terminate.ts";
import { TokenBuckets } from "./ratelimit.ts";

export interface Responder {
  app: Hono<{ Bindings: N32Env }>;
  /** shared state of the operation handlers (selected capability per peer, exchanges in progress) */
  kit: ResponderKit;
  /** forget negotiations of a stopped service */
  stop(): void;
}

/** The four N32-c routes over one set of shared state. */
export function createResponder(core: N32cCore): Responder {
  const app = new Hono<{ Bindings: N32Env }>();
  const kit = new ResponderKit(core, new TokenBuckets(() => core.cfg().n32c.maxRequestsPerSecond, core.now));

  const route = <T>(op: N32cOperation, schema: N32SchemaName, h: OperationHandler<T>) =>
    app.post(`${API_PREFIX}/${op}`, async (c) => {
      try {
        const a = await kit.admit<T>(c as Ctx, op, schema);
        if (a instanceof Reply) return a.response;
        return (await h(kit, a.body, a.id, a.conn)).response;
      } catch (e) {
        core.log.error("N32-c handler failed", { operation: op, error: e });
        return kit.fail(op, 500, "SYSTEM_FAILURE", "internal error").response;
      }
    });

  route<SecNegotiateReqData>("exchange-capability", "SecNegotiateReqData", exchangeCapability);
  route<SecParamExchReqData>("exchange-params", "SecParamExchReqData", exchangeParams);
  route<N32fContextInfo>("n32f-terminate", "N32fContextInfo", n32fTerminate);
  route<N32fErrorInfo>("n32f-error", "N32fErrorInfo", n32fError);

  app.notFound((c) => {
    const p = msg.problemBody(mkProblem(404, "RESOURCE_NOT_FOUND", "no such N32-c resource"));
    return c.newResponse(JSON.stringify(p), 404, { "content-type": PROBLEM_JSON });
  });

  return {
    app,
    kit,
    stop() {
      for (const k of [...kit.negotiations.keys()]) kit.finish(k);
    },
  };
}
