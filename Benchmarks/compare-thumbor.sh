#!/usr/bin/env bash
# Calotype's `POST /process` against thumbor 7.8 over HTTP on loopback, the
# same photos, the same run: 512x512-fit JPEG Q 80 and 800 px wide JPEG Q 80,
# with 2 concurrent clients, the four targets interleaved round by round,
# and Calotype's rate over thumbor's at each size, round by round: the median
# ratio and its spread (a machine's drift moves both sides of a round alike).
#
#   Benchmarks/compare-thumbor.sh PHOTO_DIR [ROUNDS]
#   (PHOTO_DIR: e.g. the 24 photos of Benchmarks/make-photo-set.sh; ROUNDS default 5)
#
# thumbor and Calotype as Benchmarks/thumbor-beside-calotype.sh starts them
# (thumbor 7.8 from PyPI, file loader; Calotype's release build with its
# defaults: CPU workers = cores clamped to 2...4, fast shrink-on-load), the
# photo's bytes as a raw image/jpeg body to Calotype.
#
# Each request's output is checked to be a JPEG of the expected size; at the
# end, Benchmarks/output-quality.py compares what both wrote (sizes, and each
# JPEG encoder's loss against its own lossless output).
# Environment: CLIENTS (2), WARMUP (1 unmeasured round first).
set -euo pipefail
cd "$(dirname "$0")/.."
photos=${1:?usage: Benchmarks/compare-thumbor.sh PHOTO_DIR [ROUNDS]}
photos=$(cd "$photos" && pwd)
rounds=${2:-5}
clients=${CLIENTS:-2}
calotype_env=()
source Benchmarks/thumbor-beside-calotype.sh

calotype_version=$(curl -fs "http://127.0.0.1:$calotype_port/health" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
echo "thumbor $thumbor_version on :$thumbor_port; calotype $calotype_version on :$calotype_port;" \
  "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
python3 Benchmarks/http-load.py "$photos" --clients "$clients" --rounds "$rounds" --warmup "${WARMUP:-1}" \
  --pid $thumbor_pid --pid $calotype_pid --pid $thumbor_pid --pid $calotype_pid \
  --target "thumbor fit-in/512x512 q80=get:$t/unsafe/fit-in/512x512/filters:quality(80)/{name}" --check fit=512x512 \
  --target "calotype 512x512 inside q80=post:$c/process?width=512&height=512&fit=inside&format=jpeg&quality=80" --check fit=512x512 \
  --target "thumbor 800x0 q80=get:$t/unsafe/800x0/filters:quality(80)/{name}" --check width=800 \
  --target "calotype 800 wide q80=post:$c/process?width=800&format=jpeg&quality=80" --check width=800 \
  --ratio "calotype 512x512 inside q80/thumbor fit-in/512x512 q80" --ratio "calotype 800 wide q80/thumbor 800x0 q80" \
  || status=$?
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# What each writes: sizes and the encoders' loss, so speed is not bought with quality.
python3 Benchmarks/output-quality.py "$photos" --thumbor "$t" --calotype "$c" || status=$?
exit $status
