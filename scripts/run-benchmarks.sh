#!/usr/bin/env bash
# Runs every benchmark program in turn and prints what each reports. Benchmarks print figures;
# they do not pass or fail on timing.
set -euo pipefail
build=${1:-build}
export PIPELINE_BIN_DIR="$build/bin"
for bench in bench_dispatch restart_latency bench_registry; do
  if [[ -x "$build/bin/$bench" ]]; then
    echo "== $bench"
    "$build/bin/$bench"
    echo
  fi
done
