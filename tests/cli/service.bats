#!/usr/bin/env bats
# --metrics-addr: /metrics in the Prometheus text format, /healthz and /readyz, served by the
# long-running commands while they run.

load test_helper
load broker_helper
load influx_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
}

teardown() {
  [[ -n ${READER_PID:-} ]] && kill "$READER_PID" 2>/dev/null
  [[ -n ${HOLD_FD:-} ]] && exec {HOLD_FD}>&-
  [[ -n ${PROM_PID:-} ]] && kill "$PROM_PID" 2>/dev/null
  [[ -n ${PRED_PID:-} ]] && kill -KILL "$PRED_PID" 2>/dev/null
  [[ -n ${LOAD_PID:-} ]] && kill -KILL "$LOAD_PID" 2>/dev/null
  stop_broker
  stop_influxd
  stop_stub
  [[ -n ${WRITER_PID:-} ]] && kill "$WRITER_PID" 2>/dev/null
  [[ -n ${HOLE_PID:-} ]] && kill "$HOLE_PID" 2>/dev/null
  # KILL: a loader asked to stop (TERM) waits for its writes, here for ever
  [[ -n ${BG_PID:-} ]] && kill -KILL "$BG_PID" 2>/dev/null
  [[ -n ${FEED_FD:-} ]] && exec {FEED_FD}>&-
  true
}

# served ERRFILE: the HOST:PORT the command said it serves on (waits up to 10 s).
served() {
  local i addr
  for i in $(seq 100); do
    addr=$(sed -n 's/.*serving \/metrics, \/healthz and \/readyz on //p' "$1")
    [[ -n $addr ]] && { echo "$addr"; return 0; }
    sleep 0.1
  done
  echo "no 'serving' line in $1: $(cat "$1")" >&2
  return 1
}

# serve_fifo ARGS...: runs "$CDN" ARGS with the named pipe $T/feed as its input, in the
# background (BG_PID), the pipe held open for writing on FEED_FD; sets addr to where it serves.
serve_fifo() {
  mkfifo "$T/feed"
  "$CDN" "$@" "$T/feed" 2>"$T/err" &
  BG_PID=$!
  exec {FEED_FD}>"$T/feed"
  addr=$(served "$T/err")
}

# get ADDR PATH: "STATUS BODY" of a GET.
get() {
  curl -s -m 10 -w '\n%{http_code}' "http://$1$2" | { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }
}

# metric ADDR NAME: the value of the sample NAME (with its labels) on /metrics.
metric() {
  curl -s -m 10 "http://$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

# wait_metric ADDR NAME VALUE: waits (at most 10 s) until the sample NAME on /metrics is
# VALUE, then asserts it.
wait_metric() {
  local i
  for i in $(seq 100); do
    [[ $(metric "$1" "$2") == "$3" ]] && break
    sleep 0.1
  done
  assert_equal "$(metric "$1" "$2")" "$3"
}

@test "--metrics-addr serves validate's counts while it runs; /healthz and /readyz answer 200" {
  cdn gen -q --rows 300 --dirty 0.1 --seed 4 >"$T/in.ndjson"
  serve_fifo validate --metrics-addr 127.0.0.1:0 -o "$T/out.ndjson" --rejects "$T/rej.ndjson"
  [[ $addr == 127.0.0.1:* ]]
  cat "$T/in.ndjson" >&"$FEED_FD"
  for i in $(seq 100); do
    [[ $(metric "$addr" 'cdn_records_in_total{command="validate"}') == 300 ]] && break
    sleep 0.1
  done
  run get "$addr" /metrics
  [[ $output == "200 "* ]]
  [[ $output == *'# TYPE cdn_records_in_total counter'* ]]
  [[ $output == *'cdn_build_info{version="'*'",command="validate"'*'} 1'* ]]
  in=$(metric "$addr" 'cdn_records_in_total{command="validate"}')
  out=$(metric "$addr" 'cdn_records_out_total{command="validate"}')
  rejected=$(metric "$addr" 'cdn_records_rejected_total{command="validate"}')
  assert_equal "$in" 300
  ((rejected > 0)) || fail "no rejects counted of 10% dirty lines"
  (($(metric "$addr" 'cdn_batch_seconds_count{command="validate"}') >= 1))
  curl -s -m 10 "http://$addr/metrics" | promtool check metrics
  assert_equal $((out + rejected)) 300
  run get "$addr" /healthz
  [[ $output == '200 {"healthy":true,'* ]]
  run get "$addr" /readyz
  assert_output '200 {"ready":true}'
  run get "$addr" /nothing
  [[ $output == "404 "* ]]
  run curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "http://$addr/metrics"
  assert_output 405
  exec {FEED_FD}>&-
  FEED_FD=
  wait "$BG_PID" || true
  BG_PID=
  # the counts at the end are those of the summary line
  [[ "$(cat "$T/err")" == *"cdn validate: 300 in, $out out, $rejected rejected"* ]]
}

@test "tag's /metrics passes promtool, and counts what it tagged" {
  serve_fifo tag --metrics-addr 127.0.0.1:0 -o "$T/out.ndjson"
  cdn gen -q --rows 200 --seed 3 >&"$FEED_FD"
  wait_metric "$addr" 'cdn_records_out_total{command="tag"}' 200
  curl -s -m 10 "http://$addr/metrics" | promtool check metrics
}

@test "/healthz stays 200 while a command waits for input, past --health-timeout" {
  serve_fifo tag --metrics-addr 127.0.0.1:0 --health-timeout 2s -o /dev/null
  sleep 4.5
  run get "$addr" /healthz
  [[ $output == '200 {"healthy":true,'* ]]
}

# bats test_tags=influx
@test "/healthz turns 503 when the loop is stuck: load-influx waiting on a server that never answers" {
  # A server that accepts connections and never answers: every write waits.
  port_file="$T/port"
  /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$port_file" &
  HOLE_PID=$!
  for i in $(seq 50); do [[ -s $port_file ]] && break; sleep 0.1; done
  cdn gen -q --rows 50 >"$T/in.ndjson"
  serve_fifo load-influx --url "http://127.0.0.1:$(cat "$port_file")" --db x \
    --check-written off --retry-timeout 1h --flush-interval 100ms --metrics-addr 127.0.0.1:0 \
    --health-timeout 2s
  # waiting for input: alive
  sleep 1
  run get "$addr" /healthz
  [[ $output == '200 '* ]]
  # InfluxDB not answering /ping: not ready, and it says why
  run get "$addr" /readyz
  [[ $output == '503 {"ready":false,"reason":"InfluxDB at '*'/ping'"'"' does not answer: '* ]]
  # records in, and the write that never returns: the loop is stuck once its batches are
  # held (--max-in-flight 2, one ready) and it stops reading
  # (from a process of its own: the pipe fills once the loader stops reading)
  for i in $(seq 20); do cat "$T/in.ndjson"; sleep 0.05; done >&"$FEED_FD" &
  WRITER_PID=$!
  for i in $(seq 200); do
    run get "$addr" /healthz
    [[ $output == '503 {"healthy":false,'* ]] && break
    sleep 0.1
  done
  [[ $output == '503 {"healthy":false,"seconds_since_progress":'* ]]
}

@test "--metrics-addr: a bad address is a usage error, a port in use a runtime failure, each saying what to change" {
  run --separate-stderr cdn validate --metrics-addr nonsense /dev/null
  assert_failure 2
  [[ $stderr == *"bad --metrics-addr 'nonsense': write HOST:PORT, e.g. 127.0.0.1:9464"* ]]
  run --separate-stderr cdn validate --metrics-addr 127.0.0.1:99999 /dev/null
  assert_failure 2
  [[ $stderr == *"the port '99999' is not a number from 0 to 65535"* ]]
  run --separate-stderr cdn validate --health-timeout soon /dev/null
  assert_failure 2
  [[ $stderr == *"bad --health-timeout 'soon'; write a duration from 1ms to 1000000000s"* ]]
  serve_fifo validate --metrics-addr 127.0.0.1:0 -o /dev/null
  run --separate-stderr cdn validate --metrics-addr "$addr" /dev/null
  assert_failure 3
  [[ $stderr == *"cannot serve metrics on '$addr': "*"; choose another --metrics-addr"* ]]
  # a port alone, or :PORT, listens on 127.0.0.1 only
  for a in 0 :0; do
    run --separate-stderr cdn validate --metrics-addr "$a" /dev/null
    assert_success
    [[ $stderr == *"serving /metrics, /healthz and /readyz on 127.0.0.1:"* ]] || fail "$a: $stderr"
  done
  # CDN_METRICS_ADDR does the same as the option
  CDN_METRICS_ADDR=nonsense run --separate-stderr cdn tag /dev/null
  assert_failure 2
  [[ $stderr == *"bad --metrics-addr 'nonsense'"* ]]
}

# bats test_tags=kafka
@test "a group consumer: /readyz 503 until its partitions are assigned; cdn_kafka_consumer_lag_messages counts what it has not read, 0 once read" {
  start_broker -t big:2
  cdn gen -q --rows 20000 | cdn produce -q -t big
  mkfifo "$T/out"
  # Its output is a pipe nobody reads yet (held open here, read and write, so that opening
  # it does not wait): the consumer stops once the pipe is full.
  exec {HOLD_FD}<>"$T/out"
  "$CDN" consume -t big -G lagging -X session.timeout.ms=6000 --metrics-addr 127.0.0.1:0 \
    -o "$T/out" 2>"$T/err" &
  BG_PID=$!
  addr=$(served "$T/err")
  run get "$addr" /readyz
  [[ $output == "503 {\"ready\":false,\"reason\":\"waiting for group 'lagging' to assign partitions of 'big'\"}" ||
    $output == '200 {"ready":true}' ]]
  for i in $(seq 100); do
    run get "$addr" /readyz
    [[ $output == '200 {"ready":true}' ]] && break
    sleep 0.1
  done
  assert_output '200 {"ready":true}'
  lag() { curl -s -m 10 "http://$addr/metrics" | awk '$1 ~ /^cdn_kafka_consumer_lag_messages\{topic="big"/ { s += $2; n++ } END { print n + 0, s + 0 }'; }
  for i in $(seq 100); do
    read -r n total <<<"$(lag)"
    ((n >= 1 && total > 0)) && break
    sleep 0.1
  done
  # (a partition the consumer has read nothing of yet has no position, so no sample)
  ((n >= 1 && total > 0 && total < 20000)) || fail "lag over $n partitions: $total"
  curl -s -m 10 "http://$addr/metrics" | promtool check metrics
  # Reading the pipe lets it through everything: the lag goes to 0.
  cat <&"$HOLD_FD" >/dev/null &
  READER_PID=$!
  for i in $(seq 200); do
    read -r n total <<<"$(lag)"
    ((n == 2 && total == 0)) && break
    sleep 0.1
  done
  ((n == 2 && total == 0)) || fail "lag over $n partitions after reading all: $total"
}

# bats test_tags=kafka
@test "produce: /readyz 503 while no broker answers, 200 once one does; cdn broker serves its own metrics" {
  start_broker -t in:2 --metrics-addr 127.0.0.1:0
  broker=$(served "$BROKER_ERR")
  broker_ctl down all
  run samples "$broker" cdn_broker_up
  assert_output $'cdn_broker_up{broker="1"} 0\ncdn_broker_up{broker="2"} 0\ncdn_broker_up{broker="3"} 0'
  serve_fifo produce -t in --timeout 60000 --metrics-addr 127.0.0.1:0
  for i in $(seq 50); do
    run get "$addr" /readyz
    [[ $output == '503 {"ready":false,"reason":"no Kafka broker of '* ]] && break
    sleep 0.1
  done
  assert_output --partial '503 {"ready":false,"reason":"no Kafka broker of '
  broker_ctl up all
  for i in $(seq 150); do
    [[ $(get "$addr" /readyz) == '200 {"ready":true}' ]] && break
    sleep 0.1
  done
  assert_equal "$(get "$addr" /readyz)" '200 {"ready":true}'
  cdn gen -q --rows 500 --seed 3 >&"$FEED_FD"
  wait_metric "$addr" 'cdn_kafka_messages_delivered_total{topic="in"}' 500
  curl -s -m 10 "http://$addr/metrics" | promtool check metrics
  # the broker counted the produce requests, and is up again
  (($(metric "$broker" 'cdn_broker_requests_total{api="Produce"}') >= 1))
  assert_equal "$(samples "$broker" cdn_broker_up | awk '{ n += $2 } END { print n }')" 3
  curl -s -m 10 "http://$broker/metrics" | promtool check metrics
  assert_equal "$(get "$broker" /readyz)" '200 {"ready":true}'
}

# bats test_tags=influx
@test "load-influx: /readyz 503 while InfluxDB does not answer (stopped), 200 when it is back, and nothing lost" {
  start_influxd
  serve_fifo load-influx --db back --create-db --precision us --metrics-addr 127.0.0.1:0
  for i in $(seq 100); do
    [[ $(get "$addr" /readyz) == '200 {"ready":true}' ]] && break
    sleep 0.1
  done
  assert_equal "$(get "$addr" /readyz)" '200 {"ready":true}'
  kill -STOP "$INFLUXD_PID"
  run get "$addr" /readyz
  assert_output --partial '503 {"ready":false,"reason":"InfluxDB at '
  assert_output --partial 'does not answer'
  cdn gen -q --rows 300 --seed 8 | cdn tag -q >&"$FEED_FD"
  sleep 1
  kill -CONT "$INFLUXD_PID"
  for i in $(seq 150); do
    [[ $(get "$addr" /readyz) == '200 {"ready":true}' ]] &&
      [[ $(metric "$addr" cdn_influx_points_written_total) == 300 ]] && break
    sleep 0.2
  done
  assert_equal "$(get "$addr" /readyz)" '200 {"ready":true}'
  assert_equal "$(metric "$addr" cdn_influx_points_written_total)" 300
  [[ -n $(metric "$addr" cdn_influx_retries_total) ]]
  assert_equal "$(influx_query back 'SELECT count(bytes_sent) FROM cdn' | jq '.results[0].series[0].values[0][1]')" 300
}

# fresh ADDR SINCE SUFFIX: cdn_influx_freshness_seconds<SUFFIX>{since="SINCE"...} on /metrics,
# e.g. fresh "$addr" event '_bucket' 'le="5"' or fresh "$addr" produce _count.
fresh() {
  local labels="since=\"$2\""
  [[ -n ${4:-} ]] && labels+=",$4"
  metric "$1" "cdn_influx_freshness_seconds$3{$labels}"
}

# bats test_tags=kafka,influx
@test "load-influx from Kafka: cdn_influx_freshness_seconds since event counts from the records' time, since produce from their message's, each point once" {
  start_broker -t fresh:2
  start_influxd
  "$CDN" load-influx -G fresh -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 \
    --db fresh --create-db --precision us --metrics-addr 127.0.0.1:0 kafka:fresh 2>"$T/err" &
  BG_PID=$!
  addr=$(served "$T/err")
  # ready: InfluxDB answers and the group gave it its partitions, so what is produced now is
  # read at once
  for i in $(seq 300); do
    [[ $(get "$addr" /readyz) == '200 {"ready":true}' ]] && break
    sleep 0.1
  done
  assert_equal "$(get "$addr" /readyz)" '200 {"ready":true}'
  # 400 records whose event time is 5 s before they are produced (the message timestamp:
  # the time of producing, no --time-field)
  cdn gen -q --rows 400 --seed 6 | cdn tag -q >"$T/in.ndjson"
  at=$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)
  # (sed, not jq: jq would write 71.0 as 71, an integer field InfluxDB refuses beside floats)
  sed "s/\"timestamp\":\"[^\"]*\"/\"timestamp\":\"$at\"/" "$T/in.ndjson" |
    cdn produce -q -t fresh --key-field sampleID
  wait_metric "$addr" cdn_influx_points_written_total 400
  curl -s -m 10 "http://$addr/metrics" >"$T/metrics.txt"
  promtool check metrics <"$T/metrics.txt"
  grep -q '^# TYPE cdn_influx_freshness_seconds histogram$' "$T/metrics.txt"
  grep -q '^# TYPE cdn_influx_freshness_max_seconds gauge$' "$T/metrics.txt"
  # every point written is counted once in each
  assert_equal "$(fresh "$addr" event _count)" 400
  assert_equal "$(fresh "$addr" produce _count)" 400
  # since the event: all above 5 s; since the message: all within 3 s
  assert_equal "$(fresh "$addr" event _bucket 'le="5"')" 0
  assert_equal "$(fresh "$addr" event _bucket 'le="+Inf"')" 400
  assert_equal "$(fresh "$addr" produce _bucket 'le="3"')" 400
  event_max=$(metric "$addr" 'cdn_influx_freshness_max_seconds{since="event"}')
  produce_max=$(metric "$addr" 'cdn_influx_freshness_max_seconds{since="produce"}')
  awk -v e="$event_max" -v p="$produce_max" 'BEGIN { exit !(e > 5 && e < 60 && p >= 0 && p < 4) }' ||
    fail "largest freshness since event $event_max, since produce $produce_max"
  # the mean since the event is the 5 s plus the time to InfluxDB
  awk -v s="$(fresh "$addr" event _sum)" 'BEGIN { exit !(s / 400 > 5 && s / 400 < 9) }' ||
    fail "sum since event: $(fresh "$addr" event _sum)"
  kill -TERM "$BG_PID"
  wait "$BG_PID" || true
  BG_PID=
  [[ "$(tail -n 1 "$T/err")" == "cdn load-influx: 400 in, 400 out, 0 rejected in "* ]]
}

# bats test_tags=influx
@test "load-influx from a file: cdn_influx_freshness_seconds since event only; since produce stays empty" {
  start_influxd
  serve_fifo load-influx --db fresh --create-db --precision us --metrics-addr 127.0.0.1:0
  # before any point: no largest
  assert_equal "$(metric "$addr" 'cdn_influx_freshness_max_seconds{since="event"}')" NaN
  at=$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)
  cdn gen -q --rows 300 --seed 7 | cdn tag -q |
    sed "s/\"timestamp\":\"[^\"]*\"/\"timestamp\":\"$at\"/" >&"$FEED_FD"
  wait_metric "$addr" cdn_influx_points_written_total 300
  assert_equal "$(fresh "$addr" event _count)" 300
  assert_equal "$(fresh "$addr" event _bucket 'le="5"')" 0
  assert_equal "$(fresh "$addr" produce _count)" 0
  assert_equal "$(metric "$addr" 'cdn_influx_freshness_max_seconds{since="produce"}')" NaN
  curl -s -m 10 "http://$addr/metrics" | promtool check metrics
}

# bats test_tags=influx
@test "load-influx: the points of a partial write (400) count as written and in cdn_influx_freshness_seconds; the refused lines do not" {
  start_stub --refuse BAD
  serve_fifo load-influx --url "$STUB_URL" --db x --metrics-addr 127.0.0.1:0 --rejects "$T/rej.ndjson"
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","s":"good"}' \
    '{"timestamp":"2026-11-22T10:00:01Z","s":"BAD one"}' \
    '{"timestamp":"2026-11-22T10:00:02Z","s":"fine"}' \
    '{"timestamp":"2026-11-22T10:00:03Z","s":"BAD two"}' >&"$FEED_FD"
  wait_metric "$addr" 'cdn_records_rejected_total{command="load-influx"}' 2
  assert_equal "$(metric "$addr" 'cdn_records_out_total{command="load-influx"}')" 2
  assert_equal "$(metric "$addr" cdn_influx_points_written_total)" 2
  assert_equal "$(fresh "$addr" event _count)" 2
  # (days old: past the last bucket)
  assert_equal "$(fresh "$addr" event _bucket 'le="300"')" 0
  assert_equal "$(fresh "$addr" produce _count)" 0
}

# sample ADDR NAME: every sample of the metric NAME on /metrics, "name{labels} value" a line.
samples() {
  curl -s -m 10 "http://$1/metrics" | awk -v n="$2" 'index($1, n "{") == 1 || $1 == n'
}

# bats test_tags=xgboost
@test "predict's /metrics: the model in use, predictions by label, the scores, rejects by reason, batch times and record ages" {
  cdn gen -q --rows 3000 --seed 5 -f csv -o "$T/train.csv"
  cdn train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 5 "$T/train.csv" -o "$T/m"
  cdn gen -q --rows 2000 --seed 4 | cdn tag -q >"$T/in.ndjson"
  # bad records of two kinds, three of each: not JSON, and a feature of the wrong type
  for i in 1 2 3; do
    echo "{\"sampleID\":\"x$i\",\"timestamp\":"
    head -1 "$T/in.ndjson" | jq -c ".rtt_ms = \"slow $i\""
  done >>"$T/in.ndjson"
  serve_fifo predict -m "$T/m" --threshold 0.3 --metrics-addr 127.0.0.1:0 \
    -o "$T/out.ndjson" --rejects "$T/rej.ndjson"
  cat "$T/in.ndjson" >&"$FEED_FD"
  lines=$(wc -l <"$T/in.ndjson")
  for i in $(seq 100); do
    out=$(metric "$addr" 'cdn_records_out_total{command="predict"}')
    rejected=$(metric "$addr" 'cdn_records_rejected_total{command="predict"}')
    ((out + rejected == lines)) && break
    sleep 0.1
  done
  assert_equal "$out $rejected" "2000 6"
  curl -s -m 10 "http://$addr/metrics" >"$T/metrics.txt"
  promtool check metrics <"$T/metrics.txt"
  hash=$(jq -r .contract_hash "$T/m/manifest.json")
  xgb=$(/usr/bin/python3 -c 'import xgboost; print(xgboost.__version__)')
  run samples "$addr" cdn_build_info
  [[ $output == 'cdn_build_info{version="'*'",command="predict",'*'xgboost="'"$xgb"'"} 1' ]] ||
    fail "no XGBoost $xgb in $output"
  run samples "$addr" cdn_model_info
  model=$(jq -r .model_hash "$T/m/manifest.json")
  assert_output "cdn_model_info{model=\"$T/m\",hash=\"$model\",objective=\"binary:logistic\",contract_hash=\"$hash\"} 1"
  # every prediction counted once, by the label it carries (--threshold 0.3), and its score
  ones=$(metric "$addr" 'cdn_predictions_total{label="1"}')
  zeros=$(metric "$addr" 'cdn_predictions_total{label="0"}')
  assert_equal "$(metric "$addr" 'cdn_predictions_total{label="none"}')" 0
  assert_equal $((ones + zeros)) "$out"
  assert_equal "$(metric "$addr" cdn_prediction_score_count)" "$out"
  below=$(metric "$addr" 'cdn_prediction_score_bucket{le="0.3"}')
  # rejects by reason add up to the rejects, with few distinct reasons
  run samples "$addr" cdn_rejects_total
  assert_equal "$(awk '{ n += $NF } END { print n }' <<<"$output")" "$rejected"
  assert_equal "${#lines[@]}" 2
  [[ $output == *'reason="invalid JSON"} 3'* ]]
  # batches scored, and the age of what went out (the records' event time is in the past)
  (($(metric "$addr" 'cdn_batch_seconds_count{command="predict"}') >= 1))
  (($(metric "$addr" 'cdn_output_event_age_seconds_count{command="predict"}') >= 1))
  assert_equal "$(metric "$addr" 'cdn_output_event_age_seconds_bucket{command="predict",le="0.01"}')" 0
  exec {FEED_FD}>&-
  wait "$BG_PID" || true
  BG_PID=
  # what the metrics said is what was written
  assert_equal "$(jq -s 'map(select(.label == 1)) | length' "$T/out.ndjson")" "$ones"
  assert_equal "$(jq -s 'map(select(.prediction <= 0.3)) | length' "$T/out.ndjson")" "$below"
  assert_equal "$(wc -l <"$T/rej.ndjson")" "$rejected"
}

# bats test_tags=kafka,xgboost,influx
@test "Prometheus scraping predict and load-influx from Kafka: records out equal the records, and the lag returns to 0" {
  start_broker -t in:4 -t out:4
  start_influxd
  cdn gen -q --rows 3000 --seed 5 -f csv -o "$T/train.csv"
  cdn train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 5 "$T/train.csv" -o "$T/m"
  # a candidate in the shadow and windows of 500 records for drift, for the dashboard's panels
  cdn train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 8 "$T/train.csv" -o "$T/cand"
  "$CDN" predict -m "$T/m" --shadow "$T/cand" --drift-window 500 kafka:in -G predictors -X session.timeout.ms=6000 -o kafka:out \
    --metrics-addr 127.0.0.1:0 2>"$T/pred.err" &
  PRED_PID=$!
  "$CDN" load-influx kafka:out -G loaders -X session.timeout.ms=6000 --db svc --create-db \
    --precision us --metrics-addr 127.0.0.1:0 2>"$T/load.err" &
  LOAD_PID=$!
  pred=$(served "$T/pred.err")
  load=$(served "$T/load.err")
  prom_port=$(_free_port)
  cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: cdn
    static_configs:
      - targets: ['$pred', '$load']
YML
  promtool check config "$T/prometheus.yml" >/dev/null
  prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$prom_port" >"$T/prom.log" 2>&1 &
  PROM_PID=$!
  # both ready (partitions assigned, the broker and InfluxDB answering) before the records go
  for addr in "$pred" "$load"; do
    for i in $(seq 300); do
      [[ $(get "$addr" /readyz) == '200 {"ready":true}' ]] && break
      sleep 0.1
    done
    assert_equal "$(get "$addr" /readyz)" '200 {"ready":true}'
  done
  cdn gen -q --rows 2000 --seed 6 --no-label | cdn tag -q | cdn produce -q -t in --key-field sampleID
  query() {
    curl -s -m 10 -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
      jq -r '.data.result[0].value[1] // "none"'
  }
  local want='2000 2000 0'
  for i in $(seq 120); do
    got="$(query 'cdn_records_out_total{command="predict"}') $(query 'cdn_records_out_total{command="load-influx"}') $(query "sum(cdn_kafka_consumer_lag_messages{instance=\"$load\"})")"
    [[ $got == "$want" ]] && break
    sleep 0.5
  done
  assert_equal "$got" "$want"
  # what Prometheus says is what happened
  assert_equal "$(influx_query svc 'SELECT count(prediction) FROM prediction' | jq '.results[0].series[0].values[0][1]')" 2000
  assert_equal "$(query 'sum(cdn_records_rejected_total)')" 0
  assert_equal "$(query 'count(cdn_build_info)')" 2
  # the Kafka output of predict and the InfluxDB writes of load-influx
  assert_equal "$(query 'cdn_kafka_messages_delivered_total{topic="out"}')" 2000
  assert_equal "$(query 'cdn_kafka_messages_failed_total{topic="out"}')" 0
  assert_equal "$(query 'cdn_influx_points_written_total')" 2000
  assert_equal "$(query 'sum(cdn_influx_requests_total{status!="2xx"})')" 0
  local requests
  requests=$(query 'cdn_influx_requests_total{status="2xx"}')
  ((requests >= 1))
  assert_equal "$(query 'cdn_influx_request_seconds_count')" "$requests"
  # predictions by label, and the age of records at each output, by event and Kafka time
  assert_equal "$(query 'sum(cdn_predictions_total)')" 2000
  for c in predict load-influx; do
    (($(query "cdn_output_event_age_seconds_count{command=\"$c\"}") >= 1))
    (($(query "cdn_output_message_age_seconds_count{command=\"$c\"}") >= 1))
    # produced just now: the Kafka timestamps are minutes old at most
    assert_equal "$(query "cdn_output_message_age_seconds_bucket{command=\"$c\",le=\"300\"}")" \
      "$(query "cdn_output_message_age_seconds_count{command=\"$c\"}")"
  done
  # records predict rejects, then every PromQL query of the Grafana dashboard has data
  printf 'not json %s\n' 1 2 3 | cdn produce -q -t in
  for i in $(seq 120); do
    [[ $(query 'sum(cdn_rejects_total{command="predict"})') == 3 ]] && break
    sleep 0.5
  done
  assert_equal "$(query 'cdn_rejects_total{command="predict",reason="invalid JSON"}')" 3
  # a rate needs two scrapes of the new series
  for i in $(seq 60); do
    (($(query 'min(count_over_time(cdn_rejects_total[1m]))' | cut -d. -f1) >= 2)) && break
    sleep 0.5
  done
  run /usr/bin/python3 "$BATS_TEST_DIRNAME/deploy_check.py" dashboard-promql \
    "http://127.0.0.1:$prom_port" "$REPO_ROOT"/deploy/grafana/dashboards/*.json
  [[ $status -eq 0 ]] || echo "$output" >&2
  assert_success
  assert_output --partial "panel 'Freshness at the output (Prometheus)' query B: 2 series"
  # the loader's points in InfluxDB, since produce and since the event
  assert_output --partial "panel 'Freshness at the output (Prometheus)' query C: 2 series"
  assert_output --partial "panel 'Model in use and swaps (Prometheus)' query A: 1 series"
  assert_output --partial "panel 'Shadow agreement (Prometheus)' query A: 1 series"
  assert_output --partial "panel 'Shadow score distribution (Prometheus)' query A: 11 series"
  refute_output --partial 'no data'
  # both pass promtool's lint
  for addr in "$pred" "$load"; do
    curl -s -m 10 "http://$addr/metrics" | promtool check metrics
  done
}

@test "on a terminal a status line shows the counts, the rate and the time, never wider than the terminal; not when piped, with -q or JSON logs" {
  cdn gen -q --rows 2000 >"$T/in.ndjson"
  feed="for i in 1 2 3 4; do cat '$T/in.ndjson'; sleep 1; done"
  for cols in 80 40; do
    on_tty --cols "$cols" -- bash -c "($feed) | '$CDN' validate -o /dev/null" >"$T/tty$cols"
    run draws "$T/tty$cols"
    [[ ${#lines[@]} -ge 4 ]] || fail "at $cols columns only ${#lines[@]} status lines: $output"
    local l
    for l in "${lines[@]}"; do
      ((${#l} <= cols - 1)) || fail "a status line of ${#l} columns at $cols: $l"
    done
  done
  # at 80 columns the whole line fits
  [[ $(draws "$T/tty80" | tail -1) =~ ^"cdn validate: "[0-9]+" in, "[0-9]+" out, 0 rejected, "[0-9]+"/s, 0:0"[2-4]$ ]]
  # the summary follows on a clean line
  grep -a -q $'\r\e\\[Kcdn validate: 8000 in, 8000 out, 0 rejected in ' "$T/tty80"
  # not a terminal: no status line
  run --separate-stderr bash -c "($feed) | '$CDN' validate -o /dev/null"
  [[ $stderr != *$'\r'* ]]
  [[ $stderr == "cdn validate: 8000 in, 8000 out, 0 rejected in "* ]]
  # -q and --log-format json: none either
  on_tty -- bash -c "($feed) | '$CDN' -q validate -o /dev/null" >"$T/quiet"
  assert_equal "$(draws "$T/quiet" | wc -l)" 0
  on_tty -- bash -c "($feed) | '$CDN' --log-format json validate -o /dev/null" >"$T/json"
  assert_equal "$(draws "$T/json" | wc -l)" 0
}

# bats test_tags=kafka
@test "on a terminal the status line of a Kafka input shows its lag, down to 0 once all is read" {
  start_broker -t in:2
  cdn gen -q --rows 3000 --seed 2 | cdn produce -q -t in
  on_tty --cols 100 --interrupt-after 5 -- "$CDN" consume -t in -o /dev/null >"$T/tty" || true
  run draws "$T/tty"
  [[ ${#lines[@]} -ge 2 ]] || fail "only ${#lines[@]} status lines: $output"
  [[ ${lines[-1]} =~ ^"cdn consume: 3000 in, 3000 out, 0 rejected, "[0-9]+"/s, lag 0, 0:0"[3-6](\^C)?$ ]] ||
    fail "last status line: ${lines[-1]}"
}

# bats test_tags=kafka
@test "-v says when a group assigns partitions; without it, only the summary" {
  start_broker -t v:3
  echo '{"a":1}' | cdn produce -q -t v
  run --separate-stderr timeout 60 "$CDN" -v consume -t v -G verbose -X session.timeout.ms=6000 -e
  assert_success
  [[ $stderr == *"cdn consume: assigned 3 partitions in group 'verbose'"* ]]
  run --separate-stderr timeout 60 "$CDN" consume -t v -G quiet-one -X session.timeout.ms=6000 -e
  assert_success
  [[ $stderr != *"assigned"* ]]
  [[ $stderr == "cdn consume: 1 in, 1 out, 0 rejected in "* ]]
}
