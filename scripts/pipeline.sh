#!/usr/bin/env bash
# Runs the cdn pipeline on this machine: installs what is missing (scripts/setup.sh), builds
# the release binary, then
#
#   cdn train TRAIN.csv -o MODEL                  (TRAIN.csv: --train, or cdn gen -f csv)
#   cdn gen --rows N | cdn sort | cdn tag | cdn validate -o OUT     (the Data Provider...)
#   cdn produce -t cdndata -t cdnraw OUT                           (...and its two topics)
#   cdn predict -m MODEL kafka:cdndata -o kafka:cdnresult          (the predictor)
#   cdn load-influx kafka:cdnraw; cdn load-influx kafka:cdnresult  (the two loaders)
#
# and prints how many records each stage read, wrote and rejected, how many points InfluxDB
# holds, whether the predictions there equal the predictions made (count and sum), and the
# AUC of the predictions against the test data's labels. Kafka is --brokers, else
# $CDN_BROKERS, else the config file's `brokers`; with none, a local `cdn broker` on 127.0.0.1
# is started and stopped. InfluxDB is --influx-url, else $INFLUX_URL, else the config file's
# `url` (database cdn); with none, a local
# influxd on 127.0.0.1 with a temporary directory is started and stopped. Rejected records
# go to one file per stage next to OUT (rejects-STAGE.ndjson). A stage that rejects records
# exits 1 and the pipeline goes on; any other failure stops it with that stage's status.
# With CDN_BIN set, that binary is used and nothing is installed or built. CDN_METRICS_ADDR
# makes each stage serve /metrics, on a free port of its host (a fixed port is one they cannot
# share: it is replaced, with a warning). With --follow, the
# services keep running afterwards for a live demo: a stream of new records at --rate per
# second through the Data Provider, the predictor and both loaders (in consumer groups, from
# the end of each topic; the stream starts once all three hold their partitions), until Ctrl-C
# stops everything the script started. Each live process logs to OUT's directory/live, and
# ends its log with its summary line.
#
# Usage: scripts/pipeline.sh [--rows N] [--train FILE.csv] [--train-rows N] [--out PATH]
#                            [--brokers LIST] [--influx-url URL] [--config FILE]
#                            [--follow [--rate N]]
#   --rows N          test records to generate (default 100000)
#   --train FILE.csv  training data (default: --train-rows records from cdn gen)
#   --train-rows N    training records to generate when no --train is given (default 200000)
#   --out PATH        where the tagged, validated records go (default out/pipeline.ndjson)
#   --brokers LIST    Kafka bootstrap brokers, host:port[,host:port]
#   --influx-url URL  InfluxDB 1.x, e.g. http://influxdb:8086
#   --config FILE     the system configuration file (deploy/cdn.toml): its brokers and url
#   --follow          keep the pipeline running on a live stream until Ctrl-C
#   --rate N          records per second of the live stream (default 200)
set -euo pipefail

usage() { sed -n 's/^# \{0,1\}//; 2,/^  --rate/p' "${BASH_SOURCE[0]}"; }
die() {
  echo "pipeline.sh: $1" >&2
  exit "${2:-2}"
}

rows=100000
train=""
train_rows=200000
out=out/pipeline.ndjson
follow=0
rate=200
brokers=""
influx_url=""
config=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) [[ $# -ge 2 ]] || die "--rows needs a value"; rows=$2; shift 2 ;;
    --rows=*) rows=${1#*=}; shift ;;
    --train) [[ $# -ge 2 ]] || die "--train needs a file"; train=$2; shift 2 ;;
    --train=*) train=${1#*=}; shift ;;
    --train-rows) [[ $# -ge 2 ]] || die "--train-rows needs a value"; train_rows=$2; shift 2 ;;
    --train-rows=*) train_rows=${1#*=}; shift ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a value"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --brokers) [[ $# -ge 2 ]] || die "--brokers needs a value"; brokers=$2; shift 2 ;;
    --brokers=*) brokers=${1#*=}; shift ;;
    --influx-url) [[ $# -ge 2 ]] || die "--influx-url needs a value"; influx_url=$2; shift 2 ;;
    --influx-url=*) influx_url=${1#*=}; shift ;;
    --config) [[ $# -ge 2 ]] || die "--config needs a file"; config=$2; shift 2 ;;
    --config=*) config=${1#*=}; shift ;;
    --follow) follow=1; shift ;;
    --rate) [[ $# -ge 2 ]] || die "--rate needs a value"; rate=$2; shift 2 ;;
    --rate=*) rate=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1'; see 'scripts/pipeline.sh --help'" ;;
  esac
done
[[ $rows =~ ^[0-9]+$ ]] || die "bad row count '$rows'; give a whole number"
[[ $train_rows =~ ^[0-9]+$ && $train_rows -gt 0 ]] || die "bad training row count '$train_rows'; give a whole number above 0"
[[ -n $out && $out != - ]] || die "--out needs a file path"
[[ $rate =~ ^[0-9]+$ && $rate -gt 0 ]] || die "bad rate '$rate'; give records per second, a whole number above 0"
[[ -z $train || -r $train ]] || die "cannot read the training data '$train'"
[[ -z $config || -r $config ]] || die "cannot read the config file '$config'"

# The addresses: a flag, else the environment, else the config file (its first `brokers` and
# `url` keys, in whatever section); what none gives is started locally below.
config_value() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$config" | head -n 1; }
[[ -z $brokers ]] || CDN_BROKERS=$brokers
[[ -z $influx_url ]] || INFLUX_URL=$influx_url
if [[ -n $config ]]; then
  [[ -n ${CDN_BROKERS:-} ]] || CDN_BROKERS=$(config_value brokers)
  [[ -n ${INFLUX_URL:-} ]] || INFLUX_URL=$(config_value url)
fi

# Every stage reads CDN_METRICS_ADDR, and one port cannot serve them all (the second to bind it
# fails): a fixed port becomes a free one of the same host for each (port 0, said in its log).
if [[ -n ${CDN_METRICS_ADDR:-} && ! $CDN_METRICS_ADDR =~ (^|:)0$ ]]; then
  metrics_host=127.0.0.1
  [[ $CDN_METRICS_ADDR != *:* ]] || metrics_host=${CDN_METRICS_ADDR%:*}
  echo "pipeline.sh: warning: CDN_METRICS_ADDR=$CDN_METRICS_ADDR names one port for every stage," \
    "which they cannot share; each serves on a free port of $metrics_host instead (said in its log)" >&2
  export CDN_METRICS_ADDR=$metrics_host:0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n ${CDN_BIN:-} ]]; then
  cdn=$CDN_BIN
  [[ -x $cdn ]] || die "CDN_BIN='$cdn' is not an executable"
else
  bash "$root/scripts/setup.sh"
  bash "$root/scripts/build.sh" --preset release >&2
  cdn="$root/build/release/cdn"
fi

outdir="$(dirname "$out")"
mkdir -p "$outdir"
logs="$(mktemp -d)"
pids=()
live=()
# stop PID: SIGTERM, then up to 15 s to finish, then SIGKILL.
stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 150); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# Stops what the script started. The live stream first, from its source, so that its later
# stages end on the end of their input and no line is cut; then the rest, the latest first
# (the services before the broker and the database they write to).
cleanup() {
  local i p
  if [[ ${#live[@]} -gt 0 ]]; then
    stop "${live[0]}"
    for p in "${live[@]:1}"; do
      for _ in $(seq 150); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
      done
      stop "$p"
    done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each stage: a name (its rejects file and log), the cdn command that prints its summary line.
names=()
commands=()
status=()
# run_stage NAME COMMAND ARGS...: runs `cdn COMMAND ARGS...` with its log and rejects file.
run_stage() {
  local name=$1 cmd=$2
  shift 2
  names+=("$name")
  commands+=("$cmd")
  set +e
  "$cdn" "$cmd" --rejects "$outdir/rejects-$name.ndjson" "$@" 2>"$logs/$name"
  status+=($?)
  set -e
  check_last
}
# Stops the pipeline when the last stage failed (status 2 or more).
check_last() {
  local i=$((${#status[@]} - 1))
  if [[ ${status[i]} -gt 1 ]]; then
    echo "pipeline.sh: cdn ${commands[i]} (${names[i]}) failed with status ${status[i]}:" >&2
    sed 's/^/  /' "$logs/${names[i]}" >&2
    exit "${status[i]}"
  fi
}

start=$EPOCHREALTIME

# 1. The model, from CSV.
if [[ -z $train ]]; then
  train="$outdir/train.csv"
  "$cdn" -q gen --rows "$train_rows" --seed 1 -f csv -o "$train"
fi
run_stage train train "$train" -o "$outdir/model" --rounds 200 --max-depth 6 --eta 0.1 \
  --valid-fraction 0.1 --early-stopping 20

# 2. The Data Provider: sorted, tagged and validated test data.
set +e
"$cdn" gen --rows "$rows" --seed 2 --rejects "$outdir/rejects-gen.ndjson" 2>"$logs/gen" |
  "$cdn" sort --rejects "$outdir/rejects-sort.ndjson" 2>"$logs/sort" |
  "$cdn" tag --rejects "$outdir/rejects-tag.ndjson" 2>"$logs/tag" |
  "$cdn" validate --schema "$root/schemas/cdn-data.json" -o "$out" \
    --rejects "$outdir/rejects-validate.ndjson" 2>"$logs/validate"
piped=("${PIPESTATUS[@]}")
set -e
names+=(gen sort tag validate)
commands+=(gen sort tag validate)
status+=("${piped[@]}")
for i in "${!status[@]}"; do
  if [[ ${status[i]} -gt 1 ]]; then
    echo "pipeline.sh: cdn ${commands[i]} failed with status ${status[i]}:" >&2
    sed 's/^/  /' "$logs/${names[i]}" >&2
    exit "${status[i]}"
  fi
done

# 3. Kafka: the given brokers, or a local cdn broker for this run. The mock keeps about 5 MiB
# a partition and drops older messages past that (cdn broker warns when it does, and a reader
# that finds its position gone says how many records it lost and fails), so each topic gets
# partitions enough for what this run sends at under 4 MiB a partition (8192 records of up to
# 512 bytes, a record of cdn gen being about 350 with Kafka's framing): the batch run's
# records, and with --follow 20 s of the live stream, so that a reader up to 20 s behind loses
# nothing. No more than that: the mock looks a fetched offset up by walking the partition's
# message sets one by one, so every partition more (and every smaller message set) costs it
# CPU on each fetch: at 20,000 records/s, 60 s of stream (147 partitions) in sets of 10 ms
# took it 65% of a core, 32 partitions in sets of 100 ms at 40,000 records/s 25%. At least
# 16, to spread the work of a consumer group.
partitions=$(( (rows + follow * 20 * rate + 8191) / 8192 ))
((partitions >= 16)) || partitions=16
if [[ -z ${CDN_BROKERS:-} ]]; then
  mkfifo "$logs/broker.ctl"
  "$cdn" broker --topic "cdndata:$partitions" --topic "cdnraw:$partitions" --topic "cdnresult:$partitions" \
    <"$logs/broker.ctl" >"$logs/broker.out" 2>"$logs/broker" &
  pids+=($!)
  exec 9>"$logs/broker.ctl" # keeps the broker's stdin open
  for _ in $(seq 100); do
    grep -q '^BROKERS=' "$logs/broker.out" 2>/dev/null && break
    sleep 0.1
  done
  CDN_BROKERS=$(sed -n 's/^BROKERS=//p' "$logs/broker.out")
  [[ -n $CDN_BROKERS ]] || die "cdn broker did not start: $(cat "$logs/broker")" 3
  echo "pipeline.sh: started a local cdn broker at $CDN_BROKERS ($partitions partitions a topic)" >&2
fi
export CDN_BROKERS
run_stage produce produce -t cdndata -t cdnraw --key-field sampleID \
  --time-field timestamp "$out"

# 4. The predictor: cdndata to cdnresult.
run_stage predict predict -m "$outdir/model" kafka:cdndata -e -o kafka:cdnresult --keep qoe_bad

# 5. InfluxDB: the given one, or a local influxd on 127.0.0.1 with a temporary directory.
if [[ -z ${INFLUX_URL:-} ]]; then
  started=$(bash "$root/scripts/local-influxd.sh" "$logs/influxd") || die "influxd did not start" 3
  read -r influxd_pid INFLUX_URL <<<"$started"
  pids+=("$influxd_pid")
  echo "pipeline.sh: started a local influxd at $INFLUX_URL" >&2
fi
export INFLUX_URL

# 6. The two loaders: telemetry and predictions.
run_stage load-records load-influx kafka:cdnraw -e --db cdn --create-db --measurement cdn \
  --tag pop,country,device,content_type,cache_status --precision us
run_stage load-predictions load-influx kafka:cdnresult -e --db cdn --create-db --precision us
end=$EPOCHREALTIME

for i in "${!names[@]}"; do
  [[ ${status[i]} -eq 1 ]] &&
    echo "pipeline.sh: cdn ${commands[i]} (${names[i]}) rejected records; see $outdir/rejects-${names[i]}.ndjson" >&2
done

# Each stage's summary line: "cdn sort: 100000 in, 100000 out, 0 rejected in 0.41 s".
printf '%-17s %10s %10s %10s\n' stage in out rejected
for i in "${!names[@]}"; do
  line=$(grep -E "^cdn ${commands[i]}: [0-9]+ in, [0-9]+ out, [0-9]+ rejected" "$logs/${names[i]}" | tail -n 1 || true)
  [[ -n $line ]] || die "cdn ${commands[i]} (${names[i]}) printed no summary line" 3
  read -r n_in n_out n_rej < <(sed -E 's/^cdn [a-z-]+: ([0-9]+) in, ([0-9]+) out, ([0-9]+) rejected.*/\1 \2 \3/' <<<"$line")
  printf '%-17s %10s %10s %10s\n' "${names[i]}" "$n_in" "$n_out" "$n_rej"
done
echo "output:   $out ($(wc -l <"$out") records); model: $outdir/model"
echo "kafka:    $CDN_BROKERS (topics cdndata, cdnraw, cdnresult)"
count() {
  curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=cdn" --data-urlencode "q=SELECT count($2) FROM $1" |
    sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\)\]\].*/\1/p'
}
records=$(count cdn bytes_sent)
predictions=$(count prediction prediction)
echo "influxdb: $INFLUX_URL, database cdn: $records records, $predictions predictions"

# The predictions made (cdnresult) against those InfluxDB holds, and their AUC where the
# test data carries the label.
"$cdn" consume -q -t cdnresult -e -o "$outdir/predictions.ndjson"
made=$(jq -r '.prediction' "$outdir/predictions.ndjson" | awk '{ n++; s += $1 } END { printf "%d %.6f", n, s }')
stored=$(curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=cdn" \
  --data-urlencode "q=SELECT count(prediction), sum(prediction) FROM prediction" |
  sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\),\([-0-9.e+]*\)\]\].*/\1 \2/p' |
  awk '{ printf "%d %.6f", $1, $2 }')
if [[ $made == "$stored" ]]; then
  echo "predictions: ${made% *} made, the same ${stored% *} in InfluxDB (sum ${made#* })"
else
  echo "pipeline.sh: predictions made (count, sum: $made) differ from those in InfluxDB ($stored)" >&2
  exit 3
fi
auc=$(jq -r 'select(.qoe_bad != null) | "\(.prediction) \(.qoe_bad)"' "$outdir/predictions.ndjson" |
  sort -g | awk '
    # Mann-Whitney: the rank sum of the positives, ties given their mean rank.
    { p[NR] = $1; y[NR] = $2 }
    END {
      n = NR; i = 1
      while (i <= n) {
        j = i; while (j < n && p[j + 1] == p[i]) j++
        r = (i + j) / 2
        for (k = i; k <= j; k++) if (y[k] == 1) { pos++; sum += r }
        i = j + 1
      }
      neg = n - pos
      if (pos > 0 && neg > 0) printf "%.4f", (sum - pos * (pos + 1) / 2) / (pos * neg)
    }')
[[ -z $auc ]] || echo "auc:      $auc over the labelled test records"
for i in "${!names[@]}"; do
  if [[ -s $outdir/rejects-${names[i]}.ndjson ]]; then
    echo "rejects:  $outdir/rejects-${names[i]}.ndjson"
  else
    rm -f "$outdir/rejects-${names[i]}.ndjson"
  fi
done
awk -v s="$start" -v e="$end" 'BEGIN { printf "elapsed:  %.2f s\n", e - s }'

# --follow: the same services on a live stream, until Ctrl-C.
if [[ $follow -eq 1 ]]; then
  livedir="$outdir/live"
  mkdir -p "$livedir"
  # The services log with -vv: when their group gives them their partitions, and at the end
  # their summary lines. (Each log is appended to; what this run wrote starts at its old size.)
  services=(predict load-records load-predictions)
  # The live messages carry the time cdn produce sent them (not the event time, which cdn gen
  # moves with each PoP's hour of the day): the loaders' freshness since produce counts from
  # it. The live producers wait up to 100 ms to fill a message set (librdkafka's default is 5):
  # keyed records spread over every partition, so at 10 ms a set held a record or two, and the
  # mock's fetches walk sets one by one. 100 ms stays well inside the freshness a dashboard
  # needs.
  linger=100
  declare -A logged
  for name in "${services[@]}"; do
    logged[$name]=$(stat -c %s "$livedir/$name.log" 2>/dev/null || echo 0)
  done
  "$cdn" -vv predict -m "$outdir/model" kafka:cdndata -G predictors --offset end -o kafka:cdnresult \
    -X linger.ms="$linger" \
    --keep qoe_bad --rejects "$livedir/rejects-predict.ndjson" 2>>"$livedir/predict.log" &
  pids+=($!)
  # The loaders serve /metrics (on a free port, said in their logs): the status below counts
  # what they wrote from there.
  "$cdn" load-influx -vv kafka:cdnraw -G loader-records --offset end --db cdn --measurement cdn \
    --tag pop,country,device,content_type,cache_status --precision us \
    --metrics-addr "${CDN_METRICS_ADDR:-127.0.0.1:0}" \
    --rejects "$livedir/rejects-load-records.ndjson" 2>>"$livedir/load-records.log" &
  pids+=($!)
  "$cdn" load-influx -vv kafka:cdnresult -G loader-predictions --offset end --db cdn --precision us \
    --metrics-addr "${CDN_METRICS_ADDR:-127.0.0.1:0}" \
    --rejects "$livedir/rejects-load-predictions.ndjson" 2>>"$livedir/load-predictions.log" &
  pids+=($!)
  # The stream starts once every service holds its partitions: joining a group takes seconds,
  # and what is produced before a service knows where the end is would never be read.
  joined() { tail -c +$((logged[$1] + 1)) "$livedir/$1.log" | grep -c '^cdn [a-z-]*: assigned [0-9]* partitions' >/dev/null; }
  for name in "${services[@]}"; do
    for _ in $(seq 300); do
      joined "$name" && break
      sleep 0.1
    done
    joined "$name" || die "cdn $name was given no partitions of its topic within 30 s; see $livedir/$name.log" 3
  done
  # Traffic from now on at --rate a second (the event time advancing at the same mean pace),
  # numbered after the batch run's records; each stage
  # a process of its own, joined by named pipes, so that the clean-up stops each one.
  mkfifo "$logs/live1" "$logs/live2" "$logs/live3"
  "$cdn" gen --rows 100000000 --seed 3 --start "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --rate "$rate" -o "$logs/live1" 2>>"$livedir/provider.log" &
  live+=($!)
  "$cdn" tag --start $((rows + 1)) "$logs/live1" >"$logs/live2" 2>>"$livedir/provider.log" &
  live+=($!)
  "$cdn" validate --rejects "$livedir/rejects-validate.ndjson" "$logs/live2" >"$logs/live3" \
    2>>"$livedir/provider.log" &
  live+=($!)
  "$cdn" produce -t cdndata -t cdnraw --key-field sampleID -X linger.ms="$linger" \
    --rate "$rate" --rejects "$livedir/rejects-produce.ndjson" "$logs/live3" 2>>"$livedir/provider.log" &
  live+=($!)
  echo "following: $rate records/s through the pipeline; Kafka $CDN_BROKERS, InfluxDB $INFLUX_URL (database cdn)"
  echo "           logs and rejects in $livedir; Ctrl-C stops it all"
  # What InfluxDB holds, every 10 s, from a process of its own: this shell only waits, in the
  # wait builtin, where bash acts on Ctrl-C at once. (Bash 5.2 can lose a trapped signal, or
  # fail parsing its trap, when it arrives while the shell runs command substitutions.) What
  # the batch run left plus what each live loader wrote (its cdn_influx_points_written_total):
  # a count over the database costs influxd more as it grows (half a second of CPU at 700,000
  # points, every 10 s), and only when a loader does not answer is it asked.
  served() {
    tail -c +$((logged[$1] + 1)) "$livedir/$1.log" |
      sed -n 's/.*serving \/metrics, \/healthz and \/readyz on //p' | tail -n 1
  }
  written() {
    local addr n
    addr=$(served "$1")
    [[ -n $addr ]] && n=$(curl -sf -m 5 "http://$addr/metrics" |
      sed -n 's/^cdn_influx_points_written_total \([0-9]*\)$/\1/p') && [[ -n $n ]] && echo "$n"
  }
  (
    while sleep 10 >/dev/null 2>&1; do
      if n=$(written load-records); then
        now_records=$((records + n))
      else
        now_records=$(count cdn bytes_sent)
      fi
      if n=$(written load-predictions); then
        now_predictions=$((predictions + n))
      else
        now_predictions=$(count prediction prediction)
      fi
      echo "following: InfluxDB holds $now_records records and $now_predictions predictions"
    done
  ) &
  pids+=($!)
  wait "$!" || true
  die "the status loop of --follow ended on its own (InfluxDB at $INFLUX_URL stopped answering?)" 3
fi
