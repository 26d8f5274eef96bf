#!/usr/bin/env bats
# A member named twice in a record: the first occurrence counts, for every command that reads
# a member by its name (the rule of simdjson's lookup). cdn validate checks every occurrence,
# so that the one the other commands read is checked too; cdn load-influx writes a name once.

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
  # Each name twice: the first occurrence says "first", 1, 10:00:01; the second the opposite.
  DUP='{"timestamp":"2026-11-22T10:00:01Z","k":1,"sampleID":"first","pop":"FRA1","k":2,"sampleID":"second","pop":"LHR1","timestamp":"2026-11-22T10:00:02Z"}'
}

teardown() {
  stop_broker
}

# The rows: a command line, its input, and the output that reading the first occurrences gives.
# bats test_tags=influx
@test "sort, tag and load-influx read the first of two members of one name" {
  local bad=() cmd input want
  while IFS='|' read -r cmd input want; do
    # shellcheck disable=SC2086
    run --separate-stderr "$CDN" -q $cmd <<<"$(printf '%b' "$input")"
    [[ $status -eq 0 && $output == "$(printf '%b' "$want")" ]] ||
      bad+=("cdn $cmd: status $status, output: $output; stderr: $stderr")
  done <<TABLE
tag --overwrite|$DUP|{"timestamp":"2026-11-22T10:00:01Z","k":1,"sampleID":1,"pop":"FRA1","k":2,"sampleID":"second","pop":"LHR1","timestamp":"2026-11-22T10:00:02Z"}
tag --overwrite --prefix s-|$DUP|{"timestamp":"2026-11-22T10:00:01Z","k":1,"sampleID":"s-1","pop":"FRA1","k":2,"sampleID":"second","pop":"LHR1","timestamp":"2026-11-22T10:00:02Z"}
sort -k k|{"n":"A","k":2,"k":0}\\n{"n":"B","k":1}|{"n":"B","k":1}\\n{"n":"A","k":2,"k":0}
sort|$DUP\\n{"timestamp":"2026-11-22T10:00:01.500Z"}|$DUP\\n{"timestamp":"2026-11-22T10:00:01.500Z"}
load-influx --dry-run --tag pop --precision s|$DUP|cdn,pop=FRA1 k=1i,sampleID="first" 1795341601
load-influx --dry-run --field k,k --precision s|$DUP|cdn k=1i 1795341601
TABLE
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "tag --mode hash --hash-fields hashes the first of two members" {
  local id
  id=$(cdn -q tag --mode hash --hash-fields k <<<'{"k":1}' | jq -r .sampleID)
  run cdn -q tag --mode hash --hash-fields k <<<'{"k":1,"k":2}'
  assert_success
  assert_output "{\"k\":1,\"k\":2,\"sampleID\":\"$id\"}"
}

# bats test_tags=influx
@test "load-influx refuses a record whose flattened fields would share a name" {
  run --separate-stderr cdn load-influx --dry-run --precision s --rejects "$T/rejects" \
    <<<'{"timestamp":"2026-11-22T10:00:01Z","a_b":1,"a":{"b":2}}'
  assert_failure 1
  assert_output ''
  run jq -r .reason "$T/rejects"
  assert_output "the field name 'a_b' comes twice in the point (a nested member flattened to the name of another, as a_b from {\"a\":{\"b\":1}}); name the fields to write with --field"
}

@test "validate checks every occurrence of a member named twice" {
  printf '%s\n' '{"type":"object","properties":{"k":{"type":"integer"}}}' >"$T/s.json"
  run --separate-stderr cdn -q validate --schema "$T/s.json" <<<'{"k":1,"k":2}'
  assert_success
  assert_output '{"k":1,"k":2}'
  local r
  for r in '{"k":1,"k":"x"}' '{"k":"x","k":1}'; do
    run --separate-stderr cdn -q validate --schema "$T/s.json" --rejects "$T/rejects" <<<"$r"
    assert_failure 1
    assert_output ''
    run jq -r '.errors[0].pointer' "$T/rejects"
    assert_output /k
  done
}

# bats test_tags=kafka
@test "produce takes the message key and timestamp from the first of two members" {
  start_broker --topic dup:1
  run cdn -q produce -t dup --key-field k --time-field timestamp <<<"$DUP"
  assert_success
  run cdn -q consume -t dup -e --envelope
  assert_success
  assert_equal "$(jq -r .key <<<"$output")" 1
  assert_equal "$(jq -r .timestamp <<<"$output")" 1795341601000
}

# bats test_tags=xgboost
@test "predict reads features and --keep fields from the first of two members" {
  cdn -q gen --rows 300 --seed 3 -f csv -o "$T/train.csv"
  cdn -q train --rounds 3 "$T/train.csv" -o "$T/m"
  local rec
  rec=$(cdn -q gen --rows 1 --seed 4 --no-label | cdn -q tag)
  run --separate-stderr cdn -q predict -m "$T/m" --keep k <<<"${rec%\}},\"k\":1}"
  assert_success
  local want=$output
  # The same record with each feature named again, with other values, and k twice.
  run --separate-stderr cdn -q predict -m "$T/m" --keep k \
    <<<"${rec%\}},\"k\":1,\"bytes_sent\":1,\"rtt_ms\":9999,\"device\":\"console\",\"k\":2,\"sampleID\":77}"
  assert_success
  assert_output "$want"
  assert_output --partial '"k":1'
}
