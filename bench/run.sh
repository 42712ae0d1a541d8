#!/usr/bin/env bash
# Runs Portico side by side with nginx and HAProxy, one worker pinned to one core, prints the
# report and writes its figures into docs/performance.md (bench/render_performance.py).
#   bench/run.sh                 # full run (~9 min)
#   bench/run.sh --quick         # smoke run (~2 min); does not touch docs/
#   bench/run.sh --scenarios h1-1k,h1-close --rounds 5
#   bench/run.sh --no-docs ...   # measure only
# Other arguments go to the harness. The report lands in $BENCH_OUT/<timestamp>
# (default /tmp/portico-bench/<timestamp>).
#
# The harness is not part of this repository: it is an external side-by-side benchmark
# (compare.sh) that starts the origin and each proxy, pins them to cores, drives wrk and h2load
# and writes report.md. It is looked for in a sibling checkout, ../shared/bench/compare.sh;
# when it is elsewhere, set PORTICO_BENCH_HARNESS to its compare.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
harness=${PORTICO_BENCH_HARNESS:-$root/../shared/bench/compare.sh}
if [ ! -x "$harness" ]; then
  echo "bench/run.sh: no benchmark harness at $harness" >&2
  echo "The side-by-side harness (compare.sh) is not part of this repository; set" >&2
  echo "PORTICO_BENCH_HARNESS to the path of its compare.sh." >&2
  exit 2
fi
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
