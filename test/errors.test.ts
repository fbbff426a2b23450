// The one error base (src/errors.ts): every error class of src/ is a SeppError with a stable code and an HTTP
// status, none overrides Error.cause with a string, and toProblem() renders what the edges answered before.
import { describe, expect, test } from "bun:test";
import { SeppError } from "../src/errors.ts";
import { N32fError, ReformatError } from "../src/n32f/errors.ts";
import { RiAnnouncementMismatch } from "../src/n32f/announce.ts";
import { MultipartError } from "../src/n32f/multipart.ts";
import { PointerError } from "../src/n32f/pointer.ts";
import { RiKeyError } from "../src/n32f/ri-keys.ts";
import { N32fContextStoreError } from "../src/n32f/context-store.ts";
import { N32cError } from "../src/n32c/core-types.ts";
import { InvalidOwnBodyError } from "../src/n32c/messages.ts";
import { TargetError } from "../src/sbi/api-root.ts";
import { TelescopicError } from "../src/sbi/telescopic-store.ts";
import { EgressConfigError, PathError } from "../src/sbi/egress.ts";
import { OriginError } from "../src/sbi/origin.ts";
import { UpstreamError } from "../src/datapath/upstream.ts";
import { H2ConnectError } from "../src/transport/h2client.ts";
import { HandoffCodecError } from "../src/workers/handoff-codec.ts";
import { HpackError } from "../src/transport/h2/hpack.ts";

const all: SeppError[] = [
  new N32fError("INTEGRITY_CHECK_FAILED", "d"),
  new RiAnnouncementMismatch([{ param: "/x" }]),
  new ReformatError(415, "UNSUPPORTED_MEDIA_TYPE", "d"),
  new MultipartError("d"),
  new PointerError("d"),
  new RiKeyError("ipx.example", "d"),
  new N32fContextStoreError("d"),
  new N32cError("NEGOTIATION_NOT_ALLOWED", "d"),
  new InvalidOwnBodyError("d"),
  new TargetError("INVALID_TARGET", "d"),
  new TelescopicError("d"),
  new EgressConfigError("d"),
  new PathError("d"),
  new OriginError("d"),
  new UpstreamError("too-large", "d"),
  new H2ConnectError("d"),
  new HandoffCodecError("d"),
  new HpackError("d"),
];

describe("one error base", () => {
  test("every error class is a SeppError with an UPPER_SNAKE code, an HTTP status and its own name", () => {
    for (const e of all) {
      expect(e).toBeInstanceOf(SeppError);
      expect(e.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(e.status >= 400 && e.status <= 599).toBe(true);
      expect(e.name).toBe(e.constructor.name);
      expect(e.toProblem().status).toBe(e.status);
    }
  });

  test("no error class puts a string in Error.cause; a wrapped error stays there", () => {
    for (const e of all) expect(e.cause).toBeUndefined();
    const inner = new Error("inner");
    expect(new SeppError("X", "outer", { cause: inner }).cause).toBe(inner);
  });

  test("toProblem() renders the ProblemDetails the edges answered before", () => {
    expect(new ReformatError(415, "UNSUPPORTED_MEDIA_TYPE", "body without content-type").toProblem()).toEqual({
      status: 415,
      cause: "UNSUPPORTED_MEDIA_TYPE",
      title: "Unsupported Media Type",
      detail: "body without content-type",
    });
    expect(
      new TargetError(
        "UNKNOWN_TELESCOPIC_LABEL",
        "unknown telescopic FQDN",
        404,
        "TARGET_NOT_FOUND",
        ":authority",
      ).toProblem(),
    ).toEqual({
      status: 404,
      cause: "TARGET_NOT_FOUND",
      title: "Not Found",
      detail: "unknown telescopic FQDN",
      invalidParams: [{ param: ":authority", reason: "unknown telescopic FQDN" }],
    });
    expect(new TelescopicError("full", 503, "INSUFFICIENT_RESOURCES").toProblem()).toEqual({
      status: 503,
      cause: "INSUFFICIENT_RESOURCES",
      title: "Service Unavailable",
      detail: "full",
    });
    // N32-f (P8): 403 ProblemDetailsMsgForwarding with the status the sending SEPP should give its NF
    expect(
      new N32fError("MESSAGE_RECONSTRUCTION_FAILED", "bad pointer", {
        attribute: "/payload/0",
        failureReason: "INVALID_JSON_POINTER",
      }).toProblem(),
    ).toEqual({
      title: "Forbidden",
      status: 403,
      cause: "MESSAGE_RECONSTRUCTION_FAILED",
      detail: "bad pointer",
      suggestedStatusCode: 502,
      invalidParams: [{ param: "/payload/0", reason: "INVALID_JSON_POINTER" }],
    });
  });

  test("the code of an N32fError is its N32fErrorType, of an N32cError the cause recorded for the peer", () => {
    expect(new N32fError("CONTEXT_NOT_FOUND", "d").code).toBe("CONTEXT_NOT_FOUND");
    expect(new N32cError("HTTP_503", "d").code).toBe("HTTP_503");
    expect(new UpstreamError("refused-address", "d").code).toBe("UPSTREAM_REFUSED_ADDRESS");
  });
});
