#!/usr/bin/env bash
# Calotype's `POST /process` against thumbor 7.8 over HTTP on loopback, the
# same photos, the same run: 512x512-fit JPEG Q 80 and 800 px wide JPEG Q 80,
# with 2 concurrent clients, the four targets interleaved round by round.
#
#   Benchmarks/compare-thumbor.sh PHOTO_DIR [ROUNDS]
#   (PHOTO_DIR: e.g. the 24 photos of Benchmarks/make-photo-set.sh; ROUNDS default 5)
#
# thumbor: from PyPI (thumbor==7.8.*) into a virtual environment in a scratch
# folder ($CALOTYPE_THUMBOR_DIR, default ${TMPDIR:-/tmp}/calotype-thumbor,
# reused by later runs, never committed); the file loader rooted at
# PHOTO_DIR, no storage of originals, no result storage, ENGINE_THREADPOOL_SIZE=2,
# JPEG quality 80, no automatic WebP; one tornado process.
# Calotype: the release build of this checkout, `calotype serve` with its
# defaults (CPU workers = cores clamped to 2...4; CALOTYPE_OPENCL_CPU is unset,
# so PoCL does not stand in for a GPU on a machine without one), fast
# shrink-on-load (the default), the photo's bytes as a raw image/jpeg body.
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
scratch=${CALOTYPE_THUMBOR_DIR:-${TMPDIR:-/tmp}/calotype-thumbor}
mkdir -p "$scratch"

echo "== building calotype (release)" >&2
swift build -c release --product calotype >&2
bin="$(swift build -c release --show-bin-path)/calotype"

venv="$scratch/venv"
if ! "$venv/bin/thumbor" --version >/dev/null 2>&1; then
  echo "== installing thumbor 7.8 into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'thumbor==7.8.*' >&2
fi
thumbor_version=$("$venv/bin/thumbor" --version 2>&1 | tail -1)

cat >"$scratch/thumbor.conf" <<EOF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$photos'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ENGINE = 'thumbor.engines.pil'
ENGINE_THREADPOOL_SIZE = 2
QUALITY = 80
AUTO_WEBP = False
ALLOW_UNSAFE_URL = True
EOF

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
thumbor_port=$(free_port)
calotype_port=$(free_port)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

"$venv/bin/thumbor" -i 127.0.0.1 -p "$thumbor_port" -c "$scratch/thumbor.conf" -l error \
  >"$scratch/thumbor.log" 2>&1 &
thumbor_pid=$!
pids+=($thumbor_pid)
env -u CALOTYPE_OPENCL_CPU "$bin" serve --host 127.0.0.1 --port "$calotype_port" --env-file "$scratch/none.env" \
  >"$scratch/calotype.log" 2>&1 &
calotype_pid=$!
pids+=($calotype_pid)

wait_for() {  # URL NAME LOG
  for _ in $(seq 300); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "$2 did not answer on $1; its log:" >&2
  cat "$3" >&2
  exit 1
}
wait_for "http://127.0.0.1:$thumbor_port/healthcheck" thumbor "$scratch/thumbor.log"
wait_for "http://127.0.0.1:$calotype_port/health" calotype "$scratch/calotype.log"

calotype_version=$(curl -fs "http://127.0.0.1:$calotype_port/health" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
echo "thumbor $thumbor_version on :$thumbor_port; calotype $calotype_version on :$calotype_port;" \
  "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
t="http://127.0.0.1:$thumbor_port"
c="http://127.0.0.1:$calotype_port"
status=0
python3 Benchmarks/http-load.py "$photos" --clients "$clients" --rounds "$rounds" --warmup "${WARMUP:-1}" \
  --pid $thumbor_pid --pid $calotype_pid --pid $thumbor_pid --pid $calotype_pid \
  --target "thumbor fit-in/512x512 q80=get:$t/unsafe/fit-in/512x512/filters:quality(80)/{name}" --check fit=512x512 \
  --target "calotype 512x512 inside q80=post:$c/process?width=512&height=512&fit=inside&format=jpeg&quality=80" --check fit=512x512 \
  --target "thumbor 800x0 q80=get:$t/unsafe/800x0/filters:quality(80)/{name}" --check width=800 \
  --target "calotype 800 wide q80=post:$c/process?width=800&format=jpeg&quality=80" --check width=800 \
  || status=$?
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# What each writes: sizes and the encoders' loss, so speed is not bought with quality.
python3 Benchmarks/output-quality.py "$photos" --thumbor "$t" --calotype "$c" || status=$?
exit $status
