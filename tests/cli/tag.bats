#!/usr/bin/env bats
# cdn tag: attaches a sample ID to every record.

load test_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.000Z","pop":"FRA1"}' \
    '{"timestamp":"2026-11-22T10:00:01.000Z","pop":"CDG2"}' \
    '{"timestamp":"2026-11-22T10:00:02.000Z","pop":"LHR1"}' >"$T/three.ndjson"
}

@test "every record gets an integer sequence starting at 1 in a field named sampleID" {
  run --separate-stderr cdn tag "$T/three.ndjson"
  assert_success
  assert_equal "${lines[0]}" '{"timestamp":"2026-11-22T10:00:00.000Z","pop":"FRA1","sampleID":1}'
  assert_equal "${lines[1]}" '{"timestamp":"2026-11-22T10:00:01.000Z","pop":"CDG2","sampleID":2}'
  assert_equal "${lines[2]}" '{"timestamp":"2026-11-22T10:00:02.000Z","pop":"LHR1","sampleID":3}'
  assert_equal "${#lines[@]}" 3
}

@test "the summary line on stderr counts records in, out, rejected and tagged" {
  run --separate-stderr cdn tag "$T/three.ndjson"
  assert_success
  [[ "$stderr" =~ ^"cdn tag: 3 in, 3 out, 0 rejected in "[0-9.]+" s, 3 tagged (1 to 3)"$ ]]
}

@test "records are read from stdin when no input is named" {
  run --separate-stderr cdn tag -q <"$T/three.ndjson"
  assert_success
  assert_equal "${lines[2]}" '{"timestamp":"2026-11-22T10:00:02.000Z","pop":"LHR1","sampleID":3}'
  assert_equal "$stderr" ""
}

@test "--field names the field that gets the ID" {
  run cdn tag -q --id-field id "$T/three.ndjson"
  assert_success
  assert_line --index 0 '{"timestamp":"2026-11-22T10:00:00.000Z","pop":"FRA1","id":1}'
}

@test "--start sets the first number of the sequence" {
  run cdn tag -q --start 1000 "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"sampleID":1000}'
  assert_line --index 2 --partial '"sampleID":1002}'
}

@test "--start 0 is allowed" {
  run cdn tag -q --start 0 "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"sampleID":0}'
}

@test "--prefix makes each ID a string: the prefix then the number" {
  run cdn tag -q --prefix day1- --start 7 "$T/three.ndjson"
  assert_success
  assert_line --index 0 '{"timestamp":"2026-11-22T10:00:00.000Z","pop":"FRA1","sampleID":"day1-7"}'
  assert_line --index 2 --partial '"sampleID":"day1-9"}'
}

@test "--prefix is written as a JSON string, escaped where needed" {
  run bash -c "echo '{}' | '$CDN' tag -q --prefix 'a\"b\\'"
  assert_success
  assert_output '{"sampleID":"a\"b\\1"}'
  echo "$output" | jq -e '.sampleID == "a\"b\\1"'
}

@test "the rest of each line is kept byte for byte" {
  printf '%s\n' '{ "b" : 1.50e+2 ,"s":"caf\u00e9 é \"q\"",  "n":null, "o":{"x":[1, 2]} }   ' \
    '{"z":-0.0,"k":"}"}' >"$T/odd.ndjson"
  run cdn tag -q "$T/odd.ndjson"
  assert_success
  assert_line --index 0 '{ "b" : 1.50e+2 ,"s":"caf\u00e9 é \"q\"",  "n":null, "o":{"x":[1, 2]} ,"sampleID":1}   '
  assert_line --index 1 '{"z":-0.0,"k":"}","sampleID":2}'
}

@test "an empty object gets the ID as its only member" {
  printf '{}\n{ }\n' >"$T/empty.ndjson"
  run cdn tag -q "$T/empty.ndjson"
  assert_success
  assert_line --index 0 '{"sampleID":1}'
  assert_line --index 1 '{ "sampleID":2}'
}

@test "blank lines are skipped and CRLF line ends are read" {
  printf '{"a":1}\r\n\n{"a":2}\r\n' >"$T/crlf.ndjson"
  run cdn tag -q "$T/crlf.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 2
  assert_line --index 0 '{"a":1,"sampleID":1}'
  assert_line --index 1 '{"a":2,"sampleID":2}'
}

@test "a record that already has the field keeps it and uses up no number" {
  printf '%s\n' '{"a":1}' '{"sampleID":"keep-me","a":2}' '{"a":3}' >"$T/has.ndjson"
  run --separate-stderr cdn tag "$T/has.ndjson"
  assert_success
  assert_line --index 0 '{"a":1,"sampleID":1}'
  assert_line --index 1 '{"sampleID":"keep-me","a":2}'
  assert_line --index 2 '{"a":3,"sampleID":2}'
  [[ "$stderr" == *"2 tagged (1 to 2), 1 kept their 'sampleID'" ]]
}

@test "--overwrite replaces an existing ID in place" {
  printf '%s\n' '{"sampleID": {"old":[1,2]} , "a":2}' '{"a":3,"sampleID":"x"}' >"$T/has.ndjson"
  run cdn tag -q --overwrite --start 50 "$T/has.ndjson"
  assert_success
  assert_line --index 0 '{"sampleID": 50 , "a":2}'
  assert_line --index 1 '{"a":3,"sampleID":51}'
}

@test "a field whose key is written with escapes is kept, and rejected by --overwrite" {
  printf '%s\n' '{"sample\u0049D":5}' >"$T/esc.ndjson"
  run cdn tag -q "$T/esc.ndjson"
  assert_success
  assert_output '{"sample\u0049D":5}'
  run --separate-stderr cdn tag --overwrite "$T/esc.ndjson"
  assert_failure 1
  assert_output ""
  [[ "$stderr" == *"is written with escapes, so it cannot be replaced in place"* ]]
}

@test "--state continues the sequence on a second run" {
  run cdn tag -q --state "$T/ids.state" "$T/three.ndjson"
  assert_success
  assert_line --index 2 --partial '"sampleID":3}'
  assert_equal "$(cat "$T/ids.state")" '{"next":4}'
  run cdn tag -q --state "$T/ids.state" "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"sampleID":4}'
  assert_line --index 2 --partial '"sampleID":6}'
  assert_equal "$(cat "$T/ids.state")" '{"next":7}'
}

@test "--start applies when the state file does not exist yet, and the state wins after" {
  run cdn tag -q --state "$T/ids.state" --start 100 "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"sampleID":100}'
  run cdn tag -q --state "$T/ids.state" --start 1 "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"sampleID":103}'
}

@test "--state is written when a run fails midway, so its IDs are not handed out again" {
  run cdn tag -q --state "$T/ids.state" "$T/three.ndjson" "$T/missing.ndjson"
  assert_failure 3
  assert_output --partial "cannot open"
  assert_equal "$(cat "$T/ids.state")" '{"next":4}'
  run cdn tag -q --state "$T/ids.state" "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"sampleID":4}'
}

@test "concurrent runs sharing a --state file hand out disjoint IDs" {
  seq 1 20000 | sed 's/.*/{"n":&}/' >"$T/many.ndjson"
  for i in 1 2 3 4; do
    "$CDN" tag -q --state "$T/ids.state" -o "$T/out$i.ndjson" "$T/many.ndjson" &
  done
  wait
  run bash -c "cat '$T'/out*.ndjson | jq -r .sampleID | sort -n | uniq | wc -l"
  assert_output 80000
  assert_equal "$(cat "$T/ids.state")" '{"next":80001}'
}

@test "a state file that holds something else is a usage error" {
  echo 'hello' >"$T/ids.state"
  run cdn tag --state "$T/ids.state" "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "cannot read the state file '$T/ids.state'"
  assert_equal "$(cat "$T/ids.state")" 'hello'
}

@test "uuid mode writes a distinct, increasing UUIDv7 to each record" {
  seq 1 2000 | sed 's/.*/{"n":&}/' >"$T/many.ndjson"
  run cdn tag -q --mode uuid "$T/many.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 2000
  assert_line --index 0 --regexp '^\{"n":1,"sampleID":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$'
  ids="$(printf '%s\n' "${lines[@]}" | jq -r .sampleID)"
  assert_equal "$(echo "$ids" | grep -cE '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')" 2000
  assert_equal "$(echo "$ids" | sort -u | wc -l)" 2000
  assert_equal "$(echo "$ids" | sort)" "$ids"
}

@test "uuid mode puts the current Unix time in milliseconds first" {
  before=$(($(date +%s%3N) - 1))
  run cdn tag -q --mode uuid "$T/three.ndjson"
  after=$(($(date +%s%3N) + 1))
  assert_success
  hex="$(echo "${lines[0]}" | jq -r .sampleID | tr -d - | cut -c1-12)"
  ms=$((16#$hex))
  ((before <= ms && ms <= after))
}

@test "uuid mode gives new IDs on every run" {
  a="$(cdn tag -q --mode uuid "$T/three.ndjson")"
  b="$(cdn tag -q --mode uuid "$T/three.ndjson")"
  [ "$a" != "$b" ]
}

@test "hash mode gives the same IDs on a re-run" {
  run cdn tag -q --mode hash "$T/three.ndjson"
  assert_success
  first="$output"
  assert_line --index 0 --regexp '"sampleID":"[0-9a-f]{16}"\}$'
  run cdn tag -q --mode hash "$T/three.ndjson"
  assert_success
  assert_equal "$output" "$first"
  assert_equal "$(echo "$first" | jq -r .sampleID | sort -u | wc -l)" 3
}

@test "hash mode writes the XXH64 of the record's bytes" {
  run bash -c "echo '{\"a\":1}' | '$CDN' tag -q --mode hash"
  assert_success
  assert_output '{"a":1,"sampleID":"ca0b885a32fc8b48"}'
}

@test "hash mode gives identical records identical IDs" {
  printf '%s\n' '{"a":1}' '{"a":2}' '{"a":1}' >"$T/dup.ndjson"
  run cdn tag -q --mode hash "$T/dup.ndjson"
  assert_success
  assert_equal "$(echo "${lines[0]}" | jq -r .sampleID)" "$(echo "${lines[2]}" | jq -r .sampleID)"
  [ "$(echo "${lines[0]}" | jq -r .sampleID)" != "$(echo "${lines[1]}" | jq -r .sampleID)" ]
}

@test "--hash-fields hashes only the listed fields, and rejects records without one" {
  printf '%s\n' '{"ts":"t1","ip":"10.0.0.1","x":1}' '{"x":2,"ip":"10.0.0.1","ts":"t1"}' \
    '{"ts":"t1","ip":"10.0.0.2"}' '{"ts":"t1"}' >"$T/f.ndjson"
  run --separate-stderr cdn tag --mode hash --hash-fields ts,ip "$T/f.ndjson"
  assert_failure 1
  assert_equal "${#lines[@]}" 3
  id0="$(echo "${lines[0]}" | jq -r .sampleID)"
  assert_equal "$(echo "${lines[1]}" | jq -r .sampleID)" "$id0"
  [ "$(echo "${lines[2]}" | jq -r .sampleID)" != "$id0" ]
  [[ "$stderr" == *'"line":4,"reason":"missing hash field '\''ip'\''"'* ]]
  run cdn tag -q --mode hash --hash-fields ts --hash-fields ip "$T/f.ndjson"
  assert_failure 1
  assert_line --index 0 --partial "\"sampleID\":\"$id0\""
}

@test "--prefix also applies to hash and uuid IDs" {
  run cdn tag -q --mode hash --prefix h- "$T/three.ndjson"
  assert_success
  assert_line --index 0 --regexp '"sampleID":"h-[0-9a-f]{16}"\}$'
  run cdn tag -q --mode uuid --prefix u- "$T/three.ndjson"
  assert_success
  assert_line --index 0 --regexp '"sampleID":"u-[0-9a-f]{8}-[0-9a-f-]{27}"\}$'
}

@test "lines that are not JSON objects are rejected with the reason, exit 1 and the counts" {
  printf '%s\n' '{"a":1}' '[1,2]' '42' '"text"' 'null' '{"a":' 'not json' '{"a":2}' >"$T/bad.ndjson"
  run --separate-stderr cdn tag "$T/bad.ndjson"
  assert_failure 1
  assert_equal "${#lines[@]}" 2
  assert_line --index 0 '{"a":1,"sampleID":1}'
  assert_line --index 1 '{"a":2,"sampleID":2}'
  [[ "$stderr" == *'"line":2,"reason":"not a JSON object but an array","record":"[1,2]"'* ]]
  [[ "$stderr" == *'"line":3,"reason":"not a JSON object but a number"'* ]]
  [[ "$stderr" == *'"line":4,"reason":"not a JSON object but a string"'* ]]
  [[ "$stderr" == *'"line":5,"reason":"not a JSON object but null"'* ]]
  [[ "$stderr" == *'"line":6,"reason":"invalid JSON: '* ]]
  [[ "$stderr" == *'"line":7,"reason":"invalid JSON: '* ]]
  [[ "$stderr" == *"cdn tag: 8 in, 2 out, 6 rejected in "* ]]
}

@test "--rejects writes rejected records to a file, one NDJSON line each" {
  printf '%s\n' '{"a":1}' '[1]' >"$T/bad.ndjson"
  run --separate-stderr cdn tag --rejects "$T/rejects.ndjson" "$T/bad.ndjson"
  assert_failure 1
  assert_output '{"a":1,"sampleID":1}'
  [[ "$stderr" == "cdn tag: 2 in, 1 out, 1 rejected in "* ]]
  run jq -c '[.command, .source, .line, .record]' "$T/rejects.ndjson"
  assert_output "[\"tag\",\"$T/bad.ndjson\",2,\"[1]\"]"
}

@test "-o writes the output to a file and nothing to stdout" {
  run --separate-stderr cdn tag -o "$T/out.ndjson" "$T/three.ndjson"
  assert_success
  assert_output ""
  assert_equal "$(wc -l <"$T/out.ndjson")" 3
  assert_equal "$(tail -n1 "$T/out.ndjson")" '{"timestamp":"2026-11-22T10:00:02.000Z","pop":"LHR1","sampleID":3}'
  run cdn tag -q --output "$T/out2.ndjson" "$T/three.ndjson"
  assert_success
  cmp "$T/out.ndjson" "$T/out2.ndjson"
}

@test "CSV input is tagged as JSON objects" {
  printf 'pop,asn\nFRA1,3320\n' >"$T/in.csv"
  run cdn tag -q "$T/in.csv"
  assert_success
  assert_output '{"pop":"FRA1","asn":3320,"sampleID":1}'
  run cdn tag -q --input-format csv <"$T/in.csv"
  assert_success
  assert_output '{"pop":"FRA1","asn":3320,"sampleID":1}'
}

@test "several inputs are tagged as one stream" {
  run cdn tag -q "$T/three.ndjson" "$T/three.ndjson"
  assert_success
  assert_equal "${#lines[@]}" 6
  assert_line --index 5 --partial '"sampleID":6}'
}

@test "options can come from the [tag] section of a config file" {
  printf '[tag]\nfield = "id"\nprefix = "c-"\n' >"$T/cdn.toml"
  run cdn --config "$T/cdn.toml" tag -q "$T/three.ndjson"
  assert_success
  assert_line --index 0 --partial '"id":"c-1"}'
}

@test "options for another mode are usage errors that say what to change" {
  run cdn tag --mode uuid --start 5 "$T/three.ndjson"
  assert_failure 2
  assert_output "cdn tag: --start applies to --mode seq only; drop it or use --mode seq"
  run cdn tag --mode hash --state "$T/s" "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "--state applies to --mode seq only"
  run cdn tag --hash-fields a "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "--hash-fields applies to --mode hash only"
}

@test "an unknown --mode, an empty --id-field or an --id-field with a quote is a usage error" {
  run cdn tag --mode random "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "--mode"
  run cdn tag --id-field '' "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "--id-field is empty"
  run cdn tag --id-field 'a"b' "$T/three.ndjson"
  assert_failure 2
  assert_output --partial "choose a plain field name"
  for list in 'a,,b' ',' ''; do
    run cdn tag --mode hash --hash-fields "$list" "$T/three.ndjson"
    assert_failure 2
    assert_output --partial "--hash-fields holds an empty field name"
  done
}

@test "a missing input is a runtime failure that names the file" {
  run cdn tag "$T/missing.ndjson"
  assert_failure 3
  assert_output --partial "'$T/missing.ndjson'"
}

@test "--help lists every option" {
  run cdn tag --help
  assert_success
  for opt in --input-format --schema --output --rejects --id-field --mode --start --prefix \
    --hash-fields --state --overwrite; do
    assert_output --partial "$opt"
  done
}

@test "SIGTERM inside a line from a pipe leaves that line unread and says so, rejecting nothing" {
  mkfifo "$T/fifo"
  "$CDN" tag --rejects "$T/rejects.ndjson" <"$T/fifo" >"$T/out.ndjson" 2>"$T/err" 3>&- &
  pid=$!
  exec 4>"$T/fifo"
  # one write: once the two whole lines are out, the partial third was read with them
  printf '{"a":1}\n{"b":2}\n{"c":' >&4
  wait_lines "$T/out.ndjson" 2 30 "$pid"
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  exec 4>&-
  assert_equal "$status" 143
  assert_equal "$(wc -l <"$T/out.ndjson")" 2
  [[ ! -s "$T/rejects.ndjson" ]] || fail "rejected: $(cat "$T/rejects.ndjson")"
  grep -q "stopped by a signal inside line 3 of '<stdin>': its 5 bytes read so far are left unread" "$T/err"
  grep -q "2 in, 2 out, 0 rejected" "$T/err"
}

@test "--hash-fields naming a field no record has is warned about once, with the nearest field" {
  run --separate-stderr cdn tag --mode hash --hash-fields pop,timestmp --rejects "$T/rejects.ndjson" "$T/three.ndjson"
  assert_failure 1
  assert_equal "$stderr" "cdn tag: warning: none of the first 3 records read has the field 'timestmp' named by --hash-fields (did you mean 'timestamp'?); their fields: timestamp, pop
$(tail -n 1 <<<"$stderr")"
  assert_equal "$(wc -l <"$T/rejects.ndjson")" 3
}

@test "on a live input that pauses, a field no record has is warned about a second after the first record" {
  mkfifo "$T/in"
  cdn tag --mode hash --hash-fields nosuch --rejects "$T/rejects.ndjson" <"$T/in" >"$T/out" 2>"$T/err" &
  local pid=$!
  local w
  exec {w}>"$T/in" # fd 3 is bats' own
  echo '{"pop":"FRA1"}' >&"$w"
  # the input stays open: the warning does not wait for its end
  wait_lines "$T/err" 1 20 "$pid"
  assert_equal "$(cat "$T/err")" "cdn tag: warning: the first record read has no field 'nosuch' named by --hash-fields; its fields: pop"
  exec {w}>&-
  wait "$pid" || true
  assert_equal "$(grep -c warning "$T/err")" 1
}
