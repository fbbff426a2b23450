// src/config/startcheck.ts — "would this configuration start?", answered the way start-up answers it.
//
// One function for both: start-up builds its TLS material and N32 trust store with checkStartable(), and the
// admin API runs the same function on every change (PUT /v1/config, peer CRUD) before it is acknowledged, so a
// change that would fail the next start is refused with every reason (DEVELOPERS.md: "a configuration change is
// checked as a start would check it"). Checked: every PEM file exists and parses, each private key matches its
// certificate, trust anchors (N32 and RI) and CA lists load, the TLS contexts build, the PKCS#11 module and PIN
// source exist, the telescopic label key files parse. Reasons name the member and the file, never key material.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { loadCrls, TrustStore, type TrustAnchor } from "../pki/trust.ts";
import type { Crl } from "../pki/crl.ts";
import { checkTelescopicLabelKeys } from "../sbi/telescopic-keys.ts";
import { isInlinePem, resolvePem, splitPem } from "./pem.ts";
import { privateDirIssue } from "../../lib/private-dir.ts";
import { readAdminToken, secretFileIssue } from "./secret-file.ts";
import type { ConfigIssue, SeppConfig } from "./schema.ts";

/** A certificate chain (leaf first) and its private key, both PEM. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** What a start needs beyond the configuration itself; built once, checked whole. */
export interface StartMaterial {
  /** our N32 certificate chain and key */
  n32: TlsMaterial;
  /** the N32 per-PLMN trust anchors and the RI trust store */
  trust: TrustStore;
  /** the admin listener's TLS material (listeners.admin.tls), with the client-certificate CAs if any */
  admin?: TlsMaterial & { ca: string[] };
}

export interface StartCheckDeps {
  /** storage.dir, resolved: relative PEM paths are relative to it */
  dataDir: string;
  /** The TLS key sealed in the keystore, for tls.privateKey "keystore:tls"; null when none is sealed. */
  sealedTlsKey: () => Promise<string | null>;
}

export type StartCheck = { ok: true; material: StartMaterial } | { ok: false; issues: ConfigIssue[] };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Collects issues while loading; each loader returns undefined after recording why. */
class Loader {
  readonly issues: ConfigIssue[] = [];
  constructor(readonly dataDir: string) {}

  fail(path: string, reason: string): undefined {
    this.issues.push({ path, reason });
    return undefined;
  }

  /** The PEM text of a source (inline or file); a missing or non-PEM file is an issue. */
  pem(path: string, source: string): string | undefined {
    try {
      return resolvePem(source, this.dataDir);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOENT") return this.fail(path, `file not found: ${source}`);
      if (code) return this.fail(path, `cannot read ${source}: ${code}`);
      return this.fail(path, message(e)); // resolvePem's "<source>: not a PEM file" (a path, never file content)
    }
  }

  /** Every certificate of a PEM source, at least one, each parsable. */
  certs(path: string, source: string): { pem: string; certs: X509Certificate[] } | undefined {
    const pem = this.pem(path, source);
    if (pem === undefined) return undefined;
    const blocks = splitPem(pem).filter((b) => b.startsWith("-----BEGIN CERTIFICATE-----"));
    if (blocks.length === 0) return this.fail(path, `no certificate in ${isInlinePem(source) ? "the PEM" : source}`);
    try {
      return { pem, certs: blocks.map((b) => new X509Certificate(b)) };
    } catch {
      return this.fail(path, `a certificate in ${isInlinePem(source) ? "the PEM" : source} does not parse`);
    }
  }

  /** A private key that parses and matches the leaf certificate. Never echoes the key. */
  key(path: string, pem: string | undefined, leaf: X509Certificate | undefined, certPath: string): string | undefined {
    if (pem === undefined) return undefined;
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      return this.fail(path, "not a parsable private key (PEM PKCS#8, SEC1 or PKCS#1, unencrypted)");
    }
    if (leaf && !leaf.checkPrivateKey(key)) return this.fail(path, `does not match the certificate of ${certPath}`);
    return pem;
  }

  /** The TLS context a listener or client would build from this material. */
  context(path: string, o: { cert: string; key: string; ca?: string[]; minVersion?: "TLSv1.2" | "TLSv1.3" }): void {
    try {
      createSecureContext(o);
    } catch (e) {
      this.fail(path, `TLS context cannot be built: ${message(e)}`);
    }
  }

  /** A certificate + key pair: both load, the key matches the leaf, the TLS context builds. */
  async pair(
    base: string,
    certSource: string,
    keyPem: () => Promise<string | undefined>,
    ca: string[] | undefined,
    minVersion?: "TLSv1.2" | "TLSv1.3",
  ): Promise<TlsMaterial | undefined> {
    const cert = this.certs(`${base}/certificate`, certSource);
    const key = this.key(`${base}/privateKey`, await keyPem(), cert?.certs[0], `${base}/certificate`);
    if (!cert || key === undefined) return undefined;
    const before = this.issues.length;
    this.context(base, { cert: cert.pem, key, ca, minVersion });
    return this.issues.length === before ? { cert: cert.pem, key } : undefined;
  }
}

/** CRLs of one anchor (P11): files exist and parse, else an issue naming the place (src/pki/trust.ts loadCrls). */
function crlsOf(l: Loader, where: string, sources: readonly string[]): Crl[] {
  try {
    return loadCrls(sources, l.dataDir, where);
  } catch (e) {
    l.fail(where, message(e));
    return [];
  }
}

/**
 * Load and check everything a start of `c` needs. Never throws; `ok: false` carries every reason.
 * Start-up (src/sepp.ts through src/config/start.ts) uses the returned material; the admin API discards it.
 */
export async function checkStartable(c: SeppConfig, deps: StartCheckDeps): Promise<StartCheck> {
  const l = new Loader(deps.dataDir);

  // N32 trust anchors (TS 33.501 13.1.2) and the separate RI trust store (TS 33.501 5.9.3.2)
  const anchors: TrustAnchor[] = c.tls.trustAnchors.map((a, i) => ({
    name: a.name,
    plmnIds: a.plmnIds,
    roots: a.roots.flatMap((r, j) => l.certs(`/tls/trustAnchors/${i}/roots/${j}`, r)?.certs ?? []),
    crls: crlsOf(l, `/tls/trustAnchors/${i}/crls`, a.crls),
  }));
  const riRoots = c.tls.riTrustAnchors.flatMap((r, i) => l.certs(`/tls/riTrustAnchors/${i}`, r)?.certs ?? []);
  const trust = new TrustStore(anchors, riRoots, crlsOf(l, "/tls/riCrls", c.tls.riCrls));
  const n32Ca = trust.tlsCaPem();

  // our N32 certificate and key (file/PEM, or sealed in the keystore)
  const n32 = await l.pair(
    "/tls",
    c.tls.certificate,
    async () => {
      if (c.tls.privateKey !== "keystore:tls") return l.pem("/tls/privateKey", c.tls.privateKey);
      try {
        const k = await deps.sealedTlsKey();
        return (
          k ?? l.fail("/tls/privateKey", "keystore:tls, but no TLS key is sealed in the keystore (POST /v1/keys/tls)")
        );
      } catch (e) {
        return l.fail("/tls/privateKey", `keystore:tls: the keystore cannot give the TLS key: ${message(e)}`);
      }
    },
    n32Ca.length ? n32Ca : undefined,
    c.tls.minVersion,
  );

  // data-path workers (issue 11 §3): they share the SBI and N32-f ports, N32-c stays in the main thread, and each
  // worker imports the session keys into its own AEAD engine (software, or its own session in the pkcs11 token)
  // ("auto" falls back to 1 with the reason: src/workers/count.ts)
  if (c.workers !== "auto" && c.workers > 1) {
    if (!c.listeners.n32f) l.fail("/workers", "workers > 1 needs a separate N32-f listener (listeners.n32f)");
    if (!c.listeners.sbi) l.fail("/workers", "workers > 1 needs the SBI listener (listeners.sbi)");
  }

  // RI certificates announced or expected per peer (P5)
  c.peers.forEach((p, i) => {
    p.roamingIntermediaries.forEach((r, j) => {
      r.certificates.forEach((src, k) => {
        l.certs(`/peers/${i}/roamingIntermediaries/${j}/certificates/${k}`, src);
      });
    });
    // the roots of our own RIs on N32-f and N32-c (P11): loaded when the connection is made, checked now
    for (const list of ["n32fNextHops", "n32cVia"] as const) {
      p[list].forEach((h, j) => {
        h.trustAnchors?.forEach((src, k) => {
          l.certs(`/peers/${i}/${list}/${j}/trustAnchors/${k}`, src);
        });
      });
    }
  });

  // the SBI side: producer CAs, and the TLS listener's material and client CAs
  c.sbi.producerCa.forEach((src, i) => {
    l.certs(`/sbi/producerCa/${i}`, src);
  });
  const sbiClientCa = c.sbi.clientCa.flatMap((src, i) => {
    const r = l.certs(`/sbi/clientCa/${i}`, src);
    return r ? [r.pem] : [];
  });
  if (c.listeners.sbi?.tls && c.sbi.certificate && c.sbi.privateKey) {
    const keySource = c.sbi.privateKey;
    await l.pair(
      "/sbi",
      c.sbi.certificate,
      async () => l.pem("/sbi/privateKey", keySource),
      sbiClientCa.length ? sbiClientCa : undefined,
    );
  }

  // the stateless telescopic label keys (read at start)
  l.issues.push(...checkTelescopicLabelKeys(deps.dataDir, c.sbi.telescopicLabels));

  // the admin listener's TLS (required off loopback: schema.ts)
  let admin: StartMaterial["admin"];
  const at = c.listeners.admin.tls;
  if (at) {
    const ca = at.clientCa.flatMap((src, i) => {
      const r = l.certs(`/listeners/admin/tls/clientCa/${i}`, src);
      return r ? [r.pem] : [];
    });
    const m = await l.pair(
      "/listeners/admin/tls",
      at.certificate,
      async () => l.pem("/listeners/admin/tls/privateKey", at.privateKey),
      ca.length ? ca : undefined,
    );
    if (m) admin = { ...m, ca };
  }

  /** a path of the configuration: relative ones are relative to storage.dir */
  const inData = (p: string) => resolve(deps.dataDir, p);

  // the software keystore's directory (created 0700 at start when missing; an existing one is never changed)
  if (c.keystore.backend === "software") {
    const why = privateDirIssue(inData(c.keystore.dir));
    if (why) l.fail("/keystore/dir", `${c.keystore.dir}: ${why}`);
  }

  // the update spool (made when an upload comes; a start removes its leftover bundle)
  const spoolWhy = privateDirIssue(inData(c.system.spoolDir), false);
  if (spoolWhy) l.fail("/system/spoolDir", `${c.system.spoolDir}: ${spoolWhy}`);

  // the PKCS#11 module and the PIN source (the keystore opens them at start)
  if (c.keystore.backend === "pkcs11") {
    if (!existsSync(c.keystore.module)) l.fail("/keystore/module", `PKCS#11 module not found: ${c.keystore.module}`);
    const pinFile = c.keystore.pinFile;
    if (pinFile !== undefined) {
      const p = inData(pinFile);
      if (!existsSync(p)) l.fail("/keystore/pinFile", `file not found: ${pinFile}`);
      else {
        const why = secretFileIssue(p);
        if (why) l.fail("/keystore/pinFile", `${pinFile}: ${why}`);
      }
    } else if (c.keystore.pinEnv !== undefined && process.env[c.keystore.pinEnv] === undefined) {
      l.fail("/keystore/pinEnv", `environment variable ${c.keystore.pinEnv} is not set`);
    }
  }

  // the admin token (read at start; created 0600 when absent)
  const tokenFile = c.admin.tokenFile;
  const tokenPath = inData(tokenFile);
  if (existsSync(tokenPath)) {
    const read = readAdminToken(tokenPath);
    if ("issue" in read) l.fail("/admin/tokenFile", `${tokenFile}: ${read.issue}`);
  }

  if (l.issues.length || !n32) return { ok: false, issues: l.issues };
  return { ok: true, material: { n32, trust, ...(admin ? { admin } : {}) } };
}
