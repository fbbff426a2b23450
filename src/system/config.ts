// src/system/config.ts — the `system` member of the configuration: OTA updates through RAUC (docs/UPDATES.md).
// Own module so that src/config/schema.ts only mounts it; documented in docs/CONFIG.md.
import * as v from "valibot";
import { VERSION_RE } from "../../os/rauc.ts";

const PosInt = v.pipe(v.number(), v.integer(), v.minValue(1));
export { VERSION_RE };
const Version = v.pipe(v.string(), v.regex(VERSION_RE, "must be a version x.y.z"));

export const SystemSchema = v.strictObject({
  /** POST /v1/system/update and the commit-after-boot check are active only when true */
  updates: v.optional(v.boolean(), false),
  /** RAUC `compatible` this device accepts (product and architecture), e.g. "sepp-gateway-linux-x64" */
  compatible: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(128)), "sepp-gateway-linux-x64"),
  /** PEM file of the vendor signing CA(s) a bundle must chain to; relative to storage.dir */
  keyring: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(4096)), "/etc/rauc/keyring.pem"),
  /** Anti-rollback: a bundle whose version is below this is refused (raise it after a security fix) */
  minVersion: v.optional(Version, "0.0.0"),
  /** Upload limit of one bundle (413 above it) */
  maxBundleBytes: v.optional(v.pipe(PosInt, v.maxValue(4 * 1024 * 1024 * 1024)), 512 * 1024 * 1024),
  /** Where an uploaded bundle is spooled until RAUC has installed it; relative to storage.dir */
  spoolDir: v.optional(v.pipe(v.string(), v.minLength(1)), "spool"),
  /** The rauc command (its CLI talks to `rauc service` over the system D-Bus) */
  raucCommand: v.optional(v.pipe(v.string(), v.minLength(1)), "rauc"),
  /** What POST /v1/system/reboot and a failed commit run, after draining */
  rebootCommand: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)), [
    "systemctl",
    "reboot",
  ]),
  /** Commit after boot: how long the peers with `initiate` get to reach an N32 association */
  commitTimeoutMs: v.optional(PosInt, 120_000),
  /** POST /v1/system/reboot: how long in-flight N32 traffic may drain before the reboot */
  drainTimeoutMs: v.optional(PosInt, 10_000),
});

export type SystemConfig = v.InferOutput<typeof SystemSchema>;
