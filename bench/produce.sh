#!/usr/bin/env bash
# Benchmarks `cdn produce` against `kcat -P` in one run: the same generated records (1,000,000
# by default, tagged with sampleID 1..N) through one local `cdn broker`, each run to a fresh
# topic of 128 partitions, with keys (the sampleID) and without.
#
#   bench/produce.sh [--rows N] [--repeat R] [--partitions P] [--dir DIR]
#
# Prints a Markdown table: wall seconds (best of R runs), messages per second, and cdn's
# throughput over kcat's. Every run is checked: the topic's end offsets must add up to N (the
# mock broker keeps only about 5 MiB per partition, but its offsets count every message).
# Needs a release build (scripts/build.sh) and kcat.
set -euo pipefail

rows=1000000
repeat=3
partitions=128
dir=""
name=bench/produce.sh
help_lines=2,11p
# shellcheck source=bench/kafka-lib.sh
. "$(dirname "$0")/kafka-lib.sh" "$@"

data="$dir/data.ndjson"
keyed="$dir/keyed.txt"
"$cdn" -q gen --rows "$rows" --seed 42 | "$cdn" -q tag -o "$data"
awk '{ print NR "\t" $0 }' "$data" >"$keyed"  # kcat -K '\t': the key is the sampleID
bytes=$(stat -c %s "$data")

# One topic per run, created up front.
topic_args=()
for tool in cdn kcat; do
  for mode in keyed keyless; do
    for i in $(seq "$repeat"); do topic_args+=(--topic "$tool-$mode-$i:$partitions"); done
  done
done
bench_start_broker "${topic_args[@]}"

# messages TOPIC: the sum of the topic's end offsets.
messages() {
  local args=() p
  for p in $(seq 0 $((partitions - 1))); do args+=(-t "$1:$p:-1"); done
  kcat -b "$brokers" -Q "${args[@]}" | awk '{ n += $NF } END { print n + 0 }'
}

# The cases, run in turn R times (interleaved, so that a busy moment hits both tools), best
# wall time of each; every run is checked. NAME|MODE|TOOL|COMMAND-WITH-@TOPIC@.
cases=(
  "cdn produce --key-field sampleID|keyed|cdn|'$cdn' -q produce -b '$brokers' -t @TOPIC@ --key-field sampleID '$data'"
  "kcat -P -K '\\t' -l|keyed|kcat|kcat -P -b '$brokers' -t @TOPIC@ -K \$'\\t' -l '$keyed'"
  "cdn produce|keyless|cdn|'$cdn' -q produce -b '$brokers' -t @TOPIC@ '$data'"
  "kcat -P -l|keyless|kcat|kcat -P -b '$brokers' -t @TOPIC@ -l '$data'"
)
declare -A best
echo "input: $rows records, $((bytes / 1000000)) MB, $partitions partitions, $(nproc) cores" >&2
for i in $(seq "$repeat"); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name mode tool cmd <<<"$c"
    topic="$tool-$mode-$i"
    start=$(date +%s%N)
    bash -c "${cmd//@TOPIC@/$topic}" >/dev/null
    end=$(date +%s%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    got=$(messages "$topic")
    if [ "$got" != "$rows" ]; then
      echo "bench/produce.sh: $name put $got messages in '$topic', not $rows" >&2
      exit 3
    fi
    printf '  run %d: %-36s %-8s %8.3f s\n' "$i" "$name" "$mode" "$secs" >&2
    key="$name|$mode"
    if [ -z "${best[$key]:-}" ] || awk -v a="$secs" -v b="${best[$key]}" 'BEGIN { exit !(a < b) }'; then
      best[$key]="$secs"
    fi
  done
done
results=()
for c in "${cases[@]}"; do
  IFS='|' read -r name mode _ _ <<<"$c"
  results+=("$name|$mode|${best[$name|$mode]}")
done

rate() { awk -v n="$rows" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }

echo
echo "$rows records, $((bytes / 1000000)) MB NDJSON, one \`cdn broker\`, $partitions partitions ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| command | keys | seconds | messages/s | cdn / kcat |"
echo "|---|---|---:|---:|---:|"
declare -A kcat_secs
for r in "${results[@]}"; do
  IFS='|' read -r name mode secs <<<"$r"
  [[ $name == kcat* ]] && kcat_secs[$mode]="$secs"
done
for r in "${results[@]}"; do
  IFS='|' read -r name mode secs <<<"$r"
  if [[ $name == cdn* ]]; then vs="$(ratio "$secs" "${kcat_secs[$mode]}")x"; else vs="—"; fi
  echo "| \`$name\` | $mode | $secs | $(rate "$secs") | $vs |"
done
