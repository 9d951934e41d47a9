#!/usr/bin/env bash
# Builds the benchmark photo set: 24 real photographs of 2-4 megapixels, as
# JPEG, from Debian's plasma-workspace-wallpapers package (downloaded, not
# installed). Nothing of it is committed; run this once per machine.
#
#   Benchmarks/make-photo-set.sh [OUT_DIR]     (default: Benchmarks/photos)
set -euo pipefail
out=${1:-"$(dirname "$0")/photos"}
mkdir -p "$out"
if [ "$(ls "$out"/*.jpg 2>/dev/null | wc -l)" -ge 24 ]; then
  echo "$out already holds the photo set"; exit 0
fi
command -v vips >/dev/null || { echo "needs the vips CLI (apt-get install libvips-tools)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download plasma-workspace-wallpapers >/dev/null 2>&1) \
  || { echo "apt-get download plasma-workspace-wallpapers failed (run apt-get update first?)" >&2; exit 1; }
dpkg -x "$work"/plasma-workspace-wallpapers_*.deb "$work/x"
walls="$work/x/usr/share/wallpapers"

# Twelve photographs shipped at 2560x1600 (4.1 MP): used as they are.
for name in Autumn BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path summer_1am; do
  cp "$walls/$name/contents/images/2560x1600.jpg" "$out/$name.jpg"
done
# Six larger ones: each gives the whole picture at 1920 px wide (2.1 MP) and
# a 2560x1600 crop of its centre at full resolution (4.1 MP).
for src in Flow/contents/images/5120x2880.jpg Honeywave/contents/images/5120x2880.jpg \
           SafeLanding/contents/images/5120x2880.jpg Shell/contents/images/5120x2880.jpg \
           Volna/contents/images/5120x2880.jpg PastelHills/contents/images/3200x2000.jpg; do
  name=${src%%/*}
  vips thumbnail "$walls/$src" "$out/$name-whole.jpg[Q=90]" 1920 2>/dev/null
  w=$(vipsheader -f width "$walls/$src"); h=$(vipsheader -f height "$walls/$src")
  vips crop "$walls/$src" "$out/$name-centre.jpg[Q=90]" $(( (w - 2560) / 2 )) $(( (h - 1600) / 2 )) 2560 1600 2>/dev/null
done
echo "$(ls "$out"/*.jpg | wc -l) photos in $out"
