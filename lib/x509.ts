// lib/x509.ts — @peculiar/x509, loaded on first use (issue 11, start-up ≤ 100 ms). Evaluating the library (tsyringe,
// reflect-metadata and the ASN.1 schema classes it defines at load) is about half of the SEPP's module evaluation,
// and a start on an existing data directory needs none of it: it is used only by CRLs (src/pki/crl.ts), the
// development PKI of a first start (src/pki/devpki.ts), CSRs, certificate installation and the keystores'
// certificate summary (hw/keystore-*.ts). Those paths call x509() instead of a static import; test/startup.test.ts
// checks that a start does not load it.
//
// require() rather than `await import()`: parseCrl runs synchronously inside the TLS connection set-up (an await
// would let the HTTP/2 session start first), and one loading form keeps one copy of the library in the compiled
// binary (the bundler would otherwise take the CommonJS build for require and the ES build for import: two sets
// of classes). The Reflect metadata polyfill is required first: tsyringe checks for it when it loads.
import type * as X509 from "@peculiar/x509";

let loaded: typeof X509 | undefined;

/** The @peculiar/x509 module, evaluated on the first call (with its crypto provider set to WebCrypto). */
export function x509(): typeof X509 {
  if (loaded) return loaded;
  require("reflect-metadata");
  const m = require("@peculiar/x509") as typeof X509;
  m.cryptoProvider.set(crypto);
  loaded = m;
  return m;
}

/** Whether @peculiar/x509 has been loaded in this process (for the start-up test). */
export function x509Loaded(): boolean {
  return loaded !== undefined;
}
