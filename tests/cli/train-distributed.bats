#!/usr/bin/env bats
# cdn train over XGBoost's collective: workers on 127.0.0.1, each with a shard of one CSV, train
# one model through the tracker that scripts/train-tracker.sh starts.

# bats file_tags=xgboost

load test_helper

bats_require_minimum_version 1.5.0

SCHEMA="$REPO_ROOT/schemas/cdn-data.json"
TRACKER_SH="$REPO_ROOT/scripts/train-tracker.sh"
# The options every worker and the single process share.
OPTS=(-q --schema "$SCHEMA" --seed 7 --threads 1)
# The model compared: at these settings, held-out AUCs of 2 and 4 workers came within 0.0015 of
# one process's (bench/train-distributed.sh; docs/distributed-training.md).
MODEL=(--rounds 100 --eta 0.1 --max-depth 4)

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$CDN" gen -q --rows 60000 --seed 41 -f csv -o "$d/train.csv"
  # Held-out rows: another day, another seed.
  "$CDN" gen -q --rows 6000 --seed 42 --start 2026-11-23T00:00:00Z -f csv -o "$d/test.csv"
  # Two shards, every other row; shard 1 alone has the POP 'QQQ9' (its first 40 rows).
  local pop
  pop=$(head -1 "$d/train.csv" | tr ',' '\n' | grep -nx pop | cut -d: -f1)
  awk -F, -v OFS=, -v pop="$pop" 'NR == 1 { print > s0; print > s1; next }
    NR % 2 == 0 { print > s0; next }
    { if (++n <= 40) $pop = "QQQ9"; print > s1 }' \
    s0="$d/shard0.csv" s1="$d/shard1.csv" "$d/train.csv"
  cat "$d/shard0.csv" <(tail -n +2 "$d/shard1.csv") >"$d/whole.csv"
  "$CDN" train "${OPTS[@]}" "${MODEL[@]}" "$d/whole.csv" -o "$d/single"
}

setup() {
  D="$BATS_FILE_TMPDIR"
  T="$BATS_TEST_TMPDIR"
}

teardown() {
  local p
  for p in ${PIDS:-}; do kill "$p" 2>/dev/null || true; done
}

# start_tracker N: the tracker on a port it picks; TRACKER is its HOST:PORT, TRACKER_PID its pid.
start_tracker() {
  "$TRACKER_SH" --workers "$1" --port 0 >"$T/tracker.out" 2>"$T/tracker.err" 3>&- &
  TRACKER_PID=$!
  PIDS+=" $TRACKER_PID"
  wait_lines "$T/tracker.out" 1 20 "$TRACKER_PID"
  TRACKER=$(sed -n 's/^CDN_TRACKER=\([^ ]*\) .*/\1/p' "$T/tracker.out")
  [ -n "$TRACKER" ]
}

# worker RANK N ARGS...: cdn train as worker RANK of N in the background, its stderr in
# $T/wRANK.err and its status, once it ends, in $T/wRANK.status; W[RANK] is its pid.
worker() {
  local rank=$1 n=$2
  shift 2
  (
    "$CDN" train --tracker "$TRACKER" --workers "$n" --rank "$rank" "$@" \
      2>"$T/w$rank.err" &
    echo $! >"$T/w$rank.pid"
    s=0
    wait $! || s=$?
    echo "$s" >"$T/w$rank.status"
  ) 3>&- &
  PIDS+=" $!"
  wait_lines "$T/w$rank.pid" 1 10
  W[rank]=$(cat "$T/w$rank.pid")
  PIDS+=" ${W[rank]}"
}

# finished RANK [SECONDS]: waits (60 s at most) for worker RANK to end; STATUS is its status.
finished() {
  local i
  for ((i = 0; i < ${2:-60} * 10; i++)); do
    [ -s "$T/w$1.status" ] && break
    sleep 0.1
  done
  [ -s "$T/w$1.status" ] || { echo "worker $1 still runs after ${2:-60} s" >&2; cat "$T/w$1.err" >&2; false; }
  STATUS=$(cat "$T/w$1.status")
}

# tracker_ended: waits (20 s at most) for the tracker to end; TRACKER_STATUS is its status.
tracker_ended() {
  local i
  for ((i = 0; i < 200; i++)); do
    pid_alive "$TRACKER_PID" || break
    sleep 0.1
  done
  run wait "$TRACKER_PID"
  TRACKER_STATUS=$status
}

auc_of() {
  "$CDN" eval --json -m "$1" "$D/test.csv" | jq -r .auc
}

@test "two workers with a shard each train a model as good as one process on the whole file, written once by worker 0" {
  start_tracker 2
  worker 1 2 "${OPTS[@]}" "${MODEL[@]}" "$D/shard1.csv" -o "$T/m1"
  worker 0 2 "${OPTS[@]}" "${MODEL[@]}" "$D/shard0.csv" -o "$T/m0"
  finished 0 300
  [ "$STATUS" -eq 0 ] || { cat "$T/w0.err" >&2; false; }
  finished 1 60
  [ "$STATUS" -eq 0 ] || { cat "$T/w1.err" >&2; false; }
  tracker_ended
  [ "$TRACKER_STATUS" -eq 0 ]
  # The bundle once, by worker 0; worker 1's -o is left alone.
  [ -f "$T/m0/model.ubj" ]
  [ ! -e "$T/m1" ]
  run jq -r .workers "$T/m0/params.json"
  assert_output 2
  grep -q '<tr><th>training</th><td>distributed, 2 workers</td></tr>' "$T/m0/report.html"
  grep -q 'trained by 2 workers' "$T/m0/report.html"
  # AUC on the held-out rows within 0.002 of one process trained on the whole file.
  local one two
  one=$(auc_of "$D/single")
  two=$(auc_of "$T/m0")
  echo "AUC one process $one, two workers $two" >&3
  run /usr/bin/python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(abs(a - b)); sys.exit(abs(a - b) > 0.002 or a < 0.6)" "$one" "$two"
  assert_success
  # The final metrics are over both workers' rows: 60000 training rows in all.
  run jq -r .final.rows "$T/m0/metrics.json"
  assert_output 60000
}

@test "the workers' summary says how many trained, and worker 1 that worker 0 wrote the bundle" {
  start_tracker 2
  worker 1 2 "${OPTS[@]/-q/-v}" --rounds 3 "$D/shard1.csv" -o "$T/m1"
  worker 0 2 "${OPTS[@]/-q/-v}" --rounds 3 "$D/shard0.csv" -o "$T/m0"
  finished 0 300
  [ "$STATUS" -eq 0 ] || { cat "$T/w0.err" >&2; false; }
  finished 1
  [ "$STATUS" -eq 0 ]
  run cat "$T/w0.err"
  assert_output --partial "worker 0 of 2 joined the group at the tracker '$TRACKER'"
  assert_output --partial "the group holds 60000 training and 0 validation rows on 2 workers"
  assert_output --regexp "3 rounds, 3 trees, trained by 2 workers, bundle '[^']*/m0'"
  run cat "$T/w1.err"
  assert_output --partial "trained by 2 workers, bundle written by worker 0 (this is worker 1 of 2)"
  run grep -c "cdn train: worker . of 2 (.*) joins" "$T/tracker.err"
  assert_output 2
}

@test "a category seen by one worker only is in the contract every worker trains with" {
  start_tracker 2
  worker 1 2 "${OPTS[@]}" --rounds 2 "$D/shard1.csv" -o "$T/m1"
  worker 0 2 "${OPTS[@]}" --rounds 2 "$D/shard0.csv" -o "$T/m0"
  finished 0 300
  [ "$STATUS" -eq 0 ] || { cat "$T/w0.err" >&2; false; }
  finished 1
  # Worker 0 never read QQQ9, and its bundle's vocabulary of pop is both shards' values, sorted.
  run grep -c QQQ9 "$D/shard0.csv"
  assert_output 0
  local pop
  pop=$(head -1 "$D/whole.csv" | tr ',' '\n' | grep -nx pop | cut -d: -f1)
  run jq -c '.features[] | select(.name == "pop") | .categories' "$T/m0/contract.json"
  assert_output "$(tail -n +2 "$D/whole.csv" | cut -d, -f"$pop" | LC_ALL=C sort -u | jq -Rsc 'split("\n") | map(select(. != ""))')"
  assert_output --partial '"QQQ9"'
}

@test "a worker killed during training fails every other worker with a clear error, and no bundle is written" {
  start_tracker 3
  local r
  for r in 2 1 0; do
    worker "$r" 3 -v --schema "$SCHEMA" --rounds 100000 --eval-train --threads 1 "$D/shard$((r % 2)).csv" -o "$T/m$r"
  done
  wait_for "$T/w0.err" "] train-auc"
  kill -9 "${W[1]}"
  finished 0 60
  [ "$STATUS" -eq 3 ] || { cat "$T/w0.err" >&2; false; }
  run cat "$T/w0.err"
  assert_output --regexp "cdn train: worker 0 of 3: the group broke during the boosting rounds: another worker stopped or failed \(XGBoost: .*\); its log says why; no bundle written"
  finished 2 60
  [ "$STATUS" -eq 3 ]
  run cat "$T/w2.err"
  assert_output --partial "cdn train: worker 2 of 3: the group broke during the boosting rounds"
  [ ! -e "$T/m0" ]
  [ ! -e "$T/m2" ]
  # The tracker hears of the failure and ends with it.
  tracker_ended
  [ "$TRACKER_STATUS" -eq 1 ]
  run cat "$T/tracker.err"
  assert_output --partial "cdn train: failed: worker"
}

@test "a worker stopped by SIGTERM ends the run: itself and the others with status 3, no bundle" {
  start_tracker 2
  worker 1 2 -v --schema "$SCHEMA" --rounds 100000 --eval-train --threads 1 "$D/shard1.csv" -o "$T/m1"
  worker 0 2 -v --schema "$SCHEMA" --rounds 100000 --eval-train --threads 1 "$D/shard0.csv" -o "$T/m0"
  wait_for "$T/w1.err" "] train-auc"
  kill -TERM "${W[1]}"
  finished 1 60
  [ "$STATUS" -eq 3 ]
  run tail -1 "$T/w1.err"
  assert_output "cdn train: worker 1 of 2: interrupted; the workers train one model together, so the run stops as a whole: no bundle written"
  finished 0 60
  [ "$STATUS" -eq 3 ]
  run tail -1 "$T/w0.err"
  assert_output --partial "cdn train: worker 0 of 2: the group broke during the boosting rounds"
  [ ! -e "$T/m0" ]
}

@test "workers started with different options fail alike, naming the difference" {
  start_tracker 2
  worker 1 2 "${OPTS[@]}" --max-depth 4 "$D/shard1.csv" -o "$T/m1"
  worker 0 2 "${OPTS[@]}" "$D/shard0.csv" -o "$T/m0"
  finished 0 120
  [ "$STATUS" -eq 2 ]
  finished 1
  [ "$STATUS" -eq 2 ]
  for r in 0 1; do
    run cat "$T/w$r.err"
    assert_output "cdn train: worker $r of 2: the workers disagree on the setup: worker 1 has --max-depth 4 where worker 0 has 6; give every worker the same options and schema (only the inputs, --rank and --threads may differ)"
  done
  [ ! -e "$T/m0" ]
}

@test "two workers with one rank fail alike" {
  start_tracker 2
  worker 0 2 "${OPTS[@]}" "$D/shard1.csv" -o "$T/m1"
  (
    s=0
    "$CDN" train --tracker "$TRACKER" --workers 2 --rank 0 --join-timeout 60s "${OPTS[@]}" \
      "$D/shard0.csv" -o "$T/m0" 2>"$T/w9.err" || s=$?
    echo "$s" >"$T/w9.status"
  ) 3>&- &
  PIDS+=" $!"
  finished 0 120
  [ "$STATUS" -eq 2 ]
  finished 9
  [ "$STATUS" -eq 2 ]
  run cat "$T/w0.err" "$T/w9.err"
  assert_output --partial "2 workers were started with --rank 0; give each its own rank from 0 to 1"
}

@test "workers started with different --workers fail alike, and the tracker with them" {
  start_tracker 2
  worker 1 2 "${OPTS[@]}" --rounds 2 "$D/shard1.csv" -o "$T/m1"
  wait_for "$T/tracker.err" "worker 1 of 2"
  worker 0 3 "${OPTS[@]}" --rounds 2 "$D/shard0.csv" -o "$T/m0"
  finished 0 60
  [ "$STATUS" -eq 3 ]
  finished 1 60
  [ "$STATUS" -eq 3 ]
  run cat "$T/w1.err"
  assert_output --partial "cdn train: worker 1 of 2: cannot join the group at the tracker '$TRACKER': "
  assert_output --partial "; a worker with another --workers stops the tracker: start it again and give every worker the same --workers"
  tracker_ended
  [ "$TRACKER_STATUS" -eq 1 ]
  [ ! -e "$T/m0" ]
}

@test "a group that does not form ends within --join-timeout, naming the tracker" {
  start_tracker 2
  worker 0 2 "${OPTS[@]}" --join-timeout 3s "$D/shard0.csv" -o "$T/m0"
  finished 0 30
  [ "$STATUS" -eq 3 ]
  run cat "$T/w0.err"
  assert_output "cdn train: worker 0 of 2: the group did not form within 3s (--join-timeout): the tracker at '$TRACKER' waits until all 2 workers have joined; start the missing ones, each with its own --rank and the same --workers and --tracker"
}

@test "a tracker that does not answer is named within --join-timeout" {
  # A port bound and not listening refuses every connection.
  /usr/bin/python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(120)' >"$T/port" 3>&- &
  PIDS+=" $!"
  wait_lines "$T/port" 1 10
  local port
  port=$(cat "$T/port")
  run --separate-stderr cdn train --tracker "127.0.0.1:$port" --workers 2 --rank 1 --join-timeout 2s \
    "${OPTS[@]}" "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 3 ]
  [ "$stderr" = "cdn train: worker 1 of 2: cannot reach the tracker at '127.0.0.1:$port' within 2s (--join-timeout): Connection refused; start it first (scripts/train-tracker.sh) or check --tracker" ]
}

@test "usage errors: a rank out of range, from the option or the environment, and a missing part" {
  run --separate-stderr cdn train --tracker 127.0.0.1:9 --workers 2 --rank 2 "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 2 ]
  [ "$stderr" = "cdn train: bad value 2 for --rank: the ranks of 2 workers (--workers) go from 0 to 1" ]
  run --separate-stderr env CDN_TRACKER=127.0.0.1:9 CDN_WORKERS=3 JOB_COMPLETION_INDEX=3 "$CDN" train "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 2 ]
  [ "$stderr" = "cdn train: bad value 3 for JOB_COMPLETION_INDEX: the ranks of 3 workers (--workers) go from 0 to 2" ]
  # CDN_RANK comes before JOB_COMPLETION_INDEX, and --rank before CDN_RANK.
  run --separate-stderr env CDN_RANK=5 JOB_COMPLETION_INDEX=0 "$CDN" train --tracker 127.0.0.1:9 --workers 2 "$D/shard0.csv" -o "$T/m"
  [ "$stderr" = "cdn train: bad value 5 for --rank: the ranks of 2 workers (--workers) go from 0 to 1" ]
  run --separate-stderr env CDN_RANK=5 "$CDN" train --tracker 127.0.0.1:9 --workers 2 --rank 7 "$D/shard0.csv" -o "$T/m"
  [ "$stderr" = "cdn train: bad value 7 for --rank: the ranks of 2 workers (--workers) go from 0 to 1" ]
  run --separate-stderr cdn train --tracker 127.0.0.1:9 --workers 2 "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 2 ]
  assert_equal "$stderr" "cdn train: --tracker trains as one of 2 workers; give this worker's --rank from 0 to 1 (or CDN_RANK, or JOB_COMPLETION_INDEX as a Kubernetes Indexed Job sets it)"
  run --separate-stderr cdn train --tracker 127.0.0.1:9 --rank 0 "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 2 ]
  assert_equal "$stderr" "cdn train: --tracker trains together with other workers; say how many with --workers N (or CDN_WORKERS)"
  run --separate-stderr cdn train --workers 2 --rank 0 "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 2 ]
  assert_equal "$stderr" "cdn train: --workers and --rank train together with other workers over a tracker; give --tracker HOST:PORT (or CDN_TRACKER) too, or leave them out to train alone"
  run --separate-stderr cdn train --tracker localhost --workers 2 --rank 0 "$D/shard0.csv" -o "$T/m"
  [ "$status" -eq 2 ]
  assert_equal "$stderr" "cdn train: bad value 'localhost' for --tracker; write HOST:PORT, e.g. 10.0.0.5:9091 or [::1]:9091"
  [ ! -e "$T/m" ]
}

@test "train-tracker.sh refuses a bad worker count and says how it is used" {
  run "$TRACKER_SH" --workers 0
  [ "$status" -eq 2 ]
  assert_output --partial "give --workers N"
  run "$TRACKER_SH" --help
  assert_success
  assert_output --partial "Usage: scripts/train-tracker.sh --workers N"
}
