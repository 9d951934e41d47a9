#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Package.swift, instrumented for
# libFuzzer and AddressSanitizer, in Fuzz/.build) and runs each for a bounded
# time on a copy of its committed seed corpus (Fuzz/Corpus/<target>), so that
# a run never grows the committed corpus. docs/FUZZING.md has the rest.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 600             # every target, 10 minutes each
#   scripts/fuzz.sh 60 recipe s3-xml
#
# Fails (exit 1) when any target crashes, breaks one of its properties, runs
# an input past 10 s or uses over 2 GiB; the input that did it is kept in
# Fuzz/.build/crashes/ (not committed). Prints each target's executions.
set -euo pipefail
seconds=${1:-60}
shift || true
cd "$(dirname "$0")/.."

# corpus folder (and target name) : executable : -max_len
all_targets=(
  "image-headers:FuzzImageHeaders:65536"   # ImageSize.sniff, JPEGScans.count
  "multipart:FuzzMultipart:65536"          # Multipart.boundary(of:), Multipart.parse
  "recipe:FuzzRecipe:65600"                # Recipe(json:) (64 KiB at most, just past it), Recipe(shorthand:)
  "imgproxy:FuzzImgproxy:8192"             # ImageURL(path:), ImgproxyOptions, their recipe (a request line's worth)
  "s3-xml:FuzzS3XML:65536"                 # S3Client.page(listXML:), S3Client.errorDetails (S3XML)
)
selected=()
for entry in "${all_targets[@]}"; do
  name=${entry%%:*}
  if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then selected+=("$entry"); fi
done
[ ${#selected[@]} -gt 0 ] || { echo "fuzz.sh: no target named $*; targets: image-headers multipart recipe imgproxy s3-xml" >&2; exit 64; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The first build instruments swift-nio, Hummingbird, AsyncHTTPClient and the
# rest too (about 10 minutes on 2 cores); its log is shown only if it fails
# (gold warns of every sanitizer symbol it cannot export).
build=(swift build --package-path Fuzz --scratch-path Fuzz/.build -c debug -Xswiftc -sanitize=fuzzer,address)
build_start=$SECONDS
echo "fuzz.sh: building: ${build[*]}"
"${build[@]}" >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "fuzz.sh: the build failed" >&2; exit 1; }
bin=$("${build[@]}" --show-bin-path)
echo "fuzz.sh: built in $((SECONDS - build_start)) s"
crashes=Fuzz/.build/crashes
mkdir -p "$crashes"
# Leak checks stay on (libFuzzer reports memory a run allocated and never
# freed); LeakSanitizer at exit is off, as in scripts/test-sanitized.sh.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:leak_check_at_exit=0}"
# libFuzzer handles the crash (it saves the input); Swift's own backtracer,
# which would catch the signal first, trips AddressSanitizer as it reads the
# crashed process's memory.
export SWIFT_BACKTRACE=enable=no

failed=()
summary=()
for entry in "${selected[@]}"; do
  IFS=: read -r name executable max_len <<<"$entry"
  cp -R "Fuzz/Corpus/$name" "$work/corpus-$name"
  log="$work/$name.log"
  echo "fuzz.sh: $name ($executable) for ${seconds} s"
  status=0
  "$bin/$executable" "$work/corpus-$name" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$crashes/$name-" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$work/corpus-$name" -type f | wc -l | tr -d ' ')
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    failed+=("$name")
    summary+=("$(printf '%-14s FAILED (exit %s) after %s executions; input in %s' "$name" "$status" "${runs:-?}" "$crashes/")")
  else
    summary+=("$(printf '%-14s %12s executions in %s s, corpus %s inputs' "$name" "${runs:-?}" "$seconds" "$corpus")")
  fi
done

echo "fuzz.sh: results"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (see docs/FUZZING.md to turn the input into a regression test)" >&2
  exit 1
fi
