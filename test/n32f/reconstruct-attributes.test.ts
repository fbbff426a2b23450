// reconstruct(): the attribute (JSON pointer into the aad) of a refused entry names the entry and the member that
// failed (N32-PROFILE P10: failureReason + attribute go back in the n32f-error), also now that the pointer is
// formatted only on failure (no string per header and per payload value on the hot path).
import { describe, expect, test } from "bun:test";
import type { DataToIntegrityProtectBlock } from "../../src/model/n32.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import { reconstruct } from "../../src/n32f/reconstruct.ts";

const META = { n32fContextId: "0123456789abcdef", messageId: "m1", authorizedIpxId: "NULL" };

function refusal(block: unknown, dataToEncrypt: unknown[] = []): { reason?: string; attribute?: string } {
  try {
    reconstruct(block as DataToIntegrityProtectBlock, dataToEncrypt, { expect: "response" });
  } catch (e) {
    if (!(e instanceof N32fError)) throw e;
    return { reason: e.failureReason, attribute: e.attribute };
  }
  throw new Error("reconstruct accepted the block");
}

describe("reconstruct failure attributes", () => {
  test("a nested encBlockIndex beyond dataToEncrypt is located below /payload/<i>/value", () => {
    const block = {
      metaData: META,
      statusLine: "200",
      headers: [{ header: "content-type", value: "application/json" }],
      payload: [
        { iePath: "/a", ieValueLocation: "BODY", value: 1 },
        { iePath: "/b", ieValueLocation: "BODY", value: { c: ["x", { d: { encBlockIndex: 3 } }] } },
      ],
    };
    expect(refusal(block, ["only one"])).toEqual({
      reason: "INVALID_INDEX_TO_ENCRYPTED_BLOCK",
      attribute: "/payload/1/value/c/1/d",
    });
  });

  test("a reference used twice is reported at its second place, member names escaped", () => {
    const block = {
      metaData: META,
      statusLine: "200",
      payload: [
        { iePath: "/a", ieValueLocation: "BODY", value: { encBlockIndex: 0 } },
        { iePath: "/b", ieValueLocation: "BODY", value: [{ "x/y": { encBlockIndex: 0 } }] },
      ],
    };
    expect(refusal(block, ["v"])).toEqual({
      reason: "INVALID_INDEX_TO_ENCRYPTED_BLOCK",
      attribute: "/payload/1/value/0/x~1y",
    });
  });

  test("header entries are located by their index", () => {
    const headers = (third: unknown) => ({
      metaData: META,
      statusLine: "200",
      headers: [{ header: "accept", value: "a" }, { header: "date", value: "d" }, third],
    });
    expect(refusal(headers({ header: "Bad Name", value: "v" }))).toEqual({
      reason: "INVALID_HTTP_HEADER",
      attribute: "/headers/2/header",
    });
    expect(refusal(headers({ header: "x-v", value: "a\r\nb" }))).toEqual({
      reason: "INVALID_HTTP_HEADER",
      attribute: "/headers/2/value",
    });
    expect(refusal(headers({ header: "x-v", value: { encBlockIndex: 9 } }))).toEqual({
      reason: "INVALID_INDEX_TO_ENCRYPTED_BLOCK",
      attribute: "/headers/2/value",
    });
    expect(refusal(headers({ value: "v" }))).toEqual({ reason: "INVALID_HTTP_HEADER", attribute: "/headers/2/header" });
  });

  test("an unsupported content-type names the header that carried it", () => {
    const block = {
      metaData: META,
      statusLine: "200",
      headers: [
        { header: "accept", value: "a" },
        { header: "content-type", value: "text/plain" },
      ],
      payload: [{ iePath: "/a", ieValueLocation: "BODY", value: 1 }],
    };
    expect(refusal(block)).toEqual({ reason: "INVALID_HTTP_HEADER", attribute: "/headers/1/value" });
  });
});
