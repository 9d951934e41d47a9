#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, in a build folder of its own
# (.build-asan, .build-tsan), as CI does after the plain run:
#
#   scripts/test-sanitized.sh address     # AddressSanitizer: overflows, use after free, double free
#   scripts/test-sanitized.sh thread      # ThreadSanitizer: data races, lock misuse
#
# Extra arguments go to `swift test` (e.g. --filter Multipart). The binaries
# the tests start (calotype process, calotype serve) are sanitized too and
# inherit these options. Leak detection is off: at exit LeakSanitizer reports
# what the Swift runtime, Foundation, NIO's singleton thread pools and GLib
# keep for the life of the process, and its exit code would replace the
# CLI's; memory that grows while serving is what scripts/soak.py checks.
# libvips, GLib and the OpenCL driver are not instrumented: ASan sees their
# allocations (its malloc is everyone's) but not their stray writes, and TSan
# sees their locks but not their plain loads and stores.
set -euo pipefail
sanitizer=${1:?usage: scripts/test-sanitized.sh address|thread [swift test arguments]}
shift
case "$sanitizer" in
  address) scratch=.build-asan ;;
  thread) scratch=.build-tsan ;;
  *) echo "usage: scripts/test-sanitized.sh address|thread [swift test arguments]" >&2; exit 64 ;;
esac
cd "$(dirname "$0")/.."
# use_sigaltstack=0: ASan gives each thread an alternate signal stack and
# unmaps it when the thread exits; one CI run died there ("unable to
# unmmap", in a thread's exit), a failure of the
# sanitizer's own bookkeeping that two full local runs (at most 2,216
# mappings, 135 threads) did not repeat. Without it a stack overflow still
# kills the test process (SIGSEGV), only without ASan's report.
export ASAN_OPTIONS="detect_leaks=0:use_sigaltstack=0"
# halt_on_error=1: a race fails the run (by default TSan reports and goes
# on, and the test runner's exit code says nothing of it).
export TSAN_OPTIONS="second_deadlock_stack=1:halt_on_error=1:suppressions=$PWD/scripts/tsan-suppressions.txt"
swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
# Under ThreadSanitizer Swift code runs several times slower; on 2 cores the
# suites run side by side (live servers, PoCL kernel builds, synthetic photos)
# starved one another past their 2-minute limits. One test at a time there:
# each test still runs its own threads, servers and clients concurrently,
# which is what the sanitizer watches.
serial=()
[ "$sanitizer" = thread ] && serial=(--no-parallel)
if [ $# -gt 0 ]; then
  swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "${serial[@]}" "$@"
  exit
fi
# The browser test on its own, after the rest: Chromium (not instrumented)
# exited in 2 of 7 CI runs while every other suite ran beside it under ASan,
# and never alone. It still runs under the sanitizer, on the same build.
# The server's suites on their own too: beside every other suite under ASan
# on 2 cores, live servers over held fake jobs stalled past the test
# client's fixed 20 s per request (HummingbirdTesting's live client).
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "${serial[@]}" --skip 'WebPageBrowserTests|ServerTests\.'
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "${serial[@]}" --filter 'ServerTests\.' --skip WebPageBrowserTests
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "${serial[@]}" --filter WebPageBrowserTests
