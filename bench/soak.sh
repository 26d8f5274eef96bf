#!/usr/bin/env bash
# A soak run: the whole pipeline on a live stream at a steady rate for a chosen time, with the
# memory of every cdn process and the lag of every consumer sampled, then stopped and checked.
#
#   bench/soak.sh [--duration SECONDS] [--rate RECORDS_PER_SEC] [--interval SECONDS] [--out DIR]
#
#   --duration S   how long the live stream runs (default 600)
#   --rate R       records per second of the live stream (default 2000)
#   --interval S   seconds between two samples (default 10)
#   --out DIR      where the samples, the summary and pipeline.sh's files go (default out/soak)
#
# Drives scripts/pipeline.sh --follow --rate R (its batch run first, small: 1,000 test records,
# a model from 20,000; then cdn gen | cdn tag | cdn validate | cdn produce at R records/s,
# cdn predict and two cdn load-influx in consumer groups, on a local cdn broker and influxd).
# Every interval it appends to DIR/samples.tsv: the seconds since the stream started, the
# records produced, the records and predictions in InfluxDB, the lag of each consumer in
# records (a topic's high watermarks less what the stage has put out: cdndata less cdnresult
# for cdn predict, cdnraw less InfluxDB's records and cdnresult less InfluxDB's predictions for
# the loaders), the load average, and the RSS (VmRSS, kB) of each cdn process. After S seconds
# it stops the source (cdn gen, SIGTERM; the stages behind it end on the end of their input),
# waits until the consumers have caught up, counts, stops pipeline.sh (SIGTERM) and prints a
# summary to stdout and DIR/summary.txt: the rate achieved; per process the RSS first, max,
# last, and the growth from the first to the last quarter of the run after a warm-up (the
# first tenth); per consumer the lag max and last; and whether records are conserved.
#
# Exit status: 0 when every RSS is flat (last-quarter mean within 10% or 5 MB of the
# first-quarter mean; cdn broker's is shown but not judged: the mock cluster keeps about 5 MiB
# a partition by design, so it grows until its topics are full), every lag bounded (last-quarter mean within five seconds of traffic of
# the first-quarter mean) and the counts conserved (records generated = records in InfluxDB
# + records rejected; predictions in InfluxDB + predictions rejected = records validated);
# 1 when one is not; 2 on a usage error; 3 when the pipeline does not run.
set -euo pipefail

name=bench/soak.sh
die() {
  echo "$name: $1" >&2
  exit "${2:-2}"
}
duration=600
rate=2000
interval=10
out=out/soak
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration | --rate | --interval | --out)
      [[ $# -ge 2 ]] || die "$1 needs a value; see '$name --help'"
      case $1 in
        --duration) duration=$2 ;; --rate) rate=$2 ;; --interval) interval=$2 ;; --out) out=$2 ;;
      esac
      shift 2 ;;
    --duration=*) duration=${1#*=}; shift ;;
    --rate=*) rate=${1#*=}; shift ;;
    --interval=*) interval=${1#*=}; shift ;;
    --out=*) out=${1#*=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) die "unknown argument '$1'; see '$name --help'" ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=pipeline-lib.sh
source "$root/bench/pipeline-lib.sh"
check_run_args
check_run_env
log=$out/pipeline.log
samples=$out/samples.tsv

# The pipeline, with a broker and an influxd of its own. pipeline.sh stops what it started
# when it gets SIGTERM; so does this script when it ends early.
trap stop_pipeline EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pipeline_start "$rate" "$out" "$log"
t0=$(now)
pipeline_pids
topic_partitions
influx_count() {
  curl -sS -G "$url/query" --data-urlencode "db=cdn" --data-urlencode "q=SELECT count($2) FROM $1" |
    jq '.results[0].series[0].values[0][1] // 0'
}
# counts: "produced records predictions lag_predict lag_records lag_predictions" of the live stream.
# What a stage put out is counted before what it had to read (InfluxDB before the watermarks,
# cdnresult before cdndata), so that a lag is never under the true one, only over it by what
# arrived while counting.
counts() {
  local data raw result records predictions
  predictions=$(($(influx_count prediction prediction) - base_predictions))
  records=$(($(influx_count cdn bytes_sent) - base_records))
  read -r data raw result < <(watermarks)
  echo "$((raw - base_produced)) $records $predictions $((data - base_produced - result + base_predicted)) \
$((raw - base_produced - records)) $((result - base_predicted - predictions))"
}
rss() {
  local kb=""
  [[ -r /proc/$1/status ]] && kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
  echo "${kb:-NA}"
}
# sample: the counts into the array c, or a failure.
sample() {
  read -r -a c < <(counts)
  [[ ${#c[@]} -eq 6 ]] || die "cannot count the records in Kafka ($brokers) and InfluxDB ($url)" 3
}

{
  printf 't_s\tproduced\tinflux_records\tinflux_predictions\tlag_predict\tlag_load_records\tlag_load_predictions\tload1'
  for r in "${roles[@]}"; do printf '\trss_kb_%s' "${r//-/_}"; done
  printf '\n'
} >"$samples"
echo "$name: the stream runs at $rate records/s for $duration s (Kafka $brokers, InfluxDB $url); samples every $interval s in $samples" >&2

died=""
for ((k = 1; k * interval <= duration; k++)); do
  wait_for=$(awk -v t0="$t0" -v t="$(now)" -v at=$((k * interval)) 'BEGIN { w = t0 + at - t; printf "%.2f", (w > 0 ? w : 0) }')
  sleep "$wait_for"
  line="$(since "$t0")"
  sample
  line+=$(printf '\t%s' "${c[@]}" "$(cut -d' ' -f1 /proc/loadavg)")
  for r in "${roles[@]}"; do
    m=$(rss "${pid[$r]}")
    [[ $m != NA ]] || died+=" $r"
    line+=$(printf '\t%s' "$m")
  done
  echo "$line" >>"$samples"
  if [[ -n $died ]]; then
    echo "$name: cdn process(es) gone during the run:$died; the end of pipeline.sh's output:" >&2
    tail -n 15 "$log" | sed 's/^/  /' >&2
    exit 3
  fi
  echo "$name: ${c[0]} records produced, ${c[1]} in InfluxDB, lag ${c[3]} / ${c[4]} / ${c[5]} at $(since "$t0") s" >&2
done

# The end: the source first; the stages behind it drain their pipes and end.
stop_source
stream_s=$(since "$t0")
# Then the consumers catch up: until every lag is 0, or nothing moved for 15 s.
t_drain=$(now)
last=""
still=0
for _ in $(seq 600); do
  sample
  [[ ${c[3]} -le 0 && ${c[4]} -le 0 && ${c[5]} -le 0 ]] && break
  if [[ "${c[*]}" == "$last" ]]; then
    still=$((still + 1))
    [[ $still -lt 15 ]] || break
  else
    still=0
  fi
  last="${c[*]}"
  sleep 1
done
drain_s=$(since "$t_drain")
sample
produced=${c[0]}
records=${c[1]}
predictions=${c[2]}
stop_pipeline

# Each live stage's summary line ("cdn tag: 10 in, 10 out, 0 rejected in ..."), its last in
# its log.
live_counts

conserved=1
[[ $generated -eq $((records + rejected)) ]] || conserved=0
[[ $validated -eq $((predictions + pred_rej + lp_rej)) ]] || conserved=0
[[ $sent -eq $produced ]] || conserved=0
verdict_bad=0
{
  printf 'soak: %s s asked at %s records/s; %d records generated, the stream ran %s s: %.0f records/s achieved\n' \
    "$duration" "$rate" "$generated" "$stream_s" "$(echo "$generated / $stream_s" | bc -l)"
  printf 'load average during the run: %s (mean of the samples; 2 cores)\n' \
    "$(awk -F'\t' 'NR > 1 { s += $8; n++ } END { printf "%.2f", s / n }' "$samples")"
  echo "consumers caught up ${drain_s} s after the source stopped"
  # Per column: first, max, last, and the means of the first and last quarter of the samples
  # after the warm-up (the first tenth of the run, at least one sample).
  awk -F'\t' -v rate="$rate" -v duration="$duration" -v interval="$interval" '
    NR == 1 { for (i = 1; i <= NF; i++) col[i] = $i; next }
    { n++; for (i = 1; i <= NF; i++) v[n, i] = $i }
    END {
      warm = int(n / 10); if (warm < 1) warm = 1; if (n - warm < 4) warm = 0
      q = int((n - warm) / 4); if (q < 1) q = 1
      bad = 0
      printf "\n%-18s %9s %9s %9s %13s %13s %9s  %s\n", "process RSS (MB)", "first", "max", "last", "first quarter", "last quarter", "growth", "verdict"
      for (i = 1; i <= NF; i++) if (col[i] ~ /^rss_kb_/) {
        stats(i); name = substr(col[i], 8); gsub(/_/, "-", name)
        tol = f4 * 0.10; if (tol < 5 * 1024) tol = 5 * 1024
        verdict = (l4 - f4 <= tol) ? "flat" : "GROWS"
        # The mock cluster holds what it retains (about 5 MiB a partition): shown, not judged.
        if (name == "broker") verdict = verdict " (not judged)"; else if (verdict != "flat") bad = 1
        printf "%-18s %9.1f %9.1f %9.1f %13.1f %13.1f %+8.1f%%  %s\n", name, first / 1024, max / 1024, last / 1024, f4 / 1024, l4 / 1024, (f4 > 0 ? 100 * (l4 - f4) / f4 : 0), verdict
      }
      printf "\n%-18s %9s %9s %13s %13s  %s\n", "lag (records)", "max", "last", "first quarter", "last quarter", "verdict"
      for (i = 1; i <= NF; i++) if (col[i] ~ /^lag_/) {
        stats(i); name = substr(col[i], 5); gsub(/_/, "-", name)
        verdict = (l4 - f4 <= 5 * rate) ? "bounded" : "GROWS"; if (verdict != "bounded") bad = 1
        printf "%-18s %9d %9d %13.0f %13.0f  %s\n", name, max, last, f4, l4, verdict
      }
      printf "\n(%d samples every %d s; warm-up: the first %d; quarters of %d samples)\n", n, interval, warm, q
      exit bad
    }'"$quarters_awk" "$samples" || verdict_bad=1
  echo
  echo "records:     $generated generated = $records in InfluxDB + $rejected rejected ($produced produced to Kafka)"
  echo "predictions: $validated validated = $predictions in InfluxDB + $((pred_rej + lp_rej)) rejected ($pred_in read by cdn predict, $predicted made)"
  if [[ $conserved -eq 1 ]]; then
    echo "conservation: ok"
  else
    echo "conservation: FAILED (the counts above do not add up; rejects in $live)"
  fi
} >"$out/summary.txt"
cat "$out/summary.txt"
[[ $conserved -eq 1 && $verdict_bad -eq 0 ]]
