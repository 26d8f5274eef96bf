#!/usr/bin/env bats
# cdn broker: a local mock Kafka cluster, reached with kcat, with faults injected on stdin.

# bats file_tags=kafka

load test_helper
load broker_helper

setup() {
  T="$BATS_TEST_TMPDIR"
}

teardown() {
  stop_broker || true
}

# bats test_tags=no-cdn-bin
@test "every test file that starts a broker, influxd or the InfluxDB stub stops it in its teardown" {
  local f what stop bad=()
  for f in "$REPO_ROOT"/tests/cli/*.bats; do
    for what in broker:stop_broker influxd:stop_influxd stub:stop_stub; do
      grep -q "^ *start_${what%%:*}\b" "$f" || continue
      stop=${what#*:}
      # the body of teardown() or teardown_file() calls the stop function
      awk -v stop="$stop" '/^teardown(_file)?\(\) \{/ { on = 1 } on && index($0, stop) { found = 1 }
        on && /^\}/ { on = 0 } END { exit !found }' "$f" ||
        bad+=("$(basename "$f"): start_${what%%:*} without $stop in teardown")
    done
  done
  assert_equal "${bad[*]}" ""
}

# The metadata kcat sees, with a short timeout so a dead broker fails fast.
metadata() {
  timeout 30 kcat -b "${1:-$CDN_BROKERS}" -m 5 -L 2>&1
}

@test "prints BROKERS= first, and the cluster serves the topics named with their partitions" {
  start_broker --broker-count 3 --topic cdndata:8 -t cdnresult:2
  run head -n 1 "$BROKER_OUT"
  assert_output --regexp '^BROKERS=127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$'
  run metadata
  assert_success
  assert_output --partial " 3 brokers:"
  assert_output --partial 'topic "cdndata" with 8 partitions:'
  assert_output --partial 'topic "cdnresult" with 2 partitions:'
}

@test "one broker by default is three, and --broker-count 1 gives one" {
  start_broker --broker-count 1
  [[ $CDN_BROKERS =~ ^127\.0\.0\.1:[0-9]+$ ]]
  run metadata
  assert_output --partial " 1 brokers:"
}

@test "the old --brokers N still gives N brokers for a release, with one warning naming --broker-count" {
  start_broker --brokers 1
  run metadata
  assert_output --partial " 1 brokers:"
  run grep -c "warning: --brokers is deprecated and goes in the next release; write --broker-count" "$BROKER_ERR"
  assert_output 1
  # -b is the list of brokers to connect to in every other command; here it is unknown
  run cdn broker -b 1 </dev/null
  assert_failure 2
}

@test "messages produced with kcat are consumed back with kcat, in order per partition" {
  start_broker -t t:1
  printf 'one\ntwo\nthree\n' | timeout 30 kcat -P -b "$CDN_BROKERS" -t t
  run timeout 30 kcat -C -b "$CDN_BROKERS" -t t -e -q
  assert_success
  assert_output "$(printf 'one\ntwo\nthree')"
}

@test "a topic nobody created is created with 4 partitions on first use" {
  start_broker
  printf 'x\n' | timeout 30 kcat -P -b "$CDN_BROKERS" -t fresh
  run timeout 30 kcat -b "$CDN_BROKERS" -m 5 -L -t fresh
  assert_output --partial 'topic "fresh" with 4 partitions:'
}

@test "down takes a broker off the network and up brings it back" {
  start_broker --broker-count 2
  local first=${CDN_BROKERS%%,*}
  run broker_ctl down 1
  assert_success
  assert_output ok
  run timeout 30 kcat -b "$first" -m 2 -L
  assert_failure
  assert_output --partial "Connection refused"
  run broker_ctl up 1
  assert_output ok
  run metadata "$first"
  assert_success
  assert_output --partial "broker 1 at $first"
}

@test "a cluster taken down mid-stream and brought back keeps every message kcat sent" {
  start_broker -t t:4
  (for i in $(seq 200); do
    echo "k$i:$i"
    sleep 0.01
  done) | timeout 60 kcat -P -E -b "$CDN_BROKERS" -t t -K: 2>"$T/kcat.err" 3>&- &
  local producer=$!
  sleep 0.5
  broker_ctl down all
  sleep 1
  broker_ctl up all
  wait "$producer"
  run bash -c "timeout 30 kcat -C -b '$CDN_BROKERS' -t t -e -q | sort -n"
  assert_success
  assert_output "$(seq 200)"
}

# metadata_ms: the metadata request, timed in milliseconds (printed); fails if kcat does.
metadata_ms() {
  local t0
  t0=$(date +%s%N)
  metadata >/dev/null || return
  echo $((($(date +%s%N) - t0) / 1000000))
}

@test "rtt delays a broker's answers" {
  start_broker --broker-count 1
  # Without a delay the request takes far less than the bound, else the check proves nothing.
  run metadata_ms
  assert_success
  ((output < 1500)) || fail "metadata took $output ms with no rtt set: the bound proves nothing"
  broker_ctl rtt all 1500
  run metadata_ms
  assert_success
  ((output >= 1500)) || fail "metadata took $output ms with rtt 1500 ms"
  broker_ctl rtt 1 0
  run metadata_ms
  assert_success
  ((output < 1500)) || fail "metadata took $output ms after rtt 0"
}

@test "an injected Produce error reaches the producer" {
  start_broker --broker-count 1 -t t:1
  run broker_ctl error Produce INVALID_RECORD 1
  assert_output ok
  run bash -c "printf 'x\n' | timeout 30 kcat -P -b '$CDN_BROKERS' -t t 2>&1"
  assert_output --partial "Delivery failed for message: Broker: Broker failed to validate record"
  run timeout 30 kcat -C -b "$CDN_BROKERS" -t t -e -q
  assert_output ""
}

@test "leader moves a partition and create makes a topic while running" {
  start_broker --broker-count 3 -t t:1
  run broker_ctl create late:3
  assert_output ok
  run metadata
  assert_output --partial 'topic "late" with 3 partitions:'
  for id in 1 3; do
    run broker_ctl leader t 0 "$id"
    assert_output ok
    run bash -c "timeout 30 kcat -b '$CDN_BROKERS' -m 5 -L -t t | grep -A1 'topic \"t\"'"
    assert_line --index 1 --partial "partition 0, leader $id,"
  done
}

@test "topic-error fails a topic's metadata until NO_ERROR" {
  start_broker --broker-count 1 -t t:1
  broker_ctl topic-error t TOPIC_AUTHORIZATION_FAILED
  run timeout 30 kcat -b "$CDN_BROKERS" -m 5 -L -t t
  assert_output --partial "Topic authorization failed"
  broker_ctl topic-error t NO_ERROR
  run timeout 30 kcat -b "$CDN_BROKERS" -m 5 -L -t t
  assert_output --partial 'topic "t" with 1 partitions:'
}

@test "a bad fault command answers an error line and the broker carries on" {
  start_broker --broker-count 2
  run broker_ctl reboot 1
  assert_failure
  assert_output --partial "error: unknown command 'reboot'"
  run broker_ctl down 9
  assert_output --partial "error: no broker '9'; the ids are 1 to 2, or all"
  run broker_ctl error Produce NOT_LEADER_OR_FOLLOWER 3
  assert_output ok
  run broker_ctl clear Produce
  assert_output ok
  run broker_ctl error Produce NO_SUCH_ERROR
  assert_output --partial "error: unknown Kafka error 'NO_SUCH_ERROR'"
  run broker_ctl error Frobnicate REQUEST_TIMED_OUT
  assert_output --partial "error: unknown API 'Frobnicate'"
  run broker_ctl rtt 1
  assert_output --partial "error: usage: rtt ID|all MS"
  run broker_ctl help
  assert_success
  assert_output --partial "down ID|all; up ID|all"
  run metadata
  assert_success
}

@test "SIGTERM and SIGINT end it with status 0" {
  start_broker
  rc=0
  stop_broker || rc=$?
  assert_equal "$rc" 0
  "$CDN" broker </dev/null >"$T/out" 2>"$T/err" 3>&- &
  pid=$!
  # up (it prints its addresses once it handles signals), however slow the machine
  deadline=$((SECONDS + 30))
  until [[ -s $T/out ]] || ((SECONDS > deadline)); do sleep 0.05; done
  kill -INT "$pid"
  rc=0
  wait "$pid" || rc=$?
  assert_equal "$rc" 0
  run cat "$T/err"
  assert_output ""
}

@test "stdin at end of file leaves it running until a signal" {
  "$CDN" broker --broker-count 1 </dev/null >"$T/out" 2>"$T/err" 3>&- &
  pid=$!
  deadline=$((SECONDS + 30))
  until grep -q '^BROKERS=' "$T/out" || ((SECONDS > deadline)); do sleep 0.05; done
  sleep 0.5  # past the end of stdin
  run kill -0 "$pid"
  assert_success
  run grep -c '^BROKERS=' "$T/out"
  assert_output 1
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  assert_equal "$rc" 0
}

@test "listens on 127.0.0.1 only" {
  start_broker --broker-count 3
  run bash -c "ss -Hltnp | grep 'pid=$BROKER_PID,'"
  assert_success
  # each broker: the mock's port, and the one in front of it that clients are given
  [ "${#lines[@]}" -eq 6 ]
  run bash -c "ss -Hltnp | grep 'pid=$BROKER_PID,' | awk '{print \$4}' | grep -v '^127\.0\.0\.1:'"
  assert_output ""
}

@test "a bad --topic spec is a usage error naming the spec" {
  run cdn broker --topic cdndata </dev/null
  assert_failure 2
  assert_output --partial "bad --topic 'cdndata': no partition count; write NAME:PARTITIONS"
  run cdn broker --topic cdndata:0 </dev/null
  assert_failure 2
  assert_output --partial "the partition count must be 1 to 10000"
  run cdn broker --topic 'bad name:2' </dev/null
  assert_failure 2
  run cdn broker --broker-count 0 </dev/null
  assert_failure 2
  run cdn broker -t a:1 -t a:2 </dev/null
  assert_failure 2
  assert_output --partial "topic 'a' is named twice in --topic"
}

@test "--help states the listening address, the fault commands and the mock's limits" {
  run cdn broker --help
  assert_success
  assert_output --partial "127.0.0.1"
  assert_output --partial "down ID|all"
  assert_output --partial "about 5 MiB"
  assert_output --partial "nothing is durable"
  assert_output --partial "one partition per 10 ms window"
}

@test "commands sent together are answered in order, one line each" {
  start_broker --broker-count 2
  printf 'down 1\n\n# a comment\nbogus\nup 1\n' >&"$BROKER_CTL_FD"
  wait_lines "$BROKER_OUT" 4 10 "$BROKER_PID"
  run tail -n +2 "$BROKER_OUT"
  assert_line --index 0 ok
  assert_line --index 1 --partial "error: unknown command 'bogus'"
  assert_line --index 2 ok
  [ "${#lines[@]}" -eq 3 ]
}

@test "a line too long to be a command gets one error and the next line is read as usual" {
  start_broker --broker-count 1
  { head -c 100000 /dev/zero | tr '\0' x; echo; } >&"$BROKER_CTL_FD"
  wait_lines "$BROKER_OUT" 2 10 "$BROKER_PID"
  run tail -n +2 "$BROKER_OUT"
  assert_output "error: command line longer than 64 KiB; dropped"
  run broker_ctl "up 1"
  assert_output ok
}

@test "the [broker] section of the config file sets the brokers and the topics" {
  printf '[broker]\nbrokers = 2\ntopic = ["a:3", "b:1"]\n' >"$T/cdn.toml"
  CDN_CONFIG="$T/cdn.toml" start_broker
  run metadata
  assert_output --partial " 2 brokers:"
  assert_output --partial 'topic "a" with 3 partitions:'
  assert_output --partial 'topic "b" with 1 partitions:'
}

@test "a reader that goes away before the BROKERS line ends it quietly with status 0" {
  # A pipe whose read end is closed before the broker starts: the first write sees EPIPE.
  run timeout 30 python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run([sys.argv[1], "broker"], stdin=subprocess.DEVNULL, stdout=w,
                   stderr=subprocess.PIPE, timeout=20)
print("status=%d stderr=%r" % (p.returncode, p.stderr.decode()))
' "$CDN"
  assert_output "status=0 stderr=''"
}

@test "with stdout closed it fails at once with exit 3: nobody could learn its address" {
  run bash -c "'$CDN' broker 2>&1 >&-"
  assert_failure 3
  assert_output "cdn broker: cannot write the BROKERS line to stdout: it is closed; redirect stdout to a file or a pipe"
}

# rss PID: the resident memory of a process, in kB.
rss() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# hold_frames PORT N SIZE API SEND: opens N connections to PORT, on each announces a request
# of SIZE bytes of API and sends SEND bytes of it, prints "closed" or "open" for each (closed:
# the broker ended the connection within 3 s), then "held" and keeps the open ones until its
# standard input ends.
hold_frames() {
  python3 -c '
import select, socket, struct, sys, time
port, n, size, api, send = (int(a) for a in sys.argv[1:])
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(struct.pack(">iHH", size, api, 0) + b"\0" * max(0, send - 4))
    conns.append(s)
closed = set()
deadline = time.monotonic() + 3
while len(closed) < n and time.monotonic() < deadline:
    ready, _, _ = select.select([s for s in conns if s not in closed], [], [], 0.1)
    for s in ready:
        try:
            if s.recv(1) == b"":
                closed.add(s)
        except ConnectionResetError:
            closed.add(s)
for s in conns:
    print("closed" if s in closed else "open", flush=True)
print("held", flush=True)
sys.stdin.read()
' "$@"
}

@test "a request announced larger than 100 MiB closes its connection, with a warning" {
  start_broker --broker-count 1
  run hold_frames "${CDN_BROKERS##*:}" 1 $((100 * 1024 * 1024 + 1)) 3 0 </dev/null
  assert_success
  assert_output $'closed\nheld'
  run cat "$BROKER_ERR"
  assert_output --partial "closing a client connection that announced a request of 104857601 bytes, over the limit of 104857600 (Kafka's socket.request.max.bytes)"
  run metadata
  assert_success
}

@test "requests announced large but sent slowly hold only what has arrived, and it still serves" {
  start_broker --broker-count 1 -t t:1
  local idle
  idle=$(rss "$BROKER_PID")
  exec {held}> >(hold_frames "${CDN_BROKERS##*:}" 10 $((1 << 30)) 3 4096 >"$T/big" 2>&1 3>&-)
  wait_lines "$T/big" 11 30
  exec {slow}> >(hold_frames "${CDN_BROKERS##*:}" 10 $((100 * 1024 * 1024)) 1 $((1 << 20)) >"$T/slow" 2>&1 3>&-)
  wait_lines "$T/slow" 11 30
  assert_equal "$(grep -c closed "$T/big")" 10
  assert_equal "$(grep -c open "$T/slow")" 10
  local now
  now=$(rss "$BROKER_PID")
  ((now < idle + 100 * 1024))
  echo '{"n":1}' | cdn produce -q -t t
  run cdn consume -q -t t -e
  assert_success
  assert_output '{"n":1}'
  exec {held}>&- {slow}>&-
}

@test "past --max-connections new connections are closed with one warning, and served again after" {
  start_broker --broker-count 1 --max-connections 2
  exec {two}> >(hold_frames "${CDN_BROKERS##*:}" 2 100 18 4 >"$T/two" 2>&1 3>&-)
  wait_lines "$T/two" 3 30
  assert_equal "$(cat "$T/two")" $'open\nopen\nheld'
  run hold_frames "${CDN_BROKERS##*:}" 2 100 18 4 </dev/null
  assert_output $'closed\nclosed\nheld'
  run grep -c "closing new client connections: 2 are open, the most --max-connections allows" "$BROKER_ERR"
  assert_output 1
  exec {two}>&-
  run metadata
  assert_success
  assert_output --partial " 1 brokers:"
}

@test "partitions a refused AddPartitionsToTxn named join no transaction: no marker, no retry" {
  start_broker --broker-count 1 -t t:2
  broker_ctl error AddPartitionsToTxn TOPIC_AUTHORIZATION_FAILED
  # "bad" is refused t/0 (the injected error) and nope/0 (no such topic); "good" adds t/1.
  # Both time out after 500 ms: the broker aborts "good" with a marker in t/1, and "bad",
  # which began first, has nothing to abort.
  run timeout 60 python3 "$REPO_ROOT/tests/cli/py/txn_probe.py" "${CDN_BROKERS##*:}" 500 \
    init:bad add:bad:t:0 add:bad:nope:0 init:good add:good:t:1 end:t:1:1 end:t:0
  assert_success
  assert_output "$(printf '%s\n' 'init bad 0' 'add bad t/0 29' 'add bad nope/0 3' 'init good 0' \
    'add good t/1 0' 'end t/1 1' 'end t/0 0')"
  run cat "$BROKER_ERR"
  refute_output --partial "transaction marker"
}

@test "messages the mock drops past 5 MiB a partition are reported by topic, partition and count" {
  start_broker --broker-count 1 -t big:1 -t small:1
  python3 -c 'import json
for i in range(8192): print(json.dumps({"n": i, "pad": "x" * 1000}))' >"$T/8mib.ndjson"
  run cdn produce -q -t big "$T/8mib.ndjson"
  assert_success
  echo '{"n":1}' | cdn produce -q -t small
  run broker_ctl dropped
  assert_success
  [[ $output =~ ^ok\ ([0-9]+)\ big/0=([0-9]+)$ ]]
  local dropped=${BASH_REMATCH[1]}
  assert_equal "${BASH_REMATCH[2]}" "$dropped"
  ((dropped > 0))
  # what is left to read and what was dropped make up what was acknowledged
  assert_equal "$(cdn consume -q -t big -e | wc -l)" $((8192 - dropped))
  stop_broker
  # the warnings on the way, each naming the partition, add up to the count
  run grep -c "the mock dropped [0-9]* acknowledged messages of 'big'/0 (offsets [0-9]* to [0-9]*; [0-9]* in all): it keeps about 5 MiB" "$BROKER_ERR"
  ((output >= 1))
  assert_equal "$(sed -n "s/.*the mock dropped \([0-9]*\) acknowledged messages of 'big'.*/\1/p" "$BROKER_ERR" |
    awk '{ s += $1 } END { print s }')" "$dropped"
  run grep -c "'small'" "$BROKER_ERR"
  assert_output 0
  run grep "while it ran" "$BROKER_ERR"
  assert_output --partial "the mock dropped $dropped acknowledged messages while it ran (big/0=$dropped)"
}
