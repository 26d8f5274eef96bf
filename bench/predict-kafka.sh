#!/usr/bin/env bash
# Benchmarks `cdn predict` from Kafka to Kafka against the Python service a team writes instead
# (bench/predict_kafka_py.py: confluent-kafka, pandas, xgboost, batches of 10,000), in one run,
# on one local `cdn broker`: N tagged records (default 1,000,000, `cdn gen --seed 3 --no-label
# | cdn tag`) are produced keyed by sampleID to a topic of P partitions (default 128), and each
# case reads it whole in a consumer group of its own and writes one prediction a record to a
# fresh topic of P partitions:
#
#   cdn predict at-least-once   cdn predict -m M -G G -e kafka:in -o kafka:OUT
#   cdn predict exactly-once    the same with --exactly-once
#   python service              bench/predict_kafka_py.py (at-least-once, stops after N)
#
#   bench/predict-kafka.sh [--rows N] [--repeat R] [--partitions P] [--dir DIR]
#
# The cases alternate, R rounds (default 1). Each run is checked: its output topic must hold N
# predictions (read_committed for exactly-once). Reported: the wall time (a group's first join
# waits the broker's initial rebalance delay, 3 s, for every case), the rate over the wall
# time, the rate from the first prediction to the last (the messages' timestamps, join left
# out), and how many partitions got predictions and the most one got. The model has 50 rounds
# of depth 6 on 200,000 rows of seed 1 (as bench/predict-key.sh). Needs kcat and Debian's
# python3-xgboost, python3-pandas and python3-confluent-kafka.
set -euo pipefail

rows=1000000
repeat=1
partitions=128
dir=""
name=bench/predict-kafka.sh
help_lines=2,22p
# shellcheck source=bench/kafka-lib.sh
. "$(dirname "$0")/kafka-lib.sh" "$@"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
py=/usr/bin/python3
"$py" -c 'import confluent_kafka, pandas, xgboost' 2>/dev/null || {
  echo "$name: needs python3-confluent-kafka, python3-pandas and python3-xgboost (apt-get install)" >&2
  exit 2
}

"$cdn" gen -q --rows 200000 --seed 1 -f csv -o "$dir/train.csv"
"$cdn" train -q --schema "$root/schemas/cdn-data.json" --rounds 50 --max-depth 6 "$dir/train.csv" -o "$dir/m"
"$cdn" gen -q --rows "$rows" --seed 3 --no-label | "$cdn" -q tag -o "$dir/live.ndjson"

cases=(alo eos py)
topic_args=(--topic "in:$partitions")
for i in $(seq "$repeat"); do
  for c in "${cases[@]}"; do topic_args+=(--topic "out-$c-$i:$partitions"); done
done
bench_start_broker "${topic_args[@]}"
"$cdn" -q produce -b "$brokers" -t in --key-field sampleID "$dir/live.ndjson"
echo "input: $rows records on $partitions partitions, $(nproc) cores" >&2

# outputs TOPIC ISOLATION: "count partitions max-per-partition first-ms last-ms" of the topic.
outputs() {
  kcat -C -b "$brokers" -t "$1" -e -q -X isolation.level="$2" -f '%p %T\n' |
    awk '{ n++; per[$1]++; if (first == "" || $2 < first) first = $2; if ($2 > last) last = $2 }
         END { m = 0; for (p in per) { k++; if (per[p] > m) m = per[p] }
               printf "%d %d %d %.0f %.0f\n", n, k, m, first, last }'
}

declare -A wall steady spread
for i in $(seq "$repeat"); do
  for c in "${cases[@]}"; do
    out="out-$c-$i" group="bench-$c-$i" iso=read_uncommitted
    case "$c" in
      alo) cmd=("$cdn" -q predict -m "$dir/m" -b "$brokers" -G "$group" -e kafka:in -o "kafka:$out") ;;
      eos) cmd=("$cdn" -q predict -m "$dir/m" -b "$brokers" -G "$group" -e --exactly-once kafka:in -o "kafka:$out")
        iso=read_committed ;;
      py) cmd=("$py" "$root/bench/predict_kafka_py.py" "$dir/m" "$brokers" in "$out" "$group" "$rows") ;;
    esac
    start=$(date +%s%N)
    "${cmd[@]}"
    end=$(date +%s%N)
    read -r n parts most first last < <(outputs "$out" "$iso")
    if [ "$n" != "$rows" ]; then
      echo "$name: $c wrote $n predictions to '$out', not $rows" >&2
      exit 3
    fi
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    run=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f", (b - a) / 1e3 }')
    printf '  round %d %-4s %8.3f s wall, %8.3f s first to last prediction, %d partitions (most %d), load %s\n' \
      "$i" "$c" "$secs" "$run" "$parts" "$most" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    wall[$c]+="$secs " steady[$c]+="$run " spread[$c]="$parts ($most)"
  done
done

best() { tr ' ' '\n' | grep . | sort -g | head -1; }
rate() { awk -v n="$rows" -v t="$1" 'BEGIN { printf "%d", (t > 0 ? n / t : 0) }'; }
declare -A label=([alo]="\`cdn predict\` at-least-once" [eos]="\`cdn predict --exactly-once\`" [py]="Python service")
echo
echo "$rows records, $partitions partitions in and out, one \`cdn broker\`, $(nproc) cores, best of $repeat, $(date -u +%Y-%m-%d)"
echo
echo "| case | wall s | records/s | first to last prediction s | records/s | / Python | partitions (most) |"
echo "|---|---:|---:|---:|---:|---:|---|"
pyw=$(best <<<"${wall[py]}")
for c in "${cases[@]}"; do
  w=$(best <<<"${wall[$c]}") s=$(best <<<"${steady[$c]}")
  ratio=$(awk -v a="$w" -v b="$pyw" 'BEGIN { printf "%.2fx", b / a }')
  echo "| ${label[$c]} | $w | $(rate "$w") | $s | $(rate "$s") | $ratio | ${spread[$c]} |"
done
