// src/config/schema/policy.ts — N32 security capabilities, protection policies (TS 29.573 ProtectionPolicy) and
// security profiles (TS 33.501 13.2.2.2, N32-PROFILE P11).
import * as v from "valibot";

export const SecurityCapabilityName = v.picklist(["PRINS", "TLS"]);
export const JweSuite = v.picklist(["A256GCM", "A128GCM"]);
export const N32PurposeSchema = v.picklist([
  "ROAMING",
  "INTER_PLMN_MOBILITY",
  "SMS_INTERCONNECT",
  "ROAMING_TEST",
  "INTER_PLMN_MOBILITY_TEST",
  "SMS_INTERCONNECT_TEST",
  "SNPN_INTERCONNECT",
  "SNPN_INTERCONNECT_TEST",
  "DISASTER_ROAMING",
  "DISASTER_ROAMING_TEST",
]);
const IeTypeSchema = v.picklist([
  "UEID",
  "LOCATION",
  "KEY_MATERIAL",
  "AUTHENTICATION_MATERIAL",
  "AUTHORIZATION_TOKEN",
  "OTHER",
  "NONSENSITIVE",
]);
const IeInfoSchema = v.strictObject({
  ieLoc: v.picklist(["URI_PARAM", "HEADER", "BODY", "MULTIPART_BINARY"]),
  ieType: IeTypeSchema,
  reqIe: v.optional(v.string()),
  rspIe: v.optional(v.string()),
  isModifiable: v.optional(v.boolean()),
  isModifiableByIpx: v.optional(v.record(v.string(), v.boolean())),
});
/** TS 29.573 ProtectionPolicy (wire shape, including the legacy member name IeList). */
export const ProtectionPolicySchema = v.strictObject({
  apiIeMappingList: v.pipe(
    v.array(
      v.strictObject({
        apiSignature: v.union([v.string(), v.strictObject({ callbackType: v.string() })]),
        apiMethod: v.picklist(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE"]),
        IeList: v.pipe(v.array(IeInfoSchema), v.minLength(1)),
      }),
    ),
    v.minLength(1),
  ),
  dataTypeEncPolicy: v.optional(v.pipe(v.array(IeTypeSchema), v.minLength(1))),
});

/**
 * A security profile (TS 33.501 13.2.2.2, the alternative to exchanging policies in steps 2a/2c; N32-PROFILE P11):
 * a named, versioned set of data-type encryption and modification policies both operators configure. Its id and
 * version travel on N32-c (`securityProfile`), never its content.
 */
const SecurityProfileId = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "profile id like n32-default"),
);
const SecurityProfileVersion = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 31 - 1));
export const SecurityProfileRefSchema = v.strictObject({ id: SecurityProfileId, version: SecurityProfileVersion });
export const SecurityProfileSchema = v.strictObject({
  id: SecurityProfileId,
  version: SecurityProfileVersion,
  /** the profile's policies: additions to the P4 defaults (encrypted data types, IEs, isModifiable[ByIpx]) */
  protectionPolicy: ProtectionPolicySchema,
});

export type SecurityProfileConfig = v.InferOutput<typeof SecurityProfileSchema>;
export type SecurityProfileRef = v.InferOutput<typeof SecurityProfileRefSchema>;
/** The profile every SEPP built from N32-PROFILE knows (P11): the P4 default mapping, no modification allowed. */
export const BUILT_IN_PROFILE: SecurityProfileRef = { id: "n32-default", version: 1 };
