#!/usr/bin/env bash
# Runs Portico side by side with nginx and HAProxy through the shared harness
# (../shared/bench/compare.sh), one worker pinned to one core, prints the report and writes
# its figures into docs/performance.md (bench/render_performance.py).
#   bench/run.sh                 # full run (~9 min)
#   bench/run.sh --quick         # smoke run (~2 min); does not touch docs/
#   bench/run.sh --scenarios h1-1k,h1-close --rounds 5
#   bench/run.sh --no-docs ...   # measure only
# Other arguments go to compare.sh. The report lands in $BENCH_OUT/<timestamp>
# (default /tmp/portico-bench/<timestamp>).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
harness=${BENCH_HARNESS:-$root/../shared/bench/compare.sh}
update_docs=1
args=()
for a in "$@"; do
  case "$a" in
    --no-docs) update_docs=0 ;;
    --quick) update_docs=0; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
out=${BENCH_OUT:-${TMPDIR:-/tmp}/portico-bench}/$(date -u +%Y%m%d-%H%M%S)
bash scripts/build.sh release >/dev/null
"$harness" \
  --out "$out" \
  --proxy-name portico \
  --proxy-cmd "exec $root/build/portico --config {config}" \
  --proxy-config "$root/bench/portico.yaml" \
  "${args[@]}"
if [ "$update_docs" = 1 ]; then
  /usr/bin/python3 bench/render_performance.py --report "$out/report.md" \
    --command "bench/run.sh $*" --docs docs/performance.md
fi
