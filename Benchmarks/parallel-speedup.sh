#!/usr/bin/env bash
# Throughput of `calotype process` one image at a time (--parallelism 1)
# against the default workers, on the same engine configuration, rounds
# interleaved: the scheduler's parallel speedup.
#
#   Benchmarks/parallel-speedup.sh [PHOTO_DIR] [ROUNDS] [extra calotype flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
photos=${1:-Benchmarks/photos}
rounds=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
swift build -c release --product calotype >/dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/calotype"
count=$(ls "$photos"/*.jpg | wc -l)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A samples
for round in $(seq "$rounds"); do
  for mode in sequential parallel; do
    flags=(--width 800 --format jpeg --quality 80 --quiet "$@")
    [ "$mode" = sequential ] && flags+=(--parallelism 1)
    start=$(date +%s%N)
    "$bin" process "$photos" -o "$out/$mode" "${flags[@]}" >/dev/null
    end=$(date +%s%N)
    samples[$mode]+="$(( end - start )) "
  done
done
python3 - "$count" "${samples[sequential]}" "${samples[parallel]}" <<'PY'
import statistics, sys
count = int(sys.argv[1])
seq = statistics.median(int(x) for x in sys.argv[2].split()) / 1e9
par = statistics.median(int(x) for x in sys.argv[3].split()) / 1e9
print(f"{count} photos, 800 px wide JPEG Q 80, median of rounds")
print(f"sequential (parallelism 1): {count / seq:6.1f} images/s")
print(f"parallel (default workers): {count / par:6.1f} images/s")
print(f"speedup: {seq / par:.2f}x")
PY
