#!/usr/bin/env bash
# `calotype bench` on this machine, in-process and end to end: builds the
# release binary, runs the in-process modes with a worker sweep, starts a
# server on a free loopback port, runs the HTTP modes against it (with the
# in-process parallel mode in the same rounds) and stops the server.
# Reports in $BENCH_OUT (default /tmp/calotype-bench).
#
#   Benchmarks/bench.sh [PHOTO_DIR] [ROUNDS] [recipe flags, e.g. --width 400 --format webp]
#   (PHOTO_DIR defaults to Benchmarks/photos, made by Benchmarks/make-photo-set.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
photos=${1:-Benchmarks/photos}
rounds=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
swift build -c release --product calotype >/dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/calotype"
out=${BENCH_OUT:-/tmp/calotype-bench}
mkdir -p "$out"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

"$bin" bench --images "$photos" --rounds "$rounds" --sweep 1,2,3,4 \
  --json "$out/bench.json" --html "$out/bench.html" "$@"

work=$(mktemp -d)
log="$work/serve.log"
(cd "$work" && exec "$bin" serve --port 0 >"$log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=""
for _ in $(seq 300); do
  port=$(sed -nE 's|.*listening on http://[0-9.]+:([0-9]+).*|\1|p' "$log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
echo
"$bin" bench --images "$photos" --rounds "$rounds" --url "http://127.0.0.1:$port" --with-in-process \
  --json "$out/http.json" --html "$out/http.html" "$@"
echo
echo "reports: $out/bench.json $out/bench.html $out/http.json $out/http.html"
