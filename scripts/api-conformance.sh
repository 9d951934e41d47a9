#!/usr/bin/env bash
# Checks that /openapi.json describes what the server does: schemathesis
# (every check, a bounded number of generated examples, fixed seeds so a run
# is reproducible) against a live `calotype serve` on a free loopback port.
# Installs schemathesis into .build/schemathesis-venv on first use.
#   scripts/api-conformance.sh [path/to/calotype]   (default: .build/debug/calotype)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/calotype}"
venv=.build/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# The server runs with a keys file and schemathesis sends an admin key, so
# that its auth checks (ignored_auth: 401 without a key, and with a wrong
# one) run against the declared security too.
"$binary" keys new conformance --scopes admin > "$work/key"
key="$(sed -n 1p "$work/key")"
printf '{"keys": [%s]}\n' "$(sed -n 2p "$work/key")" > "$work/keys.json"
# Posted batches end within moments here; the cap on running ones would turn
# schemathesis' bursts into 503s, which it counts as server errors.
CALOTYPE_GPU=off CALOTYPE_MAX_BATCHES=10000 CALOTYPE_RESULTS_DIR="$work/results" CALOTYPE_SAVE_DIR="$work/saved" \
  CALOTYPE_API_KEYS_FILE="$work/keys.json" \
  "$binary" serve --port "$port" --env-file "$work/no.env" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
  kill -0 $server 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
for seed in 1 2 3; do
  "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $key" --max-examples 30 --seed "$seed" --no-color
done
kill -0 $server  # the server is still up
