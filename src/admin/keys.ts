// src/admin/keys.ts — admin routes for the keystore (hw/keystore.ts): key metadata, identity key generation, CSR,
// certificate chain import, TLS private key import (sealed). Mounted by the admin app behind its bearer-token
// check (src/admin/app.ts `extraRoutes`). Bodies are validated with valibot; errors are ProblemDetails.
// Key material never appears in a response or a log line; request bodies carrying a private key are wiped.
import { Hono, type Context } from "hono";
import * as v from "valibot";
import { KeystoreError, type Keystore, type KeystoreErrorCode, wipe } from "../../hw/index.ts";
import type { Logger } from "../log.ts";
import { problem, problemResponse } from "../problem.ts";
import type { InvalidParam } from "../model/n32.ts";

/** Largest accepted body: a PEM chain of a few certificates or one private key. */
export const MAX_KEYS_BODY = 64 * 1024;

const Fqdn = v.pipe(
  v.string(),
  v.minLength(4),
  v.maxLength(253),
  v.regex(/^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}$/, "not an FQDN"),
);
const Pem = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_KEYS_BODY));
export const GenerateBody = v.strictObject({
  curve: v.optional(v.picklist(["P-256", "P-384"]), "P-256"),
  /** Replace an existing identity key (its certificate goes with it). */
  replace: v.optional(v.boolean(), false),
});
export const CsrBody = v.strictObject({
  n32Fqdn: Fqdn,
  /** RFC 4514 distinguished name, e.g. "CN=sepp.example.org, O=Operator, C=DE"; default CN=<n32Fqdn> */
  subject: v.optional(v.pipe(v.string(), v.minLength(3), v.maxLength(1024))),
});
export const ChainBody = v.strictObject({ chain: Pem });
export const TlsKeyBody = v.strictObject({ privateKey: Pem });

const STATUS: Record<KeystoreErrorCode, [number, string]> = {
  NOT_FOUND: [404, "RESOURCE_NOT_FOUND"],
  CONFLICT: [409, "KEY_EXISTS"],
  INVALID: [400, "MANDATORY_IE_INCORRECT"],
  MISMATCH: [400, "CERTIFICATE_KEY_MISMATCH"],
  UNAVAILABLE: [503, "KEYSTORE_UNAVAILABLE"],
  FAILED: [500, "SYSTEM_FAILURE"],
};

type Body = { ok: true; json?: unknown; pem?: string; raw: Uint8Array } | { ok: false; res: Response };

/** Read a bounded body: JSON (application/json) or, where `pem` is allowed, a PEM text (application/x-pem-file, text/plain). */
async function readBody(c: Context, allowPem: boolean): Promise<Body> {
  const ct = (c.req.header("content-type") ?? "").toLowerCase();
  const isJson = /^application\/json\s*(;|$)/.test(ct);
  const isPem =
    allowPem && /^(application\/x-pem-file|application\/pem-certificate-chain|text\/plain)\s*(;|$)/.test(ct);
  if (!isJson && !isPem)
    return {
      ok: false,
      res: problemResponse(
        problem(
          415,
          "UNSUPPORTED_MEDIA_TYPE",
          allowPem
            ? "content-type must be application/json or application/x-pem-file"
            : "content-type must be application/json",
        ),
      ),
    };
  const len = Number(c.req.header("content-length") ?? "0");
  if (!(len <= MAX_KEYS_BODY))
    return { ok: false, res: problemResponse(problem(413, "PAYLOAD_TOO_LARGE", `body over ${MAX_KEYS_BODY} bytes`)) };
  const raw = new Uint8Array(await c.req.arrayBuffer());
  if (raw.length > MAX_KEYS_BODY) {
    wipe(raw);
    return { ok: false, res: problemResponse(problem(413, "PAYLOAD_TOO_LARGE", `body over ${MAX_KEYS_BODY} bytes`)) };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    wipe(raw);
    return { ok: false, res: problemResponse(problem(400, "MANDATORY_IE_INCORRECT", "body is not UTF-8")) };
  }
  if (isPem) return { ok: true, pem: text, raw };
  try {
    return { ok: true, json: JSON.parse(text), raw };
  } catch {
    wipe(raw);
    return { ok: false, res: problemResponse(problem(400, "MANDATORY_IE_INCORRECT", "body is not valid JSON")) };
  }
}

function invalid(issues: v.BaseIssue<unknown>[]): Response {
  return problemResponse(
    problem(
      400,
      "MANDATORY_IE_INCORRECT",
      "invalid request body",
      issues.map(
        (i): InvalidParam => ({ param: `/${(v.getDotPath(i) ?? "").replaceAll(".", "/")}`, reason: i.message }),
      ),
    ),
  );
}

export interface KeysRoutesDeps {
  keystore: () => Keystore;
  log: Logger;
}

export function keysRoutes(deps: KeysRoutesDeps): Hono {
  const app = new Hono();
  const log = deps.log.child({ component: "admin-keys" });

  const fail = (e: unknown, what: string): Response => {
    if (e instanceof KeystoreError) {
      const [status, cause] = STATUS[e.code];
      if (status >= 500) log.error(`${what} failed`, { reason: e.message });
      return problemResponse(problem(status, cause, e.message));
    }
    log.error(`${what} failed`, { error: e instanceof Error ? e.name : "error" }); // not the message: it may echo input
    return problemResponse(problem(500, "SYSTEM_FAILURE", "internal error"));
  };

  app.get("/v1/keys", async (c) => {
    const ks = deps.keystore();
    const status = ks.status();
    try {
      return c.json({ backend: ks.backend, status, keys: await ks.listKeys() });
    } catch (e) {
      if (e instanceof KeystoreError && e.code === "UNAVAILABLE")
        return c.json({ backend: ks.backend, status, keys: [] }, 503);
      return fail(e, "list keys");
    }
  });

  app.post("/v1/keys/identity", async (c) => {
    const b = await readBody(c, false);
    if (!b.ok) return b.res;
    const r = v.safeParse(GenerateBody, b.json);
    if (!r.success) return invalid(r.issues);
    try {
      const info = await deps.keystore().generateIdentity({ curve: r.output.curve, replace: r.output.replace });
      log.info("identity key generated", { curve: r.output.curve, replace: r.output.replace });
      return c.json(info, 201);
    } catch (e) {
      return fail(e, "identity key generation");
    }
  });

  app.post("/v1/keys/identity/csr", async (c) => {
    const b = await readBody(c, false);
    if (!b.ok) return b.res;
    const r = v.safeParse(CsrBody, b.json);
    if (!r.success) return invalid(r.issues);
    try {
      const csr = await deps.keystore().createIdentityCsr({
        n32Fqdn: r.output.n32Fqdn,
        ...(r.output.subject !== undefined ? { subject: r.output.subject } : {}),
      });
      if (/application\/pkcs10/i.test(c.req.header("accept") ?? ""))
        return c.body(csr, 200, { "content-type": "application/pkcs10" });
      return c.json({ csr });
    } catch (e) {
      return fail(e, "CSR");
    }
  });

  app.put("/v1/keys/identity/certificate", async (c) => {
    const b = await readBody(c, true);
    if (!b.ok) return b.res;
    let chain: string;
    if (b.pem !== undefined) chain = b.pem;
    else {
      const r = v.safeParse(ChainBody, b.json);
      if (!r.success) return invalid(r.issues);
      chain = r.output.chain;
    }
    try {
      const info = await deps.keystore().importIdentityCertificate(chain);
      log.info("identity certificate imported", {
        subject: info.certificate?.subject,
        notAfter: info.certificate?.notAfter,
      });
      return c.json(info);
    } catch (e) {
      return fail(e, "certificate import");
    }
  });

  app.post("/v1/keys/tls", async (c) => {
    const b = await readBody(c, true);
    if (!b.ok) return b.res;
    try {
      let pem: string;
      if (b.pem !== undefined) pem = b.pem;
      else {
        const r = v.safeParse(TlsKeyBody, b.json);
        if (!r.success) return invalid(r.issues.map((i) => ({ ...i, message: "privateKey must be a PEM string" }))); // never echo key input
        pem = r.output.privateKey;
      }
      await deps.keystore().sealTlsKey(pem);
      log.info("TLS private key imported and sealed");
      return c.body(null, 204);
    } catch (e) {
      return fail(e, "TLS key import");
    } finally {
      wipe(b.raw); // the request bytes held the private key (JS strings made from it cannot be wiped)
    }
  });

  return app;
}
