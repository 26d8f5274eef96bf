#!/usr/bin/env bats
# cdn topics: a cluster's topics with partitions, leaders and watermarks, and a consumer
# group's committed offsets and lag, checked against a local `cdn broker` on 127.0.0.1 with
# messages written to known partitions by kcat.

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

# fill TOPIC PARTITION N: N messages {"n":1}.. into one partition of TOPIC, written by kcat.
fill() {
  seq 1 "$3" | sed 's/.*/{"n":&}/' | kcat -P -b "$CDN_BROKERS" -t "$1" -p "$2"
}

# columns N...: the columns N... of the table in $output, without its header.
columns() {
  local spec
  spec=$(printf '$%s" "' "$@")
  awk "NR > 1 { print ${spec%'" "'} }" <<<"$output"
}

@test "the table shows every topic's partitions in order, each with a leader, replicas and its watermarks" {
  start_broker --topic beta:3 --topic alpha:1
  fill beta 0 5
  fill beta 2 7
  fill alpha 0 2
  run --separate-stderr cdn topics
  assert_success
  assert_line --index 0 --regexp '^TOPIC +PARTITION +LEADER +REPLICAS +ISR +LOW +HIGH$'
  assert_equal "${#lines[@]}" 5
  # topic, partition, low, high
  assert_equal "$(columns 1 2 6 7)" "$(printf '%s\n' 'alpha 0 0 2' 'beta 0 0 5' 'beta 1 0 0' 'beta 2 0 7')"
  # a leader among the replicas, three of them (the mock's replication), all in sync
  run awk 'NR > 1 && !($3 ~ /^[1-3]$/ && $4 ~ /^[1-3],[1-3],[1-3]$/ && $4 == $5 && index($4, $3))' <<<"$output"
  assert_output ''
  [[ $stderr == "cdn topics: 2 topics, 4 partitions" ]] || fail "stderr: $stderr"
}

@test "topics named on the command line are the only ones shown, kafka:TOPIC and -t alike" {
  start_broker --topic one:2 --topic two:1 --topic three:1
  fill two 0 3
  run --separate-stderr cdn topics two kafka:one
  assert_success
  assert_equal "$(columns 1 2 7)" "$(printf '%s\n' 'one 0 0' 'one 1 0' 'two 0 3')"
  run --separate-stderr cdn topics -t three
  assert_success
  assert_equal "$(columns 1 2)" 'three 0'
}

@test "--json writes one object a line per partition with the same numbers" {
  start_broker --topic beta:2
  fill beta 1 4
  run --separate-stderr cdn topics --json
  assert_success
  assert_equal "${#lines[@]}" 2
  run jq -c '[.topic, .partition, .low, .high, (.leader | type), (.replicas | length), (.isr == .replicas)]' <<<"$output"
  assert_output "$(printf '%s\n' '["beta",0,0,0,"number",3,true]' '["beta",1,0,4,"number",3,true]')"
}

@test "Kafka's internal topics are left out unless named, and the summary says so" {
  start_broker --topic data:1 --topic __consumer_offsets:2
  run --separate-stderr cdn topics
  assert_success
  assert_equal "$(columns 1)" data
  [[ $stderr == "cdn topics: 1 topic, 1 partition (1 internal not shown; name one to see it)" ]] ||
    fail "stderr: $stderr"
  run --separate-stderr cdn topics __consumer_offsets
  assert_equal "$(columns 1 2)" "$(printf '%s\n' '__consumer_offsets 0' '__consumer_offsets 1')"
}

@test "-G shows the offsets a group committed and the lag it has left" {
  start_broker --topic one:1 --topic three:3 --topic other:1
  fill one 0 10
  fill three 0 4
  fill three 1 5
  fill three 2 6
  fill other 0 1
  # The group reads 4 of one's 10 messages, and the whole of three.
  run --separate-stderr cdn consume -G g "${GROUP_X[@]}" -t one -c 4
  assert_success
  run --separate-stderr cdn consume -G g "${GROUP_X[@]}" -t three -e
  assert_success
  fill three 1 2 # two more since

  run --separate-stderr cdn topics -G g
  assert_success
  assert_line --index 0 --regexp '^TOPIC +PARTITION +LEADER +REPLICAS +ISR +LOW +HIGH +COMMITTED +LAG$'
  # topic, partition, high, committed, lag; `other`, where g committed nothing, is not shown
  assert_equal "$(columns 1 2 7 8 9)" \
    "$(printf '%s\n' 'one 0 10 4 6' 'three 0 4 4 0' 'three 1 7 5 2' 'three 2 6 6 0')"

  run --separate-stderr cdn topics -G g --json one
  assert_success
  run jq -c '[.topic, .partition, .group, .committed, .lag]' <<<"$output"
  assert_output '["one",0,"g",4,6]'
}

@test "-G with a topic the group has not read shows no committed offset and no lag there" {
  start_broker --topic one:1 --topic other:2
  fill one 0 3
  fill other 0 2
  run --separate-stderr cdn consume -G g "${GROUP_X[@]}" -t one -e
  assert_success
  run --separate-stderr cdn topics -G g one other
  assert_success
  assert_equal "$(columns 1 2 7 8 9)" "$(printf '%s\n' 'one 0 3 3 0' 'other 0 2 - -' 'other 1 0 - -')"
  run --separate-stderr cdn topics -G g --json one other
  assert_success
  run jq -c '[.topic, .partition, .committed, .lag]' <<<"$output"
  assert_output "$(printf '%s\n' '["one",0,3,0]' '["other",0,null,null]' '["other",1,null,null]')"
}

@test "a topic the cluster does not have is an error naming it and the nearest one" {
  start_broker --topic cdndata:1
  run --separate-stderr cdn topics cdndat
  assert_failure 3
  assert_output ''
  [[ $stderr == "cdn topics: no topic 'cdndat' on '$CDN_BROKERS' (did you mean 'cdndata'?); check the topic name, or run 'cdn topics' for the topics there" ]] ||
    fail "stderr: $stderr"
}

@test "a group with no committed offset is an error that says so" {
  start_broker --topic cdndata:2
  fill cdndata 0 3
  run --separate-stderr cdn topics -G nobody
  assert_failure 3
  assert_output ''
  [[ $stderr == "cdn topics: group 'nobody' has no committed offset on any topic of '$CDN_BROKERS'; check the group name"* ]] ||
    fail "stderr: $stderr"
  run --separate-stderr cdn topics -G nobody cdndata
  assert_failure 3
  [[ $stderr == "cdn topics: group 'nobody' has no committed offset on 'cdndata'; check the group name"* ]] ||
    fail "stderr: $stderr"
}

@test "brokers that cannot be reached fail the command within --timeout" {
  local start ms
  start=$(date +%s%N)
  run --separate-stderr timeout 60 "$CDN" topics -b 127.0.0.1:1 --timeout 2000
  ms=$(elapsed_since "$start")
  assert_failure 3
  assert_output ''
  ((ms < 15000)) || fail "took ${ms} ms with --timeout 2000"
  [[ $stderr == "cdn topics: cannot reach the Kafka brokers '127.0.0.1:1' within 2000 ms: "*"; check -b/--brokers (or CDN_BROKERS) and that the brokers run, or raise --timeout" ]] ||
    fail "stderr: $stderr"
  # the same with -G: the group is not waited for either
  run --separate-stderr timeout 60 "$CDN" topics -G g -b 127.0.0.1:1 --timeout 2000
  assert_failure 3
}

@test "a partition whose leader is down shows no watermarks; the others are shown and the command fails within --timeout" {
  local leader first start ms
  start_broker --topic t:3
  fill t 0 5
  fill t 1 2
  fill t 2 4
  run --separate-stderr cdn topics --json t
  assert_success
  leader=$(jq -r 'select(.partition == 1) | .leader' <<<"$output")
  # the mock places leaders at random: the first partition this broker leads may be 0
  first=$(jq -r "select(.leader == $leader) | .partition" <<<"$output" | head -1)
  broker_ctl down "$leader"
  start=$(date +%s%N)
  run --separate-stderr timeout 60 "$CDN" topics --timeout 2000 t
  ms=$(elapsed_since "$start")
  assert_failure 3
  ((ms < 15000)) || fail "took ${ms} ms with --timeout 2000"
  # partition 1 unknown; the others led by another broker as they were
  run awk -v l="$leader" 'NR > 1 { print $2, ($3 == l ? "down" : "up"), $6, $7 }' <<<"$output"
  [[ ${lines[1]} == "1 down - -" ]] || fail "$output"
  [[ $stderr == *"cdn topics: cannot read the watermarks of "*" of 3 partitions (shown as '-'), first 't/$first': leader $leader did not answer: "*"; check that their leaders run, or raise --timeout" ]] ||
    fail "stderr: $stderr"
  run --separate-stderr timeout 60 "$CDN" topics --timeout 2000 --json t
  assert_failure 3
  run jq -c 'select(.partition == 1) | [.low, .high, (.error | startswith("leader '"$leader"' did not answer"))]' <<<"$output"
  assert_output '[null,null,true]'
}
