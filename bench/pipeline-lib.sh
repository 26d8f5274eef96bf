# shellcheck shell=bash disable=SC2154,SC2034
# Shared by the benchmarks that drive scripts/pipeline.sh --follow (bench/soak.sh,
# bench/e2e.sh); sourced, not run. Expects `name` (for messages), `root` (the repository) and
# a function die MESSAGE [STATUS].
#
#   whole VALUE
#       true when VALUE is a whole number above 0.
#   check_run_args
#       the options both scripts take: duration, rate and interval whole numbers above 0, the
#       interval no longer than the run, out named; else die (status 2).
#   check_run_env
#       the binary (CDN_BIN, else build/release/cdn) into `cdn`, and the tools the run needs;
#       then makes `out` and makes it absolute.
#   pipeline_start RATE OUT LOG [VAR=VALUE...]
#       starts pipeline.sh --follow --rate RATE in the background with its files under
#       OUT/pipeline and its output in LOG (the variables added to its environment), waits for
#       its live stream (exit 3 when it does not come), and sets: pipeline (its pid), brokers,
#       url, and what the batch run left: base_produced, base_predicted (messages in cdnraw
#       and cdnresult), base_records, base_predictions (points in InfluxDB).
#   stop_pipeline
#       SIGTERM to pipeline.sh, which stops what it started; then waits. Safe to call twice.
#   pipeline_pids
#       the cdn processes pipeline.sh started, by role (roles), in the array pid.
#   topic_partitions; watermarks
#       the partitions of cdndata, cdnraw and cdnresult (parts); then "cdndata cdnraw cdnresult",
#       the sums of their high watermarks (kcat -Q: one metadata request, no message read).
#   stop_source
#       SIGTERM to cdn gen; waits (at most 60 s, else exit 3) until cdn produce has ended.
#   stage_summary COMMAND LOG
#       "in out rejected" of the last summary line of cdn COMMAND in live/LOG.log.
#   live_counts
#       from the summary lines of the live stage: generated, validated, sent (by cdn produce),
#       pred_in, predicted, pred_rej, lr_rej, lp_rej (the loaders'), rejected (all the records
#       rejected on the way to InfluxDB).
#   quarters_awk
#       an awk function, stats(i), for the samples' column i: first, last, max, and f4 and l4,
#       the means of the first and last quarter of the samples after the warm-up (the first
#       tenth, at least one sample; none with fewer than 5); it needs n, v[k, i] and sets warm
#       and q on first use. A lag is bounded when l4 - f4 <= 5 * rate.

roles=(gen tag validate produce predict load-records load-predictions broker)

whole() { [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]]; }

check_run_args() {
  whole "$duration" || die "bad duration '$duration'; give seconds, a whole number above 0"
  whole "$rate" || die "bad rate '$rate'; give records per second, a whole number above 0"
  whole "$interval" || die "bad interval '$interval'; give seconds, a whole number above 0"
  [[ $interval -le $duration ]] || die "the interval ($interval s) is longer than the run ($duration s)"
  [[ -n $out ]] || die "--out needs a directory"
}

check_run_env() {
  cdn="${CDN_BIN:-$root/build/release/cdn}"
  [[ -x $cdn ]] || die "no binary at '$cdn'; run scripts/build.sh first or set CDN_BIN"
  local tool
  for tool in influxd kcat curl jq; do
    command -v "$tool" >/dev/null || die "'$tool' is missing; run scripts/setup.sh"
  done
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
}
pipeline=""

pipeline_start() {
  local rate=$1 out=$2 log=$3
  shift 3
  live=$out/pipeline/live
  echo "$name: starting scripts/pipeline.sh --follow --rate $rate; its output in $log" >&2
  env -u CDN_BROKERS -u INFLUX_URL -u CDN_CONFIG "$@" CDN_BIN="$cdn" bash "$root/scripts/pipeline.sh" \
    --rows 1000 --train-rows 20000 --out "$out/pipeline/p.ndjson" --follow --rate "$rate" \
    >"$log" 2>&1 </dev/null &
  pipeline=$!
  for _ in $(seq 6000); do
    grep -q '^following: [0-9]* records/s' "$log" && break
    kill -0 "$pipeline" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^following: [0-9]* records/s' "$log"; then
    echo "$name: pipeline.sh did not start its live stream; the end of its output:" >&2
    tail -n 15 "$log" | sed 's/^/  /' >&2
    exit 3
  fi
  # What the batch run left in the topics and in InfluxDB, and the addresses.
  brokers=$(sed -n 's/^following: .*; Kafka \(.*\), InfluxDB .*/\1/p' "$log")
  url=$(sed -n 's/^following: .*, InfluxDB \([^ ]*\) .*/\1/p' "$log")
  base_produced=$(awk '$1 == "produce" { print $3 }' "$log")
  base_predicted=$(awk '$1 == "predict" { print $3 }' "$log")
  base_records=$(sed -n 's/^influxdb: .* database cdn: \([0-9]*\) records, .*/\1/p' "$log")
  base_predictions=$(sed -n 's/^influxdb: .* records, \([0-9]*\) predictions.*/\1/p' "$log")
  local v
  for v in brokers url base_produced base_predicted base_records base_predictions; do
    [[ -n ${!v} ]] || die "cannot read the $v from pipeline.sh's output ($log)" 3
  done
}

stop_pipeline() {
  [[ -n $pipeline ]] || return 0
  kill -TERM "$pipeline" 2>/dev/null || true
  wait "$pipeline" 2>/dev/null || true
  pipeline=""
}

declare -A pid
pipeline_pids() {
  local p args r
  while read -r p args; do
    case $args in
      *" broker "*) pid[broker]=$p ;;
      *" gen "*) pid[gen]=$p ;;
      *" tag "*) pid[tag]=$p ;;
      *" validate "*) pid[validate]=$p ;;
      *" produce "*) pid[produce]=$p ;;
      *" predict "*) pid[predict]=$p ;;
      *" load-influx "*kafka:cdnraw*) pid[load-records]=$p ;;
      *" load-influx "*kafka:cdnresult*) pid[load-predictions]=$p ;;
    esac
  done < <(ps -o pid=,args= --ppid "$pipeline")
  for r in "${roles[@]}"; do
    [[ -n ${pid[$r]:-} ]] || die "cannot find the cdn $r process pipeline.sh started" 3
  done
}

declare -A parts
topic_partitions() {
  local t
  for t in cdndata cdnraw cdnresult; do
    parts[$t]=$(kcat -b "$brokers" -L -J -t "$t" | jq '.topics[0].partitions | length')
    [[ ${parts[$t]} -gt 0 ]] || die "cannot read the partitions of topic '$t' on $brokers" 3
  done
}

watermarks() {
  local args=() t p
  for t in cdnresult cdnraw cdndata; do
    for ((p = 0; p < parts[$t]; p++)); do args+=(-t "$t:$p:-1"); done
  done
  kcat -b "$brokers" -Q "${args[@]}" |
    awk '{ s[$1] += $NF } END { printf "%d %d %d\n", s["cdndata"], s["cdnraw"], s["cdnresult"] }'
}

stop_source() {
  kill -TERM "${pid[gen]}"
  for _ in $(seq 600); do
    kill -0 "${pid[produce]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "${pid[produce]}" 2>/dev/null && die "cdn produce did not end within 60 s of its source" 3
  return 0
}

stage_summary() {
  local line
  line=$(grep -E "^cdn $1: [0-9]+ in, [0-9]+ out, [0-9]+ rejected" "$live/$2.log" | tail -n 1 || true)
  [[ -n $line ]] || die "cdn $1 wrote no summary line to $live/$2.log" 3
  sed -E 's/^cdn [a-z-]+: ([0-9]+) in, ([0-9]+) out, ([0-9]+) rejected.*/\1 \2 \3/' <<<"$line"
}

live_counts() {
  local tag_rej val_rej prod_rej
  read -r _ generated _ < <(stage_summary gen provider)
  read -r _ _ tag_rej < <(stage_summary tag provider)
  read -r _ validated val_rej < <(stage_summary validate provider)
  read -r _ sent prod_rej < <(stage_summary produce provider)
  read -r pred_in predicted pred_rej < <(stage_summary predict predict)
  read -r _ _ lr_rej < <(stage_summary load-influx load-records)
  read -r _ _ lp_rej < <(stage_summary load-influx load-predictions)
  rejected=$((tag_rej + val_rej + prod_rej + lr_rej))
}

# shellcheck disable=SC2016 # awk text, expanded by awk
quarters_awk='
    function stats(i,   k, s1, s2) {
      if (q == "") {
        warm = int(n / 10); if (warm < 1) warm = 1; if (n - warm < 4) warm = 0
        q = int((n - warm) / 4); if (q < 1) q = 1
      }
      first = v[1, i]; last = v[n, i]; max = v[1, i]; s1 = 0; s2 = 0
      for (k = 1; k <= n; k++) if (v[k, i] + 0 > max + 0) max = v[k, i]
      for (k = warm + 1; k <= warm + q; k++) s1 += v[k, i]
      for (k = n - q + 1; k <= n; k++) s2 += v[k, i]
      f4 = s1 / q; l4 = s2 / q
    }'
