#!/usr/bin/env bats
# cdn predict's drift watch: live records against the reference distributions cdn train keeps
# in the bundle, by the population stability index per feature and of the score.

# bats file_tags=xgboost

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3
SCHEMA="$REPO_ROOT/schemas/cdn-data.json"
FEATURES="asn country pop device content_type http_status cache_status bytes_sent response_time_ms ttfb_ms rtt_ms throughput_kbps bitrate_kbps"

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$CDN" gen -q --rows 50000 --seed 51 -f csv -o "$d/train.csv"
  "$CDN" train -q --schema "$SCHEMA" --rounds 20 "$d/train.csv" -o "$d/m"
  "$CDN" gen -q --rows 50000 --seed 52 --no-label | "$CDN" tag -q >"$d/live.ndjson"
  "$CDN" gen -q --rows 50000 --seed 52 --no-label --shift devices,slow-region=europe | "$CDN" tag -q >"$d/shifted.ndjson"
}

setup() {
  D="$BATS_FILE_TMPDIR"
  T="$BATS_TEST_TMPDIR"
}

# The broker a test started ends with it (nothing when none was started).
teardown() {
  stop_broker
}

# psi_check LIVE: one window over the 50,000 records; the report line, and the values
# computed apart in Python on the bundle's bins (and its reference against the training CSV).
psi_check() {
  run --separate-stderr cdn predict -m "$D/m" --drift-window 50000 --drift-report "$T/report.ndjson" "$1"
  assert_success
  echo "$output" >"$T/pred.ndjson"
  DRIFT_STDERR=$stderr
  assert_equal "$(wc -l <"$T/report.ndjson")" 1
  assert_equal "$(jq -c '[.records, .partial, .threshold, .model]' "$T/report.ndjson")" \
    "[50000,false,0.2,\"$(jq -r .model_hash "$D/m/manifest.json")\"]"
  assert_equal "$(jq -r '.psi | keys_unsorted | join(" ")' "$T/report.ndjson")" "$FEATURES"
  run "$PY" "$REPO_ROOT/tests/cli/py/drift_psi.py" "$D/m" "$1" "$T/pred.ndjson" "$T/report.ndjson" "$D/train.csv"
  [[ $status -eq 0 ]] || fail "$output"
  echo "$output" | tr '\n' ' ' | sed 's/^/# /' >&3
  echo >&3
}

@test "on data shifted in two features (device, rtt_ms) their PSI passes 0.2 and every other stays under 0.1, equal to Python's on the same bins" {
  psi_check "$D/shifted.ndjson"
  jq -e '.psi.device > 0.2 and .psi.rtt_ms > 0.2' "$T/report.ndjson"
  jq -e '[.psi | to_entries[] | select(.key != "device" and .key != "rtt_ms") | .value] | max < 0.1' "$T/report.ndjson"
  assert_equal "$(jq -c '.above - ["score"]' "$T/report.ndjson")" '["device","rtt_ms"]'
  # one warning for each, naming it
  assert_equal "$(grep -c 'drift: feature' <<<"$DRIFT_STDERR")" 2
  [[ $DRIFT_STDERR == *"cdn predict: warning: drift: feature 'device' has a PSI of "*" over the last 50000 records (threshold 0.200): live records no longer look like the data the model "* ]] ||
    fail "$DRIFT_STDERR"
  [[ $DRIFT_STDERR == *"drift: feature 'rtt_ms' has a PSI of "* ]] || fail "$DRIFT_STDERR"
}

@test "on unshifted data of another seed every PSI stays under 0.1, equal to Python's, and nothing is warned" {
  psi_check "$D/live.ndjson"
  jq -e '[.psi[]] | max < 0.1' "$T/report.ndjson"
  jq -e '.score_psi < 0.1 and .above == []' "$T/report.ndjson"
  [[ $DRIFT_STDERR != *drift* ]] || fail "$DRIFT_STDERR"
}

@test "windows of N records: a feature past the threshold is warned about once while it stays there; the gauges show the last window" {
  mkfifo "$T/feed"
  port=$(free_port)
  "$CDN" predict -m "$D/m" --batch-size 1000 --drift-window 10000 --drift-report "$T/report.ndjson" \
    --metrics-addr "127.0.0.1:$port" <"$T/feed" >/dev/null 2>"$T/err" &
  pid=$!
  exec 4>"$T/feed"
  head -20000 "$D/live.ndjson" >&4
  head -30000 "$D/shifted.ndjson" >&4
  wait_lines "$T/report.ndjson" 5 60 "$pid"
  local i
  for ((i = 0; i < 100; i++)); do
    curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$T/metrics"
    grep -q '^cdn_drift_windows_total 5$' "$T/metrics" && break
    sleep 0.1
  done
  exec 4>&-
  wait "$pid"
  run jq -c '[.records, .partial, (.above - ["score"])]' "$T/report.ndjson"
  assert_output '[10000,false,[]]
[10000,false,[]]
[10000,false,["device","rtt_ms"]]
[10000,false,["device","rtt_ms"]]
[10000,false,["device","rtt_ms"]]'
  assert_equal "$(grep -c 'drift: feature' "$T/err")" 2
  # the gauges hold the last window's values
  local f want got
  for f in $FEATURES; do
    want=$(tail -1 "$T/report.ndjson" | jq -r ".psi.$f")
    got=$(sed -n "s/^cdn_feature_drift_psi{feature=\"$f\"} //p" "$T/metrics")
    assert_equal "$got" "$want"
  done
  assert_equal "$(sed -n 's/^cdn_score_drift_psi //p' "$T/metrics")" "$(tail -1 "$T/report.ndjson" | jq -r .score_psi)"
}

@test "a window of a duration closes when its time is up, also while the input waits" {
  mkfifo "$T/feed"
  "$CDN" predict -m "$D/m" --drift-window 1s --drift-report "$T/report.ndjson" <"$T/feed" >"$T/out.ndjson" 2>"$T/err" &
  pid=$!
  exec 4>"$T/feed"
  head -2000 "$D/live.ndjson" >&4
  wait_lines "$T/out.ndjson" 2000 30 "$pid"
  # nothing more comes: the open window closes while predict waits, a second after it opened
  local i sum=0
  for ((i = 0; i < 300 && sum < 2000; i++)); do
    sleep 0.1
    sum=$(jq -s 'map(.records) | add // 0' "$T/report.ndjson")
  done
  assert_equal "$sum" 2000
  assert_equal "$(jq -s -c 'map(.partial) | unique' "$T/report.ndjson")" '[false]'
  sed -n '2001,2500p' "$D/live.ndjson" >&4
  exec 4>&-
  wait "$pid"
  # the rest closes at the end of the input, shorter than asked
  assert_equal "$(jq -s 'map(.records) | add' "$T/report.ndjson")" 2500
  assert_equal "$(tail -1 "$T/report.ndjson" | jq -c .partial)" true
}

@test "a bundle without reference distributions, a bad --drift-window, --drift-report -: usage errors that say so" {
  cp -r "$D/m" "$T/old"
  rm "$T/old/reference.json"
  jq -c 'del(.reference_hash)' "$D/m/manifest.json" >"$T/old/manifest.json"
  run --separate-stderr cdn predict -m "$T/old" --drift-window 100 "$D/live.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: the model bundle '$T/old' holds no reference distributions (reference.json) to measure drift against; train it again with this cdn, or leave out --drift-window and --drift-report"
  # without drift it scores as before
  run --separate-stderr cdn predict -m "$T/old" "$D/live.ndjson"
  assert_success
  # a reference that is not the bundle's own is refused by its hash
  cp -r "$D/m" "$T/tampered"
  jq -c '.rows = 1' "$D/m/reference.json" >"$T/tampered/reference.json"
  run --separate-stderr cdn predict -m "$T/tampered" "$D/live.ndjson"
  assert_failure 2
  [[ $stderr == "cdn predict: the model bundle '$T/tampered' does not hold together: reference.json has hash "* ]] || fail "$stderr"
  for w in 0 ten 5x -1; do
    run --separate-stderr cdn predict -m "$D/m" --drift-window "$w" "$D/live.ndjson"
    assert_failure 2
    assert_equal "$stderr" "cdn predict: bad value '$w' for --drift-window; give a number of records (10000) or a duration (30s, 10m, 1h)"
  done
  run --separate-stderr cdn predict -m "$D/m" --drift-report - "$D/live.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: --drift-report takes a file (each window's line is appended) or kafka:TOPIC, not '-': standard output holds the predictions"
}

# bats test_tags=kafka
@test "--drift-report kafka:TOPIC produces each window's line to the topic" {
  start_broker --topic drift:1
  run --separate-stderr cdn predict -m "$D/m" --drift-window 10000 --batch-size 1000 --drift-report kafka:drift "$D/shifted.ndjson"
  assert_success
  run --separate-stderr cdn consume -q -e kafka:drift
  assert_success
  assert_equal "$(jq -c '[.records, (.above - ["score"])]' <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" '5 [10000,["device","rtt_ms"]]'
}

@test "a model swapped in closes the window of the one before (partial) and is watched against its own reference, in windows from its first record; one without a reference is refused" {
  cdn train -q --schema "$SCHEMA" --rounds 7 "$D/train.csv" -o "$T/v2"
  cp -r "$T/v2" "$T/old"
  rm "$T/old/reference.json"
  jq -c 'del(.reference_hash)' "$T/v2/manifest.json" >"$T/old/manifest.json"
  ln -s "$D/m" "$T/current"
  v1=$(jq -r .model_hash "$D/m/manifest.json")
  v2=$(jq -r .model_hash "$T/v2/manifest.json")
  mkfifo "$T/feed"
  "$CDN" predict -m "$T/current" --drift-window 3000 --drift-report "$T/report.ndjson" <"$T/feed" >"$T/out.ndjson" 2>"$T/err" &
  pid=$!
  exec 4>"$T/feed"
  head -4000 "$D/live.ndjson" >&4
  wait_lines "$T/out.ndjson" 4000 60 "$pid"
  # a bundle without a reference cannot be watched: refused, the model in use goes on
  ln -sfn "$T/old" "$T/current"
  wait_for "$T/err" "refused the model bundle at '$T/current': the model bundle '$T/current' holds no reference distributions"
  ln -sfn "$T/v2" "$T/current"
  wait_for "$T/err" "loaded the model $v2"
  sed -n '4001,10000p' "$D/live.ndjson" >&4
  exec 4>&-
  wait "$pid"
  run jq -r '[.model, .records, .partial] | @tsv' "$T/report.ndjson"
  assert_output "$v1	3000	false
$v1	1000	true
$v2	3000	false
$v2	3000	false"
}
