// bench/n32f/cases.ts — the messages of bench:n32f (small, typical, large; see bench/n32f.ts and docs/PERFORMANCE.md
// "N32-f engine"): built from the test fixtures, with their HTTP size and their JSON form for the floor.
import { newMessageId, type RequestRef } from "../../src/n32f/engine.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { loadFixtures, multipartBytes, type Fixture } from "../../test/fixtures/messages/load.ts";

const te = new TextEncoder();
const td = new TextDecoder();

// ------------------------------------------------------------------------------------------------ messages

export const fixtures = loadFixtures();
export const fixture = (name: string): Fixture => {
  const f = fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`fixture ${name} missing`);
  return f;
};

/** Bytes of the message on HTTP/1-style accounting: request/status line + "name: value\r\n" headers + body. */
export function messageSize(m: HttpMessage): number {
  const line = m.kind === "request" ? `${m.method} ${m.path}${m.query ? `?${m.query}` : ""} HTTP/2\r\n`.length : 14;
  return line + m.headers.reduce((a, [n, v]) => a + n.length + v.length + 4, 0) + (m.body?.byteLength ?? 0);
}

/** Deterministic filler bytes (a real N2 SM container is opaque binary). */
export function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Case {
  size: "small" | "typical" | "large";
  what: string;
  message: HttpMessage;
  /** for responses: the request it answers */
  request?: RequestRef;
  /** a per-peer policy adding protection (P4), or none */
  peerPolicy?: ProtectionPolicy;
}

/** small: Nausf 5G AKA confirmation PUT (RES*, authorization header encrypted). */
export function smallCase(): Case {
  const f = fixture("nausf-5g-aka-confirmation.request");
  return { size: "small", what: "Nausf_UEAuthentication 5g-aka-confirmation PUT", message: f.message };
}

/**
 * typical: the Nudm_SDM am-data 200 (AccessAndMobilitySubscriptionData) of the fixture, grown to ≈1.5 KB with
 * more of the members TS 29.503 defines. The policy encrypts its UEIDs (gpsis, P4 default) and LOCATION
 * (mdtConfiguration/areaScope/nrCellIdList).
 */
export function typicalCase(): Case {
  const f = fixture("nudm-sdm-am-data.response");
  const json = JSON.parse(td.decode(f.message.body!)) as Record<string, unknown>;
  Object.assign(json, {
    gpsis: ["msisdn-491700000001", "msisdn-491700000002"],
    internalGroupIds: ["262-01-00000001", "262-01-00000002", "262-01-00000003"],
    sharedDataIds: ["26201-shared-am-01", "26201-shared-am-02"],
    coreNetworkTypeRestrictions: ["EPC"],
    serviceAreaRestriction: {
      restrictionType: "ALLOWED_AREAS",
      areas: [{ tacs: ["000001", "000002", "000003", "000004"] }, { areaCode: "area-51" }],
      maxNumOfTAs: 16,
    },
    forbiddenAreas: [{ tacs: ["0000F1", "0000F2"] }],
    odbPacketServices: "ALL_PACKET_SERVICES",
    ueUsageType: 1,
    mcsPriority: false,
    stnSr: "stn-sr-0123456789",
    cMsisdn: "cmsisdn-491700000001",
    nbIoTUePriority: 3,
    nssaiInclusionAllowed: true,
    rgWirelineCharacteristics: "AQID",
    ecRestrictionDataWb: { ecModeARestricted: false, ecModeBRestricted: true },
    primaryRatRestrictions: ["NR"],
    secondaryRatRestrictions: ["EUTRA"],
    edrxParametersList: [
      { ratType: "NR", edrxValue: "0101" },
      { ratType: "EUTRA", edrxValue: "0011" },
    ],
    iabOperationAllowed: false,
    subscribedDnnList: ["internet", "ims", "mms"],
  });
  (json.mdtConfiguration as { areaScope: { nrCellIdList: string[] } }).areaScope.nrCellIdList.push(
    "00ABC1232",
    "00ABC1233",
  );
  const message: HttpMessage = {
    ...f.message,
    headers: f.message.headers.map(([n, v]) => [n, v]),
    body: te.encode(JSON.stringify(json)),
  };
  const r = f.request!;
  return {
    size: "typical",
    what: "Nudm_SDM am-data 200 (gpsis, nrCellIdList encrypted)",
    message,
    request: { method: r.method, path: r.path, messageId: newMessageId() },
  };
}

/**
 * large: the Nsmf_PDUSession create request (multipart/related: JSON + N1 SM + N2 SM), the binary parts grown
 * so the message is ≈16 KB; a per-peer policy also encrypts the N1 SM part (MULTIPART_BINARY, P4).
 */
export function largeCase(): Case {
  const f = fixture("nsmf-pdusession-create.request");
  const mp = f.multipart!;
  const parts = mp.parts.map((p, i) => ({
    headers: p.headers,
    data: i === 1 ? bytes(2_000, 7) : i === 2 ? bytes(12_000, 11) : p.data!,
  }));
  const body = multipartBytes(mp.boundary, parts);
  const message: HttpMessage = { ...f.message, headers: f.message.headers.map(([n, v]) => [n, v]), body };
  const peerPolicy: ProtectionPolicy = {
    apiIeMappingList: [
      {
        apiSignature: f.message.path!,
        apiMethod: f.message.method!,
        IeList: (f.encryptParts ?? []).map((id) => ({
          ieLoc: "MULTIPART_BINARY" as const,
          ieType: "OTHER" as const,
          reqIe: id,
        })),
      },
    ],
    dataTypeEncPolicy: ["OTHER"],
  };
  return { size: "large", what: "Nsmf_PDUSession create POST multipart (JSON + N1 SM + N2 SM)", message, peerPolicy };
}

/** The message as one JSON text (line, headers, JSON body or base64 parts): what the floor parses and seals. */
export function messageAsJson(c: Case): string {
  const m = c.message;
  const ct = m.headers.find(([n]) => n === "content-type")?.[1] ?? "";
  let body: unknown = null;
  if (c.size === "large") {
    const f = fixture("nsmf-pdusession-create.request");
    body = {
      root: f.multipart!.parts[0]!.json,
      parts: [bytes(2_000, 7), bytes(12_000, 11)].map((b) => Buffer.from(b).toString("base64")),
    };
  } else if (ct.includes("json") && m.body) body = JSON.parse(td.decode(m.body));
  return JSON.stringify({
    line:
      m.kind === "request"
        ? { method: m.method, scheme: m.scheme, authority: m.authority, path: m.path, query: m.query }
        : m.status,
    headers: m.headers,
    body,
  });
}
