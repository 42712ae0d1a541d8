#!/usr/bin/env bash
# Installs what Portico needs, builds it, and runs it on examples/quickstart.yaml.
# Stop it with Ctrl-C (a graceful drain).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
cat <<'MSG'

Portico is starting on http://127.0.0.1:8080 with examples/quickstart.yaml.
In another terminal, try:
  curl localhost:8080/            # "backend 1" or "backend 2": round robin (per worker)
  curl -i localhost:8080/         # response headers: X-Request-Id, Via, Server: portico
  curl -i localhost:8080/old/x    # a 301 redirect to /new/x
  curl localhost:8080/hello       # a direct response from the proxy
  build/portico --check examples/quickstart.yaml   # validate a config
Access log lines appear below. Ctrl-C drains and exits.

MSG
exec build/portico --config examples/quickstart.yaml
