// bench/handoff.ts — what handing a request between two data-path workers costs (src/workers/handoff.ts):
// `bun bench/handoff.ts` (BENCH_N=20000 round trips per case).
//
// Two Bun Worker threads joined by a MessageChannel, as the pool joins workers. One sends the bench:e2e-sized
// request (a 4.4 KB n32f-process body, its headers and a 2-certificate chain; handoff-codec.ts encodeRequest, one
// transferred ArrayBuffer), the other decodes it and answers 2.1 KB (encodeResponse), and the first decodes that.
// No handler runs: this is the hand-off's own cost, per round trip, as process CPU time (both threads) and wall
// time. Cases: `inflight 1` (one request at a time: the serving thread sleeps between requests and is woken each
// time) and `inflight 64` (the threads stay busy and messages queue), each with the two threads free to run on
// different CPUs and pinned to one (taskset -c 0, when taskset exists): the difference between the two is the
// cost of waking a thread on another CPU, which on a VM is a virtualised IPI. One more case keeps the serving thread
// awake (its event loop never sleeps: a busy-poll, which burns its CPU): what a hand-off costs without that wake-up.
import { decodeHandoff, encodeRequest, encodeResponse, HandoffType } from "../src/workers/handoff-codec.ts";

declare const self: Worker;

const N = Number(process.env.BENCH_N ?? 20000);

if (!Bun.isMainThread) {
  let kept: MessagePort | undefined;
  self.onmessage = (ev: MessageEvent) => {
    const m = ev.data as { role: "client" | "server"; port?: MessagePort; n: number; inflight: number; spin?: boolean };
    kept = m.port ?? kept;
    const port = kept!;
    if (m.role === "server") {
      // the serving thread kept awake: its event loop never sleeps (a setImmediate chain), so no message has to wake it
      if (m.spin) {
        const spin = () => setImmediate(spin);
        spin();
      }
      const answer = new Uint8Array(2100).fill(0x61);
      port.onmessage = (e) => {
        for (const ab of e.data as ArrayBuffer[]) {
          const r = decodeHandoff(ab);
          if (r.type !== HandoffType.Request) throw new Error("not a request");
          const out = encodeResponse(r.id, {
            status: 200,
            headers: [["content-type", "application/json"]],
            body: answer,
          });
          port.postMessage([out], [out]);
        }
      };
      self.postMessage("ready");
      return;
    }
    const body = new Uint8Array(4400).fill(0x62);
    const headers: Array<[string, string]> = [
      ["content-type", "application/json"],
      ["3gpp-sbi-message-priority", "1"],
      ["user-agent", "SEPP-sepp.5gc.mnc015.mcc234.3gppnetwork.org"],
    ];
    const conn = {
      id: 1,
      protocol: "TLSv1.3",
      remoteAddress: "127.0.0.1",
      chain: [new Uint8Array(900), new Uint8Array(800)],
    };
    let sent = 0;
    let got = 0;
    const t0 = performance.now();
    const send = () => {
      const ab = encodeRequest(
        sent++,
        "n32f-process",
        {
          method: "POST",
          scheme: "https",
          authority: "sepp.5gc.mnc001.mcc262.3gppnetwork.org",
          path: "/n32f-forward/v1/n32f-process",
          headers,
          body,
        },
        conn,
      );
      port.postMessage([ab], [ab]);
    };
    port.onmessage = (e) => {
      for (const ab of e.data as ArrayBuffer[]) {
        if (decodeHandoff(ab).type !== HandoffType.Response) throw new Error("not a response");
        got++;
        if (sent < m.n) send();
        if (got === m.n) self.postMessage({ wallMs: performance.now() - t0 });
      }
    };
    for (let i = 0; i < Math.min(m.inflight, m.n); i++) send();
  };
} else if (process.argv[2] === "--case") {
  // one case in this process (the parent runs each case in its own process, pinned or not)
  const inflight = Number(process.argv[3]);
  const spin = process.argv[4] === "spin";
  const mk = () => new Worker(import.meta.url);
  const server = mk();
  const client = mk();
  const ch = new MessageChannel();
  await new Promise<void>((resolve) => {
    server.onmessage = () => resolve();
    server.postMessage({ role: "server", port: ch.port2, spin }, [ch.port2]);
  });
  // warm-up, then the measured run, on the same pair of threads (the port moves to the client once)
  let first = true;
  const run = (n: number) =>
    new Promise<{ wallMs: number; cpuUs: number }>((resolve) => {
      const c0 = process.cpuUsage();
      client.onmessage = (e) => {
        const c = process.cpuUsage(c0);
        resolve({ wallMs: (e.data as { wallMs: number }).wallMs, cpuUs: c.user + c.system });
      };
      if (first) client.postMessage({ role: "client", port: ch.port1, n, inflight }, [ch.port1]);
      else client.postMessage({ role: "client", n, inflight });
      first = false;
    });
  await run(Math.min(2000, N));
  const r = await run(N);
  console.log(JSON.stringify({ wallUs: (r.wallMs * 1000) / N, cpuUs: r.cpuUs / N }));
  process.exit(0);
} else {
  const taskset = Bun.which("taskset");
  const rows: string[] = [];
  const cases: Array<{ inflight: number; pinned: boolean; spin: boolean }> = [];
  for (const inflight of [1, 64])
    for (const pinned of taskset ? [false, true] : [false]) cases.push({ inflight, pinned, spin: false });
  cases.splice(1, 0, { inflight: 1, pinned: false, spin: true });
  for (const { inflight, pinned, spin } of cases) {
    const cmd = [process.execPath, import.meta.path, "--case", String(inflight), spin ? "spin" : ""];
    const p = Bun.spawnSync(pinned ? [taskset!, "-c", "0", ...cmd] : cmd, { env: process.env, timeout: 120_000 });
    const line = p.stdout.toString().trim().split("\n").pop() ?? "";
    let r: { wallUs: number; cpuUs: number };
    try {
      r = JSON.parse(line);
    } catch {
      console.error(p.stderr.toString());
      process.exit(1);
    }
    rows.push(
      `  inflight ${String(inflight).padStart(2)}  ${pinned ? "one CPU (taskset -c 0)   " : spin ? "2 CPUs, server kept awake" : "free to use 2 CPUs       "}  ${r.cpuUs.toFixed(1).padStart(6)} µs CPU  ${r.wallUs.toFixed(1).padStart(6)} µs wall  per round trip`,
    );
  }
  console.log(`bench:handoff  bun ${Bun.version}  ${N} round trips per case (request 4.4 KB + chain, answer 2.1 KB)`);
  for (const r of rows) console.log(r);
}
