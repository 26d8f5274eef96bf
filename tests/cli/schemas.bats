#!/usr/bin/env bats
# schemas/: the telemetry record and the rejects line, checked against what the commands write,
# with Debian's python3-jsonschema as the reference validator.

load test_helper

SCHEMAS="$REPO_ROOT/schemas"

# validate SCHEMA FILE: prints "valid N invalid M" over the NDJSON lines of FILE.
validate() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
good = bad = 0
for line in open(sys.argv[2]):
    try:
        doc = json.loads(line)
    except ValueError:
        bad += 1
        continue
    if v.is_valid(doc):
        good += 1
    else:
        bad += 1
print("valid %d invalid %d" % (good, bad))
PY
}

@test "every record cdn gen writes is valid against schemas/cdn-data.json" {
  cdn -q gen --rows 3000 --seed 5 -o "$BATS_TEST_TMPDIR/g.ndjson"
  run validate "$SCHEMAS/cdn-data.json" "$BATS_TEST_TMPDIR/g.ndjson"
  assert_success
  assert_output "valid 3000 invalid 0"
}

@test "tagged records stay valid, and dirty lines are not" {
  cdn -q gen --rows 2000 --seed 6 --dirty 0.2 >"$BATS_TEST_TMPDIR/d.ndjson"
  # The lines that are not JSON objects are rejected: exit 1, each with its reason.
  run cdn tag --rejects "$BATS_TEST_TMPDIR/r.ndjson" -o "$BATS_TEST_TMPDIR/t.ndjson" \
    "$BATS_TEST_TMPDIR/d.ndjson"
  assert_failure 1
  assert_output --regexp '^cdn tag: 2000 in, [0-9]+ out, [1-9][0-9]* rejected'
  run jq -r .reason "$BATS_TEST_TMPDIR/r.ndjson"
  assert_success
  assert_line --regexp '^invalid JSON: '
  [ "$(grep -cvE '^(invalid JSON: |not a JSON object but )' <<<"$output")" -eq 0 ]
  [ $(($(wc -l <"$BATS_TEST_TMPDIR/t.ndjson") + ${#lines[@]})) -eq 2000 ]
  # Every record tag wrote has its sampleID; those that were dirty only in their values
  # are still invalid.
  [ "$(jq -c 'select(has("sampleID") | not)' "$BATS_TEST_TMPDIR/t.ndjson" | wc -l)" -eq 0 ]
  run validate "$SCHEMAS/cdn-data.json" "$BATS_TEST_TMPDIR/t.ndjson"
  assert_success
  assert_output --regexp '^valid 1[0-9]{3} invalid [1-9][0-9]+$'
}

@test "rejects lines are valid against schemas/reject.json" {
  cdn -q gen --rows 2000 --seed 7 --dirty 0.2 > "$BATS_TEST_TMPDIR/d.ndjson"
  run cdn -q sort "$BATS_TEST_TMPDIR/d.ndjson" --rejects "$BATS_TEST_TMPDIR/r.ndjson" -o /dev/null
  assert_failure 1
  run validate "$SCHEMAS/reject.json" "$BATS_TEST_TMPDIR/r.ndjson"
  assert_success
  assert_output --regexp '^valid [1-9][0-9]+ invalid 0$'
}

@test "CSV typed by schemas/cdn-data.json reads back as the same records as NDJSON" {
  cdn -q gen --rows 2000 --seed 8 > "$BATS_TEST_TMPDIR/g.ndjson"
  cdn -q gen --rows 2000 --seed 8 --format csv > "$BATS_TEST_TMPDIR/g.csv"
  cdn -q sort "$BATS_TEST_TMPDIR/g.ndjson" > "$BATS_TEST_TMPDIR/from-ndjson"
  run cdn -q sort --schema "$SCHEMAS/cdn-data.json" "$BATS_TEST_TMPDIR/g.csv" -o "$BATS_TEST_TMPDIR/from-csv"
  assert_success
  run cmp "$BATS_TEST_TMPDIR/from-ndjson" "$BATS_TEST_TMPDIR/from-csv"
  assert_success
}
