#!/usr/bin/env bash
# build.sh — compile the SEPP into standalone executables (one file each, Bun runtime included):
#   dist/sepp-linux-x64, dist/sepp-linux-arm64   (+ dist/sepp-<target>.meta.json: the module graph)
# Usage: bash build.sh [linux-x64|linux-arm64 ...]   (default: both)
# The arm64 cross build fetches the bun-linux-aarch64 runtime of the pinned Bun version from the npm
# registry on first use (then cached). Test on x64 with: qemu-aarch64 -L /usr/aarch64-linux-gnu dist/sepp-linux-arm64 --version
#
# Flags:
#   --minify                 smaller bundle;
#   --bytecode --format=esm  the bundle is embedded as precompiled JavaScriptCore bytecode as well, so a start does
#                            not parse its ~2 MB of JavaScript (about 60 ms of the start-up on x64, docs/PERFORMANCE.md
#                            "Start-up"); ESM keeps the worker entry's module semantics (the default, CommonJS, would
#                            not allow top-level await);
#   --sourcemap=linked       Bun embeds the source map in the executable, so stack traces name src/… lines
#                            even when minified; the side .map file is not needed and is removed;
#   --reject-unresolved      fail the build if any import()/require() cannot be resolved at build time, so
#                            nothing is left to load from disk at run time (config/*.json, the generated
#                            OpenAPI validators are all imports);
#   --no-compile-autoload-dotenv/bunfig   the gateway binary must not change behaviour because of a .env or
#                            bunfig.toml in its working directory.
# OTA bundles (docs/UPDATES.md): for each target also dist/sepp-<version>-linux-<arch>.raucb, a RAUC bundle whose
# one image is a squashfs for the `app` slot class (the binary, its default configuration, the systemd unit, the
# version), `compatible` = <product>-linux-<arch>, signed with the vendor key. Environment:
#   SEPP_VERSION=x.y.z          version of binary and bundle (default: package.json)
#   SEPP_SIGNING_CERT/_KEY      vendor signing certificate and key (PEM; the key may be a pkcs11: URI); without
#                               them a development signing CA is made under var/dev-signing/ (never committed)
#   SEPP_PRODUCT=sepp-gateway   product part of `compatible`
#   SEPP_BUNDLE_FORMAT=verity   or plain (only for test systems without device-mapper)
#   SEPP_SQUASHFS_COMP=xz       mksquashfs compressor (gzip builds faster)
#   SEPP_DIST=dist              output directory;  SEPP_BUNDLES=0 skips the bundles
# The OpenAPI validators (src/openapi/validators.gen.ts) are committed; regenerate them with
# `bun scripts/gen-openapi.ts` when the 3GPP files change (test/openapi/validate.test.ts checks).
set -euo pipefail
cd "$(dirname "$0")"
BUN=./node_modules/.bin/bun
[ -x "$BUN" ] || { echo "build.sh: $BUN missing: run npm ci first" >&2; exit 1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64 linux-arm64)
DIST=${SEPP_DIST:-dist}
VERSION=${SEPP_VERSION:-$("$BUN" -e 'console.log(require("./package.json").version)')}
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || { echo "build.sh: bad SEPP_VERSION $VERSION" >&2; exit 2; }
mkdir -p "$DIST"
for t in "${targets[@]}"; do
  case "$t" in
    linux-x64 | linux-arm64) ;;
    *) echo "build.sh: unknown target $t (linux-x64, linux-arm64)" >&2; exit 2 ;;
  esac
  out="$DIST/sepp-$t"
  tmp="$out.tmp.$$"
  # src/workers/worker.ts is a second entry point: the data-path workers (workers > 1) load it from the binary
  "$BUN" build src/main.ts src/workers/worker.ts --compile --bytecode --format=esm --minify --sourcemap=linked --reject-unresolved \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    --target="bun-$t" --define "SEPP_BUILD_VERSION=\"$VERSION\"" --metafile="$out.meta.json" --outfile="$tmp"
  rm -f "$tmp.map" "$DIST/worker.js.map" # the embedded maps are inside the executable; the side files are not needed
  mv -f "$tmp" "$out" # atomic: a concurrent reader never sees a half-written binary
  echo "built $out"
done
[ "${SEPP_BUNDLES:-1}" = 0 ] || bash scripts/bundle.sh "$VERSION" "$DIST" "${targets[@]}"
