#!/usr/bin/env bash
# End to end: the whole pipeline on a live stream at a chosen rate, for a chosen time; the rate
# it sustains, how far its consumers fall behind, how fresh the data in InfluxDB is, and
# whether every record arrived. With --search, the highest rate at which it holds.
#
#   bench/e2e.sh [--rate R] [--duration S] [--interval S] [--out DIR] [--search [--min R] [--max R]]
#
#   --rate R       records per second of the live stream (default 10000)
#   --duration S   how long the live stream runs (default 60)
#   --interval S   seconds between two samples (default 5)
#   --out DIR      where the samples, the summary and pipeline.sh's files go (default out/e2e)
#   --search       runs of --duration each, at rates between --min and --max, bisecting to the
#                  highest rate that holds within 10%; each run in DIR/rate-R
#   --min R        the lowest rate --search tries (default 5000)
#   --max R        the highest rate --search tries (default 80000)
#
# Drives scripts/pipeline.sh --follow --rate R as bench/soak.sh does (its batch run first,
# small; then cdn gen | cdn tag | cdn validate | cdn produce at R records/s into cdndata and
# cdnraw, cdn predict cdndata -> cdnresult, and two cdn load-influx in consumer groups, cdnraw
# -> measurement cdn and cdnresult -> measurement prediction, on a local cdn broker and
# influxd), with CDN_METRICS_ADDR=127.0.0.1:0: every service serves /metrics on a free port,
# which it names in its log (DIR/pipeline/live/*.log). Every interval it appends to
# DIR/samples.tsv what is cheap to read: the records produced (the high watermarks of cdnraw,
# kcat -Q), and from the /metrics of cdn predict and of each loader its records out (for a
# loader, the points InfluxDB took) and its consumer lag (cdn_kafka_consumer_lag_messages,
# summed over its partitions); never a count over InfluxDB. After S seconds it stops the source
# (cdn gen), waits until the consumers have caught up, keeps each service's /metrics in DIR,
# counts the records and predictions in InfluxDB once, stops pipeline.sh and prints to stdout
# and DIR/summary.txt: the rate asked and the rate sustained (records produced / seconds from
# the start of the stream to the end of cdn produce); per consumer its lag, max and last, and
# the means of the first and last quarter of the samples after the warm-up (the first tenth):
# bounded when the last-quarter mean is within five seconds of traffic of the first-quarter
# mean, as in bench/soak.sh; the freshness of the records and of the predictions in InfluxDB,
# from the loaders' cdn_influx_freshness_seconds at the end, since the Kafka message's
# timestamp and since the event time: p50 and p99 interpolated inside the buckets as
# Prometheus' histogram_quantile does, and the max; the conservation of records, as
# bench/soak.sh checks it; and the verdict. DIR/result.tsv holds the verdict in one line.
#
# It holds when every lag is bounded, the p99 freshness since produce is under 2 s for both
# the records and the predictions (the live stream's Kafka timestamps are the times cdn
# produce sent each record and cdn predict each prediction: the event times of cdn gen follow
# each PoP's hour of the day and 1% are late on purpose, so freshness since the event says
# as much about the source as about the pipeline; it is shown, not judged), and the counts are conserved exactly (records generated =
# records in InfluxDB + records rejected; predictions in InfluxDB + predictions rejected =
# records validated; records sent by cdn produce = records in cdnraw).
#
# Exit status: 0 when it holds (--search: at --min at least); 1 when it does not; 2 on a usage
# error; 3 when the pipeline does not run (--search: at --min).
set -euo pipefail

name=bench/e2e.sh
die() {
  echo "$name: $1" >&2
  exit "${2:-2}"
}
rate=10000
duration=60
interval=5
out=out/e2e
search=0
min=5000
max=80000
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration | --rate | --interval | --out | --min | --max)
      [[ $# -ge 2 ]] || die "$1 needs a value; see '$name --help'"
      case $1 in
        --duration) duration=$2 ;; --rate) rate=$2 ;; --interval) interval=$2 ;; --out) out=$2 ;;
        --min) min=$2 ;; --max) max=$2 ;;
      esac
      shift 2 ;;
    --duration=*) duration=${1#*=}; shift ;;
    --rate=*) rate=${1#*=}; shift ;;
    --interval=*) interval=${1#*=}; shift ;;
    --out=*) out=${1#*=}; shift ;;
    --min=*) min=${1#*=}; shift ;;
    --max=*) max=${1#*=}; shift ;;
    --search) search=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) die "unknown argument '$1'; see '$name --help'" ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=pipeline-lib.sh
source "$root/bench/pipeline-lib.sh"
check_run_args
whole "$min" || die "bad --min '$min'; give records per second, a whole number above 0"
whole "$max" || die "bad --max '$max'; give records per second, a whole number above 0"
[[ $min -lt $max ]] || die "--min ($min) must be below --max ($max)"
check_run_env

# --search: this script once per rate, each run in DIR/rate-R; a table of every rate tried.
if [[ $search -eq 1 ]]; then
  table=$out/search.tsv
  printf 'rate\tsustained\tlag\tp99_produce_records_s\tp99_produce_predictions_s\tconserved\tverdict\twhy\n' >"$table"
  declare -A held
  try() {
    local r=$1 dir=$out/rate-$1 status=0
    echo "$name: --search: $r records/s for $duration s (in $dir)" >&2
    bash "$0" --rate "$r" --duration "$duration" --interval "$interval" --out "$dir" \
      >"$dir.txt" 2>"$dir.log" || status=$?
    if [[ $status -le 1 && -s $dir/result.tsv ]]; then
      tail -n 1 "$dir/result.tsv" >>"$table"
    else
      printf '%s\t-\t-\t-\t-\t-\tfails\tthe pipeline did not run (exit %s; see %s)\n' "$r" "$status" "$dir.log" >>"$table"
      status=3
    fi
    held[$r]=$status
    echo "$name: --search: $r records/s: $(tail -n 1 "$table" | cut -f7,8 | tr '\t' ' ')" >&2
  }
  best=""
  try "$min"
  [[ ${held[$min]} -ne 3 ]] || die "the pipeline did not run at --min $min records/s; see $out/rate-$min.log" 3
  if [[ ${held[$min]} -eq 0 ]]; then
    lo=$min
    try "$max"
    if [[ ${held[$max]} -eq 0 ]]; then
      lo=$max
    else
      hi=$max
      while ((hi * 10 > lo * 11)); do
        mid=$(((lo + hi) / 2))
        try "$mid"
        if [[ ${held[$mid]} -eq 0 ]]; then lo=$mid; else hi=$mid; fi
      done
    fi
    best=$lo
  fi
  {
    printf '%10s %10s %9s %13s %13s %10s  %s\n' "rate asked" sustained lag "p99 produce (s)" "" conserved verdict
    printf '%10s %10s %9s %13s %13s %10s\n' "" "" "" records predictions ""
    sort -t$'\t' -k1,1n <(tail -n +2 "$table") |
      awk -F'\t' '{ printf "%10s %10s %9s %13s %13s %10s  %s%s\n", $1, $2, $3, $4, $5, $6, $7, ($8 == "" ? "" : ": " $8) }'
    echo
    if [[ -n $best ]]; then
      if [[ $best -eq $max ]]; then
        echo "search: the pipeline holds at every rate tried, up to --max $max records/s"
      else
        echo "search: the pipeline holds at $best records/s, not at $hi (runs of $duration s; within 10%)"
      fi
    else
      echo "search: the pipeline does not hold at --min $min records/s"
    fi
  } | tee "$out/search.txt"
  [[ -n $best ]]
  exit
fi

log=$out/pipeline.log
samples=$out/samples.tsv
trap stop_pipeline EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pipeline_start "$rate" "$out" "$log" CDN_METRICS_ADDR=127.0.0.1:0
t0=$(now)
pipeline_pids
topic_partitions

# Where each service serves /metrics: the last "serving" line of its log.
services=(predict load-records load-predictions)
declare -A addr
for s in "${services[@]}"; do
  addr[$s]=$(sed -n 's/.*serving \/metrics, \/healthz and \/readyz on //p' "$live/$s.log" | tail -n 1)
  [[ -n ${addr[$s]} ]] || die "cdn $s named no /metrics address in $live/$s.log" 3
done
# scrape SERVICE: "out rejected lag" from its /metrics (records out and rejected, and the
# consumer lag summed over its partitions).
scrape() {
  local text
  text=$(curl -sS -m 10 "http://${addr[$1]}/metrics") || return 1
  awk '
    $1 ~ /^cdn_records_out_total\{/ { out = $2 }
    $1 ~ /^cdn_records_rejected_total\{/ { rej = $2 }
    $1 ~ /^cdn_kafka_consumer_lag_messages\{/ { lag += $2 }
    END { printf "%d %d %d\n", out, rej, lag }' <<<"$text"
}
# sample: into c, "produced out_predict out_records out_predictions lag_predict lag_records
# lag_predictions"; into in_*, what each service had to read; into rej, what each rejected.
declare -A rej
sample() {
  local data raw result o r l s k=1
  read -r data raw result < <(watermarks) || die "cannot read the high watermarks of the topics on $brokers" 3
  c=("$((raw - base_produced))")
  in_predict=$((data - base_produced))
  in_records=$((raw - base_produced))
  in_predictions=$((result - base_predicted))
  for s in "${services[@]}"; do
    read -r o r l < <(scrape "$s") || die "cdn $s does not answer on http://${addr[$s]}/metrics" 3
    c[k]=$o
    c[k + 3]=$l
    rej[$s]=$r
    k=$((k + 1))
  done
  [[ ${#c[@]} -eq 7 ]] || die "cannot read the counts of the services' /metrics" 3
}

printf 't_s\tproduced\tout_predict\tout_load_records\tout_load_predictions\tlag_predict\tlag_load_records\tlag_load_predictions\tload1\n' >"$samples"
echo "$name: the stream runs at $rate records/s for $duration s (Kafka $brokers, InfluxDB $url); samples every $interval s in $samples" >&2

for ((k = 1; k * interval <= duration; k++)); do
  wait_for=$(awk -v t0="$t0" -v t="$(now)" -v at=$((k * interval)) 'BEGIN { w = t0 + at - t; printf "%.2f", (w > 0 ? w : 0) }')
  sleep "$wait_for"
  line="$(since "$t0")"
  died=""
  for r in "${roles[@]}"; do kill -0 "${pid[$r]}" 2>/dev/null || died+=" $r"; done
  if [[ -n $died ]]; then
    echo "$name: cdn process(es) gone during the run:$died; the end of pipeline.sh's output:" >&2
    tail -n 15 "$log" | sed 's/^/  /' >&2
    exit 3
  fi
  sample
  line+=$(printf '\t%s' "${c[@]}" "$(cut -d' ' -f1 /proc/loadavg)")
  echo "$line" >>"$samples"
  echo "$name: ${c[0]} records produced, lag ${c[4]} / ${c[5]} / ${c[6]} at $(since "$t0") s" >&2
done

# How far behind its own event time the source is: cdn produce's sampled age of the records it
# sends (now minus their event time), kept before it ends with its input.
produce_addr=$(sed -n 's/^cdn produce: serving \/metrics, \/healthz and \/readyz on //p' "$live/provider.log" | tail -n 1)
curl -sS -m 10 "http://$produce_addr/metrics" >"$out/metrics-produce.txt" ||
  die "cdn produce does not answer on http://$produce_addr/metrics" 3

# The end: the source first; the stages behind it drain their pipes and end.
stop_source
stream_s=$(since "$t0")
# Then the consumers catch up: until each has put out or rejected all it had to read, or
# nothing moved for 15 s.
t_drain=$(now)
last=""
still=0
for _ in $(seq 600); do
  sample
  ((c[1] + rej[predict] >= in_predict && c[2] + rej[load-records] >= in_records &&
    c[3] + rej[load-predictions] >= in_predictions)) && break
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
for s in "${services[@]}"; do
  curl -sS -m 10 "http://${addr[$s]}/metrics" >"$out/metrics-$s.txt" ||
    die "cdn $s does not answer on http://${addr[$s]}/metrics" 3
done
# The one count over InfluxDB, at the end.
influx_count() {
  curl -sS -G "$url/query" --data-urlencode "db=cdn" --data-urlencode "q=SELECT count($2) FROM $1" |
    jq '.results[0].series[0].values[0][1] // 0'
}
records=$(($(influx_count cdn bytes_sent) - base_records))
predictions=$(($(influx_count prediction prediction) - base_predictions))
stop_pipeline
live_counts

conserved=1
[[ $generated -eq $((records + rejected)) ]] || conserved=0
[[ $validated -eq $((predictions + pred_rej + lp_rej)) ]] || conserved=0
[[ $sent -eq $produced ]] || conserved=0

# quantiles FILE BUCKET [MAX]: "p50 p99 max count" of the histogram whose bucket samples
# start with BUCKET (up to le=) in a /metrics text: the quantiles interpolated inside their
# bucket as Prometheus' histogram_quantile does (from 0 in the lowest bucket; the largest finite
# bound when the rank falls in +Inf), never above the max; max the value of the sample MAX, "-"
# without one.
quantiles() {
  awk -v bucket="$2" -v maxname="${3:-}" '
    index($0, bucket "le=\"") == 1 {
      le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      n++; b[n] = le + 0; c[n] = $2 + 0
    }
    maxname != "" && $1 == maxname { mx = $2 }
    function quantile(q,   rank, i, lo, below) {
      if (c[n] == 0) return "NaN"
      rank = q * c[n]
      for (i = 1; i < n; i++) if (c[i] >= rank) break
      if (i == n) return sprintf("%.3f", b[n - 1])
      if (i == 1 && b[1] <= 0) return sprintf("%.3f", b[1])
      lo = (i == 1 ? 0 : b[i - 1]); below = (i == 1 ? 0 : c[i - 1])
      return sprintf("%.3f", lo + (b[i] - lo) * (rank - below) / (c[i] - below))
    }
    # No quantile above the exact max, where there is one: the bucket holding it ends higher.
    function capped(v) { return (mx != "" && mx != "NaN" && v != "NaN" && v + 0 > mx + 0) ? sprintf("%.3f", mx) : v }
    END {
      if (n == 0) { print "NaN NaN - 0"; exit }
      printf "%s %s %s %d\n", capped(quantile(0.5)), capped(quantile(0.99)), (maxname == "" ? "-" : mx == "" || mx == "NaN" ? "NaN" : sprintf("%.3f", mx)), c[n]
    }' "$1"
}
# freshness FILE SINCE: the loader's cdn_influx_freshness_seconds{since=SINCE}.
freshness() {
  quantiles "$1" "cdn_influx_freshness_seconds_bucket{since=\"$2\"," "cdn_influx_freshness_max_seconds{since=\"$2\"}"
}
read -r rec_p50 rec_p99 rec_max rec_n < <(freshness "$out/metrics-load-records.txt" event)
read -r recp_p50 recp_p99 recp_max recp_n < <(freshness "$out/metrics-load-records.txt" produce)
read -r pred_p50 pred_p99 pred_max pred_n < <(freshness "$out/metrics-load-predictions.txt" event)
read -r predp_p50 predp_p99 predp_max predp_n < <(freshness "$out/metrics-load-predictions.txt" produce)
read -r src_p50 src_p99 src_max src_n < <(quantiles "$out/metrics-produce.txt" 'cdn_output_event_age_seconds_bucket{command="produce",')

why=()
sustained=$(awk -v n="$produced" -v s="$stream_s" 'BEGIN { printf "%.0f", n / s }')
{
  printf 'e2e: %s records/s asked for %s s; %d records produced in %s s: %s records/s sustained\n' \
    "$rate" "$duration" "$produced" "$stream_s" "$sustained"
  printf 'load average during the run: %s (mean of the samples; 2 cores)\n' \
    "$(awk -F'\t' 'NR > 1 { s += $9; n++ } END { printf "%.2f", s / n }' "$samples")"
  echo "consumers caught up ${drain_s} s after the source stopped"
} >"$out/summary.txt"
lags=$(awk -F'\t' -v rate="$rate" -v interval="$interval" '
    NR == 1 { for (i = 1; i <= NF; i++) col[i] = $i; next }
    { n++; for (i = 1; i <= NF; i++) v[n, i] = $i }
    END {
      printf "\n%-18s %9s %9s %13s %13s  %s\n", "lag (messages)", "max", "last", "first quarter", "last quarter", "verdict"
      for (i = 1; i <= NF; i++) if (col[i] ~ /^lag_/) {
        stats(i); name = substr(col[i], 5); gsub(/_/, "-", name)
        verdict = (l4 - f4 <= 5 * rate) ? "bounded" : "GROWS"
        if (verdict != "bounded") grows = grows " " name
        printf "%-18s %9d %9d %13.0f %13.0f  %s\n", name, max, last, f4, l4, verdict
      }
      printf "(%d samples every %s s; warm-up: the first %d; quarters of %d samples)\n", n, interval, warm, q
      print "grows:" grows
    }'"$quarters_awk" "$samples")
grep -v '^grows:' <<<"$lags" >>"$out/summary.txt"
grows=$(sed -n 's/^grows: *//p' <<<"$lags")
lag_verdict=bounded
if [[ -n $grows ]]; then
  lag_verdict=GROWS
  why+=("the lag of $grows grows")
fi
under2() { awk -v v="$1" 'BEGIN { exit !(v != "NaN" && v + 0 < 2) }'; }
under2 "$recp_p99" || why+=("p99 freshness of records since produce is $recp_p99 s, not under 2 s")
under2 "$predp_p99" || why+=("p99 freshness of predictions since produce is $predp_p99 s, not under 2 s")
[[ $conserved -eq 1 ]] || why+=("the counts are not conserved")
{
  echo
  printf '%-28s %9s %9s %9s %10s\n' "freshness in InfluxDB (s)" p50 p99 max points
  printf '%-28s %9s %9s %9s %10s\n' "records since event" "$rec_p50" "$rec_p99" "$rec_max" "$rec_n"
  printf '%-28s %9s %9s %9s %10s\n' "records since produce" "$recp_p50" "$recp_p99" "$recp_max" "$recp_n"
  printf '%-28s %9s %9s %9s %10s\n' "predictions since event" "$pred_p50" "$pred_p99" "$pred_max" "$pred_n"
  printf '%-28s %9s %9s %9s %10s\n' "predictions since produce" "$predp_p50" "$predp_p99" "$predp_max" "$predp_n"
  printf '%-28s %9s %9s %9s %10s\n' "the source's lateness" "$src_p50" "$src_p99" "$src_max" "$src_n"
  echo "(p50 and p99 interpolated inside the buckets, as histogram_quantile; max exact. Since"
  echo " produce: from the Kafka message's timestamp, cdnraw's for records, cdnresult's for"
  echo " predictions. The source's lateness: now minus the event time of the records cdn produce"
  echo " sends, one in 64, in coarser buckets: how far the source itself is behind its event"
  echo " time, a part of the freshness since the event that is not the pipeline's.)"
  echo
  echo "records:     $generated generated = $records in InfluxDB + $rejected rejected ($produced produced to Kafka, $sent sent by cdn produce)"
  echo "predictions: $validated validated = $predictions in InfluxDB + $((pred_rej + lp_rej)) rejected ($pred_in read by cdn predict, $predicted made)"
  if [[ $conserved -eq 1 ]]; then
    echo "conservation: ok"
  else
    echo "conservation: FAILED (the counts above do not add up; rejects in $live)"
  fi
  echo
  if [[ ${#why[@]} -eq 0 ]]; then
    echo "verdict: holds at $rate records/s"
  else
    echo "verdict: does not hold at $rate records/s: $(printf '%s; ' "${why[@]}" | sed 's/; $//')"
  fi
} >>"$out/summary.txt"
cat "$out/summary.txt"
{
  printf 'rate\tsustained\tlag\tp99_produce_records_s\tp99_produce_predictions_s\tconserved\tverdict\twhy\n'
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$sustained" "$lag_verdict" "$recp_p99" "$predp_p99" \
    "$([[ $conserved -eq 1 ]] && echo yes || echo no)" "$([[ ${#why[@]} -eq 0 ]] && echo holds || echo fails)" \
    "$(printf '%s; ' "${why[@]}" | sed 's/; $//')"
} >"$out/result.tsv"
[[ ${#why[@]} -eq 0 ]]
