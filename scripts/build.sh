#!/usr/bin/env bash
# Configures and builds one flavour of Portico.
#   scripts/build.sh [release|asan|fuzz]   (default: release)
# Build trees: build/ (release), build-asan/ (ASan+UBSan, for tests), build-fuzz/ (clang,
# libFuzzer targets). ccache makes rebuilds cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
case "$flavour" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build-asan; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTICO_SANITIZE=ON) ;;
  fuzz)    dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTICO_FUZZ=ON
                                 -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
fi
ninja -C "$dir" -j "$jobs" >/dev/null || ninja -C "$dir" -j 1
echo "build: $flavour ok ($dir)"
