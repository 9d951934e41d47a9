#!/usr/bin/env bash
# Builds Calotype's container image with podman (or buildah's podman) and
# checks that it runs: /health, /ready, one image processed, a clean stop.
#
#   scripts/build-image.sh              # bases from docker.io
#   scripts/build-image.sh --offline    # no registry: the runtime base made with
#                                       # debootstrap, the Swift base from the
#                                       # host's toolchain (/opt/swift, mounted)
#
# IMAGE names the result (default localhost/calotype:dev).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/calotype:dev}
build_args=()
volumes=()
if [ "${1:-}" = "--offline" ]; then
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
  if [ -d .build/checkouts ] && [ -f Package.resolved ]; then
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
podman image inspect "$image" --format 'size: {{.Size}} bytes, user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}'

echo "running it"
name=calotype-check-$$
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
podman run -d --name "$name" -p "127.0.0.1:$port:8080" "$image" >/dev/null
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$port/health"; echo
curl -fsS "http://127.0.0.1:$port/ready"; echo
out=$(mktemp)
curl -fsS -F file=@Tests/Fixtures/photo.jpg "http://127.0.0.1:$port/process?width=100&format=webp" -o "$out"
echo "processed: $(wc -c <"$out") bytes of $(file -b "$out" 2>/dev/null || echo webp)"
podman stop -t 40 "$name" >/dev/null
echo "exit status after SIGTERM: $(podman inspect "$name" --format '{{.State.ExitCode}}')"
