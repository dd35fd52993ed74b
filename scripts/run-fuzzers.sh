#!/usr/bin/env bash
# Builds the fuzz build (clang, libFuzzer, ASan + UBSan) and runs every fuzz target of
# tests/fuzz for a set time, starting from the committed corpus. Prints, per target, the
# executions, the coverage reached and whether it found anything; exits 1 when any target
# crashed, hung, leaked or tripped a sanitizer (the input is kept under the work directory, and
# the command to reproduce it is printed). Not part of `make test`.
#
#   scripts/run-fuzzers.sh [SECONDS] [TARGET...]      (make fuzz FUZZ_SECONDS=N)
#
# Environment:
#   FUZZ_SECONDS  seconds per target when SECONDS is not given (default 60)
#   FUZZ_BUILD    the fuzz build directory (default build-fuzz); work files go to $FUZZ_BUILD/work
#   FUZZ_JOBS     compile jobs (default 2)
#   FUZZ_TIMEOUT  seconds one input may take before it counts as a hang (default 10)
#   FUZZ_MERGE=1  afterwards, minimise the committed corpus together with what the run found
#                 (libFuzzer -merge=1) and write it back to tests/fuzz/corpus/<target>/
# Fuzzers run one at a time, in-process, on one core (no -jobs/-workers).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-60}}
[[ $# -gt 0 ]] && shift
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-2}
timeout=${FUZZ_TIMEOUT:-10}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "run-fuzzers: SECONDS must be a number, got \"$seconds\"" >&2; exit 2; }

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "run-fuzzers: $tool not found (scripts/install-deps.sh --fuzz installs it)" >&2; exit 2; }
done

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DPIPELINE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$jobs" >/dev/null

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(sed -n '/^set(PL_FUZZ_TARGETS/,/^)/{/^  [a-z_]*$/s/ //gp}' tests/fuzz/targets.cmake)
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
printf '%-18s %12s %8s %8s %8s  %s\n' target executions cov features corpus result
for t in "${targets[@]}"; do
  binary="$build/bin/fuzz_$t"
  [[ -x "$binary" ]] || { echo "run-fuzzers: no target \"$t\" ($binary)" >&2; exit 2; }
  work="$build/work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/artifacts/")
  [[ -f "tests/fuzz/$t.dict" ]] && args+=(-dict="tests/fuzz/$t.dict")
  dirs=("$work/corpus" "tests/fuzz/corpus/$t")
  [[ -d "tests/fuzz/regressions/$t" ]] && dirs+=("tests/fuzz/regressions/$t")

  rm -f "$work"/artifacts/*
  status=0
  "$binary" "${args[@]}" "${dirs[@]}" >"$work/log" 2>&1 </dev/null || status=$?

  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  features=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [[ $status -eq 0 ]]; then
    result=ok
  else
    failed=1
    artifact=$(ls -t "$work"/artifacts/* 2>/dev/null | head -1 || true)
    kind=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-zA-Z-]+|runtime error|==FUZZ FINDING==|Timeout|out-of-memory' "$work/log" || echo "exit $status")
    result="FAILED ($kind): ${artifact:-no input saved}; log $work/log; reproduce: $binary ${artifact:-}"
  fi
  printf '%-18s %12s %8s %8s %8s  %s\n' "$t" "${executions:-?}" "${cov:-?}" "${features:-?}" "${corpus:-?}" "$result"

  if [[ "${FUZZ_MERGE:-0}" == 1 && $status -eq 0 ]]; then
    merged="$work/merged"
    rm -rf "$merged" && mkdir -p "$merged"
    "$binary" -merge=1 -timeout="$timeout" "$merged" "tests/fuzz/corpus/$t" "$work/corpus" \
      >"$work/merge.log" 2>&1 </dev/null
    rm -f "tests/fuzz/corpus/$t"/*
    cp "$merged"/* "tests/fuzz/corpus/$t/"
    echo "  merged: tests/fuzz/corpus/$t now holds $(ls "tests/fuzz/corpus/$t" | wc -l) inputs"
  fi
done
exit $failed
