#!/usr/bin/env bash
# Response compression benchmark (issue 9): Portico's compression filter side by side with
# nginx gzip and HAProxy gzip on ~100 KiB JSON and HTML bodies.
#
#   bench/compression.sh                      # 3 rounds of 5 s runs (~5 min)
#   bench/compression.sh --quick              # 1 round of 2 s runs, a smoke test
#   bench/compression.sh --rounds 5 --duration 10
#   bench/compression.sh --targets nginx-gzip,portico-gzip --scenarios json
#   bench/compression.sh --allow-identity     # development: tolerate a Portico without the filter
#   bench/compression.sh --no-build ...       # use build/portico as it is
#
# What it does (bench/compression/run.py does the work, stdlib Python):
# - generates the two bodies (bench/compression/bodies.py: a JSON API listing of varied records
#   and an HTML product page, ~100 KiB each, from a fixed seed) and serves them from an origin,
#   one nginx worker, keep-alive without a request limit;
# - starts the targets, each alone on the proxy CPU (default 1) with one worker/thread, each
#   with its config rendered from bench/compression/: nginx-gzip (gzip_comp_level 6),
#   haproxy-gzip (`compression algo gzip`; Debian's HAProxy uses libslz, which has no levels:
#   the report says so), portico-gzip (level 6), portico-br (level 5), portico-zstd (level 3);
#   brotli and zstd have no nginx peer and are recorded for reference;
# - checks every target and body once with curl: the response must carry the encoding asked
#   for and decode to the original bytes, else the script stops (--allow-identity accepts
#   uncompressed Portico responses, for development before the filter exists);
# - per body: a warm-up run per target, then --rounds rounds (order rotated each round) of
#   `wrk -t1 -c50 -H 'Accept-Encoding: <enc>'` on the client CPU (default 0, shared with the
#   origin), --duration seconds each, reading the proxy's CPU (utime+stime of its process group)
#   from /proc around each run;
# - writes report.md (printed too), raw.jsonl (one line per run), meta.json and run/ (configs,
#   logs) to --out, else $BENCH_OUT/compression-<timestamp>, else
#   /tmp/portico-bench/compression-<timestamp>.
# The report's main table is the paired ratio of per-core req/s (req/s / proxy CPU) against
# nginx-gzip: each round's value over nginx's value in the same round, listed and their median.
# Issue 9 asks portico-gzip for at least 1.0. Needs: nginx, haproxy, wrk, curl, zstd, taskset
# and python3-brotli (scripts/setup.sh installs all of them).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for b in nginx haproxy wrk curl zstd taskset; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
/usr/bin/python3 -c 'import brotli' 2>/dev/null || missing+=("python3-brotli")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/compression.sh: missing ${missing[*]}; run scripts/setup.sh" >&2
  exit 1
fi

build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) args+=("$a") ;;
  esac
done
if [ "$build" = 1 ]; then
  bash scripts/build.sh release >/dev/null
fi
exec /usr/bin/python3 bench/compression/run.py "${args[@]}"
