#!/usr/bin/env bash
# Images by reference, measured: Calotype's signed `GET /img` against its
# `POST /process` (the photo uploaded) on the same photos and options, the
# cost of a revalidation answered 304, and thumbor 7.8's GET (file loader) on
# the same files and options, alongside in one run, targets interleaved
# round by round.
#
#   Benchmarks/compare-img.sh PHOTO_DIR [ROUNDS]
#   (PHOTO_DIR: e.g. the 24 photos of Benchmarks/make-photo-set.sh; ROUNDS default 5)
#
# Calotype: the release build of this checkout, `calotype serve` with its
# defaults, local:/// sources rooted at PHOTO_DIR (the file read is part of
# each GET), a random signing key; `GET /img` names the format (f:jpg), so no
# Accept negotiation. Both started by Benchmarks/thumbor-beside-calotype.sh
# (thumbor: file loader rooted at PHOTO_DIR, no result storage).
# Environment: CLIENTS (2), WARMUP (1 unmeasured round first; the 304 target
# learns each photo's ETag there).
set -euo pipefail
cd "$(dirname "$0")/.."
photos=${1:?usage: Benchmarks/compare-img.sh PHOTO_DIR [ROUNDS]}
photos=$(cd "$photos" && pwd)
rounds=${2:-5}
clients=${CLIENTS:-2}
CALOTYPE_SIGNING_KEY=$(openssl rand -hex 32)
CALOTYPE_SIGNING_SALT=$(openssl rand -hex 32)
export CALOTYPE_SIGNING_KEY CALOTYPE_SIGNING_SALT
calotype_env=(CALOTYPE_ALLOWED_SOURCES=local:/// "CALOTYPE_LOCAL_SOURCES_ROOT=$photos")
source Benchmarks/thumbor-beside-calotype.sh

echo "thumbor $thumbor_version on :$thumbor_port; calotype on :$calotype_port;" \
  "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
python3 Benchmarks/http-load.py "$photos" --clients "$clients" --rounds "$rounds" --warmup "${WARMUP:-1}" \
  --pid $calotype_pid --pid $calotype_pid --pid $calotype_pid --pid $thumbor_pid \
  --pid $calotype_pid --pid $calotype_pid --pid $thumbor_pid \
  --target "calotype POST /process 800 wide q80=post:$c/process?width=800&format=jpeg&quality=80" --check width=800 \
  --target "calotype GET /img w:800/q:80=img:$c/w:800/q:80/f:jpg" --check width=800 \
  --target "calotype GET /img 304=img304:$c/w:800/q:80/f:jpg" --check width=800 \
  --target "thumbor GET 800x0 q80=get:$t/unsafe/800x0/filters:quality(80)/{name}" --check width=800 \
  --target "calotype POST /process 512x512 fit q80=post:$c/process?width=512&height=512&fit=inside&format=jpeg&quality=80" --check fit=512x512 \
  --target "calotype GET /img rs:fit:512:512/q:80=img:$c/rs:fit:512:512/q:80/f:jpg" --check fit=512x512 \
  --target "thumbor GET fit-in/512x512 q80=get:$t/unsafe/fit-in/512x512/filters:quality(80)/{name}" --check fit=512x512 \
  || status=$?
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
