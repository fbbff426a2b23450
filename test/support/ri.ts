// test/support/ri.ts — a Roaming Intermediary for tests (TS 33.501 13.2.4.5.2, 13.2.4.8): it sits outside the
// SEPP, so it is written independently of src/n32f/modifications.ts and signs with `jose` (devDependency).
//
// As a cRI/pRI does, it reads the clear encapsulated message from reformattedData.aad, applies the patches of the
// RIs before it (the second RI patches the first one's result), computes a JSON Patch (RFC 6902, fast-json-patch
// `compare`) from that document to the one it wants — or takes explicit operations —, builds Modifications
// {identity, operations, tag = the JWE tag}, signs it as a flattened JWS with ES256 and appends it to
// modificationsBlock. Knobs let tests produce every wrong variant (other alg, other key, other tag, other identity).
import { applyPatch, compare, deepClone, type Operation } from "fast-json-patch";
import { FlattenedSign, importPKCS8 } from "jose";
import type {
  DataToIntegrityProtectBlock,
  FlatJwsJson,
  IeInfo,
  IpxProviderSecInfo,
  Modifications,
  N32fReformattedReqMsg,
  PatchItem,
  ProtectionPolicy,
} from "../../src/model/n32.ts";
import { type DevCa, type DevCert, issueRiCert, pemToBase64Der } from "../../src/pki/devpki.ts";
import { HOME_AUSF } from "../../scripts/lib/pair.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { aadOf, type ProxyRequest } from "./n32-proxy.ts";
import { type NfClient, type NfResponse, startNf, type TestNf } from "./nf.ts";
import type { TwoSeppsOptions } from "./two-sepps.ts";

export interface SignOptions {
  /** protected header; default {"alg":"ES256"} */
  protectedHeader?: Record<string, unknown>;
  /** a key other than this RI's (e.g. a peer SEPP's, or another association's RI) */
  key?: CryptoKey | Uint8Array;
  /** sign with jose using this alg (the key must fit it) */
  alg?: string;
  /** replace the Modifications payload members (identity, tag, …) */
  payload?: Partial<Modifications> & Record<string, unknown>;
  /** hand-made signature (e.g. alg "none": "") */
  rawSignature?: string;
}

const enc = new TextEncoder();
const b64u = (b: Uint8Array | string) => Buffer.from(typeof b === "string" ? enc.encode(b) : b).toString("base64url");

/** The clear block of a message as an RI sees it: the aad with every earlier modification applied. */
export function currentBlock(msg: N32fReformattedReqMsg): DataToIntegrityProtectBlock {
  const aad = msg.reformattedData.aad;
  if (aad === undefined) throw new Error("test RI: no aad");
  let doc = JSON.parse(Buffer.from(aad, "base64url").toString("utf8")) as DataToIntegrityProtectBlock;
  for (const jws of msg.modificationsBlock ?? []) {
    const m = JSON.parse(Buffer.from(jws.payload, "base64url").toString("utf8")) as Modifications;
    if (m.operations) doc = applyPatch(doc, deepClone(m.operations) as Operation[], false, false).newDocument;
  }
  return doc;
}

export class TestRi {
  readonly ipxProviderId: string;
  readonly cert: DevCert;
  readonly privateKey: CryptoKey;

  private constructor(ipxProviderId: string, cert: DevCert, privateKey: CryptoKey) {
    this.ipxProviderId = ipxProviderId;
    this.cert = cert;
    this.privateKey = privateKey;
  }

  /** An RI with a certificate issued by `ca` (the RI root): dNSName = ipxProviderId, P-256 (P10). */
  static async create(
    ca: DevCa,
    ipxProviderId: string,
    opts: { curve?: "P-256" | "P-384"; notBefore?: Date; notAfter?: Date } = {},
  ): Promise<TestRi> {
    const cert = await issueRiCert(ca, { ipxProviderId, ...opts });
    const key = (await importPKCS8(cert.keyPem, opts.curve === "P-384" ? "ES384" : "ES256")) as CryptoKey;
    return new TestRi(ipxProviderId, cert, key);
  }

  /** What the SEPP announces for this RI on N32-c (P5: base64 DER certificate). */
  secInfo(): IpxProviderSecInfo {
    return { ipxProviderId: this.ipxProviderId, certificateList: [pemToBase64Der(this.cert.certPem)] };
  }

  /** Sign a Modifications payload as a flattened JWS (ES256 unless told otherwise). */
  async sign(mods: Modifications, o: SignOptions = {}): Promise<FlatJwsJson> {
    const payload = { ...mods, ...o.payload };
    const header = o.protectedHeader ?? { alg: o.alg ?? "ES256" };
    if (o.rawSignature !== undefined) {
      return {
        protected: b64u(JSON.stringify(header)),
        payload: b64u(JSON.stringify(payload)),
        signature: o.rawSignature,
      };
    }
    const jws = await new FlattenedSign(enc.encode(JSON.stringify(payload)))
      .setProtectedHeader(header as { alg: string })
      .sign(o.key ?? this.privateKey);
    return { protected: jws.protected!, payload: jws.payload, signature: jws.signature };
  }

  /**
   * Modify a message in transit: `change` is either explicit operations or a function that edits the clear block
   * (the patch is then computed). Returns a new message with the JWS appended; the input is not changed.
   */
  async modify(
    msg: N32fReformattedReqMsg,
    change: PatchItem[] | ((block: DataToIntegrityProtectBlock) => void) | null,
    o: SignOptions = {},
  ): Promise<N32fReformattedReqMsg> {
    let operations: PatchItem[] | undefined;
    if (Array.isArray(change)) operations = change;
    else if (change) {
      const before = currentBlock(msg);
      const after = deepClone(before) as DataToIntegrityProtectBlock;
      change(after);
      operations = compare(before, after) as PatchItem[];
    }
    const mods: Modifications = { identity: this.ipxProviderId, tag: msg.reformattedData.tag! };
    if (operations && operations.length > 0) mods.operations = operations;
    const jws = await this.sign(mods, o);
    return { reformattedData: msg.reformattedData, modificationsBlock: [...(msg.modificationsBlock ?? []), jws] };
  }
}

type PeerInput = NonNullable<SeppConfigInput["peers"]>[number];

/**
 * One RI on the association of a two-SEPP pair (P5, P11), as an `edit` of test/support/two-sepps.ts: both SEPPs
 * trust `root` for RI certificates; `owner` lists the RI as its own (`authorized`: the first hop allowed to modify
 * its messages), the other side as the peer's; `announceToRi` turns the P6 announcement on (off by default, P11).
 * Returns the side's peer entry for the test's further edits.
 */
export function riAssociation(
  side: "visited" | "home",
  c: SeppConfigInput,
  o: { ri: TestRi; root: DevCa; owner: "visited" | "home"; authorized?: boolean; announceToRi?: boolean },
): PeerInput {
  const peer = c.peers![0]!;
  c.tls!.riTrustAnchors = [o.root.certPem];
  if (o.announceToRi) peer.profile = { ...peer.profile, announceToRi: true };
  const own = side === o.owner;
  peer.roamingIntermediaries = [
    {
      ipxProviderId: o.ri.ipxProviderId,
      side: own ? "own" : "peer",
      certificates: [o.ri.cert.certPem],
      ...(own && o.authorized ? { authorized: true } : {}),
    },
  ];
  return peer;
}

/**
 * The layout of the wire suites, as startTwoSepps options: the visited SEPP's own authorized RI `ri` (trusted under
 * `root`) with the P6 announcement on, and a hostile peer in front of each SEPP — `f` on the home SEPP's N32-f, `c`
 * on the visited SEPP's N32-c; `edit` then gets each side's configuration and peer entry.
 */
export function riWire(
  ri: TestRi,
  root: DevCa,
  edit: (side: "visited" | "home", c: SeppConfigInput, peer: PeerInput) => void,
): Pick<TwoSeppsOptions<"f" | "c">, "proxies" | "edit"> {
  return {
    proxies: { f: { target: "home", via: "n32f" }, c: { target: "visited", via: "n32c" } },
    edit: (side, c) =>
      edit(side, c, riAssociation(side, c, { ri, root, owner: "visited", authorized: true, announceToRi: true })),
  };
}

/** The AUSF authentication API (TS 29.509) the RI tests modify in transit. */
export const AUTH_PATH = "/nausf-auth/v1/ue-authentications";

/** The home AUSF of the RI tests: 201 with the request body as it arrived (what the RIs changed shows in the
 *  answer) and a Location under AUTH_PATH. */
export const startEchoAusf = (): Promise<TestNf> =>
  startNf((r) => ({
    status: 201,
    headers: { "content-type": "application/json", location: `http://${HOME_AUSF}${AUTH_PATH}/1` },
    body: r.body.toString(),
  }));

/**
 * The sending side's protection policy for the RI tests (TS 29.573 6.1.5.2.x ApiIeMapping): RI `riId` may change
 * servingNetworkName (a clear IE) in the AUSF authentication request, and the IEs in `more`.
 */
export function authRiPolicy(riId: string, ...more: IeInfo[]): ProtectionPolicy {
  return {
    apiIeMappingList: [
      {
        apiSignature: AUTH_PATH,
        apiMethod: "POST",
        IeList: [
          { ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/servingNetworkName", isModifiableByIpx: { [riId]: true } },
          ...more,
        ],
      },
    ],
  };
}

/** An n32f-process request (the N32-f message path, TS 29.573 5.3.2). */
export const isProcess = (r: ProxyRequest): boolean => r.path === "/n32f-forward/v1/n32f-process";
/** The requestLine path in an n32f-process body's aad, or "" when the body is not one. */
export const aadPath = (r: ProxyRequest): string => {
  try {
    return String(aadOf(r.body).requestLine?.path ?? "");
  } catch {
    return "";
  }
};

/** An edit for TestRi.modify: set the clear IE at `iePath` (a payload entry of the block) to `value`. */
export const setIe =
  (iePath: string, value: unknown) =>
  (b: DataToIntegrityProtectBlock): void => {
    const e = b.payload!.find((p) => p.iePath === iePath)!;
    e.value = value as never;
  };

/** The AMF's Nausf UEAuthenticate request (TS 29.509) to the home AUSF on `ausfPort`; `extra` members follow. */
export const postAuth = (
  amf: NfClient,
  ausfPort: number,
  supiOrSuci: string,
  servingNetworkName: string,
  extra: Record<string, string> = {},
): Promise<NfResponse> =>
  amf.request(
    "POST",
    `${HOME_AUSF}:${ausfPort}`,
    AUTH_PATH,
    { "content-type": "application/json" },
    JSON.stringify({ supiOrSuci, servingNetworkName, ...extra }),
  );
