// test/support/csepp-alone.ts — a cSEPP (src/datapath/csepp.ts) on its own, without any N32 association: it
// resolves the target and picks the peer, then answers 503 (no context). The peers it asked the N32-c view about
// are recorded, so a test sees which peer a request was routed to without any network.
import type { SeppConfig } from "../../src/config/schema.ts";
import { CSepp } from "../../src/datapath/csepp.ts";
import type { PeerN32fClients } from "../../src/datapath/n32f-clients.ts";
import type { ProducerClients } from "../../src/datapath/producer-clients.ts";
import { memoryLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { PeerLimits } from "../../src/sbi/limits.ts";
import type { TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };

/** A cSEPP over `config()` whose N32-c view knows no association; `asked` collects the peers it looked up. */
export function cseppAlone(o: {
  config: () => SeppConfig;
  telescopic: TelescopicStore;
  /** peers whose limits are configured (default: the configuration's) */
  limitPeers?: SeppConfig["peers"];
}): { csepp: CSepp; asked: string[] } {
  const asked: string[] = [];
  const metrics = new Registry();
  const limits = new PeerLimits({ metrics });
  limits.configure((o.limitPeers ?? o.config().peers).map((p) => ({ id: p.id, ...p.n32f })));
  const csepp = new CSepp({
    config: o.config,
    log: memoryLogger("debug"),
    metrics,
    contexts: new N32fContextStore(),
    n32c: {
      // no association: 503 once the peer is chosen
      brief: (peerId) => {
        asked.push(peerId);
        return undefined;
      },
      reportError: async () => {},
      handshake: async () => undefined,
      renegotiate: () => false,
    },
    prins: new PrinsEngine({ defaults: defaults as ProtectionPolicy, riTrust: new TrustStore([], []) }),
    peerClients: {} as PeerN32fClients,
    producers: {} as ProducerClients,
    telescopic: o.telescopic,
    limits,
    trust: () => new TrustStore([], []),
    sbiEndpoint: () => ({ scheme: "http", port: 8080 }),
  });
  return { csepp, asked };
}
