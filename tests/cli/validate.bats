#!/usr/bin/env bats
# cdn validate: records against a JSON Schema; valid ones out byte for byte, invalid ones to
# the rejects sink with every error.

load test_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
}

teardown() {
  [[ -z ${VALIDATE_PID:-} ]] || kill -TERM "$VALIDATE_PID" 2>/dev/null || true
  if declare -F stop_broker >/dev/null; then stop_broker || true; fi
}

# expect SCHEMA VALID|INVALID KEYWORD LINE: checks LINE against SCHEMA (draft 7 unless the
# schema says otherwise). A valid line must come out unchanged with status 0; an invalid
# one must be rejected (status 1, nothing out) with an error naming KEYWORD.
expect() {
  local schema=$1 want=$2 keyword=$3 line=$4
  printf '%s\n' "$schema" >"$T/s.json"
  printf '%s\n' "$line" >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  if [[ $want == valid ]]; then
    [[ $status -eq 0 && $output == "$line" ]] ||
      fail "expected $line to be valid against $schema (status $status, rejects: $(cat "$T/rej"))"
  else
    [[ $status -eq 1 && -z $output ]] ||
      fail "expected $line to be invalid against $schema (status $status, output $output)"
    jq -e --arg k "$keyword" '.errors | map(.keyword) | index($k) != null' "$T/rej" >/dev/null ||
      fail "the reject of $line against $schema does not name '$keyword': $(cat "$T/rej")"
  fi
}

@test "type: each JSON type, a list of types, and integers written with a zero fraction" {
  expect '{"type":"integer"}' valid "" '42'
  expect '{"type":"integer"}' valid "" '1.0'
  expect '{"type":"integer"}' invalid type '1.5'
  expect '{"type":"number"}' valid "" '-2.5e3'
  expect '{"type":"string"}' invalid type '12'
  expect '{"type":"boolean"}' valid "" 'false'
  expect '{"type":"null"}' valid "" 'null'
  expect '{"type":"array"}' invalid type '{}'
  expect '{"type":"object"}' invalid type '[]'
  expect '{"type":["string","null"]}' valid "" 'null'
  expect '{"type":["string","null"]}' invalid type '0'
}

@test "enum and const compare JSON values, numbers by value" {
  expect '{"enum":["a",1,{"x":[true]}]}' valid "" '{"x":[true]}'
  expect '{"enum":["a",1,{"x":[true]}]}' valid "" '1.0'
  expect '{"enum":["a",1,{"x":[true]}]}' invalid enum '"b"'
  expect '{"const":{"a":1,"b":2}}' valid "" '{"b":2,"a":1}'
  expect '{"const":{"a":1,"b":2}}' invalid const '{"a":1}'
}

@test "ranges: minimum, maximum, exclusiveMinimum, exclusiveMaximum and multipleOf" {
  expect '{"minimum":1}' valid "" '1'
  expect '{"minimum":1}' invalid minimum '0.99'
  expect '{"maximum":599}' invalid maximum '700'
  expect '{"exclusiveMinimum":0}' invalid exclusiveMinimum '0'
  expect '{"exclusiveMinimum":0}' valid "" '0.001'
  expect '{"exclusiveMaximum":10}' invalid exclusiveMaximum '10'
  expect '{"multipleOf":0.01}' valid "" '19.99'
  expect '{"multipleOf":3}' invalid multipleOf '10'
  expect '{"minimum":5}' valid "" '"strings are not numbers"'
}

@test "lengths count characters, not bytes: minLength and maxLength" {
  expect '{"maxLength":2}' valid "" '"éé"'
  expect '{"maxLength":2}' invalid maxLength '"abc"'
  expect '{"minLength":2}' invalid minLength '"é"'
}

@test "pattern matches anywhere unless anchored, on RE2" {
  expect '{"pattern":"^[A-Z]{3}[0-9]$"}' valid "" '"FRA1"'
  expect '{"pattern":"^[A-Z]{3}[0-9]$"}' invalid pattern '"fra1"'
  expect '{"pattern":"[0-9]"}' valid "" '"abc1def"'
  expect '{"pattern":"\\\\d+"}' invalid pattern '"abc"'
}

@test "required, properties and additionalProperties" {
  local s='{"type":"object","required":["a"],"properties":{"a":{"type":"integer"}},"additionalProperties":false}'
  expect "$s" valid "" '{"a":1}'
  expect "$s" invalid required '{}'
  expect "$s" invalid type '{"a":"1"}'
  expect "$s" invalid additionalProperties '{"a":1,"b":2}'
  expect '{"additionalProperties":{"type":"string"}}' invalid type '{"x":1}'
}

@test "patternProperties apply by name pattern and count as known properties" {
  local s='{"patternProperties":{"^x_":{"type":"integer"}},"additionalProperties":false}'
  expect "$s" valid "" '{"x_a":1,"x_b":2}'
  expect "$s" invalid type '{"x_a":"1"}'
  expect "$s" invalid additionalProperties '{"y":1}'
}

@test "dependencies: a property needs others, or the object a schema" {
  expect '{"dependencies":{"a":["b"]}}' valid "" '{"a":1,"b":2}'
  expect '{"dependencies":{"a":["b"]}}' invalid dependencies '{"a":1}'
  expect '{"dependencies":{"a":{"required":["c"]}}}' invalid required '{"a":1}'
  expect '{"dependencies":{"a":["b"]}}' valid "" '{"b":1}'
}

@test "propertyNames, minProperties and maxProperties" {
  expect '{"propertyNames":{"maxLength":3}}' valid "" '{"abc":1}'
  expect '{"propertyNames":{"maxLength":3}}' invalid propertyNames '{"abcd":1}'
  expect '{"minProperties":2}' invalid minProperties '{"a":1}'
  expect '{"maxProperties":1}' invalid maxProperties '{"a":1,"b":2}'
}

@test "items, additionalItems, minItems, maxItems and uniqueItems" {
  expect '{"items":{"type":"integer"}}' valid "" '[1,2,3]'
  expect '{"items":{"type":"integer"}}' invalid type '[1,"2"]'
  expect '{"items":[{"type":"string"}],"additionalItems":false}' valid "" '["a"]'
  expect '{"items":[{"type":"string"}],"additionalItems":false}' invalid false '["a",2]'
  expect '{"items":[{}],"additionalItems":{"type":"integer"}}' invalid type '[{},"x"]'
  expect '{"minItems":2}' invalid minItems '[1]'
  expect '{"maxItems":1}' invalid maxItems '[1,2]'
  expect '{"uniqueItems":true}' valid "" '[1,"1",[1]]'
  expect '{"uniqueItems":true}' invalid uniqueItems '[{"a":1,"b":2},3,{"b":2,"a":1.0}]'
}

@test "contains needs one matching item" {
  expect '{"contains":{"const":5}}' valid "" '[1,5]'
  expect '{"contains":{"const":5}}' invalid contains '[1,2]'
  expect '{"contains":{"const":5}}' invalid contains '[]'
}

@test "allOf, anyOf, oneOf and not" {
  expect '{"allOf":[{"type":"integer"},{"minimum":3}]}' valid "" '4'
  expect '{"allOf":[{"type":"integer"},{"minimum":3}]}' invalid minimum '2'
  expect '{"anyOf":[{"type":"string"},{"minimum":3}]}' valid "" '"x"'
  expect '{"anyOf":[{"type":"string"},{"minimum":3}]}' invalid anyOf '2'
  expect '{"oneOf":[{"type":"integer"},{"minimum":3}]}' valid "" '2'
  expect '{"oneOf":[{"type":"integer"},{"minimum":3}]}' invalid oneOf '5'
  expect '{"oneOf":[{"type":"integer"},{"minimum":3}]}' invalid oneOf '2.5'
  expect '{"not":{"type":"null"}}' invalid not 'null'
  expect '{"not":{"type":"null"}}' valid "" '0'
}

@test "if, then and else pick the schema by the condition" {
  local s='{"if":{"properties":{"kind":{"const":"video"}}},"then":{"required":["bitrate"]},"else":{"properties":{"bitrate":{"const":0}}}}'
  expect "$s" valid "" '{"kind":"video","bitrate":3000}'
  expect "$s" invalid required '{"kind":"video"}'
  expect "$s" valid "" '{"kind":"image","bitrate":0}'
  expect "$s" invalid const '{"kind":"image","bitrate":5}'
}

@test "\$ref reaches definitions, the root, and a schema in a file next to the schema" {
  local s='{"definitions":{"pos":{"type":"integer","minimum":0}},"properties":{"n":{"$ref":"#/definitions/pos"},"kids":{"type":"array","items":{"$ref":"#"}}}}'
  expect "$s" valid "" '{"n":1,"kids":[{"n":2,"kids":[]}]}'
  expect "$s" invalid minimum '{"n":1,"kids":[{"n":-2}]}'
  printf '%s\n' '{"definitions":{"code":{"type":"integer","minimum":100,"maximum":599}}}' >"$T/common.json"
  expect '{"properties":{"status":{"$ref":"common.json#/definitions/code"}}}' valid "" '{"status":204}'
  expect '{"properties":{"status":{"$ref":"common.json#/definitions/code"}}}' invalid maximum '{"status":700}'
}

@test "the formats date-time, date, time, ipv4, ipv6, email, hostname and uri are checked" {
  expect '{"format":"date-time"}' valid "" '"2026-11-22T10:15:30.123+01:00"'
  expect '{"format":"date-time"}' invalid format '"2026-13-45T25:00:00Z"'
  expect '{"format":"date-time"}' invalid format '"2026-11-22 10:15:30"'
  expect '{"format":"date"}' valid "" '"2024-02-29"'
  expect '{"format":"date"}' invalid format '"2023-02-29"'
  expect '{"format":"time"}' valid "" '"23:59:60Z"'
  expect '{"format":"time"}' invalid format '"24:00:00Z"'
  expect '{"format":"ipv4"}' valid "" '"192.168.0.1"'
  expect '{"format":"ipv4"}' invalid format '"300.12.0.7"'
  expect '{"format":"ipv6"}' valid "" '"2001:db8::ff00:42:8329"'
  expect '{"format":"ipv6"}' invalid format '"2001:db8:::1"'
  expect '{"format":"email"}' valid "" '"ops@cdn.example"'
  expect '{"format":"email"}' invalid format '"ops.cdn.example"'
  expect '{"format":"hostname"}' valid "" '"edge-fra1.cdn.example"'
  expect '{"format":"hostname"}' invalid format '"-edge.cdn.example"'
  expect '{"format":"uri"}' valid "" '"https://cdn.example/a/b?x=1#top"'
  expect '{"format":"uri"}' invalid format '"//no-scheme/path"'
  expect '{"format":"ipv4"}' valid "" '12'
}

# Timestamps and whether RFC 3339 date-time, as JSON Schema reads it, takes them: the one
# grammar of cdn validate, sort, load-influx, produce, train and predict.
timestamp_table() {
  cat <<'TABLE'
valid 2026-11-22T10:00:00Z
valid 2026-11-22t10:00:00z
valid 2026-11-22T10:00:00.5Z
valid 2026-11-22T10:00:00.123456789123Z
valid 2026-11-22T11:00:00+01:00
valid 2026-11-22T04:30:00-05:30
valid 2026-11-22T10:00:00-00:00
valid 1998-12-31T23:59:60Z
valid 1998-12-31T15:59:60.123-08:00
valid 1999-01-01T00:59:60+01:00
valid 2024-02-29T00:00:00Z
invalid 2026-11-22 10:00:00Z
invalid 2026-11-22_10:00:00Z
invalid 1998-12-31T23:59:60+01:00
invalid 1998-12-31T22:59:60Z
invalid 1998-12-31T23:58:60Z
invalid 2026-11-22T10:00:61Z
invalid 2026-11-22T10:00:00
invalid 2026-11-22T10:00:00.Z
invalid 2026-11-22T10:00:00+0100
invalid 2026-11-22T10:00:00+24:00
invalid 2026-11-22T10:00:00Zjunk
invalid 2026-02-29T00:00:00Z
invalid 2026-11-22
TABLE
}

# bats test_tags=influx
@test "validate, sort and load-influx take and refuse the same timestamps, refused ones to rejects" {
  i=0
  : > "$T/in.ndjson"
  : > "$T/want-lines"
  while read -r want ts; do
    i=$((i + 1))
    printf '{"timestamp":"%s","i":%d}\n' "$ts" "$i" >> "$T/in.ndjson"
    [[ $want == valid ]] && echo "$i" >> "$T/want-lines"
  done < <(timestamp_table)
  printf '%s\n' '{"properties":{"timestamp":{"type":"string","format":"date-time"}}}' > "$T/s.json"
  invalid=$((i - $(wc -l < "$T/want-lines")))

  run cdn validate -q --schema "$T/s.json" --rejects "$T/validate.rej" "$T/in.ndjson" -o "$T/validate.out"
  assert_failure 1
  run cdn sort -q --rejects "$T/sort.rej" "$T/in.ndjson" -o "$T/sort.out"
  assert_failure 1
  run cdn load-influx -q --dry-run --rejects "$T/influx.rej" "$T/in.ndjson" -o "$T/influx.out"
  assert_failure 1

  # What each let through, by line, and what each refused, with its reason.
  run jq -r .i "$T/validate.out"
  assert_output "$(cat "$T/want-lines")"
  run bash -c "jq -r .i '$T/sort.out' | sort -n"
  assert_output "$(cat "$T/want-lines")"
  run bash -c "grep -o 'i=[0-9]*i' '$T/influx.out' | tr -dc '0-9\n'"
  assert_output "$(cat "$T/want-lines")"
  for cmd in validate sort influx; do
    run jq -r '"\(.line) \(.reason // (.errors | map(.keyword) | join(",")))"' "$T/$cmd.rej"
    [ "${#lines[@]}" -eq "$invalid" ] || fail "$cmd rejected ${#lines[@]} records, not $invalid: $output"
  done
  run jq -r '.errors[0].keyword' "$T/validate.rej"
  assert_output "$(yes format | head -n "$invalid")"
  run jq -r .reason "$T/sort.rej"
  assert_line --index 0 "key 'timestamp' is not an RFC 3339 timestamp: \"2026-11-22 10:00:00Z\""
  run jq -r .reason "$T/influx.rej"
  assert_line --index 0 "the time field 'timestamp' holds '2026-11-22 10:00:00Z', not an RFC 3339 time"
}

@test "boolean schemas: true allows everything, false nothing" {
  expect 'true' valid "" '{"anything":[1]}'
  expect '{"properties":{"gone":false}}' invalid false '{"gone":1}'
}

@test "drafts 4 and 6 are chosen by \$schema: boolean exclusiveMaximum in draft 4" {
  expect '{"$schema":"http://json-schema.org/draft-04/schema#","maximum":10,"exclusiveMaximum":true}' invalid exclusiveMaximum '10'
  expect '{"$schema":"http://json-schema.org/draft-04/schema#","maximum":10,"exclusiveMaximum":true}' valid "" '9'
  expect '{"$schema":"http://json-schema.org/draft-06/schema#","exclusiveMaximum":10}' invalid exclusiveMaximum '10'
  # if/then/else is draft 7: in draft 6 it is an unknown keyword, ignored.
  expect '{"$schema":"http://json-schema.org/draft-06/schema#","if":true,"then":false}' valid "" '1'
  expect '{"$schema":"http://json-schema.org/draft-07/schema#","if":true,"then":false}' invalid false '1'
}

@test "valid records come out byte for byte, spacing, order and escapes kept" {
  printf '%s\n' '{ "b" : 1 ,  "a":"\u00e9\/x" }' '  [1, 2.50, 3e2]  ' '"plain"' >"$T/in.ndjson"
  printf '%s\n' '{}' >"$T/s.json"
  run --separate-stderr cdn validate -q --schema "$T/s.json" -o "$T/out.ndjson" "$T/in.ndjson"
  assert_success
  cmp "$T/in.ndjson" "$T/out.ndjson"
}

@test "a rejected record carries every error with its pointer, keyword and message" {
  printf '%s\n' '{"asn":0,"country":"Germany","device":"fridge"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq -c '[.errors[] | [.pointer, .keyword]]' "$T/rej"
  assert_output --partial '["/asn","minimum"]'
  assert_output --partial '["/country","pattern"]'
  assert_output --partial '["/device","enum"]'
  assert_output --partial '["","required"]'
  run jq -r '.reason' "$T/rej"
  assert_output --regexp '^[0-9]+ errors: '
  assert_output --partial "/asn minimum: 0 is less than the minimum 1"
  run jq -r '.record' "$T/rej"
  assert_output '{"asn":0,"country":"Germany","device":"fridge"}'
}

@test "--max-errors caps the errors listed per record" {
  printf '%s\n' '{"asn":0,"country":"Germany","device":"fridge"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --max-errors 2 --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq '.errors | length' "$T/rej"
  assert_output 2
}

@test "the rejects lines satisfy schemas/reject.json" {
  cdn -q gen --rows 300 --seed 9 --dirty 0.3 >"$T/d.ndjson"
  run cdn validate -q --rejects "$T/rej" -o /dev/null "$T/d.ndjson"
  assert_failure 1
  run cdn validate -q --schema "$REPO_ROOT/schemas/reject.json" -o /dev/null "$T/rej"
  assert_success
}

@test "lines that are not JSON are rejected with what is wrong and where" {
  printf '%s\n' '{"a":1,"b":' '{"a":1 "b":2}' '{"a":NaN}' '[1,2' >"$T/in.ndjson"
  printf '{"a":"\xff\xfe"}\n' >>"$T/in.ndjson"
  printf '%s\n' '{}' >"$T/s.json"
  run --separate-stderr cdn validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  assert_output ""
  run jq -r '"\(.line) \(.reason)"' "$T/rej"
  assert_line --index 0 "1 not JSON: the line ends where a value should be at column 12"
  assert_line --index 1 "2 not JSON: expected ',' or '}' after an object member at column 8"
  assert_line --index 2 "3 not JSON: expected a JSON value at column 6"
  assert_line --index 3 "4 not JSON: the array is not closed (missing ']') at column 5"
  assert_line --index 4 "5 not JSON: invalid UTF-8 at column 7"
}

@test "a 16 MiB line is checked and passes unchanged" {
  /usr/bin/python3 -c 'import sys; sys.stdout.write("{\"s\":\"" + "x" * (16 * 1024 * 1024) + "\",\"n\":1}\n")' >"$T/big.ndjson"
  printf '%s\n' '{"properties":{"s":{"type":"string","minLength":16777216},"n":{"type":"integer"}}}' >"$T/s.json"
  run cdn validate -q --schema "$T/s.json" -o "$T/out.ndjson" "$T/big.ndjson"
  assert_success
  cmp "$T/big.ndjson" "$T/out.ndjson"
}

@test "a pathological pattern on a 100 kB string is checked in linear time, not by backtracking" {
  printf '%s\n' '{"pattern":"^(a+)+$"}' >"$T/s.json"
  /usr/bin/python3 -c 'print("\"" + "a" * 100000 + "!\"")' >"$T/in.ndjson"
  # a backtracking engine takes 2^100000 steps on it: a minute's bound is as good as forever
  # (timeout would end it with 137), and no machine's load makes RE2's linear scan miss it
  run --separate-stderr timeout -s KILL 60 "$CDN" validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq -r '.errors[0].keyword' "$T/rej"
  assert_output pattern
}

@test "any JSON value may be a record, not only an object" {
  printf '%s\n' '{"type":["integer","array"]}' >"$T/s.json"
  printf '%s\n' '7' '[1]' '"x"' 'null' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  assert_equal "${lines[*]}" "7 [1]"
  run jq -r '.line' "$T/rej"
  assert_equal "${lines[*]}" "3 4"
}

@test "without --schema, records are checked against schemas/cdn-data.json" {
  cdn -q gen --rows 2000 --seed 3 >"$T/g.ndjson"
  run --separate-stderr cdn validate "$T/g.ndjson" -o "$T/out.ndjson"
  assert_success
  cmp "$T/g.ndjson" "$T/out.ndjson"
  [[ $stderr == *"2000 in, 2000 out, 0 rejected"*"cdn-data.json' (draft 7)"* ]]
  # A record with a timestamp alone lacks the fields cdn-data.json requires.
  run --separate-stderr cdn validate -q --rejects "$T/rej" <<<'{"timestamp":"2026-11-22T10:15:30.123Z"}'
  assert_failure 1
  assert_output ''
  run jq -r '[.line, .errors[0].keyword, .reason] | @tsv' "$T/rej"
  assert_success
  assert_output --regexp $'^1\trequired\t.*client_ip'
}

@test "CSV input is typed by the schema and checked" {
  printf '%s\n' 'n,name' '5,ok' '-1,bad' >"$T/in.csv"
  printf '%s\n' '{"properties":{"n":{"type":"integer","minimum":0},"name":{"type":"string"}}}' >"$T/s.json"
  run --separate-stderr cdn validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.csv"
  assert_failure 1
  assert_output '{"n":5,"name":"ok"}'
  run jq -r '.errors[0].keyword' "$T/rej"
  assert_output minimum
}

@test "an invalid schema is a usage error that says what is wrong" {
  printf '%s\n' '{"type":"integr"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"is not a valid draft-07 schema"*"/type"* ]] || fail "$stderr"
  printf '%s\n' '{"minimum":"1"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"/minimum"* ]] || fail "$stderr"
  printf '%s\n' '{"type":' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"not JSON"* ]] || fail "$stderr"
  run --separate-stderr cdn validate --schema "$T/none.json" </dev/null
  assert_failure 2
  [[ $stderr == *"cannot read the schema"*"none.json"* ]] || fail "$stderr"
}

@test "a pattern RE2 cannot run, a dangling \$ref, a \$ref cycle and an unknown draft are refused" {
  printf '%s\n' '{"pattern":"^(?!x)"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"RE2"*"lookaround"* ]] || fail "$stderr"
  printf '%s\n' '{"$ref":"#/definitions/nope"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"cannot resolve \$ref"* ]] || fail "$stderr"
  printf '%s\n' '{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"allOf":[{"$ref":"#/definitions/a"}]}},"$ref":"#/definitions/a"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"refers to itself"* ]] || fail "$stderr"
  printf '%s\n' '{"$schema":"https://json-schema.org/draft/2020-12/schema"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"drafts 4, 6 and 7"* ]] || fail "$stderr"
  printf '%s\n' '{"$ref":"https://elsewhere.example/s.json"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" </dev/null
  assert_failure 2
  [[ $stderr == *"never over the network"* ]] || fail "$stderr"
}

@test "--coerce turns numeric and boolean strings into what the schema wants" {
  printf '%s\n' '{"properties":{"n":{"type":"integer"},"x":{"type":"number"},"b":{"type":"boolean"},"s":{"type":"string"}}}' >"$T/s.json"
  printf '%s\n' '{"n":"42","x":" 2.5 ","b":"TRUE","s":"7"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" "$T/in.ndjson"
  assert_success
  assert_output '{"n":42,"x":2.5,"b":true,"s":"7"}'
  printf '%s\n' '{"n":"4x2"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq -r '.errors[0].keyword' "$T/rej"
  assert_output type
}

@test "--coerce trims strings and normalizes date-times to RFC 3339 UTC milliseconds" {
  printf '%s\n' '{"properties":{"t":{"type":"string","format":"date-time"},"c":{"enum":["HIT","MISS"]}}}' >"$T/s.json"
  printf '%s\n' '{"t":"2026-11-22T11:15:30+01:00","c":" HIT "}' '{"t":1795000000}' '{"t":1795000000123}' '{"t":"1795000000"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" "$T/in.ndjson"
  assert_success
  assert_line --index 0 '{"t":"2026-11-22T10:15:30.000Z","c":"HIT"}'
  assert_line --index 1 '{"t":"2026-11-18T11:06:40.000Z"}'
  assert_line --index 2 '{"t":"2026-11-18T11:06:40.123Z"}'
  assert_line --index 3 '{"t":"2026-11-18T11:06:40.000Z"}'
}

# Found by tests/fuzz/coerce_fuzz.cpp: "0000-01-01T00:00:00+01:00" became "-001-12-31T23:00:00.000Z",
# which is not a date-time, so --coerce rejected a record that was valid without it.
@test "--coerce leaves a date-time whose UTC form falls outside the years 0000-9999 as it is" {
  printf '%s\n' '{"properties":{"t":{"type":"string","format":"date-time"}}}' >"$T/s.json"
  printf '%s\n' '{"t":"0000-01-01T00:00:00+01:00"}' '{"t":"9999-12-31T23:30:00-01:00"}' \
    '{"t":" 0000-01-01T00:00:00+01:00 "}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" "$T/in.ndjson"
  assert_success
  assert_line --index 0 '{"t":"0000-01-01T00:00:00+01:00"}'
  assert_line --index 1 '{"t":"9999-12-31T23:30:00-01:00"}'
  assert_line --index 2 '{"t":"0000-01-01T00:00:00+01:00"}'
}

@test "--coerce fills defaults, and --drop-unknown removes what additionalProperties forbids" {
  printf '%s\n' '{"properties":{"a":{"type":"integer"},"mode":{"type":"string","default":"live"}},"additionalProperties":false}' >"$T/s.json"
  printf '%s\n' '{"a":1,"junk":true}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run --separate-stderr cdn validate -q --coerce --drop-unknown --schema "$T/s.json" "$T/in.ndjson"
  assert_success
  assert_output '{"a":1,"mode":"live"}'
}

@test "--coerce leaves records that need nothing byte for byte" {
  cdn -q gen --rows 500 --seed 4 >"$T/g.ndjson"
  run --separate-stderr cdn validate --coerce --drop-unknown "$T/g.ndjson" -o "$T/out.ndjson"
  assert_success
  cmp "$T/g.ndjson" "$T/out.ndjson"
  [[ $stderr == *"0 coerced"* ]] || fail "$stderr"
}

@test "--coerce repairs generated dirty records of the number-as-string kind" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:15:30.123Z","client_ip":"10.0.0.1","asn":"13335","country":"DE","pop":"FRA1","device":"mobile","content_type":"vod","http_status":"200","cache_status":"HIT","bytes_sent":"1000","response_time_ms":1,"ttfb_ms":1,"rtt_ms":"3.5","throughput_kbps":1,"bitrate_kbps":0}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce "$T/in.ndjson"
  assert_success
  run jq -c '[.asn, .http_status, .bytes_sent, .rtt_ms]' <<<"$output"
  assert_output '[13335,200,1000,3.5]'
}

@test "--report-changes lists each change with its place" {
  printf '%s\n' '{"properties":{"n":{"type":"integer"}}}' >"$T/s.json"
  printf '%s\n' '{"n":"5"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --report-changes --schema "$T/s.json" "$T/in.ndjson"
  assert_success
  assert_output '{"n":5}'
  assert_equal "$stderr" "$T/in.ndjson:1: /n: string to integer: \"5\" -> 5"
}

@test "--drop-unknown and --report-changes without --coerce are usage errors" {
  run --separate-stderr cdn validate --drop-unknown </dev/null
  assert_failure 2
  [[ $stderr == *"needs --coerce"* ]]
  run --separate-stderr cdn validate --report-changes </dev/null
  assert_failure 2
}

@test "--summary prints how often which keyword failed at which path" {
  printf '%s\n' '{"asn":0}' '{"asn":-1}' 'oops' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --summary --rejects /dev/null "$T/in.ndjson"
  assert_failure 1
  [[ $stderr == *"count  keyword"*"path"* ]] || fail "$stderr"
  [[ $stderr =~ [[:space:]]2[[:space:]]+minimum[[:space:]]+/asn ]] || fail "$stderr"
  [[ $stderr =~ [[:space:]]2[[:space:]]+required[[:space:]]+/timestamp ]] || fail "$stderr"
  [[ $stderr =~ [[:space:]]1[[:space:]]+"(not JSON)" ]] || fail "$stderr"
}

@test "--summary and --report-changes write member and file names with control bytes escaped" {
  printf '%s\n' '{"additionalProperties":false,"properties":{"a":{"type":"integer"},"b\u001b[2J":{"type":"integer"}}}' >"$T/s.json"
  printf '%s\n' '{"\u001b[2Jx\u0000":1,"a":1}' '{"a":1,"b\u001b[2J":"12"}' >"$T/in"$'\e'".ndjson"
  run --separate-stderr cdn validate -q --summary --coerce --report-changes --schema "$T/s.json" --rejects /dev/null "$T/in"$'\e'".ndjson"
  assert_failure 1
  local LC_ALL=C lines_joined=${stderr//$'\n'/}
  [[ ! $lines_joined =~ [[:cntrl:]] ]] || fail "$(cat -v <<<"$stderr")"
  [[ $stderr =~ [[:space:]]1[[:space:]]+additionalProperties[[:space:]]+"/\x1b[2Jx\x00" ]] || fail "$stderr"
  [[ $stderr == *"$T/in\x1b.ndjson:2: /b\x1b[2J: string to integer: \"12\" -> 12"* ]] || fail "$stderr"
}

@test "the output keeps the input order with several threads, and counts balance" {
  cdn -q gen --rows 20000 --seed 8 --dirty 0.05 >"$T/d.ndjson"
  run --separate-stderr cdn validate --threads 1 -o "$T/one.ndjson" --rejects "$T/r1" "$T/d.ndjson"
  assert_failure 1
  run --separate-stderr cdn validate --threads 4 -o "$T/four.ndjson" --rejects "$T/r4" "$T/d.ndjson"
  assert_failure 1
  cmp "$T/one.ndjson" "$T/four.ndjson"
  cmp "$T/r1" "$T/r4"
  local out rej
  out=$(wc -l <"$T/four.ndjson")
  rej=$(wc -l <"$T/r4")
  assert_equal "$((out + rej))" 20000
  [[ $stderr == *"20000 in, $out out, $rej rejected"* ]] || fail "$stderr"
}

@test "python3-jsonschema and cdn validate find the same lines valid and invalid" {
  cdn -q gen --rows 20000 --seed 11 --dirty 0.01 >"$T/d.ndjson"
  run cdn validate -q --rejects "$T/rej" -o /dev/null "$T/d.ndjson"
  assert_failure 1
  jq -r '.line' "$T/rej" | sort -n >"$T/cdn-invalid"
  /usr/bin/python3 "$REPO_ROOT/tests/cli/jsonschema_lines.py" "$REPO_ROOT/schemas/cdn-data.json" \
    "$T/d.ndjson" | sort -n >"$T/py-invalid"
  local n
  n=$(wc -l <"$T/py-invalid")
  ((n > 100)) || fail "only $n invalid lines: the comparison would prove little"
  diff "$T/cdn-invalid" "$T/py-invalid"
}

# bats test_tags=kafka
@test "a live Kafka topic is validated as records arrive, rejects going to a topic" {
  load broker_helper
  start_broker --topic in:2 --topic bad:1
  cdn -q gen --rows 200 --seed 2 >"$T/g.ndjson"
  cdn validate -q -G checkers kafka:in --rejects kafka:bad >"$T/out.ndjson" 2>"$T/err" &
  VALIDATE_PID=$!
  kcat -P -b "$CDN_BROKERS" -t in <"$T/g.ndjson"
  wait_lines "$T/out.ndjson" 200 30 "$VALIDATE_PID"
  printf '%s\n' '{"asn":0}' | kcat -P -b "$CDN_BROKERS" -t in
  # The reject, read from its topic as soon as it is there (-c 1 waits for one message).
  run --separate-stderr timeout -s KILL 30 "$CDN" consume -t bad -q -c 1
  assert_success
  # SIGTERM stops the live validate: 128 + 15.
  kill -TERM "$VALIDATE_PID"
  local st=0
  wait "$VALIDATE_PID" || st=$?
  VALIDATE_PID=""
  assert_equal "$st" 143
  stop_broker
  run jq -r '.errors[] | select(.pointer == "/asn") | .keyword' <<<"$output"
  assert_output minimum
  assert_equal "$(sort "$T/out.ndjson" | md5sum)" "$(sort "$T/g.ndjson" | md5sum)"
}

@test "--coerce leaves a numeric string beyond 64 bits alone, and the record is rejected for its type" {
  printf '%s\n' '{"properties":{"n":{"type":"integer"}}}' >"$T/s.json"
  printf '{"n":"%s"}\n' "$(printf '3%.0s' $(seq 100))" >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq -r '.errors[0].keyword' "$T/rej"
  assert_output type
}

@test "--engine valijson finds the same lines valid and invalid as the compiled checker" {
  cdn -q gen --rows 5000 --seed 12 --dirty 0.05 >"$T/d.ndjson"
  run --separate-stderr cdn validate --rejects "$T/r1" -o "$T/o1" "$T/d.ndjson"
  assert_failure 1
  run --separate-stderr cdn validate --engine valijson --rejects "$T/r2" -o "$T/o2" "$T/d.ndjson"
  assert_failure 1
  [[ $stderr == *"(draft 7, valijson)"* ]] || fail "$stderr"
  cmp "$T/o1" "$T/o2"
  assert_equal "$(jq -r .line "$T/r1")" "$(jq -r .line "$T/r2")"
  run jq -r 'select(.errors) | .errors[0].pointer' "$T/r2"
  assert_line --regexp '^/[a-z_]+$'
}

@test "--engine valijson runs patterns on RE2 too: a pathological pattern on 100 kB is quick" {
  printf '%s\n' '{"properties":{"s":{"pattern":"^(a+)+$"}}}' >"$T/s.json"
  /usr/bin/python3 -c 'print("{\"s\":\"" + "a" * 100000 + "!\"}")' >"$T/in.ndjson"
  # as above: finishing at all is the point, a backtracking engine would not
  run --separate-stderr timeout -s KILL 60 "$CDN" validate -q --engine valijson --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq -r '.errors[0].keyword' "$T/rej"
  assert_output pattern
}

@test "--coerce keeps floats written with a fraction as floats when it re-serializes a record" {
  printf '%s\n' '{"properties":{"n":{"type":"integer"},"x":{"type":"number"}}}' >"$T/s.json"
  printf '%s\n' '{"n":"5","x":3.0,"y":2.50,"z":"4.0"}' >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --coerce --schema "$T/s.json" "$T/in.ndjson"
  assert_success
  assert_output '{"n":5,"x":3.0,"y":2.5,"z":"4.0"}'
}

# Schemas whose combinators apply the whole schema to each item twice: checked naively, a
# record n deep takes 2^n steps (40 deep: days).
DOUBLING_SCHEMAS=(
  '{"anyOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"}}]}'
  '{"oneOf":[{"items":{"$ref":"#"}},{"not":{"items":{"$ref":"#"}}}]}'
  '{"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]}'
  '{"not":{"not":{"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]}}}'
  '{"if":{"items":{"$ref":"#"}},"then":{"items":{"$ref":"#"}},"else":{"items":{"$ref":"#"}}}'
  '{"items":{"$ref":"#"},"anyOf":[{"maxItems":0},{"contains":{"$ref":"#"}}]}'
  '{"items":{"$ref":"#/definitions/o"},"definitions":{"o":{"properties":{"a":{"$ref":"#"}},"dependencies":{"a":{"properties":{"a":{"$ref":"#"}}}}}}}'
)

@test "combinators that apply the schema to each item twice check a record 40 deep at once" {
  local schema deep bad
  deep=$(printf '[%.0s' {1..40})$(printf ']%.0s' {1..40})
  bad=$(printf '[%.0s' {1..40})'"x"'$(printf ']%.0s' {1..40})
  for schema in "${DOUBLING_SCHEMAS[@]}"; do
    printf '%s\n' "$schema" >"$T/s.json"
    if [[ $schema == *dependencies* ]]; then
      deep=$(printf '[{"a":%.0s' {1..40})'[]'$(printf '}]%.0s' {1..40})
      bad=$(printf '[{"a":%.0s' {1..40})'[{"b":1,"a":"x"}]'$(printf '}]%.0s' {1..40})
    fi
    printf '%s\n%s\n' "$deep" "$bad" >"$T/in.ndjson"
    # the check finishes (timeout would end it with 124), and finds what a naive one would
    run --separate-stderr timeout -s KILL 20 "$CDN" validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
    [[ $status -le 1 ]] || fail "status $status on $schema"
    # a reject, if any, is the bad line, for a keyword of the schema (no step limit reached)
    run jq -r '.line' "$T/rej"
    [[ -z $output || $output == 2 ]] || fail "lines rejected by $schema: $output"
    ! grep -q 'steps' "$T/rej" || fail "the step limit stopped $schema: $(cat "$T/rej")"
  done
  # the smallest doubling case: 83 bytes, 40 deep, valid and invalid
  printf '%s\n' "${DOUBLING_SCHEMAS[0]}" >"$T/s.json"
  deep=$(printf '[%.0s' {1..40})$(printf ']%.0s' {1..40})
  bad=$(printf '[%.0s' {1..40})1$(printf ']%.0s' {1..40})
  printf '%s\n%s\n' "$deep" "$bad" >"$T/in.ndjson"
  run --separate-stderr timeout -s KILL 20 "$CDN" validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  assert_output "$deep"
  run jq -r '[.line, .errors[0].keyword] | @tsv' "$T/rej"
  assert_output "$(printf '2\tanyOf')"
}

@test "a record whose check would take more than the step limit is rejected with a reason that says so" {
  # 4,000 subschemas on each of 1,000 items: 4 million steps, over 1,000,000 + 1,000 a byte
  {
    printf '{"items":{"allOf":['
    for i in $(seq 3999); do printf '{"minimum":0},'; done
    printf '{"minimum":0}]}}\n'
  } >"$T/s.json"
  printf '[%s0]\n' "$(printf '0,%.0s' {1..999})" >"$T/in.ndjson"
  printf '[0]\n' >>"$T/in.ndjson"
  local engine
  for engine in compiled valijson; do
    run --separate-stderr timeout -s KILL 60 "$CDN" validate --engine "$engine" --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
    assert_failure 1
    assert_output '[0]'
    [[ $stderr == *"2 in, 1 out, 1 rejected"* ]] || fail "$stderr"
    run jq -r '[.line, .reason] | @tsv' "$T/rej"
    assert_output --regexp "^1	checking this record took more than 3001000 steps \(1000000 and 1000 a byte of the record\), so it was stopped: .*simplify the schema"
  done
}

@test "uniqueItems over 100,000 objects takes seconds in both engines, objects equal whatever their member order" {
  awk 'BEGIN { printf "["; for (i = 0; i < 100000; i++) printf "%s{\"id\":%d,\"k\":\"x\"}", (i ? "," : ""), i; print "]" }' >"$T/in.ndjson"
  awk 'BEGIN { printf "["; for (i = 0; i < 100000; i++) printf "{\"id\":%d,\"k\":\"x\"},", i; print "{\"k\":\"x\",\"id\":5.0}]" }' >>"$T/in.ndjson"
  printf '%s\n' '{"uniqueItems":true}' >"$T/s.json"
  local engine
  for engine in compiled valijson; do
    run --separate-stderr timeout -s KILL 60 "$CDN" validate -q --engine "$engine" --schema "$T/s.json" --rejects "$T/rej" -o "$T/out" "$T/in.ndjson"
    assert_failure 1
    cmp "$T/out" <(head -n 1 "$T/in.ndjson")
    run jq -r '[.line, .errors[0].keyword] | @tsv' "$T/rej"
    assert_output "$(printf '2\tuniqueItems')"
  done
  run jq -r '.errors[0].message' "$T/rej"
  assert_output 'Elements at indexes #5 and #100000 violate uniqueness constraint.'
}

@test "maximum, minimum and the exclusive bounds compare integers beyond 2^53 exactly" {
  expect '{"maximum":9007199254740992}' invalid maximum '9007199254740993'
  expect '{"maximum":9007199254740992}' valid "" '9007199254740992'
  expect '{"minimum":9007199254740993}' invalid minimum '9007199254740992'
  expect '{"exclusiveMaximum":9007199254740993}' valid "" '9007199254740992.0'
  expect '{"exclusiveMinimum":9007199254740992}' invalid exclusiveMinimum '9007199254740992.0'
  expect '{"maximum":9223372036854775807}' invalid maximum '9223372036854775808'
  expect '{"minimum":-9223372036854775807}' invalid minimum '-9223372036854775808'
  expect '{"maximum":18446744073709551615}' valid "" '18446744073709551615'
  expect '{"exclusiveMaximum":9223372036854775808.0}' invalid exclusiveMaximum '9223372036854775808'
  expect '{"multipleOf":1152921504606846976}' invalid multipleOf '1152921504606846977'
  expect '{"const":9223372036854775807}' invalid const '9223372036854775808'
  printf '%s\n' '{"maximum":9007199254740992}' >"$T/s.json"
  printf '%s\n' 9007199254740993 >"$T/in.ndjson"
  run --separate-stderr cdn validate -q --schema "$T/s.json" --rejects "$T/rej" "$T/in.ndjson"
  assert_failure 1
  run jq -r '.reason' "$T/rej"
  assert_output 'maximum: 9007199254740993 is greater than the maximum 9007199254740992'
}

@test "a \$ref beside an \$id resolves as if the \$id were not there, in drafts 4, 6 and 7" {
  # JSON-Schema-Test-Suite: "$ref prevents a sibling $id from changing the base uri"
  # (draft 4's meta-schema wants an absolute id: base_foo's is written out in full there)
  local draft id base_foo schema
  for draft in 04 06 07; do
    id='$id' base_foo=foo.json
    [[ $draft == 04 ]] && id=id base_foo=http://localhost:1234/sibling_id/base/foo.json
    schema='{"$schema":"http://json-schema.org/draft-'$draft'/schema#",
      "'$id'":"http://localhost:1234/sibling_id/base/",
      "definitions":{
        "foo":{"'$id'":"http://localhost:1234/sibling_id/foo.json","type":"string"},
        "base_foo":{"'$id'":"'$base_foo'","type":"number"}},
      "allOf":[{"'$id'":"http://localhost:1234/sibling_id/","$ref":"foo.json"}]}'
    expect "$schema" invalid type '"a"'
    expect "$schema" valid "" '1'
  done
  # a sibling $id that would send the $ref out of the document: the $ref stays in it
  expect '{"definitions":{"a":{"type":"integer"}},"properties":{"x":{"$id":"http://elsewhere.example/o.json","$ref":"#/definitions/a"}}}' \
    invalid type '{"x":"1"}'
  # and the $id names nothing: a $ref to it does not resolve
  printf '%s\n' '{"definitions":{"a":{"$id":"#named","$ref":"#/definitions/b"},"b":{}},"$ref":"#named"}' >"$T/s.json"
  run --separate-stderr cdn validate --schema "$T/s.json" /dev/null
  assert_failure 2
  [[ $stderr == *"cannot resolve \$ref"*"#named"*"no subschema has that \$id"* ]] || fail "$stderr"
}

@test "SIGTERM while a record takes minutes to check: validate ends within seconds, the record rejected as not checked" {
  # 3 million items, 8,000 subschemas each: minutes of checking, under the step limit for long
  {
    printf '{"items":{"allOf":['
    for i in $(seq 7999); do printf '{"minimum":0},'; done
    printf '{"minimum":0}]}}\n'
  } >"$T/s.json"
  awk 'BEGIN { printf "["; for (i = 0; i < 3000000; i++) printf "0,"; print "0]" }' >"$T/in.ndjson"
  local size engine st start elapsed rchar
  size=$(stat -c %s "$T/in.ndjson")
  for engine in compiled valijson; do
    # through a pipe, so that /proc/PID/io says when the record has been read whole: from
    # then on it is being checked, to the end (before this fix) or until the signal
    "$CDN" validate --engine "$engine" --threads 1 --schema "$T/s.json" --rejects "$T/rej" \
      -o "$T/out" <"$T/in.ndjson" 2>"$T/err" &
    VALIDATE_PID=$!
    start=$(date +%s%N)
    while :; do
      rchar=$(awk '/^rchar:/ { print $2 }' "/proc/$VALIDATE_PID/io" 2>/dev/null || echo 0)
      ((${rchar:-0} >= size)) && break
      pid_alive "$VALIDATE_PID" || fail "validate ended before reading the record: $(cat "$T/err")"
      (((($(date +%s%N) - start) / 1000000) < 30000)) || fail "the record was not read in 30 s"
      sleep 0.05
    done
    start=$(date +%s%N)
    kill -TERM "$VALIDATE_PID"
    while pid_alive "$VALIDATE_PID" && (((($(date +%s%N) - start) / 1000000) < 10000)); do
      sleep 0.02
    done
    elapsed=$((($(date +%s%N) - start) / 1000000))
    pid_alive "$VALIDATE_PID" && kill -KILL "$VALIDATE_PID"
    st=0
    wait "$VALIDATE_PID" || st=$?
    VALIDATE_PID=""
    # the check stops within milliseconds; writing the 6 MB record to the rejects, committing
    # and freeing take about half a second more (on a loaded machine, two): 5 s is generous,
    # and a check that went on would take minutes
    ((elapsed < 5000)) || fail "validate --engine $engine took $elapsed ms to end after SIGTERM"
    echo "# --engine $engine ended $elapsed ms after SIGTERM" >&3
    assert_equal "$st" 143
    run cat "$T/err"
    assert_output --partial "1 in, 0 out, 1 rejected in"
    assert_output --partial "(interrupted by SIGTERM)"
    run jq -r '[.line, .reason] | @tsv' "$T/rej"
    assert_output "$(printf '1\tnot checked: the run was stopped by SIGTERM while this record was being checked')"
    [[ ! -s $T/out ]] || fail "output: $(head -c 200 "$T/out")"
  done
}

@test "a schema larger than 64 MiB, or one that never ends like /dev/zero, is refused with either engine" {
  truncate -s 65M "$T/big.json"
  local engine schema
  for engine in compiled valijson; do
    for schema in "$T/big.json" /dev/zero; do
      run --separate-stderr cdn validate --engine "$engine" --schema "$schema" </dev/null
      assert_failure 2
      assert_equal "$stderr" "cdn validate: the schema '$schema' is larger than 64 MiB, the most it may be; give a JSON Schema file with --schema"
    done
  done
}
