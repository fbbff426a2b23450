#!/usr/bin/env bash
# npm test: installs missing system packages the tests need (SoftHSM2, qemu-user) when it can, then runs
# every bun:test suite. Extra arguments go to bun test (e.g. npm test -- test/n32c-handshake.test.ts).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh || echo "warning: some system packages are missing; the tests that need them will fail" >&2
exec ./node_modules/.bin/bun test "$@"
