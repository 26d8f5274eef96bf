#!/usr/bin/env bats
# cdn load-influx: records and predictions into InfluxDB, checked against a real influxd
# (Debian's 1.x, started on 127.0.0.1 with a temporary directory) and, for the answers a
# healthy server does not give (503, 413, 429, 401, 2.x), a stub write endpoint.

# bats file_tags=influx

load test_helper
load influx_helper
load broker_helper

bats_require_minimum_version 1.5.0

setup_file() {
  start_influxd
}

teardown_file() {
  stop_influxd
}

setup() {
  T="$BATS_TEST_TMPDIR"
  DB="db_${BATS_TEST_NUMBER}"
  # The mock coordinator holds a rejoining group for a whole session timeout: keep it short.
  GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
}

teardown() {
  stop_stub
  stop_broker
}

roundtrip() {
  /usr/bin/python3 "$REPO_ROOT/tests/cli/influx_roundtrip.py" --url "$INFLUX_URL" "$@"
}

# count DB QUERY: the first value of the first row InfluxDB answers.
count() {
  influx_query "$1" "$2" | jq '.results[0].series[0].values[0][1] // 0'
}

# stub_lines STATUS: the lines the stub received in requests it answered with STATUS.
stub_lines() {
  jq -r --argjson s "$1" 'select(.status == $s) | .lines[]' "$STUB_LOG"
}

# numbered N: N records one millisecond apart, {"timestamp":…,"n":I}.
numbered() {
  for ((i = 0; i < $1; i++)); do
    printf '{"timestamp":"2026-11-22T10:%02d:%02d.%03dZ","n":%d}\n' \
      $((i / 60000 % 60)) $((i / 1000 % 60)) $((i % 1000)) "$i"
  done
}

# --- real influxd

@test "generated records read back from InfluxDB equal the records written, types exact" {
  cdn gen -q --rows 3000 --seed 5 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db --tag pop,client_ip "$T/in.ndjson"
  assert_success
  [[ "$stderr" =~ ^"cdn load-influx: 3000 in, 3000 out, 0 rejected in "[0-9.]+" s, 3000 points written to '$INFLUX_URL/write?db=$DB&precision=ns'"$ ]]
  run roundtrip --db "$DB" --measurement cdn --tags pop,client_ip "$T/in.ndjson"
  assert_success
  assert_output "3000 points match"
}

@test "integers, floats, strings and booleans keep their types and exact values" {
  cat >"$T/in.ndjson" <<'EOF'
{"timestamp":"2026-11-22T10:00:00.000Z","i":9223372036854775807,"f":2.0,"s":"","b":true}
{"timestamp":"2026-11-22T10:00:00.001Z","i":-9223372036854775808,"f":-0.5,"s":"x","b":false}
{"timestamp":"2026-11-22T10:00:00.002Z","i":0,"f":1e300,"s":"12","b":true}
{"timestamp":"2026-11-22T10:00:00.003Z","i":-1,"f":1.5e-300,"s":"true","b":false}
{"timestamp":"2026-11-22T10:00:00.004123456Z","i":42,"f":0.1,"s":"3.5","b":true}
EOF
  run --separate-stderr cdn load-influx --db "$DB" --create-db --measurement types "$T/in.ndjson"
  assert_success
  run roundtrip --db "$DB" --measurement types "$T/in.ndjson"
  assert_success
  assert_output "5 points match"
  run influx_query "$DB" 'SHOW FIELD KEYS FROM types'
  assert_output --partial '"values":[["b","boolean"],["f","float"],["i","integer"],["s","string"]]'
}

@test "awkward tag and field values round-trip: commas, spaces, equals signs, quotes, backslashes, newlines" {
  cat >"$T/in.ndjson" <<'EOF'
{"timestamp":"2026-11-22T10:00:00Z","t":"a,b c=d","u":"quo\"te","s":"say \"hi\", a=b","k":1}
{"timestamp":"2026-11-22T10:00:01Z","t":"back\\slash","u":"caf\u00e9 \u2603","s":"ends with \\","k":2}
{"timestamp":"2026-11-22T10:00:02Z","t":" lead","u":"=x","s":"two\nlines\ttab","k":3}
{"timestamp":"2026-11-22T10:00:03Z","t":"x","u":"y","s":"back\\\\slashes \\\"","k":4,"f k,=":"odd key"}
EOF
  run --separate-stderr cdn load-influx --db "$DB" --create-db --tag t,u --measurement awk "$T/in.ndjson"
  assert_success
  run roundtrip --db "$DB" --measurement awk --tags t,u "$T/in.ndjson"
  assert_success
  assert_output "4 points match"
}

@test "a value line protocol cannot carry goes to rejects with the reason; the rest is written" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","t":"ok","k":1}' \
    '{"timestamp":"2026-11-22T10:00:01Z","t":"new\nline","k":2}' \
    '{"timestamp":"2026-11-22T10:00:02Z","t":"ends\\","k":3}' \
    '{"timestamp":"yesterday","k":4}' 'not json' >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db --tag t --rejects "$T/rej.ndjson" \
    "$T/in.ndjson"
  assert_failure 1
  [[ "$stderr" == "cdn load-influx: 5 in, 1 out, 4 rejected in "* ]]
  run jq -c '[.line, .reason]' "$T/rej.ndjson"
  # the value quoted as GNU sort quotes a name: the reason is one printable line, also for jq -r
  assert_line --index 0 --partial '[2,"the value of tag '"'t' 'new'\$'\\\\n''line'"' cannot be written in line protocol'
  assert_line --index 1 --partial '[3,"the value of tag '"'t' 'ends\\\\'"' cannot be written'
  assert_line --index 2 '[4,"the time field '"'timestamp' holds 'yesterday'"', not an RFC 3339 time"]'
  assert_line --index 3 --regexp '^\[5,"invalid JSON'
  assert_equal "$(count "$DB" 'SELECT count(k) FROM cdn')" 1
}

@test "a field type InfluxDB refuses sends exactly those records to rejects with its message" {
  numbered 1 >"$T/first.ndjson"
  cdn load-influx -q --db "$DB" --create-db "$T/first.ndjson"
  # n is an integer now: the records where it is a float are refused by InfluxDB itself.
  for i in 1 2 3 4 5 6 7 8 9 10; do
    if ((i % 3 == 0)); then v="$i.5"; else v="$i"; fi
    printf '{"timestamp":"2026-11-22T11:00:%02dZ","n":%s}\n' "$i" "$v"
  done >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --rejects "$T/rej.ndjson" "$T/in.ndjson"
  assert_failure 1
  [[ "$stderr" == "cdn load-influx: 10 in, 7 out, 3 rejected in "* ]]
  run jq -s -r 'sort_by(.line)[] | "\(.line) \(.record)"' "$T/rej.ndjson"
  assert_output "$(printf '%s\n' '3 {"timestamp":"2026-11-22T11:00:03Z","n":3.5}' \
    '6 {"timestamp":"2026-11-22T11:00:06Z","n":6.5}' '9 {"timestamp":"2026-11-22T11:00:09Z","n":9.5}')"
  run jq -r .reason "$T/rej.ndjson"
  assert_line --index 0 --partial 'InfluxDB refused the line: partial write: field type conflict'
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 8
}

@test "1,000 records sharing measurement, tags and time are all retrievable with nudge" {
  for ((i = 1; i <= 1000; i++)); do
    printf '{"timestamp":"2026-11-22T10:00:00.123Z","pop":"FRA1","sampleID":%d}\n' "$i"
  done >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db --tag pop "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *", 999 nudged later by 1 ns or more (their series already had a point at that time)" ]]
  assert_equal "$(count "$DB" 'SELECT count(sampleID) FROM cdn')" 1000
  assert_equal "$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')" 1000
  run influx_query "$DB" 'SELECT sampleID FROM cdn ORDER BY time DESC LIMIT 1'
  assert_output --partial '[[1795341600123000999,1000]]'
}

@test "--tag, --field, --time-field, --measurement-field and --id-field naming a field no record has are warned about once" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","pop":"FRA1","sampleID":1,"v":1}' \
    '{"timestamp":"2026-11-22T10:00:01Z","pop":"CDG1","sampleID":2,"v":2,"kind":"x"}' >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --dry-run --tag pop,nosuchfield --field v,vv "$T/in.ndjson"
  assert_success
  assert_equal "$stderr" "cdn load-influx: warning: none of the first 2 records read has the fields 'nosuchfield' named by --tag, or 'vv' named by --field (did you mean 'v'?); their fields: timestamp, pop, sampleID, v, kind
$(tail -n 1 <<<"$stderr")"
  assert_line --index 0 'cdn,pop=FRA1 v=1i 1795341600000000000'
  # every other option that takes a field: records without their time or measurement are
  # rejected, and the warning says why
  run --separate-stderr cdn load-influx --dry-run --time-field tmestamp --measurement-field knd \
    --id-field sampleId --rejects "$T/rejects.ndjson" "$T/in.ndjson"
  assert_failure 1
  assert_equal "$(grep -c warning <<<"$stderr")" 1
  assert_equal "$(head -n 1 <<<"$stderr")" "cdn load-influx: warning: none of the first 2 records read has the fields 'knd' named by --measurement-field (did you mean 'kind'?), or 'tmestamp' named by --time-field (did you mean 'timestamp'?), or 'sampleId' named by --id-field (did you mean 'sampleID'?); their fields: timestamp, pop, sampleID, v, kind"
  # a field some records have (kind), the defaults left as they are, are no mistake
  run --separate-stderr cdn load-influx --dry-run --tag kind "$T/in.ndjson"
  assert_success
  [[ $stderr != *warning* ]] || fail "$stderr"
  printf '%s\n' '{"v":1}' >"$T/bare.ndjson"
  run --separate-stderr cdn load-influx --dry-run --time-field '' "$T/bare.ndjson"
  assert_success
  [[ $stderr != *warning* ]] || fail "$stderr"
}

@test "--dry-run writes line protocol to -o, gzipped for .gz, and refuses a CSV or JSON name it would not honour" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","pop":"FRA1","v":1}' >"$T/one.ndjson"
  run --separate-stderr cdn -q load-influx --dry-run --tag pop "$T/one.ndjson" -o "$T/points.lp"
  assert_success
  assert_equal "$(cat "$T/points.lp")" "cdn,pop=FRA1 v=1i 1795341600000000000"
  run --separate-stderr cdn -q load-influx --dry-run --tag pop "$T/one.ndjson" -o "$T/points.lp.gz"
  assert_success
  assert_equal "$(gzip -dc "$T/points.lp.gz")" "cdn,pop=FRA1 v=1i 1795341600000000000"
  for name in points.csv points.csv.gz points.ndjson points.jsonl.gz points.json; do
    run --separate-stderr cdn load-influx --dry-run "$T/one.ndjson" -o "$T/$name"
    assert_failure 2
    local kind=JSON
    [[ $name != *.csv* ]] || kind=CSV
    assert_equal "$stderr" "cdn load-influx: --dry-run writes InfluxDB line protocol: -o '$T/$name' names a $kind file; name it .lp (or .lp.gz), or '-'"
    [[ ! -e $T/$name ]]
  done
}

@test "points nudged a thousand units past their time warn once: the precision is too coarse" {
  # Two points a millisecond in one series, for three seconds.
  for ((i = 0; i < 6000; i++)); do
    printf '{"timestamp":"2026-11-22T10:00:%02d.%03dZ","sampleID":%d}\n' $((i / 2000)) $((i / 2 % 1000)) "$i"
  done >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --dry-run --precision ms "$T/in.ndjson"
  assert_success
  assert_equal "$(grep -c 'finer --precision' <<<"$stderr")" 1
  [[ "$stderr" == *"a point was nudged 1000 ms past its time: one series gets more points than --precision ms can tell apart"* ]]
  # Every point is still there, each at its own time.
  assert_equal "$(awk '{print $NF}' <<<"$output" | sort -u | wc -l)" 6000
  # At a finer precision each twin moves by one unit, and nothing drifts.
  run --separate-stderr cdn load-influx --dry-run --precision us "$T/in.ndjson"
  assert_success
  [[ "$stderr" != *"finer --precision"* && "$stderr" == *", 3000 nudged later by 1 us or more"* ]]
}

@test "--on-duplicate keep-last and warn write every point, count the overwrites, and warn" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","pop":"A","v":1}' \
    '{"timestamp":"2026-11-22T10:00:00Z","pop":"B","v":2}' \
    '{"timestamp":"2026-11-22T10:00:00Z","pop":"A","v":3}' >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db --tag pop --on-duplicate keep-last \
    "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *", 1 shared measurement, tags and time with an earlier point, which InfluxDB replaced" ]]
  assert_equal "$(count "$DB" 'SELECT count(v) FROM cdn')" 2
  assert_equal "$(count "$DB" "SELECT v FROM cdn WHERE pop = 'A'")" 3
  run --separate-stderr cdn load-influx --db "$DB" --tag pop --on-duplicate warn "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *"cdn load-influx: warning: "*":3: a point with the same measurement, tags and time was written before; InfluxDB keeps only this one (--on-duplicate nudge keeps both)"* ]]
}

@test "prediction records go to their own measurement with model as a tag" {
  printf '%s\n' '{"sampleID":1,"timestamp":"2026-11-22T10:00:00.001Z","prediction":0.75,"label":1,"model":"m-7"}' \
    '{"sampleID":2,"timestamp":"2026-11-22T10:00:00.002Z","prediction":0.125,"label":0,"model":"m-7"}' \
    '{"timestamp":"2026-11-22T10:00:00.003Z","pop":"FRA1","bytes_sent":12}' >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *", 2 predictions" ]]
  run influx_query "$DB" 'SELECT * FROM prediction GROUP BY model'
  assert_output --partial '"tags":{"model":"m-7"},"columns":["time","label","prediction","sampleID"],"values":[[1795341600001000000,1,0.75,1],[1795341600002000000,0,0.125,2]]'
  run influx_query "$DB" 'SHOW FIELD KEYS FROM prediction'
  assert_output --partial '[["label","integer"],["prediction","float"]'
  assert_equal "$(count "$DB" 'SELECT count(bytes_sent) FROM cdn')" 1
}

@test "a database that does not exist is a runtime failure that suggests --create-db" {
  numbered 3 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db nosuchdb "$T/in.ndjson"
  assert_failure 3
  assert_equal "$stderr" "cdn load-influx: 3 in, 0 written, 0 rejected, 3 not written
cdn load-influx: cannot write to '$INFLUX_URL/write?db=nosuchdb&precision=ns': HTTP 404: database not found: \"nosuchdb\"; check --db and --url, or create the database with --create-db; 3 records not written"
}

# edges PRECISION: records at the ends of InfluxDB's time range at PRECISION, as RFC 3339 times
# (tag k=t) and as numbers (k=n): "v" is even inside the range and odd outside (v 9 is year 9999).
edges() {
  local max min
  case $1 in
    ns) printf '%s\n' '{"timestamp":"2262-04-11T23:47:16.854775806Z","v":0}' \
      '{"timestamp":"2262-04-11T23:47:16.854775807Z","v":1}' \
      '{"timestamp":"1677-09-21T00:12:43.145224194Z","v":2}' \
      '{"timestamp":"1677-09-21T00:12:43.145224193Z","v":3}'
      max=9223372036854775806 min=-9223372036854775806 ;;
    us) printf '%s\n' '{"timestamp":"2262-04-11T23:47:16.854775Z","v":0}' \
      '{"timestamp":"2262-04-11T23:47:16.854776Z","v":1}' \
      '{"timestamp":"1677-09-21T00:12:43.145225Z","v":2}' \
      '{"timestamp":"1677-09-21T00:12:43.145224Z","v":3}'
      max=9223372036854775 min=-9223372036854775 ;;
    ms) printf '%s\n' '{"timestamp":"2262-04-11T23:47:16.854Z","v":0}' \
      '{"timestamp":"2262-04-11T23:47:16.855Z","v":1}' \
      '{"timestamp":"1677-09-21T00:12:43.146Z","v":2}' \
      '{"timestamp":"1677-09-21T00:12:43.145Z","v":3}'
      max=9223372036854 min=-9223372036854 ;;
    s) printf '%s\n' '{"timestamp":"2262-04-11T23:47:16Z","v":0}' \
      '{"timestamp":"2262-04-11T23:47:17Z","v":1}' \
      '{"timestamp":"1677-09-21T00:12:44Z","v":2}' \
      '{"timestamp":"1677-09-21T00:12:43Z","v":3}'
      max=9223372036 min=-9223372036 ;;
  esac
  printf '{"timestamp":%s,"v":4,"k":"n"}\n{"timestamp":%s,"v":5,"k":"n"}\n' "$max" "$((max + 1))"
  printf '{"timestamp":%s,"v":6,"k":"n"}\n{"timestamp":%s,"v":7,"k":"n"}\n' "$min" "$((min - 1))"
  printf '{"timestamp":"9999-12-31T23:59:59Z","v":9}\n'
}

@test "times at the ends of InfluxDB's range: inside are written, outside rejected with one reason, in a real write and --dry-run alike" {
  for p in ns us ms s; do
    edges "$p" >"$T/$p.ndjson"
    run --separate-stderr cdn load-influx --dry-run --precision "$p" --tag k \
      --rejects "$T/dry-$p.rej" "$T/$p.ndjson"
    assert_failure 1
    assert_equal "$(cut -d' ' -f2 <<<"$output" | tr '\n' ' ')" "v=0i v=2i v=4i v=6i "
    run --separate-stderr cdn load-influx --db "$DB" --create-db --precision "$p" --tag k \
      --measurement "m_$p" --rejects "$T/real-$p.rej" "$T/$p.ndjson"
    assert_failure 1
    [[ "$stderr" == *"9 in, 4 out, 5 rejected"* ]] || fail "$p: $stderr"
    # The same records rejected, for the same reasons, whichever way they were to go.
    assert_equal "$(jq -c '[.line, .reason]' "$T/real-$p.rej")" "$(jq -c '[.line, .reason]' "$T/dry-$p.rej")"
    assert_equal "$(jq -r .line "$T/dry-$p.rej" | tr '\n' ' ')" "2 4 6 8 9 "
    run jq -r .reason "$T/dry-$p.rej"
    assert_line --index 0 "the time '$(jq -r 'select(.v == 1) | .timestamp' "$T/$p.ndjson")' is outside the times InfluxDB stores, 1677-09-21T00:12:43.145224194Z to 2262-04-11T23:47:16.854775806Z (-9223372036854775806 to 9223372036854775806 ns)"
    assert_line --index 4 --partial "the time '9999-12-31T23:59:59Z' is outside the times InfluxDB stores"
    [[ "$(sed -n 3p <<<"$output")" == "the time "*" $p (field 'timestamp') is outside the times InfluxDB stores"* ]] || fail "$p: $output"
    assert_equal "$(count "$DB" "SELECT count(v) FROM m_$p")" 4
  done
}

@test "a point nudged past the end of InfluxDB's range is rejected, in a real write and --dry-run alike" {
  printf '%s\n' '{"timestamp":9223372036854775806,"v":0}' '{"timestamp":9223372036854775806,"v":1}' \
    '{"timestamp":9223372036854775806,"v":2}' >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --dry-run --rejects "$T/dry.rej" "$T/in.ndjson"
  assert_failure 1
  assert_output 'cdn v=0i 9223372036854775806'
  run --separate-stderr cdn load-influx --db "$DB" --create-db --rejects "$T/real.rej" "$T/in.ndjson"
  assert_failure 1
  [[ "$stderr" == *"3 in, 1 out, 2 rejected"* ]] || fail "$stderr"
  assert_equal "$(jq -c '[.line, .reason]' "$T/real.rej")" "$(jq -c '[.line, .reason]' "$T/dry.rej")"
  run jq -r .reason "$T/dry.rej"
  assert_line --index 0 "nudged past the points of its series at the same time, the time 9223372036854775807 ns is outside the times InfluxDB stores, 1677-09-21T00:12:43.145224194Z to 2262-04-11T23:47:16.854775806Z (-9223372036854775806 to 9223372036854775806 ns)"
  assert_equal "$(count "$DB" 'SELECT count(v) FROM cdn')" 1
}

@test "an input that fails mid-way: what was read before it is written and counted, then exit 3" {
  numbered 3 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db "$T/in.ndjson" "$T/missing.ndjson"
  assert_failure 3
  assert_equal "$stderr" "cdn load-influx: 3 in, 3 written, 0 rejected, then an input failed
cdn load-influx: cannot open '$T/missing.ndjson': No such file or directory"
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 3
}

# bats test_tags=kafka
@test "a write that fails while its Kafka rejects sink does not answer prints one summary" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","v":1}' 'not json' >"$T/in.ndjson"
  run --separate-stderr timeout 120 "$CDN" load-influx --db nosuchdb --rejects kafka:r \
    -b 127.0.0.1:1 --timeout 2000 "$T/in.ndjson"
  assert_failure 3
  assert_equal "$(grep -c '^cdn load-influx: [0-9]* in, ' <<<"$stderr")" 1
  [[ "$stderr" == *"cdn load-influx: 2 in, 0 written, 1 rejected, 1 not written"* ]] || fail "$stderr"
}

# --- without a server

@test "--dry-run -o FILE whose input fails (a missing file, a truncated .gz) leaves no file, and an existing one as it was" {
  numbered 3 >"$T/in.ndjson"
  numbered 2000 | gzip >"$T/full.ndjson.gz"
  head -c 2000 "$T/full.ndjson.gz" >"$T/cut.ndjson.gz"
  for bad in "$T/missing.ndjson" "$T/cut.ndjson.gz"; do
    rm -f "$T/out.lp"
    run --separate-stderr cdn load-influx --dry-run -o "$T/out.lp" "$T/in.ndjson" "$bad"
    assert_failure 3
    assert_equal "$(wc -l <<<"$stderr")" 1
    [[ "$stderr" == "cdn load-influx: "*"'$bad'"* ]] || fail "$stderr"
    [ ! -e "$T/out.lp" ] || fail "$bad: a failed run left '$T/out.lp'"
    echo before >"$T/out.lp"
    run --separate-stderr cdn load-influx --dry-run -o "$T/out.lp" "$T/in.ndjson" "$bad"
    assert_failure 3
    assert_equal "$(cat "$T/out.lp")" before
  done
}

@test "--dry-run to a full disk (/dev/full) says so once, exit 3" {
  # Enough lines to fill the output buffer: the write fails while records are still read.
  cdn gen -q -n 8000 --seed 1 >"$T/in.ndjson"
  for o in /dev/full -; do
    run --separate-stderr bash -c "'$CDN' load-influx -q --dry-run -o $o '$T/in.ndjson' >/dev/full"
    assert_failure 3
    assert_equal "$(wc -l <<<"$stderr")" 1
  done
  run --separate-stderr cdn load-influx --dry-run -o /dev/full "$T/in.ndjson"
  assert_failure 3
  assert_equal "$stderr" "cdn load-influx: cannot write '/dev/full': No space left on device; free space on its file system or write to another one"
}

# bats test_tags=kafka
@test "--dry-run -o kafka:TOPIC whose brokers do not answer fails within --timeout, and counts nothing out" {
  numbered 3 >"$T/in.ndjson"
  dead_output_run load-influx --dry-run -o kafka:t "$T/in.ndjson"
  [[ "$stderr" =~ "cdn load-influx: 3 in, 0 out, 0 rejected, 3 not delivered in " ]] || fail "$stderr"
}

@test "--dry-run writes the line protocol to the output" {
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00.5Z","pop":"FRA1","n":1,"x":1.5,"s":"a b","ok":true}' \
    >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --dry-run --tag pop --precision ms --measurement 'my m' \
    <"$T/in.ndjson"
  assert_success
  assert_output 'my\ m,pop=FRA1 n=1i,x=1.5,s="a b",ok=true 1795341600500'
}

@test "a leap second is written as 23:59:59.999999999 UTC; one at another minute is rejected" {
  {
    echo '{"timestamp":"1998-12-31T23:59:60Z","pop":"A","i":1}'
    echo '{"timestamp":"1998-12-31T15:59:60.5-08:00","pop":"B","i":2}'
    echo '{"timestamp":"1998-12-31T23:59:60+01:00","pop":"C","i":3}'
    echo '{"timestamp":"2026-11-22 10:00:00Z","pop":"D","i":4}'
  } > "$T/leap.ndjson"
  run --separate-stderr cdn load-influx -q --dry-run --tag pop --rejects "$T/rej" "$T/leap.ndjson"
  assert_failure 1
  assert_output "$(printf 'cdn,pop=A i=1i 915148799999999999\ncdn,pop=B i=2i 915148799999999999')"
  run --separate-stderr cdn load-influx -q --dry-run --tag pop --precision s "$T/leap.ndjson"
  assert_line --index 0 'cdn,pop=A i=1i 915148799'
  run jq -r '"\(.line) \(.reason)"' "$T/rej"
  assert_line --index 0 "3 the time field 'timestamp' holds '1998-12-31T23:59:60+01:00', not an RFC 3339 time"
  assert_line --index 1 "4 the time field 'timestamp' holds '2026-11-22 10:00:00Z', not an RFC 3339 time"
}

@test "-o without --dry-run, no destination, or options of the other API version are usage errors" {
  run cdn load-influx -o x.lp </dev/null
  assert_failure 2
  assert_output --partial -- "-o/--output is where --dry-run writes"
  run cdn load-influx </dev/null
  assert_failure 2
  assert_output --partial "nowhere to write: name the database with --db"
  run cdn load-influx --db x --token-file t </dev/null
  assert_failure 2
  assert_output --partial -- "--token-file and --org are for InfluxDB 2.x"
  run cdn load-influx --bucket b </dev/null
  assert_failure 2
  assert_output --partial -- "--bucket needs --org"
  run cdn load-influx --dry-run --tag 'a,,b' </dev/null
  assert_failure 2
  assert_output --partial -- "--tag holds an empty field name"
}

@test "--time-field '' stamps points with the time of loading, each its own" {
  printf '%s\n' '{"v":1}' '{"v":2}' '{"v":3}' >"$T/in.ndjson"
  before=$(date +%s%N)
  run --separate-stderr cdn load-influx --dry-run --time-field '' "$T/in.ndjson"
  after=$(date +%s%N)
  assert_success
  assert_equal "${#lines[@]}" 3
  assert_equal "$(cut -d' ' -f3 <<<"$output" | sort -u | wc -l)" 3
  for t in $(cut -d' ' -f3 <<<"$output"); do
    ((t >= before && t <= after + 1000)) || fail "time $t is not between $before and $after"
  done
}

# --- stub server

@test "a server answering 503 twice then 204 gets every point" {
  start_stub --script 503,503
  numbered 50 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --url "$STUB_URL" --db x "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *"50 in, 50 out, 0 rejected"*", 2 requests sent again" ]]
  assert_equal "$(jq -r .status "$STUB_LOG" | tr '\n' ' ')" "503 503 204 "
  assert_equal "$(stub_lines 204 | wc -l)" 50
}

@test "413 splits the batch in halves until the server takes them; each line arrives once" {
  start_stub --max-lines 100
  numbered 1000 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --url "$STUB_URL" --db x --batch-size 1000 "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *"1000 in, 1000 out, 0 rejected"* ]]
  assert_equal "$(stub_lines 204 | wc -l)" 1000
  assert_equal "$(stub_lines 204 | sort -u | wc -l)" 1000
  assert_equal "$(head -1 "$STUB_LOG" | jq -r '"\(.status) \(.lines | length)"')" "413 1000"
  assert_equal "$(jq -r 'select(.status == 204) | .lines | length | select(. > 100)' "$STUB_LOG")" ""
}

@test "a 400 partial write puts the lines the server names in rejects with its message" {
  start_stub --refuse BAD
  printf '%s\n' '{"timestamp":"2026-11-22T10:00:00Z","s":"good"}' \
    '{"timestamp":"2026-11-22T10:00:01Z","s":"BAD one"}' \
    '{"timestamp":"2026-11-22T10:00:02Z","s":"fine"}' \
    '{"timestamp":"2026-11-22T10:00:03Z","s":"BAD two"}' >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --url "$STUB_URL" --db x --rejects "$T/rej.ndjson" \
    "$T/in.ndjson"
  assert_failure 1
  [[ "$stderr" == "cdn load-influx: 4 in, 2 out, 2 rejected in "* ]]
  run jq -c '[.line, .reason, .record]' "$T/rej.ndjson"
  assert_line --index 0 '[2,"InfluxDB refused the line: invalid field format","{\"timestamp\":\"2026-11-22T10:00:01Z\",\"s\":\"BAD one\"}"]'
  assert_line --index 1 '[4,"InfluxDB refused the line: invalid field format","{\"timestamp\":\"2026-11-22T10:00:03Z\",\"s\":\"BAD two\"}"]'
  assert_equal "$(wc -l <"$STUB_LOG")" 1
}

@test "429 with Retry-After waits as long as the server asks" {
  start_stub --script 429 --retry-after 1
  numbered 5 >"$T/in.ndjson"
  start=$(date +%s%N)
  run --separate-stderr cdn load-influx --url "$STUB_URL" --db x "$T/in.ndjson"
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  assert_success
  ((elapsed_ms >= 1000)) || fail "sent again after ${elapsed_ms} ms, before the Retry-After of 1 s"
  assert_equal "$(jq -r .status "$STUB_LOG" | tr '\n' ' ')" "429 204 "
}

@test "401 fails at once with a message about the credentials" {
  start_stub --status 401
  numbered 5 >"$T/in.ndjson"
  INFLUX_PASSWORD=wrong run --separate-stderr cdn load-influx --url "$STUB_URL" --db x --user me \
    "$T/in.ndjson"
  assert_failure 3
  [[ "$stderr" == *"cdn load-influx: InfluxDB refused the credentials at '$STUB_URL/write?db=x&precision=ns' (HTTP 401: stub says 401); check --user and the password (INFLUX_PASSWORD or --password-file); 5 records not written" ]]
  assert_equal "$(wc -l <"$STUB_LOG")" 1
  assert_equal "$(jq -r .auth "$STUB_LOG")" "Basic $(printf 'me:wrong' | base64)"
}

@test "a server that is down is retried until --retry-timeout, then a runtime failure with the count" {
  port=$(_free_port)
  numbered 120 >"$T/in.ndjson"
  start=$(date +%s)
  run --separate-stderr cdn load-influx --url "http://127.0.0.1:$port" --db x --batch-size 50 \
    --retry-timeout 2s --check-written off "$T/in.ndjson"
  assert_failure 3
  (($(date +%s) - start >= 2))
  [[ "$stderr" == *"cdn load-influx: cannot write to 'http://127.0.0.1:$port/write?db=x&precision=ns': Couldn't connect to server (retried for 2 s; raise --retry-timeout to wait longer); 120 records not written" ]]
  [[ "$stderr" == *"120 in, 0 written, 0 rejected, 120 not written"* ]]
  # With --check-written auto the first request is the query for the newest point: it is
  # retried the same way, and nothing is written.
  start=$(date +%s)
  run --separate-stderr cdn load-influx --url "http://127.0.0.1:$port" --db x --batch-size 50 \
    --retry-timeout 2s "$T/in.ndjson"
  assert_failure 3
  (($(date +%s) - start >= 2))
  [[ "$stderr" == *"cdn load-influx: cannot find the newest point of 'cdn' at 'http://127.0.0.1:$port/query?db=x&epoch=ns': Couldn't connect to server (retried for 2 s; raise --retry-timeout to wait longer); 1 record not written" ]]
}

@test "credentials that may write but not read: --check-written auto warns once and writes, on fails" {
  start_stub --query-status 403
  twins 100 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --url "$STUB_URL" --db x "$T/in.ndjson"
  assert_success
  assert_equal "$(grep -c 'refused the credentials' <<<"$stderr")" 1
  [[ "$stderr" == *"(HTTP 403: stub says 403); check --user and the password (INFLUX_PASSWORD or --password-file); so points written before (by an earlier run or another loader) are not looked for, and a record at such a time may replace one: give credentials that may read the database, or --check-written off to skip the check"* ]]
  assert_equal "$(stub_lines 204 | wc -l)" 100
  run --separate-stderr cdn load-influx --url "$STUB_URL" --db x --check-written on "$T/in.ndjson"
  assert_failure 3
  [[ "$stderr" == *"(HTTP 403: stub says 403)"*"100 records not written" ]]
}

@test "2.x writes go to /api/v2/write with org, bucket, precision and the token" {
  start_stub
  numbered 3 >"$T/in.ndjson"
  INFLUX_TOKEN=sekret run cdn load-influx -q --url "$STUB_URL" --org acme --bucket b1 --precision ms \
    --compression gzip "$T/in.ndjson"
  assert_success
  run jq -r '"\(.path)?\(.query) \(.auth) \(.encoding) \(.lines | length)"' "$STUB_LOG"
  assert_output "/api/v2/write?org=acme&bucket=b1&precision=ms Token sekret gzip 3"
  printf 'from-file\n' >"$T/token"
  INFLUX_TOKEN=sekret run cdn load-influx -q --url "$STUB_URL" --org acme --bucket b1 \
    --token-file "$T/token" "$T/in.ndjson"
  assert_success
  assert_equal "$(tail -1 "$STUB_LOG" | jq -r .auth)" "Token from-file"
}

@test "--compression gzip zips batches; they go on kept-alive connections, --max-in-flight at a time" {
  start_stub
  numbered 2000 >"$T/in.ndjson"
  run cdn load-influx -q --url "$STUB_URL" --db x --batch-size 100 --max-in-flight 2 \
    --compression gzip "$T/in.ndjson"
  assert_success
  assert_equal "$(jq -r .encoding "$STUB_LOG" | sort -u)" gzip
  assert_equal "$(wc -l <"$STUB_LOG")" 20
  (($(jq -r .client_port "$STUB_LOG" | sort -u | wc -l) <= 2))
  run cdn load-influx -q --url "$STUB_URL" --db x "$T/in.ndjson"
  assert_success
  assert_equal "$(tail -1 "$STUB_LOG" | jq -r '"\(.encoding)|\(.lines | length)"')" "|2000"
}

@test "--flush-interval sends a batch that is not full once it is that old, while the pipe waits" {
  start_stub
  {
    numbered 3
    # the rest only once the first batch arrived (or 30 s passed): without the flush it never does
    deadline=$((SECONDS + 30))
    until [[ -s $STUB_LOG ]] || ((SECONDS > deadline)); do sleep 0.1; done
    numbered 5 | tail -2
  } | cdn load-influx -q --url "$STUB_URL" --db x --flush-interval 200ms
  assert_equal "$(jq -r '.lines | length' "$STUB_LOG" | tr '\n' ' ')" "3 2 "
}

# --- Kafka

# wait_count DB QUERY N: until the query counts at least N (at most 60 s).
wait_count() {
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    (($(count "$1" "$2") >= $3)) && return 0
    sleep 0.2
  done
  echo "$2 counts $(count "$1" "$2"), not $3" >&2
  return 1
}

# twins N: N records four to a millisecond, {"sampleID":"s-I","timestamp":…,"n":I}: every
# point shares its series and time with three others, so three of each four are nudged.
twins() {
  for ((i = 0; i < $1; i++)); do
    printf '{"sampleID":"s-%d","timestamp":"2026-11-22T10:%02d:%02d.%03dZ","n":%d}\n' "$i" \
      $((i / 240000 % 60)) $((i / 4000 % 60)) $((i / 4 % 1000)) "$i"
  done
}

@test "--check-written: a run resuming in a group of twins keeps the twins written before" {
  twins 4000 >"$T/in.ndjson"
  # The first run stops after s-2001 (of s-2000..s-2003, which share a millisecond); the
  # second resumes at s-2000, as a Kafka group resumes at its last committed offset.
  head -n 2002 "$T/in.ndjson" >"$T/first.ndjson"
  tail -n +2001 "$T/in.ndjson" >"$T/rest.ndjson"
  cdn load-influx -q --db "$DB" --create-db "$T/first.ndjson"
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 2002
  run --separate-stderr cdn load-influx --db "$DB" --check-written on "$T/rest.ndjson"
  assert_success
  [[ "$stderr" == *", 2 already in InfluxDB from an earlier run, written again at the same time"* ]]
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 4000
  assert_equal "$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')" 4000
  # The whole file again changes nothing: every record is found where it was written.
  run --separate-stderr cdn load-influx --db "$DB" --check-written on "$T/in.ndjson"
  assert_success
  [[ "$stderr" == *", 4000 already in InfluxDB from an earlier run"* ]]
  [[ "$stderr" != *"nudged"* ]]
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 4000
}

@test "--check-written off: the same resumed run overwrites the twins written before" {
  twins 400 >"$T/in.ndjson"
  head -n 202 "$T/in.ndjson" >"$T/first.ndjson"
  cdn load-influx -q --db "$DB" --create-db "$T/first.ndjson"
  # Resuming at s-201, the second of its millisecond: without the check it takes the
  # millisecond's own time, where s-200 is.
  cdn load-influx -q --db "$DB" --check-written off <(tail -n +202 "$T/in.ndjson")
  distinct=$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')
  ((distinct < 400)) || fail "expected an overwritten twin without the check, found all $distinct"
}

@test "a second load of other records at the same times keeps the first load's points (--check-written auto, a file)" {
  # Two sets of 2,000 records with the same times, four to a millisecond: the second load
  # meets the first one's points at every time, and must nudge past each, never overwrite.
  twins 2000 >"$T/a.ndjson"
  sed 's/"s-/"t-/' "$T/a.ndjson" >"$T/b.ndjson"
  cdn load-influx -q --db "$DB" --create-db "$T/a.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" "$T/b.ndjson"
  assert_success
  [[ "$stderr" != *"already in InfluxDB"* ]]
  assert_equal "$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')" 4000
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 4000
  # The first file again is found where it was written, and changes nothing.
  run --separate-stderr cdn load-influx --db "$DB" "$T/a.ndjson"
  assert_success
  [[ "$stderr" == *", 2000 already in InfluxDB from an earlier run, written again at the same time"* ]]
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 4000
  # Records after the newest point are not looked up: one query, for that newest point.
  numbered 10 | jq -c '.timestamp |= sub("2026-11-22"; "2026-11-23")' >"$T/later.ndjson"
  run --separate-stderr cdn load-influx -vv --db "$DB" "$T/later.ndjson"
  assert_success
  [[ "$stderr" == *"--check-written: the newest point of 'cdn' is at "* ]]
  [[ "$stderr" != *"--check-written: read back"* ]] || fail "records after the newest point were looked up: $stderr"
}

@test "a late record older than --nudge-memory is looked up in InfluxDB, not written over a point the loader forgot" {
  # 4,000 records in time order, then 40 late ones with other ids at the times of the first
  # 40: the nudge memory (100 points) has long forgotten those times.
  { twins 4000; twins 40 | sed 's/"s-/"late-/'; } >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db --nudge-memory 100 "$T/in.ndjson"
  assert_success
  assert_equal "$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')" 4040
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 4040
  # Without the look-up (--check-written off) the late records overwrite 40 points: the
  # memory, not luck, kept them above.
  cdn load-influx -q --db "${DB}_off" --create-db --nudge-memory 100 --check-written off \
    "$T/in.ndjson"
  assert_equal "$(count "${DB}_off" 'SELECT count(distinct(sampleID)) FROM cdn')" 4000
}

@test "--check-written and --id-field: bad combinations are usage errors" {
  run cdn load-influx --db x --check-written on --dry-run /dev/null
  assert_failure 2
  assert_output --partial "--check-written on reads InfluxDB"
  run cdn load-influx --db x --check-written on --on-duplicate warn /dev/null
  assert_failure 2
  assert_output --partial "--check-written on goes with --on-duplicate nudge"
  run cdn load-influx --db x --check-written sometimes /dev/null
  assert_failure 2
  run cdn load-influx --db x --id-field '' /dev/null
  assert_failure 2
  assert_output --partial "--id-field needs a field name"
}

@test "a loader reading Kafka in a group, killed and restarted, keeps the nudged twins of what it wrote" {
  start_broker --topic raw:4
  twins 12000 >"$T/in.ndjson"
  cdn produce -q -t raw --key-field sampleID --rate 3000 "$T/in.ndjson" &
  producer=$!
  "$CDN" load-influx -q -G loader "${GROUP_X[@]}" --db "$DB" --create-db --batch-size 500 \
    kafka:raw 2>"$T/err1" &
  pid=$!
  wait_count "$DB" 'SELECT count(n) FROM cdn' 3000
  kill -KILL "$pid"
  wait "$pid" || true
  written=$(count "$DB" 'SELECT count(n) FROM cdn')
  # most often in the middle (the producer sends for four seconds); the restart must resume
  # after what was committed whichever
  echo "# $written points written when the loader was killed"
  wait "$producer"
  run --separate-stderr timeout 120 "$CDN" load-influx -G loader "${GROUP_X[@]}" -e --db "$DB" \
    kafka:raw
  assert_success
  [[ "$stderr" =~ ^"cdn load-influx: "([0-9]+)" in, " ]]
  resumed=${BASH_REMATCH[1]}
  ((resumed < 12000)) || fail "the restarted loader read all $resumed records again"
  assert_equal "$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')" 12000
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 12000
}

@test "a group loader over a measurement another loader wrote keeps its points, though its first batches meet none" {
  start_broker --topic raw:4
  # Another loader wrote records "o-…" at the times of the second half; the group reads all
  # 4,000 "s-…": its first batches meet no point, its last ones a point at every time.
  twins 4000 >"$T/in.ndjson"
  tail -n 2000 "$T/in.ndjson" | sed 's/"s-/"o-/' >"$T/other.ndjson"
  cdn load-influx -q --db "$DB" --create-db "$T/other.ndjson"
  cdn produce -q -t raw --key-field sampleID "$T/in.ndjson"
  run --separate-stderr timeout 120 "$CDN" load-influx -G loader "${GROUP_X[@]}" -e --db "$DB" \
    --batch-size 250 kafka:raw
  assert_success
  [[ "$stderr" == "cdn load-influx: 4000 in, 4000 out, 0 rejected"* ]]
  assert_equal "$(count "$DB" 'SELECT count(distinct(sampleID)) FROM cdn')" 6000
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 6000
}

@test "SIGTERM sends what was read, waits for InfluxDB, then commits the offsets" {
  start_broker --topic raw:2
  numbered 300 | cdn produce -q -t raw
  "$CDN" load-influx -G term "${GROUP_X[@]}" --db "$DB" --create-db --flush-interval 1h \
    --stats-interval 100 --stats-file "$T/stats" kafka:raw 2>"$T/err" &
  pid=$!
  # until librdkafka's statistics say all 300 were handed to the loader (app_offset is the
  # offset after the last message it passed on), however long joining the group takes
  local i read=0
  for i in $(seq 600); do
    read=$(partitions_sum "$T/stats" raw app_offset)
    [[ ${read:-0} -ge 300 ]] && break
    sleep 0.1
  done
  assert_equal "$read" 300
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 0
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  assert_equal "$status" 143
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 300
  [[ "$(cat "$T/err")" == "cdn load-influx: 300 in, 300 out, 0 rejected in "*" (interrupted by SIGTERM)" ]]
  run --separate-stderr timeout 60 "$CDN" load-influx -G term "${GROUP_X[@]}" -e --db "$DB" kafka:raw
  assert_success
  [[ "$stderr" == "cdn load-influx: 0 in, 0 out, 0 rejected in "* ]]
}

@test "1.x writes carry db, rp and precision, and the password from --password-file" {
  start_stub
  numbered 2 >"$T/in.ndjson"
  printf 's3cret\n' >"$T/pw"
  INFLUX_PASSWORD=ignored run cdn load-influx -q --url "$STUB_URL" --db 'my db' --rp week \
    --precision us --user me --password-file "$T/pw" "$T/in.ndjson"
  assert_success
  run jq -r '"\(.path)?\(.query) \(.auth) \(.lines[0])"' "$STUB_LOG"
  assert_output "/write?db=my%20db&rp=week&precision=u Basic $(printf 'me:s3cret' | base64) cdn n=0i 1795341600000000"
}

@test "--password-file may be a pipe; one that cannot be read is a usage error saying what to do" {
  start_stub
  numbered 1 >"$T/in.ndjson"
  run cdn load-influx -q --url "$STUB_URL" --db d --user me --password-file <(printf 'pw2\r\nsecond line\n') "$T/in.ndjson"
  assert_success
  run jq -r .auth "$STUB_LOG"
  assert_output "Basic $(printf 'me:pw2' | base64)"
  run --separate-stderr cdn load-influx -q --url "$STUB_URL" --db d --user me --password-file "$T/none" "$T/in.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn load-influx: cannot read --password-file '$T/none': No such file or directory; give a readable file with the secret on its first line, or set INFLUX_PASSWORD instead"
}

@test "an empty secret file, or a token holding a control byte, is refused before anything is sent" {
  start_stub
  numbered 1 >"$T/in.ndjson"
  local f
  for f in /dev/null <(printf '\nsecret on line two\n') <(printf '  \r\n'); do
    run --separate-stderr cdn load-influx -q --url "$STUB_URL" --db d --user me --password-file "$f" "$T/in.ndjson"
    assert_failure 2
    assert_equal "$stderr" "cdn load-influx: --password-file '$f' holds no secret on its first line; write the secret there, or set INFLUX_PASSWORD instead"
  done
  run --separate-stderr cdn load-influx -q --url "$STUB_URL" --org o --bucket b --token-file /dev/null "$T/in.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn load-influx: --token-file '/dev/null' holds no secret on its first line; write the secret there, or set INFLUX_TOKEN instead"
  printf 'to\0ken\n' >"$T/token"
  run --separate-stderr cdn load-influx -q --url "$STUB_URL" --org o --bucket b --token-file "$T/token" "$T/in.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn load-influx: the InfluxDB token from --token-file '$T/token' holds a control character (a NUL, a tab, a carriage return...); give the token as InfluxDB wrote it, alone on its line"
  run --separate-stderr env INFLUX_TOKEN=$'to\eken' "$CDN" load-influx -q --url "$STUB_URL" --org o --bucket b "$T/in.ndjson"
  assert_failure 2
  assert_equal "$stderr" "cdn load-influx: the InfluxDB token from INFLUX_TOKEN holds a control character (a NUL, a tab, a carriage return...); give the token as InfluxDB wrote it, alone on its line"
  # nothing reached the server
  [[ ! -s $STUB_LOG ]] || fail "$(cat "$STUB_LOG")"
}

@test "a --password-file or --token-file larger than 1 MiB, or /dev/zero, is refused" {
  truncate -s 2M "$T/big"
  local f
  for f in "$T/big" /dev/zero; do
    run --separate-stderr cdn load-influx -q --url http://127.0.0.1:9 --db d --user me --password-file "$f" </dev/null
    assert_failure 2
    assert_equal "$stderr" "cdn load-influx: --password-file '$f' is larger than 1 MiB, the most it may be; give a readable file with the secret on its first line, or set INFLUX_PASSWORD instead"
    run --separate-stderr cdn load-influx -q --url http://127.0.0.1:9 --org o --bucket b --token-file "$f" </dev/null
    assert_failure 2
    assert_equal "$stderr" "cdn load-influx: --token-file '$f' is larger than 1 MiB, the most it may be; give a readable file with the secret on its first line, or set INFLUX_TOKEN instead"
  done
}

@test "-v says the steps: where it writes, the connection to InfluxDB, the flushes" {
  numbered 30 >"$T/in.ndjson"
  run --separate-stderr cdn -v load-influx --db "$DB" --create-db --batch-size 10 "$T/in.ndjson"
  assert_success
  [[ $stderr == *"cdn load-influx: reading '$T/in.ndjson'"* ]] || fail "$stderr"
  [[ $stderr == *"cdn load-influx: writing to InfluxDB 1.x at '"*"' in batches of up to 10 points, each sent once full or 1000 ms old"* ]] || fail "$stderr"
  [[ $stderr == *"cdn load-influx: connected to InfluxDB at '"*"': it took the first batch (10 points)"* ]] || fail "$stderr"
  [[ $stderr == *"cdn load-influx: flushed 30 points to InfluxDB in 3 write requests (0 sent again)"* ]] || fail "$stderr"
  [[ $stderr != *"took a batch of"* ]] || fail "$stderr"
  run --separate-stderr cdn -vv load-influx --db "$DB" --batch-size 10 "$T/in.ndjson"
  assert_success
  [[ $(grep -c "InfluxDB took a batch of 10 points" <<<"$stderr") == 2 ]] || fail "$stderr"
  run --separate-stderr cdn load-influx --db "$DB" "$T/in.ndjson"
  [[ $stderr != *"connected to InfluxDB"* ]] || fail "$stderr"
}

@test "-z is --compression, as in cdn produce" {
  numbered 5 >"$T/in.ndjson"
  run --separate-stderr cdn load-influx --db "$DB" --create-db -z gzip "$T/in.ndjson"
  assert_success
  assert_equal "$(count "$DB" 'SELECT count(n) FROM cdn')" 5
}
