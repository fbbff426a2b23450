// SCAS TS 33.517 4.2.2.6 Correct handling of protection policy mismatch, in its three cases: the data-type encryption
// policy d' received on N32-c differs from the configured d (m' = m); the modification policy m' differs from m
// (d' = d); both differ. The SEPP under test is the home SEPP (262-01, N32-c responder, real process) with the
// agreed policy of its partner configured (`partnerPolicy`); the visited SEPP (234-15) sends its own policy in the
// policy round of exchange-params. Expected result (SCAS): the SEPP under test sends an error signalling message to
// the peer SEPP on N32-c, or logs the error. With `onPolicyMismatch: reject` (the default, N32-PROFILE P7) it does
// both: a warning with the policyMismatchList, and n32f-error POLICY_MISMATCH to the peer; the context is not used.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { waitFor } from "../../scripts/lib/pair.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

setDefaultTimeout(40000);

const AUTH_PATH = "/nausf-auth/v1/ue-authentications";

/** d and m as the two operators agreed them (configured on the home SEPP as the visited partner's policy). */
const AGREED: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: AUTH_PATH,
      apiMethod: "POST",
      IeList: [{ ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/servingNetworkName", isModifiable: false }],
    },
  ],
  dataTypeEncPolicy: ["UEID", "AUTHENTICATION_MATERIAL"],
};
// OTHER: not among the types every SEPP encrypts anyway (P4 defaults are part of the full policy sent, P11)
const D_DIFFERS: ProtectionPolicy = { ...AGREED, dataTypeEncPolicy: ["UEID", "AUTHENTICATION_MATERIAL", "OTHER"] };
const M_DIFFERS: ProtectionPolicy = {
  ...AGREED,
  apiIeMappingList: [
    {
      ...AGREED.apiIeMappingList[0]!,
      IeList: [{ ieLoc: "BODY", ieType: "NONSENSITIVE", reqIe: "/servingNetworkName", isModifiable: true }],
    },
  ],
};
const BOTH_DIFFER: ProtectionPolicy = { ...M_DIFFERS, dataTypeEncPolicy: D_DIFFERS.dataTypeEncPolicy };

interface Status {
  state: string;
  lastError?: { cause?: string };
  counters: { errorsReceived: number; errorsSent: number };
}

let run: TwoSepps | null = null;
afterEach(async () => {
  if (!run) return;
  const codes = await run.close();
  run = null;
  expect(codes).toEqual([0, 0]);
});

/** Start the pair with the visited SEPP sending `sent` as its policy; return what each side shows. */
async function mismatch(sent: ProtectionPolicy) {
  run = await startTwoSepps({
    name: "scas-policy",
    capabilities: ["PRINS"],
    edit: (side, c) => {
      const peer = c.peers![0]!;
      if (side === "visited") peer.protectionPolicy = sent;
      else {
        peer.protectionPolicy = AGREED;
        peer.partnerPolicy = AGREED;
      }
    },
    state: false,
  });
  const { visited: v, home: h } = run;
  // the SEPP under test logs the mismatch (TS 33.501 13.2.3.6) with what differs
  const logged = await waitFor("the mismatch in the home SEPP's log", () =>
    h.logs.find((l) => l.level === "warn" && String(l.msg).startsWith("protection policy mismatch")),
  );
  // and signals it to the peer SEPP on N32-c: the visited SEPP received n32f-error POLICY_MISMATCH
  const visited = await waitFor("the n32f-error at the visited SEPP", async () => {
    const s = (await (await v.admin("/v1/peers/home/n32")).json()) as Status;
    return s.counters.errorsReceived > 0 && s.lastError?.cause === "POLICY_MISMATCH" ? s : null;
  });
  // the home SEPP counts an n32f-error once the peer has answered it (src/n32c/ops/exchange-params.ts), which may be
  // after the visited SEPP shows it received: wait for the count rather than read it once (a race CI once lost)
  const home = await waitFor("the n32f-error counted as sent at the home SEPP", async () => {
    const s = (await (await h.admin("/v1/peers/visited/n32")).json()) as Status;
    return s.counters.errorsSent > 0 ? s : null;
  });
  return { logged, visited, home, h };
}

/** The members that differ; a mapping's index in the full policy sent (defaults ∪ configured, P11) is left out. */
const params = (l: Record<string, unknown>) =>
  (l.policyMismatchList as Array<{ param: string }>).map((p) => p.param.replace(/\/\d+\//, "/N/")).sort();

describe("SCAS 33.517 4.2.2.6 (real processes, home SEPP under test)", () => {
  test("SCAS 33.517 4.2.2.6 Correct handling of protection policy mismatch (data-type encryption policy differs)", async () => {
    const r = await mismatch(D_DIFFERS);
    expect(params(r.logged)).toEqual(["/dataTypeEncPolicy"]);
    expect(r.logged.peer).toBe("visited");
    expect(r.home.counters.errorsSent).toBeGreaterThan(0);
    expect(r.home.state).not.toBe("active-prins"); // the mismatching context is not used
  });

  test("SCAS 33.517 4.2.2.6 Correct handling of protection policy mismatch (modification policy differs)", async () => {
    const r = await mismatch(M_DIFFERS);
    expect(params(r.logged)).toEqual(["/apiIeMappingList/N/IeList"]);
    expect(r.home.counters.errorsSent).toBeGreaterThan(0);
    expect(r.home.state).not.toBe("active-prins");
  });

  test("SCAS 33.517 4.2.2.6 Correct handling of protection policy mismatch (both differ)", async () => {
    const r = await mismatch(BOTH_DIFFER);
    expect(params(r.logged)).toEqual(["/apiIeMappingList/N/IeList", "/dataTypeEncPolicy"]);
    expect(r.home.counters.errorsSent).toBeGreaterThan(0);
    expect(r.home.state).not.toBe("active-prins");
  });

  test("control: the agreed policy sent as agreed raises no mismatch and the association comes up", async () => {
    run = await startTwoSepps({
      name: "scas-policy",
      capabilities: ["PRINS"],
      edit: (_side, c) => {
        c.peers![0]!.protectionPolicy = AGREED;
        c.peers![0]!.partnerPolicy = AGREED;
      },
      state: false,
    });
    const h = run.home;
    await waitFor("the association", async () => {
      const s = (await (await h.admin("/v1/peers/visited/n32")).json()) as Status;
      return s.state === "active-prins";
    });
    expect(h.logs.some((l) => String(l.msg).startsWith("protection policy mismatch"))).toBe(false);
  });
});
