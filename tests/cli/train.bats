#!/usr/bin/env bats
# cdn train: CSV or NDJSON records into an XGBoost model bundle.

# bats file_tags=xgboost

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3
SCHEMA="$REPO_ROOT/schemas/cdn-data.json"

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$CDN" gen -q --rows 12000 --seed 11 -f csv -o "$d/train.csv"
  "$CDN" gen -q --rows 4000 --seed 12 --start 2026-11-23T00:00:00Z -f csv -o "$d/valid.csv"
}

setup() {
  D="$BATS_FILE_TMPDIR"
  T="$BATS_TEST_TMPDIR"
}

teardown() {
  stop_broker
}

json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

@test "a bundle holds the model as UBJSON and JSON, the contract, parameters, metrics, summary and importance" {
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 5 "$D/train.csv" -o "$T/m"
  assert_success
  for f in manifest.json model.ubj model.json contract.json params.json metrics.json summary.json importance.json; do
    [ -s "$T/m/$f" ]
  done
  [[ "$stderr" =~ "cdn train: 12000 in, 12000 out, 0 rejected in ".*", 13 features, 5 rounds, 5 trees, bundle '$T/m'" ]]
  assert_equal "$(json "$T/m/summary.json" 'd["rows"]["train"]')" 12000
  assert_equal "$(json "$T/m/summary.json" 'sum(d["label"]["train"].values())')" 12000
  assert_equal "$(json "$T/m/summary.json" '[f["name"] for f in d["features"]][0]')" asn
  [[ "$(json "$T/m/importance.json" 'sorted(d)')" == "['cover', 'gain', 'total_cover', 'total_gain', 'weight']" ]]
}

@test "the contract makes numbers numeric and strings categorical, and leaves out IDs, timestamps and IP addresses" {
  run cdn train -q --schema "$SCHEMA" --rounds 2 "$D/train.csv" -o "$T/m"
  assert_success
  assert_equal "$(json "$T/m/contract.json" '[f["name"] for f in d["features"]]')" \
    "['asn', 'country', 'pop', 'device', 'content_type', 'http_status', 'cache_status', 'bytes_sent', 'response_time_ms', 'ttfb_ms', 'rtt_ms', 'throughput_kbps', 'bitrate_kbps']"
  # enums keep the schema's order; free strings get the sorted vocabulary of the data
  assert_equal "$(json "$T/m/contract.json" '[f for f in d["features"] if f["name"]=="device"][0]["categories"]')" \
    "['mobile', 'desktop', 'smart_tv', 'tablet', 'console']"
  assert_equal "$(json "$T/m/contract.json" '[f for f in d["features"] if f["name"]=="pop"][0]["learned"]')" True
  pops=$(cut -d, -f5 "$D/train.csv" | tail -n +2 | sort -u | tr '\n' ' ')
  assert_equal "$(json "$T/m/contract.json" '" ".join([f for f in d["features"] if f["name"]=="pop"][0]["categories"])+" "')" "$pops"
}

@test "the model carries the hash of the contract, and the manifest the hashes of every part" {
  cdn train -q --schema "$SCHEMA" --rounds 2 "$D/train.csv" -o "$T/m"
  run "$PY" -c "
import json, xgboost as xgb
b = xgb.Booster(model_file='$T/m/model.ubj')
m = json.load(open('$T/m/manifest.json'))
print(b.attr('cdn_contract_hash') == m['contract_hash'], m['schema_hash'] == json.load(open('$T/m/contract.json'))['schema_hash'])"
  assert_success
  assert_output "True True"
}

@test "--drop replaces the fields left out and --time-features adds the hour of day and day of week" {
  run cdn train -q --schema "$SCHEMA" --rounds 2 --drop sampleID,timestamp,client_ip,asn,country --time-features "$D/train.csv" -o "$T/m"
  assert_success
  assert_equal "$(json "$T/m/contract.json" '[f["name"] for f in d["features"]][0]')" pop
  assert_equal "$(json "$T/m/contract.json" '[f["kind"] for f in d["features"]][-2:]')" "['hour_of_day', 'day_of_week']"
  # the 12,000 records span ten minutes after midnight of Sunday 2026-11-22 (Monday = 0)
  assert_equal "$(json "$T/m/summary.json" '[(f["min"],f["max"]) for f in d["features"]][-2:]')" "[(0, 0), (6, 6)]"
}

@test "--drop or --label of a field the schema does not have is a usage error naming the nearest field" {
  run --separate-stderr cdn train --schema "$SCHEMA" --drop nosuch "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: --drop names 'nosuch', which the schema '$SCHEMA' does not have"
  # a near miss names the nearest field, for --drop and --label alike
  run --separate-stderr cdn train --schema "$SCHEMA" --drop contry "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: --drop names 'contry' (did you mean 'country'?), which the schema '$SCHEMA' does not have"
  run --separate-stderr cdn train --schema "$SCHEMA" --label qoe_bda "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: the label 'qoe_bda' (did you mean 'qoe_bad'?) is not a field of the schema '$SCHEMA'; name it with --label"
}

@test "rows that do not fit the contract go to rejects with the reason, and the run exits 1" {
  { head -3 "$D/train.csv"
    echo '2026-11-22T00:00:01.000Z,1.2.3.4,8447,AT,FRA1,fridge,vod,200,HIT,10,1,1,1,1,1,0'
    echo '2026-11-22T00:00:01.000Z,1.2.3.4,8447,AT,FRA1,mobile,vod,200,HIT,lots,1,1,1,1,1,0'
    echo '2026-11-22T00:00:01.000Z,1.2.3.4,8447,AT,FRA1,mobile,vod,200,HIT,10,1,1,1,1,1,'
    echo '2026-11-22T00:00:01.000Z,1.2.3.4,8447,AT,FRA1,mobile,vod,200,HIT,10,1,1,1,1,1,2'
    echo '1,2,3'
    tail -n +4 "$D/train.csv" | head -200; } >"$T/dirty.csv"
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 2 --rejects "$T/rej.ndjson" "$T/dirty.csv" -o "$T/m"
  assert_failure 1
  [[ "$stderr" =~ "207 in, 202 out, 5 rejected" ]]
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_line --index 0 "4	column 'device': 'fridge' is not one of the values the schema allows"
  assert_line --index 1 "5	column 'bytes_sent': 'lots' is not a number"
  assert_line --index 2 "6	no label 'qoe_bad'"
  assert_line --index 3 "7	label 'qoe_bad': '2' is neither 0 nor 1"
  assert_line --index 4 "8	row has 3 fields but the header has 16"
  [ -s "$T/m/model.ubj" ]
}

@test "a missing input file is an error that names it" {
  run --separate-stderr cdn train --schema "$SCHEMA" "$T/nope.csv" -o "$T/m"
  assert_failure 3
  assert_equal "$stderr" "cdn train: cannot open '$T/nope.csv': No such file or directory"
  [ ! -e "$T/m" ]
}

@test "a directory that is not a model bundle is never overwritten" {
  mkdir "$T/m" && echo keep >"$T/m/notes.txt"
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 2 "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: the directory '$T/m' exists and is not a model bundle; name a new or empty directory"
  assert_equal "$(cat "$T/m/notes.txt")" keep
}

@test "metrics of every round go to stderr and into metrics.json, final metrics at the end" {
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 3 --eval-train --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  assert_success
  [[ "$stderr" =~ "cdn train: [0] train-auc:0."[0-9]+" train-logloss:0."[0-9]+" valid-auc:0."[0-9]+" valid-logloss:0." ]]
  [[ "$stderr" =~ "cdn train: [2] " ]]
  [[ "$stderr" =~ "validation set, 4000 rows: auc 0."[0-9]+", logloss 0."[0-9]+", accuracy 0."[0-9]+", precision "[0-9.]+" and recall "[0-9.]+" at threshold 0.5" ]]
  [[ "$stderr" =~ "confusion matrix (rows: actual class, columns: predicted class):" ]]
  assert_equal "$(json "$T/m/metrics.json" 'len(d["history"])')" 3
  assert_equal "$(json "$T/m/metrics.json" 'd["columns"]')" "['train-auc', 'train-logloss', 'valid-auc', 'valid-logloss']"
  assert_equal "$(json "$T/m/metrics.json" 'sum(map(sum, d["final"]["confusion"]))')" 4000
}

@test "per-round metrics cost only what is asked: the validation data's by default, the training data's with --eval-train, none without either" {
  run --separate-stderr cdn -vv train --schema "$SCHEMA" --rounds 3 --valid "$D/valid.csv" "$D/train.csv" -o "$T/v"
  assert_success
  [[ "$stderr" =~ "cdn train: [0] valid-auc:0."[0-9]+" valid-logloss:0."[0-9]+$'\n' ]] || fail "$stderr"
  [[ "$stderr" != *"train-auc"* ]]
  [[ "$stderr" =~ "per-round metrics computed by cdn: 2 on 1 sets" ]]
  assert_equal "$(json "$T/v/metrics.json" 'd["columns"]')" "['valid-auc', 'valid-logloss']"
  # without validation data nothing is evaluated round by round: no line per round, no
  # learning curves; the final metrics are on the training data, from XGBoost's cache
  run --separate-stderr cdn -vv train --schema "$SCHEMA" --rounds 3 "$D/train.csv" -o "$T/none"
  assert_success
  [[ "$stderr" != *"cdn train: [0]"* && "$stderr" != *"per-round metrics"* ]] || fail "$stderr"
  [[ "$stderr" =~ "training set, 12000 rows: auc 0."[0-9]+ ]] || fail "$stderr"
  assert_equal "$(json "$T/none/metrics.json" '(d["columns"], d["history"], d["final"]["evaluated_on"])')" "([], [], 'training')"
  assert_equal "$(json "$T/none/params.json" 'd["rounds_run"]')" 3
  # the final metrics on the training data are those of predicting it again
  run cdn eval -m "$T/none" --json "$D/train.csv"
  assert_success
  assert_equal "$(jq .auc <<<"$output")" "$(json "$T/none/metrics.json" 'd["final"]["auc"]')"
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 3 --eval-train "$D/train.csv" -o "$T/t"
  assert_success
  [[ "$stderr" =~ "cdn train: [2] train-auc:0."[0-9]+" train-logloss:0." ]] || fail "$stderr"
  assert_equal "$(json "$T/t/metrics.json" 'd["columns"]')" "['train-auc', 'train-logloss']"
}

@test "the XGBoost flags reach the booster, and --param passes any other parameter" {
  run cdn train -q --schema "$SCHEMA" --rounds 2 --max-depth 3 --eta 0.1 --subsample 0.8 --colsample 0.7 \
    --scale-pos-weight 4 --seed 9 --threads 1 --param max_bin=64 --param eval_metric=error --eval-train "$D/train.csv" -o "$T/m"
  assert_success
  run json "$T/m/params.json" 'dict(d["xgboost"])'
  assert_output --partial "'max_depth': '3', 'eta': '0.1', 'subsample': '0.8', 'colsample_bytree': '0.7', 'seed': '9', 'nthread': '1', 'scale_pos_weight': '4', 'max_bin': '64', 'eval_metric': 'error'"
  assert_equal "$(json "$T/m/metrics.json" 'd["columns"]')" "['train-error']"
  # trees of depth 3 have at most 8 leaves
  run json "$T/m/model.json" 'max(t["left_children"].count(-1) for t in d["learner"]["gradient_booster"]["model"]["trees"]) <= 8'
  assert_output True
}

@test "a bad --param is a usage error" {
  run --separate-stderr cdn train --schema "$SCHEMA" --param nokeyvalue "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: bad --param 'nokeyvalue'; write --param key=value"
}

@test "training quality: the AUC on held-out data is within 0.005 of Python XGBoost on the same rows and parameters" {
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 60 --max-depth 6 --eta 0.1 --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  assert_success
  ours=$(json "$T/m/metrics.json" 'd["final"]["auc"]')
  run "$PY" "$REPO_ROOT/tests/cli/py/train_xgb.py" "$T/m" "$D/train.csv" "$D/valid.csv"
  assert_success
  theirs=$(echo "$output" | jq .auc)
  echo "cdn $ours python $theirs"
  "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(not (abs(a-b) <= 0.005 and a > 0.75))" "$ours" "$theirs"
}

@test "--early-stopping stops when the validation metric stalls and keeps the best round" {
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 300 --eta 0.5 --max-depth 8 --early-stopping 5 --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  assert_success
  best=$(json "$T/m/metrics.json" 'd["best_iteration"]')
  run=$(json "$T/m/metrics.json" 'len(d["history"])')
  [ "$run" -lt 300 ]
  assert_equal "$run" $((best + 6))
  # the kept round has the lowest validation logloss of all rounds run
  assert_equal "$(json "$T/m/metrics.json" 'min(range(len(d["history"])), key=lambda i: d["history"][i][-1])')" "$best"
  [[ "$stderr" =~ "early stopping: best round $best by valid-logloss" ]]
  run "$PY" -c "import xgboost as xgb; b=xgb.Booster(model_file='$T/m/model.ubj'); print(b.num_boosted_rounds(), b.attr('best_iteration'))"
  assert_output "$((best + 1)) $best"
}

@test "with early stopping the summary, params.json, the report and predict say the rounds run and the trees kept alike" {
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 300 --eta 0.5 --max-depth 8 --early-stopping 5 \
    --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  assert_success
  best=$(json "$T/m/metrics.json" 'd["best_iteration"]')
  ran=$(json "$T/m/metrics.json" 'len(d["history"])')
  kept=$((best + 1))
  [ "$ran" -gt "$kept" ]
  assert_equal "$(json "$T/m/model.json" 'len(d["learner"]["gradient_booster"]["model"]["trees"])')" "$kept"
  said="$ran rounds run, $kept kept (best round $best), $kept trees"
  [[ $stderr == *"13 features, $said, bundle '$T/m'" ]] || fail "$stderr"
  assert_equal "$(json "$T/m/params.json" '(d["rounds_run"], d["best_iteration"], d["rounds_kept"], d["trees"])')" \
    "($ran, $best, $kept, $kept)"
  grep -q "13 features, $said\.</p>" "$T/m/report.html" || fail "the report says: $(grep -o '<p>13 features[^<]*' "$T/m/report.html")"
  grep -q "<tr><th>rounds kept</th><td>$kept</td></tr>" "$T/m/report.html"
  grep -q "<tr><th>trees</th><td>$kept</td></tr>" "$T/m/report.html"
  # predict loads the same number of trees
  run --separate-stderr bash -c "'$CDN' gen -q --rows 20 --seed 3 --no-label | '$CDN' tag -q |
    '$CDN' -vv predict -m '$T/m' -o /dev/null"
  assert_success
  [[ $stderr == *"predicting with the compiled trees: $kept trees"* ]] || fail "$stderr"
}

@test "--early-stopping without validation data is a usage error" {
  run --separate-stderr cdn train --schema "$SCHEMA" --early-stopping 5 "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: --early-stopping watches validation data; give --valid, --valid-fraction or --valid-after"
}

@test "--valid-fraction holds out a seeded share of the rows, the same for the same seed" {
  cdn train -q --schema "$SCHEMA" --rounds 2 --valid-fraction 0.25 --seed 3 "$D/train.csv" -o "$T/a"
  cdn train -q --schema "$SCHEMA" --rounds 2 --valid-fraction 0.25 --seed 3 "$D/train.csv" -o "$T/b"
  cdn train -q --schema "$SCHEMA" --rounds 2 --valid-fraction 0.25 --seed 4 "$D/train.csv" -o "$T/c"
  va=$(json "$T/a/summary.json" 'd["rows"]["valid"]')
  [ "$va" -gt 2700 ] && [ "$va" -lt 3300 ]
  assert_equal "$(json "$T/a/summary.json" 'd["rows"]["train"]')" $((12000 - va))
  cmp "$T/a/model.ubj" "$T/b/model.ubj"
  ! cmp -s "$T/a/summary.json" "$T/c/summary.json"
}

@test "--valid-after validates on the rows at or after a time" {
  cut=2026-11-22T00:07:30Z
  want=$(tail -n +2 "$D/train.csv" | awk -F, -v c="2026-11-22T00:07:30" '$1 >= c' | wc -l)
  [ "$want" -gt 1000 ]
  run cdn train -q --schema "$SCHEMA" --rounds 2 --valid-after $cut "$D/train.csv" -o "$T/m"
  assert_success
  assert_equal "$(json "$T/m/summary.json" 'd["rows"]["valid"]')" "$want"
  assert_equal "$(json "$T/m/params.json" 'd["validation"]')" "{'after': '$cut'}"
}

@test "--valid, --valid-fraction and --valid-after do not go together" {
  run --separate-stderr cdn train --schema "$SCHEMA" --valid "$D/valid.csv" --valid-fraction 0.1 "$D/train.csv" -o "$T/m"
  assert_failure 2
  [[ "$stderr" =~ "give one" ]]
}

@test "validation categories never seen in training count as missing, with a warning" {
  awk -F, 'NR == 1 || $4 != "US"' "$D/train.csv" >"$T/no-us.csv"
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 2 --valid "$D/valid.csv" "$T/no-us.csv" -o "$T/m"
  assert_success
  n=$(awk -F, '$4 == "US"' "$D/valid.csv" | wc -l)
  [[ "$stderr" =~ "cdn train: warning: $n validation values of 'country' were not seen in training; they count as missing" ]]
}

@test "a regression objective reports RMSE and MAE" {
  run --separate-stderr cdn train --schema "$SCHEMA" --objective reg:squarederror --label response_time_ms --rounds 10 --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  assert_success
  [[ "$stderr" =~ "validation set, 4000 rows: rmse "[0-9.e+]+", mae "[0-9.e+]+ ]]
  assert_equal "$(json "$T/m/contract.json" '"response_time_ms" in [f["name"] for f in d["features"]]')" False
  assert_equal "$(json "$T/m/metrics.json" 'sorted(d["final"])')" "['evaluated_on', 'mae', 'rmse', 'rows']"
  assert_equal "$(json "$T/m/metrics.json" 'd["columns"]')" "['valid-mae', 'valid-rmse']"
}

@test "a multi-class objective learns the number of classes and reports a confusion matrix" {
  cat >"$T/schema.json" <<'JSON'
{"properties": {"id": {"type": "integer"}, "x": {"type": "number"}, "color": {"type": "string"},
 "cls": {"type": "integer"}}}
JSON
  awk 'BEGIN { srand(5); print "id,x,color,cls"; split("red green blue", c, " ");
    for (i = 0; i < 3000; i++) { x = rand() * 3; k = int(rand() * 3) + 1;
      print i "," x "," c[k] "," (int(x) + (c[k] == "blue")) % 3 } }' >"$T/multi.csv"
  run --separate-stderr cdn train --schema "$T/schema.json" --drop id --label cls --objective multi:softprob --rounds 20 --valid-fraction 0.2 "$T/multi.csv" -o "$T/m"
  assert_success
  [[ "$stderr" =~ "validation set, "[0-9]+" rows: mlogloss 0."[0-9]+", accuracy 0.9" ]]
  assert_equal "$(json "$T/m/contract.json" 'd["num_class"]')" 3
  assert_equal "$(json "$T/m/contract.json" 'd["features"][1]["categories"]')" "['blue', 'green', 'red']"
  # a tree per class in each round, as the summary says
  [[ $stderr == *"2 features, 20 rounds, 60 trees, bundle '$T/m'"* ]] || fail "$stderr"
  assert_equal "$(json "$T/m/metrics.json" 'len(d["final"]["confusion"])')" 3
  # the report in the bundle holds the confusion matrix
  run "$PY" "$REPO_ROOT/tests/cli/py/check_report.py" "$T/m/report.html" "$T/m"
  assert_success
  assert_output "charts: learning-merror learning-mlogloss importance-gain importance-weight importance-cover; every series matches
tables: params data features importance confusion; footer with versions and date"
}

@test "--report writes one self-contained HTML file whose charts plot the metrics of the run" {
  run cdn train -q --schema "$SCHEMA" --rounds 15 --early-stopping 3 --valid "$D/valid.csv" --report "$T/r.html" "$D/train.csv" -o "$T/m"
  assert_success
  run "$PY" "$REPO_ROOT/tests/cli/py/check_report.py" "$T/r.html" "$T/m"
  assert_success
  assert_output "charts: learning-auc learning-logloss importance-gain importance-weight importance-cover roc pr calibration; every series matches
tables: params data features importance thresholds calibration rates; footer with versions and date"
  # the same report is in the bundle
  cmp "$T/r.html" "$T/m/report.html"
}

@test "--report draws residuals for a regression, clipped to the 1st-99th percentile" {
  run cdn train -q --schema "$SCHEMA" --objective reg:squarederror --label ttfb_ms --rounds 5 --eval-train --report "$T/r.html" "$D/train.csv" -o "$T/m"
  assert_success
  run "$PY" "$REPO_ROOT/tests/cli/py/check_report.py" "$T/r.html" "$T/m"
  assert_success
  assert_output "charts: learning-mae learning-rmse importance-gain importance-weight importance-cover residuals; every series matches
tables: params data features importance; footer with versions and date"
  grep -q 'Axes clipped to the 1st–99th percentile' "$T/r.html"
}

@test "the bundle holds report.html without --report, and cdn predict still accepts the bundle" {
  run cdn train -q --schema "$SCHEMA" --rounds 5 "$D/train.csv" -o "$T/m"
  assert_success
  run "$PY" "$REPO_ROOT/tests/cli/py/check_report.py" "$T/m/report.html" "$T/m"
  assert_success
  cdn gen -q --rows 2 --seed 5 -f ndjson | cdn tag -q >"$T/two.ndjson"
  run --separate-stderr cdn predict -m "$T/m" "$T/two.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 2
}

@test "an unwritable --report path is a usage error before any data is read" {
  : >"$T/file"
  run --separate-stderr cdn train --schema "$SCHEMA" --report "$T/file/r.html" "$T/not-read.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: cannot write the report '$T/file/r.html': '$T/file' is not a directory; give --report a path in an existing, writable directory"
  [ ! -e "$T/m" ]
  run --separate-stderr cdn train --schema "$SCHEMA" --report "$T/no/such/dir/r.html" "$T/not-read.csv" -o "$T/m"
  assert_failure 2
  [[ "$stderr" =~ "cannot write the report '$T/no/such/dir/r.html': the directory '$T/no/such/dir' does not exist" ]]
  mkdir "$T/d"
  run --separate-stderr cdn train --schema "$SCHEMA" --report "$T/d" "$T/not-read.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: cannot write the report '$T/d': it is a directory; give --report a file name, such as '$T/d/report.html'"
}

# bats test_tags=chromium
@test "the binary report lays out in Chromium at 800 and 1400 px with no overlapping text" {
  cdn train -q --schema "$SCHEMA" --rounds 15 --early-stopping 3 --seed 3 --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  chromium_checks "$T/m/report.html" learning-auc learning-logloss importance-gain importance-weight importance-cover roc pr calibration
}

# bats test_tags=chromium
@test "the regression report lays out in Chromium at 800 and 1400 px with no overlapping text" {
  cdn train -q --schema "$SCHEMA" --objective reg:squarederror --label ttfb_ms --rounds 8 --seed 3 --valid-fraction 0.2 "$D/train.csv" -o "$T/m"
  chromium_checks "$T/m/report.html" learning-mae learning-rmse importance-gain importance-weight importance-cover residuals
}

@test "a parameter XGBoost does not use is a usage error naming the nearest it does, before any data is read" {
  run --separate-stderr cdn train --schema "$SCHEMA" --param max_bins=128 "$T/not-read.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: XGBoost does not use the parameter 'max_bins' (did you mean 'max_bin'?) with objective binary:logistic; see XGBoost's parameter list, or leave the option out"
  run --separate-stderr cdn train --schema "$SCHEMA" --param colsample_bytre=0.5 --param grow_polcy=lossguide \
    --param zzzz=1 "$T/not-read.csv" -o "$T/m"
  assert_failure 2
  [[ $stderr == *"parameters 'colsample_bytre' (did you mean 'colsample_bytree'?), 'grow_polcy' (did you mean 'grow_policy'?), 'zzzz' with"* ]] ||
    fail "$stderr"
  [[ ! -e $T/m ]]
  # every objective trains with cdn's own parameters: none of them is refused
  local o
  for o in binary:logistic binary:logitraw binary:hinge reg:squarederror reg:logistic count:poisson multi:softprob; do
    cdn train -q --schema "$SCHEMA" --rounds 1 --objective "$o" "$D/train.csv" -o "$T/$o" ||
      fail "objective $o"
  done
}

@test "an objective or parameter value XGBoost refuses is a usage error before any data is read" {
  run --separate-stderr cdn train --schema "$SCHEMA" --objective nonsense "$T/not-read.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" 'cdn train: XGBoost refuses the parameters: Unknown objective function: `nonsense`'
  run --separate-stderr cdn train --schema "$SCHEMA" --param max_depth=-3 "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: XGBoost refuses the parameters: value -3 for Parameter max_depth should be greater equal to 0"
}

@test "--threshold sets where the final metrics count a probability as positive" {
  cdn train -q --schema "$SCHEMA" --rounds 10 --valid "$D/valid.csv" "$D/train.csv" -o "$T/a"
  cdn train -q --schema "$SCHEMA" --rounds 10 --valid "$D/valid.csv" --threshold 0.1 "$D/train.csv" -o "$T/b"
  assert_equal "$(json "$T/b/metrics.json" 'd["final"]["threshold"]')" 0.1
  # a lower threshold calls more records positive: recall rises, and so does the count
  "$PY" - "$T/a/metrics.json" "$T/b/metrics.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["final"] for p in sys.argv[1:])
assert b["recall"] > a["recall"], (a["recall"], b["recall"])
assert b["confusion"][0][1] + b["confusion"][1][1] > a["confusion"][0][1] + a["confusion"][1][1]
assert a["auc"] == b["auc"]
PY
}

@test "SIGINT stops training after a round and the bundle holds the rounds done" {
  "$CDN" train --schema "$SCHEMA" --rounds 100000 --eta 0.01 --valid "$D/valid.csv" "$D/train.csv" -o "$T/m" 2>"$T/err" &
  pid=$!
  deadline=$((SECONDS + 60))
  until grep -q '^cdn train: \[3\]' "$T/err" || ((SECONDS > deadline)); do sleep 0.1; done
  kill -INT "$pid"
  st=0
  wait "$pid" || st=$?
  assert_equal "$st" 130
  [[ "$(tail -1 "$T/err")" =~ "trees, bundle '$T/m' (interrupted by SIGINT)"$ ]]
  done=$(json "$T/m/params.json" 'd["rounds_run"]')
  [ "$done" -ge 4 ] && [ "$done" -lt 100000 ]
  assert_equal "$(json "$T/m/metrics.json" 'len(d["history"])')" "$done"
}

@test "XGBoost's own warnings come through cdn's diagnostics, and -q silences them" {
  awk -F, -v OFS=, 'NR == 1 || $16 == 0' "$D/train.csv" | head -500 >"$T/one-class.csv"
  # binary:logitraw: XGBoost evaluates the AUC itself, and warns
  run --separate-stderr cdn train --schema "$SCHEMA" --objective binary:logitraw --rounds 1 --eval-train "$T/one-class.csv" -o "$T/m"
  assert_success
  [[ "$stderr" =~ "cdn train: warning: XGBoost: Dataset is empty, or contains only positive or negative samples." ]]
  [[ "$stderr" != *"auc.cc"* ]]
  run --separate-stderr cdn train -q --schema "$SCHEMA" --objective binary:logitraw --rounds 1 --eval-train "$T/one-class.csv" -o "$T/m2"
  assert_success
  assert_equal "$stderr" ""
}

@test "an AUC cdn computes on one class of labels is NaN, with a warning" {
  awk -F, -v OFS=, 'NR == 1 || $16 == 0' "$D/train.csv" | head -500 >"$T/one-class.csv"
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 2 --eval-train "$T/one-class.csv" -o "$T/m"
  assert_success
  assert_equal "$(grep -c 'warning: AUC is undefined on the training data: it holds only one class of labels (or no rows); give it both' <<<"$stderr")" 1
  [[ "$stderr" =~ "[0] train-auc:nan train-logloss:" ]]
  run --separate-stderr cdn train -q --schema "$SCHEMA" --rounds 2 --eval-train "$T/one-class.csv" -o "$T/m2"
  assert_success
  assert_equal "$stderr" ""
}

@test "--early-stopping on a metric to maximize keeps the round with the highest value" {
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 300 --eta 0.5 --max-depth 8 --early-stopping 4 \
    --param eval_metric=auc --valid "$D/valid.csv" "$D/train.csv" -o "$T/m"
  assert_success
  best=$(json "$T/m/metrics.json" 'd["best_iteration"]')
  assert_equal "$(json "$T/m/metrics.json" 'max(range(len(d["history"])), key=lambda i: (d["history"][i][-1], -i))')" "$best"
  [[ "$stderr" =~ "early stopping: best round $best by valid-auc" ]]
}

# cdn computes the common per-round metrics itself from the booster's predictions; Python
# XGBoost's evals_result is XGBoost's own evaluation of the same rounds.
same_history() {
  "$PY" - "$1/metrics.json" "$2" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))["history"]
assert sorted(ours["columns"]) == sorted(theirs), (ours["columns"], sorted(theirs))
diff = max(abs(row[i] - theirs[c][r]) / max(1.0, abs(theirs[c][r]))
           for i, c in enumerate(ours["columns"]) for r, row in enumerate(ours["history"]))
print(f"{len(ours['history'])} rounds, columns {ours['columns']}, largest relative difference {diff:.3g}")
sys.exit(0 if diff <= 1e-9 and len(ours["history"]) == len(theirs[ours["columns"][0]]) else 1)
PY
}

@test "the metrics of every round equal XGBoost's own evaluation, by objective and metric" {
  run --separate-stderr cdn -vv train --schema "$SCHEMA" --rounds 20 --max-depth 4 --eta 0.2 --param eval_metric=error \
    --param eval_metric=auc --param eval_metric=logloss --eval-train --valid "$D/valid.csv" "$D/train.csv" -o "$T/bin"
  assert_success
  [[ "$stderr" =~ "per-round metrics computed by cdn: 3 on 2 sets" ]]
  "$PY" "$REPO_ROOT/tests/cli/py/train_xgb.py" "$T/bin" "$D/train.csv" "$D/valid.csv" >"$T/bin.json"
  same_history "$T/bin" "$T/bin.json"

  run --separate-stderr cdn -vv train --schema "$SCHEMA" --objective reg:squarederror --label response_time_ms \
    --rounds 20 --eval-train --valid "$D/valid.csv" "$D/train.csv" -o "$T/reg"
  assert_success
  [[ "$stderr" =~ "per-round metrics computed by cdn: 2 on 2 sets" ]]
  "$PY" "$REPO_ROOT/tests/cli/py/train_xgb.py" "$T/reg" "$D/train.csv" "$D/valid.csv" >"$T/reg.json"
  same_history "$T/reg" "$T/reg.json"

  # a metric cdn does not compute: XGBoost evaluates every metric of the run
  run --separate-stderr cdn -vv train --schema "$SCHEMA" --rounds 20 --param eval_metric=aucpr \
    --param eval_metric=logloss --eval-train --valid "$D/valid.csv" "$D/train.csv" -o "$T/pr"
  assert_success
  [[ ! "$stderr" =~ "per-round metrics computed by cdn" ]]
  "$PY" "$REPO_ROOT/tests/cli/py/train_xgb.py" "$T/pr" "$D/train.csv" "$D/valid.csv" >"$T/pr.json"
  same_history "$T/pr" "$T/pr.json"
}

@test "--model-in continues a bundle's model: its contract and trees, this run's rounds after them, as XGBoost's xgb_model" {
  cdn train -q --schema "$SCHEMA" --rounds 8 --max-depth 4 "$D/valid.csv" -o "$T/base"
  run --separate-stderr cdn -vv train --rounds 6 --max-depth 4 --model-in "$T/base" --eval-train --valid "$D/valid.csv" \
    "$D/train.csv" -o "$T/more"
  assert_success
  [[ $stderr == *"6 rounds after the 8 of --model-in, 14 trees, bundle '$T/more'"* ]] || fail "$stderr"
  assert_equal "$(json "$T/more/params.json" 'd["base_rounds"]')" 8
  assert_equal "$(json "$T/more/model.json" 'len(d["learner"]["gradient_booster"]["model"]["trees"])')" 14
  # the base's vocabularies and codes stay; what training missed adds up
  assert_equal "$(json "$T/more/contract.json" '[f["categories"] for f in d["features"] if f["kind"] == "categorical"]')" \
    "$(json "$T/base/contract.json" '[f["categories"] for f in d["features"] if f["kind"] == "categorical"]')"
  # every round's metrics equal Python XGBoost continuing the same model on the same rows
  "$PY" "$REPO_ROOT/tests/cli/py/train_xgb.py" "$T/more" "$D/train.csv" "$D/valid.csv" "$T/base" >"$T/more.json"
  same_history "$T/more" "$T/more.json"
  # the contract is the bundle's: options that would make another are usage errors
  run --separate-stderr cdn train --model-in "$T/base" --objective reg:squarederror "$D/train.csv" -o "$T/x"
  assert_failure 2
  assert_equal "$stderr" "cdn train: --model-in continues the bundle's model with the bundle's contract and objective; leave out --objective"
  # and predict takes the continued bundle
  cdn gen -q --rows 20 --seed 3 --no-label | cdn tag -q | cdn predict -q -m "$T/more" >"$T/p.ndjson"
  assert_equal "$(wc -l <"$T/p.ndjson")" 20
}

# bars FILE: what the progress bar drew in a terminal's typescript, one draw a line (each
# after a clear, \r ESC [K; the last one ends with the new line that keeps it).
bars() {
  /usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
for part in data.split("\r\x1b[K")[1:]:
    if part.startswith("cdn train: ["):
        print(part.split("\r")[0].split("\n")[0])
' "$1"
}

@test "on a terminal the bar fits 80 columns with the time and an ETA, and ends at the best round; piped, there is none" {
  on_tty --cols 80 --timeout 300 -- "$CDN" train --schema "$SCHEMA" --rounds 300 --valid-fraction 0.3 \
    --early-stopping 5 "$D/train.csv" -o "$T/m" >"$T/tty"
  run bars "$T/tty"
  ((${#lines[@]} >= 3)) || fail "only ${#lines[@]} bars: $output"
  local l
  for l in "${lines[@]}"; do
    ((${#l} <= 79)) || fail "a bar of ${#l} columns at 80: $l"
  done
  # while it runs: rounds done of all, the time, the ETA, the watched metric first
  [[ ${lines[1]} =~ ^"cdn train: ["[#\ ]{20}"] 2/300 "[0-9]+:[0-9]{2}" ETA "[0-9]+:[0-9]{2}" valid-logloss:" ]] ||
    fail "second bar: ${lines[1]}"
  # early stopping: the last bar is the best round, as the summary says
  best=$(grep -a -o 'early stopping: best round [0-9]*' "$T/tty" | grep -o '[0-9]*$')
  [[ ${lines[-1]} =~ ^"cdn train: ["[#\ ]{20}"] $((best + 1))/300 "[0-9]+:[0-9]{2}" best: round $best, stopped after "[0-9]+ ]] ||
    fail "last bar: ${lines[-1]} (best round $best)"
  ((${#lines[@]} > best + 1)) || fail "stopped at the best round itself?"
  # piped: one line per round instead, no bar
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 3 --valid "$D/valid.csv" "$D/train.csv" -o "$T/m2"
  assert_success
  [[ $stderr != *$'\r'* ]]
  [[ $stderr == *'[2] '* ]]
}

# bats test_tags=kafka
@test "the same bundle from CSV and from the NDJSON of the same records: a file, gzipped, stdin, and a topic" {
  cdn gen -q --rows 3000 --seed 11 -f csv -o "$T/t.csv"
  cdn gen -q --rows 3000 --seed 11 -o "$T/t.ndjson"
  gzip -k "$T/t.ndjson"
  cp "$T/t.ndjson" "$T/t.data"  # no telling name: the first byte says NDJSON
  opts=(--schema "$SCHEMA" --rounds 8 --time-features --valid-fraction 0.2 -q)
  cdn train "${opts[@]}" "$T/t.csv" -o "$T/csv"
  cdn train "${opts[@]}" "$T/t.ndjson" -o "$T/ndjson"
  cdn train "${opts[@]}" "$T/t.ndjson.gz" -o "$T/gz"
  cdn train "${opts[@]}" "$T/t.data" -o "$T/data"
  cdn train "${opts[@]}" --input-format ndjson - -o "$T/stdin" <"$T/t.ndjson"
  start_broker -t records:1
  cdn produce -q -t records "$T/t.ndjson"
  run --separate-stderr cdn train "${opts[@]}" kafka:records -o "$T/topic"
  assert_failure 2
  assert_equal "$stderr" "cdn train: cdn train reads 'kafka:records' to its end and then trains: add -e (--exit-at-end)"
  cdn train "${opts[@]}" -e kafka:records -o "$T/topic"
  for b in ndjson gz data stdin topic; do
    cmp "$T/csv/contract.json" "$T/$b/contract.json" || fail "$b: another contract"
    cmp "$T/csv/model.ubj" "$T/$b/model.ubj" || fail "$b: other trees"
  done
  # and the bundle scores as the CSV one does
  head -100 "$T/t.ndjson" | cdn tag -q >"$T/some.ndjson"
  cmp <(cdn predict -q -m "$T/csv" "$T/some.ndjson") <(cdn predict -q -m "$T/topic" "$T/some.ndjson")
}

@test "NDJSON training data is checked by the contract's rules as predict checks it: bad records go to rejects with the reason" {
  cdn gen -q --rows 400 --seed 5 -o "$T/good.ndjson"
  good=$(head -1 "$T/good.ndjson")
  { cat "$T/good.ndjson"
    jq -c '.rtt_ms = true' <<<"$good"
    jq -c '.asn = 12.5' <<<"$good"
    jq -c '.device = "fridge"' <<<"$good"
    jq -c '.http_status = 99' <<<"$good"
    jq -c '.country = 7' <<<"$good"
    jq -c '.qoe_bad = 2' <<<"$good"
    jq -c 'del(.qoe_bad)' <<<"$good"
    echo '[1]'
    echo '{"broken'; } >"$T/in.ndjson"
  run --separate-stderr cdn train --schema "$SCHEMA" --rounds 2 "$T/in.ndjson" -o "$T/m" --rejects "$T/rej.ndjson"
  assert_failure 1
  [[ $stderr == *"cdn train: 409 in, 400 out, 9 rejected"* ]] || fail "$stderr"
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_line --index 0 "401	field 'rtt_ms': true is a boolean, not a number"
  assert_line --index 1 "402	field 'asn': 12.5 is not an integer"
  assert_line --index 2 "403	field 'device' is 'fridge', not one of the values the schema allows"
  assert_line --index 3 "404	field 'http_status': 99 is below the minimum 100"
  assert_line --index 4 "405	field 'country' is a number; the model wants a string"
  assert_line --index 5 "406	label 'qoe_bad': 2 is neither 0 nor 1"
  assert_line --index 6 "407	no label 'qoe_bad'"
  assert_line --index 7 "408	not a JSON object but an array"
  assert_line --index 8 --regexp "^409	invalid JSON: "
}

# mode_auc DIR: the final validation AUC of a bundle
mode_auc() { json "$1/metrics.json" 'd["final"]["auc"]'; }

@test "the default quantised path, --in-memory and --external-memory train models of the same quality, and say which mode ran" {
  run --separate-stderr cdn -v train --schema "$SCHEMA" --rounds 20 --in-memory --valid "$D/valid.csv" "$D/train.csv" -o "$T/mem"
  assert_success
  [[ $stderr == *"training on 12000 rows, in memory (a dense float matrix)"* ]] || fail "$stderr"
  run --separate-stderr cdn -v train --schema "$SCHEMA" --rounds 20 --valid "$D/valid.csv" "$D/train.csv" -o "$T/q"
  assert_success
  [[ $stderr == *"training on 12000 rows, quantised (XGBoost's quantile matrix, built a block at a time)"* ]] || fail "$stderr"
  mkdir "$T/ext"
  run --separate-stderr cdn -v train --schema "$SCHEMA" --rounds 20 --external-memory "$T/ext" --valid "$D/valid.csv" "$D/train.csv" -o "$T/x"
  assert_success
  [[ $stderr == *"training on 12000 rows, in external memory (pages in '$T/ext')"* ]] || fail "$stderr"
  # XGBoost's pages and the rows' file are gone with the run
  assert_equal "$(ls -A "$T/ext")" ""
  assert_equal "$(json "$T/mem/params.json" '(d["data"], d["workers"])')" "('in memory', 1)"
  assert_equal "$(json "$T/q/params.json" '(d["data"], d["workers"])')" "('quantised', 1)"
  assert_equal "$(json "$T/x/params.json" '(d["data"], d["workers"])')" "('external memory', 1)"
  grep -q '<tr><th>data</th><td>external memory</td></tr>' "$T/x/report.html"
  "$PY" - "$(mode_auc "$T/mem")" "$(mode_auc "$T/q")" "$(mode_auc "$T/x")" <<'PY'
import sys
mem, q, x = map(float, sys.argv[1:])
print(mem, q, x)
assert abs(q - mem) <= 0.002 and abs(x - mem) <= 0.002, (mem, q, x)
PY
  # the same data summary and reference distributions, whichever way the rows were kept
  cmp "$T/mem/summary.json" "$T/q/summary.json"
  cmp "$T/mem/reference.json" "$T/q/reference.json"
  cmp "$T/mem/summary.json" "$T/x/summary.json"
  # each bundle predicts
  cdn gen -q --rows 50 --seed 3 --no-label | cdn tag -q | cdn predict -q -m "$T/x" | wc -l | grep -qx 50
}

@test "rows spooled past one block: the split, the sorted vocabularies and the summary are those of the rows held in memory" {
  # 70,000 rows: two blocks of the spool; --valid-fraction splits the spooled rows; the
  # learned vocabularies are sorted after the rows are written, so their codes change as
  # the rows are read back
  cdn gen -q --rows 70000 --seed 21 -f csv -o "$T/big.csv"
  cdn train -q --schema "$SCHEMA" --rounds 5 --in-memory --valid-fraction 0.25 --seed 4 "$T/big.csv" -o "$T/mem"
  cdn train -q --schema "$SCHEMA" --rounds 5 --valid-fraction 0.25 --seed 4 "$T/big.csv" -o "$T/q"
  cmp "$T/mem/summary.json" "$T/q/summary.json"
  cmp "$T/mem/reference.json" "$T/q/reference.json"
  cmp "$T/mem/contract.json" "$T/q/contract.json"
  assert_equal "$(json "$T/q/metrics.json" 'd["final"]["rows"]')" "$(json "$T/mem/metrics.json" 'd["final"]["rows"]')"
  "$PY" - "$(mode_auc "$T/mem")" "$(mode_auc "$T/q")" <<'PY'
import sys
mem, q = map(float, sys.argv[1:])
assert abs(q - mem) <= 0.002, (mem, q)
PY
  # the final metrics are those of predicting the validation rows again
  run cdn eval -m "$T/q" --json "$T/big.csv"
  assert_success
}

@test "where the rows are kept: --in-memory and --external-memory together, a missing directory, and an unwritable TMPDIR are usage errors naming what to change" {
  run --separate-stderr cdn train --schema "$SCHEMA" --in-memory --external-memory "$T" "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: --in-memory and --external-memory each choose where the training data is kept; give one"
  run --separate-stderr cdn train --schema "$SCHEMA" --external-memory "$T/nodir" "$D/train.csv" -o "$T/m"
  assert_failure 2
  assert_equal "$stderr" "cdn train: bad --external-memory: the directory '$T/nodir' does not exist; name an existing directory"
  run --separate-stderr env TMPDIR="$T/nodir" "$CDN" train --schema "$SCHEMA" "$D/train.csv" -o "$T/m"
  assert_failure 2
  [[ $stderr == "cdn train: cannot write the training rows to a file in '$T/nodir': the directory '$T/nodir' does not exist; name a writable directory with --external-memory or TMPDIR" ]] || fail "$stderr"
  [ ! -e "$T/m/model.ubj" ]
  # in memory nothing is written there
  run env TMPDIR="$T/nodir" "$CDN" train -q --schema "$SCHEMA" --rounds 2 --in-memory "$D/train.csv" -o "$T/m2"
  assert_success
}
