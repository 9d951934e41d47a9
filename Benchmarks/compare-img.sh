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
# Accept negotiation. thumbor: as in Benchmarks/compare-thumbor.sh (its venv
# and settings; file loader rooted at PHOTO_DIR, no result storage).
# Environment: CLIENTS (2), WARMUP (1 unmeasured round first; the 304 target
# learns each photo's ETag there).
set -euo pipefail
cd "$(dirname "$0")/.."
photos=${1:?usage: Benchmarks/compare-img.sh PHOTO_DIR [ROUNDS]}
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
cat >"$scratch/thumbor-img.conf" <<CONF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$photos'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ENGINE = 'thumbor.engines.pil'
ENGINE_THREADPOOL_SIZE = 2
QUALITY = 80
AUTO_WEBP = False
ALLOW_UNSAFE_URL = True
CONF

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
thumbor_port=$(free_port)
calotype_port=$(free_port)
CALOTYPE_SIGNING_KEY=$(openssl rand -hex 32)
CALOTYPE_SIGNING_SALT=$(openssl rand -hex 32)
export CALOTYPE_SIGNING_KEY CALOTYPE_SIGNING_SALT
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

"$venv/bin/thumbor" -i 127.0.0.1 -p "$thumbor_port" -c "$scratch/thumbor-img.conf" -l error >"$scratch/thumbor-img.log" 2>&1 &
thumbor_pid=$!
pids+=($thumbor_pid)
env -u CALOTYPE_OPENCL_CPU CALOTYPE_ALLOWED_SOURCES=local:/// CALOTYPE_LOCAL_SOURCES_ROOT="$photos" \
  "$bin" serve --host 127.0.0.1 --port "$calotype_port" --env-file "$scratch/none.env" >"$scratch/calotype-img.log" 2>&1 &
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
wait_for "http://127.0.0.1:$thumbor_port/healthcheck" thumbor "$scratch/thumbor-img.log"
wait_for "http://127.0.0.1:$calotype_port/health" calotype "$scratch/calotype-img.log"

echo "thumbor $("$venv/bin/thumbor" --version 2>&1 | tail -1) on :$thumbor_port; calotype on :$calotype_port;" \
  "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
t="http://127.0.0.1:$thumbor_port"
c="http://127.0.0.1:$calotype_port"
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
