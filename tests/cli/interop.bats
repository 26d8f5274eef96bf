#!/usr/bin/env bats
# cdn broker, cdn produce and cdn consume against an independent Kafka client: kafkajs (pure
# JavaScript, no librdkafka), driven by tests/interop/kjs.js. Records cross both ways with
# their keys, headers and timestamps; consumer groups, transactions (fencing, interleaved and
# timed-out aborts) and the admin client's offsets behave as a Kafka broker's.

# bats file_tags=kafka

load test_helper
load broker_helper

teardown() {
  stop_broker || true
}

# kjs ARGS...: tests/interop/kjs.js. kafkajs is installed from the pinned
# tests/interop/package-lock.json into tests/interop/node_modules (gitignored) when it is
# missing, or the lock file changed since.
kjs() {
  local dir="$REPO_ROOT/tests/interop"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.cdn-installed"; then
    local log="$BATS_TEST_TMPDIR/npm.log"
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts </dev/null) >"$log" 2>&1 || {
      cat "$log" >&2
      return 3
    }
    cp "$dir/package-lock.json" "$dir/node_modules/.cdn-installed"
  fi
  timeout 90 node "$dir/kjs.js" "$@"
}

@test "records kafkajs sends with keys, headers and timestamps come out of cdn consume as sent" {
  start_broker -t kv:1
  run kjs produce kv <<'EOF'
{"key":"k1","value":"{\"n\":1}","headers":{"source":"kafkajs","trace":"a1"},"timestamp":"1700000000123"}
{"key":"k2","value":"not json","timestamp":"1700000000456"}
EOF
  assert_success
  assert_output '{"sent":2}'
  run cdn consume -q -t kv -e --envelope
  assert_success
  assert_output - <<'EOF'
{"topic":"kv","partition":0,"offset":0,"timestamp":1700000000123,"key":"k1","headers":{"source":"kafkajs","trace":"a1"},"payload":{"n":1}}
{"topic":"kv","partition":0,"offset":1,"timestamp":1700000000456,"key":"k2","headers":{},"payload":"not json"}
EOF
}

@test "records cdn produce sends with --key-field, --header and --time-field reach kafkajs so" {
  start_broker -t kv:1
  printf '%s\n' '{"id":"s1","ts":"2023-11-14T22:13:20.5Z","v":1}' \
    '{"id":"s2","ts":1700000001000,"v":2}' |
    cdn produce -q -t kv --key-field id --header src=cdn --header env=test --time-field ts
  run kjs consume kv 2
  assert_success
  assert_output - <<'EOF'
{"partition":0,"offset":0,"key":"s1","value":"{\"id\":\"s1\",\"ts\":\"2023-11-14T22:13:20.5Z\",\"v\":1}","timestamp":"1700000000500","headers":{"src":"cdn","env":"test"}}
{"partition":0,"offset":1,"key":"s2","value":"{\"id\":\"s2\",\"ts\":1700000001000,\"v\":2}","timestamp":"1700000001000","headers":{"src":"cdn","env":"test"}}
EOF
}

@test "an idempotent kafkajs producer connects: Metadata names a listed broker as the controller" {
  start_broker --broker-count 3 -t idem:1
  run kjs produce idem --idempotent <<<'{"key":"k","value":"once"}'
  assert_success
  assert_output '{"sent":1}'
  run cdn consume -q -t idem -e
  assert_success
  assert_output 'once'
}

@test "a kafkajs transaction is read once committed by cdn consume and by kafkajs" {
  start_broker -t tx:2
  run kjs produce tx --tid tx-1 <<'EOF'
{"key":"a","value":"{\"n\":1}","partition":0}
{"key":"b","value":"{\"n\":2}","partition":1}
EOF
  assert_success
  assert_output '{"sent":2}'
  run cdn consume -q -t tx -e
  assert_success
  # one record in each partition, which are read side by side
  assert_equal "$(sort <<<"$output")" "$(printf '%s\n' '{"n":1}' '{"n":2}')"
  run kjs consume tx 2
  assert_success
  assert_line --index 0 --partial '"partition":0,"offset":0,"key":"a"'
  assert_line --index 1 --partial '"partition":1,"offset":0,"key":"b"'
}

@test "a fenced transactional instance is refused: readers see only the plain record and the stable end moves on" {
  start_broker -t fence:1
  run kjs fence fence fence-tx
  assert_success
  assert_output - <<'EOF'
{"step":"old writes old-1","ok":true}
{"step":"new writes new-1","ok":true}
{"step":"old writes old-2","ok":false,"error":"INVALID_PRODUCER_EPOCH"}
{"step":"old commits","ok":false,"error":"INVALID_PRODUCER_EPOCH"}
{"step":"new writes new-2","ok":true}
{"step":"new aborts","ok":true}
{"step":"plain writes plain","ok":true}
EOF
  run kjs consume fence 1
  assert_success
  assert_output --regexp '^\{"partition":0,"offset":5,"key":null,"value":"plain",'
  run cdn consume -q -t fence -e
  assert_success
  assert_output 'plain'
  # old-1, its abort marker, new-1, new-2, their abort marker, plain: the stable end is 6
  run kjs offsets fence
  assert_success
  assert_output '{"partition":0,"high":6,"low":0}'
}

@test "interleaved aborted transactions of two producers are skipped by kafkajs and cdn consume" {
  start_broker -t inter:2
  run kjs interleaved inter
  assert_success
  assert_output '{"aborted":2}'
  run kjs consume inter 2
  assert_success
  assert_line --index 0 --regexp '^\{"partition":0,"offset":6,"key":null,"value":"plain",'
  assert_line --index 1 --regexp '^\{"partition":1,"offset":6,"key":null,"value":"plain",'
  run cdn consume -q -t inter -e
  assert_success
  assert_output "$(printf 'plain\nplain')"
}

@test "a timed-out transaction and another producer's aborted one after it stay hidden from kafkajs" {
  start_broker -t late:2
  run kjs timed-out late
  assert_success
  assert_output '{"timed_out":true}'
  run kjs consume late 2
  assert_success
  assert_line --index 0 --regexp '^\{"partition":0,"offset":4,"key":null,"value":"plain",'
  assert_line --index 1 --regexp '^\{"partition":1,"offset":4,"key":null,"value":"plain",'
  run cdn consume -q -t late -e
  assert_success
  assert_output "$(printf 'plain\nplain')"
}

@test "two kafkajs consumers in one group split the partitions, a late member's SyncGroup included" {
  start_broker -t grp:4
  for i in 1 2 3 4 5 6 7 8; do printf '{"k":"k%s"}\n' "$i"; done |
    cdn produce -q -t grp --key-field k
  # The second member's SyncGroup comes 500 ms after the leader's in the second round: a
  # broker answers it with its assignment, where the mock answers INVALID_REQUEST (on which
  # kafkajs crashes).
  local late
  for late in 0 500; do
    run kjs group grp "group-$late" 8 --late-ms "$late"
    assert_success
    assert_line --regexp '^\{"members":\[\[[0-9,]+\],\[[0-9,]+\]\]\}$'
    # every message read, and the two members' partitions split the topic
    [[ $(grep -c '"consumer"' <<<"$output") -ge 8 ]]
    jq -se 'map(select(.members)) | .[0].members | (.[0] + .[1] | sort) == [0,1,2,3]' <<<"$output"
  done
}

@test "the admin client reads the topic's offsets and a group's committed offsets" {
  start_broker -t adm:2
  for i in 1 2 3 4 5 6; do printf '{"k":"k%s"}\n' "$i"; done |
    cdn produce -q -t adm --key-field k
  run cdn consume -q -t adm -G readers -e
  assert_success
  run kjs offsets adm readers
  assert_success
  # the keys put 3 records in each partition (a fixed hash)
  assert_output - <<'EOF'
{"partition":0,"high":3,"low":0}
{"partition":1,"high":3,"low":0}
{"group":[{"partition":0,"offset":3},{"partition":1,"offset":3}]}
EOF
}
