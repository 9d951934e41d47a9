#!/usr/bin/env bash
# Builds Calotype's container image with podman and checks that it runs:
# /health, /ready, one image processed, a clean stop.
#
#   scripts/build-image.sh              # bases from docker.io
#   scripts/build-image.sh --offline    # no registry: the runtime base made with
#                                       # debootstrap, the Swift base from the
#                                       # host's toolchain (/opt/swift, mounted);
#                                       # Debian's mirror is still needed (apt)
#   scripts/build-image.sh --setup ...  # first installs and configures podman
#                                       # (Debian, as root), then builds
#
# IMAGE names the result (default localhost/calotype:dev). What the build
# leaves behind is removed: the copy of the dependencies lent to an offline
# build, and the Swift build stage's image.
set -euo pipefail
cd "$(dirname "$0")/.."
setup=false
offline=false
for argument in "$@"; do
  case "$argument" in
    --setup) setup=true ;;
    --offline) offline=true ;;
    *) echo "usage: scripts/build-image.sh [--setup] [--offline]" >&2; exit 64 ;;
  esac
done

# What podman needs on Debian 12, and the settings a machine with hybrid
# cgroups and no setrlimit in containers needs: Debian's podman brings crun,
# which refuses cgroup v1 and v2 mounted together; runc then runs the
# containers, without the default rlimits ("error setting rlimit type 7").
# Each setting in its section of containers.conf, or podman ignores it.
if $setup; then
  [ "$(id -u)" -eq 0 ] || { echo "--setup installs packages: run it as root" >&2; exit 1; }
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah debootstrap runc file curl python3 >/dev/null
  mkdir -p /etc/containers
  if [ ! -f /etc/containers/containers.conf ]; then
    cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
    echo "wrote /etc/containers/containers.conf (runc, cgroupfs, no default ulimits)"
  else
    echo "kept the existing /etc/containers/containers.conf"
  fi
fi
missing=()
for tool in podman curl python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if $offline; then command -v debootstrap >/dev/null || missing+=(debootstrap); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}; on Debian: apt-get install podman buildah debootstrap runc (or scripts/build-image.sh --setup)" >&2
  exit 1
fi

image=${IMAGE:-localhost/calotype:dev}
build_args=()
volumes=()
deps=""
cleanup() {
  [ -n "$deps" ] && rm -rf "$deps"
  return 0
}
trap cleanup EXIT
if $offline; then
  toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
  if ! podman image exists localhost/debian:bookworm-slim; then
    rootfs=$(mktemp -d)
    echo "making the Debian base with debootstrap"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import - localhost/debian:bookworm-slim >/dev/null
    rm -rf "$rootfs"
  fi
  if ! podman image exists localhost/swift-base:bookworm; then
    echo "making the Swift build base (the toolchain stays on the host: $toolchain)"
    podman build -q -t localhost/swift-base:bookworm -f deploy/container/swift-base.Containerfile deploy/container >/dev/null
  fi
  build_args=(--build-arg RUNTIME_IMAGE=localhost/debian:bookworm-slim --build-arg SWIFT_IMAGE=localhost/swift-base:bookworm)
  volumes=(-v "$toolchain:/opt/swift:ro")
  # No GitHub either: the dependencies as this checkout resolved them
  # (swift build here first), lent to the build, so SwiftPM fetches nothing.
  if [ -d .build/checkouts ] && [ -d .build/repositories ] && [ -f .build/workspace-state.json ] && [ -f Package.resolved ]; then
    deps=$(mktemp -d)
    cp -a .build/checkouts .build/repositories .build/workspace-state.json Package.resolved "$deps/"
    volumes+=(-v "$deps/checkouts:/src/.build/checkouts" -v "$deps/repositories:/src/.build/repositories"
              -v "$deps/workspace-state.json:/src/.build/workspace-state.json" -v "$deps/Package.resolved:/src/Package.resolved")
  fi
fi
echo "building $image"
# The host's network for the build (the dependencies may come from GitHub);
# the docker format keeps the HEALTHCHECK, which OCI images cannot carry.
podman build --format docker --network host "${build_args[@]}" "${volumes[@]}" -t "$image" -f Containerfile .
cleanup
deps=""
# The build stage's image (the Swift toolchain and the compiled dependencies).
podman image prune -f --filter label=calotype.stage=build >/dev/null
podman image inspect "$image" --format 'size: {{.Size}} bytes, user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}'

echo "running it"
name=calotype-check-$$
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; cleanup' EXIT
podman run -d --name "$name" -p "127.0.0.1:$port:8080" "$image" >/dev/null
# The image's HEALTHCHECK runs only where podman has systemd timers (or
# under Docker); here, as in Kubernetes, /health is asked directly.
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$port/health"; echo
curl -fsS "http://127.0.0.1:$port/ready"; echo
out=$(mktemp)
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -f "$out"; cleanup' EXIT
curl -fsS -F file=@Tests/Fixtures/photo.jpg "http://127.0.0.1:$port/process?width=100&format=webp" -o "$out"
echo "processed: $(wc -c <"$out") bytes of $(file -b "$out" 2>/dev/null || echo webp)"
podman stop -t 40 "$name" >/dev/null
echo "exit status after SIGTERM: $(podman inspect "$name" --format '{{.State.ExitCode}}')"
