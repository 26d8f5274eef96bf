#!/usr/bin/env bash
# Benchmarks `cdn consume -e` against `kcat -C -e` in one run: generated records (1,000,000
# by default, tagged with sampleID 1..N) are loaded with `cdn produce --key-field sampleID`
# into one topic of 128 partitions on a local `cdn broker`, then each tool reads the whole
# topic to its end, its output counted by `wc -l` through a pipe.
#
#   bench/kafka.sh [--rows N] [--repeat R] [--partitions P] [--dir DIR]
#
# The two tools alternate, R rounds. Prints a Markdown table: wall seconds (best of R runs,
# default 1), messages per second, and cdn's throughput over kcat's. Every run is checked: both tools must read N messages (the
# mock broker keeps only about 5 MiB per partition: 1,000,000 records over 128 partitions
# stay under it). Needs a release build (scripts/build.sh) and kcat.
set -euo pipefail

rows=1000000
repeat=1
partitions=128
dir=""
name=bench/kafka.sh
help_lines=2,12p
# shellcheck source=bench/kafka-lib.sh
. "$(dirname "$0")/kafka-lib.sh" "$@"

data="$dir/data.ndjson"
"$cdn" -q gen --rows "$rows" --seed 42 | "$cdn" -q tag -o "$data"
bytes=$(stat -c %s "$data")

bench_start_broker --topic "bench:$partitions"

echo "input: $rows records, $((bytes / 1000000)) MB, $partitions partitions, $(nproc) cores" >&2
"$cdn" -q produce -b "$brokers" -t bench --key-field sampleID "$data"

# run NAME COMMAND: one timed run of COMMAND | wc -l, checked; the wall seconds into `secs`.
run() {
  local name="$1" cmd="$2" start end got
  start=$(date +%s%N)
  got=$(bash -c "$cmd" | wc -l)
  end=$(date +%s%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  if [ "$got" != "$rows" ]; then
    echo "bench/kafka.sh: $name read $got messages, not $rows" >&2
    exit 3
  fi
  printf '  %-24s %8.3f s\n' "$name" "$secs" >&2
}

# The two tools alternate, R rounds; the best wall time of each.
cdn_secs="" kcat_secs=""
better() { [ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
for _ in $(seq "$repeat"); do
  run "cdn consume -e" "'$cdn' -q consume -b '$brokers' -t bench -e"
  if better "$secs" "$cdn_secs"; then cdn_secs=$secs; fi
  run "kcat -C -e" "kcat -C -b '$brokers' -t bench -e -q"
  if better "$secs" "$kcat_secs"; then kcat_secs=$secs; fi
done

rate() { awk -v n="$rows" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }

echo
echo "$rows records, $((bytes / 1000000)) MB NDJSON, one \`cdn broker\`, $partitions partitions ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| command | seconds | messages/s | cdn / kcat |"
echo "|---|---:|---:|---:|"
echo "| \`cdn consume -e\` | $cdn_secs | $(rate "$cdn_secs") | $(ratio "$cdn_secs" "$kcat_secs")x |"
echo "| \`kcat -C -e\` | $kcat_secs | $(rate "$kcat_secs") | — |"
