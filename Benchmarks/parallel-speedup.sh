#!/usr/bin/env bash
# Throughput of `calotype process` one image at a time (--parallelism 1)
# against the default workers, on the same engine configuration, rounds
# interleaved: the scheduler's parallel speedup. Two figures per mode: the
# engine's own (calotype's closing line: first job submitted to last result
# written) and the whole process (start-up and engine initialisation included).
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
declare -A wall engine
for round in $(seq "$rounds"); do
  for mode in sequential parallel; do
    flags=(--width 800 --format jpeg --quality 80 --quiet "$@")
    [ "$mode" = sequential ] && flags+=(--parallelism 1)
    start=$(date +%s%N)
    line=$("$bin" process "$photos" -o "$out/$mode" "${flags[@]}")
    end=$(date +%s%N)
    wall[$mode]+="$(( end - start )) "
    engine[$mode]+="$(echo "$line" | sed -E 's/.* in ([0-9.]+) s.*/\1/') "
  done
done
python3 - "$count" "${engine[sequential]}" "${engine[parallel]}" "${wall[sequential]}" "${wall[parallel]}" <<'PY'
import statistics, sys
count = int(sys.argv[1])
median = lambda text, scale: statistics.median(float(x) for x in text.split()) / scale
seq, par = median(sys.argv[2], 1), median(sys.argv[3], 1)
wseq, wpar = median(sys.argv[4], 1e9), median(sys.argv[5], 1e9)
print(f"{count} photos, 800 px wide JPEG Q 80, median of rounds")
print(f"                              engine         whole process")
print(f"sequential (parallelism 1): {count / seq:6.1f} images/s  {count / wseq:6.1f} images/s")
print(f"parallel (default workers): {count / par:6.1f} images/s  {count / wpar:6.1f} images/s")
print(f"speedup:                    {seq / par:6.2f}x         {wseq / wpar:6.2f}x")
PY
