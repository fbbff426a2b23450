// PKCS#11 binding (hw/pkcs11/) and the pkcs11 AEAD engine against SoftHSM2, a real PKCS#11 module.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes, webcrypto } from "node:crypto";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { Pkcs11AeadEngine } from "../../hw/aead-pkcs11.ts";
import { CKA, CKK, CKM, CKO, EC_PARAMS } from "../../hw/pkcs11/constants.ts";
import { Pkcs11Error } from "../../hw/pkcs11/ffi.ts";
import { Mechanism } from "../../hw/pkcs11/structs.ts";
import { GcmMechanism } from "../../hw/pkcs11/gcm.ts";
import type { Session } from "../../hw/pkcs11/module.ts";
import { Pkcs11Token } from "../../hw/pkcs11/token.ts";
import { objectTemplate, parsePkcs11Uri } from "../../hw/pkcs11/uri.ts";
import { ecPointToSpki } from "../../hw/keystore-pkcs11-util.ts";
import { memoryLogger } from "../../src/log.ts";
import { softhsm, type TestToken } from "../support/softhsm.ts";
import vectors from "../../../shared/spec/vectors/n32f-vectors.json";

const hsm = softhsm();
let tok: TestToken;
let own: TestToken; // nobody else logs in to this one (login state is per application)
let token: Pkcs11Token;
const te = new TextEncoder();
const pinOf = (p: string) => () => te.encode(p);

beforeAll(() => {
  tok = hsm.createToken();
  own = hsm.createToken(); // a second token: lookups must pick the right one
  token = Pkcs11Token.open({
    modulePath: hsm.module,
    tokenUri: tok.uri,
    readPin: pinOf(tok.pin),
    poolSize: 2,
    log: memoryLogger(),
  });
});
afterAll(() => token.close());

const withS = <T>(fn: (s: Session) => T): T => token.withSession(fn);

function aesTemplate(
  extra: [number, boolean | number | string | Uint8Array][] = [],
): [number, boolean | number | string | Uint8Array][] {
  return [
    [CKA.CLASS, CKO.SECRET_KEY],
    [CKA.KEY_TYPE, CKK.AES],
    [CKA.TOKEN, false],
    [CKA.ENCRYPT, true],
    [CKA.DECRYPT, true],
    ...extra,
  ];
}

describe("module and token", () => {
  test("the token is found by URI among several and is healthy", () => {
    const st = token.state();
    expect(st.healthy).toBe(true);
    expect(st.token?.label).toBe(tok.label);
    expect(st.token?.manufacturer).toBe("SoftHSM project");
    expect(token.module.info().cryptokiVersion).toMatch(/^[23]\./);
  });

  test("random bytes differ between calls and have the asked length", () => {
    const a = withS((s) => s.random(32));
    const b = withS((s) => s.random(32));
    expect(a.length).toBe(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe("EC key pairs and ECDSA", () => {
  for (const curve of ["P-256", "P-384"] as const) {
    test(`${curve}: generated in the token, signature verifies with WebCrypto, private key not extractable`, async () => {
      const { kp, spki, sig, data } = withS((s) => {
        const kp = s.generateKeyPair(
          new Mechanism(CKM.EC_KEY_PAIR_GEN),
          [
            [CKA.TOKEN, false],
            [CKA.EC_PARAMS, EC_PARAMS[curve]],
            [CKA.VERIFY, true],
          ],
          [
            [CKA.TOKEN, false],
            [CKA.SIGN, true],
            [CKA.SENSITIVE, true],
            [CKA.EXTRACTABLE, false],
            [CKA.PRIVATE, true],
          ],
        );
        const spki = ecPointToSpki(s.getAttribute(kp.publicKey, CKA.EC_POINT), curve);
        const data = randomBytes(200);
        const hash = curve === "P-256" ? "sha256" : "sha384";
        const digest = new Bun.CryptoHasher(hash).update(data).digest();
        const sig = s.sign(new Mechanism(CKM.ECDSA), kp.privateKey, new Uint8Array(digest));
        return { kp, spki, sig, data };
      });
      expect(sig.length).toBe(curve === "P-256" ? 64 : 96);
      const pub = await webcrypto.subtle.importKey(
        "spki",
        new Uint8Array(spki),
        { name: "ECDSA", namedCurve: curve },
        false,
        ["verify"],
      );
      const alg = { name: "ECDSA", hash: curve === "P-256" ? "SHA-256" : "SHA-384" };
      expect(await webcrypto.subtle.verify(alg, pub, new Uint8Array(sig), data)).toBe(true);
      const tampered = Uint8Array.from(data);
      tampered[0]! ^= 1;
      expect(await webcrypto.subtle.verify(alg, pub, new Uint8Array(sig), tampered)).toBe(false);
      withS((s) => {
        expect(s.getBool(kp.privateKey, CKA.EXTRACTABLE)).toBe(false);
        expect(s.getBool(kp.privateKey, CKA.SENSITIVE)).toBe(true);
        expect(() => s.getAttribute(kp.privateKey, CKA.VALUE)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        s.destroyObject(kp.privateKey);
        s.destroyObject(kp.publicKey);
      });
    });
  }
});

describe("AES-GCM in the token", () => {
  test("the CK_GCM_PARAMS layout is found by known answer", () => {
    const engine = new Pkcs11AeadEngine(token);
    expect(["with-ivbits", "without-ivbits"]).toContain(engine.layout);
    engine.close();
  });

  test("pkcs11 engine == software engine, byte for byte, both key sizes, many lengths; bad tags give null", () => {
    const hw = new Pkcs11AeadEngine(token);
    const sw = new SoftwareAeadEngine();
    for (const bits of [128, 256] as const) {
      const raw = randomBytes(bits / 8);
      const kh = hw.importKey(raw);
      const ks = sw.importKey(raw);
      expect(kh.bits).toBe(bits);
      for (const len of [0, 1, 15, 16, 17, 255, 1024, 4097]) {
        const iv = randomBytes(12);
        const aad = randomBytes(len % 50);
        const pt = randomBytes(len);
        const a = hw.seal(kh, iv, aad, pt);
        const b = sw.seal(ks, iv, aad, pt);
        expect(Buffer.from(a.ciphertext).toString("hex")).toBe(Buffer.from(b.ciphertext).toString("hex"));
        expect(Buffer.from(a.tag).toString("hex")).toBe(Buffer.from(b.tag).toString("hex"));
        expect(Buffer.from(hw.open(kh, iv, aad, b.ciphertext, b.tag)!).toString("hex")).toBe(pt.toString("hex"));
        const badTag = Uint8Array.from(a.tag);
        badTag[3]! ^= 0x80;
        expect(hw.open(kh, iv, aad, a.ciphertext, badTag)).toBeNull();
        expect(hw.open(kh, iv, new Uint8Array([...aad, 1]), a.ciphertext, a.tag)).toBeNull();
        expect(hw.open(kh, iv, aad, a.ciphertext, a.tag.subarray(0, 12))).toBeNull();
      }
      kh.destroy();
      expect(kh.destroyed).toBe(true);
      expect(() => hw.seal(kh, randomBytes(12), new Uint8Array(0), new Uint8Array(1))).toThrow(/destroyed/);
      kh.destroy(); // idempotent
    }
    expect(() => hw.importKey(new Uint8Array(24))).toThrow(/16 or 32/);
    expect(() => hw.seal(sw.importKey(randomBytes(16)), randomBytes(12), new Uint8Array(0), new Uint8Array(1))).toThrow(
      /another AEAD engine/,
    );
    hw.close();
  });

  test("session keys are sensitive, non-extractable session objects and destroy() removes them", () => {
    const hw = new Pkcs11AeadEngine(token);
    const before = withS(
      (s) =>
        s.findObjects([
          [CKA.CLASS, CKO.SECRET_KEY],
          [CKA.TOKEN, false],
        ]).length,
    );
    const k = hw.importKey(randomBytes(32));
    const handles = withS((s) =>
      s.findObjects([
        [CKA.CLASS, CKO.SECRET_KEY],
        [CKA.TOKEN, false],
      ]),
    );
    expect(handles.length).toBe(before + 1);
    withS((s) => {
      const h = handles[handles.length - 1]!;
      const [sens, ext, tokenAttr] = s.getAttributes(h, [CKA.SENSITIVE, CKA.EXTRACTABLE, CKA.TOKEN]);
      expect([sens![0], ext![0], tokenAttr![0]]).toEqual([1, 0, 0]);
      expect(() => s.getAttribute(h, CKA.VALUE)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
    k.destroy();
    expect(
      withS(
        (s) =>
          s.findObjects([
            [CKA.CLASS, CKO.SECRET_KEY],
            [CKA.TOKEN, false],
          ]).length,
      ),
    ).toBe(before);
    hw.close();
  });

  test("the shared N32-f vectors decrypt and re-encrypt identically through the pkcs11 engine", () => {
    const hw = new Pkcs11AeadEngine(token);
    const kdf = vectors.kdf;
    // HKDF-Expand only (N32-PROFILE P1), written out here so the test does not depend on src/n32f/kdf.ts.
    const expand = (prk: Buffer, info: Buffer, len: number) => {
      let t = Buffer.alloc(0);
      let out = Buffer.alloc(0);
      for (let i = 1; out.length < len; i++) {
        t = createHmac("sha256", prk)
          .update(Buffer.concat([t, info, Buffer.of(i)]))
          .digest();
        out = Buffer.concat([out, t]);
      }
      return out.subarray(0, len);
    };
    const master = Buffer.from(kdf.master_hex, "hex");
    const keyHex = (label: string, len: number) =>
      expand(master, Buffer.from(`N32${kdf.ctxId}${label}`, "ascii"), len).toString("hex");
    expect(keyHex("parallel_request_key", 32)).toBe(kdf.A256GCM.parallel_request_key);
    const keys = [
      Buffer.from(keyHex("parallel_request_key", 32), "hex"),
      Buffer.from(keyHex("parallel_response_key", 32), "hex"),
      Buffer.from(keyHex("reverse_request_key", 16), "hex"),
    ];
    expect(keys[2]!.toString("hex")).toBe(kdf.A128GCM.reverse_request_key);
    vectors.messages.forEach((m, i) => {
      const key = hw.importKey(keys[i]!);
      const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));
      const aad = te.encode(`${m.jwe.protected}.${m.jwe.aad}`);
      const pt = hw.open(key, b64(m.jwe.iv), aad, b64(m.jwe.ciphertext), b64(m.jwe.tag));
      expect(pt).not.toBeNull();
      const expected = m.jwe.ciphertext === "" ? "" : JSON.stringify(m.plaintextObject);
      expect(new TextDecoder().decode(pt!)).toBe(expected);
      const again = hw.seal(key, b64(m.jwe.iv), aad, pt!);
      expect(Buffer.from(again.ciphertext).toString("base64url")).toBe(m.jwe.ciphertext);
      expect(Buffer.from(again.tag).toString("base64url")).toBe(m.jwe.tag);
      key.destroy();
    });
    hw.close();
  });
});

describe("AES key wrap", () => {
  test("wrap/unwrap round trip (CKM_AES_KEY_WRAP_PAD): the unwrapped key encrypts like the original", () => {
    withS((s) => {
      const kek = s.generateKey(
        new Mechanism(CKM.AES_KEY_GEN),
        aesTemplate([
          [CKA.VALUE_LEN, 32],
          [CKA.WRAP, true],
          [CKA.UNWRAP, true],
          [CKA.SENSITIVE, true],
          [CKA.EXTRACTABLE, false],
        ]),
      );
      const key = s.generateKey(
        new Mechanism(CKM.AES_KEY_GEN),
        aesTemplate([
          [CKA.VALUE_LEN, 16],
          [CKA.EXTRACTABLE, true],
          [CKA.SENSITIVE, true],
        ]),
      );
      const wrapped = s.wrapKey(new Mechanism(CKM.AES_KEY_WRAP_PAD), kek, key);
      expect(wrapped.length).toBe(24); // 16-octet key + 8-octet integrity block (RFC 5649)
      const back = s.unwrapKey(
        new Mechanism(CKM.AES_KEY_WRAP_PAD),
        kek,
        wrapped,
        aesTemplate([
          [CKA.SENSITIVE, true],
          [CKA.EXTRACTABLE, false],
        ]),
      );
      const probe = new Pkcs11AeadEngine(token);
      const gcm = new GcmMechanism(probe.layout);
      probe.close();
      const iv = randomBytes(12);
      const pt = randomBytes(100);
      const a = s.encrypt(gcm.set(iv, new Uint8Array(0), 128), key, pt, 116);
      const b = s.encrypt(gcm.set(iv, new Uint8Array(0), 128), back, pt, 116);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      const corrupt = Uint8Array.from(wrapped);
      corrupt[5]! ^= 1;
      expect(() => s.unwrapKey(new Mechanism(CKM.AES_KEY_WRAP_PAD), kek, corrupt, aesTemplate())).toThrow(Pkcs11Error);
      // A non-extractable key cannot be exported by wrapping either.
      expect(() => s.wrapKey(new Mechanism(CKM.AES_KEY_WRAP_PAD), kek, back)).toThrow(/CKR_KEY_UNEXTRACTABLE/);
      for (const h of [kek, key, back]) s.destroyObject(h);
    });
  });
});

describe("objects by PKCS#11 URI (RFC 7512)", () => {
  test("object, type and id select the right object; a missing object finds nothing", () => {
    withS((s) => {
      const id = Uint8Array.of(0xde, 0xad, 0x00, 0x01);
      const h = s.createObject(
        aesTemplate([
          [CKA.LABEL, "uri test;key"],
          [CKA.ID, id],
          [CKA.VALUE, randomBytes(16)],
        ]),
      );
      const other = s.createObject(
        aesTemplate([
          [CKA.LABEL, "uri test;key"],
          [CKA.ID, Uint8Array.of(1)],
          [CKA.VALUE, randomBytes(16)],
        ]),
      );
      const uri = parsePkcs11Uri(`pkcs11:token=${tok.label};object=uri%20test%3Bkey;type=secret-key;id=%DE%AD%00%01`);
      expect(s.findObjects(objectTemplate(uri))).toEqual([h]);
      expect(s.findObjects(objectTemplate(parsePkcs11Uri("pkcs11:object=uri%20test%3Bkey"))).sort()).toEqual(
        [h, other].sort(),
      );
      expect(s.findObjects(objectTemplate(parsePkcs11Uri("pkcs11:object=no-such-object;type=secret-key")))).toEqual([]);
      expect(s.findObjects(objectTemplate(parsePkcs11Uri("pkcs11:object=uri%20test%3Bkey;type=private")))).toEqual([]);
      s.destroyObject(h);
      s.destroyObject(other);
      expect(() => s.getAttribute(h, CKA.LABEL)).toThrow(/CKR_OBJECT_HANDLE_INVALID/);
    });
  });
});

describe("login failures", () => {
  test("a wrong PIN: unhealthy with a clear detail, not retried with the same PIN, recovers once the PIN is fixed", async () => {
    const log = memoryLogger();
    let pin = "wrong-pin";
    let reads = 0;
    const t = Pkcs11Token.open({
      modulePath: hsm.module,
      tokenUri: own.uri,
      readPin: () => {
        reads++;
        return te.encode(pin);
      },
      poolSize: 1,
      log,
      retryInitialMs: 5,
      retryMaxMs: 20,
    });
    try {
      expect(t.state().healthy).toBe(false);
      expect(t.state().detail).toContain("CKR_PIN_INCORRECT");
      expect(() => t.withSession((s) => s.random(1))).toThrow(/unavailable.*CKR_PIN_INCORRECT/);
      // the retry reads the PIN again but does not present the refused one to the token
      const deadline = Date.now() + 5000;
      while (reads < 3 && Date.now() < deadline) await Bun.sleep(5);
      expect(t.state().detail).toContain("same PIN as the last refused one");
      pin = own.pin;
      while (!t.state().healthy && Date.now() < deadline) await Bun.sleep(5);
      expect(t.state().healthy).toBe(true);
      expect(t.withSession((s) => s.random(4)).length).toBe(4);
    } finally {
      t.close();
    }
    expect(JSON.stringify(log.lines)).not.toContain("wrong-pin");
    expect(JSON.stringify(log.lines)).not.toContain(own.pin);
  });

  test("a token that is not there: unhealthy with a clear detail, no throw", () => {
    const t = Pkcs11Token.open({
      modulePath: hsm.module,
      tokenUri: "pkcs11:token=no-such-token",
      readPin: pinOf("x"),
      poolSize: 1,
      log: memoryLogger(),
    });
    try {
      expect(t.state()).toMatchObject({ healthy: false, detail: "token not found: pkcs11:token=no-such-token" });
    } finally {
      t.close();
    }
  });

  test("a module path that does not load is a configuration error", () => {
    expect(() =>
      Pkcs11Token.open({
        modulePath: "/nonexistent/libpkcs11.so",
        tokenUri: tok.uri,
        readPin: pinOf("x"),
        poolSize: 1,
        log: memoryLogger(),
      }),
    ).toThrow(/cannot load PKCS#11 module/);
  });
});
