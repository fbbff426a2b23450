// test/support/pkcs11-workers.ts — two real SEPP processes with `workers: 2`, each on the pkcs11 keystore and AEAD
// engine of its own SoftHSM2 token (the PIN in the environment), PRINS over a separate N32-f listener: what the hw
// suites of the worker model share (test/hw/sepp-e2e-workers.test.ts, sepp-e2e-worker-killed.test.ts).
import { HOME_UDM, type PairOptions, type SeppProcess } from "../../scripts/lib/pair.ts";
import { softhsm, type SoftHsm, type TestToken } from "./softhsm.ts";
import type { TestNf } from "./nf.ts";
import { type TwoSepps, startTwoSepps } from "./two-sepps.ts";

/** N32-f keys of one context (TS 33.501 13.2.4.4.1: request and response keys, each direction) */
export const KEYS_PER_CONTEXT = 4;

type Side = "visited" | "home";

/**
 * SoftHSM2 with a token per side, each with its own PIN — distinctive, so that a leak into a log line is found by a
 * plain substring search — and the environment variable that carries it: the token part of startPkcs11WorkerSepps.
 */
export function workerTokens(
  tag: string,
  pinEnv: string,
): { hsm: SoftHsm; pins: Record<Side, string>; tokens: Record<Side, TestToken>; pinEnv: string } {
  const hsm = softhsm();
  const pins = { visited: `${tag}v-Pin-${process.pid}-51a0`, home: `${tag}h-Pin-${process.pid}-7e3c` };
  const tokens = {
    visited: hsm.createToken(`sepp-${tag}v-${process.pid}`, pins.visited),
    home: hsm.createToken(`sepp-${tag}h-${process.pid}`, pins.home),
  };
  return { hsm, pins, tokens, pinEnv };
}

/** The pair: both sides `workers: 2`, pkcs11 keystore and AEAD on `tokens[side]` (PIN in `pinEnv`). */
export function startPkcs11WorkerSepps(o: {
  name: string;
  hsm: SoftHsm;
  tokens: Record<Side, TestToken>;
  pins: Record<Side, string>;
  pinEnv: string;
  udm: TestNf;
  /** more of each side's configuration */
  edit?: PairOptions["edit"];
  /** more of each side's environment */
  envOf?: Partial<Record<Side, Record<string, string>>>;
}): Promise<TwoSepps> {
  return startTwoSepps({
    name: o.name,
    capabilities: ["PRINS"],
    separateN32f: true,
    homeNfs: { [HOME_UDM]: o.udm },
    edit: (side, c) => {
      (c as { workers?: number }).workers = 2;
      c.keystore = {
        backend: "pkcs11",
        module: o.hsm.module,
        tokenUri: o.tokens[side].uri,
        pinEnv: o.pinEnv,
        sessionPoolSize: 2,
      };
      c.aead = { engine: "pkcs11" };
      o.edit?.(side, c);
    },
    env: o.hsm.env,
    envOf: {
      visited: { [o.pinEnv]: o.pins.visited, ...o.envOf?.visited },
      home: { [o.pinEnv]: o.pins.home, ...o.envOf?.home },
    },
  });
}

/** The N32-f keys in a SEPP's token now (`sepp_aead_token_keys`: the main thread's and every worker's). */
export async function tokenKeys(s: SeppProcess): Promise<number | null> {
  const m = /^sepp_aead_token_keys (-?\d+)$/m.exec(await (await s.admin("/metrics")).text());
  return m ? Number(m[1]) : null;
}

/** Both SEPPs stop with exit code 0 and no PIN is in either's log lines (a leak is found by a plain substring). */
export async function closeWithoutPinInLogs(
  w: TwoSepps | undefined,
  pins: Record<Side, string>,
): Promise<{ codes: Array<number | null>; leaked: string[] }> {
  const codes = (await w?.close()) ?? [];
  const leaked: string[] = [];
  for (const s of [w?.visited, w?.home]) {
    const text = JSON.stringify(s?.logs ?? []);
    for (const pin of [pins.visited, pins.home]) if (text.includes(pin)) leaked.push(pin);
  }
  return { codes, leaked };
}
