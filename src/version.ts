// src/version.ts — the version reported by `sepp --version` and GET /v1/status (embedded at build time).
// build.sh may set another version with `--define SEPP_BUILD_VERSION='"x.y.z"'` (SEPP_VERSION=x.y.z bash build.sh):
// the OTA bundle's manifest and the binary inside it then carry the same version.
import pkg from "../package.json" with { type: "json" };

declare const SEPP_BUILD_VERSION: string | undefined;

export const VERSION: string = typeof SEPP_BUILD_VERSION === "string" ? SEPP_BUILD_VERSION : pkg.version;
