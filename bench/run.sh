#!/usr/bin/env bash
# Runs Portico side by side with nginx and HAProxy through the shared harness
# (../shared/bench/compare.sh), one worker pinned to one core, and prints the report.
#   bench/run.sh                 # full run (~9 min)
#   bench/run.sh --quick         # smoke run (~2 min)
#   bench/run.sh --scenarios h1-1k,h1-close --rounds 5
# Extra arguments go to compare.sh. The report lands in $BENCH_OUT or a temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
harness=${BENCH_HARNESS:-$root/../shared/bench/compare.sh}
bash scripts/build.sh release >/dev/null
exec "$harness" \
  --proxy-name portico \
  --proxy-cmd "exec $root/build/portico --config {config}" \
  --proxy-config "$root/bench/portico.yaml" \
  "$@"
