#!/usr/bin/env bash
# Installs every Debian 12 package Portico needs to build, run, test and benchmark.
# Idempotent: when everything is present it prints one line and touches nothing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache git
  clang libclang-rt-14-dev
  # libraries (see docs/architecture.md, Libraries)
  libssl-dev libyaml-cpp-dev libre2-dev libfmt-dev liburing-dev nlohmann-json3-dev
  zlib1g-dev libbrotli-dev libzstd-dev libdeflate-dev libnghttp2-dev
  libc-ares-dev
  # tests
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest python3-httpx python3-h2 python3-websockets
  # compression tests: decode what Portico encodes with independent tools
  python3-brotli python3-zstandard zstd
  # HTTP/2 and gRPC tests: a real gRPC server and client
  python3-grpcio
  curl netcat-openbsd procps iproute2 strace
  # DNS discovery tests: a real DNS server on a loopback port (binary only, no service)
  dnsmasq-base
  # TLS tests: certificates and clients (openssl), an ACME server (pebble), a TLS scanner
  openssl pebble testssl.sh
  # benchmarks (bench/run.sh and its external harness)
  wrk nghttp2-client nginx-light haproxy lua5.1
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# The Debian nginx/haproxy packages start system services we never want running.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  if [ -x "/etc/init.d/$svc" ]; then $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done
echo "setup: done"
