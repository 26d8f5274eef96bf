#!/usr/bin/env bats
# What every command promises about its output and rejects files: the rejects are written
# before the output appears, so a run whose rejects fail leaves no output; the output and the
# rejects never share one file; a replaced file keeps its permissions; an output is written in
# the format its name says (.csv CSV, anything else NDJSON, .gz gzipped) or --output-format
# and --compress say, and CSV written reads back as the records written.

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

# The commands that write records to -o and rejects to --rejects.
COMMANDS=(sort tag validate)

setup() {
  T="$BATS_TEST_TMPDIR"
  mkdir "$T/work" "$T/work/sub"
  W="$T/work"
  printf '%s\n' '{"type":"object","required":["timestamp"]}' >"$T/schema.json"
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:01.000Z","n":1}' 'not json' \
    '{"timestamp":"2026-11-22T10:00:00.000Z","n":0}' >"$T/in.ndjson"
}

teardown() {
  stop_broker
}

args_of() {
  case $1 in
    validate) echo "--schema $T/schema.json" ;;
    *) echo "" ;;
  esac
}

@test "rejects that cannot be written (/dev/full): exit 3, and no output under the -o name" {
  for cmd in "${COMMANDS[@]}"; do
    run --separate-stderr cdn -q "$cmd" $(args_of "$cmd") "$T/in.ndjson" -o "$W/out" --rejects /dev/full
    assert_failure 3
    assert_equal "$stderr" "cdn $cmd: cannot write '/dev/full': No space left on device; free space on its file system or write to another one"
    assert_equal "$(cd "$W" && echo $(ls -A))" "sub"
  done
}

@test "rejects that cannot be written leave an existing -o file as it was" {
  for cmd in "${COMMANDS[@]}"; do
    echo before >"$W/out"
    run --separate-stderr cdn -q "$cmd" $(args_of "$cmd") "$T/in.ndjson" -o "$W/out" --rejects /dev/full
    assert_failure 3
    assert_equal "$(cat "$W/out")" before
  done
}

@test "-o and --rejects naming one file is a usage error, however the path is written" {
  for cmd in "${COMMANDS[@]}" gen; do
    local input="$T/in.ndjson"
    [[ $cmd == gen ]] && input="-n3"
    # A new file, and then an existing one (which is left as it was).
    for existing in no yes; do
      rm -f "$W/x"
      [[ $existing == yes ]] && echo before >"$W/x"
      for pair in "$W/x $W/x" "$W/x $W/./x" "$W/sub/../x $W/x"; do
        read -r o r <<<"$pair"
        run --separate-stderr cdn "$cmd" $(args_of "$cmd") "$input" -o "$o" --rejects "$r"
        assert_failure 2
        assert_equal "$stderr" "cdn $cmd: cannot write rejects to '$r': it is the same file as the output '$o'; name another file with --rejects or -o"
      done
      (cd "$W" && run --separate-stderr cdn "$cmd" $(args_of "$cmd") "$input" -o ./x --rejects x &&
        assert_failure 2)
      if [[ $existing == yes ]]; then
        assert_equal "$(cat "$W/x")" before
        assert_equal "$(cd "$W" && echo $(ls -A))" "sub x"
      else
        assert_equal "$(cd "$W" && echo $(ls -A))" "sub"
      fi
    done
  done
}

@test "--rejects naming the file stdout is redirected to is a usage error" {
  for cmd in "${COMMANDS[@]}"; do
    run --separate-stderr bash -c "'$CDN' $cmd $(args_of "$cmd") '$T/in.ndjson' --rejects '$W/x' >'$W/x'"
    assert_failure 2
    assert_equal "$stderr" "cdn $cmd: cannot write rejects to '$W/x': it is the same file as the output '<stdout>'; name another file with --rejects or -o"
  done
}

@test "-o and --rejects may both be /dev/null, and stdout and stderr may share a file" {
  for cmd in "${COMMANDS[@]}"; do
    run --separate-stderr cdn -q "$cmd" $(args_of "$cmd") "$T/in.ndjson" -o /dev/null --rejects /dev/null
    assert_failure 1
    run bash -c "'$CDN' -q $cmd $(args_of "$cmd") '$T/in.ndjson' >'$W/log' 2>&1"
    assert_failure 1
    assert_equal "$(wc -l <"$W/log")" 3
  done
}

@test "replacing an existing -o or --rejects file keeps its permissions" {
  for cmd in "${COMMANDS[@]}" gen; do
    local input="$T/in.ndjson"
    [[ $cmd == gen ]] && input="-n3"
    for mode in 600 640 604; do
      echo old >"$W/out"
      echo old >"$W/rej"
      chmod "$mode" "$W/out" "$W/rej"
      run --separate-stderr cdn -q "$cmd" $(args_of "$cmd") "$input" -o "$W/out" --rejects "$W/rej"
      [[ $status -le 1 ]] || fail "$cmd: status $status: $stderr"
      assert_equal "$(stat -c %a "$W/out")" "$mode"
      assert_equal "$(stat -c %a "$W/rej")" "$mode"
      [[ $(cat "$W/out") != old ]] || fail "$cmd: the output was not replaced"
    done
  done
}

@test "a new -o file gets the permissions of the umask" {
  for cmd in "${COMMANDS[@]}"; do
    rm -f "$W/out"
    run bash -c "umask 027 && '$CDN' -q $cmd $(args_of "$cmd") '$T/in.ndjson' -o '$W/out' --rejects /dev/null"
    assert_failure 1
    assert_equal "$(stat -c %a "$W/out")" 640
  done
}

# check_rejects_utf8 FILE N: FILE holds N lines, each UTF-8 and one JSON object whose record
# holds U+FFFD where the input had a bad byte, and whose record_base64 gives the bytes back.
check_rejects_utf8() {
  python3 - "$1" "$2" <<'PY'
import base64, json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
assert len(lines) == int(sys.argv[2]), f"{len(lines)} lines, not {sys.argv[2]}: {lines}"
for raw in lines:
    o = json.loads(raw.decode("utf-8"))  # raises on a byte that is not UTF-8
    if "record_base64" in o:
        exact = base64.b64decode(o["record_base64"])
        assert b"\xff\xfe" in exact, o
        assert o["record"] == exact.decode("utf-8", "replace"), o
        assert "\ufffd\ufffd" in o["record"], o
PY
}

@test "a reject line is UTF-8 JSON when the record is not UTF-8: U+FFFD, and the bytes in record_base64" {
  printf '{"timestamp":"2026-11-22T10:00:00.000Z","a":"\xff\xfe"}\n\xff\xfe\n' >"$T/bad.ndjson"
  for cmd in "${COMMANDS[@]}"; do
    run --separate-stderr cdn -q "$cmd" $(args_of "$cmd") "$T/bad.ndjson" --rejects "$T/rejects"
    assert_failure 1
    run check_rejects_utf8 "$T/rejects" 2
    assert_success
  done
}

# bats test_tags=influx
@test "load-influx's reject lines are UTF-8 JSON when the record is not UTF-8" {
  printf '{"timestamp":"2026-11-22T10:00:00.000Z","a":"\xff\xfe"}\n\xff\xfe\n' >"$T/bad.ndjson"
  run --separate-stderr cdn -q load-influx --dry-run "$T/bad.ndjson" --rejects "$T/rejects"
  assert_failure 1
  run check_rejects_utf8 "$T/rejects" 2
  assert_success
}

# bats test_tags=xgboost
@test "train's and predict's reject lines are UTF-8 JSON when the record is not UTF-8" {
  cdn -q gen --rows 200 --seed 5 -f csv -o "$T/train.csv"
  printf '\xff\xfe,x\n' >>"$T/train.csv"
  run --separate-stderr cdn -q train --rounds 2 "$T/train.csv" -o "$T/m" --rejects "$T/rejects"
  assert_failure 1
  run check_rejects_utf8 "$T/rejects" 1
  assert_success
  printf '{"a":"\xff\xfe"}\n\xff\xfe\n' >"$T/bad.ndjson"
  run --separate-stderr cdn -q predict -m "$T/m" "$T/bad.ndjson" --rejects "$T/rejects"
  assert_failure 1
  run check_rejects_utf8 "$T/rejects" 2
  assert_success
}

@test "a string option that is not UTF-8 is a usage error: tag --prefix, and any other" {
  run cdn tag --prefix $'\xff' <<<'{}'
  assert_failure 2
  assert_output "cdn tag: bad value for --prefix: byte 0xff at offset 0 is not UTF-8; write the value in UTF-8"
  run cdn sort -k $'a\xfe' <<<'{}'
  assert_failure 2
  assert_output "cdn sort: bad value for -k/--key: byte 0xfe at offset 1 is not UTF-8; write the value in UTF-8"
}

@test "a file name that is not UTF-8 is a path: read, and written into the reject lines as U+FFFD" {
  local f="$T/in"$'\xff'".ndjson"
  printf '%s\n' 'not json' >"$f"
  run --separate-stderr cdn -q sort "$f" --rejects "$T/rejects"
  assert_failure 1
  run python3 -c 'import json, sys; print(json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))["source"])' "$T/rejects"
  assert_success
  assert_output "$T/in"$'\xef\xbf\xbd'".ndjson"
}

# same_records A B: the NDJSON files A and B hold the same records, in the same order: equal
# as JSON values (numbers compared as their text, so 2.50 is not 2.5 and no digit of a large
# integer is lost), whatever the order of the fields.
same_records() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def load(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(l, parse_float=str, parse_int=str) for l in f if l.strip()]
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print(f"{len(a)} records and {len(b)} records differ", file=sys.stderr)
    for x, y in zip(a, b):
        if x != y:
            print(f"first difference:\n  {x}\n  {y}", file=sys.stderr)
            break
    sys.exit(1)
PY
}

# Three records in timestamp order, as every command below writes them.
records3() {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.000Z","n":0}' \
    '{"timestamp":"2026-11-22T10:00:01.000Z","n":1}' '{"timestamp":"2026-11-22T10:00:02.000Z","n":2}'
}

# run_to CMD OUT [ARGS...]: runs `cdn -q CMD` on those three records with -o OUT (gen makes
# three records of its own).
run_to() {
  local cmd="$1" out="$2"
  shift 2
  records3 >"$T/good.ndjson"
  if [[ $cmd == gen ]]; then
    run --separate-stderr cdn -q gen -n3 -o "$out" "$@"
  else
    run --separate-stderr cdn -q "$cmd" $(args_of "$cmd") "$T/good.ndjson" -o "$out" "$@"
  fi
}

@test "-o FILE.ndjson.gz (or .jsonl.gz, .json.gz) is gzipped NDJSON that zcat reads, for every command" {
  for cmd in "${COMMANDS[@]}" gen; do
    run_to "$cmd" "$W/plain.ndjson"
    assert_success
    for name in out.ndjson.gz out.jsonl.gz out.json.gz; do
      run_to "$cmd" "$W/$name"
      assert_success
      run zcat "$W/$name"
      assert_success
      assert_output "$(cat "$W/plain.ndjson")"
    done
    # cdn reads it back.
    run --separate-stderr cdn -q sort "$W/out.ndjson.gz"
    assert_success
    assert_equal "${#lines[@]}" 3
  done
}

@test "an output name with another extension is NDJSON, gzipped when it ends in .gz" {
  run_to sort "$W/out.txt"
  assert_success
  assert_equal "$(cat "$W/out.txt")" "$(records3)"
  run_to sort "$W/out.txt.gz"
  assert_success
  assert_equal "$(zcat "$W/out.txt.gz")" "$(records3)"
  run_to sort "$W/out.gz"
  assert_success
  assert_equal "$(zcat "$W/out.gz")" "$(records3)"
}

@test "-o FILE.csv is CSV with a header row, and FILE.csv.gz gzipped CSV, for every command" {
  for cmd in "${COMMANDS[@]}" gen; do
    run_to "$cmd" "$W/out.csv"
    assert_success
    run_to "$cmd" "$W/out.csv.gz"
    assert_success
    assert_equal "$(zcat "$W/out.csv.gz")" "$(cat "$W/out.csv")"
    [[ $(head -1 "$W/out.csv") == timestamp,* ]] || fail "$cmd: no header: $(head -1 "$W/out.csv")"
    assert_equal "$(wc -l <"$W/out.csv")" 4
  done
  run_to sort "$W/out.csv"
  assert_equal "$(cat "$W/out.csv")" "timestamp,n
2026-11-22T10:00:00.000Z,0
2026-11-22T10:00:01.000Z,1
2026-11-22T10:00:02.000Z,2"
}

@test "CSV written by tag and validate is read back by cdn sort and cdn validate as the records written" {
  cdn -q gen --rows 500 --seed 3 >"$T/gen.ndjson"
  cdn -q tag "$T/gen.ndjson" -o "$T/tagged.ndjson"
  run --separate-stderr cdn -q tag "$T/gen.ndjson" -o "$T/tagged.csv"
  assert_success
  run --separate-stderr cdn -q sort "$T/tagged.csv" -o "$T/back.ndjson"
  assert_success
  cdn -q sort "$T/tagged.ndjson" -o "$T/want.ndjson"
  run same_records "$T/want.ndjson" "$T/back.ndjson"
  assert_success
  # validate's schema (cdn-data.json) gives the columns, in its order, and their types.
  run --separate-stderr cdn -q validate "$T/tagged.ndjson" -o "$T/valid.csv.gz"
  assert_success
  assert_equal "$(zcat "$T/valid.csv.gz" | head -1)" "timestamp,client_ip,asn,country,pop,device,content_type,http_status,cache_status,bytes_sent,response_time_ms,ttfb_ms,rtt_ms,throughput_kbps,bitrate_kbps,qoe_bad,sampleID"
  run --separate-stderr cdn -q validate "$T/valid.csv.gz" -o "$T/valid-back.ndjson"
  assert_success
  run same_records "$T/tagged.ndjson" "$T/valid-back.ndjson"
  assert_success
}

# bats test_tags=xgboost
@test "CSV written by gen -o FILE.csv and tag -o FILE.csv trains a model, and predict writes CSV" {
  cdn -q gen --rows 400 --seed 4 -o "$T/gen.csv"
  cdn -q tag "$T/gen.csv" -o "$T/train.csv"
  run --separate-stderr cdn -q train --rounds 2 "$T/train.csv" -o "$T/m"
  assert_success
  cdn -q gen --rows 20 --seed 5 --no-label -o "$T/live.ndjson"
  cdn -q tag "$T/live.ndjson" -o "$T/live.tagged.ndjson"
  run --separate-stderr cdn -q predict -m "$T/m" "$T/live.tagged.ndjson" -o "$T/pred.csv"
  assert_success
  [[ $(head -1 "$T/pred.csv") == *prediction* ]] || fail "no CSV header: $(head -1 "$T/pred.csv")"
  cdn -q predict -m "$T/m" "$T/live.tagged.ndjson" -o "$T/pred.ndjson"
  run --separate-stderr cdn -q sort -k sampleID "$T/pred.csv" -o "$T/pred-back.ndjson"
  assert_success
  cdn -q sort -k sampleID "$T/pred.ndjson" -o "$T/pred-want.ndjson"
  run same_records "$T/pred-want.ndjson" "$T/pred-back.ndjson"
  assert_success
  run --separate-stderr cdn -q predict -m "$T/m" "$T/live.tagged.ndjson" -o "$T/pred.ndjson.gz"
  assert_success
  assert_equal "$(zcat "$T/pred.ndjson.gz")" "$(cat "$T/pred.ndjson")"
}

# bats test_tags=kafka
@test "consume -o FILE.csv writes CSV, and -o FILE.ndjson.gz gzipped NDJSON" {
  start_broker --topic one:1
  records3 | kcat -P -b "$CDN_BROKERS" -t one
  run --separate-stderr cdn -q consume -t one -e -o "$T/c.csv"
  assert_success
  assert_equal "$(cat "$T/c.csv")" "timestamp,n
2026-11-22T10:00:00.000Z,0
2026-11-22T10:00:01.000Z,1
2026-11-22T10:00:02.000Z,2"
  run --separate-stderr cdn -q consume -t one -e -o "$T/c.ndjson.gz"
  assert_success
  assert_equal "$(zcat "$T/c.ndjson.gz")" "$(records3)"
}

@test "a CSV round trip keeps awkward values: commas, quotes, line breaks, unicode, empty strings, digits, large and small numbers" {
  printf '%s\n' \
    '{"id":1,"a,b":"x,y","q\"k":"say \"hi\"","nl":"line1\nline2\n","uni":"café ☕ 日本 𝄞","big":9007199254740993,"neg":-9223372036854775808,"f":1.5e-7,"g":0.10,"e":1E+300}' \
    '{"id":2,"a,b":"plain","uni":"tab\there","big":18446744073709551615,"f":-0.0,"nl":"a\rb"}' \
    '{"id":3,"q\"k":"\"","nl":" spaced ","e":-2.5e-300,"a,b":""}' \
    '{"id":4,"a,b":"0042","uni":"12","g":"1e5","neg":"-1"}' \
    '{"id":5}' >"$T/awkward.ndjson"
  run --separate-stderr cdn -q sort -k id "$T/awkward.ndjson" -o "$T/awkward.csv"
  assert_success
  assert_equal "$(head -1 "$T/awkward.csv")" 'id,"a,b","q""k",nl,uni,big,neg,f,g,e'
  run --separate-stderr cdn -q sort -k id "$T/awkward.csv" -o "$T/back.ndjson"
  assert_success
  run same_records "$T/awkward.ndjson" "$T/back.ndjson"
  assert_success
}

@test "with --schema the CSV header is its properties in order, and typed columns keep booleans and strings of digits" {
  printf '%s\n' '{"properties":{"timestamp":{"type":"string"},"ok":{"type":"boolean"},' \
    '"code":{"type":"string"},"x":{"type":"number"},"n":{"type":"integer"},' \
    '"id":{"type":["string","integer"]}}}' >"$T/s.json"
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.000Z","ok":true,"code":"007","x":2.5,"n":1,"id":"abc"}' \
    '{"timestamp":"2026-11-22T10:00:01.000Z","ok":false,"code":"123","n":-3,"id":42}' >"$T/typed.ndjson"
  run --separate-stderr cdn -q sort --schema "$T/s.json" "$T/typed.ndjson" -o "$T/typed.csv"
  assert_success
  assert_equal "$(cat "$T/typed.csv")" "timestamp,ok,code,x,n,id
2026-11-22T10:00:00.000Z,true,007,2.5,1,abc
2026-11-22T10:00:01.000Z,false,\"123\",,-3,42"
  run --separate-stderr cdn -q sort --schema "$T/s.json" "$T/typed.csv" -o "$T/back.ndjson"
  assert_success
  run same_records "$T/typed.ndjson" "$T/back.ndjson"
  assert_success
  # A field the schema does not name is refused, with the reason; the header stands alone.
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.000Z","other":1}' >"$T/other.ndjson"
  run --separate-stderr cdn -q sort --schema "$T/s.json" "$T/other.ndjson" -o "$T/o.csv" --rejects "$T/rej"
  assert_failure 1
  assert_equal "$(jq -r .reason "$T/rej")" "field 'other' is not a column of the CSV output, whose header lists the properties of --schema; name every field in a --schema; write NDJSON (-o FILE.ndjson) to keep it"
  assert_equal "$(cat "$T/o.csv")" "timestamp,ok,code,x,n,id"
}

@test "a record CSV cannot give back as it is goes to the rejects with its reason, never dropped" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.000Z","a":"x"}' \
    '{"timestamp":"2026-11-22T10:00:01.000Z","a":""}' \
    '{"timestamp":"2026-11-22T10:00:02.000Z","a":null}' \
    '{"timestamp":"2026-11-22T10:00:03.000Z","a":{"b":1}}' \
    '{"timestamp":"2026-11-22T10:00:04.000Z","a":[1]}' \
    '{"timestamp":"2026-11-22T10:00:05.000Z","a":"123"}' \
    '{"timestamp":"2026-11-22T10:00:06.000Z","a":true}' \
    '{"timestamp":"2026-11-22T10:00:07.000Z","b":1}' \
    '{"timestamp":"2026-11-22T10:00:08.000Z","a":"x\r\ny"}' \
    '{"timestamp":"2026-11-22T10:00:09.000Z","a":123}' >"$T/mixed.ndjson"
  run --separate-stderr cdn sort "$T/mixed.ndjson" -o "$T/m.csv" --rejects "$T/rej"
  assert_failure 1
  [[ $stderr =~ ^"cdn sort: 10 in, 4 out, 6 rejected in " ]] || fail "$stderr"
  # An empty string and a string of digits are quoted, and read back as strings.
  assert_equal "$(cat "$T/m.csv")" 'timestamp,a
2026-11-22T10:00:00.000Z,x
2026-11-22T10:00:01.000Z,""
2026-11-22T10:00:05.000Z,"123"
2026-11-22T10:00:09.000Z,123'
  local hint="; write NDJSON (-o FILE.ndjson) to keep it"
  run jq -r '"\(.source) \(.line): \(.reason)"' "$T/rej"
  assert_output "$T/m.csv 3: field 'a' is null, which CSV reads back as a missing field; leave the field out$hint
$T/m.csv 4: field 'a' is an object, which a CSV cell cannot hold$hint
$T/m.csv 5: field 'a' is an array, which a CSV cell cannot hold$hint
$T/m.csv 7: field 'a' would read back from CSV as \"true\", not true; type its column in a --schema$hint
$T/m.csv 8: field 'b' is not a column of the CSV output, whose header lists the fields of the first record; name every field in a --schema$hint
$T/m.csv 9: field 'a' holds a carriage return before a line feed, which CSV reading drops$hint"
  assert_equal "$(jq -r .record "$T/rej" | head -1)" '{"timestamp":"2026-11-22T10:00:02.000Z","a":null}'
  cdn -q sort "$T/m.csv" -o "$T/back.ndjson"
  sed -n '1p;2p;6p;10p' "$T/mixed.ndjson" >"$T/want.ndjson"
  run same_records "$T/want.ndjson" "$T/back.ndjson"
  assert_success
}

@test "--output-format and --compress win over the name, and work on stdout" {
  run_to sort "$W/x.ndjson" --output-format csv
  assert_success
  assert_equal "$(head -1 "$W/x.ndjson")" "timestamp,n"
  run_to sort "$W/x.csv" --output-format ndjson
  assert_success
  assert_equal "$(cat "$W/x.csv")" "$(records3)"
  run_to sort "$W/x.ndjson.gz" --compress none
  assert_success
  assert_equal "$(cat "$W/x.ndjson.gz")" "$(records3)"
  run_to sort "$W/x.ndjson" --compress gzip
  assert_success
  assert_equal "$(zcat "$W/x.ndjson")" "$(records3)"
  # stdout: NDJSON, unless asked.
  run_to sort - --output-format csv
  assert_success
  assert_equal "${lines[0]}" "timestamp,n"
  assert_equal "${#lines[@]}" 4
  run bash -c "'$CDN' -q sort --compress gzip '$T/good.ndjson' | zcat"
  assert_success
  assert_output "$(records3)"
  run bash -c "'$CDN' -q gen -n3 --output-format csv | head -1"
  assert_output --partial "timestamp,"
  # From the config file too.
  printf '[sort]\noutput-format = "csv"\n' >"$T/c.toml"
  run --separate-stderr cdn -q --config "$T/c.toml" sort "$T/good.ndjson"
  assert_success
  assert_equal "${lines[0]}" "timestamp,n"
}

@test "--rejects FILE.ndjson.gz is gzipped, and --rejects FILE.csv is a usage error" {
  run --separate-stderr cdn -q sort "$T/in.ndjson" -o "$W/out" --rejects "$W/rej.ndjson.gz"
  assert_failure 1
  run bash -c "zcat '$W/rej.ndjson.gz' | jq -r .record"
  assert_output "not json"
  run --separate-stderr cdn -q sort "$T/in.ndjson" -o "$W/out" --rejects "$W/rej.csv"
  assert_failure 2
  assert_equal "$stderr" "cdn sort: cannot write rejects to '$W/rej.csv' as CSV: reject lines are NDJSON; name a .ndjson file (or .ndjson.gz)"
}

@test "CSV or gzip to a Kafka topic is a usage error that says so" {
  run --separate-stderr cdn -q sort "$T/in.ndjson" -o kafka:t --output-format csv
  assert_failure 2
  assert_equal "$stderr" "cdn sort: cannot write CSV to 'kafka:t': a topic takes one JSON record a message; leave out --output-format csv"
}

@test "a CSV or gzip output is renamed into place only when the run succeeds" {
  for name in out.csv out.ndjson.gz out.csv.gz; do
    run --separate-stderr cdn -q sort "$T/in.ndjson" -o "$W/$name" --rejects /dev/full
    assert_failure 3
    assert_equal "$(cd "$W" && echo $(ls -A))" "sub"
  done
}

# key_check TOPIC JQ-EXPR: "N M" for the topic's N messages, of which M have the key JQ-EXPR
# (on the payload) gives; then the keys found in more than one partition, one a line.
key_check() {
  "$CDN" consume -q -t "$1" -e --envelope |
    jq -rs "([length, (map(select(.key == (.payload | $2))) | length)] | @tsv),
      (map(\"\(.key) \(.partition)\") | unique | map(split(\" \")[0]) | group_by(.) | map(select(length > 1)[0])[])"
}

# bats test_tags=kafka
@test "--key-field keys every Kafka output: tag (by the ID it writes), consume (else the message's own key), gen, sort" {
  start_broker -t raw:4 -t tagged:8 -t copy:8 -t bypop:8 -t gen:8 -t sorted:8
  # the first five records have no pop
  cdn gen -q --rows 500 --seed 5 --no-label | jq -c 'if input_line_number <= 5 then del(.pop) else . end' >"$T/raw.ndjson"
  cdn produce -q -t raw --key-field client_ip "$T/raw.ndjson"
  cdn tag -q --key-field sampleID kafka:raw -e -o kafka:tagged
  assert_equal "$(key_check tagged '.sampleID | tostring')" $'500\t500'
  # consume keeps each message's key, or takes the field's; a line without it keeps its own
  cdn consume -q -t tagged -e -o kafka:copy
  assert_equal "$(key_check copy '.sampleID | tostring')" $'500\t500'
  cdn consume -q -t tagged -e --key-field pop -o kafka:bypop
  assert_equal "$(key_check bypop '.pop // (.sampleID | tostring)')" $'500\t500'
  cdn gen -q --rows 500 --seed 6 --key-field pop -o kafka:gen
  assert_equal "$(key_check gen '.pop')" $'500\t500'
  # sort: the records without pop go without a key
  cdn sort -q --key-field pop "$T/raw.ndjson" -o kafka:sorted
  assert_equal "$(key_check sorted '.pop')" $'500\t500'
  assert_equal "$("$CDN" consume -q -t sorted -e --envelope | jq -s 'map(select(.key == null)) | length')" 5
  run --separate-stderr cdn gen --rows 5 -f csv --key-field pop -o kafka:gen
  assert_failure 2
  assert_equal "$stderr" "cdn gen: --key-field reads a field of NDJSON records, and these are CSV rows; leave out --key-field or write NDJSON"
}

# keys_kept TOPIC JQ-EXPR: "N M" for the topic's N messages, of which M have the key JQ-EXPR
# gives on the payload (null: no key).
keys_kept() {
  "$CDN" consume -q -t "$1" -e --envelope |
    jq -rs "[length, (map(select(.key == (.payload | $2))) | length)] | @tsv"
}

# rejects_keys TOPIC: the keys of the topic's messages, sorted, "none" for no key.
rejects_keys() {
  "$CDN" consume -q -t "$1" -e --envelope | jq -rs 'map(.key // "none") | sort | join(" ")'
}

# The records of the Kafka key tests: 5,000 tagged records (about 1.7 MB: more than sort -S 1M
# holds), keyed by sampleID but for every fifth, which has no key.
keyed_records() {
  cdn gen -q --rows 5000 --seed 9 --no-label | cdn -q tag >"$T/recs.ndjson"
  KEY_OF='if .sampleID % 5 == 0 then null else (.sampleID | tostring) end'
}

# bats test_tags=kafka
@test "every command that reads Kafka and writes Kafka keeps each record's message key on its output and rejects; a record without one stays without; --key-field wins" {
  start_broker -t in:4 -t o0:8 -t o1:8 -t o2:8 -t o3:8 -t o4:8 -t o5:8 -t o6:8 \
    -t r0:4 -t r1:4 -t r2:4 -t r3:4 -t r4:4 -t r5:4 -t r6:4
  keyed_records
  cdn gen -q --rows 400 --seed 8 -f csv -o "$T/train.csv"
  cdn -q train --rounds 2 "$T/train.csv" -o "$T/m"
  jq -c 'select(.sampleID % 5 != 0)' "$T/recs.ndjson" | cdn produce -q -t in --key-field sampleID
  jq -c 'select(.sampleID % 5 == 0)' "$T/recs.ndjson" | cdn produce -q -t in
  # Two tombstones (no payload), every command's reject: one with a key, one without (-Z:
  # an empty key or payload is none).
  printf 't1|\n|\n' | timeout 30 kcat -P -b "$CDN_BROKERS" -t in -Z -K '|'
  # command|options|the key of an output record (jq, on its payload)
  local rows=(
    "sort||$KEY_OF"
    "sort|-S 1M|$KEY_OF"
    "sort|-S 1M --key-field pop|.pop"
    "validate||$KEY_OF"
    "tag|--field tid|$KEY_OF"
    "consume||$KEY_OF"
    "predict|-m $T/m|$KEY_OF"
  )
  # `row`, not `i`: bats' run sets i
  local row cmd opts key
  for row in "${!rows[@]}"; do
    IFS='|' read -r cmd opts key <<<"${rows[row]}"
    # shellcheck disable=SC2086 # the options are words
    run --separate-stderr timeout 60 "$CDN" "$cmd" $opts kafka:in -e -o "kafka:o$row" --rejects "kafka:r$row"
    assert_failure 1
    [[ $stderr =~ ": 5002 in, 5000 out, 2 rejected" ]] || fail "$cmd $opts: $stderr"
    if [[ $opts == *-S* ]]; then
      [[ $stderr =~ " runs spilled" ]] || fail "$cmd $opts spilled no run: $stderr"
    fi
    assert_equal "$cmd $opts: $(keys_kept "o$row" "$key")" "$cmd $opts: 5000	5000"
    assert_equal "$cmd $opts: $(rejects_keys "r$row")" "$cmd $opts: none t1"
  done
}

# bats test_tags=kafka
@test "sort --merge of keyed topics keeps each record's message key on its output and rejects" {
  start_broker -t a:1 -t b:1 -t c:1 -t merged:1 -t bypop:4 -t rej:1
  keyed_records
  cdn sort -q "$T/recs.ndjson" -o "$T/sorted.ndjson"
  # each topic in time order: odd sampleIDs in a, keyed; even ones in b, keyed but for every
  # fifth, which goes to c without a key; a record without a timestamp at the end of a
  jq -c 'select(.sampleID % 2 == 1)' "$T/sorted.ndjson" | cdn produce -q -t a --key-field sampleID
  jq -c 'select(.sampleID % 2 == 0 and .sampleID % 5 != 0)' "$T/sorted.ndjson" |
    cdn produce -q -t b --key-field sampleID
  jq -c 'select(.sampleID % 10 == 0)' "$T/sorted.ndjson" | cdn produce -q -t c
  printf '%s\n' '{"sampleID":"nt"}' | cdn produce -q -t a --key-field sampleID
  run --separate-stderr timeout 60 "$CDN" sort --merge kafka:a kafka:b kafka:c -e -o kafka:merged --rejects kafka:rej
  assert_failure 1
  [[ $stderr =~ ": 5001 in, 5000 out, 1 rejected" ]] || fail "$stderr"
  assert_equal "$(keys_kept merged 'if .sampleID % 10 == 0 then null else (.sampleID | tostring) end')" $'5000\t5000'
  assert_equal "$(rejects_keys rej)" "nt"
  # in time order: the inputs were merged
  run "$CDN" consume -q -t merged -e
  assert_equal "$(jq -r .timestamp <<<"$output" | LC_ALL=C sort -c && echo sorted)" sorted
  # --key-field wins; a record without the field keeps its own key
  cdn sort -q --merge -k sampleID kafka:a kafka:b kafka:c -e --key-field pop -o kafka:bypop
  assert_equal "$(keys_kept bypop '.pop // .sampleID')" $'5001\t5001'
}
