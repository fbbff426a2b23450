// The HTTP/2 layer's writes to node:net and node:tls sockets (src/transport/h2/node-socket.ts nodeSocketWriter): the
// connection hands over a view of a buffer it writes again right after, and the socket must not be left holding it.
// A reader that does not read fills the kernel's buffers, so writes are taken in part and then queued in the stream;
// the writer reuses one buffer throughout, and what arrives must be exactly what was written.
import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { nodeSocketWriter } from "../../../src/transport/h2/node-socket.ts";
import { FQDN_A, testPki } from "../../support/pki.ts";

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

const turn = () => new Promise<void>((r) => setImmediate(r));

/** A server that reads nothing until `release()`, then collects every octet (each read copied, or kept as given). */
async function slowReader(make: (onSocket: (s: net.Socket) => void) => net.Server, keep: "copy" | "as-given" = "copy") {
  const chunks: Buffer[] = [];
  let received = 0;
  let sock: net.Socket | null = null;
  let connected: () => void = () => {};
  const ready = new Promise<void>((r) => (connected = r));
  const server = make((s) => {
    sock = s;
    s.pause();
    s.on("data", (d: Buffer) => {
      chunks.push(keep === "copy" ? Buffer.from(d) : d);
      received += d.length;
    });
    connected();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => server.close());
  return {
    port: (server.address() as net.AddressInfo).port,
    ready,
    release: () => sock!.resume(),
    received: () => received,
    all: () => Buffer.concat(chunks),
    reads: () => chunks,
  };
}

/** Writes `total` octets in chunks of varying size from one reused buffer, a loop turn now and then. */
async function writeFromOneBuffer(sock: net.Socket, total: number) {
  const w = nodeSocketWriter(sock);
  const buf = Buffer.allocUnsafe(64 * 1024);
  const sent: Buffer[] = [];
  let queuedSeen = false;
  let n = 0;
  for (let i = 0; n < total; i++) {
    const len = Math.min(total - n, 1000 + ((i * 7919) % (buf.length - 1000)));
    for (let k = 0; k < len; k++) buf[k] = (i + k * 31) & 255;
    const view = buf.subarray(0, len);
    sent.push(Buffer.from(view));
    expect(w.write(view)).toBe(len);
    if (sock.writableLength > 0) queuedSeen = true;
    buf.fill(0xee); // what a socket that kept the view would send instead
    n += len;
    if (i % 8 === 7) await turn();
  }
  return { sent: Buffer.concat(sent), queuedSeen };
}

async function check(client: net.Socket, reader: Awaited<ReturnType<typeof slowReader>>, total: number) {
  cleanup.push(() => client.destroy());
  await reader.ready;
  const { sent, queuedSeen } = await writeFromOneBuffer(client, total);
  // the kernel's buffers filled and the stream queued the rest: both ways of writing were taken
  expect(queuedSeen).toBe(true);
  reader.release();
  const deadline = Date.now() + 20_000;
  while (reader.received() < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(reader.received()).toBe(total);
  expect(reader.all().equals(sent)).toBe(true);
}

describe("nodeSocketWriter", () => {
  test("node:net: a reused buffer arrives intact through a reader that does not read (16 MB)", async () => {
    const reader = await slowReader((on) => net.createServer(on));
    const client = net.connect({ host: "127.0.0.1", port: reader.port });
    await new Promise((r) => client.once("connect", r));
    await check(client, reader, 16 * 1024 * 1024);
  });

  test("node:tls: the same through TLS records (16 MB)", async () => {
    const pki = await testPki();
    const reader = await slowReader((on) =>
      tls.createServer({ key: pki.seppA.keyPem, cert: pki.seppA.chainPem }, (s) => on(s)),
    );
    const client = tls.connect({
      host: "127.0.0.1",
      port: reader.port,
      servername: FQDN_A,
      ca: pki.rootA.certPem,
    });
    await new Promise((r) => client.once("secureConnect", r));
    await check(client, reader, 16 * 1024 * 1024);
  });
});

// conn.ts keeps a body that arrived whole in one DATA frame as a view of the read it came in (no copy): that needs every
// read a socket hands over to be a buffer of its own, which no later read writes again, and no larger than the read
// (the body keeps it alive). Held here for both kinds of socket the SEPP's HTTP/2 layer reads from.
describe("reads handed over by the socket", () => {
  async function keptReads(reader: Awaited<ReturnType<typeof slowReader>>, client: net.Socket) {
    cleanup.push(() => client.destroy());
    await reader.ready;
    reader.release();
    const sent = randomBytes(4 * 1024 * 1024);
    for (let i = 0; i < sent.length; i += 5000) client.write(sent.subarray(i, i + 5000));
    const deadline = Date.now() + 20_000;
    while (reader.received() < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(reader.received()).toBe(sent.length);
    // kept without a copy, every read still holds what was sent, after all the reads that followed it
    expect(reader.all().equals(sent)).toBe(true);
    expect(reader.reads().length).toBeGreaterThan(1);
    for (const d of reader.reads()) expect(d.buffer.byteLength).toBe(d.length);
  }

  test("node:net: each read is a buffer of its own, intact after the later reads (4 MB)", async () => {
    const reader = await slowReader((on) => net.createServer(on), "as-given");
    const client = net.connect({ host: "127.0.0.1", port: reader.port });
    await new Promise((r) => client.once("connect", r));
    await keptReads(reader, client);
  });

  test("node:tls: the same for the records' plaintext (4 MB)", async () => {
    const pki = await testPki();
    const reader = await slowReader(
      (on) => tls.createServer({ key: pki.seppA.keyPem, cert: pki.seppA.chainPem }, (s) => on(s)),
      "as-given",
    );
    const client = tls.connect({ host: "127.0.0.1", port: reader.port, servername: FQDN_A, ca: pki.rootA.certPem });
    await new Promise((r) => client.once("secureConnect", r));
    await keptReads(reader, client);
  });
});
