#!/usr/bin/env bash
# `calotype process` against libvips' own vipsthumbnail on the same folder:
# 800 px wide JPEG Q 80, metadata stripped. Rounds are interleaved and the
# median images/s of each mode is printed.
#
#   Benchmarks/compare-vipsthumbnail.sh [PHOTO_DIR] [ROUNDS]
#   (PHOTO_DIR defaults to Benchmarks/photos, made by Benchmarks/make-photo-set.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
photos=${1:-Benchmarks/photos}
rounds=${2:-5}
swift build -c release --product calotype >/dev/null
bin="$(swift build -c release --show-bin-path)/calotype"
files=("$photos"/*.jpg)
count=${#files[@]}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cores=$(nproc)

declare -A modes=(
  ["calotype (fast_shrink, default)"]="$bin process $photos -o $out/a --width 800 --format jpeg --quality 80 --quiet"
  ["calotype --no-fast-shrink"]="$bin process $photos -o $out/b --width 800 --format jpeg --quality 80 --no-fast-shrink --quiet"
  ["vipsthumbnail, 1 process"]="vipsthumbnail ${files[*]} -s 800x10000000 -o $out/c/%s.jpg[Q=80,strip]"
  ["vipsthumbnail, $cores processes x 1 thread"]="xargs_thumbs"
)
xargs_thumbs() {
  printf '%s\n' "${files[@]}" | VIPS_CONCURRENCY=1 xargs -P "$cores" -n $(( (count + cores - 1) / cores )) \
    sh -c 'vipsthumbnail "$@" -s 800x10000000 -o '"$out"'/d/%s.jpg[Q=80,strip]' _
}
mkdir -p "$out/c" "$out/d"
declare -A samples
for round in $(seq "$rounds"); do
  for mode in "${!modes[@]}"; do
    start=$(date +%s%N)
    eval "${modes[$mode]}" >/dev/null 2>&1
    end=$(date +%s%N)
    samples[$mode]+="$(( end - start )) "
  done
done
echo "$count photos from $photos, 800 px wide JPEG Q 80, $rounds rounds, $cores cores"
for mode in "${!modes[@]}"; do
  python3 -c "
import statistics, sys
ns = sorted(int(x) for x in sys.argv[2].split())
med = statistics.median(ns) / 1e9
print(f'{sys.argv[1]:<40} {int(sys.argv[3]) / med:7.1f} images/s  (median {med:.3f} s, range {ns[0]/1e9:.3f}-{ns[-1]/1e9:.3f} s)')
" "$mode" "${samples[$mode]}" "$count"
done | sort
