#!/usr/bin/env bash
# Builds the checked build (AddressSanitizer) and runs the whole test suite under it. Every
# process the tests start (supervisor, broker, registry, workers, pipelinectl) writes its
# sanitizer reports to one directory; the run fails when a test fails or when any report was
# written, even by a server that a test restarted. Not part of `make test` (it takes about 40
# minutes on 2 cores, most of it compiling).
#
#   scripts/run-asan.sh [CTEST ARGS...]        (make asan)
#
# Environment:
#   ASAN_BUILD  the build directory (default build-asan); reports go to $ASAN_BUILD/asan-reports
#   ASAN_JOBS   compile and test jobs (default: the number of cores)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${ASAN_BUILD:-build-asan}
jobs=${ASAN_JOBS:-$(nproc)}
reports="$PWD/$build/asan-reports"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPIPELINE_ASAN=ON >/dev/null
cmake --build "$build" -j "$jobs"

rm -rf "$reports"
mkdir -p "$reports"
# Leak reports are left out: tests SIGKILL servers on purpose, and what a killed or exiting
# process still holds is not a leak worth a failure.
status=0
(cd "$build" && ASAN_OPTIONS="detect_leaks=0:log_path=$reports/asan" \
  ctest -j "$jobs" --timeout 600 --output-on-failure "$@") || status=$?

if compgen -G "$reports/asan*" >/dev/null; then
  echo "run-asan: sanitizer reports from $(ls "$reports" | wc -l) process(es):" >&2
  for report in "$reports"/asan*; do
    echo "== $report" >&2
    grep -m1 -A12 'ERROR: AddressSanitizer' "$report" >&2 || head -20 "$report" >&2
  done
  exit 1
fi
exit "$status"
