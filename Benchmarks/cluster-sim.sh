#!/usr/bin/env bash
# How far one PostgreSQL carries the cluster's queue: `calotype bench
# --cluster-sim` at several node counts against a PostgreSQL of its own,
# started here in a temporary folder with pg_stat_statements loaded (for
# statements per item) and room for every simulated node's connections.
#
#   Benchmarks/cluster-sim.sh [NODE_COUNTS] [more calotype bench flags]
#   Benchmarks/cluster-sim.sh 8,32,128,512 --sim-items 20000
#   Benchmarks/cluster-sim.sh 32 --sim-workers 4 --sim-item-ms 5
#
# NODE_COUNTS defaults to 8,32,128. PostgreSQL runs on the same cores as the
# nodes, with fsync on (as a deployment runs it); PG_SETTINGS adds `-c`
# settings of its own (e.g. PG_SETTINGS="synchronous_commit=off"); CALOTYPE_BIN
# runs another build of calotype (e.g. the commit before a change).
# Everything listens on 127.0.0.1 and is removed at the end. Needs
# PostgreSQL (scripts/install-system-packages.sh) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=${1:-8,32,128}
shift $(( $# > 0 ? 1 : 0 ))

# CALOTYPE_BIN: a calotype built elsewhere (another commit's, to compare
# two in one session); by default this checkout's release build.
if [[ -n "${CALOTYPE_BIN:-}" ]]; then
  bin=$CALOTYPE_BIN
else
  swift build -c release --product calotype >&2
  bin="$(swift build -c release --show-bin-path)/calotype"
fi

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PG_BIN/initdb" ]] || { echo "error: PostgreSQL is not installed (scripts/install-system-packages.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/calotype-sim.XXXXXX)
as=()
if [[ $(id -u) == 0 ]]; then chown postgres "$work"; as=(runuser -u postgres --); fi
pg_pid=
# pg_ctl, not a signal to $pg_pid: as root that is runuser's process, and
# PostgreSQL outlived it (each run left a server behind, its shared memory
# held: an AddressSanitizer run crashed twice in liborc beside seven of them,
# and passed once they were stopped).
stop() {
  if [[ -n "$pg_pid" ]]; then
    "${as[@]}" "$PG_BIN/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || kill -INT "$pg_pid" 2>/dev/null || true
    wait "$pg_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as[@]}" "$PG_BIN/initdb" -D "$work/pg" -U calotype --auth=trust -E UTF8 --locale=C >"$work/initdb.log"
settings=(-c listen_addresses=127.0.0.1 -c max_connections=2400 -c shared_preload_libraries=pg_stat_statements
  -c shared_buffers=256MB -c pg_stat_statements.track_utility=on)
for setting in ${PG_SETTINGS:-}; do settings+=(-c "$setting"); done
"${as[@]}" "$PG_BIN/postgres" -D "$work/pg" -p "$port" -k "$work" "${settings[@]}" >"$work/postgres.log" 2>&1 &
pg_pid=$!
for _ in $(seq 100); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done

# CPU seconds (user + system) of the postmaster and its backends that
# have exited: each node count's connections close when it ends.
postgres_cpu() {
  local pid ticks
  pid=$(head -1 "$work/pg/postmaster.pid")
  ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'
}
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on :$port, $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_before=$(postgres_cpu)
TIMEFORMAT="calotype bench: %R s wall, %U s user, %S s system"
time "$bin" bench --cluster-sim "$counts" --database-url "postgres://calotype@127.0.0.1:$port/postgres?sslmode=disable" \
  --env-file "$work/none.env" "$@"
echo "PostgreSQL: $(awk -v a="$(postgres_cpu)" -v b="$cpu_before" 'BEGIN { printf "%.1f", a - b }') s of CPU over the run"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
