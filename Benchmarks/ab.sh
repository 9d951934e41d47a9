#!/usr/bin/env bash
# Interleaved A/B of two calotype binaries on one photo set, in-process
# (`calotype bench`) and over HTTP (`calotype bench --url`, A's, against each
# binary's own server on loopback: the same client for both), alternating which goes first round by
# round, so that a slow spell of the machine touches both alike. Each
# invocation runs its own warm-up round, then one counted round; the table
# gives each mode's median images/s over the rounds, and B/A.
#
#   Benchmarks/ab.sh A_BINARY B_BINARY PHOTO_DIR [ROUNDS (5)] [recipe flags]
set -euo pipefail
a=$(realpath "$1"); b=$(realpath "$2"); photos=$(realpath "$3"); rounds=${4:-5}
shift $(( $# > 4 ? 4 : $# )) || true
out=$(mktemp -d)
# The servers run in command substitutions, not as this shell's jobs: each
# writes its pid to a file, and the trap stops them by it.
trap 'for f in "$out"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; wait 2>/dev/null || true; rm -rf "$out"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

start_server() {  # binary label -> prints the port
  local log="$out/$2.serve.log"
  (cd "$out" && exec env -u CALOTYPE_OPENCL_CPU "$1" serve --port 0 >"$log" 2>"$out/$2.serve.err") &
  echo $! > "$out/$2.pid"
  for _ in $(seq 300); do
    port=$(sed -nE 's|.*listening on http://[0-9.]+:([0-9]+).*|\1|p' "$log" | head -1)
    [ -n "$port" ] && { echo "$port"; return; }
    sleep 0.1
  done
  echo "the $2 server did not start" >&2; exit 1
}
port_a=$(start_server "$a" A)
port_b=$(start_server "$b" B)

for round in $(seq "$rounds"); do
  order="A B"; [ $((round % 2)) -eq 0 ] && order="B A"
  for side in $order; do
    bin=$a; port=$port_a; [ "$side" = B ] && { bin=$b; port=$port_b; }
    env -u CALOTYPE_OPENCL_CPU "$bin" bench --images "$photos" --rounds 1 --quiet --json "$out/$side.inproc.$round.json" "$@" >/dev/null
    # Over HTTP the server is what is compared: A's binary is the client of both.
    "$a" bench --images "$photos" --rounds 1 --quiet --url "http://127.0.0.1:$port" --json "$out/$side.http.$round.json" "$@" >/dev/null
  done
  echo "round $round of $rounds done" >&2
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def rates(side, kind):
    per_mode = {}
    for r in range(1, rounds + 1):
        report = json.load(open(f"{out}/{side}.{kind}.{r}.json"))
        for mode in report["modes"]:
            per_mode.setdefault(mode["label"], []).append(mode["images_per_second"]["median"] if isinstance(mode["images_per_second"], dict) else mode["images_per_second"])
    return per_mode
print(f"{'mode':45} {'A img/s':>9} {'B img/s':>9} {'B/A':>6}   (medians of {rounds} interleaved rounds)")
for kind in ("inproc", "http"):
    a, b = rates("A", kind), rates("B", kind)
    for label in a:
        if label not in b: continue
        ma, mb = statistics.median(a[label]), statistics.median(b[label])
        print(f"{(kind + ': ' + label)[:45]:45} {ma:9.1f} {mb:9.1f} {mb / ma:6.3f}")
PY
