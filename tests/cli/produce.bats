#!/usr/bin/env bats
# cdn produce: publishes every record to every named Kafka topic, checked with kcat against
# a local `cdn broker` on 127.0.0.1.

# bats file_tags=kafka

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.000Z","pop":"FRA1","sampleID":1}' \
    '{"timestamp":"2026-11-22T10:00:01.250Z","pop":"CDG2","sampleID":"s-2"}' \
    '{ "timestamp" : "2026-11-22T10:00:02.000Z", "pop":"LHR1" ,"sampleID":3}  ' >"$T/three.ndjson"
}

teardown() {
  stop_broker
}

# consume TOPIC [KCAT-ARGS...]: every message of TOPIC, as kcat prints it.
consume() {
  local topic="$1"
  shift
  kcat -b "$CDN_BROKERS" -C -t "$topic" -e -q "$@"
}

@test "records produced to a topic are read back by kcat byte for byte" {
  start_broker --topic t:1
  run --separate-stderr cdn produce -t t "$T/three.ndjson"
  assert_success
  [[ "$stderr" =~ ^"cdn produce: 3 in, 3 out, 0 rejected in "[0-9.]+" s, 3 delivered to 't'"$ ]]
  consume t >"$T/back.ndjson"
  cmp "$T/three.ndjson" "$T/back.ndjson"
}

@test "records are read from stdin when no input is named" {
  start_broker --topic t:1
  run cdn produce -q -t t <"$T/three.ndjson"
  assert_success
  assert_output ""
  consume t >"$T/back.ndjson"
  cmp "$T/three.ndjson" "$T/back.ndjson"
}

@test "every record goes to every topic named with -t" {
  start_broker --topic a:2 --topic b:3
  run --separate-stderr cdn produce -t a --topic b "$T/three.ndjson"
  assert_success
  [[ "$stderr" == *"3 delivered to 'a', 3 delivered to 'b'" ]]
  assert_equal "$(consume a | sort)" "$(sort "$T/three.ndjson")"
  assert_equal "$(consume b | sort)" "$(sort "$T/three.ndjson")"
}

@test "--key-field keys each message with the field's value and --header adds headers" {
  start_broker --topic t:4
  run cdn produce -q -t t --key-field sampleID --header source=test --header run=7 \
    "$T/three.ndjson"
  assert_success
  run consume t -f '%k|%h|%s\n'
  assert_success
  assert_line '1|source=test,run=7|{"timestamp":"2026-11-22T10:00:00.000Z","pop":"FRA1","sampleID":1}'
  assert_line '3|source=test,run=7|{ "timestamp" : "2026-11-22T10:00:02.000Z", "pop":"LHR1" ,"sampleID":3}  '
  assert_line --partial 's-2|source=test,run=7|{"timestamp":"2026-11-22T10:00:01.250Z"'
  assert_equal "${#lines[@]}" 3
}

@test "records with the same key go to the same partition" {
  start_broker --topic t:8
  for i in $(seq 1 40); do echo "{\"k\":$((i % 4)),\"i\":$i}"; done >"$T/keys.ndjson"
  run cdn produce -q -t t --key-field k "$T/keys.ndjson"
  assert_success
  run bash -c "kcat -b '$CDN_BROKERS' -C -t t -e -q -f '%k %p\n' | sort -u | cut -d' ' -f1 | uniq -d"
  assert_output ""
}

@test "a record without the key field is rejected with the reason, the rest delivered" {
  start_broker --topic t:1
  printf '%s\n' '{"id":"a"}' '{"other":1}' '{"id":null}' 'not json' '{"id":"b"}' >"$T/k.ndjson"
  run --separate-stderr cdn produce -t t --key-field id "$T/k.ndjson"
  assert_failure 1
  [[ "$stderr" == *'"line":2,"reason":"missing key field '\''id'\''","record":"{\"other\":1}"'* ]]
  [[ "$stderr" == *'"line":3,"reason":"missing key field '\''id'\''"'* ]]
  [[ "$stderr" == *'"line":4,"reason":"invalid JSON: '* ]]
  [[ "$stderr" == *"cdn produce: 5 in, 2 out, 3 rejected in "*"2 delivered to 't'"* ]]
  run consume t -f '%k\n'
  assert_output $'a\nb'
}

@test "--key-field or --time-field naming a field no record has is warned about once, with the nearest field" {
  start_broker --topic t:1
  run --separate-stderr cdn produce -t t --key-field sampleId --time-field timestamp \
    --rejects "$T/rejects.ndjson" "$T/three.ndjson"
  assert_failure 1
  assert_equal "$(head -n 1 <<<"$stderr")" "cdn produce: warning: none of the first 3 records read has the field 'sampleId' named by --key-field (did you mean 'sampleID'?); their fields: timestamp, pop, sampleID"
  assert_equal "$(grep -c warning <<<"$stderr")" 1
  run --separate-stderr cdn produce -t t --time-field meta.time --rejects "$T/rejects.ndjson" "$T/three.ndjson"
  assert_failure 1
  assert_equal "$(head -n 1 <<<"$stderr")" "cdn produce: warning: none of the first 3 records read has the field 'meta.time' named by --time-field; their fields: timestamp, pop, sampleID"
  # the fields given exist: no warning
  run --separate-stderr cdn produce -t t --key-field sampleID --time-field timestamp "$T/three.ndjson"
  assert_success
  [[ $stderr != *warning* ]] || fail "$stderr"
}

@test "--partition sends every message to one partition" {
  start_broker --topic t:4
  run cdn produce -q -t t --partition 2 "$T/three.ndjson"
  assert_success
  run consume t -f '%p\n'
  assert_output $'2\n2\n2'
}

@test "--time-field sets each message's timestamp from the record's event time" {
  start_broker --topic t:1
  printf '%s\n' '{"ts":"2026-11-22T10:00:00.000Z"}' '{"ts":"2026-11-22T11:00:00.5+01:00"}' \
    '{"ts":1795341600}' '{"ts":1795341600123}' >"$T/ts.ndjson"
  run cdn produce -q -t t --time-field ts "$T/ts.ndjson"
  assert_success
  run consume t -f '%T\n'
  assert_output $'1795341600000\n1795341600500\n1795341600000\n1795341600123'
}

@test "the old --timestamp-field still works for a release, with one warning naming --time-field" {
  start_broker --topic t:1
  printf '%s\n' '{"ts":1795341600123}' >"$T/ts.ndjson"
  run --separate-stderr cdn produce -t t --timestamp-field ts "$T/ts.ndjson"
  assert_success
  [[ $stderr == "cdn produce: warning: --timestamp-field is deprecated and goes in the next release; write --time-field"$'\n'* ]] || fail "$stderr"
  run consume t -f '%T\n'
  assert_output 1795341600123
}

@test "--timeout takes a duration with units as well as milliseconds" {
  local v
  for v in 1s 1000; do
    run --separate-stderr timeout 60 "$CDN" produce -t t -b 127.0.0.1:1 --timeout "$v" <<<'{"a":1}'
    assert_failure 3
    [[ $stderr == *"within 1000 ms"* || $stderr == *"1000 ms"* || $stderr == *"not delivered"* ]] || fail "$v: $stderr"
  done
}

@test "a record whose time field is not a time is rejected under --time-field" {
  start_broker --topic t:1
  printf '%s\n' '{"ts":"yesterday"}' '{"ts":"2026-11-22T10:00:00Z"}' '{}' >"$T/ts.ndjson"
  run --separate-stderr cdn produce -t t --time-field ts "$T/ts.ndjson"
  assert_failure 1
  [[ "$stderr" == *'"line":1,"reason":"the time field '\''ts'\'' holds '\''yesterday'\'', not an RFC 3339 time"'* ]]
  [[ "$stderr" == *'"line":3,"reason":"missing time field '\''ts'\''"'* ]]
  assert_equal "$(consume t)" '{"ts":"2026-11-22T10:00:00Z"}'
}

@test "--time-field rejects times before 1 ms after the epoch, strings and numbers alike" {
  start_broker --topic t:1
  printf '%s\n' '{"ts":0,"n":1}' '{"ts":0.0004,"n":2}' '{"ts":"1970-01-01T00:00:00Z","n":3}' \
    '{"ts":"1969-12-31T23:59:59Z","n":4}' '{"ts":-5,"n":5}' '{"ts":0.001,"n":6}' \
    '{"ts":"1970-01-01T00:00:00.001Z","n":7}' '{"ts":"2026-11-22T10:00:00Z","n":8}' >"$T/ts.ndjson"
  run --separate-stderr cdn produce -t t --time-field ts "$T/ts.ndjson"
  assert_failure 1
  local why="before 1970-01-01T00:00:00.001Z, which a Kafka message time cannot be"
  [[ "$stderr" == *'"line":1,"reason":"the time field '\''ts'\'' holds '\''0'\'', '"$why"* ]]
  [[ "$stderr" == *'"line":2,"reason":"the time field '\''ts'\'' holds '\''0.0004'\'', '"$why"* ]]
  [[ "$stderr" == *'"line":3,"reason":"the time field '\''ts'\'' holds '\''1970-01-01T00:00:00Z'\'', '"$why"* ]]
  [[ "$stderr" == *'"line":4,"reason":"the time field '\''ts'\'' holds '\''1969-12-31T23:59:59Z'\'', '"$why"* ]]
  [[ "$stderr" == *'"line":5,"reason":"the time field '\''ts'\'' holds '\''-5'\'', '"$why"* ]]
  [[ "$stderr" == *"8 in, 3 out, 5 rejected"* ]]
  run cdn consume -q -t t -e --envelope
  assert_success
  assert_equal "$(jq -c '[.payload.n, .timestamp]' <<<"$output")" \
    "$(printf '%s\n' '[6,1]' '[7,1]' '[8,1795341600000]')"
}

@test "--replay 60 sends records spanning two minutes in about two seconds" {
  start_broker --topic t:1
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","n":1}' '{"timestamp":"2026-11-22T10:01:00Z","n":2}' \
    '{"timestamp":"2026-11-22T10:02:00Z","n":3}' >"$T/span.ndjson"
  start=$(date +%s%N)
  run cdn produce -q -t t --replay 60 "$T/span.ndjson"
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  assert_success
  ((elapsed_ms >= 1900 && elapsed_ms < 3500)) || fail "took ${elapsed_ms} ms"
  assert_equal "$(consume t | wc -l)" 3
}

@test "--replay=SPEED takes the speed joined to the option" {
  start_broker --topic t:1
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z"}' '{"timestamp":"2026-11-22T10:00:30Z"}' \
    >"$T/span.ndjson"
  start=$(date +%s%N)
  run cdn produce -q -t t --replay=30 "$T/span.ndjson"
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  assert_success
  ((elapsed_ms >= 950 && elapsed_ms < 2500)) || fail "took ${elapsed_ms} ms"
}

@test "--rate limits the records sent per second" {
  start_broker --topic t:1
  for i in $(seq 1 21); do echo "{\"i\":$i}"; done >"$T/r.ndjson"
  start=$(date +%s%N)
  run cdn produce -q -t t --rate 20 "$T/r.ndjson"
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  assert_success
  ((elapsed_ms >= 950 && elapsed_ms < 2500)) || fail "took ${elapsed_ms} ms"
  assert_equal "$(consume t | wc -l)" 21
}

@test "no broker at start: a clear error and exit 3 within message.timeout.ms" {
  start=$(date +%s)
  run --separate-stderr cdn produce -b 127.0.0.1:1 -X message.timeout.ms=2000 -t t \
    "$T/three.ndjson"
  elapsed=$(($(date +%s) - start))
  assert_failure 3
  ((elapsed <= 5)) || fail "took ${elapsed} s"
  [[ "$stderr" == *"cdn produce: 3 of 3 messages were not delivered; 3 to 't'"* ]]
  [[ "$stderr" == *"Connection refused"* ]]
  [[ "$stderr" == *"check that the brokers '127.0.0.1:1' (-b/--brokers) are reachable"* ]]
  [[ "$stderr" =~ "cdn produce: 3 in, 0 out, 0 rejected, 3 not delivered in "[0-9.]+" s, 0 delivered to 't'" ]]
}

@test "every command with a Kafka output fails within --timeout when no broker answers, and counts nothing out" {
  printf '{"type":"object"}\n' >"$T/any.json"
  local cmds=(
    "produce -t t $T/three.ndjson"
    "sort -o kafka:t $T/three.ndjson"
    "tag -o kafka:t $T/three.ndjson"
    "validate --schema $T/any.json -o kafka:t $T/three.ndjson"
    "gen -n 3 --seed 1 -o kafka:t"
  )
  for c in "${cmds[@]}"; do
    read -ra argv <<<"$c"
    dead_output_run "${argv[@]}"
    [[ "$stderr" =~ "cdn ${argv[0]}: 3 in, 0 out, 0 rejected, 3 not delivered in " ]] ||
      fail "cdn ${argv[0]}: the summary claims records out: $stderr"
  done
}

# The configuration librdkafka logs at the start (-X debug=conf) of the client cdn CMD ARGS
# makes, against a port where no broker listens.
client_conf() {
  timeout 60 "$CDN" -vv "$@" -b 127.0.0.1:1 --timeout 500 -X debug=conf </dev/null 2>&1 |
    sed -n 's/.*librdkafka CONF: \[thrd:app\]: *//p'
}

@test "every Kafka client tries a lost broker again within a second, so a short outage never outlasts --timeout" {
  # librdkafka's own limit is 10 s, the default --timeout: a broker back after a 3 s outage
  # could be tried again only after the command had given up on it.
  local c conf
  for c in "produce -t t $T/three.ndjson" "consume -t t" "consume -t t -G g" \
    "tag -o kafka:t $T/three.ndjson" "load-influx --dry-run kafka:t"; do
    read -ra argv <<<"$c"
    conf=$(client_conf "${argv[@]}")
    [[ $conf == *"reconnect.backoff.max.ms = 1000"* ]] ||
      fail "cdn $c: no reconnect.backoff.max.ms = 1000 in: $conf"
  done
  # -X has the last word
  conf=$(client_conf produce -t t "$T/three.ndjson" -X reconnect.backoff.max.ms=5000)
  [[ $conf == *"reconnect.backoff.max.ms = 5000"* ]] || fail "-X did not win: $conf"
}

@test "a Kafka rejects sink whose brokers do not answer fails within --timeout and says its reject lines were not delivered" {
  printf '%s\n' '{"a":1}' '[1]' '[2]' >"$T/bad.ndjson"
  dead_output_run tag -o "$T/out.ndjson" --rejects kafka:rej "$T/bad.ndjson"
  [[ "$stderr" =~ "cdn tag: 3 in, 1 out, 2 rejected (2 of their reject lines not delivered to 'kafka:rej') in " ]] ||
    fail "$stderr"
  [ ! -e "$T/out.ndjson" ]
}

@test "--timeout in a config file bounds a Kafka output too" {
  printf '[sort]\ntimeout = 1500\n' >"$T/cdn.toml"
  start=$(date +%s%N)
  run --separate-stderr timeout 120 "$CDN" --config "$T/cdn.toml" sort -b 127.0.0.1:1 -o kafka:t \
    "$T/three.ndjson"
  ms=$(elapsed_since "$start")
  ((ms < 30000)) || fail "took ${ms} ms"
  assert_equal "$status" 3
  [[ "$stderr" == *"the brokers were unreachable for more than 1500 ms"* ]]
}

@test "a record over message.max.bytes is rejected and the rest delivered, exit 1" {
  start_broker --topic t:1
  big="{\"pad\":\"$(head -c 3000 /dev/zero | tr '\0' x)\"}"
  { head -n 2 "$T/three.ndjson"; echo "$big"; tail -n 1 "$T/three.ndjson"; } >"$T/big.ndjson"
  run --separate-stderr cdn produce -t t -X message.max.bytes=1000 --rejects "$T/rej.ndjson" \
    "$T/big.ndjson"
  assert_failure 1
  [[ "$stderr" == *"4 in, 3 out, 1 rejected in "*"3 delivered to 't'"* ]]
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_output --partial $'3\tnot produced: Broker: Message size too large'
  assert_equal "$(jq -r .record "$T/rej.ndjson")" "$big"
  assert_equal "$(consume t)" "$(cat "$T/three.ndjson")"
}

@test "gen, tag and produce make a pipeline" {
  start_broker --topic cdndata:8
  run bash -c "'$CDN' -q gen --rows 500 --seed 7 | '$CDN' -q tag | '$CDN' produce -t cdndata --key-field sampleID"
  assert_success
  assert_output --partial "500 in, 500 out, 0 rejected"
  assert_equal "$(consume cdndata | jq -r .sampleID | sort -n | uniq | wc -l)" 500
  assert_equal "$(consume cdndata -f '%k\n' | sort -n | tail -n 1)" 500
}

@test "kafka:TOPIC as the output of another command produces each line" {
  start_broker --topic sorted:1
  run cdn tag -q -o kafka:sorted "$T/three.ndjson"
  assert_success
  assert_equal "$(consume sorted | wc -l)" 3
  assert_equal "$(consume sorted | jq -r .sampleID | tr '\n' ' ')" "1 s-2 3 "
}

@test "kafka:TOPIC as the rejects sink of another command" {
  start_broker --topic rej:1
  printf '%s\n' '{"a":1}' '[1]' >"$T/bad.ndjson"
  run cdn tag -q --rejects kafka:rej "$T/bad.ndjson"
  assert_failure 1
  run consume rej
  assert_output --partial '"line":2,"reason":"not a JSON object but an array","record":"[1]"'
}

@test "a Kafka output that cannot be delivered is a runtime failure naming the topic" {
  run --separate-stderr cdn tag -q -b 127.0.0.1:1 -X message.timeout.ms=1000 -o kafka:x \
    "$T/three.ndjson"
  assert_failure 3
  [[ "$stderr" == *"3 of 3 messages to 'x' were not delivered"* ]]
}

@test "-z compresses message batches and kcat reads them back" {
  start_broker --topic t:1
  for codec in gzip snappy lz4 zstd; do
    run cdn produce -q -t t -z "$codec" "$T/three.ndjson"
    assert_success
  done
  assert_equal "$(consume t | wc -l)" 12
  run cdn produce -t t --compression brotli "$T/three.ndjson"
  assert_failure 2
}

@test "SIGTERM stops reading, flushes what was read and reports it" {
  start_broker --topic t:1
  mkfifo "$T/in"
  "$CDN" produce -t t "$T/in" 2>"$T/err" &
  pid=$!
  exec {w}>"$T/in"
  head -n 2 "$T/three.ndjson" >&"$w"
  for _ in $(seq 100); do
    [[ $(consume t | wc -l) -eq 2 ]] && break
    sleep 0.05
  done
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  exec {w}>&-
  assert_equal "$status" 143
  run cat "$T/err"
  assert_output --partial "2 in, 2 out, 0 rejected"
  assert_output --partial "2 delivered to 't' (interrupted by SIGTERM)"
}

@test "usage errors exit 2: no topic, a bad -X property, a bad header, a bad speed" {
  run cdn produce "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "missing --topic: Kafka topic to publish every record to"
  run cdn produce -t t -X no.such.property=1 "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "unknown Kafka property 'no.such.property' (-X)"
  run cdn produce -t t -X acks=1 "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "enable.idempotence"
  run cdn produce -t t --header nokey "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "bad --header 'nokey'; write --header key=value"
  run cdn produce -t t --replay fast "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "bad --replay speed 'fast'"
  run cdn produce -t t --rate 5 --replay 2 "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "--rate and --replay do not go together"
}

@test "-X overrides the idempotent defaults" {
  start_broker --topic t:1
  run cdn produce -q -t t -X enable.idempotence=false -X acks=1 "$T/three.ndjson"
  assert_success
  assert_equal "$(consume t | wc -l)" 3
}

@test "--help lists every option" {
  run cdn produce --help
  assert_success
  for opt in --topic --key-field --partition --header --time-field --compression --rate \
    --replay --rejects --brokers -X; do
    assert_output --partial -- "$opt"
  done
}

@test "brokers taken down mid-stream and brought back: every record delivered once" {
  start_broker --topic t:4
  for i in $(seq 1 300); do echo "{\"i\":$i}"; done >"$T/many.ndjson"
  "$CDN" produce -t t --key-field i --rate 200 "$T/many.ndjson" 2>"$T/err" &
  pid=$!
  sleep 0.5
  broker_ctl down all
  sleep 1
  broker_ctl up all
  status=0
  wait "$pid" || status=$?
  assert_equal "$status" 0
  run cat "$T/err"
  assert_output --partial "300 in, 300 out, 0 rejected"
  assert_output --partial "300 delivered to 't'"
  run bash -c "kcat -b '$CDN_BROKERS' -C -t t -e -q | jq -r .i | sort -n | uniq -c | awk '\$1 != 1' | wc -l"
  assert_output 0
  assert_equal "$(consume t | wc -l)" 300
}

@test "SIGINT while --replay waits stops at once and sends the records read, the waiting one too" {
  start_broker --topic t:1
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z"}' '{"timestamp":"2026-11-22T11:00:00Z"}' \
    >"$T/span.ndjson"
  "$CDN" produce -t t "$T/span.ndjson" --replay 2>"$T/err" &
  pid=$!
  # the first record sent: produce now waits an hour for the second, however slow its start
  deadline=$((SECONDS + 30))
  until (($(consume t | wc -l) >= 1)) || ((SECONDS > deadline)); do sleep 0.1; done
  start=$(date +%s)
  kill -INT "$pid"
  status=0
  wait "$pid" || status=$?
  assert_equal "$status" 130
  (($(date +%s) - start <= 2))
  run cat "$T/err"
  assert_output --partial "2 in, 2 out, 0 rejected"
  assert_output --partial "interrupted by SIGINT"
  assert_equal "$(consume t | wc -l)" 2
}

@test "options can come from the [produce] section of a config file" {
  start_broker --topic a:1 --topic b:1
  printf '[produce]\ntopic = ["a", "b"]\nkey-field = "sampleID"\n' >"$T/cdn.toml"
  run cdn --config "$T/cdn.toml" produce -q "$T/three.ndjson"
  assert_success
  assert_equal "$(consume b -f '%k\n' | tr '\n' ' ')" "1 s-2 3 "
}

@test "a message the broker refuses as too large in its delivery report goes to rejects" {
  start_broker --topic t:1
  broker_ctl error Produce MSG_SIZE_TOO_LARGE 1
  run --separate-stderr cdn produce -t t "$T/three.ndjson"
  assert_failure 1
  # The broker refuses a whole batch: every record in it is rejected, none is lost.
  [[ "$stderr" == *'"line":1,"reason":"not produced: Broker: Message size too large'* ]]
  [[ "$stderr" == *"3 in, 0 out, 3 rejected in "*"0 delivered to 't'"* ]]
  run cdn produce -q -t t "$T/three.ndjson"
  assert_success
  assert_equal "$(consume t)" "$(cat "$T/three.ndjson")"
}

@test "a message the broker fails for another reason is a runtime failure that says why" {
  start_broker --topic t:1
  broker_ctl error Produce INVALID_REQUIRED_ACKS 1
  run --separate-stderr cdn produce -t t "$T/three.ndjson"
  assert_failure 3
  [[ "$stderr" == *"3 of 3 messages were not delivered; 3 to 't' (Broker: Invalid required acks value); the brokers refused them"* ]]
}

@test "a signal while waiting for deliveries stops the wait and counts what was left" {
  "$CDN" produce -t t -b 127.0.0.1:1 --stats-interval 100 --stats-file "$T/stats" \
    "$T/three.ndjson" 2>"$T/err" &
  pid=$!
  # the signal comes once all three are queued, however slow the start
  deadline=$((SECONDS + 30))
  until [[ $(last_stat "$T/stats" .msg_cnt) == 3 ]] || ((SECONDS > deadline)); do sleep 0.1; done
  start=$(date +%s)
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  assert_equal "$status" 143
  (($(date +%s) - start <= 2))
  run cat "$T/err"
  assert_output --partial "3 of 3 messages were not delivered; 3 to 't' (still queued when a signal stopped the wait)"
  assert_output --partial "3 in, 0 out, 0 rejected, 3 not delivered in "
}

@test "--key-field takes numbers and booleans as written, unescapes strings, and follows dotted paths" {
  start_broker --topic t:1
  printf '%s\n' '{"id":1.50e+2 ,"x":1}' '{"id":true}' '{"id":"caf\u00e9"}' '{"id":{"deep":"d"}}' \
    '[1]' >"$T/odd.ndjson"
  run --separate-stderr cdn produce -t t --key-field id "$T/odd.ndjson"
  assert_failure 1
  [[ "$stderr" == *'"line":4,"reason":"the key field '\''id'\'' is an object; keys come from strings, numbers or booleans"'* ]]
  [[ "$stderr" == *'"line":5,"reason":"not a JSON object but an array"'* ]]
  run consume t -f '%k\n'
  assert_output $'1.50e+2\ntrue\ncafé'
  run cdn produce -q -t t --key-field id.deep "$T/odd.ndjson"
  assert_failure 1
  assert_equal "$(consume t -f '%k\n' | tail -n 1)" d
}

@test "--stats-interval writes librdkafka's statistics JSON to --stats-file, a line each" {
  start_broker --topic t:2
  cdn gen -q --rows 12 > "$T/rows.ndjson"
  run cdn produce -q -t t --rate 20 --stats-interval 100 --stats-file "$T/stats.ndjson" "$T/rows.ndjson"
  assert_success
  [ "$(wc -l < "$T/stats.ndjson")" -ge 3 ]
  run jq -r 'select(.type == "producer") | (.topics | has("t")) and (.brokers | length > 0)' "$T/stats.ndjson"
  assert_success
  assert_line --index 0 true
  run jq -s 'length' "$T/stats.ndjson"
  assert_success
}

@test "--stats-file without --stats-interval writes nothing, and a bad path is a usage error" {
  start_broker --topic t:1
  run cdn produce -q -t t --stats-file "$T/stats.ndjson" "$T/three.ndjson"
  assert_success
  [ ! -e "$T/stats.ndjson" ]
  run cdn produce -q -t t --stats-interval 100 --stats-file "$T/no/such/dir/s.ndjson" "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "cannot write --stats-file '$T/no/such/dir/s.ndjson': the directory '$T/no/such/dir' does not exist"
}

@test "records read from a Kafka group input keep their offsets when they are not delivered" {
  start_broker --topic in:1 --topic out:1
  kcat -P -b "$CDN_BROKERS" -t in <"$T/three.ndjson"
  group=(-G copy -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
  broker_ctl error Produce INVALID_REQUIRED_ACKS 1
  run timeout 60 "$CDN" produce -q -t out kafka:in -e "${group[@]}"
  assert_failure 3
  # Nothing was committed: the group reads the three records again, and now delivers them.
  run timeout 60 "$CDN" produce -q -t out kafka:in -e "${group[@]}"
  assert_success
  assert_equal "$(consume out | wc -l)" 3
}

@test "messages without a key spread evenly over the partitions however fast they come, for produce and every Kafka output; a key or -X partitioner still decides" {
  start_broker -t even:16 -t out:16 -t keyed:16 -t chosen:16
  cdn gen -q --rows 100000 >"$T/in.ndjson"
  # 100,000 records as fast as they are read: librdkafka's sticky choice put 15,750 in one
  # partition and 2,900 in another, enough for the broker to drop the oldest of the full one.
  cdn produce -q -t even "$T/in.ndjson"
  cdn validate -q -o kafka:out "$T/in.ndjson"
  for t in even out; do
    run bash -c "'$CDN' consume -q -t $t -e --envelope | jq -r .partition | sort | uniq -c | awk '{print \$1}' | sort -n"
    assert_equal "$(wc -l <<<"$output")" 16
    lowest=$(head -1 <<<"$output") highest=$(tail -1 <<<"$output")
    ((highest - lowest <= 256)) || fail "$t: partitions hold $lowest to $highest messages"
  done
  run broker_ctl dropped
  assert_output "ok 0"
  # A key still picks the partition: each key's records share one.
  cdn produce -q -t keyed --key-field pop "$T/in.ndjson"
  run bash -c "'$CDN' consume -q -t keyed -e --envelope | jq -r '\"\(.key) \(.partition)\"' | sort -u | cut -d' ' -f1 | uniq -d"
  assert_output ""
  # -X partitioner is the user's: "consistent" maps every message without a key to one
  # partition.
  head -n 1000 "$T/in.ndjson" | cdn produce -q -t chosen -X partitioner=consistent
  run bash -c "'$CDN' consume -q -t chosen -e --envelope | jq -r .partition | sort -u | wc -l"
  assert_output 1
}
