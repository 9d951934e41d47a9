# Sourced by Benchmarks/compare-thumbor.sh and compare-img.sh: builds
# Calotype (release), installs thumbor 7.8 from PyPI into a virtual
# environment in a scratch folder ($CALOTYPE_THUMBOR_DIR, default
# ${TMPDIR:-/tmp}/calotype-thumbor, reused by later runs, never committed),
# and starts both on free loopback ports, stopped when the script exits.
#
# thumbor: the file loader rooted at $photos, no storage of originals, no
# result storage, ENGINE_THREADPOOL_SIZE=2, JPEG quality 80, no automatic
# WebP; one tornado process. Calotype: `calotype serve` with its defaults
# (CALOTYPE_OPENCL_CPU unset, so PoCL does not stand in for a GPU) and the
# extra environment in the array `calotype_env` (NAME=value ...).
#
# Needs: $photos. Sets: $bin, $t and $c (the two base URLs), $thumbor_pid,
# $calotype_pid, $thumbor_version.
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

cat >"$scratch/thumbor.conf" <<CONF
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
env -u CALOTYPE_OPENCL_CPU "${calotype_env[@]}" "$bin" serve --host 127.0.0.1 --port "$calotype_port" \
  --env-file "$scratch/none.env" >"$scratch/calotype.log" 2>&1 &
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
t="http://127.0.0.1:$thumbor_port"
c="http://127.0.0.1:$calotype_port"
