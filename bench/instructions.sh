#!/usr/bin/env bash
# Instructions per item of the broker, the workers and the registry, counted by callgrind: the
# figure to compare two builds with on a shared machine, where CPU steal and fsync times move
# wall-clock and CPU-time figures by 20 % or more from one run to the next. Instruction counts
# are not seconds (cache misses, system calls and the kernel's share are not in them), so this
# complements bench_dispatch and bench_registry; it does not replace them.
#
# Each program runs under valgrind in a benchmark of two sizes, and the difference between the
# two is divided by the difference in items: start-up, the end of the run and the first 10 000
# items (whose results a loop keeps in full) cancel out. Takes about 10 minutes.
#
# Usage: bench/instructions.sh [BIN_DIR]   (default build/bin; needs valgrind)
set -euo pipefail
bin=$(realpath "${1:-build/bin}")
if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed (apt-get install valgrind)" >&2
  exit 2
fi
work=$(mktemp -d /tmp/pl-instructions-XXXXXX)
trap 'rm -rf "$work"' EXIT

# A copy of the binaries in which `program` runs under callgrind, its profiles in dir/out.PID.
# Copies, not links: the programs find each other beside /proc/self/exe.
prepare() {  # prepare DIR PROGRAM
  local dir=$1 program=$2
  mkdir -p "$dir"
  cp "$bin/bench_dispatch" "$bin/bench_registry" "$bin/pipeline-broker" "$bin/pipeline-worker" \
     "$bin/pipeline-registry" "$dir/"
  mv "$dir/$program" "$dir/$program.real"
  printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/out.$$ %s/%s.real "$@" 2>/dev/null\n' \
    "$dir" "$dir" "$program" > "$dir/$program"
  chmod +x "$dir/$program"
}

# The sum of the `n` largest instruction totals among the profiles in DIR.
largest() {  # largest N DIR
  for f in "$2"/out.*; do
    # awk reads to the end: an early exit would fail the pipe (pipefail).
    callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ {gsub(",", "", $1); print $1}'
  done | sort -n | tail -"$1" | awk '{s += $1} END {printf "%.0f\n", s}'
}

# Under valgrind the program is some 50 times slower; on a busy machine its threads can then
# miss heartbeats, and redelivered items would be counted too: such a run is refused.
dispatch() {  # dispatch DIR ITEMS
  (cd "$1" && ./bench_dispatch --items "$2" --batch-only >"$1/log.$2" 2>&1)
  if grep -q "did not succeed" "$1/log.$2"; then
    echo "the run of $2 items under valgrind did not succeed (a busy machine?); try again:" >&2
    grep -o '"error":"[^"]*' "$1/log.$2" | head -1 >&2
    exit 1
  fi
  mkdir -p "$1/$2"
  mv "$1"/out.* "$1/$2/"
}

echo "broker: 60 000 and 110 000 echo items through a for_loop..." >&2
prepare "$work/broker" pipeline-broker
dispatch "$work/broker" 60000
dispatch "$work/broker" 110000
broker=$(( ($(largest 1 "$work/broker/110000") - $(largest 1 "$work/broker/60000")) / 50000 ))

echo "workers: 20 000 and 40 000 echo items..." >&2
prepare "$work/workers" pipeline-worker
dispatch "$work/workers" 20000
dispatch "$work/workers" 40000
workers=$(( ($(largest 2 "$work/workers/40000") - $(largest 2 "$work/workers/20000")) / 20000 ))

echo "registry: 4 s and 12 s of appends from 8 clients..." >&2
prepare "$work/registry" pipeline-registry
declare -A appends
for seconds in 4 12; do
  appends[$seconds]=$("$work/registry/bench_registry" --registry "$work/registry/pipeline-registry" \
                        --seconds "$seconds" 2>&1 | sed -n 's/.*(\([0-9]*\) appends in.*/\1/p')
  mkdir -p "$work/registry/$seconds"
  mv "$work/registry"/out.* "$work/registry/$seconds/"
done
registry=$(( ($(largest 1 "$work/registry/12") - $(largest 1 "$work/registry/4")) /
             (appends[12] - appends[4]) ))

echo "instructions per item (callgrind, user space, all threads):"
echo "  broker    $broker per for_loop echo item"
echo "  workers   $workers per echo item, both workers together"
echo "  registry  $registry per durable session append (8 clients)"
