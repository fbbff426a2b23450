// N32-f context (TS 33.501 13.2.2.4, N32-PROFILE P1): key/salt selection per N32-c role (digest §7b), SEQ
// counters and nonces, replay window, life cycle, secrecy of keys, and the context store (P7, P10).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type AeadEngine, type AeadKey, SoftwareAeadEngine } from "../../hw/aead.ts";
import { createN32fContext, MAX_SEQ, type N32fAssociation, type N32fContextParams } from "../../src/n32f/context.ts";
import { N32fContextStore, N32fContextStoreError } from "../../src/n32f/context-store.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { openJwe, parseJwe, protectJwe } from "../../src/n32f/jwe.ts";
import { REPLAY_WINDOW, ReplayWindow } from "../../src/n32f/replay.ts";
import { bareAssociation, sideParams } from "../support/contexts.ts";
import { n32fVectors } from "../support/vectors.ts";

const vectors = n32fVectors();
const INITIATOR_ID = vectors.kdf.ctxId; // 9f3c2a7b01d4e6a8: the initiator's, fed to the KDF (P1 default)
const RESPONDER_ID = "51b0c7e2aa93f410";
const enc = new TextEncoder();

/** The software engine, observed: remembers the raw key buffers it was given and the keys it made. */
class ObservedEngine implements AeadEngine {
  readonly name = "software-observed";
  readonly inner = new SoftwareAeadEngine();
  readonly raws: Uint8Array[] = [];
  readonly keys: AeadKey[] = [];
  importKey(raw: Uint8Array): AeadKey {
    this.raws.push(raw);
    const k = this.inner.importKey(raw);
    this.keys.push(k);
    return k;
  }
  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, pt: Uint8Array) {
    return this.inner.seal(key, iv, aad, pt);
  }
  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, ct: Uint8Array, tag: Uint8Array) {
    return this.inner.open(key, iv, aad, ct, tag);
  }
}

const association = (): N32fAssociation =>
  bareAssociation("sepp.5gc.mnc015.mcc234.3gppnetwork.org", { remotePlmnIds: [{ mcc: "234", mnc: "15" }] });

function params(role: "initiator" | "responder", over: Partial<N32fContextParams> = {}): N32fContextParams {
  const master = Buffer.from(vectors.kdf.master_hex, "hex");
  const ids = { initiatorId: INITIATOR_ID, responderId: RESPONDER_ID, master, validForMs: 86_400_000 };
  const peerId = role === "initiator" ? "peer-234-15" : "peer-262-01";
  return sideParams(role, ids, { peerId, association: association(), ...over });
}
const pair = (over: Partial<N32fContextParams> = {}) => ({
  ini: createN32fContext(params("initiator", over)),
  rsp: createN32fContext(params("responder", over)),
});

function errorType(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof N32fError) return e.errorType;
    throw e;
  }
  throw new Error("expected an N32fError");
}
const ivHex = (jwe: { iv: string }) => Buffer.from(jwe.iv, "base64url").toString("hex");
const aad = enc.encode('{"metaData":{"n32fContextId":"x","messageId":"1","authorizedIpxId":"NULL"}}');

describe("replay window (4096 per receiving salt)", () => {
  test("in order, repeated, out of order within the window, too old", () => {
    const w = new ReplayWindow();
    expect(w.highest).toBe(-1);
    expect(w.accept(0)).toBe(true);
    expect(w.accept(0)).toBe(false);
    expect(w.accept(5)).toBe(true);
    expect(w.check(3)).toBe(true);
    expect(w.accept(3)).toBe(true); // out of order, once
    expect(w.accept(3)).toBe(false);
    expect(w.accept(10_000)).toBe(true);
    expect(w.check(10_000 - REPLAY_WINDOW)).toBe(false); // ≤ highest − 4096
    expect(w.accept(10_000 - REPLAY_WINDOW)).toBe(false);
    expect(w.accept(10_000 - REPLAY_WINDOW + 1)).toBe(true); // the oldest still inside
    expect(w.accept(10_000 - REPLAY_WINDOW + 1)).toBe(false);
    expect(w.accept(9_999)).toBe(true);
    expect(w.highest).toBe(10_000);
    expect(w.accepted).toBe(6);
  });

  test("a jump beyond the window forgets the old bits; the SEQ range is 0..2^32-1", () => {
    const w = new ReplayWindow();
    for (let s = 0; s < 100; s++) expect(w.accept(s)).toBe(true);
    expect(w.accept(MAX_SEQ)).toBe(true);
    expect(w.accept(MAX_SEQ)).toBe(false);
    expect(w.accept(MAX_SEQ - 1)).toBe(true);
    expect(w.accept(50)).toBe(false);
    for (const bad of [-1, MAX_SEQ + 1, 1.5, Number.NaN]) expect(w.check(bad)).toBe(false);
  });

  test("check() never changes the window", () => {
    const w = new ReplayWindow();
    expect(w.check(7)).toBe(true);
    expect(w.check(7)).toBe(true);
    expect(w.highest).toBe(-1);
    expect(w.accepted).toBe(0);
  });

  test("matches a reference model on random SEQ sequences", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 12_000 }), fc.integer({ min: 0, max: 300 })), { maxLength: 400 }),
        (seqs) => {
          const w = new ReplayWindow();
          const seen = new Set<number>();
          let highest = -1;
          for (const s of seqs) {
            const ok = !seen.has(s) && (s > highest || s > highest - REPLAY_WINDOW);
            expect(w.accept(s)).toBe(ok);
            if (ok) {
              seen.add(s);
              highest = Math.max(highest, s);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("createN32fContext", () => {
  test("wipes the master and every raw key; the engine gets 4 keys of the negotiated length", () => {
    for (const e of ["A128GCM", "A256GCM"] as const) {
      const engine = new ObservedEngine();
      const master = Buffer.from(vectors.kdf.master_hex, "hex");
      const ctx = createN32fContext(params("initiator", { master, engine, enc: e }));
      expect(master.every((b) => b === 0)).toBe(true);
      expect(engine.raws.length).toBe(4);
      for (const raw of engine.raws) {
        expect(raw.length).toBe(e === "A128GCM" ? 16 : 32);
        expect(raw.every((b) => b === 0)).toBe(true);
      }
      expect(engine.keys.every((k) => k.bits === (e === "A128GCM" ? 128 : 256))).toBe(true);
      expect(ctx.state).toBe("active");
      expect(ctx.enc).toBe(e);
    }
  });

  test("bad parameters throw RangeError and still wipe the master", () => {
    const cases: Partial<N32fContextParams>[] = [
      { localContextId: "xyz" },
      { peerContextId: "" },
      { kdfContextId: "0000000000000000" },
      { master: new Uint8Array(32).fill(1) },
      { validUntil: Number.NaN },
      { rekeyThreshold: -1 },
      { role: "observer" as never },
    ];
    for (const c of cases) {
      const master = c.master ?? Buffer.from(vectors.kdf.master_hex, "hex");
      expect(() => createN32fContext(params("initiator", { ...c, master }))).toThrow(RangeError);
      expect(master.every((b) => b === 0)).toBe(true);
    }
  });

  test("an engine failure destroys the keys already imported", () => {
    const engine = new ObservedEngine();
    let n = 0;
    const failing: AeadEngine = {
      name: "fails-on-third",
      importKey: (raw) => {
        if (++n === 3) throw new Error("token full");
        return engine.importKey(raw);
      },
      seal: engine.seal.bind(engine),
      open: engine.open.bind(engine),
    };
    expect(() => createN32fContext(params("initiator", { engine: failing }))).toThrow("token full");
    expect(engine.keys.length).toBe(2);
    expect(engine.keys.every((k) => k.destroyed)).toBe(true);
    expect(engine.raws.every((r) => r.every((b) => b === 0))).toBe(true);
  });
});

describe("key and salt selection per role (digest §7b)", () => {
  const salts = vectors.kdf.salts;
  test("each direction uses its own salt and the peer opens it; nothing opens with the wrong direction", () => {
    const { ini, rsp } = pair();
    const cases = [
      { from: ini, to: rsp, kind: "request", salt: salts.parallel_request_iv_salt },
      { from: rsp, to: ini, kind: "response", salt: salts.parallel_response_iv_salt },
      { from: rsp, to: ini, kind: "request", salt: salts.reverse_request_iv_salt },
      { from: ini, to: rsp, kind: "response", salt: salts.reverse_response_iv_salt },
    ] as const;
    for (const c of cases) {
      const pt = enc.encode(`{"dataToEncrypt":["${c.kind}"]}`);
      const jwe = protectJwe(c.from, c.kind, aad, pt);
      expect(ivHex(jwe)).toBe(`${c.salt}00000000`);
      const other = c.kind === "request" ? "response" : "request";
      // the other direction expects another salt
      expect(errorType(() => openJwe(c.to, other, parseJwe(jwe)))).toBe("INTEGRITY_CHECK_FAILED");
      // the sender itself cannot open what it sent (it receives with the other key of that kind)
      expect(errorType(() => openJwe(c.from, c.kind, parseJwe(jwe)))).toBe("INTEGRITY_CHECK_FAILED");
      const opened = openJwe(c.to, c.kind, parseJwe(jwe));
      expect(Buffer.from(opened.plaintext).toString()).toBe(Buffer.from(pt).toString());
      expect(opened.seq).toBe(0);
    }
  });

  test("both sides must feed the same context ID to the KDF", () => {
    const ini = createN32fContext(params("initiator"));
    const rsp = createN32fContext(params("responder", { kdfContextId: RESPONDER_ID }));
    const jwe = protectJwe(ini, "request", aad, enc.encode('{"dataToEncrypt":[1]}'));
    expect(errorType(() => openJwe(rsp, "request", parseJwe(jwe)))).toBe("INTEGRITY_CHECK_FAILED");
    // the per-peer setting kdfContextId: responder works when both use it
    const ini2 = createN32fContext(params("initiator", { kdfContextId: RESPONDER_ID }));
    const jwe2 = protectJwe(ini2, "request", aad, enc.encode('{"dataToEncrypt":[1]}'));
    expect(openJwe(rsp, "request", parseJwe(jwe2)).seq).toBe(0);
  });
});

describe("SEQ counters and nonces (P1)", () => {
  test("nonces of the vectors: salt ‖ SEQ big-endian, reached by advanceSendSeq", () => {
    const ini = createN32fContext(params("initiator"));
    const seqs = Object.keys(vectors.nonces_parallel_request)
      .map(Number)
      .sort((a, b) => a - b);
    expect(seqs).toContain(MAX_SEQ);
    for (const seq of seqs) {
      if (seq > 0) ini.advanceSendSeq("request", seq);
      expect(ivHex(protectJwe(ini, "request", aad, new Uint8Array(0)))).toBe(
        vectors.nonces_parallel_request[String(seq)]!,
      );
    }
  });

  test("one counter per sending salt, +1 per message, shared by everything using the context", () => {
    const { ini, rsp } = pair();
    for (let i = 0; i < 3; i++) {
      const j = protectJwe(ini, "request", aad, new Uint8Array(0));
      expect(openJwe(rsp, "request", parseJwe(j)).seq).toBe(i);
    }
    expect(ivHex(protectJwe(ini, "response", aad, new Uint8Array(0))).endsWith("00000000")).toBe(true);
    const c = ini.counters();
    expect(c).toMatchObject({ sentRequests: 3, sentResponses: 1, nextRequestSeq: 3, nextResponseSeq: 1 });
    expect(rsp.counters()).toMatchObject({
      receivedRequests: 3,
      highestReceivedRequestSeq: 2,
      receivedResponses: 0,
      highestReceivedResponseSeq: -1,
    });
  });

  test("never encrypts with SEQ 2^32: ENCRYPTION_KEY_EXPIRED after SEQ 2^32-1", () => {
    const { ini, rsp } = pair();
    ini.advanceSendSeq("response", MAX_SEQ);
    const last = protectJwe(ini, "response", aad, new Uint8Array(0));
    expect(ivHex(last).endsWith("ffffffff")).toBe(true);
    expect(openJwe(rsp, "response", parseJwe(last)).seq).toBe(MAX_SEQ);
    expect(errorType(() => protectJwe(ini, "response", aad, new Uint8Array(0)))).toBe("ENCRYPTION_KEY_EXPIRED");
    expect(ini.needsRekey()).toBe(true);
    // the request counter is independent
    expect(ivHex(protectJwe(ini, "request", aad, new Uint8Array(0))).endsWith("00000000")).toBe(true);
  });

  test("advanceSendSeq only moves forward", () => {
    const ini = createN32fContext(params("initiator"));
    ini.advanceSendSeq("request", 10);
    expect(() => ini.advanceSendSeq("request", 9)).toThrow(RangeError);
    expect(() => ini.advanceSendSeq("request", MAX_SEQ + 2)).toThrow(RangeError);
    expect(ini.counters().nextRequestSeq).toBe(10);
  });
});

describe("life cycle", () => {
  test("needsRekey at the counter threshold and near the end of validity; isExpired after it", () => {
    let now = 1_000_000;
    const ctx = createN32fContext(
      params("initiator", { now: () => now, validUntil: now + 3_600_000, rekeyThreshold: 100 }),
    );
    expect(ctx.needsRekey()).toBe(false);
    ctx.advanceSendSeq("request", 100);
    expect(ctx.needsRekey()).toBe(false);
    protectJwe(ctx, "request", aad, new Uint8Array(0)); // counter now 101 > 100
    expect(ctx.needsRekey()).toBe(true);

    const c2 = createN32fContext(params("initiator", { now: () => now, validUntil: now + 3_600_000 }));
    expect(c2.rekeyMarginMs).toBe(300_000);
    now += 3_600_000 - 300_001;
    expect(c2.needsRekey()).toBe(false);
    now += 1;
    expect(c2.needsRekey()).toBe(true);
    expect(c2.isExpired()).toBe(false);
    now += 300_000;
    expect(c2.isExpired()).toBe(true);
  });

  test("an expired context neither protects nor opens (ENCRYPTION_KEY_EXPIRED)", () => {
    let now = 5_000;
    const ini = createN32fContext(params("initiator", { now: () => now, validUntil: 10_000 }));
    const rsp = createN32fContext(params("responder"));
    const jwe = protectJwe(rsp, "response", aad, new Uint8Array(0));
    now = 10_000;
    expect(errorType(() => protectJwe(ini, "request", aad, new Uint8Array(0)))).toBe("ENCRYPTION_KEY_EXPIRED");
    expect(errorType(() => openJwe(ini, "response", parseJwe(jwe)))).toBe("ENCRYPTION_KEY_EXPIRED");
  });

  test("destroy wipes the keys, terminates, and refuses further use", () => {
    const engine = new ObservedEngine();
    const ini = createN32fContext(params("initiator", { engine }));
    const rsp = createN32fContext(params("responder"));
    const jwe = protectJwe(rsp, "response", aad, new Uint8Array(0));
    ini.destroy();
    expect(ini.state).toBe("terminated");
    expect(engine.keys.length).toBe(4);
    expect(engine.keys.every((k) => k.destroyed)).toBe(true);
    expect(errorType(() => protectJwe(ini, "request", aad, new Uint8Array(0)))).toBe("ENCRYPTION_KEY_EXPIRED");
    expect(errorType(() => openJwe(ini, "response", parseJwe(jwe)))).toBe("ENCRYPTION_KEY_EXPIRED");
    ini.activate();
    expect(ini.state).toBe("terminated");
    ini.destroy(); // idempotent
  });

  test("deactivate / activate", () => {
    const ctx = createN32fContext(params("initiator", { state: "inactive" }));
    expect(ctx.state).toBe("inactive");
    ctx.activate();
    expect(ctx.state).toBe("active");
    ctx.deactivate();
    expect(ctx.state).toBe("inactive");
  });
});

describe("secrecy of keys and salts", () => {
  const secrets = [
    ...Object.values(vectors.kdf.A256GCM),
    ...Object.values(vectors.kdf.A128GCM),
    ...Object.values(vectors.kdf.salts),
    vectors.kdf.master_hex,
  ];
  const hexes = (s: string) => [
    s,
    s.toUpperCase(),
    Buffer.from(s, "hex").toString("base64"),
    Buffer.from(s, "hex").toString("base64url"),
  ];

  test("JSON.stringify, Bun.inspect and enumerable properties show no key or salt", () => {
    const { ini } = pair();
    protectJwe(ini, "request", aad, new Uint8Array(0));
    const json = JSON.stringify(ini);
    const info = JSON.parse(json);
    expect(info).toMatchObject({
      localContextId: INITIATOR_ID,
      peerContextId: RESPONDER_ID,
      role: "initiator",
      enc: "A256GCM",
      state: "active",
    });
    expect(info.counters.sentRequests).toBe(1);
    const inspected = Bun.inspect(ini, { depth: 10 });
    const props = JSON.stringify(Object.entries(ini), (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
    );
    for (const s of secrets) {
      for (const form of hexes(s)) {
        expect(json).not.toContain(form);
        expect(inspected).not.toContain(form);
        expect(props).not.toContain(form);
      }
    }
    for (const v of Object.values(ini)) expect(v instanceof Uint8Array).toBe(false);
  });

  test("no secret in the text of a thrown error", () => {
    const { ini, rsp } = pair();
    const jwe = protectJwe(rsp, "request", aad, enc.encode('{"dataToEncrypt":["secret"]}'));
    const tampered = { ...jwe, tag: Buffer.alloc(16, 7).toString("base64url") };
    let thrown: unknown;
    try {
      openJwe(ini, "request", parseJwe(tampered));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(N32fError);
    {
      const e = thrown as Error;
      const text = JSON.stringify({ m: e.message, e, s: e.stack });
      for (const s of secrets) for (const form of hexes(s)) expect(text).not.toContain(form);
      expect(text).not.toContain("secret");
    }
  });
});

describe("N32fContextStore", () => {
  test("newContextId: 16 lowercase hex from the CSPRNG, all distinct", () => {
    const store = new N32fContextStore({ maxContexts: 4 });
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = store.newContextId();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(1000);
  });

  test("add / get (case-insensitive) / byPeer / list / delete destroys", () => {
    const store = new N32fContextStore();
    const { ini, rsp } = pair();
    store.add(ini);
    store.add(rsp);
    expect(store.size).toBe(2);
    expect(store.get(INITIATOR_ID.toUpperCase())).toBe(ini);
    expect(store.get(RESPONDER_ID)).toBe(rsp);
    expect(store.get("0000000000000000")).toBeUndefined();
    expect(store.byPeer("peer-234-15")).toEqual([ini]);
    expect(store.list().length).toBe(2);
    expect(() => store.add(createN32fContext(params("initiator")))).toThrow(N32fContextStoreError);
    expect(store.delete(INITIATOR_ID.toUpperCase())).toBe(true);
    expect(ini.state).toBe("terminated");
    expect(store.get(INITIATOR_ID)).toBeUndefined();
    expect(store.delete(INITIATOR_ID)).toBe(false);
    store.clear();
    expect(rsp.state).toBe("terminated");
    expect(store.size).toBe(0);
  });

  test("bounded: add beyond maxContexts is refused; purgeExpired frees room", () => {
    let now = 0;
    const store = new N32fContextStore({ maxContexts: 2 });
    const mk = (validUntil: number) =>
      createN32fContext(
        params("initiator", {
          localContextId: store.newContextId(),
          kdfContextId: RESPONDER_ID,
          validUntil,
          now: () => now,
        }),
      );
    const a = mk(100);
    store.add(a);
    store.add(mk(1000));
    expect(() => store.add(mk(1000))).toThrow(N32fContextStoreError);
    now = 100;
    expect(store.purgeExpired()).toBe(1);
    expect(a.state).toBe("terminated");
    store.add(mk(1000));
    expect(store.size).toBe(2);
    expect(() => new N32fContextStore({ maxContexts: 0 })).toThrow(RangeError);
  });

  /** Run fn with the first crypto.getRandomValues draws of 8 octets forced to `draws` (hex). */
  function withForcedDraws<T>(draws: string[], fn: () => T): T {
    const orig = crypto.getRandomValues.bind(crypto);
    const queue = [...draws];
    const g = crypto as { getRandomValues: typeof crypto.getRandomValues };
    g.getRandomValues = (<A extends ArrayBufferView | null>(a: A): A => {
      const next = queue.shift();
      if (next !== undefined && a instanceof Uint8Array && a.length === 8) {
        a.set(Buffer.from(next, "hex"));
        return a;
      }
      return orig(a as never) as A;
    }) as typeof crypto.getRandomValues;
    try {
      const r = fn();
      expect(queue.length).toBe(0); // every forced draw was consumed
      return r;
    } finally {
      g.getRandomValues = orig;
    }
  }

  test("newContextId never returns a live or reserved ID; a released one may come back", () => {
    const store = new N32fContextStore();
    store.add(createN32fContext(params("initiator")));
    const id = withForcedDraws([INITIATOR_ID], () => store.newContextId());
    expect(id).not.toBe(INITIATOR_ID);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const reserved = store.newContextId();
    expect(withForcedDraws([reserved], () => store.newContextId())).not.toBe(reserved);
    store.releaseContextId(reserved.toUpperCase());
    expect(withForcedDraws([reserved], () => store.newContextId())).toBe(reserved);
  });

  test("adding a context consumes its reservation; reservations are bounded", () => {
    const store = new N32fContextStore({ maxContexts: 2 });
    const id = store.newContextId();
    store.add(createN32fContext(params("initiator", { localContextId: id, kdfContextId: RESPONDER_ID })));
    store.delete(id);
    // no longer live nor reserved: the same draw is now allowed
    expect(withForcedDraws([id], () => store.newContextId())).toBe(id);
    const a = store.newContextId();
    store.newContextId();
    store.newContextId(); // with a bound of 2, these two reservations push out the reserved id, then a
    expect(withForcedDraws([a], () => store.newContextId())).toBe(a);
  });
});
