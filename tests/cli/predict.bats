#!/usr/bin/env bats
# cdn predict: a model bundle applied to a stream of records.

# bats file_tags=xgboost,kafka

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3
SCHEMA="$REPO_ROOT/schemas/cdn-data.json"

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$CDN" gen -q --rows 8000 --seed 21 -f csv -o "$d/train.csv"
  "$CDN" train -q --schema "$SCHEMA" --rounds 30 --time-features "$d/train.csv" -o "$d/m"
  "$CDN" train -q --schema "$SCHEMA" --rounds 5 --objective reg:squarederror --label ttfb_ms \
    --drop sampleID,timestamp,client_ip,qoe_bad "$d/train.csv" -o "$d/reg"
  "$CDN" gen -q --rows 12000 --seed 22 --no-label | "$CDN" tag -q -o "$d/live.ndjson"
}

setup() {
  D="$BATS_FILE_TMPDIR"
  T="$BATS_TEST_TMPDIR"
  # The mock coordinator holds a rejoining group for a whole session timeout: keep it short.
  GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
  REC='{"timestamp":"2026-11-22T10:00:00.000Z","client_ip":"1.2.3.4","asn":3320,"country":"DE","pop":"FRA1","device":"mobile","content_type":"vod","http_status":200,"cache_status":"MISS","bytes_sent":2000000,"response_time_ms":900,"ttfb_ms":120,"rtt_ms":80,"throughput_kbps":3000,"bitrate_kbps":4500'
}

teardown() {
  stop_broker
}

@test "one prediction per record, in input order: sampleID, timestamp and the probability" {
  run --separate-stderr cdn predict -m "$D/m" "$D/live.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 12000
  assert_equal "$(jq -r .sampleID <<<"${lines[0]}")" 1
  assert_equal "$(jq -r .sampleID <<<"${lines[11999]}")" 12000
  assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .sampleID | sort -n -c && echo sorted)" sorted
  assert_equal "$(jq -c 'keys' <<<"${lines[5]}")" '["model","prediction","sampleID","timestamp"]'
  # the model that made it: the hash of the bundle's model.ubj
  assert_equal "$(jq -r .model <<<"${lines[5]}")" "$(jq -r .model_hash "$D/m/manifest.json")"
  assert_equal "$(jq -r .timestamp <<<"${lines[0]}")" "$(head -1 "$D/live.ndjson" | jq -r .timestamp)"
  [[ "$stderr" =~ ^"cdn predict: 12000 in, 12000 out, 0 rejected in "[0-9.]+" s, 0 unknown categories"$ ]]
}

@test "every prediction record is valid against schemas/prediction.json, with --threshold and --explain too" {
  head -300 "$D/live.ndjson" >"$T/in.ndjson"
  cdn predict -q -m "$D/m" "$T/in.ndjson" >"$T/out.ndjson"
  cdn predict -q -m "$D/m" --threshold 0.2 --explain "$T/in.ndjson" >>"$T/out.ndjson"
  run "$PY" - "$REPO_ROOT/schemas/prediction.json" "$T/out.ndjson" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft7Validator(schema)
n = 0
for line in open(sys.argv[2]):
    v.validate(json.loads(line))
    n += 1
print(n)
PY
  assert_success
  assert_output 600
}

# Python XGBoost loading the bundle $D/m as it is, on the feature rows of RECORDS: each of
# the 12,000 predictions within 1e-6.
same_as_python() {  # RECORDS PREDICTIONS
  run "$PY" "$REPO_ROOT/tests/cli/py/predict_parity.py" "$D/m" "$1" "$2"
  assert_success
  echo "$output"
  assert_equal "$(jq .rows <<<"$output")" 12000
  "$PY" -c "import sys; sys.exit(not float(sys.argv[1]) <= 1e-6)" "$(jq .max_abs_diff <<<"$output")"
}

@test "predictions equal Python XGBoost's on the same model and feature rows within 1e-6 (12,000 records)" {
  run --separate-stderr cdn -vv predict -m "$D/m" "$D/live.ndjson" -o "$T/p.ndjson"
  assert_success
  # the compiled trees predict (and were checked against XGBoost when the model loaded)
  [[ "$stderr" =~ "predicting with the compiled trees: 30 trees, equal to XGBoost on 4096 check rows" ]]
  same_as_python "$D/live.ndjson" "$T/p.ndjson"
}

@test "the compiled trees equal Python XGBoost on missing fields and unknown categories too" {
  # every third record loses two features (scored so with --allow-missing), every fifth has
  # values the model never saw in its learned vocabularies
  jq -c 'if .sampleID % 3 == 0 then del(.rtt_ms, .pop) else . end
         | if .sampleID % 5 == 0 then .country = "ZZ" | .pop = "ZZZ9" else . end' \
    "$D/live.ndjson" >"$T/holes.ndjson"
  run --separate-stderr cdn -vv predict --allow-missing -m "$D/m" "$T/holes.ndjson" -o "$T/p.ndjson"
  assert_success
  [[ "$stderr" =~ "predicting with the compiled trees" ]]
  [[ "$stderr" =~ "4800 unknown categories (country 2400, pop 2400) counted as missing, 7200 missing values (pop 3200, rtt_ms 4000)" ]]
  same_as_python "$T/holes.ndjson" "$T/p.ndjson"
}

@test "batch size and threads change nothing in the output" {
  cdn predict -q -m "$D/m" "$D/live.ndjson" -o "$T/a.ndjson"
  cdn predict -q -m "$D/m" --batch-size 7 --threads 2 --flush-interval 0 "$D/live.ndjson" -o "$T/b.ndjson"
  cdn predict -q -m "$D/m" --batch-size 100000 --threads 1 <"$D/live.ndjson" >"$T/c.ndjson"
  cmp "$T/a.ndjson" "$T/b.ndjson"
  cmp "$T/a.ndjson" "$T/c.ndjson"
}

@test "a quiet pipe sends out what was read, whatever --flush-interval says" {
  # three records, then the pipe stays open and quiet until the test has seen them out
  slow() {
    head -n 3 "$D/live.ndjson"
    local deadline=$((SECONDS + 60))
    until [[ -e $T/seen ]] || ((SECONDS > deadline)); do sleep 0.1; done
  }
  slow | cdn predict -q -m "$D/m" --flush-interval 60s >"$T/out" 3>&- &
  a=$!
  deadline=$((SECONDS + 30))
  until (($(wc -l <"$T/out") >= 3)) || ((SECONDS > deadline)); do sleep 0.1; done
  n=$(wc -l <"$T/out")
  touch "$T/seen"
  wait "$a"
  assert_equal "$n" 3
}

@test "records without a sampleID, with a wrong-typed feature or broken JSON go to rejects with the reason" {
  { echo "$REC,\"sampleID\":1}"
    echo "$REC}"
    echo "${REC/\"asn\":3320/\"asn\":\"3320\"},\"sampleID\":3}"
    echo "${REC/\"device\":\"mobile\"/\"device\":7},\"sampleID\":4}"
    echo "${REC/2026-11-22T10:00:00.000Z/yesterday},\"sampleID\":5}"
    echo "$REC,\"sampleID\":[6]}"
    echo '{"sampleID":7'
    echo '[1,2]'
    echo "$REC,\"sampleID\":\"s-9\"}"; } >"$T/in.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --rejects "$T/rej.ndjson" "$T/in.ndjson"
  assert_failure 1
  assert_equal "${#lines[@]}" 2
  assert_equal "$(jq -c .sampleID <<<"${lines[0]}")" 1
  assert_equal "$(jq -c .sampleID <<<"${lines[1]}")" '"s-9"'
  [[ "$stderr" =~ "cdn predict: 9 in, 2 out, 7 rejected" ]]
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_line --index 0 "2	no 'sampleID' (cdn tag attaches one)"
  assert_line --index 1 "3	field 'asn' is a string; the model wants a number"
  assert_line --index 2 "4	field 'device' is a number; the model wants a string"
  assert_line --index 3 "5	field 'timestamp' is not an RFC 3339 time"
  assert_line --index 4 "6	'sampleID' is an array, not a string or an integer"
  assert_line --index 5 --regexp "^7	invalid JSON: "
  assert_line --index 6 "8	not a JSON object but an array"
}

@test "a record breaking the schema's rules the model was trained by goes to rejects, as cdn train refuses it" {
  { echo "$REC,\"sampleID\":1}"
    echo "${REC/\"rtt_ms\":80/\"rtt_ms\":true},\"sampleID\":2}"
    echo "${REC/\"rtt_ms\":80/\"rtt_ms\":\"12.5\"},\"sampleID\":3}"
    echo "${REC/\"asn\":3320/\"asn\":3320.5},\"sampleID\":4}"
    echo "${REC/\"http_status\":200/\"http_status\":700},\"sampleID\":5}"
    echo "${REC/\"ttfb_ms\":120/\"ttfb_ms\":-1},\"sampleID\":6}"
    echo "${REC/\"device\":\"mobile\"/\"device\":\"fridge\"},\"sampleID\":7}"
    echo "${REC/\"asn\":3320/\"asn\":0},\"sampleID\":8}"; } >"$T/in.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --rejects "$T/rej.ndjson" "$T/in.ndjson"
  assert_failure 1
  assert_equal "${#lines[@]}" 1
  [[ "$stderr" =~ "cdn predict: 8 in, 1 out, 7 rejected" ]]
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_line --index 0 "2	field 'rtt_ms': true is a boolean, not a number"
  assert_line --index 1 "3	field 'rtt_ms' is a string; the model wants a number"
  assert_line --index 2 "4	field 'asn': 3320.5 is not an integer"
  assert_line --index 3 "5	field 'http_status': 700 is above the maximum 599"
  assert_line --index 4 "6	field 'ttfb_ms': -1 is below the minimum 0"
  assert_line --index 5 "7	field 'device' is 'fridge', not one of the values the schema allows"
  assert_line --index 6 "8	field 'asn': 0 is below the minimum 1"
  # cdn train refuses the same rows, for the same reasons
  printf '%s\n' "$(head -1 "$D/train.csv")" >"$T/bad.csv"
  row=$(sed -n 2p "$D/train.csv")
  IFS=, read -r -a cells <<<"$row"
  for change in "12:true" "2:3320.5" "7:700" "11:-1" "5:fridge"; do
    local c=("${cells[@]}")
    c[${change%%:*}]=${change#*:}
    (IFS=,; echo "${c[*]}") >>"$T/bad.csv"
  done
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 2 "$D/train.csv" "$T/bad.csv" -o "$T/m2" --rejects "$T/trej.ndjson"
  assert_failure 1
  run jq -r .reason "$T/trej.ndjson"
  assert_line --index 0 "column 'rtt_ms': 'true' is a boolean, not a number"
  assert_line --index 1 "column 'asn': '3320.5' is not an integer"
  assert_line --index 2 "column 'http_status': '700' is above the maximum 599"
  assert_line --index 3 "column 'ttfb_ms': '-1' is below the minimum 0"
  assert_line --index 4 "column 'device': 'fridge' is not one of the values the schema allows"
}

@test "a record missing a feature the schema requires, or that training never saw missing, is rejected; --allow-missing scores it; each is counted" {
  { echo "$REC,\"sampleID\":1}"
    echo "${REC/\"rtt_ms\":80,/},\"sampleID\":2}"
    echo "${REC/\"rtt_ms\":80/\"rtt_ms\":null},\"sampleID\":3}"
    echo "${REC/\"device\":\"mobile\",/},\"sampleID\":4}"; } >"$T/in.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --rejects "$T/rej.ndjson" "$T/in.ndjson"
  assert_failure 1
  assert_equal "${#lines[@]}" 1
  [[ "$stderr" =~ "cdn predict: 4 in, 1 out, 3 rejected in "[0-9.]+" s, 0 unknown categories, 3 missing values (device 1, rtt_ms 2)"$ ]] ||
    fail "$stderr"
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_line --index 0 "2	field 'rtt_ms' is missing; the schema requires it (--allow-missing scores it as missing)"
  assert_line --index 1 "3	field 'rtt_ms' is missing; the schema requires it (--allow-missing scores it as missing)"
  assert_line --index 2 "4	field 'device' is missing; the schema requires it (--allow-missing scores it as missing)"
  run --separate-stderr cdn predict --allow-missing -m "$D/m" "$T/in.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 4
  [[ "$stderr" =~ "4 in, 4 out, 0 rejected in "[0-9.]+" s, 0 unknown categories, 3 missing values (device 1, rtt_ms 2)"$ ]]
  # the bundle says what training saw missing; a field the schema does not require, never
  # missing in training, is refused as well
  jq -e '[.features[] | select(.name == "rtt_ms")][0] | .missing == 0 and .required and .type == "number" and .minimum == 0' \
    "$D/m/contract.json"
  jq 'del(.required[] | select(. == "rtt_ms"))' "$SCHEMA" >"$T/loose.json"
  cdn train -q --schema "$T/loose.json" --rounds 2 "$D/train.csv" -o "$T/loose"
  run --separate-stderr cdn predict -m "$T/loose" "$T/in.ndjson"
  assert_failure 1
  [[ "$stderr" == *"field 'rtt_ms' is missing; the model was trained without it ever missing (--allow-missing scores it as missing)"* ]]
  # seen missing in training: scored
  { head -1 "$D/train.csv"; sed -n '2,50p' "$D/train.csv"; sed -n '51,60p' "$D/train.csv" | awk -F, -v OFS=, '{ $13 = ""; print }'; } >"$T/holes.csv"
  cdn train -q --schema "$T/loose.json" --rounds 2 "$T/holes.csv" -o "$T/holes"
  jq -e '[.features[] | select(.name == "rtt_ms")][0] | .missing == 10 and (.required | not)' "$T/holes/contract.json"
  run --separate-stderr cdn predict -m "$T/holes" "$T/in.ndjson"
  [[ "$stderr" == *"4 in, 3 out, 1 rejected"* ]] || fail "$stderr"
}

@test "records that do not fit the model at all stop the run: the fields it wants and those they hold" {
  # the issue's record: none of the features
  echo '{"sampleID":1,"timestamp":"2026-11-22T10:00:00Z","rtt":5}' >"$T/other.ndjson"
  run --separate-stderr cdn predict -m "$D/m" "$T/other.ndjson" -o "$T/out.ndjson"
  assert_failure 2
  [[ $stderr == *"the records do not fit the model '$D/m': 1 of the first 1 hold fewer than half of its features. It wants the fields asn, country, pop, device,"*"; they hold sampleID, timestamp, rtt. Is it the model for these records?"* ]] ||
    fail "$stderr"
  [[ ! -e $T/out.ndjson ]]
  # a bundle trained on another schema, scoring CDN records
  cat >"$T/other.json" <<'JSON'
{"type":"object","properties":{"temp":{"type":"number"},"humidity":{"type":"number"},"site":{"type":"string"},"hot":{"type":"integer","enum":[0,1]}},"required":["temp","humidity","site"]}
JSON
  { echo 'temp,humidity,site,hot'
    for i in $(seq 1 200); do echo "$((i % 40)),$((i * 7 % 100)),s$((i % 3)),$((i % 40 > 25 ? 1 : 0))"; done; } >"$T/other.csv"
  cdn train -q --schema "$T/other.json" --label hot --rounds 3 "$T/other.csv" -o "$T/weather"
  run --separate-stderr cdn predict -m "$T/weather" "$D/live.ndjson"
  assert_failure 2
  [[ $stderr == *"the records do not fit the model '$T/weather': "[0-9]*" of the first "[0-9]*" hold fewer than half of its features. It wants the fields temp, humidity, site; they hold "*"sampleID"* ]] ||
    fail "$stderr"
  assert_equal "${#lines[@]}" 0
  # a stream that fits, with a few records that do not: those are rejected, the run goes on
  { head -5 "$D/live.ndjson"; cat "$T/other.ndjson"; } >"$T/mixed.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --rejects "$T/rej.ndjson" "$T/mixed.ndjson"
  assert_failure 1
  assert_equal "${#lines[@]}" 5
}

@test "an unknown category counts as missing and is counted" {
  { echo "${REC/\"pop\":\"FRA1\"/\"pop\":\"XXX9\"},\"sampleID\":1}"
    echo "${REC/\"pop\":\"FRA1\"/\"pop\":null},\"sampleID\":2}"
    echo "${REC/\"pop\":\"FRA1\",/},\"sampleID\":3}"
    echo "${REC/\"country\":\"DE\"/\"country\":\"ZZ\"},\"sampleID\":4}"; } >"$T/in.ndjson"
  run --separate-stderr cdn predict --allow-missing -m "$D/m" "$T/in.ndjson"
  assert_success
  [[ "$stderr" =~ "4 in, 4 out, 0 rejected in "[0-9.]+" s, 2 unknown categories (country 1, pop 1) counted as missing, 2 missing values (pop 2)"$ ]]
  p1=$(jq .prediction <<<"${lines[0]}")
  assert_equal "$(jq .prediction <<<"${lines[1]}")" "$p1"
  assert_equal "$(jq .prediction <<<"${lines[2]}")" "$p1"
}

@test "--threshold adds the predicted label" {
  run cdn predict -q -m "$D/m" --threshold 0.1 "$D/live.ndjson"
  assert_success
  bad=$(printf '%s\n' "${lines[@]}" | jq -c 'select((.prediction >= 0.1) != (.label == 1))' | wc -l)
  assert_equal "$bad" 0
  ones=$(printf '%s\n' "${lines[@]}" | jq -c 'select(.label == 1)' | wc -l)
  [ "$ones" -gt 0 ] && [ "$ones" -lt 12000 ]
}

@test "--threshold on a regression model is a usage error" {
  run --separate-stderr cdn predict -m "$D/reg" --threshold 0.5 "$D/live.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: --threshold applies to binary classifiers; this model's objective is reg:squarederror"
}

@test "a regression model predicts the value" {
  head -500 "$D/live.ndjson" >"$T/in.ndjson"
  run --separate-stderr cdn -vv predict -m "$D/reg" "$T/in.ndjson" -o "$T/p.ndjson"
  assert_success
  [[ "$stderr" =~ "predicting with the compiled trees: 5 trees" ]]
  run "$PY" "$REPO_ROOT/tests/cli/py/predict_parity.py" "$D/reg" "$T/in.ndjson" "$T/p.ndjson"
  assert_success
  "$PY" -c "import sys; sys.exit(not float(sys.argv[1]) <= 1e-6 * 1000)" "$(jq .max_abs_diff <<<"$output")"
  [ "$(jq -s 'map(.prediction) | max' "$T/p.ndjson" | cut -d. -f1)" -gt 1 ]
}

@test "a multi-class model predicts one probability per class and the most probable class" {
  cat >"$T/schema.json" <<'JSON'
{"properties": {"timestamp": {"type": "string", "format": "date-time"}, "sampleID": {"type": "integer"},
 "x": {"type": "number"}, "cls": {"type": "integer"}}}
JSON
  awk 'BEGIN { srand(3); print "timestamp,sampleID,x,cls";
    for (i = 0; i < 2000; i++) { x = rand() * 3; print "2026-11-22T00:00:00Z," i "," x "," int(x) } }' >"$T/multi.csv"
  cdn train -q --schema "$T/schema.json" --label cls --objective multi:softprob --rounds 10 "$T/multi.csv" -o "$T/mc"
  printf '%s\n' '{"sampleID":1,"timestamp":"2026-11-22T00:00:00Z","x":0.5}' '{"sampleID":2,"timestamp":"2026-11-22T00:00:00Z","x":2.5}' >"$T/in.ndjson"
  run --separate-stderr cdn -vv predict -m "$T/mc" "$T/in.ndjson"
  assert_success
  [[ "$stderr" =~ "predicting with XGBoost: the compiled trees do not take this model (objective 'multi:softprob')" ]]
  assert_equal "$(jq -c '[(.prediction | length), .label, (.prediction | add * 1000 | round)]' <<<"${lines[0]}")" "[3,0,1000]"
  assert_equal "$(jq -c '.label' <<<"${lines[1]}")" 2
  run --separate-stderr cdn predict -m "$T/mc" --explain "$T/in.ndjson"
  assert_failure 2
  [[ "$stderr" =~ "--explain gives one contribution per feature, which a multi-class model does not have" ]]
}

@test "--keep copies input fields into each prediction" {
  run cdn predict -q -m "$D/m" --keep pop,device,nosuch "$D/live.ndjson"
  assert_success
  assert_equal "$(jq -c '[.pop, .device]' <<<"${lines[0]}")" "$(head -1 "$D/live.ndjson" | jq -c '[.pop, .device]')"
  assert_equal "$(jq -c 'has("nosuch")' <<<"${lines[0]}")" false
}

@test "--keep naming a field no record has is warned about once, with the nearest field; one some records lack is not" {
  head -50 "$D/live.ndjson" >"$T/in.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --keep pop,devise,nosuch "$T/in.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 50
  assert_equal "$(jq -c '[.pop, .device]' <<<"${lines[0]}")" "$(head -1 "$T/in.ndjson" | jq -c '[.pop, null]')"
  assert_equal "$(grep -c warning <<<"$stderr")" 1
  assert_equal "$(head -n 1 <<<"$stderr")" "cdn predict: warning: none of the first 50 records read has the fields 'devise' named by --keep (did you mean 'device'?), or 'nosuch' named by --keep; their fields: timestamp, client_ip, asn, country, pop, device, content_type, http_status, cache_status, bytes_sent, response_time_ms, ttfb_ms, rtt_ms, throughput_kbps, bitrate_kbps, sampleID"
  [[ $(tail -n 1 <<<"$stderr") == "cdn predict: 50 in, 50 out, 0 rejected in "* ]]
  # past the first 1000 records the warning is still one, and comes when they are read
  run --separate-stderr cdn predict -m "$D/m" --keep nosuch "$D/live.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 12000
  assert_equal "$stderr" "cdn predict: warning: none of the first 1000 records read has the field 'nosuch' named by --keep; their fields: timestamp, client_ip, asn, country, pop, device, content_type, http_status, cache_status, bytes_sent, response_time_ms, ttfb_ms, rtt_ms, throughput_kbps, bitrate_kbps, sampleID
$(tail -n 1 <<<"$stderr")"
  # a field that only some records have is no mistake
  { head -3 "$D/live.ndjson"; head -4 "$D/live.ndjson" | tail -1 | jq -c '. + {"extra": 1}'; } >"$T/some.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --keep extra "$T/some.ndjson"
  assert_success
  [[ $stderr != *warning* ]] || fail "$stderr"
  assert_equal "$(jq -c .extra <<<"${lines[3]}")" 1
}

@test "--explain adds each feature's contribution, which with the bias sum to the margin" {
  head -200 "$D/live.ndjson" >"$T/in.ndjson"
  run cdn predict -q -m "$D/m" --explain "$T/in.ndjson"
  assert_success
  assert_equal "$(jq -c '.contributions | keys | length' <<<"${lines[0]}")" 16
  bad=$(printf '%s\n' "${lines[@]}" | jq -c 'select(((.contributions | add) - ((.prediction / (1 - .prediction)) | log)) | fabs > 1e-4)' | wc -l)
  assert_equal "$bad" 0
}

@test "a bundle whose parts do not match is refused" {
  cp -r "$D/m" "$T/m"
  sed -i 's/"FRA1"/"FRA9"/' "$T/m/contract.json"
  run --separate-stderr cdn predict -m "$T/m" "$D/live.ndjson"
  assert_failure 2
  [[ "$stderr" =~ ^"cdn predict: the model bundle '$T/m' does not hold together: contract.json has hash "[0-9a-f]{16}" but manifest.json expects "[0-9a-f]{16}"; train it again with cdn train"$ ]]
  assert_equal "$output" ""
}

@test "a bundle with a broken manifest.json is refused, saying what is wrong with it, by predict and eval" {
  local manifest c
  for manifest in '' '[]' 'not json' '{"model_hash":"x"}' '{"contract_hash":"x","model_hash":7}'; do
    rm -rf "$T/m"
    cp -r "$D/m" "$T/m"
    printf '%s' "$manifest" >"$T/m/manifest.json"
    for c in predict eval; do
      run --separate-stderr cdn $c -m "$T/m" "$D/live.ndjson"
      assert_failure 2
      [[ "$stderr" =~ ^"cdn $c: the model bundle '$T/m' has a broken manifest.json: it "(is not JSON|has no \"(model|contract)_hash\" string)"; train the bundle again with cdn train"$ ]] ||
        fail "$manifest: $stderr"
      assert_equal "$output" ""
    done
  done
}

@test "a model from another training swapped into a bundle is refused" {
  cp -r "$D/m" "$T/m"
  # the other model with its own manifest, told that the contract is this bundle's: every
  # file hash matches, and only the contract hash inside the model tells them apart
  cp "$D/reg/model.ubj" "$T/m/model.ubj"
  jq -c --arg h "$(jq -r .contract_hash "$D/m/manifest.json")" '.contract_hash = $h' "$D/reg/manifest.json" >"$T/m/manifest.json"
  run --separate-stderr cdn predict -m "$T/m" "$D/live.ndjson"
  assert_failure 2
  [[ "$stderr" =~ "does not hold together: the model was trained with the feature contract "[0-9a-f]{16}" but contract.json is "[0-9a-f]{16} ]]
}

@test "a missing model bundle is a usage error" {
  run --separate-stderr cdn predict -m "$T/nope" "$D/live.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: cannot open the model bundle '$T/nope': no such directory (cdn train -o DIR writes one)"
}

@test "CSV input is typed by --schema and predicted like NDJSON" {
  "$CDN" gen -q --rows 300 --seed 23 -f csv | awk -F, -v OFS=, 'NR == 1 { print $0, "sampleID"; next } { print $0, NR - 1 }' >"$T/in.csv"
  "$CDN" gen -q --rows 300 --seed 23 | "$CDN" tag -q -o "$T/in.ndjson"
  cdn predict -q -m "$D/m" --schema "$SCHEMA" "$T/in.csv" -o "$T/csv.out"
  cdn predict -q -m "$D/m" "$T/in.ndjson" -o "$T/ndjson.out"
  # the schema types sampleID as a string first: CSV IDs come out as strings
  assert_equal "$(jq -r .sampleID "$T/csv.out" | head -2 | tr '\n' ' ')" "1 2 "
  cmp <(jq -c '[.timestamp, .prediction]' "$T/csv.out") <(jq -c '[.timestamp, .prediction]' "$T/ndjson.out")
}

# in_topic N: the first N live records, keyed by sampleID, into the topic cdndata.
in_topic() {
  head -n "$1" "$D/live.ndjson" | "$CDN" produce -q -t cdndata --key-field sampleID
}

@test "Kafka in, Kafka out: a consumer group gets one prediction per record" {
  start_broker --topic cdndata:4 --topic cdnresult:4
  in_topic 3000
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" kafka:cdndata -o kafka:cdnresult -G predictors -e "${GROUP_X[@]}"
  assert_success
  [[ "$stderr" =~ "cdn predict: 3000 in, 3000 out, 0 rejected" ]]
  "$CDN" consume -q -t cdnresult -e -o "$T/out.ndjson"
  assert_equal "$(jq .sampleID "$T/out.ndjson" | sort -n | uniq | wc -l)" 3000
  assert_equal "$(wc -l <"$T/out.ndjson")" 3000
  # the group committed its offsets: a second run has nothing left to do
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" kafka:cdndata -o kafka:cdnresult -G predictors -e "${GROUP_X[@]}"
  assert_success
  [[ "$stderr" =~ "cdn predict: 0 in, 0 out, 0 rejected" ]]
}

@test "a live stream is predicted as it arrives, not held until a batch fills" {
  start_broker --topic cdndata:1 --topic cdnresult:1
  "$CDN" predict -q -m "$D/m" --batch-size 100000 --flush-interval 60s kafka:cdndata -G live "${GROUP_X[@]}" >"$T/out" 2>"$T/err" &
  pid=$!
  in_topic 3
  wait_lines "$T/out" 3 30 "$pid"
  kill -TERM "$pid"
  local st=0
  wait "$pid" || st=$?
  assert_equal "$st" 143 # stopped by SIGTERM: 128 + 15
  assert_equal "$(jq -c .sampleID "$T/out" | tr '\n' ' ')" "1 2 3 "
}

@test "kill -9 in the middle of a stream, then a restart: every record has at least one prediction" {
  start_broker --topic cdndata:4 --topic cdnresult:4
  "$CDN" predict -q -m "$D/m" --batch-size 64 kafka:cdndata -o kafka:cdnresult -G predictors "${GROUP_X[@]}" 2>"$T/err1" &
  pid=$!
  # the first 3,000 records: predicted once the instance has joined the group
  in_topic 3000
  deadline=$((SECONDS + 60))
  until (($("$CDN" consume -q -t cdnresult -e | wc -l) >= 3000)) || ((SECONDS > deadline)); do sleep 0.5; done
  # the other 9,000 arrive over nine seconds; two seconds in, kill without warning
  sed -n '3001,12000p' "$D/live.ndjson" | "$CDN" produce -q -t cdndata --key-field sampleID --rate 1000 &
  producer=$!
  sleep 2
  kill -KILL "$pid"
  wait "$pid" || true
  # most often still sending (the kill came in the middle of the stream); every record is
  # predicted whichever
  kill -0 "$producer" 2>/dev/null || echo "# the producer was done before the kill"
  wait "$producer"
  run --separate-stderr timeout 90 "$CDN" predict -m "$D/m" kafka:cdndata -o kafka:cdnresult -G predictors -e "${GROUP_X[@]}"
  assert_success
  "$CDN" consume -q -t cdnresult -e -o "$T/out.ndjson"
  # at least one prediction for each of the 12,000 records; the restart repeats at most
  # what was predicted after the last offset commit
  assert_equal "$(jq .sampleID "$T/out.ndjson" | sort -n | uniq | wc -l)" 12000
  total=$(wc -l <"$T/out.ndjson")
  echo "predictions: $total for 12000 records"
  [ "$total" -ge 12000 ]
}

@test "two instances in one group share the partitions, and every record is predicted" {
  start_broker --topic cdndata:4 --topic cdnresult:4
  "$CDN" -vv predict -m "$D/m" kafka:cdndata -o kafka:cdnresult -G shared "${GROUP_X[@]}" 2>"$T/err1" &
  one=$!
  "$CDN" -vv predict -m "$D/m" kafka:cdndata -o kafka:cdnresult -G shared "${GROUP_X[@]}" 2>"$T/err2" &
  two=$!
  # both members hold two of the four partitions before the records arrive
  deadline=$((SECONDS + 60))
  until { grep -q "assigned 2 partitions" "$T/err1" && grep -q "assigned 2 partitions" "$T/err2"; } ||
    ((SECONDS > deadline)); do sleep 0.2; done
  head -n 4000 "$D/live.ndjson" | "$CDN" produce -q -t cdndata --key-field sampleID
  deadline=$((SECONDS + 60))
  until (($("$CDN" consume -q -t cdnresult -e | wc -l) >= 4000)) || ((SECONDS > deadline)); do sleep 0.5; done
  kill -TERM "$one" "$two"
  local st1=0 st2=0
  wait "$one" || st1=$?
  wait "$two" || st2=$?
  assert_equal "$st1 $st2" "143 143" # both stopped by SIGTERM
  "$CDN" consume -q -t cdnresult -e -o "$T/out.ndjson"
  assert_equal "$(jq .sampleID "$T/out.ndjson" | sort -n | uniq | wc -l)" 4000
  in1=$(sed -n 's/^cdn predict: \([0-9]*\) in.*/\1/p' "$T/err1")
  in2=$(sed -n 's/^cdn predict: \([0-9]*\) in.*/\1/p' "$T/err2")
  echo "instance one read $in1, instance two $in2"
  [ "$in1" -gt 0 ] && [ "$in2" -gt 0 ]
}

# `cdn broker` keeps what the mock cluster alone does not: commit and abort markers, the
# offsets of TxnOffsetCommit, and the last stable offset and aborted list that read_committed
# readers need. So these tests check the guarantee end to end.
@test "--exactly-once predicts every record once through Kafka transactions" {
  start_broker --topic cdndata:4 --topic cdnresult:4
  in_topic 3000
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" kafka:cdndata -o kafka:cdnresult -G eo --exactly-once -e \
    --keep pop,nosuch "${GROUP_X[@]}"
  assert_success
  [[ "$stderr" =~ "cdn predict: 3000 in, 3000 out, 0 rejected in "[0-9.]+" s, 0 unknown categories, exactly once" ]]
  # --keep is held against the records here too (the first 1000, or fewer if the topic pauses)
  [[ "$stderr" =~ "cdn predict: warning: none of the first "[0-9]+" records read has the field 'nosuch' named by --keep; their fields: timestamp, " ]] ||
    fail "$stderr"
  "$CDN" consume -q -t cdnresult -e -X isolation.level=read_committed -o "$T/out.ndjson"
  assert_equal "$(wc -l <"$T/out.ndjson")" 3000
  assert_equal "$(jq .sampleID "$T/out.ndjson" | sort -n | uniq | wc -l)" 3000
  cmp <(jq -c 'del(.prediction, .model)' "$T/out.ndjson" | sort) <(head -n 3000 "$D/live.ndjson" | jq -c '{sampleID, timestamp, pop}' | sort)
}

@test "--exactly-once wants one Kafka input in a group and a Kafka output" {
  run --separate-stderr cdn predict -m "$D/m" --exactly-once "$D/live.ndjson" -o "$T/out.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: --exactly-once reads one kafka:TOPIC in a consumer group (-G) and writes to -o kafka:TOPIC"
  run --separate-stderr cdn predict -m "$D/m" --exactly-once kafka:cdndata -o kafka:cdnresult
  assert_failure 2
}

@test "--exactly-once: after kill -9 in mid-stream, a restart with the same transactional id takes over" {
  start_broker --topic cdndata:4 --topic cdnresult:4
  "$CDN" predict -q -m "$D/m" --exactly-once --transactional-id p1 --batch-size 64 kafka:cdndata -o kafka:cdnresult -G eo "${GROUP_X[@]}" 2>"$T/err1" &
  pid=$!
  in_topic 3000
  deadline=$((SECONDS + 60))
  until (($("$CDN" consume -q -t cdnresult -e | wc -l) >= 3000)) || ((SECONDS > deadline)); do sleep 0.5; done
  sed -n '3001,12000p' "$D/live.ndjson" | "$CDN" produce -q -t cdndata --key-field sampleID --rate 1000 &
  producer=$!
  sleep 2
  kill -KILL "$pid"
  wait "$pid" || true
  kill -0 "$producer" 2>/dev/null || echo "# the producer was done before the kill"
  wait "$producer"
  # the same transactional id fences the killed instance's transaction
  run --separate-stderr timeout 90 "$CDN" predict -m "$D/m" --exactly-once --transactional-id p1 kafka:cdndata -o kafka:cdnresult -G eo -e "${GROUP_X[@]}"
  assert_success
  [[ "$stderr" =~ ", exactly once" ]]
  "$CDN" consume -q -t cdnresult -e -X isolation.level=read_committed -o "$T/out.ndjson"
  # exactly one prediction for each of the 12,000 records
  assert_equal "$(jq .sampleID "$T/out.ndjson" | sort -n | uniq | wc -l)" 12000
  assert_equal "$(wc -l <"$T/out.ndjson")" 12000
}

@test "--exactly-once: two instances in a group, one killed with kill -9: the other takes over, and every record is predicted once" {
  start_broker --topic cdndata:4 --topic cdnresult:4
  # the killed instance's open transaction is aborted by the broker after 5 s
  txn_x=(-X transaction.timeout.ms=5000)
  "$CDN" -vv predict -m "$D/m" --exactly-once --transactional-id one --batch-size 64 kafka:cdndata -o kafka:cdnresult -G shared "${GROUP_X[@]}" "${txn_x[@]}" 2>"$T/err1" &
  one=$!
  "$CDN" -vv predict -m "$D/m" --exactly-once --transactional-id two --batch-size 64 kafka:cdndata -o kafka:cdnresult -G shared "${GROUP_X[@]}" "${txn_x[@]}" 2>"$T/err2" &
  two=$!
  deadline=$((SECONDS + 60))
  until { grep -q "assigned 2 partitions" "$T/err1" && grep -q "assigned 2 partitions" "$T/err2"; } ||
    ((SECONDS > deadline)); do sleep 0.2; done
  # 6,000 records over six seconds; two seconds in, one instance is killed without warning
  head -n 6000 "$D/live.ndjson" | "$CDN" produce -q -t cdndata --key-field sampleID --rate 1000 &
  producer=$!
  sleep 2
  kill -KILL "$one"
  wait "$one" || true
  kill -0 "$producer" 2>/dev/null || echo "# the producer was done before the kill"
  wait "$producer"
  # the survivor is given the killed one's partitions after the session timeout, and starts
  # on them after the killed one's last committed transaction
  deadline=$((SECONDS + 90))
  until (($("$CDN" consume -q -t cdnresult -e -X isolation.level=read_committed | wc -l) >= 6000)) ||
    ((SECONDS > deadline)); do sleep 1; done
  kill -TERM "$two"
  status=0
  wait "$two" || status=$?
  assert_equal "$status" 143 # stopped by SIGTERM, after committing what it read
  grep -q "assigned 4 partitions" "$T/err2"
  "$CDN" consume -q -t cdnresult -e -X isolation.level=read_committed -o "$T/out.ndjson"
  assert_equal "$(jq .sampleID "$T/out.ndjson" | sort -n | uniq | wc -l)" 6000
  assert_equal "$(wc -l <"$T/out.ndjson")" 6000
}

@test "a Kafka output whose brokers do not answer fails within --timeout, and no prediction counts out" {
  head -n 3 "$D/live.ndjson" >"$T/three.ndjson"
  dead_output_run predict -m "$D/m" -o kafka:t "$T/three.ndjson"
  [[ "$stderr" =~ "cdn predict: 3 in, 0 out, 0 rejected, 3 not delivered in " ]] || fail "$stderr"
}

@test "train's Kafka rejects sink takes -b and --timeout, and fails within it when no broker answers" {
  { head -n 200 "$D/train.csv"; echo "not,a,row"; } >"$T/train.csv"
  dead_output_run train -q --schema "$SCHEMA" --rounds 2 --rejects kafka:rej "$T/train.csv" -o "$T/m"
}

@test "a bundle part that is a device, or larger than its cap, is refused before it is read" {
  cp -r "$D/m" "$T/b"
  ln -sf /dev/zero "$T/b/model.ubj"
  run --separate-stderr cdn predict -m "$T/b" </dev/null
  assert_failure 2
  assert_equal "$stderr" "cdn predict: cannot read the model bundle's model.ubj '$T/b/model.ubj': not a regular file (a device, a pipe or a socket); train the bundle again with cdn train"
  rm "$T/b/model.ubj"
  truncate -s $((4 * 1024 * 1024 * 1024 + 1)) "$T/b/model.ubj"
  run --separate-stderr cdn predict -m "$T/b" </dev/null
  assert_failure 2
  assert_equal "$stderr" "cdn predict: the model bundle's model.ubj '$T/b/model.ubj' is larger than 4 GiB, the most it may be; train the bundle again with cdn train"
  truncate -s $((64 * 1024 * 1024 + 1)) "$T/b/contract.json"
  run --separate-stderr cdn predict -m "$T/b" </dev/null
  assert_failure 2
  assert_equal "$stderr" "cdn predict: the model bundle's contract.json '$T/b/contract.json' is larger than 64 MiB, the most it may be; train the bundle again with cdn train"
}

# keys OUT_TOPIC: "same N partitions P" when every message of the topic has its payload's
# sampleID as its key (N messages over P partitions).
keys_follow_ids() {
  "$CDN" consume -q -t "$1" -e --envelope |
    jq -rs '[.[] | select(.key != (.payload.sampleID | tostring))] as $bad
      | "\(if ($bad | length) == 0 then "same" else "different: \($bad[0])" end) \(length) partitions \(map(.partition) | unique | length)"'
}

@test "predictions keep their record's message key, also with --exactly-once; so do validate, tag and their rejects" {
  start_broker -t in:4 -t out:8 -t eo:8 -t valid:8 -t raw:4 -t tagged:8
  head -2000 "$D/live.ndjson" | cdn produce -q -t in --key-field sampleID
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" kafka:in -o kafka:out -G keys -e "${GROUP_X[@]}"
  assert_success
  assert_equal "$(keys_follow_ids out)" "same 2000 partitions 8"
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" kafka:in -o kafka:eo -G keys-eo --exactly-once -e "${GROUP_X[@]}"
  assert_success
  assert_equal "$(keys_follow_ids eo)" "same 2000 partitions 8"
  run --separate-stderr timeout 60 "$CDN" validate kafka:in -o kafka:valid -e
  assert_success
  assert_equal "$(keys_follow_ids valid)" "same 2000 partitions 8"
  # tag gives records their IDs: the key stays the message's (here the client IP)
  head -2000 "$D/live.ndjson" | jq -c 'del(.sampleID)' | cdn produce -q -t raw --key-field client_ip
  run --separate-stderr timeout 60 "$CDN" tag kafka:raw -o kafka:tagged -e
  assert_success
  run "$CDN" consume -q -t tagged -e --envelope
  assert_equal "$(jq -rs '[length, (map(select(.key != .payload.client_ip or .payload.sampleID == null)) | length)] | @tsv' <<<"$output")" $'2000\t0'
  # rejects on a topic keep their record's key too
  printf '%s\n' '{"sampleID":"r1","timestamp":5}' '{"sampleID":"r2","timestamp":6}' |
    cdn produce -q -t bad --key-field sampleID
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" kafka:bad -o kafka:out2 --rejects kafka:prej -G kb -e "${GROUP_X[@]}"
  assert_failure 1
  run --separate-stderr timeout 60 "$CDN" validate kafka:bad -o kafka:out2 --rejects kafka:vrej -e
  assert_failure 1
  for t in prej vrej; do
    run "$CDN" consume -q -t "$t" -e --envelope
    assert_equal "$(jq -rs 'map("\(.key)=\(.payload.record | fromjson | .sampleID)") | sort | join(" ")' <<<"$output")" "r1=r1 r2=r2"
  done
}

# sid_key_part TOPIC [JQ-PATH]: "sampleID key partition" of each message of the topic, sorted
# for join; JQ-PATH finds the sampleID in the payload (default .sampleID; rejects:
# .record | fromjson | .sampleID).
sid_key_part() {
  "$CDN" consume -q -t "$1" -e --envelope |
    jq -r "\"\(.payload | ${2:-.sampleID}) \(.key) \(.partition)\"" | LC_ALL=C sort -k1,1
}

@test "--key-field: records, their predictions and their rejects are keyed by the field's value, so a key's records and predictions share a partition; without the field or with null a record keeps its message's key" {
  start_broker -t in:4 -t valid:8 -t out:8 -t vrej:8 -t prej:8
  # Records 1-10 have no pop, 11-20 a null one, 21-30 a status that is not a number (rejected by
  # both); the messages are keyed by sampleID, which --key-field pop replaces.
  head -2000 "$D/live.ndjson" |
    jq -c 'if .sampleID <= 10 then del(.pop) elif .sampleID <= 20 then .pop = null
      elif .sampleID <= 30 then .http_status = "oops" else . end' >"$T/in.ndjson"
  cdn produce -q -t in --key-field sampleID "$T/in.ndjson"
  jq -r '"\(.sampleID) \(.pop // .sampleID)"' "$T/in.ndjson" | LC_ALL=C sort -k1,1 >"$T/want"
  run --separate-stderr timeout 60 "$CDN" predict -m "$D/m" --allow-missing --key-field pop \
    kafka:in -o kafka:out --rejects kafka:prej -G keyed -e "${GROUP_X[@]}"
  assert_failure 1
  [[ "$stderr" =~ "cdn predict: 2000 in, 1990 out, 10 rejected" ]]
  run --separate-stderr timeout 60 "$CDN" validate --key-field pop kafka:in -o kafka:valid --rejects kafka:vrej -e
  assert_failure 1
  [[ "$stderr" =~ "cdn validate: 2000 in, 1970 out, 30 rejected" ]]
  sid_key_part out >"$T/out"
  sid_key_part valid >"$T/valid"
  sid_key_part prej '.record | fromjson | .sampleID' >"$T/prej"
  sid_key_part vrej '.record | fromjson | .sampleID' >"$T/vrej"
  # every message has the key wanted: pop, else the message's sampleID
  for f in out valid prej vrej; do
    run env LC_ALL=C join -j1 -o 1.2,2.2 "$T/$f" "$T/want"
    assert_equal "$(awk '$1 != $2' <<<"$output")" ""
    assert_equal "$(wc -l <<<"$output")" "$(wc -l <"$T/$f")"
  done
  assert_equal "$(cat "$T/out" "$T/prej" | wc -l)" 2000
  assert_equal "$(cat "$T/valid" "$T/vrej" | wc -l)" 2000
  # one partition per key on each topic, and a prediction on its valid record's partition
  for f in out valid; do
    assert_equal "$(awk '{ print $2, $3 }' "$T/$f" | sort -u | awk '{ print $1 }' | uniq -d)" ""
  done
  assert_equal "$(LC_ALL=C join -j1 -o 1.3,2.3 "$T/out" "$T/valid" | awk '$1 != $2' | wc -l)" 0
  assert_equal "$(LC_ALL=C join -j1 "$T/out" "$T/valid" | wc -l)" 1970
  # the pops spread: more than one partition
  (($(awk '$1 > 30 { print $3 }' "$T/out" | sort -u | wc -l) > 1))
}

@test "--key-field reads a dotted path; a number's key is its JSON text; --key-field on a file output changes nothing" {
  start_broker -t nested:8
  head -300 "$D/live.ndjson" | jq -c '.session = {id: (.sampleID % 7)}' >"$T/in.ndjson"
  cdn predict -q -m "$D/m" --key-field session.id --keep session "$T/in.ndjson" -o kafka:nested
  run "$CDN" consume -q -t nested -e --envelope
  assert_equal "$(jq -r 'select(.key != (.payload.session.id | tojson)) | .offset' <<<"$output")" ""
  assert_equal "$(jq -r .key <<<"$output" | sort -u | tr '\n' ' ')" "0 1 2 3 4 5 6 "
  cdn predict -q -m "$D/m" "$T/in.ndjson" -o "$T/plain.ndjson"
  cdn predict -q -m "$D/m" --key-field session.id "$T/in.ndjson" -o "$T/keyed.ndjson"
  cmp "$T/plain.ndjson" "$T/keyed.ndjson"
}

@test "predictions without a key spread over every partition: 20,000 of them from a file reach at least 120 of 128" {
  start_broker -t spread:128
  "$CDN" gen -q --rows 20000 --seed 25 --no-label | "$CDN" tag -q -o "$T/in.ndjson"
  cdn predict -q -m "$D/m" "$T/in.ndjson" -o kafka:spread
  run bash -c "'$CDN' consume -q -t spread -e --envelope | jq -r '\"\(.key) \(.partition)\"'"
  assert_equal "${#lines[@]}" 20000
  assert_equal "$(cut -d' ' -f1 <<<"$output" | sort -u)" "null"
  n=$(cut -d' ' -f2 <<<"$output" | sort -u | wc -l)
  ((n >= 120)) || fail "20000 predictions reached $n of 128 partitions"
}

# records_in PORT N [--at-least]: until predict has read N records (or N or more), from its
# /metrics; 60 s at most.
records_in() {
  local i n=
  for ((i = 0; i < 600; i++)); do
    n=$(curl -s -m 5 "http://127.0.0.1:$1/metrics" | awk '$1 == "cdn_records_in_total{command=\"predict\"}" { print $2 }')
    [[ $n == "$2" ]] && return 0
    [[ ${3-} == --at-least ]] && ((${n:-0} >= $2)) && return 0
    sleep 0.1
  done
  fail "predict read ${n:-no} records, not $2"
}

@test "a new bundle at the model path takes over between batches; a broken one or one of another objective is refused; SIGHUP reloads" {
  cdn train -q --schema "$SCHEMA" --rounds 7 "$D/train.csv" -o "$T/v2"
  cdn train -q --schema "$SCHEMA" --rounds 9 "$D/train.csv" -o "$T/v3"
  cp -r "$T/v3" "$T/broken"
  printf 'x' >>"$T/broken/model.ubj"
  ln -s "$D/m" "$T/current"
  v1=$(jq -r .model_hash "$D/m/manifest.json")
  v2=$(jq -r .model_hash "$T/v2/manifest.json")
  v3=$(jq -r .model_hash "$T/v3/manifest.json")
  reg=$(jq -r .model_hash "$D/reg/manifest.json")
  mkfifo "$T/feed"
  port=$(free_port)
  "$CDN" predict -m "$T/current" --metrics-addr "127.0.0.1:$port" <"$T/feed" >"$T/out.ndjson" 2>"$T/err" &
  pid=$!
  exec 4>"$T/feed"
  sed -n '1,3000p' "$D/live.ndjson" >&4
  records_in "$port" 3000
  # a symlink flipped: loaded on the side, it takes over at the next record
  ln -sfn "$T/v2" "$T/current"
  wait_for "$T/err" "loaded the model $v2 from '$T/current'; it takes over at the next record"
  sed -n '3001,6000p' "$D/live.ndjson" >&4
  records_in "$port" 6000
  # a broken bundle: refused, named in the log and the metrics
  ln -sfn "$T/broken" "$T/current"
  wait_for "$T/err" "refused the model bundle at '$T/current': the model bundle '$T/current' does not hold together"
  # a bundle of another objective and label: refused where it would take over
  ln -sfn "$D/reg" "$T/current"
  wait_for "$T/err" "loaded the model $reg"
  sed -n '6001,9000p' "$D/live.ndjson" >&4
  wait_for "$T/err" "refused the model $reg at '$T/current': its objective or label (reg:squarederror, 'ttfb_ms') is not the one in use (binary:logistic, 'qoe_bad'); still scoring with $v2"
  records_in "$port" 9000
  ln -sfn "$T/v3" "$T/current"
  kill -HUP "$pid"
  wait_for "$T/err" "loaded the model $v3"
  sed -n '9001,12000p' "$D/live.ndjson" >&4
  wait_for "$T/err" "now scoring with the model $v3"
  # SIGHUP with the bundle unchanged: said, nothing swapped (and SIGHUP does not end it)
  kill -HUP "$pid"
  wait_for "$T/err" "SIGHUP: the bundle at '$T/current' is the model in use"
  run curl -s -m 10 "http://127.0.0.1:$port/metrics"
  assert_output --partial 'cdn_model_swaps_total{result="swapped"} 2'
  assert_output --partial 'cdn_model_swaps_total{result="refused"} 2'
  assert_output --partial "hash=\"$v3\""
  exec 4>&-
  wait "$pid"
  # every record predicted once, in order; each part by the model in use when it came
  assert_equal "$(jq -r .sampleID "$T/out.ndjson" | tr '\n' ' ')" "$(jq -r .sampleID "$D/live.ndjson" | tr '\n' ' ')"
  run bash -c "jq -r .model '$T/out.ndjson' | uniq -c | awk '{ print \$1, \$2 }'"
  assert_output "3000 $v1
6000 $v2
3000 $v3"
  # and the predictions are those each model makes alone
  sed -n '3001,9000p' "$D/live.ndjson" | cdn predict -q -m "$T/v2" >"$T/alone.ndjson"
  cmp "$T/alone.ndjson" <(sed -n '3001,9000p' "$T/out.ndjson")
}

@test "100,000 records from Kafka, a model swapped and a broken one refused mid-stream: once each with --exactly-once, at least once without, no pause" {
  start_broker --topic cdndata:4 --topic cdnresult:4 --topic plain:4
  cdn gen -q --rows 100000 --seed 23 --no-label | cdn tag -q >"$T/live.ndjson"
  cdn train -q --schema "$SCHEMA" --rounds 7 "$D/train.csv" -o "$T/v2"
  cp -r "$T/v2" "$T/broken"
  printf 'x' >>"$T/broken/model.ubj"
  ln -s "$D/m" "$T/current"
  v1=$(jq -r .model_hash "$D/m/manifest.json")
  v2=$(jq -r .model_hash "$T/v2/manifest.json")
  head -n 20000 "$T/live.ndjson" | cdn produce -q -t cdndata --key-field sampleID
  pa=$(free_port)
  pb=$(free_port)
  "$CDN" predict -m "$T/current" kafka:cdndata -o kafka:cdnresult -G eo --exactly-once --metrics-addr "127.0.0.1:$pa" "${GROUP_X[@]}" 2>"$T/err-eo" &
  eo=$!
  "$CDN" predict -m "$T/current" kafka:cdndata -o kafka:plain -G alo --metrics-addr "127.0.0.1:$pb" "${GROUP_X[@]}" 2>"$T/err-alo" &
  alo=$!
  records_in "$pa" 20000
  records_in "$pb" 20000
  # the rest flows at 20,000 records a second while the models change
  sed -n '20001,100000p' "$T/live.ndjson" | "$CDN" produce -q -t cdndata --key-field sampleID --rate 20000 &
  producer=$!
  records_in "$pa" 40000 --at-least
  records_in "$pb" 40000 --at-least
  ln -sfn "$T/v2" "$T/current"
  wait_for "$T/err-eo" "now scoring with the model $v2"
  wait_for "$T/err-alo" "now scoring with the model $v2"
  records_in "$pa" 70000 --at-least
  ln -sfn "$T/broken" "$T/current"
  wait_for "$T/err-eo" "refused the model bundle at '$T/current'"
  wait_for "$T/err-alo" "refused the model bundle at '$T/current'"
  wait "$producer"
  records_in "$pa" 100000
  records_in "$pb" 100000
  # until every prediction is committed, then stopped (SIGTERM: status 143)
  local deadline=$((SECONDS + 60))
  until (($("$CDN" consume -q -t cdnresult -e -X isolation.level=read_committed | wc -l) >= 100000)) &&
    (($("$CDN" consume -q -t plain -e | wc -l) >= 100000)) || ((SECONDS > deadline)); do sleep 0.5; done
  kill -TERM "$eo" "$alo"
  wait "$eo" || assert_equal "$?" 143
  wait "$alo" || assert_equal "$?" 143
  # read_committed: every record once; at least once without transactions
  "$CDN" consume -q -t cdnresult -e -X isolation.level=read_committed --envelope -o "$T/eo.ndjson"
  "$CDN" consume -q -t plain -e --envelope -o "$T/alo.ndjson"
  assert_equal "$(wc -l <"$T/eo.ndjson")" 100000
  assert_equal "$(jq .payload.sampleID "$T/eo.ndjson" | sort -n | uniq | wc -l)" 100000
  assert_equal "$(jq .payload.sampleID "$T/alo.ndjson" | sort -n | uniq | wc -l)" 100000
  for f in eo alo; do
    # the first 20,000 (read before any swap) by the first model; in each partition one
    # switch, from it to the new one; the broken one never scored
    assert_equal "$(jq -r 'select(.payload.sampleID <= 20000) | .payload.model' "$T/$f.ndjson" | sort -u)" "$v1"
    assert_equal "$(jq -r '.payload.model' "$T/$f.ndjson" | sort -u | tr '\n' ' ')" "$(printf '%s\n' "$v1" "$v2" | sort | tr '\n' ' ')"
    run bash -c "jq -r '[.partition, .payload.model] | @tsv' '$T/$f.ndjson' | sort -s -n -k1,1 | uniq | cut -f1 | uniq -c | awk '{ print \$1 }' | sort -u"
    assert_output 2
    # no pause: the largest gap between predictions written while the records flowed
    gap=$("$PY" - "$T/$f.ndjson" <<'PY'
import json, sys
ts = sorted(json.loads(l)["timestamp"] for l in open(sys.argv[1]))
ts = ts[len(ts) // 5:]  # from the flow on (the first 20,000 were waiting in the topic)
print(max(b - a for a, b in zip(ts, ts[1:])))
PY
)
    echo "# $f: largest gap between predictions while the stream flowed: $gap ms" >&3
    ((gap < 2000)) || fail "$f: a pause of $gap ms"
  done
}

@test "--shadow scores each record with a candidate too: its prediction beside, and agreement metrics that equal a recomputation from the output" {
  cdn train -q --schema "$SCHEMA" --rounds 12 --eta 0.1 --time-features "$D/train.csv" -o "$T/cand"
  mkfifo "$T/feed"
  port=$(free_port)
  "$CDN" predict -m "$D/m" --shadow "$T/cand" --threshold 0.3 --batch-size 1000 --metrics-addr "127.0.0.1:$port" \
    <"$T/feed" >"$T/out.ndjson" 2>"$T/err" &
  pid=$!
  exec 4>"$T/feed"
  cat "$D/live.ndjson" >&4
  local i
  for ((i = 0; i < 300; i++)); do
    curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$T/metrics"
    grep -q '^cdn_shadow_predictions_total 12000$' "$T/metrics" && break
    sleep 0.1
  done
  exec 4>&-
  wait "$pid"
  assert_equal "$(jq -c 'keys' <<<"$(head -1 "$T/out.ndjson")")" '["label","model","prediction","sampleID","shadow","timestamp"]'
  # the shadow's predictions are the candidate's own
  cmp <(jq -c '.shadow' "$T/out.ndjson") <(cdn predict -q -m "$T/cand" "$D/live.ndjson" | jq -c .prediction)
  run "$PY" - "$T/out.ndjson" "$T/metrics" <<'PY'
import json, sys
import numpy as np
# the numbers as the 32-bit floats cdn wrote
rows = [{k: float(np.float32(r[k])) for k in ("prediction", "shadow")}
        for r in map(json.loads, open(sys.argv[1]))]
m = {}
for line in open(sys.argv[2]):
    if line.startswith("cdn_shadow"):
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
n = len(rows)
agreed = sum((r["prediction"] >= 0.3) == (r["shadow"] >= 0.3) for r in rows)
diff = sum(abs(r["prediction"] - r["shadow"]) for r in rows)
assert m["cdn_shadow_predictions_total"] == n, m
assert m["cdn_shadow_agreements_total"] == agreed, (m, agreed)
assert abs(m["cdn_shadow_abs_difference_total"] - diff) <= 1e-9 * diff, (m, diff)
for le in ["0.1", "0.5", "0.9", "+Inf"]:
    want = sum(r["shadow"] <= float(le) for r in rows)
    assert m['cdn_shadow_score_bucket{le="%s"}' % le] == want, (le, m, want)
total = sum(r["shadow"] for r in rows)
assert abs(m["cdn_shadow_score_sum"] - total) <= 1e-9 * total, (m, total)
print(f"{n} shadowed, {agreed} agreed, mean difference {diff / n:.6f}")
PY
  [[ $status -eq 0 ]] || fail "$output"
  echo "# $output" >&3
}

@test "--shadow takes a candidate with other features or other categories: it scores its own rows, as it would alone" {
  # one without the country feature, one trained on data without the PoP FRA1 (its pop
  # vocabulary lacks it), both without the model's time features
  cdn train -q --schema "$SCHEMA" --rounds 8 --drop sampleID,timestamp,client_ip,country \
    "$D/train.csv" -o "$T/nocountry"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "pop") c = i } NR == 1 || $c != "FRA1"' \
    "$D/train.csv" >"$T/nofra.csv"
  [[ $(grep -c FRA1 "$T/nofra.csv") -eq 0 && $(grep -c FRA1 "$D/live.ndjson") -gt 0 ]]
  cdn train -q --schema "$SCHEMA" --rounds 8 "$T/nofra.csv" -o "$T/nofra"
  local cand
  for cand in nocountry nofra; do
    run --separate-stderr cdn predict -m "$D/m" --shadow "$T/$cand" "$D/live.ndjson"
    assert_success
    assert_equal "${#lines[@]}" 12000
    printf '%s\n' "${lines[@]}" >"$T/out.ndjson"
    # the model's predictions as without a shadow, the shadow's as the candidate's alone
    cmp <(jq -c '.prediction' "$T/out.ndjson") <(cdn predict -q -m "$D/m" "$D/live.ndjson" | jq -c .prediction)
    cmp <(jq -c '.shadow' "$T/out.ndjson") <(cdn predict -q -m "$T/$cand" "$D/live.ndjson" | jq -c .prediction)
  done
  # a record the candidate refuses (country is not a string: nocountry does not read it, nofra
  # does) goes out with the model's prediction and no shadow
  printf '%s,"sampleID":1,"country":7}\n' "$REC" >"$T/odd.ndjson"
  run --separate-stderr cdn predict -m "$T/nocountry" --allow-missing --shadow "$T/nofra" "$T/odd.ndjson"
  assert_success
  assert_equal "$(jq -c 'has("prediction"), has("shadow")' <<<"$output" | tr '\n' ' ')" 'true false '
  # a candidate of another objective predicts something else: refused at the start
  run --separate-stderr cdn predict -m "$D/m" --shadow "$D/reg" "$D/live.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: the shadow model '$D/reg' predicts something else: its objective is reg:squarederror, the model's '$D/m' is binary:logistic; train the candidate with the same --objective"
}

@test "-v says the steps: the input opened, the model loaded, the output written" {
  head -5 "$D/live.ndjson" >"$T/in.ndjson"
  run --separate-stderr cdn -v predict -m "$D/m" "$T/in.ndjson" -o "$T/out.ndjson"
  assert_success
  [[ $stderr == *"cdn predict: loaded the model bundle '$D/m': model "*", binary:logistic, "*" features"* ]] || fail "$stderr"
  [[ $stderr == *"cdn predict: reading '$T/in.ndjson'"* ]] || fail "$stderr"
  [[ $stderr == *"cdn predict: writing records to '$T/out.ndjson' (in place once the run succeeds)"* ]] || fail "$stderr"
  # the detail is -vv's: how the trees are evaluated
  [[ $stderr != *"predicting with"* ]] || fail "$stderr"
  run --separate-stderr cdn -vv predict -m "$D/m" "$T/in.ndjson" -o "$T/out.ndjson"
  [[ $stderr == *"predicting with"* ]] || fail "$stderr"
  run --separate-stderr cdn predict -m "$D/m" "$T/in.ndjson" -o "$T/out.ndjson"
  [[ $stderr != *"reading '"* ]] || fail "$stderr"
}

@test "--flush-interval takes a duration; the old --linger-ms still works, with one warning" {
  head -50 "$D/live.ndjson" >"$T/in.ndjson"
  cdn -q predict -m "$D/m" "$T/in.ndjson" -o "$T/want.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --flush-interval 250ms "$T/in.ndjson" -o "$T/a.ndjson"
  assert_success
  [[ $stderr != *deprecated* ]] || fail "$stderr"
  run --separate-stderr cdn predict -m "$D/m" --linger-ms 250 "$T/in.ndjson" -o "$T/b.ndjson"
  assert_success
  [[ $stderr == *"warning: --linger-ms is deprecated and goes in the next release; write --flush-interval"* ]] || fail "$stderr"
  cmp "$T/want.ndjson" "$T/a.ndjson"
  cmp "$T/want.ndjson" "$T/b.ndjson"
  run --separate-stderr cdn predict -m "$D/m" --flush-interval 5x "$T/in.ndjson"
  assert_failure 2
  [[ $stderr == *"bad value '5x' for --flush-interval; give a duration from 0ms to 1h"* ]] || fail "$stderr"
}

@test "a model directory that does not exist is said so, not 'not a directory'" {
  run --separate-stderr cdn predict -m "$T/nosuch" "$D/live.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn predict: cannot open the model bundle '$T/nosuch': no such directory (cdn train -o DIR writes one)"
  run --separate-stderr cdn predict -m "$D/live.ndjson" "$D/live.ndjson"
  assert_failure 2
  [[ $stderr == *"'$D/live.ndjson': not a directory"* ]] || fail "$stderr"
}
