// The TS 33.117 (general SCAS catalogue) items that apply to the SEPP as a box, on a real SEPP process:
// 4.3.2.1 no unnecessary services (the sockets the process listens on, read from /proc, against its configuration,
// before and after a restart) and 4.2.3.6.1 security event logging (admin authentication failures and N32
// admission refusals produce `category: "security"` lines with the event data and nothing secret).
// Brute-force protection (4.2.3.4.5 / 4.2.3.4.3.3) is tested in test/admin/listener.test.ts; screening's security
// events in test/e2e/screening.test.ts (docs/SCAS.md).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import http2 from "node:http2";
import { join } from "node:path";
import { HOME, startSepp, writePair, waitFor, type SeppProcess, type SeppSide } from "../../scripts/lib/pair.ts";
import { issueSeppCert, type DevCa } from "../../src/pki/devpki.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

setDefaultTimeout(30000);
// a file-level hook: removed after the describe's afterAll below has stopped the SEPP
const freshDir = freshDirs("sepp-scas-33117-");

/** TCP sockets in LISTEN state and every UDP socket of process `pid`: "addr:port" (IPv4 dotted, IPv6 bracketed). */
export function socketsOf(pid: number): { tcpListen: string[]; udp: string[] } {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // the fd closed while we read the directory
    }
  }
  const addr = (hex: string): string => {
    const [a, p] = hex.split(":") as [string, string];
    const port = Number.parseInt(p, 16);
    if (a.length === 8) {
      const b = Buffer.from(a, "hex").reverse(); // little-endian u32
      return `${[...b].join(".")}:${port}`;
    }
    // IPv6: four little-endian u32 words
    const words = [0, 1, 2, 3].map((i) =>
      Buffer.from(a.slice(i * 8, i * 8 + 8), "hex")
        .reverse()
        .toString("hex"),
    );
    const groups = words
      .join("")
      .match(/.{4}/g)!
      .map((g) => g.replace(/^0+(?=.)/, ""));
    return `[${groups.join(":")}]:${port}`;
  };
  const rows = (file: string) =>
    readFileSync(`/proc/${pid}/net/${file}`, "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => inodes.has(f[9]!));
  const tcpListen = ["tcp", "tcp6"].flatMap((f) =>
    rows(f)
      .filter((r) => r[3] === "0A")
      .map((r) => addr(r[1]!)),
  );
  const udp = ["udp", "udp6"].flatMap((f) => rows(f).map((r) => addr(r[1]!)));
  return { tcpListen: tcpListen.sort(), udp: udp.sort() };
}

describe("SCAS TS 33.117 items on a real SEPP process", () => {
  const dir = freshDir();
  let h: SeppProcess;
  let side: SeppSide;
  let rootV: DevCa;

  beforeAll(async () => {
    // separate N32-c and N32-f listeners: four configured listeners
    const pair = await writePair({ dir, capabilities: ["PRINS"], separateN32f: true });
    side = pair.home;
    rootV = pair.pki.rootV;
    h = await startSepp(side);
  }, 30000);

  afterAll(async () => {
    const code = await h?.stop();
    expect(code).toBe(0);
  });

  const configured = () => {
    const l = side.config.listeners!;
    return [l.n32!, l.n32f!, l.sbi!, l.admin!].map((x) => `${x.host}:${x.port}`).sort();
  };

  test("SCAS 33.117 4.3.2.1 No unnecessary or insecure services / protocols", async () => {
    // the process listens on exactly its configured listeners (no debug port, no extra service), and has no UDP
    // socket at all; the check holds again after a restart with the same configuration
    expect(configured()).toHaveLength(4);
    for (let round = 0; round < 2; round++) {
      const s = socketsOf(h.proc.pid!);
      expect(s.tcpListen).toEqual(configured());
      expect(s.udp).toEqual([]);
      if (round === 0) {
        expect(await h.stop()).toBe(0);
        h = await startSepp(side);
      }
    }
  });

  test("SCAS 33.117 4.2.3.6.1 Security event logging (admin authentication failures)", async () => {
    const base = `http://127.0.0.1:${side.ports.admin}`;
    const since = h.logs.length;
    const wrong = "not-the-token-3f9a1c";
    expect((await fetch(`${base}/v1/status`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
    expect((await fetch(`${base}/v1/status`)).status).toBe(401);
    const events = await waitFor("two security events", () => {
      const e = h.logs.slice(since).filter((l) => l.category === "security" && l.event === "admin-auth-failure");
      return e.length >= 2 ? e : null;
    });
    // who (source address), what (event, reason), when (timestamp), outcome (failures so far)
    expect(events.map((e) => [e.source, e.reason, e.failures])).toEqual([
      ["127.0.0.1", "wrong", 1],
      ["127.0.0.1", "missing", 2],
    ]);
    for (const e of events) expect(Number.isNaN(Date.parse(String(e.ts)))).toBe(false);
    // the guessed token is never logged
    expect(JSON.stringify(h.logs)).not.toContain(wrong);
    // the right token is not an event
    const n = h.logs.filter((l) => l.category === "security").length;
    expect((await h.admin("/v1/status")).status).toBe(200);
    expect(h.logs.filter((l) => l.category === "security").length).toBe(n);
  });

  test("SCAS 33.117 4.2.3.6.1 Security event logging (N32 admission refusals)", async () => {
    // a certificate that chains to a configured PLMN root but names no configured peer
    const stranger = await issueSeppCert(rootV, { dnsNames: ["sepp9.5gc.mnc015.mcc234.3gppnetwork.org"] });
    const post = (port: number, path: string, body: unknown) =>
      new Promise<number | string>((resolve) => {
        const s = http2.connect(`https://127.0.0.1:${port}`, {
          cert: stranger.chainPem,
          key: stranger.keyPem,
          ca: [readFileSync(join(side.dir, "var", "pki", "root-home.crt.pem"), "utf8")],
          servername: HOME.fqdn,
        });
        const t = setTimeout(() => {
          s.destroy();
          resolve("timeout");
        }, 10000);
        s.on("error", () => {
          clearTimeout(t);
          resolve("closed");
        });
        // a connection cut at set-up ends the session without an error event
        s.on("close", () => {
          clearTimeout(t);
          resolve("closed");
        });
        const r = s.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
        r.on("response", (hd) => {
          clearTimeout(t);
          s.close();
          resolve(Number(hd[":status"]));
        });
        r.on("error", () => {
          clearTimeout(t);
          resolve("closed");
        });
        r.end(JSON.stringify(body));
      });
    const since = h.logs.length;
    const c = await post(side.ports.n32, "/n32c-handshake/v1/exchange-capability", {
      sender: "sepp9.5gc.mnc015.mcc234.3gppnetwork.org",
      supportedSecCapabilityList: ["PRINS"],
    });
    const f = await post(side.ports.n32f!, "/n32f-forward/v1/n32f-process", { reformattedData: {} });
    // refused, at the HTTP layer (403) or at connection set-up
    for (const s of [c, f]) expect([403, "closed"]).toContain(s);
    // each refusal is a security event (refusals at connection set-up share one line per 10 s)
    const ev = await waitFor("the admission security event", () => {
      const e = h.logs.slice(since).filter((l) => l.category === "security" && l.event === "n32-admission-refused");
      return e.length >= 1 ? e : null;
    });
    expect(ev[0]!.level).toBe("warn");
    expect(typeof (ev[0]!.reason ?? ev[0]!.cause)).toBe("string");
  });
});
