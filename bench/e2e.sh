#!/usr/bin/env bash
# bench/e2e.sh — end-to-end benchmark (npm run bench:e2e): h2load through our two SEPPs (PRINS, TLS), straight to
# the NF and through a two-hop nghttpx chain; see bench/e2e-run.ts and docs/PERFORMANCE.md "End to end".
# Arguments go to bench/e2e-run.ts (--duration s, --warmup s, -c clients, -m streams per client, --only …).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in h2load nghttpx; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench:e2e needs $tool (Debian nghttp2-client / nghttp2-proxy): SEPP_BENCH_DEPS=1 bash scripts/install-system-deps.sh" >&2
    exit 2
  fi
done
BUN=./node_modules/.bin/bun
[ -x "$BUN" ] || BUN=bun
# bounded: 14 scenarios × 3 rounds × 6 s + warm-ups + start-ups ≈ 7 minutes; hard stop at 540 s
exec timeout -k 5 540 "$BUN" bench/e2e-run.ts "$@"
