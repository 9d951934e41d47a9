#!/usr/bin/env bash
# From a fresh machine to Calotype doing real work: installs the system
# packages, builds the release binary and runs it on the sample images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-packages.sh
echo "building calotype (release; the first build takes a few minutes)..."
swift build -c release --product calotype
bin="$(swift build -c release --show-bin-path)/calotype"
"$bin" devices
samples=Tests/BackendsTests/Fixtures
"$bin" process "$samples/photo.jpg" "$samples/exif-rotated.jpg" "$samples/alpha.png" "$samples/photo.webp" \
  -o out/samples --width 200 --format webp --quality 80
echo "thumbnails written to out/samples; the binary is $bin"
