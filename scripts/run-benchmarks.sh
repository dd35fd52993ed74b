#!/usr/bin/env bash
# Runs every benchmark and writes docs/benchmarks.md: each figure with the command that
# reproduces it and the machine it ran on. Benchmarks print figures; they never pass or fail on
# timing. Usage: scripts/run-benchmarks.sh [BUILD_DIR]   (make bench)
set -euo pipefail
build=${1:-build}
export PIPELINE_BIN_DIR="$build/bin"
report=docs/benchmarks.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

run() {  # run TITLE COMMAND...
  local title=$1
  shift
  echo "== $title: $*" >&2
  {
    echo "## $title"
    echo
    echo '```'
    echo "\$ $*"
    "$@" 2>&1 | sed "s|$PWD/||g"
    echo '```'
    echo
  } >> "$tmp"
}

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (scripts/run-benchmarks.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Re-run it to refresh every figure; each section shows the command that produced it."
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs,"
  echo "$(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r), load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Figures on a shared 2-core VM vary from run to run; medians are quoted where it matters."
  echo "To compare two builds, \`bench/instructions.sh\` counts instructions per item of the broker,"
  echo "workers and registry under callgrind, which CPU steal and disk latency do not move."
  echo
} > "$tmp"

run "Dispatch: throughput, latency, redelivery, memory" "$build/bin/bench_dispatch" --items 200000 --rounds 50 --million
run "Supervisor: restart latency and RSS with 64 children" "$build/bin/restart_latency" --rounds 100 --pool 63
run "Registry: durable session appends, 8 clients" "$build/bin/bench_registry" --clients 8 --seconds 10

mkdir -p docs
mv "$tmp" "$report"
trap - EXIT
echo "wrote $report" >&2
