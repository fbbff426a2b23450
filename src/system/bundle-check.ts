// src/system/bundle-check.ts — what the SEPP checks in a bundle before RAUC may install it (docs/UPDATES.md).
// Pure: the input is what `rauc info --keyring` reported (signature verified or the error it gave).

/** A refusal as the admin API returns it (ProblemDetails status, cause, detail). */
export interface Refusal {
  status: number;
  cause: string;
  detail: string;
}

/** Order two versions x.y.z[-pre] (semver precedence; Bun's implementation). */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return Bun.semver.order(a, b);
}

/** rauc info failed: a signature that does not verify against the keyring, or a bundle RAUC cannot read at all. */
export function refusalFromInfoError(error: string): Refusal {
  const signature = /signature|verif|certificate|cms|keyring|signer|digest/i.test(error);
  return signature
    ? { status: 400, cause: "BUNDLE_SIGNATURE_INVALID", detail: `bundle not accepted: ${error}` }
    : { status: 400, cause: "BUNDLE_INVALID", detail: `bundle not readable: ${error}` };
}

/**
 * The manifest against this device: `compatible` must be ours (RAUC checks it again at install), and the version
 * must not be below the configured minimum (anti-rollback). A version below the running one but at or above
 * the minimum is a deliberate downgrade and allowed; the minimum is what makes a fixed vulnerability stay fixed.
 */
export function checkManifest(
  info: { compatible: string; version: string },
  device: { compatible: string; minVersion: string },
): Refusal | null {
  if (info.compatible !== device.compatible)
    return {
      status: 400,
      cause: "BUNDLE_INCOMPATIBLE",
      detail: `bundle is for "${info.compatible.slice(0, 128)}", this device is "${device.compatible}"`,
    };
  if (compareVersions(info.version, device.minVersion) < 0)
    return {
      status: 400,
      cause: "BUNDLE_DOWNGRADE_REFUSED",
      detail: `bundle version ${info.version} is below the minimum version ${device.minVersion} (anti-rollback)`,
    };
  return null;
}
