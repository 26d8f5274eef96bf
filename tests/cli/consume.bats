#!/usr/bin/env bats
# cdn consume and kafka:TOPIC inputs: read Kafka topics, checked against a local
# `cdn broker` on 127.0.0.1 and messages written by kcat.

# bats file_tags=kafka

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
  # The mock coordinator holds a rejoining group for a whole session timeout: keep it short.
  GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
}

teardown() {
  stop_broker
}

# kp TOPIC [KCAT-ARGS...]: stdin to TOPIC, one message a line, written by kcat.
kp() {
  local topic="$1"
  shift
  kcat -P -b "$CDN_BROKERS" -t "$topic" "$@"
}

# numbered N: N small JSON records {"n":1} .. {"n":N}.
numbered() {
  seq 1 "$1" | sed 's/.*/{"n":&}/'
}

@test "messages written by kcat -P are read back byte for byte" {
  start_broker --topic one:1
  cdn gen -q --rows 300 --seed 7 >"$T/in.ndjson"
  printf '%s\n' '{"s":"caf\u00e9 é \"q\" \\ tab\t"}' '  {"spaced" : [1, 2]}  ' >>"$T/in.ndjson"
  kp one <"$T/in.ndjson"
  run --separate-stderr cdn consume -t one -e -o "$T/out.ndjson"
  assert_success
  cmp "$T/in.ndjson" "$T/out.ndjson"
  [[ "$stderr" =~ ^"cdn consume: 302 in, 302 out, 0 rejected in "[0-9.]+" s"$ ]]
}

@test "every partition of a topic is read, and several topics at once" {
  start_broker --topic four:4 --topic other:2
  numbered 400 | awk '{print NR ":" $0}' | kp four -K:
  numbered 50 | sed 's/n/m/' | kp other
  run --separate-stderr cdn consume -t four kafka:other -e
  assert_success
  assert_equal "${#lines[@]}" 450
  assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c '"n"')" 400
  assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" 450
  run jq -r '.n // empty' <<<"$output"
  assert_equal "$(sort -n <<<"$output")" "$(seq 1 400)"
}

@test "--envelope carries topic, partition, offset, timestamp, key, headers and payload" {
  start_broker --topic one:1
  printf '%s\n' 'k1:{"a":1}' 'k2:not json' 'k3:' | kp one -K: -H source=gen -H run=7
  run --separate-stderr cdn consume -t one -e --envelope
  assert_success
  assert_equal "${#lines[@]}" 3
  run jq -c '[.topic, .partition, .offset, .key, .headers, .payload]' <<<"$output"
  assert_line --index 0 '["one",0,0,"k1",{"source":"gen","run":"7"},{"a":1}]'
  assert_line --index 1 '["one",0,1,"k2",{"source":"gen","run":"7"},"not json"]'
  assert_line --index 2 '["one",0,2,"k3",{"source":"gen","run":"7"},""]'
  now=$(date +%s%3N)
  ts=$(cdn consume -q -t one -e --envelope -c 1 | jq .timestamp)
  ((ts > now - 60000 && ts <= now))
}

@test "--envelope writes keys, header values and payloads that are not UTF-8 in base64, marked" {
  start_broker --topic one:1
  printf 'k\xff1:ab\xffcd\n' | kp one -K: -H "$(printf 'h=v\xfe')" -H plain=ok
  printf 'k2:{"a":"\xc3\xa9"}\n' | kp one -K:
  printf 'ab\xffcd\n' | cdn produce -q -t one
  run --separate-stderr cdn consume -t one -e --envelope
  assert_success
  assert_equal "${#lines[@]}" 3
  printf '%s\n' "${lines[@]}" >"$T/env.ndjson"
  run python3 - "$T/env.ndjson" <<'PY'
import base64, json, sys
def back(obj, field, enc):
    v = obj[field]
    if v is None: return None
    return base64.b64decode(v) if enc == "base64" else v.encode()
for raw in open(sys.argv[1], "rb"):
    m = json.loads(raw.decode("utf-8"))  # strict: the line is UTF-8 and JSON
    key = back(m, "key", m.get("key_encoding"))
    enc = m.get("headers_encoding", {})
    hdrs = {k: (base64.b64decode(v) if enc.get(k) == "base64" else v.encode())
            for k, v in m["headers"].items()}
    p = m["payload"]
    if m.get("payload_encoding") == "base64": p = base64.b64decode(p)
    elif not isinstance(p, str): p = json.dumps(p, ensure_ascii=False, separators=(",", ":")).encode()
    else: p = p.encode()
    print(repr(key), repr(sorted(hdrs.items())), repr(p))
PY
  assert_success
  assert_line --index 0 "b'k\\xff1' [('h', b'v\\xfe'), ('plain', b'ok')] b'ab\\xffcd'"
  assert_line --index 1 "b'k2' [] b'{\"a\":\"\\xc3\\xa9\"}'"
  assert_line --index 2 "None [] b'ab\\xffcd'"
  # the markers are there only for what is encoded
  run jq -c '[.key_encoding, .headers_encoding, .payload_encoding]' "$T/env.ndjson"
  assert_line --index 0 '["base64",{"h":"base64"},"base64"]'
  assert_line --index 1 '[null,null,null]'
  assert_line --index 2 '[null,null,"base64"]'
}

@test "without --envelope a payload that is not UTF-8 is written byte for byte, as any payload" {
  start_broker --topic one:1
  printf 'ab\xffcd\n' | cdn produce -q -t one
  cdn consume -q -t one -e >"$T/out"
  cmp "$T/out" <(printf 'ab\xffcd\n')
}

@test "--envelope makes a multi-line JSON payload one line; a keyless message has key null" {
  start_broker --topic one:1
  printf '{\n  "a": [1,\n 2]\n}' >"$T/pretty.json"
  kcat -P -b "$CDN_BROKERS" -t one "$T/pretty.json"
  run cdn consume -q -t one -e --envelope
  assert_success
  assert_equal "${#lines[@]}" 1
  assert_equal "$(jq -c '[.key, .payload]' <<<"$output")" '[null,{"a":[1,2]}]'
}

@test "a payload that spans lines or a tombstone is rejected with its partition and offset" {
  start_broker --topic one:1
  echo '{"ok":1}' | kp one
  printf '{"a":\n1}' >"$T/two-lines"
  kcat -P -b "$CDN_BROKERS" -t one "$T/two-lines"
  printf 'k:\n' | kp one -K: -Z
  run --separate-stderr cdn consume -t one -e
  assert_failure 1
  assert_output '{"ok":1}'
  [[ "$stderr" == *'"source":"kafka:one/0","line":1,"reason":"the payload spans several lines'* ]]
  [[ "$stderr" == *'"source":"kafka:one/0","line":2,"reason":"no payload (a tombstone)'* ]]
  [[ "$stderr" == *"cdn consume: 3 in, 1 out, 2 rejected in "* ]]
  run cdn consume -q -t one -e --envelope --offset 2
  assert_success
  assert_equal "$(jq -c '[.key, .payload]' <<<"$output")" '["k",null]'
}

@test "-c N stops after N messages" {
  start_broker --topic one:1
  numbered 20 | kp one
  run --separate-stderr cdn consume -t one -c 5
  assert_success
  assert_equal "$output" "$(numbered 5)"
  [[ "$stderr" == "cdn consume: 5 in, 5 out, 0 rejected in "* ]]
}

@test "--offset starts at the end, at an offset, or N before the end" {
  start_broker --topic one:1
  numbered 13 | kp one
  run cdn consume -q -t one -e --offset end
  assert_success
  assert_output ""
  run cdn consume -q -t one -e --offset 7
  assert_success
  assert_output "$(numbered 13 | tail -n 6)"
  run cdn consume -q -t one -e --offset -2
  assert_success
  assert_output "$(numbered 13 | tail -n 2)"
}

# The mock cluster answers every lookup by time with "no such message" (kcat -Q gets -1
# too), so through `cdn broker` s@ can only be checked to agree with kcat -o s@.
@test "--offset s@EPOCH_MS starts where the broker says that time is, as kcat -o s@ does" {
  start_broker --topic one:1
  numbered 10 | kp one
  t=$(date +%s%3N)
  want="$(kcat -C -b "$CDN_BROKERS" -t one -p 0 -o "s@$t" -e -q)"
  run --separate-stderr cdn consume -t one -e --offset "s@$t"
  assert_success
  assert_equal "$output" "$want"
  run cdn consume -q -t one -e --offset "s@$((t + 3600000))"
  assert_success
  assert_output ""
}

@test "--offset end without -e reads only what arrives after the start" {
  start_broker --topic one:1
  numbered 5 | kp one
  cdn consume -q -t one --offset end -c 2 -o "$T/out" &
  pid=$!
  # one late record at a time until two were read: whenever the consumer found the end,
  # it reads late records only, never the five before its start
  deadline=$((SECONDS + 60))
  while pid_alive "$pid" && ((SECONDS <= deadline)); do
    printf '%s\n' '{"late":1}' | kp one
    sleep 0.5
  done
  wait "$pid"
  assert_equal "$(cat "$T/out")" "$(printf '%s\n' '{"late":1}' '{"late":1}')"
}

@test "a live stream is written as it arrives, not held in a buffer" {
  start_broker --topic one:1
  "$CDN" consume -q -t one >"$T/out" 2>"$T/err" &
  pid=$!
  numbered 3 | kp one
  wait_lines "$T/out" 3 30 "$pid"
  numbered 5 | tail -n 2 | kp one
  wait_lines "$T/out" 5 30 "$pid"
  kill -TERM "$pid"
  local st=0
  wait "$pid" || st=$?
  assert_equal "$st" 143 # stopped by SIGTERM: 128 + 15
  assert_equal "$(cat "$T/out")" "$(numbered 5)"
}

@test "in a group, offsets of lines written to stdout are committed while the stream runs" {
  start_broker --topic four:4
  numbered 40 | awk '{print NR ":" $0}' | kp four -K:
  "$CDN" consume -q -t four -G live "${GROUP_X[@]}" --stats-interval 100 \
    --stats-file "$T/stats" >"$T/out" 2>"$T/err" &
  pid=$!
  wait_lines "$T/out" 40 30 "$pid"
  # killed once the consumer reports the four partitions committed to their end (40 records)
  deadline=$((SECONDS + 30))
  until [[ $(partitions_sum "$T/stats" four committed_offset) == 40 ]] || ((SECONDS > deadline)); do
    sleep 0.2
  done
  kill -KILL "$pid"
  wait "$pid" || true
  run timeout 60 "$CDN" consume -q -t four -G live -e "${GROUP_X[@]}"
  assert_success
  assert_output ""
}

@test "-e in a group stops once the assigned partitions are read to their end" {
  start_broker --topic four:4
  numbered 100 | awk '{print NR ":" $0}' | kp four -K:
  run --separate-stderr timeout 60 "$CDN" consume -t four -G g1 -e "${GROUP_X[@]}"
  assert_success
  assert_equal "${#lines[@]}" 100
  assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" 100
}

@test "a second consume in the same group continues where the first stopped" {
  start_broker --topic four:4
  numbered 200 | awk '{print NR ":" $0}' | kp four -K:
  run timeout 60 "$CDN" consume -q -t four -G g2 -e -c 70 "${GROUP_X[@]}" -o "$T/first"
  assert_success
  assert_equal "$(wc -l <"$T/first")" 70
  numbered 250 | tail -n 50 | awk '{print NR ":" $0}' | kp four -K:
  run timeout 60 "$CDN" consume -q -t four -G g2 -e "${GROUP_X[@]}" -o "$T/second"
  assert_success
  assert_equal "$(wc -l <"$T/second")" 180
  assert_equal "$(cat "$T/first" "$T/second" | jq .n | sort -n)" "$(seq 1 250)"
  run timeout 60 "$CDN" consume -q -t four -G g2 -e "${GROUP_X[@]}"
  assert_success
  assert_output ""
}

@test "--offset in a group says where partitions without a committed offset start" {
  start_broker --topic one:1
  numbered 5 | kp one
  run timeout 60 "$CDN" consume -q -t one -G g3 -e --offset end "${GROUP_X[@]}"
  assert_success
  assert_output ""
}

@test "kafka:TOPIC is an input of other commands, and its rejects name partition and offset" {
  start_broker --topic one:1
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:02.000Z","i":1}' 'not json' \
    '{"timestamp":"2026-11-22T10:00:00.000Z","i":2}' \
    '{"timestamp":"2026-11-22T10:00:01.000Z","i":3}' | kp one
  run --separate-stderr cdn sort kafka:one -e
  assert_failure 1
  assert_equal "$(jq -c .i <<<"$output" | tr '\n' ' ')" "2 3 1 "
  [[ "$stderr" == *'"source":"kafka:one/0","line":1,"reason":"invalid JSON'* ]]
  [[ "$stderr" == *"cdn sort: 4 in, 3 out, 1 rejected in "* ]]
  run cdn tag -q kafka:one -e --offset 2
  assert_success
  assert_line --index 0 '{"timestamp":"2026-11-22T10:00:00.000Z","i":2,"sampleID":1}'
  assert_equal "${#lines[@]}" 2
}

@test "several kafka:TOPIC inputs of a command are read together, in a group too" {
  start_broker --topic a:2 --topic b:2
  numbered 30 | awk '{print NR ":" $0}' | kp a -K:
  numbered 50 | tail -n 20 | awk '{print NR ":" $0}' | kp b -K:
  run --separate-stderr cdn tag kafka:a kafka:b -e
  assert_success
  assert_equal "$(jq .n <<<"$output" | sort -n)" "$(seq 1 50)"
  run timeout 60 "$CDN" tag -q kafka:a kafka:b -e -G both "${GROUP_X[@]}"
  assert_success
  assert_equal "${#lines[@]}" 50
}

@test "-o kafka:TOPIC copies one topic to another" {
  start_broker --topic one:1 --topic copy:1
  numbered 100 | kp one
  run cdn consume -q -t one -e -o kafka:copy
  assert_success
  run cdn consume -q -t copy -e
  assert_success
  assert_output "$(numbered 100)"
}

@test "no broker at the start is a runtime failure within --timeout, with the reason" {
  start=$SECONDS
  run --separate-stderr cdn consume -b 127.0.0.1:1 -t one -e --timeout 2000
  assert_failure 3
  ((SECONDS - start <= 5))
  [[ "$stderr" == "cdn consume: cannot reach the Kafka brokers '127.0.0.1:1' within 2000 ms"* ]]
  [[ "$stderr" == *"Connection refused"* ]]
  [[ "$stderr" == *"check -b/--brokers"* ]]
}

@test "a topic the brokers do not have is a runtime failure that names it" {
  start_broker
  broker_ctl topic-error gone UNKNOWN_TOPIC_OR_PART
  run --separate-stderr cdn consume -t gone -e --timeout 3000
  assert_failure 3
  [[ "$stderr" == "cdn consume: cannot read topic 'gone' on '$CDN_BROKERS': "* ]]
  [[ "$stderr" == *"check the topic name or create the topic" ]]
}

@test "a broker taken down mid-stream and brought back loses and repeats nothing" {
  start_broker --topic four:4
  numbered 300 | awk '{print NR ":" $0}' | kp four -K:
  timeout 60 "$CDN" consume -q -t four -c 600 -o "$T/out" 2>"$T/err" &
  pid=$!
  sleep 1
  broker_ctl down all
  sleep 3
  broker_ctl up all
  numbered 600 | tail -n 300 | awk '{print NR ":" $0}' | kp four -K:
  wait "$pid"
  assert_equal "$(jq .n "$T/out" | sort -n)" "$(seq 1 600)"
}

@test "brokers down for longer than --timeout fail the run with exit 3" {
  start_broker --topic one:1
  numbered 5 | kp one
  timeout 60 "$CDN" consume -t one --timeout 1500 >"$T/out" 2>"$T/err" &
  pid=$!
  wait_lines "$T/out" 5 30 "$pid"
  broker_ctl down all
  start=$SECONDS
  status=0
  wait "$pid" || status=$?
  assert_equal "$status" 3
  ((SECONDS - start <= 10))
  grep -q "unreachable for more than 1500 ms" "$T/err"
}

@test "SIGINT stops consuming, keeps what was read and exits 130" {
  start_broker --topic one:1
  numbered 5 | kp one
  "$CDN" consume -t one >"$T/out" 2>"$T/err" &
  pid=$!
  wait_lines "$T/out" 5 30 "$pid"
  kill -INT "$pid"
  status=0
  wait "$pid" || status=$?
  assert_equal "$status" 130
  assert_equal "$(cat "$T/out")" "$(numbered 5)"
  grep -q "5 in, 5 out, 0 rejected .*(interrupted by SIGINT)" "$T/err"
}

@test "bad offsets, options and topics are usage errors that say what to change" {
  run cdn consume -t one --offset yesterday
  assert_failure 2
  assert_output --partial "bad --offset 'yesterday'"
  run cdn consume -t one -G g --offset 5
  assert_failure 2
  assert_output --partial "use beginning, end or stored with -G"
  run cdn consume -t one --offset stored
  assert_failure 2
  assert_output --partial "name the group with -G"
  run cdn consume
  assert_failure 2
  assert_output --partial "no topic to consume"
  run cdn consume one
  assert_failure 2
  assert_output --partial "name topics with -t TOPIC or kafka:TOPIC"
  run cdn consume -t one -X no.such.property=1
  assert_failure 2
  assert_output --partial "unknown Kafka property 'no.such.property'"
}

@test "options can come from the [consume] section of a config file" {
  start_broker --topic one:1
  printf '%s\n' 'k:{"a":1}' | kp one -K:
  printf '[consume]\ntopic = ["one"]\nenvelope = true\nexit-at-end = true\ntimeout = 3000\n' >"$T/cdn.toml"
  run cdn --config "$T/cdn.toml" consume -q
  assert_success
  assert_equal "$(jq -c '[.key, .payload]' <<<"$output")" '["k",{"a":1}]'
}

@test "--help lists every option" {
  run cdn consume --help
  assert_success
  for opt in --topic --envelope --count --timeout --output --rejects --brokers --group \
    --offset --exit-at-end; do
    assert_output --partial "$opt"
  done
}

@test "a kafka:TOPIC input of another command in a group commits only after the output is written" {
  start_broker --topic one:2
  numbered 40 | kp one
  # The first run cannot write its output (its directory does not exist, a usage error said
  # before reading): nothing may be committed.
  run timeout 60 "$CDN" tag -q kafka:one -G gt -e "${GROUP_X[@]}" -o "$T/no-such-dir/out"
  assert_failure 2
  run timeout 60 "$CDN" tag -q kafka:one -G gt -e "${GROUP_X[@]}" -o "$T/first"
  assert_success
  assert_equal "$(wc -l <"$T/first")" 40
  # Committed after the output: a second run of the group has nothing left to read.
  numbered 45 | tail -n 5 | kp one
  run timeout 60 "$CDN" tag -q kafka:one -G gt -e "${GROUP_X[@]}" -o "$T/second"
  assert_success
  assert_equal "$(jq -c .n "$T/second" | sort -n | tr '\n' ' ')" "41 42 43 44 45 "
}

@test "--timeout bounds the wait for unreachable brokers of a kafka:TOPIC input of any command" {
  start=$SECONDS
  run --separate-stderr cdn sort -b 127.0.0.1:1 kafka:one -e --timeout 1500
  assert_failure 3
  ((SECONDS - start <= 4))
  [[ "$stderr" == "cdn sort: cannot reach the Kafka brokers '127.0.0.1:1' within 1500 ms"* ]]
}

@test "-v says the steps: brokers reached, partitions assigned, files written, offsets committed; -vv the detail" {
  start_broker --topic four:4
  numbered 40 | awk '{print NR ":" $0}' | kp four -K:
  run --separate-stderr timeout 60 "$CDN" -v consume -t four -G steps -e "${GROUP_X[@]}" -o "$T/out.ndjson"
  assert_success
  assert_equal "$(wc -l <"$T/out.ndjson")" 40
  [[ $stderr == *"cdn consume: writing records to '$T/out.ndjson' (in place once the run succeeds)"* ]] || fail "$stderr"
  [[ $stderr == *"cdn consume: connected to the Kafka brokers '$CDN_BROKERS': topic 'four' has 4 partitions"* ]] || fail "$stderr"
  [[ $stderr == *"cdn consume: joining group 'steps'"* ]] || fail "$stderr"
  [[ $stderr == *"cdn consume: assigned 4 partitions in group 'steps'"* ]] || fail "$stderr"
  [[ $stderr =~ "cdn consume: committed offsets in group 'steps' "[1-9][0-9]*" times" ]] || fail "$stderr"
  # no detail at -v: librdkafka's own lines and each commit are -vv's
  [[ $stderr != *"librdkafka "* && $stderr != *"committed the offsets of "* ]] || fail "$stderr"
  # without a group, the partitions taken and where from
  run --separate-stderr timeout 60 "$CDN" -v consume -t four -e
  assert_success
  [[ $stderr == *"assigned 4 partitions (no group, from --offset beginning)"* ]] || fail "$stderr"
  # -vv adds the detail
  run --separate-stderr timeout 60 "$CDN" -vv consume -t four -G steps2 -e "${GROUP_X[@]}"
  assert_success
  [[ $stderr == *"committed the offsets of "*" partitions in group 'steps2'"* ]] || fail "$stderr"
  # and without -v none of it
  run --separate-stderr timeout 60 "$CDN" consume -t four -e
  [[ $stderr != *"assigned"* && $stderr != *"connected"* ]] || fail "$stderr"
}

# big_topic: topic big (one partition) with 100 small records, then 8,192 of 1 KB, so that
# the mock (about 5 MiB a partition) drops the oldest; sets DROPPED to how many it dropped.
big_topic() {
  start_broker --broker-count 1 -t big:1
  numbered 100 | kp big
  python3 -c 'import json
for i in range(8192): print(json.dumps({"n": 100 + i, "pad": "x" * 1000}))' >"$T/8mib.ndjson"
  "$@"
  cdn produce -q -t big "$T/8mib.ndjson"
  local answer
  answer=$(broker_ctl dropped)
  [[ $answer =~ ^ok\ ([0-9]+)\ big/0=([0-9]+)$ ]]
  DROPPED=${BASH_REMATCH[1]}
  ((DROPPED > 100))
}

@test "a group whose next offset the broker dropped says how many records it lost, and fails" {
  # the group reads the first 100 and commits; the broker then drops past its offset
  big_topic eval 'assert_equal "$(cdn consume -q -t big -G lag "${GROUP_X[@]}" -e | wc -l)" 100'
  run --separate-stderr cdn consume -t big -G lag "${GROUP_X[@]}" -e -o "$T/out.ndjson"
  assert_failure 3
  local lost=$((DROPPED - 100))
  [[ $stderr == *"lost $lost records of 'big/0': offsets 100 to $((DROPPED - 1)) were dropped by the broker before they were read"* ]]
  [[ $stderr == *"$lost lost before they were read"* ]]
  # what was read and what was said lost make up what the topic took after the commit
  assert_equal "$(wc -l <"$T/out.ndjson")" $((8292 - DROPPED))
  assert_equal "$(head -1 "$T/out.ndjson" | jq -c .n)" "$DROPPED"
}

@test "every Kafka reader says what an --offset the broker no longer holds lost (consume, tag)" {
  big_topic true
  run --separate-stderr cdn consume -t big --offset 40 -e -o "$T/out.ndjson"
  assert_failure 3
  [[ $stderr == *"lost $((DROPPED - 40)) records of 'big/0': offsets 40 to $((DROPPED - 1))"* ]]
  assert_equal "$(wc -l <"$T/out.ndjson")" $((8292 - DROPPED))
  run --separate-stderr cdn tag --offset 7 -e -o "$T/tagged.ndjson" kafka:big
  assert_failure 3
  [[ $stderr == *"lost $((DROPPED - 7)) records of 'big/0': offsets 7 to $((DROPPED - 1))"* ]]
  assert_equal "$(wc -l <"$T/tagged.ndjson")" $((8292 - DROPPED))
  # read from the beginning (the first offset held), nothing is said lost
  run --separate-stderr cdn consume -t big -e -o "$T/all.ndjson"
  assert_success
  [[ $stderr != *lost* ]]
  # a service counts the loss on /metrics
  cdn consume -t big --offset 3 -o /dev/null --metrics-addr 127.0.0.1:0 2>"$T/err" &
  local pid=$!
  wait_for "$T/err" "lost $((DROPPED - 3)) records"
  wait_for "$T/err" "serving /metrics"
  local addr
  addr=$(sed -n 's/.*serving \/metrics, \/healthz and \/readyz on //p' "$T/err")
  run curl -s -m 10 "http://$addr/metrics"
  kill "$pid"
  wait "$pid" || true
  [[ $output == *'cdn_kafka_consumer_lost_messages_total{topic="big",partition="0"} '$((DROPPED - 3))* ]]
}

@test "a group started with --offset end that falls behind the broker's retention reads on from the first offset held, not the end" {
  big_topic eval 'assert_equal "$(cdn consume -q -t big -G behind "${GROUP_X[@]}" -e | wc -l)" 100'
  # its commit (100) is gone: only what was dropped is lost, what is still held is read
  run --separate-stderr cdn consume -t big -G behind --offset end "${GROUP_X[@]}" -e -o "$T/out.ndjson"
  assert_failure 3
  [[ $stderr == *"lost $((DROPPED - 100)) records of 'big/0': offsets 100 to $((DROPPED - 1))"* ]]
  assert_equal "$(wc -l <"$T/out.ndjson")" $((8292 - DROPPED))
  # a new group with --offset end still starts at the end
  run --separate-stderr cdn consume -t big -G fresh --offset end "${GROUP_X[@]}" -e -o "$T/fresh.ndjson"
  assert_success
  assert_equal "$(wc -l <"$T/fresh.ndjson")" 0
}

# bats test_tags=xgboost
@test "kafka:TOPIC as any command's input: a message is one record, a pretty-printed one one line out, a tombstone rejected with its key" {
  start_broker -t msgs:1
  cdn gen -q --rows 3 --seed 9 --no-label | cdn tag -q >"$T/three.ndjson"
  # message 0: a record pretty-printed over 19 lines (one file, one message); 1: a tombstone
  # with key k1; 2: a record on one line; 3: a tombstone without a key
  head -n 1 "$T/three.ndjson" | jq . >"$T/pretty.json"
  [[ $(wc -l <"$T/pretty.json") -gt 10 ]]
  kp msgs -p 0 "$T/pretty.json"
  printf 'k1:\n' | kp msgs -p 0 -K: -Z
  sed -n 2p "$T/three.ndjson" | kp msgs -p 0
  printf ':\n' | kp msgs -p 0 -K: -Z
  cdn gen -q --rows 2000 --seed 1 -f csv -o "$T/train.csv"
  cdn train -q --rounds 3 "$T/train.csv" -o "$T/m"
  local c want k=0
  for c in validate tag sort "predict -m $T/m" "load-influx --dry-run --time-field ''"; do
    # rejects to a topic, where each keeps its message's key
    k=$((k + 1))
    run --separate-stderr bash -c "'$CDN' $c kafka:msgs -e --rejects kafka:rej$k"
    assert_failure 1
    [[ $stderr == *"4 in, 2 out, 2 rejected"* ]] || fail "$c: $stderr"
    # two records, two lines: the pretty-printed one as one line with the same JSON
    assert_equal "${#lines[@]}" 2
    if [[ $c != predict* && $c != load-influx* ]]; then
      want=$(jq -c . "$T/pretty.json")
      assert_equal "$(jq -c . <<<"${lines[0]}")" "$want"
    fi
    "$CDN" consume -q -t "rej$k" -e --envelope >"$T/rej.ndjson"
    assert_equal "$(jq -sc 'map([.payload.line, .key, .payload.record]) | sort' "$T/rej.ndjson")" '[[1,"k1",""],[3,null,""]]'
    assert_equal "$(jq -r .payload.reason "$T/rej.ndjson" | sort -u)" \
      "no payload (a tombstone): a message holds no record; leave tombstones out of the topic, or read it with cdn consume --envelope"
  done
}
