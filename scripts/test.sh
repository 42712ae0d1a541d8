#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#   1. unit tests (GoogleTest, through ctest) on the release build
#   2. end-to-end tests (pytest: the real binary, real backends, real clients) with io_uring
#      batching (the default); a testssl.sh scan of a TLS listener with default settings
#   3. each libFuzzer target for a short run (FUZZ_SECONDS, default 30)
#   4. unit and end-to-end tests again on an ASan+UBSan build; this end-to-end pass takes the
#      plain system-call path (`io_uring: off`), so both I/O paths run the whole suite once
#      without a third pass (CI time), and the fuzzers drive both paths under ASan
# Ends with one summary line: "steps: N passed, N failed". Exit status 0 only if everything passed.
#   Options: --quick (skip the sanitizer pass and fuzzing)
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
PY=/usr/bin/python3

bash scripts/setup.sh || exit 1

passed=0
failed=0
failures=()
step() {  # step NAME COMMAND...: runs a step and records its result
  local name=$1; shift
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start))s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - start))s)"
  fi
}

run_unit() {  # run_unit BUILD_DIR
  (cd "$1" && ctest --output-on-failure -j2 --timeout 120)
}
run_e2e() {  # run_e2e BINARY
  PORTICO_BIN="$PWD/$1" $PY -m pytest -q -p no:cacheprovider tests/e2e
}
run_e2e_plain_syscalls() {  # run_e2e_plain_syscalls BINARY: every config gets `io_uring: off`
  PORTICO_E2E_IO_URING=off run_e2e "$1"
}
run_fuzzers() {
  local corpus_root=tests/fuzz/corpus status=0
  for fuzzer in build-fuzz/*_fuzz; do
    [ -x "$fuzzer" ] || continue
    local name; name=$(basename "$fuzzer" _fuzz)
    local work; work=$(mktemp -d)
    # Seeds are copied so new inputs never land in the repository.
    [ -d "$corpus_root/$name" ] && cp -r "$corpus_root/$name/." "$work/"
    echo "fuzzing $name for ${FUZZ_SECONDS}s"
    # A memory limit: an input that makes a target hold too much is a finding too.
    if ! "$fuzzer" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
         -print_final_stats=0 -artifact_prefix="$work/" \
         "$work" >"$work.log" 2>&1; then
      echo "fuzzer $name found a problem:"; tail -40 "$work.log"; status=1
    fi
    rm -rf "$work" "$work.log"
  done
  return $status
}

step "build (release)" bash scripts/build.sh release
step "unit tests (release)" run_unit build
step "end-to-end tests (release)" run_e2e build/portico
# A TLS listener with default settings, scanned by testssl.sh: no HIGH or CRITICAL finding.
step "TLS scan (testssl.sh)" $PY tests/tls/testssl_check.py build/portico
if [ $quick -eq 0 ]; then
  step "build (fuzz, clang)" bash scripts/build.sh fuzz
  step "fuzz (${FUZZ_SECONDS}s per target)" run_fuzzers
  step "build (asan+ubsan)" bash scripts/build.sh asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  step "unit tests (asan+ubsan)" run_unit build-asan
  # The plain system-call path: what runs where the kernel refuses io_uring.
  step "end-to-end tests (asan+ubsan, io_uring off)" run_e2e_plain_syscalls build-asan/portico
fi

echo
for f in "${failures[@]}"; do echo "failed step: $f"; done
echo "steps: $passed passed, $failed failed"
[ $failed -eq 0 ]
