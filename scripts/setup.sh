#!/usr/bin/env bash
# From a fresh machine to a running Calotype: installs the system packages,
# builds the release binary, shows it at work on the sample images, then
# starts the HTTP server on 127.0.0.1:8080 (CALOTYPE_HOST / CALOTYPE_PORT to
# change; Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-packages.sh
echo "building calotype (release; the first build takes a few minutes)..."
swift build -c release --product calotype
bin="$(swift build -c release --show-bin-path)/calotype"
"$bin" devices
samples=Tests/Fixtures
"$bin" process "$samples/photo.jpg" "$samples/exif-rotated.jpg" "$samples/alpha.png" "$samples/cmyk.jpg" \
  -o out/samples --width 200 --format webp --quality 80
echo "thumbnails written to out/samples; the binary is $bin"
echo "try: curl -F file=@$samples/photo.jpg 'http://127.0.0.1:${CALOTYPE_PORT:-8080}/process?width=200&format=webp' -o thumb.webp"
exec "$bin" serve
