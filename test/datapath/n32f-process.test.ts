// readableMetaData (src/datapath/n32f-process.ts): what a refused n32f-process message is reported with (P11) is read
// from its unverified aad, so any aad a peer sends must give the two identifiers or nothing, never an exception (an
// exception there was a 500 to the peer: a schema-valid block need not have metaData).
import { describe, expect, test } from "bun:test";
import { readableMetaData } from "../../src/datapath/n32f-process.ts";

const withAad = (text: string) => ({ reformattedData: { aad: Buffer.from(text).toString("base64url") } });
const META = { n32fContextId: "0011223344556677", messageId: "m-1", authorizedIpxId: "NULL" };

describe("readableMetaData", () => {
  test("a block with valid metaData gives its messageId and context ID", () => {
    expect(readableMetaData(withAad(JSON.stringify({ metaData: META })))).toEqual({
      messageId: "m-1",
      n32fContextId: "0011223344556677",
    });
  });

  test("schema-valid blocks without metaData give nothing (metaData is optional in the schema)", () => {
    for (const text of ["{}", '{"u":true,"x":-4.6e306}', '{"statusLine":"200"}'])
      expect(readableMetaData(withAad(text))).toBeUndefined();
  });

  test("invalid metaData, blocks that are not schema-valid, and no aad give nothing", () => {
    for (const body of [
      withAad(JSON.stringify({ metaData: { ...META, messageId: "" } })),
      withAad(JSON.stringify({ metaData: { ...META, n32fContextId: "xyz" } })),
      withAad(JSON.stringify({ metaData: 1 })),
      withAad("[1,2]"),
      withAad("not json"),
      { reformattedData: { aad: 7 } },
      { reformattedData: null },
      null,
    ])
      expect(readableMetaData(body)).toBeUndefined();
  });
});
