#!/usr/bin/env bash
# How close distributed training comes to one process: one generated CSV, split into N shards
# of every N-th row, trained by N workers on 127.0.0.1 through scripts/train-tracker.sh, and
# the AUC of the bundle on held-out rows (cdn eval) next to one process's on the whole file.
#
# Usage: bench/train-distributed.sh [--rows N] [--rounds N] [--workers "2 4"] [--opts "..."] [CDN]
#   --opts: more options of cdn train, for one process and the workers alike
set -euo pipefail

rows=20000 rounds=30 counts="2 4" more=""
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --workers) counts=$2; shift 2 ;;
    --opts) more=$2; shift 2 ;;
    *) break ;;
  esac
done
cdn=${1:-build/release/cdn}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# shellcheck disable=SC2206 # --opts is split into words on purpose
opts=(-q --schema "$here/schemas/cdn-data.json" --rounds "$rounds" --seed 7 --threads 1 $more)

"$cdn" gen -q --rows "$rows" --seed 41 -f csv -o "$dir/train.csv"
"$cdn" gen -q --rows 6000 --seed 42 --start 2026-11-23T00:00:00Z -f csv -o "$dir/test.csv"
auc() { "$cdn" eval --json -m "$1" "$dir/test.csv" | jq -r .auc; }

"$cdn" train "${opts[@]}" "$dir/train.csv" -o "$dir/single"
one=$(auc "$dir/single")
printf '%-8s %-10s %s\n' workers AUC "difference"
printf '%-8s %-10.6f %s\n' 1 "$one" -
for n in $counts; do
  for ((r = 0; r < n; r++)); do
    awk -v n="$n" -v r="$r" 'NR == 1 || (NR - 2) % n == r' "$dir/train.csv" >"$dir/part-$r.csv"
  done
  "$here/scripts/train-tracker.sh" --workers "$n" --port 0 >"$dir/tracker.out" 2>"$dir/tracker.err" &
  tracker=$!
  for _ in $(seq 100); do [ -s "$dir/tracker.out" ] && break; sleep 0.1; done
  address=$(sed -n 's/^CDN_TRACKER=\([^ ]*\) .*/\1/p' "$dir/tracker.out")
  pids=()
  for ((r = 0; r < n; r++)); do
    "$cdn" train "${opts[@]}" --tracker "$address" --workers "$n" --rank "$r" "$dir/part-$r.csv" \
      -o "$dir/m$n-$r" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  wait "$tracker"
  got=$(auc "$dir/m$n-0")
  printf '%-8s %-10.6f %+.6f\n' "$n" "$got" "$(echo "$got - $one" | bc -l)"
done
