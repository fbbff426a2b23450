#!/usr/bin/env bash
# npm test: installs missing system packages the tests need (SoftHSM2, qemu-user) when it can, runs the Biome
# format and lint gate and the strict typecheck over the whole tree, then every bun:test suite. Extra arguments
# go to bun test (e.g. npm test -- test/n32c/handshake.test.ts), and then the gate and typecheck are skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh || echo "warning: some system packages are missing; the tests that need them will fail" >&2
if [ $# -eq 0 ]; then
  ./node_modules/.bin/biome check . || { echo "format/lint check failed (npm run lint:fix formats)"; exit 1; }
  ./node_modules/.bin/tsc --noEmit -p . || { echo "typecheck failed"; exit 1; }
fi
exec ./node_modules/.bin/bun test "$@"
