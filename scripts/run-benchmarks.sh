#!/usr/bin/env bash
# Runs every benchmark program (build/bin/bench_*) in turn and prints what each reports.
# Benchmarks print figures; they do not pass or fail on timing.
set -euo pipefail
build=${1:-build}
shopt -s nullglob
benches=("$build"/bin/bench_*)
if [[ ${#benches[@]} -eq 0 ]]; then
  echo "run-benchmarks: no benchmark programs in $build/bin"
  exit 0
fi
for bench in "${benches[@]}"; do
  echo "== $(basename "$bench")"
  PIPELINE_BIN_DIR="$build/bin" "$bench"
  echo
done
