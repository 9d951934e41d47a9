#!/usr/bin/env bash
# The project's style, enforced as Hummingbird enforces its own: swift-format
# (in the toolchain) with .swift-format (Hummingbird's configuration: 150
# columns, ordered imports, one declaration per line; our tests' pattern of a
# `configure:` closure beside a trailing body closure is allowed), and the
# syntax of the console's script and the OpenAPI document. CI runs it;
# `scripts/lint.sh --fix` rewrites the files in place first.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Sources Tests Plugins Fuzz/Sources Package.swift Fuzz/Package.swift Benchmarks/Package.swift)
if [ "${1:-}" = "--fix" ]; then
  swift format format --in-place --recursive --parallel "${paths[@]}"
fi
swift format lint --strict --recursive --parallel "${paths[@]}"
# The files built into the server (Sources/Server/Assets): the console's
# script parsed by Node, the OpenAPI template by Python's JSON reader.
node --check Sources/Server/Assets/console.js
python3 -m json.tool Sources/Server/Assets/openapi.json >/dev/null
echo "lint: clean"
