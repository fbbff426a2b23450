// src/version.ts — the version reported by `sepp --version` and GET /v1/status (embedded at build time).
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
