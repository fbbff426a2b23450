// test/support/fuzz.ts — shared pieces of the hostile-input tests (test/fuzz-*.test.ts): a raw HTTP/2 client
// over mutual TLS that speaks to a SEPP's N32 port AS the legitimate peer (the test holds the peer's
// certificate), the health checks every fuzz file ends with (health UP, no request in flight, no error lines in
// the SEPP's log), and a few generators of hostile JSON. Nothing here is part of the SEPP.
import http2 from "node:http2";
import fc from "fast-check";
import { HOME, HOME_UDM, type SeppProcess, type SeppSide } from "../../scripts/lib/pair.ts";
import type { PairPki } from "../../scripts/lib/pair-pki.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { startNf, type TestNf } from "./nf.ts";
import { type TwoSepps, startTwoSepps } from "./two-sepps.ts";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** the body as JSON, or undefined when it is not JSON */
  json(): any;
}

/** A raw HTTP/2 client: any method, path, headers and body; answers bounded in time and size. */
export class RawH2 {
  #session: http2.ClientHttp2Session | null = null;
  constructor(
    private readonly url: string,
    private readonly tls?: { cert: string; key: string; ca: string[]; servername: string },
  ) {}

  #get(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    const n = this.tls
      ? http2.connect(this.url, {
          cert: this.tls.cert,
          key: this.tls.key,
          ca: this.tls.ca,
          servername: this.tls.servername,
          ALPNProtocols: ["h2"],
        })
      : http2.connect(this.url);
    n.on("error", () => {});
    this.#session = n;
    return n;
  }

  /** Like request(), but the body is written and the stream never ended (a stalled client, "slowloris"). */
  stalled(
    method: string,
    path: string,
    headers: Record<string, string>,
    partialBody: string,
    authority?: string,
    timeoutMs = 10000,
  ): Promise<RawResponse> {
    return this.request(method, path, headers, partialBody, authority, timeoutMs, false);
  }

  request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string | Uint8Array,
    authority?: string,
    timeoutMs = 10000,
    end = true,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      let s: http2.ClientHttp2Stream;
      const session = this.#get();
      try {
        s = session.request(
          { ":method": method, ":path": path, ...(authority ? { ":authority": authority } : {}), ...headers },
          { endStream: body === undefined },
        );
      } catch (e) {
        if (isClientRefusal(e)) this.#drop(session);
        return reject(e);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let status = 0;
      const rh: Record<string, string> = {};
      const t = setTimeout(() => {
        s.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error(`${method} ${path.slice(0, 80)}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      s.on("response", (h) => {
        status = Number(h[":status"]);
        for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && v !== undefined) rh[k] = String(v);
      });
      s.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= 4 << 20) chunks.push(c);
      });
      s.on("end", () => {
        clearTimeout(t);
        const b = Buffer.concat(chunks);
        resolve({
          status,
          headers: rh,
          body: b,
          json: () => {
            try {
              return JSON.parse(b.toString());
            } catch {
              return undefined;
            }
          },
        });
      });
      s.on("error", (e) => {
        clearTimeout(t);
        // Bun's client adds a refused request's first fields to its HPACK table before it refuses a later one, so
        // the server's table no longer matches and the next request on this connection ends it (COMPRESSION_ERROR,
        // RFC 7541 2.3.2): take a fresh connection after a refusal, so one input's refusal costs no other input
        if (isClientRefusal(e)) this.#drop(session);
        reject(e);
      });
      if (body !== undefined) {
        if (end) s.end(body);
        else s.write(body);
      }
    });
  }

  close(): void {
    this.#session?.close();
    this.#session = null;
  }

  /** No new request on `s` (streams already on it finish); the next request opens a new connection. */
  #drop(s: http2.ClientHttp2Session): void {
    s.close();
    if (this.#session === s) this.#session = null;
  }
}

/** Sum of a metric's samples in the SEPP's /metrics. */
export async function metricSum(s: SeppProcess, name: string, labelFilter?: RegExp): Promise<number> {
  const text = await (await s.admin("/metrics")).text();
  return text
    .split("\n")
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && (!labelFilter || labelFilter.test(l)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

/** Error lines of the SEPP's log (level "error"), each shortened for a readable failure message. */
export function errorLines(s: SeppProcess, from = 0): string[] {
  return s.logs
    .slice(from)
    .filter(
      (l) =>
        l.level === "error" ||
        l.level === "fatal" ||
        (typeof l.raw === "string" && /error|exception|at .*\.ts:\d+/i.test(l.raw)),
    )
    .map((l) => JSON.stringify(l).slice(0, 600));
}

/** The SEPP is healthy after the fuzzing: /v1/health UP, nothing in flight, no error lines in its log. */
export async function expectHealthy(s: SeppProcess, expect: (v: unknown) => any, logFrom = 0): Promise<void> {
  expect(s.proc.exitCode).toBeNull();
  const h = await fetch(`http://127.0.0.1:${s.side.ports.admin}/v1/health`);
  expect(h.status).toBe(200);
  expect(((await h.json()) as { status: string }).status).toBe("UP");
  // in-flight requests and their timers settle asynchronously after the last answer was read: wait for 0, bounded
  const end = Date.now() + 5000;
  const counts = async () => [await metricSum(s, "sepp_datapath_inflight"), await metricSum(s, "sepp_datapath_timers")];
  let left = await counts();
  while (left.some((n) => n !== 0) && Date.now() < end) {
    await Bun.sleep(20);
    left = await counts();
  }
  expect(left).toEqual([0, 0]); // [requests in flight, data path timers armed]
  expect(errorLines(s, logFrom)).toEqual([]);
  // hostile input is never logged unbounded (debug traces of whole messages are the operator's choice)
  expect(
    s.logs
      .slice(logFrom)
      .filter((l) => l.level !== "debug" && JSON.stringify(l).length > 8192)
      .map((l) => JSON.stringify(l).slice(0, 300)),
  ).toEqual([]);
}

/** A ProblemDetails answer with a 4xx status and a cause. */
export function isProblem4xx(r: RawResponse): boolean {
  const pd = r.json();
  return (
    r.status >= 400 &&
    r.status < 500 &&
    (r.headers["content-type"] ?? "").startsWith("application/problem+json") &&
    typeof pd?.cause === "string" &&
    pd.status === r.status
  );
}

/** `[[[…]]]` or `{"a":{"a":…}}` nested `depth` levels deep (as text: JSON.stringify would recurse). */
export function deepJson(depth: number, kind: "array" | "object" = "array", leaf = "1"): string {
  return kind === "array"
    ? "[".repeat(depth) + leaf + "]".repeat(depth)
    : '{"a":'.repeat(depth) + leaf + "}".repeat(depth);
}

export const b64u = (s: string | Uint8Array): string => Buffer.from(s).toString("base64url");

/** An error the node:http2 CLIENT raises before anything is sent (a header or path it will not encode). Matched
 * on the error's code, not on its text, so that an error from the SEPP's side is never taken for one. */
export function isClientRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^ERR_(HTTP2_)?INVALID_/.test(code);
}

/**
 * The SEPP reset the stream as malformed because `value`, a field value the test sent, starts or ends with whitespace
 * (RFC 9113 §8.2.1: such a request is malformed, §8.1.1: a stream error). Only that value may explain the reset.
 */
export function isWhitespaceEdgeReset(e: unknown, value: string): boolean {
  return /NGHTTP2_PROTOCOL_ERROR/.test(String(e)) && /^[ \t]|[ \t]$/.test(value);
}

/** Counts the inputs of a fuzz run that tested nothing (the client could not send them, or a broad outcome was
 * accepted), so that a run where most inputs are skipped fails instead of passing on what it never checked. */
export class SkipTally {
  runs = 0;
  readonly skipped = new Map<string, number>();
  constructor(
    readonly name: string,
    /** the largest share of runs that may be skipped, stated by each test */
    readonly maxShare: number,
  ) {}
  run(): void {
    this.runs++;
  }
  skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }
  get skippedCount(): number {
    let n = 0;
    for (const c of this.skipped.values()) n += c;
    return n;
  }
  /** Throws when the runs are zero or the skipped share exceeds maxShare; prints the tally either way. */
  check(): void {
    const share = this.runs === 0 ? 1 : this.skippedCount / this.runs;
    const detail = [...this.skipped].map(([r, c]) => `${r}: ${c}`).join(", ") || "none";
    console.log(`${this.name}: ${this.runs} runs, ${this.skippedCount} skipped (${detail})`);
    if (this.runs === 0 || share > this.maxShare)
      throw new Error(
        `${this.name}: ${this.skippedCount} of ${this.runs} inputs skipped (${detail}), more than ${this.maxShare * 100} %`,
      );
  }
}

/** The legitimate visited SEPP's N32 connection to the home SEPP of a `writePair` pair, as a raw HTTP/2 client
 *  (the fuzz suites speak for the visited SEPP with its own certificate). */
export function rawPeerToHome(home: SeppSide, pki: PairPki): RawH2 {
  return new RawH2(`https://127.0.0.1:${home.ports.n32}`, {
    cert: pki.certV.chainPem,
    key: pki.certV.keyPem,
    ca: [pki.rootV.certPem, pki.rootH.certPem],
    servername: HOME.fqdn,
  });
}

/** Options of `hostileValue`: the bounds each protocol's fuzz test sizes for its listener. */
export interface HostileOptions {
  /** longest short string (graphemes), default 30 */
  stringMax?: number;
  /** length range of the huge emoji string (code units), default 1000..20000; null: none */
  huge?: [number, number] | null;
  /** nesting depth range of the deep JSON, default 100..3000, and which kinds (default both) */
  deep?: [number, number];
  deepKinds?: Array<"array" | "object">;
  /** floating point values too (default true) */
  doubles?: boolean;
  /** depth of the random JSON values, default 4 */
  jsonDepth?: number;
  /** values of this protocol (encBlockIndex shapes, long arrays …) */
  extra?: Array<fc.Arbitrary<unknown>>;
}

/** The one generator of hostile JSON values of the fuzz tests and the fuzz campaign (scripts/fuzz/gen.ts): wrong
 *  types, long and odd strings, deep nesting, prototype keys, random JSON, plus the protocol's own `extra`. */
export function hostileValue(o: HostileOptions = {}): fc.Arbitrary<unknown> {
  const [dMin, dMax] = o.deep ?? [100, 3000];
  const huge = o.huge === undefined ? ([1000, 20000] as [number, number]) : o.huge;
  return fc.oneof(
    fc.integer(),
    ...(o.doubles === false ? [] : [fc.double()]),
    fc.boolean(),
    fc.constant(null),
    fc.string({ unit: "grapheme", maxLength: o.stringMax ?? 30 }),
    ...(huge ? [fc.integer({ min: huge[0], max: huge[1] }).map((n) => "\u{1F600}".repeat(n / 2))] : []),
    ...(o.deepKinds ?? (["array", "object"] as const)).map((k) =>
      fc.integer({ min: dMin, max: dMax }).map((d) => JSON.parse(deepJson(d, k))),
    ),
    ...(o.extra ?? []),
    // a fresh object per sample: one shared constant, mutated in place by a generator (scripts/fuzz/gen.ts sets
    // members of generated objects to generated values), became a cycle that JSON.stringify could not send
    fc
      .constant('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')
      .map((t) => JSON.parse(t)),
    fc.jsonValue({ maxDepth: o.jsonDepth ?? 4 }),
  );
}

/** The subscriber the fuzz UDM knows, and its am-data path (TS 29.503). */
export const FUZZ_SUPI = "imsi-262010000000001";
export const FUZZ_AM_PATH = `/nudm-sdm/v2/${FUZZ_SUPI}/am-data`;

/**
 * The home UDM of the fuzz suites: 200 am-data for FUZZ_SUPI, 404 USER_NOT_FOUND for anything else; each answer
 * carries `x-fuzz-udm: 1` so that a test tells the UDM's own answer from a SEPP's (fromFuzzUdm).
 */
export function startFuzzUdm(): Promise<TestNf> {
  return startNf((r) => ({
    status: r.path.startsWith(FUZZ_AM_PATH) ? 200 : 404,
    headers: { "content-type": "application/json", "x-fuzz-udm": "1" },
    body: JSON.stringify(
      r.path.startsWith(FUZZ_AM_PATH) ? { gpsis: ["msisdn-491700000001"] } : { status: 404, cause: "USER_NOT_FOUND" },
    ),
  }));
}
/** an answer the fuzz UDM produced (it marks each one) */
export const fromFuzzUdm = (r: RawResponse): boolean => r.headers["x-fuzz-udm"] === "1";

/**
 * Every answer a fuzz suite got, by what it sent, and the checks against the fuzz UDM (`udm()`: started in
 * beforeAll; the two expect… members may be taken out of the object): refused by a SEPP, or delivered; and, at the end, the 5xx a SEPP produced (there must be none).
 */
export class FuzzAnswers {
  readonly list: Array<{ what: string; r: RawResponse }> = [];
  constructor(private readonly udm: () => TestNf) {}
  add(what: string, r: RawResponse): RawResponse {
    this.list.push({ what, r });
    return r;
  }
  /** Refused by a SEPP: 4xx ProblemDetails with a cause, and the UDM saw nothing since `udmBefore`. */
  readonly expectRefused = (r: RawResponse, what: string, udmBefore: number): void => {
    const udm = this.udm();
    if (!isProblem4xx(r) || fromFuzzUdm(r) || udm.received.length !== udmBefore)
      throw new Error(
        `${what}: ${r.status} ${r.headers["content-type"]} udm=${udm.received.length - udmBefore} ${r.body.toString().slice(0, 300)}`,
      );
  };
  /** Either the UDM's own answer or a SEPP's 4xx ProblemDetails (and then nothing reached the UDM). */
  readonly expectUdmOr4xx = (r: RawResponse, what: string, udmBefore: number): void => {
    if (!fromFuzzUdm(r)) this.expectRefused(r, what, udmBefore);
  };
  /** The UDM's own answer, and exactly one more request at the UDM since `udmBefore`. */
  delivered(r: RawResponse, udmBefore: number): boolean {
    return fromFuzzUdm(r) && this.udm().received.length === udmBefore + 1;
  }
  /** The answers that were a 5xx of a SEPP (not the UDM's), as lines. */
  seppErrors(): string[] {
    return this.list
      .filter((a) => a.r.status >= 500 && !fromFuzzUdm(a.r))
      .map((a) => `${a.what}: ${a.r.status} ${a.r.body.toString().slice(0, 120)}`);
  }
}

/**
 * Lifts the rate limits out of a fuzz run's way: N32-c (the refusals are reported with n32f-error over N32-c)
 * and, unless `n32f` is false, the peer's N32-f rate and pending-request limits.
 */
export function liftRateLimits(c: SeppConfigInput, n32f = true): void {
  c.n32c = { ...c.n32c, maxRequestsPerSecond: 100_000 };
  if (n32f) c.peers![0]!.n32f = { ...c.peers![0]!.n32f, maxRequestsPerSecond: 100_000, maxPendingRequests: 1000 };
}

/**
 * The pair of the N32-f TLS-mode and SBI fuzz suites: the fuzz UDM (startFuzzUdm) behind the home SEPP, one
 * capability, both SEPPs' rate limits lifted (liftRateLimits), then `edit` on each configuration.
 */
export async function startFuzzPair(
  name: string,
  mode: "PRINS" | "TLS",
  edit?: (c: SeppConfigInput) => void,
): Promise<{ w: TwoSepps; udm: TestNf }> {
  const udm = await startFuzzUdm();
  const w = await startTwoSepps({
    name,
    capabilities: [mode],
    homeNfs: { [HOME_UDM]: udm },
    edit: (_side, c) => {
      liftRateLimits(c);
      edit?.(c);
    },
  });
  return { w, udm };
}
