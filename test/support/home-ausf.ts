// test/support/home-ausf.ts — the home AUSF simulated for 5G-AKA (TS 29.509 5.2.2.2): a real h2c NF that
// creates the authentication context `ctx-42` with a fixed AV and confirms RES* (TS 33.501 6.1.3.2). The
// AKA material is distinctive so that any clear occurrence in logs or on the wire is found.
import { HOME_AUSF } from "../../scripts/lib/pair.ts";
import { type NfAnswer, type TestNf, startNf } from "./nf.ts";

export const AKA_SUPI = "imsi-262010000000042";
export const AKA_AV = {
  rand: "4a1c3d5e7f9102b3c4d5e6f708192a3b",
  autn: "bd1e2f3a4b5c6d7e8f90a1b2c3d4e5f6",
  hxresStar: "77e8f9a0b1c2d3e4f5061728394a5b6c",
};
export const AKA_RES_STAR = "c0ffee00c0ffee11c0ffee22c0ffee33";
export const AKA_KSEAF = "5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf5eaf";

/** A JSON answer as an NF sends it. */
export const jsonAnswer = (status: number, body: unknown, headers: Record<string, string> = {}): NfAnswer => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
/** 404 ProblemDetails RESOURCE_NOT_FOUND. */
export const notFoundAnswer = (): NfAnswer =>
  jsonAnswer(404, { status: 404, cause: "RESOURCE_NOT_FOUND" }, { "content-type": "application/problem+json" });

/**
 * Starts the home AUSF. POST ue-authentications answers 201 with the 5G-AKA AV and absolute links to
 * `http://HOME_AUSF:<port>/nausf-auth/v1/ue-authentications/ctx-42`, unless `onCreate` returns another answer
 * for that supiOrSuci; PUT .../ctx-42/5g-aka-confirmation answers AUTHENTICATION_SUCCESS with KSEAF when the
 * RES* matches, AUTHENTICATION_FAILURE otherwise; anything else is 404.
 */
export async function startHomeAusf(
  onCreate?: (supiOrSuci: string, base: string) => NfAnswer | undefined,
): Promise<TestNf> {
  const ausf: TestNf = await startNf((r) => {
    if (r.method === "POST" && r.path === "/nausf-auth/v1/ue-authentications") {
      const base = `http://${HOME_AUSF}:${ausf.port}/nausf-auth/v1/ue-authentications/ctx-42`;
      const other = onCreate?.(JSON.parse(r.body.toString()).supiOrSuci, base);
      if (other) return other;
      return jsonAnswer(
        201,
        { authType: "5G_AKA", "5gAuthData": AKA_AV, _links: { "5g-aka": { href: `${base}/5g-aka-confirmation` } } },
        { location: base },
      );
    }
    if (r.method === "PUT" && r.path === "/nausf-auth/v1/ue-authentications/ctx-42/5g-aka-confirmation") {
      const ok = JSON.parse(r.body.toString()).resStar === AKA_RES_STAR;
      return jsonAnswer(200, {
        authResult: ok ? "AUTHENTICATION_SUCCESS" : "AUTHENTICATION_FAILURE",
        supi: AKA_SUPI,
        ...(ok ? { kseaf: AKA_KSEAF } : {}),
      });
    }
    return notFoundAnswer();
  });
  return ausf;
}
