#!/usr/bin/env bats
# cdn eval: a model bundle judged on labelled records, by the metrics of its objective.

# bats file_tags=xgboost

load test_helper

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3
SCHEMA="$REPO_ROOT/schemas/cdn-data.json"

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$CDN" gen -q --rows 6000 --seed 31 -f csv -o "$d/train.csv"
  "$CDN" train -q --schema "$SCHEMA" --rounds 20 --eval-train --time-features "$d/train.csv" -o "$d/m"
  "$CDN" train -q --schema "$SCHEMA" --rounds 10 --eval-train --objective reg:squarederror --label ttfb_ms \
    --drop sampleID,timestamp,client_ip,qoe_bad "$d/train.csv" -o "$d/reg"
  "$CDN" gen -q --rows 4000 --seed 32 --start 2026-11-23T00:00:00Z -o "$d/test.ndjson"
  "$CDN" gen -q --rows 4000 --seed 32 --start 2026-11-23T00:00:00Z -f csv -o "$d/test.csv"
}

setup() {
  D="$BATS_FILE_TMPDIR"
  T="$BATS_TEST_TMPDIR"
}

@test "binary metrics equal scikit-learn's on the same predictions and labels within 1e-9, at two thresholds" {
  for t in 0.5 0.2; do
    run --separate-stderr cdn eval --json --threshold "$t" -m "$D/m" "$D/test.ndjson"
    assert_success
    [[ $stderr =~ ^"cdn eval: 4000 in, 4000 out, 0 rejected in " ]] || fail "$stderr"
    echo "$output" >"$T/eval.json"
    jq -e '.rows == 4000 and .auc > 0.6 and .pr_auc > 0 and .calibration_error >= 0' "$T/eval.json"
    run "$PY" "$REPO_ROOT/tests/cli/py/eval_parity.py" "$D/m" "$D/test.ndjson" "$T/eval.json" "$t"
    [[ $status -eq 0 ]] || fail "threshold $t: $output"
  done
}

@test "regression metrics (RMSE, MAE, R²) equal scikit-learn's within 1e-9" {
  run --separate-stderr cdn eval --json -m "$D/reg" "$D/test.ndjson"
  assert_success
  echo "$output" >"$T/eval.json"
  assert_equal "$(jq -c 'keys' "$T/eval.json")" '["mae","missing_values","objective","r2","rmse","rows","unknown_categories"]'
  run "$PY" "$REPO_ROOT/tests/cli/py/eval_parity.py" "$D/reg" "$D/test.ndjson" "$T/eval.json" 0.5
  [[ $status -eq 0 ]] || fail "$output"
}

@test "multi-class metrics (mlogloss, accuracy, confusion) equal scikit-learn's" {
  cat >"$T/schema.json" <<'JSON'
{"properties": {"timestamp": {"type": "string", "format": "date-time"}, "sampleID": {"type": "integer"},
 "x": {"type": "number"}, "y": {"type": "number"}, "cls": {"type": "integer"}}, "required": ["x"]}
JSON
  awk 'BEGIN { srand(3); for (i = 0; i < 3000; i++) { x = rand() * 3; y = rand();
    c = int(x + (y > 0.9 ? 1 : 0)) % 3;
    printf "{\"sampleID\":%d,\"timestamp\":\"2026-11-22T00:00:00Z\",\"x\":%f,\"y\":%f,\"cls\":%d}\n", i, x, y, c } }' >"$T/multi.ndjson"
  head -2000 "$T/multi.ndjson" >"$T/train.ndjson"
  tail -1000 "$T/multi.ndjson" >"$T/test.ndjson"
  cdn train -q --schema "$T/schema.json" --label cls --objective multi:softprob --rounds 10 "$T/train.ndjson" -o "$T/mc"
  run --separate-stderr cdn eval --json -m "$T/mc" "$T/test.ndjson"
  assert_success
  echo "$output" >"$T/eval.json"
  jq -e '(.confusion | length) == 3 and .accuracy > 0.8' "$T/eval.json"
  run "$PY" "$REPO_ROOT/tests/cli/py/eval_parity.py" "$T/mc" "$T/test.ndjson" "$T/eval.json" 0.5
  [[ $status -eq 0 ]] || fail "$output"
}

@test "CSV and NDJSON of the same records give the same metrics; on a terminal-less stdout a table" {
  a=$(cdn eval -q --json -m "$D/m" "$D/test.ndjson")
  b=$(cdn eval -q --json -m "$D/m" "$D/test.csv")
  assert_equal "$a" "$b"
  run --separate-stderr cdn eval -m "$D/m" <"$D/test.ndjson"
  assert_success
  assert_line --index 0 "objective          binary:logistic"
  assert_line --index 1 "rows               4000"
  auc=$(jq .auc <<<"$a")
  [[ ${lines[2]} == "auc                $(printf '%.6f' "$auc")" ]] || fail "${lines[2]} vs $auc"
  assert_output --partial "confusion (rows: actual class, columns: predicted class)"
}

@test "records are checked as predict checks them, labels as train does; each refusal goes to rejects with the reason" {
  good=$(head -1 "$D/test.ndjson")
  { head -50 "$D/test.ndjson"
    jq -c '.rtt_ms = true' <<<"$good"
    jq -c '.device = "fridge"' <<<"$good"
    jq -c 'del(.rtt_ms)' <<<"$good"
    jq -c 'del(.qoe_bad)' <<<"$good"
    jq -c '.qoe_bad = 3' <<<"$good"
    jq -c '.qoe_bad = "yes"' <<<"$good"
    echo 'not json'; } >"$T/in.ndjson"
  run --separate-stderr cdn eval --json -m "$D/m" --rejects "$T/rej.ndjson" "$T/in.ndjson"
  assert_failure 1
  assert_equal "$(jq .rows <<<"$output")" 50
  [[ $stderr =~ ^"cdn eval: 57 in, 50 out, 7 rejected" ]] || fail "$stderr"
  run jq -r '[.line, .reason] | @tsv' "$T/rej.ndjson"
  assert_line --index 0 "51	field 'rtt_ms': true is a boolean, not a number"
  assert_line --index 1 "52	field 'device' is 'fridge', not one of the values the schema allows"
  assert_line --index 2 "53	field 'rtt_ms' is missing; the schema requires it (--allow-missing scores it as missing)"
  assert_line --index 3 "54	no label 'qoe_bad'"
  assert_line --index 4 "55	label 'qoe_bad': 3 is neither 0 nor 1"
  assert_line --index 5 "56	label 'qoe_bad' is a string, not a number"
  assert_line --index 6 --regexp "^57	invalid JSON: "
  # --allow-missing judges the record without rtt_ms, and counts it
  run --separate-stderr cdn eval --json --allow-missing -m "$D/m" --rejects /dev/null "$T/in.ndjson"
  assert_equal "$(jq -c '[.rows, .missing_values]' <<<"$output")" '[51,{"rtt_ms":1}]'
}

@test "no labelled record, a missing bundle, --threshold on a regression: usage errors that say so" {
  run --separate-stderr cdn eval -m "$D/m" --rejects /dev/null <<<'{"a":1}'
  assert_failure 2
  assert_equal "$stderr" "cdn eval: no labelled record left to judge the model by in '-' (1 read, 1 rejected: the rejects say why); give records with the label 'qoe_bad' and the model's features"
  run --separate-stderr cdn eval -m "$T/nosuch" "$D/test.ndjson"
  assert_failure 2
  [[ $stderr == "cdn eval: "*"nosuch"* ]]
  run --separate-stderr cdn eval -m "$D/reg" --threshold 0.3 "$D/test.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn eval: --threshold applies to binary classifiers; this model's objective is reg:squarederror"
}

@test "--report writes the report of the judged records: their metrics, the bundle's training, the charts" {
  run --separate-stderr cdn eval --json -m "$D/m" --report "$T/r.html" "$D/test.ndjson"
  assert_success
  local auc hash
  auc=$(jq -r '.auc * 1000000 | round / 1000000 | tostring' <<<"$output")
  hash=$(jq -r .model_hash "$D/m/manifest.json")
  run grep -o '<pre class="metrics">[^<]*' "$T/r.html"
  assert_output --regexp "^<pre class=\"metrics\">labelled set, 4000 rows: auc ${auc}0*, "
  grep -q "judged on 4000 labelled records" "$T/r.html"
  grep -q "($hash)" "$T/r.html"
  # the parameters and learning curves come from the bundle's training (20 rounds)
  grep -q '<tr><th>rounds run</th><td>20</td></tr>' "$T/r.html"
  run grep -o 'data-chart="[a-z-]*"' "$T/r.html"
  assert_output - <<'OUT'
data-chart="learning-auc"
data-chart="learning-logloss"
data-chart="importance-gain"
data-chart="importance-weight"
data-chart="importance-cover"
data-chart="roc"
data-chart="pr"
data-chart="calibration"
OUT
  # a regression bundle's report has the residuals of the judged records
  cdn eval -q -m "$D/reg" --report "$T/reg.html" "$D/test.ndjson" >/dev/null
  grep -q 'data-chart="residuals"' "$T/reg.html"
  grep -q 'Residuals (label − prediction) on the labelled set' "$T/reg.html"
}

@test "an unwritable --report path is a usage error before any record is read" {
  run --separate-stderr cdn eval -m "$D/m" --report "$T/nodir/r.html" "$T/not-read.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn eval: cannot write the report '$T/nodir/r.html': the directory '$T/nodir' does not exist; give --report a path in an existing, writable directory"
}

# bats test_tags=chromium
@test "the eval report lays out in Chromium at 800 and 1400 px with no overlapping text" {
  cdn eval -q -m "$D/m" --report "$T/r.html" "$D/test.ndjson" >/dev/null
  chromium_checks "$T/r.html" learning-auc learning-logloss importance-gain importance-weight importance-cover roc pr calibration
}
