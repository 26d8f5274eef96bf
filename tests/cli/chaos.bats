#!/usr/bin/env bats
# Chaos: stages killed with SIGKILL at a random point and run again, the broker taken down,
# InfluxDB stopped, the disk full. Every test checks conservation by sampleID: each input
# record ends up in the output or the rejects, exactly once where the stage promises it,
# at least once under at-least-once delivery (none missing).
#
# The random choices (when to kill) come from a seed printed at the start of each test
# (shown when it fails): a fixed one by default, so that CI makes the same choices every
# run; CHAOS_SEED=N makes others (CHAOS_SEED=$RANDOM, a new one each run).
#
# When a kill lands depends on the machine as much as on the seed: a test never assumes the
# stage is still running when the kill comes, nor that it got far. A stage that ended first
# must have succeeded with its whole output; a killed one must have left what it promises.
# Where a test needs the stage to still have work after the fault (a server gone mid-load),
# its input is held open until the fault is in place, rather than timed to outlast it.
#
# Covered elsewhere, not repeated here: kill -9 of `cdn predict` reading Kafka in a group
# (predict.bats, "kill -9 in the middle of a stream", also with --exactly-once) and of
# `cdn load-influx` reading Kafka in a group (load-influx.bats, "a loader reading Kafka in a
# group, killed mid-stream"); the broker down and up under `cdn produce` alone
# (produce.bats) and under `cdn consume` alone (consume.bats); SIGTERM during a spill
# (sort.bats).

load test_helper
load broker_helper
load influx_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
  SEED=${CHAOS_SEED:-1527}
  RANDOM=$SEED
  echo "# CHAOS_SEED=$SEED"
  # The mock coordinator holds a rejoining group for a whole session timeout: keep it short.
  GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
}

teardown() {
  touch "$T/resume"  # a feed_held still waiting: let it go
  [[ -n ${INFLUXD_PID:-} ]] && kill -CONT "$INFLUXD_PID" 2>/dev/null
  stop_influxd
  stop_broker
}

# rand LO HI: a random integer in [LO, HI], from the test's seed.
rand() {
  echo $(($1 + RANDOM % ($2 - $1 + 1)))
}

# sleep_ms MS
sleep_ms() {
  sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# killed PID: waits for PID and succeeds when SIGKILL ended it (status 137). For a stage
# that never ends by itself (a group member reading Kafka without -e).
killed() {
  local status=0
  wait "$1" || status=$?
  ((status == 137)) || {
    echo "# pid $1 ended with status $status before it was killed"
    return 1
  }
}

# kill_or_done PID [STATUS]: SIGKILL to PID, which may have ended before it lands (a fast
# machine, or a slow test), then waits for it. Sets ENDED to "killed" (SIGKILL ended it) or
# "done" (it ended first, with STATUS, default 0); any other end fails the test.
kill_or_done() {
  local status=0
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" || status=$?
  if ((status == 137)); then
    ENDED=killed
  elif ((status == ${2:-0})); then
    ENDED=done
    echo "# pid $1 was done (status $status) before the kill landed"
  else
    fail "pid $1 ended with status $status, neither ${2:-0} nor killed"
  fi
}

# feed FILE LINES SECONDS: FILE to stdout, LINES lines at a time, SECONDS apart: a slow
# stream, so that a stage reading it is still running when it is killed.
feed() {
  /usr/bin/python3 -c '
import sys, time
n, dt = int(sys.argv[2]), float(sys.argv[3])
lines = open(sys.argv[1], "rb").readlines()
try:
    for i in range(0, len(lines), n):
        sys.stdout.buffer.write(b"".join(lines[i:i + n]))
        sys.stdout.buffer.flush()
        time.sleep(dt)
except BrokenPipeError:
    pass
' "$@" 2>/dev/null
}

# feed_held FILE N MARK: FILE to stdout as feed does, but after its first N lines, waits
# (at most 120 s) until the file MARK exists: a stage reading it still has records to come
# whatever the test does before it creates MARK, however fast the stage is.
feed_held() {
  head -n "$2" "$1" >"$1.head"
  tail -n +"$(($2 + 1))" "$1" >"$1.tail"
  feed "$1.head" 1000 0.05
  local deadline=$((SECONDS + 120))
  until [[ -e $3 ]] || ((SECONDS > deadline)); do sleep 0.05; done
  feed "$1.tail" 1000 0.05
}

# ids FILE...: the sampleIDs of the complete JSON lines of FILEs, one a line (a line cut short
# by a kill is not a record that was written).
ids() {
  cat "$@" | jq -R -r 'fromjson? | .sampleID // empty'
}

# same_ids WANT GOT: fails with the missing and the extra IDs unless the sets are equal.
same_ids() {
  local missing extra
  missing=$(comm -23 <(sort -u "$1") <(sort -u "$2") | head -5)
  extra=$(comm -13 <(sort -u "$1") <(sort -u "$2") | head -5)
  [[ -z $missing && -z $extra ]] || fail "missing IDs: ${missing//$'\n'/ }; unexpected: ${extra//$'\n'/ }"
}

# no_repeats FILE: fails when an ID occurs twice in FILE.
no_repeats() {
  local dup
  dup=$(sort "$1" | uniq -d | head -5)
  [[ -z $dup ]] || fail "IDs written more than once: ${dup//$'\n'/ }"
}

# spoil N REGEX REPLACEMENT: stdin to stdout, with REGEX replaced in the records whose
# sampleID is a multiple of N; the rest byte for byte (jq would print 12.0 as 12, and
# InfluxDB would then see a float field turn integer).
spoil() {
  awk -v n="$1" -v re="$2" -v to="$3" '
    match($0, /"sampleID":[0-9]+/) && substr($0, RSTART + 11, RLENGTH - 11) % n == 0 { sub(re, to) }
    { print }'
}

# tagged N SEED: N generated records with sampleIDs 1..N.
tagged() {
  "$CDN" gen -q --rows "$1" --seed "$2" --no-label | "$CDN" tag -q
}

# joined ERRFILE: waits (at most 30 s) until a `cdn -vv` group member logs its assignment.
joined() {
  local deadline=$((SECONDS + 30))
  until grep -q "assigned" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "no partitions assigned within 30 s: $(cat "$1")"
    sleep 0.1
  done
}

# --- kill -9 of file stages

@test "sort -o killed with SIGKILL while spilling or merging: nothing under the output name, and a rerun writes the whole sorted output" {
  mkdir "$T/tmp"
  tagged 80000 31 | shuf --random-source=<(yes "$SEED") >"$T/in.ndjson"
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  start=$(date +%s%N)
  cdn sort -q -S 1M -T "$T/tmp" "$T/in.ndjson" -o "$T/ref.ndjson"
  full_ms=$((($(date +%s%N) - start) / 1000000))
  # the uninterrupted run: every record once, in order, and no temporary file left
  jq -r .sampleID "$T/ref.ndjson" >"$T/got"
  same_ids "$T/want" "$T/got"
  no_repeats "$T/got"
  jq -r .timestamp "$T/ref.ndjson" | LC_ALL=C sort -c
  assert_equal "$(ls -A "$T/tmp")" ""
  # killed somewhere between 5% and 80% of a full run; a run that ends before the kill
  # lands must have written the whole output and left nothing behind (then again with a
  # shorter delay, up to three runs: the point is a kill, but the timing is the machine's)
  for attempt in 1 2 3; do
    delay=$((full_ms * $(rand 5 80) / 100 / attempt))
    "$CDN" sort -q -S 1M -T "$T/tmp" "$T/in.ndjson" -o "$T/out.ndjson" &
    pid=$!
    sleep_ms "$delay"
    kill_or_done "$pid"
    echo "# run $attempt: $ENDED after $delay ms of a $full_ms ms run"
    [[ $ENDED == killed ]] && break
    cmp "$T/out.ndjson" "$T/ref.ndjson" || fail "a run that ended before the kill wrote another output"
    assert_equal "$(ls -A "$T/tmp")" ""
    assert_equal "$(cd "$T" && ls -A | grep -E '^\.out\.ndjson' || true)" ""
    rm "$T/out.ndjson"
  done
  # the output appears whole or not at all: a kill that lands after the rename (the process
  # still unmapping and freeing) leaves the whole sorted output, anything else leaves nothing
  if [[ -e $T/out.ndjson ]]; then
    cmp "$T/out.ndjson" "$T/ref.ndjson" || fail "a partial file is under the output name after kill -9"
    echo "# the kill came after the output was in place"
  fi
  # SIGKILL runs no clean-up: what may remain are the spilled runs in the -T directory and
  # the hidden temporary output beside the output; nothing else.
  left=$(cd "$T/tmp" && ls -A)
  echo "# left in -T: ${left//$'\n'/ }"
  [[ -z $left || $left =~ ^(cdn-sort-run\.[A-Za-z0-9]{6}$'\n'?)+$ ]] || fail "unexpected files in -T: $left"
  beside=$(cd "$T" && ls -A | grep -E '^\.out\.ndjson' || true)
  echo "# left beside the output: ${beside:-nothing}"
  [[ -z $beside || $beside =~ ^\.out\.ndjson\.tmp\.[A-Za-z0-9]{6}$ ]] || fail "unexpected: $beside"
  # a rerun with the same directories writes the whole output, and leaves the stale files
  # of the killed run alone (they are removed by hand: nothing reclaims them)
  run --separate-stderr cdn sort -S 1M -T "$T/tmp" "$T/in.ndjson" -o "$T/out.ndjson"
  assert_success
  [[ "$stderr" =~ "80000 in, 80000 out, 0 rejected" ]]
  cmp "$T/ref.ndjson" "$T/out.ndjson"
  assert_equal "$(cd "$T/tmp" && ls -A)" "$left"
}

@test "tag --state killed with SIGKILL again and again: the state file is always whole, and no ID is handed out twice" {
  seq 1 60000 | sed 's/.*/{"n":&}/' >"$T/in.ndjson"
  for round in 1 2 3; do
    feed "$T/in.ndjson" 1500 0.04 | "$CDN" tag -q --state "$T/ids.state" >"$T/out.$round" &
    pid=$!
    sleep_ms "$(rand 100 700)"
    kill_or_done "$pid"
    state=$(cat "$T/ids.state" 2>/dev/null || true)
    echo "# round $round: $ENDED, $(ids "$T/out.$round" | wc -l) IDs out, state '$state'"
    # a run that ended before the kill tagged every record
    [[ $ENDED == killed ]] || assert_equal "$(ids "$T/out.$round" | wc -l)" 60000
    # absent or empty (killed before the first reservation) or one whole object
    [[ -z $state || $state =~ ^\{\"next\":[0-9]+\}$ ]] || fail "state file after kill -9: '$state'"
  done
  run --separate-stderr cdn tag --state "$T/ids.state" -o "$T/out.final" "$T/in.ndjson"
  assert_success
  [[ "$stderr" =~ "60000 in, 60000 out, 0 rejected" ]]
  assert_equal "$(jq -r .n "$T/out.final" | sort -n | uniq | wc -l)" 60000
  # no ID twice, within a run or across runs, killed or not
  ids "$T"/out.* >"$T/all"
  no_repeats "$T/all"
  # and each run's IDs come after the previous run's
  prev=0
  for f in "$T"/out.{1,2,3} "$T/out.final"; do
    lo=$(ids "$f" | sort -n | head -1)
    [[ -z $lo ]] && continue
    ((lo > prev)) || fail "$f starts at $lo, not after $prev"
    prev=$(ids "$f" | sort -n | tail -1)
  done
  assert_equal "$(cat "$T/ids.state")" "{\"next\":$((prev + 1))}"
}

@test "validate -o killed with SIGKILL mid-stream: nothing under the output or rejects name, and a rerun conserves every record" {
  # every 30th record has an HTTP status out of range: it goes to the rejects
  tagged 40000 32 | spoil 30 '"http_status":[0-9]+' '"http_status":99' >"$T/in.ndjson"
  feed "$T/in.ndjson" 1000 0.03 | "$CDN" validate -q --rejects "$T/rej.ndjson" -o "$T/out.ndjson" &
  pid=$!
  sleep_ms "$(rand 100 500)"
  # a run that ended before the kill had rejects: status 1
  kill_or_done "$pid" 1
  # each file is whole or absent (a kill between the two renames leaves one of them):
  # whole is what the rerun writes
  for f in out rej; do
    [[ ! -e $T/$f.ndjson ]] || mv "$T/$f.ndjson" "$T/$f.first"
  done
  [[ $ENDED == killed || (-e $T/out.first && -e $T/rej.first) ]] || fail "a run that ended wrote no output"
  echo "# $ENDED; left: $(cd "$T" && ls -A | grep -E '^\.|first' | tr '\n' ' ')"
  run --separate-stderr cdn validate --rejects "$T/rej.ndjson" -o "$T/out.ndjson" "$T/in.ndjson"
  assert_failure 1
  [[ "$stderr" =~ "cdn validate: 40000 in, 38667 out, 1333 rejected" ]]
  if [[ -e $T/out.first ]]; then
    cmp "$T/out.first" "$T/out.ndjson" || fail "a partial file is under the output name"
  fi
  if [[ -e $T/rej.first ]]; then
    # the same rejects, though the first run named its source '-'
    assert_equal "$(jq -c 'del(.source)' "$T/rej.first")" "$(jq -c 'del(.source)' "$T/rej.ndjson")"
  fi
  # every record in the output or the rejects, once
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  { jq -r .sampleID "$T/out.ndjson"; jq -r '.record | fromjson? | .sampleID // empty' "$T/rej.ndjson"; } >"$T/got"
  assert_equal "$(wc -l <"$T/got")" 40000
  same_ids "$T/want" "$T/got"
  no_repeats "$T/got"
}

# --- commit order and closed descriptors, for every command that writes -o and --rejects

# with_rejects N SEED: N tagged records with a line that is not JSON after every 9th: the
# output of every record command is the records, its rejects those lines.
with_rejects() {
  tagged "$1" "$2" | awk '{ print } NR % 9 == 0 { printf "not json %d\n", NR }'
}

@test "sort, tag and validate with -o and --rejects killed with SIGKILL at random points: the output never appears without the whole rejects file" {
  printf '%s\n' '{"type":"object","required":["timestamp"]}' >"$T/schema.json"
  with_rejects 60000 48 >"$T/in.ndjson"
  want_rejects=$(grep -c '^not json' "$T/in.ndjson")
  want_out=$(grep -c '^{' "$T/in.ndjson")
  for cmd in sort tag validate; do
    args=()
    [[ $cmd == validate ]] && args=(--schema "$T/schema.json")
    start=$(date +%s%N)
    run cdn -q "$cmd" "${args[@]}" "$T/in.ndjson" -o "$T/ref.out" --rejects "$T/ref.rej"
    assert_failure 1
    full_ms=$((($(date +%s%N) - start) / 1000000))
    for round in 1 2 3 4 5 6; do
      rm -f "$T/out" "$T/rej"
      # from the start of a run to a little past its end: kills before, between and after
      # the two renames
      delay=$((full_ms * $(rand 0 120) / 100))
      "$CDN" -q "$cmd" "${args[@]}" "$T/in.ndjson" -o "$T/out" --rejects "$T/rej" &
      pid=$!
      sleep_ms "$delay"
      kill_or_done "$pid" 1
      echo "# $cmd round $round: $ENDED after $delay ms of a $full_ms ms run; out $([[ -e $T/out ]] && echo present || echo absent), rejects $([[ -e $T/rej ]] && echo present || echo absent)"
      # a file under either name is whole; the output is never there without the rejects
      if [[ -e $T/rej ]]; then
        assert_equal "$(wc -l <"$T/rej")" "$want_rejects"
        cmp "$T/rej" "$T/ref.rej" || fail "$cmd: a rejects file other than the uninterrupted run's"
      fi
      if [[ -e $T/out ]]; then
        [[ -e $T/rej ]] || fail "$cmd: the output is in place and the rejects are not"
        assert_equal "$(wc -l <"$T/out")" "$want_out"
        cmp "$T/out" "$T/ref.out" || fail "$cmd: an output other than the uninterrupted run's"
      fi
      [[ $ENDED == killed ]] || { [[ -e $T/out && -e $T/rej ]] || fail "$cmd: a run that ended left no output"; }
    done
  done
}

@test "every combination of closed descriptors 0, 1 and 2 under sort, tag and validate: each stream in its own file, no record lost" {
  printf '%s\n' '{"type":"object","required":["timestamp"]}' >"$T/schema.json"
  with_rejects 3000 49 >"$T/in.ndjson"
  for cmd in sort tag validate; do
    args=()
    [[ $cmd == validate ]] && args=(--schema "$T/schema.json")
    run cdn -q "$cmd" "${args[@]}" "$T/in.ndjson" -o "$T/ref.out" --rejects "$T/ref.rej"
    assert_failure 1
    for closed in 0 1 2 01 02 12 012; do
      rm -rf "$T/w" && mkdir "$T/w"
      redir=""
      [[ $closed == *0* ]] && redir+=" <&-"
      [[ $closed == *1* ]] && redir+=" >&-"
      [[ $closed == *2* ]] && redir+=" 2>&-"
      status=0
      eval '"$CDN" -q "$cmd" "${args[@]}" "$T/in.ndjson" -o "$T/w/out" --rejects "$T/w/rej"'"$redir" || status=$?
      ((status == 1)) || fail "$cmd with $closed closed: status $status"
      cmp "$T/w/out" "$T/ref.out" || fail "$cmd with $closed closed: the output differs"
      cmp "$T/w/rej" "$T/ref.rej" || fail "$cmd with $closed closed: the rejects differ"
      assert_equal "$(cd "$T/w" && echo $(ls -A))" "out rej"
    done
  done
}

# --- kill -9 of Kafka stages

# bats test_tags=kafka
@test "produce killed with SIGKILL mid-stream and run again on the same input: every sampleID is in the topic" {
  start_broker --topic t:4
  tagged 4000 33 >"$T/in.ndjson"
  "$CDN" produce -q -t t --key-field sampleID --rate 2000 "$T/in.ndjson" &
  pid=$!
  sleep_ms "$(rand 300 1500)"
  kill_or_done "$pid"
  before=$("$CDN" consume -q -t t -e | wc -l)
  echo "# $ENDED, with $before records in the topic"
  # a run that ended before the kill delivered every record, once
  [[ $ENDED == killed ]] || assert_equal "$before" 4000
  run --separate-stderr cdn produce -t t --key-field sampleID "$T/in.ndjson"
  assert_success
  "$CDN" consume -q -t t -e -o "$T/topic.ndjson"
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  ids "$T/topic.ndjson" >"$T/got"
  same_ids "$T/want" "$T/got"
  echo "# $(wc -l <"$T/got") messages for 4000 records"
  (($(wc -l <"$T/got") >= 4000))
}

# bats test_tags=kafka
@test "consume -G to stdout killed with SIGKILL mid-stream and restarted: every record written at least once" {
  start_broker --topic t:4
  tagged 4000 34 >"$T/in.ndjson"
  "$CDN" -vv consume -t t -G g "${GROUP_X[@]}" >"$T/out.1" 2>"$T/err.1" &
  pid=$!
  joined "$T/err.1"
  "$CDN" produce -q -t t --key-field sampleID --rate 1000 "$T/in.ndjson" &
  producer=$!
  # past the first offset commit (one a second while records are written): once records
  # are out, two seconds more, and a random part of a third; the producer may or may not
  # be done by then
  deadline=$((SECONDS + 30))
  until (($(ids "$T/out.1" | wc -l) >= 100)); do
    ((SECONDS < deadline)) || fail "consume wrote nothing within 30 s: $(cat "$T/err.1")"
    sleep 0.1
  done
  sleep_ms "$(rand 2000 3000)"
  kill -0 "$producer" 2>/dev/null || echo "# the producer was done before the kill"
  kill -KILL "$pid"
  killed "$pid"
  wait "$producer"
  echo "# $(ids "$T/out.1" | wc -l) records out when consume was killed"
  run --separate-stderr timeout 60 "$CDN" consume -t t -G g -e "${GROUP_X[@]}" -o "$T/out.2"
  assert_success
  [[ "$stderr" =~ "cdn consume: "([0-9]+)" in" ]]
  echo "# the restart read ${BASH_REMATCH[1]}"
  ((BASH_REMATCH[1] < 4000)) || fail "the restart read everything again: no offset was committed"
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  ids "$T/out.1" "$T/out.2" >"$T/got"
  same_ids "$T/want" "$T/got"
}

# bats test_tags=kafka
@test "consume -G -o FILE killed with SIGKILL commits nothing: no file, and the restart writes every record once" {
  start_broker --topic t:4
  tagged 3000 35 >"$T/in.ndjson"
  "$CDN" produce -q -t t --key-field sampleID "$T/in.ndjson"
  "$CDN" consume -q -t t -G g "${GROUP_X[@]}" -o "$T/out.ndjson" &
  pid=$!
  sleep_ms "$(rand 1500 3000)"
  kill -KILL "$pid"
  killed "$pid"
  [[ ! -e $T/out.ndjson ]] || fail "a file is under the output name after kill -9"
  run --separate-stderr timeout 60 "$CDN" consume -t t -G g -e "${GROUP_X[@]}" -o "$T/out.ndjson"
  assert_success
  [[ "$stderr" =~ "cdn consume: 3000 in, 3000 out, 0 rejected" ]]
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  ids "$T/out.ndjson" >"$T/got"
  same_ids "$T/want" "$T/got"
  no_repeats "$T/got"
}

# bats test_tags=kafka
@test "consume -G with --rejects FILE killed with SIGKILL and restarted: every message is in the output or the rejects" {
  start_broker --topic t:2
  # every fifth message spans two lines, so it goes to the rejects
  for ((i = 1; i <= 600; i++)); do
    if ((i % 5 == 0)); then printf '{"sampleID":%d,\n"x":1}\x1e' "$i"; else printf '{"sampleID":%d}\x1e' "$i"; fi
  done >"$T/in.bin"
  kcat -P -b "$CDN_BROKERS" -t t -D $'\x1e' <"$T/in.bin"
  "$CDN" consume -q -t t -G g "${GROUP_X[@]}" --rejects "$T/rej.ndjson" >"$T/out.1" &
  pid=$!
  # long enough for the group to join, read everything and commit its offsets
  deadline=$((SECONDS + 30))
  until (($(ids "$T/out.1" | wc -l) >= 480)) || ((SECONDS > deadline)); do sleep 0.2; done
  sleep_ms "$(rand 1500 2500)"
  kill -KILL "$pid"
  killed "$pid"
  run --separate-stderr timeout 60 "$CDN" consume -t t -G g -e "${GROUP_X[@]}" --rejects "$T/rej.ndjson" -o "$T/out.2"
  ((status <= 1)) || fail "status $status: $stderr"
  seq 1 600 >"$T/want"
  { ids "$T/out.1" "$T/out.2"; jq -r '.record | fromjson | .sampleID' "$T/rej.ndjson"; } >"$T/got"
  same_ids "$T/want" "$T/got"
}

# bats test_tags=kafka,xgboost
@test "predict from a Kafka group with --rejects FILE, killed with SIGKILL and restarted: every record is predicted or rejected" {
  "$CDN" gen -q --rows 3000 --seed 40 -f csv -o "$T/train.csv"
  "$CDN" train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 5 "$T/train.csv" -o "$T/m"
  # every 25th record has a feature of the wrong type: it goes to the rejects
  tagged 4000 41 | spoil 25 '"asn":' '"asn":"' | spoil 25 ',"country"' '","country"' >"$T/in.ndjson"
  start_broker --topic cdndata:4 --topic cdnresult:4
  "$CDN" -vv predict -m "$T/m" kafka:cdndata -G p "${GROUP_X[@]}" -o kafka:cdnresult --rejects "$T/rej.ndjson" 2>"$T/err.1" &
  pid=$!
  joined "$T/err.1"
  "$CDN" produce -q -t cdndata --key-field sampleID --rate 2000 "$T/in.ndjson" &
  producer=$!
  sleep_ms "$(rand 300 1800)"
  kill -0 "$pid" || fail "predict ended before the kill: $(cat "$T/err.1")"
  kill -KILL "$pid"
  killed "$pid"
  wait "$producer"
  run --separate-stderr timeout 90 "$CDN" predict -m "$T/m" kafka:cdndata -G p -e "${GROUP_X[@]}" -o kafka:cdnresult --rejects "$T/rej.ndjson"
  assert_failure 1
  "$CDN" consume -q -t cdnresult -e -o "$T/out.ndjson"
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  { ids "$T/out.ndjson"; jq -r '.record | fromjson | .sampleID' "$T/rej.ndjson"; } >"$T/got"
  same_ids "$T/want" "$T/got"
}

# --- the broker down

# bats test_tags=kafka
@test "the brokers down for three seconds while produce and consume -G run: every record is delivered once and read" {
  start_broker --topic t:4
  tagged 3000 36 >"$T/in.ndjson"
  "$CDN" -vv consume -t t -G g "${GROUP_X[@]}" >"$T/out.ndjson" 2>"$T/cerr" &
  consumer=$!
  joined "$T/cerr"
  "$CDN" produce -t t --key-field sampleID --rate 1000 "$T/in.ndjson" 2>"$T/perr" &
  producer=$!
  sleep_ms "$(rand 300 1200)"
  broker_ctl down all
  sleep 3
  broker_ctl up all
  status=0
  wait "$producer" || status=$?
  cat "$T/perr"
  assert_equal "$status" 0
  grep -q "3000 in, 3000 out, 0 rejected.*3000 delivered to 't'" "$T/perr"
  # the consumer reads on until it has every record (at most 60 s)
  deadline=$((SECONDS + 60))
  until (($(ids "$T/out.ndjson" | sort -u | wc -l) >= 3000)) || ((SECONDS > deadline)); do sleep 0.2; done
  kill -TERM "$consumer"
  wait "$consumer" || true
  # the topic holds each record once: the idempotent producer sent nothing twice
  "$CDN" consume -q -t t -e -o "$T/topic.ndjson"
  jq -r .sampleID "$T/in.ndjson" >"$T/want"
  ids "$T/topic.ndjson" >"$T/got"
  same_ids "$T/want" "$T/got"
  no_repeats "$T/got"
  # and the consumer wrote each one (once, unless the group moved partitions while the
  # brokers were away: then at least once)
  ids "$T/out.ndjson" >"$T/read"
  same_ids "$T/want" "$T/read"
  echo "# the consumer wrote $(wc -l <"$T/read") records for 3000"
}

# --- InfluxDB

# count DB QUERY: the first value of the first row InfluxDB answers.
count() {
  influx_query "$1" "$2" | jq '.results[0].series[0].values[0][1] // 0'
}

# wait_count DB QUERY N: until the query counts at least N (at most 60 s).
wait_count() {
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    (($(count "$1" "$2") >= $3)) && return 0
    sleep 0.1
  done
  fail "$2 counts $(count "$1" "$2"), not $3"
}

# restart_influxd: influxd again with the same configuration: the same ports, the same data.
restart_influxd() {
  influxd -config "$INFLUXD_DIR/influxdb.conf" </dev/null >>"$INFLUXD_DIR/out" 2>>"$INFLUXD_DIR/err" 3>&- &
  INFLUXD_PID=$!
  local deadline=$((SECONDS + 20))
  until curl -sf -o /dev/null "$INFLUX_URL/ping"; do
    ((SECONDS < deadline)) || fail "influxd did not come back on $INFLUX_URL"
    sleep 0.1
  done
}

# bats test_tags=kafka,influx
@test "load-influx from a Kafka group with --rejects FILE, killed with SIGKILL and restarted: every record is in InfluxDB or the rejects" {
  start_influxd
  start_broker --topic raw:4
  # every 40th record has a time that is not one: it goes to the rejects
  tagged 5000 42 | spoil 40 '"timestamp":"[^"]*"' '"timestamp":"yesterday"' >"$T/in.ndjson"
  "$CDN" produce -q -t raw --key-field sampleID --rate 3000 "$T/in.ndjson" &
  producer=$!
  "$CDN" load-influx -q -G loader "${GROUP_X[@]}" --db d --create-db --tag pop,client_ip \
    --batch-size 200 --rejects "$T/rej.ndjson" kafka:raw 2>"$T/err.1" &
  pid=$!
  wait_count d 'SELECT count(sampleID) FROM cdn' "$(rand 800 2500)"
  sleep_ms "$(rand 0 800)"
  kill -KILL "$pid"
  killed "$pid"
  wait "$producer"
  run --separate-stderr timeout 90 "$CDN" load-influx -G loader "${GROUP_X[@]}" -e --db d \
    --tag pop,client_ip --rejects "$T/rej.ndjson" kafka:raw
  assert_failure 1
  jq -r .sampleID "$T/in.ndjson" | sort -n >"$T/want"
  { influx_query d 'SELECT sampleID FROM cdn' | jq -r '.results[0].series[0].values[][1]'
    jq -r '.record | fromjson | .sampleID' "$T/rej.ndjson"; } >"$T/got"
  same_ids "$T/want" "$T/got"
}

# bats test_tags=influx
@test "influxd stopped with SIGSTOP, then killed and restarted on the same port mid-load: load-influx waits, retries, and every record arrives once" {
  start_influxd
  tagged 20000 43 >"$T/in.ndjson"
  feed "$T/in.ndjson" 1000 0.05 | timeout 120 "$CDN" load-influx --db d --create-db --tag pop,client_ip \
    --batch-size 500 --retry-timeout 60s 2>"$T/err" &
  pid=$!
  wait_count d 'SELECT count(sampleID) FROM cdn' 1000
  sleep_ms "$(rand 0 500)"
  kill -STOP "$INFLUXD_PID"
  sleep 2
  kill -CONT "$INFLUXD_PID"
  sleep_ms "$(rand 200 800)"
  kill -KILL "$INFLUXD_PID"
  wait "$INFLUXD_PID" || true
  sleep 1
  restart_influxd
  status=0
  wait "$pid" || status=$?
  cat "$T/err"
  assert_equal "$status" 0
  grep -q "20000 in, 20000 out, 0 rejected" "$T/err"
  assert_equal "$(count d 'SELECT count(sampleID) FROM cdn')" 20000
  assert_equal "$(count d 'SELECT count(distinct(sampleID)) FROM cdn')" 20000
}

# bats test_tags=influx
@test "influxd gone for longer than --retry-timeout mid-load: exit 3, and the records it says it wrote are in InfluxDB" {
  start_influxd
  tagged 20000 44 >"$T/in.ndjson"
  # the last 14000 records come only once influxd is gone
  feed_held "$T/in.ndjson" 6000 "$T/resume" | "$CDN" load-influx --db d --create-db \
    --tag pop,client_ip --batch-size 500 --retry-timeout 2s 2>"$T/err" &
  pid=$!
  wait_count d 'SELECT count(sampleID) FROM cdn' "$(rand 1000 5000)"
  kill -KILL "$INFLUXD_PID"
  wait "$INFLUXD_PID" || true
  touch "$T/resume"
  start=$SECONDS
  status=0
  wait "$pid" || status=$?
  cat "$T/err"
  assert_equal "$status" 3
  ((SECONDS - start <= 15)) || fail "gave up after $((SECONDS - start)) s, not about 2 s"
  grep -q "(retried for 2 s; raise --retry-timeout to wait longer); [0-9]* records not written" "$T/err"
  [[ "$(cat "$T/err")" =~ "cdn load-influx: "([0-9]+)" in, "([0-9]+)" written, 0 rejected, "([0-9]+)" not written" ]]
  in=${BASH_REMATCH[1]} written=${BASH_REMATCH[2]} lost=${BASH_REMATCH[3]}
  assert_equal "$((written + lost))" "$in"
  ((lost > 0))
  grep -q "; $lost records not written" "$T/err"
  # what it counts as written is there; what it counts as not written may be, in part (a
  # write InfluxDB took just before it died, with the answer lost)
  restart_influxd
  have=$(count d 'SELECT count(sampleID) FROM cdn')
  echo "# $in in, $written written, $lost not written; InfluxDB has $have"
  ((have >= written && have <= in)) || fail "InfluxDB has $have points"
}

# bats test_tags=influx
@test "influxd stopped (SIGSTOP) for longer than --retry-timeout mid-load: exit 3 soon after, and the records it says it wrote are in InfluxDB" {
  start_influxd
  tagged 20000 48 >"$T/in.ndjson"
  # the last 14000 records come only once influxd is stopped
  feed_held "$T/in.ndjson" 6000 "$T/resume" | "$CDN" load-influx --db d --create-db \
    --tag pop,client_ip --batch-size 500 --retry-timeout 2s 2>"$T/err" &
  pid=$!
  wait_count d 'SELECT count(sampleID) FROM cdn' "$(rand 1000 5000)"
  kill -STOP "$INFLUXD_PID"
  touch "$T/resume"
  start=$SECONDS
  status=0
  wait "$pid" || status=$?
  elapsed=$((SECONDS - start))
  kill -CONT "$INFLUXD_PID"
  cat "$T/err"
  assert_equal "$status" 3
  # a stopped server takes connections and never answers: requests time out within the
  # --retry-timeout window rather than after the 30 s a request may take otherwise
  ((elapsed <= 12)) || fail "gave up after $elapsed s, not about 2 to 4 s"
  grep -q "Timeout was reached (retried for 2 s; raise --retry-timeout to wait longer); [0-9]* records not written" "$T/err"
  [[ "$(cat "$T/err")" =~ "cdn load-influx: "([0-9]+)" in, "([0-9]+)" written, 0 rejected, "([0-9]+)" not written" ]]
  in=${BASH_REMATCH[1]} written=${BASH_REMATCH[2]} lost=${BASH_REMATCH[3]}
  assert_equal "$((written + lost))" "$in"
  ((lost > 0))
  # requests it gave up on may still be in influxd's socket buffers, and taken on SIGCONT
  sleep 1
  have=$(count d 'SELECT count(sampleID) FROM cdn')
  echo "# $in in, $written written, $lost not written after $elapsed s; InfluxDB has $have"
  ((have >= written && have <= in)) || fail "InfluxDB has $have points"
}

# --- a full disk

@test "sort's spilled runs at the file-size limit: a clear error naming the run and -T, exit 3, no output and no temporary file left" {
  mkdir "$T/tmp"
  tagged 20000 45 >"$T/in.ndjson"
  run --separate-stderr bash -c "ulimit -f 512 && exec '$CDN' sort -S 1M -T '$T/tmp' '$T/in.ndjson' -o '$T/out.ndjson'"
  assert_failure 3
  [[ "$stderr" =~ ^"cdn sort: cannot write the spilled run '$T/tmp/cdn-sort-run."[A-Za-z0-9]{6}"': File too large; point -T/--temporary-directory at a file system with more room, or raise -S/--buffer-size to spill less"$ ]] ||
    fail "stderr: $stderr"
  assert_equal "$(ls -A "$T/tmp")" ""
  assert_equal "$(cd "$T" && ls -A | grep out || true)" ""
}

# bats test_tags=influx
@test "an output past the file-size limit: a clear error naming it, exit 3, nothing under its name and no temporary file" {
  tagged 20000 46 >"$T/in.ndjson"
  for cmd in sort tag validate "load-influx --dry-run"; do
    # --dry-run writes line protocol, and refuses an output named like NDJSON
    out=$T/out.ndjson
    [[ $cmd != load-influx* ]] || out=$T/out.lp
    run --separate-stderr bash -c "ulimit -f 1024 && exec '$CDN' -q $cmd '$T/in.ndjson' -o '$out'"
    assert_failure 3
    [[ "$stderr" == *"cdn ${cmd%% *}: cannot write '$out': File too large; the file reached the size limit of this process (ulimit -f) or of its file system: raise the limit or write to another file system"* ]] ||
      fail "$cmd: $stderr"
    # Nothing is kept under the name, so nothing is counted as written.
    [[ "$stderr" != *written* ]] || fail "$cmd: $stderr"
    assert_equal "$(cd "$T" && ls -A | grep out || true)" ""
  done
}

@test "an output on a full disk (/dev/full): a clear error naming it and exit 3, for a file and for stdout" {
  tagged 2000 47 >"$T/in.ndjson"
  for cmd in sort tag validate; do
    run --separate-stderr cdn -q $cmd "$T/in.ndjson" -o /dev/full
    assert_failure 3
    assert_equal "$stderr" "cdn $cmd: cannot write '/dev/full': No space left on device; free space on its file system or write to another one"
    run --separate-stderr bash -c "'$CDN' -q $cmd '$T/in.ndjson' >/dev/full"
    assert_failure 3
    assert_equal "$stderr" "cdn $cmd: cannot write '<stdout>': No space left on device; free space on its file system or write to another one"
  done
}
