#!/usr/bin/env bash
# Checks the container image's recipe and the Kubernetes manifests offline,
# as CI does: hadolint on the Containerfile, yamllint on deploy/,
# kubernetes-validate (strict: unknown fields refused) on every Kubernetes
# resource, and the custom resources (KEDA's ScaledObject and
# TriggerAuthentication, the Prometheus Operator's ServiceMonitor) against
# the schemas in deploy/schemas/ with check-jsonschema. Each check is also
# shown a broken copy, which it must refuse, so that a check that passes
# everything fails here.
#
# The tools come from PyPI (scripts/install-system-packages.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
k8s=deploy/kubernetes
schemas=deploy/schemas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

must_fail() { # description, command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "error: the check passed a broken copy ($what)" >&2; exit 1; fi
}

echo "hadolint Containerfile deploy/container/*.Containerfile"
hadolint Containerfile deploy/container/*.Containerfile
sed 's/^USER 10001:10001$/USER root/' Containerfile >"$work/Containerfile"
must_fail "an image running as root" hadolint --failure-threshold warning "$work/Containerfile"

echo "yamllint deploy/"
yamllint -s deploy/
printf 'a: 1\na: 2\n' >"$work/duplicate.yaml"
must_fail "a duplicated key" yamllint -s "$work/duplicate.yaml"

echo "kubernetes-validate --strict (Kubernetes resources)"
resources=$(grep -rl '^apiVersion: \(v1\|apps/v1\|batch/v1\|policy/v1\|autoscaling/v2\)$' "$k8s" | sort)
# shellcheck disable=SC2086
kubernetes-validate --strict --quiet $resources
sed 's/terminationGracePeriodSeconds/terminationGracePeriod/' "$k8s/base/deployment-cpu.yaml" >"$work/deployment.yaml"
must_fail "an unknown field" kubernetes-validate --strict --quiet "$work/deployment.yaml"

echo "check-jsonschema (custom resources)"
check-jsonschema --schemafile "$schemas/keda-2.16-scaledobject.json" "$k8s"/keda/scaledobject-*.yaml
check-jsonschema --schemafile "$schemas/keda-2.16-triggerauthentication.json" "$k8s/keda/triggerauthentication.yaml"
check-jsonschema --schemafile "$schemas/prometheus-operator-servicemonitor.json" "$k8s/base/servicemonitor.yaml"
sed 's/minReplicaCount/minReplicasCount/' "$k8s/keda/scaledobject-cpu.yaml" >"$work/scaledobject.yaml"
must_fail "a misspelt ScaledObject field" check-jsonschema --schemafile "$schemas/keda-2.16-scaledobject.json" "$work/scaledobject.yaml"

# Every resource a kustomization lists exists (PyYAML comes with yamllint).
python3 - "$k8s" <<'PY'
import pathlib, sys, yaml
for kustomization in pathlib.Path(sys.argv[1]).rglob("kustomization.yaml"):
    for entry in yaml.safe_load(kustomization.read_text()).get("resources", []):
        if not (kustomization.parent / entry).exists():
            sys.exit(f"error: {kustomization} lists {entry}, which does not exist")
PY
echo "deploy/ is valid"
