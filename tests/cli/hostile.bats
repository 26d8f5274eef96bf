#!/usr/bin/env bats
# Hostile input, every command that reads records, one promise: bad input never crashes a
# command and is never dropped in silence. Each bad record goes to the rejects sink with a
# reason and the summary balances (in = out + rejected); a file that cannot be read is an
# error that names it; the status is 0, 1, 2 or 3, never a signal, a sanitizer report or a
# hang (each run is stopped after 30 s, which fails the case).
#
# The inputs are made here with printf, fixed bytes: empty and blank files, CRLF, a BOM, NUL
# bytes, invalid UTF-8, a last line cut short, JSON that is not an object, duplicate and
# escaped keys, 100,000 nested brackets, a 50 MB line, an object of 200,000 members, numbers
# past a double or 64 bits, hostile timestamps, broken gzip, and CSV that is ragged, has an
# open quote, only a header or a header naming a column twice. CASES says how many records
# each holds (what the summary must count as read), or that it cannot be read at all.
# tests/cli/py/hostile_check.py checks the runs of one command over every case and lists each
# broken promise.

load test_helper
load broker_helper

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3
SCHEMA="$REPO_ROOT/schemas/cdn-data.json"

# A record of the schema without its closing brace, and the same record whole.
R='{"sampleID":7,"timestamp":"2026-11-22T10:00:00.000Z","client_ip":"1.2.3.4","asn":3320,"country":"DE","pop":"FRA1","device":"mobile","content_type":"vod","http_status":200,"cache_status":"MISS","bytes_sent":2000000,"response_time_ms":900,"ttfb_ms":120,"rtt_ms":80,"throughput_kbps":3000,"bitrate_kbps":4500,"qoe_bad":0'
G="$R}"
H='sampleID,timestamp,client_ip,asn,country,pop,device,content_type,http_status,cache_status,bytes_sent,response_time_ms,ttfb_ms,rtt_ms,throughput_kbps,bitrate_kbps,qoe_bad'
C1='5,2026-11-22T10:00:00.000Z,1.2.3.4,3320,DE,FRA1,mobile,vod,200,MISS,2000000,900,120,80,3000,4500,0'
C2='6,2026-11-22T10:00:01.000Z,1.2.3.5,3320,DE,FRA1,desktop,live,200,HIT,1000,90,12,8,30000,4500,1'

# The cases: an input file and the records it holds (what a command reads from it), or
# "error": it cannot be read, and every command fails with status 3 naming it.
CASES=(
  "empty.ndjson 0"
  "blank.ndjson 0"
  "crlf.ndjson 2"
  "bom.ndjson 2"
  "nul-in-line.ndjson 2"
  "nul-line.ndjson 3"
  "utf8-string.ndjson 2"
  "utf8-key.ndjson 2"
  "overlong-utf8.ndjson 3"
  "lone-surrogate.ndjson 2"
  "truncated.ndjson 2"
  "no-newline.ndjson 2"
  "not-object.ndjson 7"
  "trailing.ndjson 3"
  "dup-keys.ndjson 2"
  "escaped-key.ndjson 2"
  "deep-array.ndjson 2"
  "deep-member.ndjson 2"
  "deep-1000.ndjson 2"
  "huge-line.ndjson 2"
  "many-members.ndjson 2"
  "numbers.ndjson 18"
  "sample-ids.ndjson 6"
  "timestamps.ndjson 19"
  "good.ndjson.gz 3"
  "gz-concatenated.ndjson.gz 2"
  "gz-empty.ndjson.gz 0"
  "gz-plain.ndjson.gz 2"
  "gz-truncated.ndjson.gz error"
  "gz-corrupt.ndjson.gz error"
  "gz-trailing-garbage.ndjson.gz error"
  "good.csv 2"
  "empty.csv 0"
  "bom-only.csv 0"
  "header-only.csv 0"
  "header-crlf.csv 0"
  "crlf.csv 2"
  "bom.csv 2"
  "ragged.csv 4"
  "open-quote.csv 2"
  "after-quote.csv 2"
  "newline-in-cell.csv 2"
  "truncated.csv 2"
  "numbers.csv 5"
  "nul.csv 2"
  "huge-cell.csv 2"
  "dup-header.csv error"
  "empty-names.csv error"
  "gz-truncated.csv.gz error"
)

# make_inputs DIR: the inputs of CASES, written into DIR (it changes directory: run it in a
# subshell).
make_inputs() {
  local d=$1 n t i
  mkdir -p "$d"
  cd "$d" || return 1
  printf '' >empty.ndjson
  printf '\n\n   \n\t\n\r\n' >blank.ndjson
  printf '%s\r\n%s\r\n' "$G" "$G" >crlf.ndjson
  printf '\xef\xbb\xbf%s\n%s\n' "$G" "$G" >bom.ndjson
  printf '%s,"note":"a\0b"}\n%s\n' "$R" "$G" >nul-in-line.ndjson
  printf '%s\n\0\0\0\0\n%s\n' "$G" "$G" >nul-line.ndjson
  printf '%s,"note":"a\xff\xfeb"}\n%s\n' "$R" "$G" >utf8-string.ndjson
  printf '%s,"n\xc3\x28te":"x"}\n%s\n' "$R" "$G" >utf8-key.ndjson
  printf '%s,"s":"\xc0\xaf"}\n%s,"s":"\xed\xa0\x80"}\n%s,"s":"\xf4\x90\x80\x80"}\n' "$R" "$R" "$R" >overlong-utf8.ndjson
  printf '%s,"s":"\\ud800"}\n%s,"s":"\\udc00x"}\n' "$R" "$R" >lone-surrogate.ndjson
  printf '%s\n%s' "$G" "${R:0:40}" >truncated.ndjson
  printf '%s\n%s' "$G" "$G" >no-newline.ndjson
  printf '[1,2,3]\n42\n"text"\nnull\ntrue\n[%s]\n%s\n' "$G" "$G" >not-object.ndjson
  printf '%s} trailing\n{}{}\n   %s   \n\r\n' "$R" "$G" >trailing.ndjson
  # The first of a member named twice counts (man cdn, RECORDS); validate checks both.
  printf '%s,"asn":"evil","timestamp":"2026-11-22T09:00:00.000Z"}\n%s\n' "$R" "$G" >dup-keys.ndjson
  printf '%s\n%s,"time\\u0073tamp":"2020-01-01T00:00:00Z"}\n' "${G/\"timestamp\"/\"time\\u0073tamp\"}" "$R" >escaped-key.ndjson
  {
    head -c 100000 /dev/zero | tr '\0' '['
    printf '\n%s\n' "$G"
  } >deep-array.ndjson
  {
    printf '%s,"deep":' "$R"
    head -c 100000 /dev/zero | tr '\0' '{' | sed 's/{/{"a":/g'
    printf '\n%s\n' "$G"
  } >deep-member.ndjson
  # as deep as the parsers take (1,024), for the code that walks a record's values
  {
    printf '%s,"deep":' "$R"
    head -c 1000 /dev/zero | tr '\0' '{' | sed 's/{/{"a":/g'
    printf '1'
    head -c 1000 /dev/zero | tr '\0' '}'
    printf '}\n%s,"deep":' "$R"
    head -c 1020 /dev/zero | tr '\0' '['
    head -c 1020 /dev/zero | tr '\0' ']'
    printf '}\n'
  } >deep-1000.ndjson
  {
    printf '%s,"pad":"' "$R"
    head -c 50000000 /dev/zero | tr '\0' 'x'
    printf '"}\n%s\n' "$G"
  } >huge-line.ndjson
  {
    printf '%s' "$R"
    seq 1 200000 | awk '{ printf ",\"k%d\":%d", $1, $1 }'
    printf '}\n%s\n' "$G"
  } >many-members.ndjson
  : >numbers.ndjson
  for n in 1e999 -0 1e-400 18446744073709551616 NaN Infinity -Infinity 1.7976931348623157e309 -1e999; do
    printf '%s\n' "${R/\"bytes_sent\":2000000/\"bytes_sent\":$n}}" "${R/\"rtt_ms\":80/\"rtt_ms\":$n}}" >>numbers.ndjson
  done
  : >sample-ids.ndjson
  for n in -0 1.5 18446744073709551615 -9223372036854775808 '""' 1e3; do
    printf '%s\n' "${G/\"sampleID\":7/\"sampleID\":$n}" >>sample-ids.ndjson
  done
  : >timestamps.ndjson
  for t in 1764000000 1764000000000 null '{"s":1}' '[]' true '"2026-13-45T99:99:99Z"' \
    '"2026-12-31T23:59:60Z"' '"2026-11-22T10:00:60Z"' '""' '"2026-02-30T00:00:00Z"' \
    '"99999-01-01T00:00:00Z"' '"2026-11-22T10:00:00.0000000000000000001Z"' \
    '"2026-11-22T10:00:00+99:99"' '"2026-11-22 10:00:00Z"' '"2026-11-22T10:00:00"' 1e999 -0; do
    printf '%s\n' "${G/\"timestamp\":\"2026-11-22T10:00:00.000Z\"/\"timestamp\":$t}" >>timestamps.ndjson
  done
  printf '%s\n' "${G/\"timestamp\":\"2026-11-22T10:00:00.000Z\",/}" >>timestamps.ndjson
  printf '%s\n%s\n%s\n' "$G" "$G" "$G" | gzip -n >good.ndjson.gz
  {
    printf '%s\n' "$G" | gzip -n
    printf '%s\n' "$G" | gzip -n
  } >gz-concatenated.ndjson.gz
  : >gz-empty.ndjson.gz
  printf '%s\n%s\n' "$G" "$G" >gz-plain.ndjson.gz
  for i in $(seq 1 200); do printf '%s\n' "$G"; done | gzip -n >full.gz
  head -c 300 full.gz >gz-truncated.ndjson.gz
  {
    head -c 20 full.gz
    printf 'garbage-garbage-garbage'
    tail -c +44 full.gz
  } >gz-corrupt.ndjson.gz
  {
    printf '%s\n' "$G" | gzip -n
    printf 'trailing garbage'
  } >gz-trailing-garbage.ndjson.gz
  rm full.gz
  printf '%s\n%s\n%s\n' "$H" "$C1" "$C2" >good.csv
  printf '' >empty.csv
  printf '\xef\xbb\xbf' >bom-only.csv
  printf '%s\n' "$H" >header-only.csv
  printf '%s\r\n\r\n' "$H" >header-crlf.csv
  printf '%s\r\n%s\r\n%s\r\n' "$H" "$C1" "$C2" >crlf.csv
  printf '\xef\xbb\xbf%s\n%s\n%s\n' "$H" "$C1" "$C2" >bom.csv
  printf '%s\n%s\n1,2,3\n%s,extra,cells\n%s\n' "$H" "$C1" "$C1" "$C2" >ragged.csv
  # the quote opened in the second row runs to the end of the file: one record
  printf '%s\n%s\n%s,"unterminated\n%s\n' "$H" "$C1" "${C2%,1}" "$C1" >open-quote.csv
  printf '%s\n%s\n%s\n' "$H" "${C1/,DE,/,\"DE\"x,}" "$C2" >after-quote.csv
  local nl=$'\n'
  printf '%s\n%s\n%s\n' "$H" "${C1/,DE,/,\"D${nl}E\",}" "$C2" >newline-in-cell.csv
  printf '%s\n%s\n%s' "$H" "$C1" "${C2:0:30}" >truncated.csv
  printf '%s\n' "$H" "${C1/,80,/,1e999,}" "${C2/,1000,/,18446744073709551616,}" "${C1/%,0/,NaN}" \
    "${C1/,200,/,2e2,}" "${C2/,200,/,200.5,}" >numbers.csv
  printf '%s\n%s\0%s\n%s\n' "$H" "${C1%%.3.4,*}" ".3.4,${C1#*.3.4,}" "$C2" >nul.csv
  {
    printf '%s\n%s,"' "$H" "${C1%%,*}"
    head -c 5000000 /dev/zero | tr '\0' 'x'
    printf '",1.2.3.4\n%s\n' "$C2"
  } >huge-cell.csv
  printf '%s,asn\n%s,1\n%s,2\n' "$H" "$C1" "$C2" >dup-header.csv
  printf ',,\n1,2,3\n' >empty-names.csv
  printf '%s\n%s\n' "$H" "$C1" | gzip -n | head -c 40 >gz-truncated.csv.gz
}

setup_file() {
  (make_inputs "$BATS_FILE_TMPDIR/in")
  # A small model for predict and eval, when this build has XGBoost (the tests that need it
  # are tagged xgboost, and fail without it).
  if "$CDN" --version | grep -q '^parts:.* xgboost'; then
    local d="$BATS_FILE_TMPDIR"
    "$CDN" gen -q --rows 500 --seed 21 -f csv -o "$d/train.csv"
    "$CDN" train -q --schema "$SCHEMA" --rounds 3 --threads 1 "$d/train.csv" -o "$d/m"
  fi
}

setup() {
  D="$BATS_FILE_TMPDIR"
  T="$BATS_TEST_TMPDIR"
}

teardown() {
  stop_broker
}

# matrix MODE CMD-ARGS...: runs `cdn --log-format json CMD-ARGS... --rejects REJ INPUT` over
# every case (INPUT at the place of the word @IN, or last; in a word, @DIR is a directory of
# the case's own and @CASE a name for it), each under `timeout 30`, and fails listing every
# broken promise (see tests/cli/py/hostile_check.py for MODE and the checks).
# ONLY, when set, is a regular expression the case names must match. Two runs go at a time
# (HOSTILE_JOBS says how many): each case has its own files, and topics.
matrix() {
  local mode=$1 c file
  shift
  PIDS=()
  for c in "${CASES[@]}"; do
    file=${c% *}
    [[ -z ${ONLY:-} || $file =~ $ONLY ]] || continue
    spawn run_one "$(case_dir "$file" "${c#* }")" "$D/in/$file" "$@"
  done
  wait_runs
  check_runs "$mode"
}

# spawn CMD...: CMD in the background once fewer than HOSTILE_JOBS (2) of those spawned run
# (counted by their PIDS: a broker the test started runs in the background too); wait_runs
# waits for them all.
spawn() {
  local p running
  while :; do
    running=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
    ((running < ${HOSTILE_JOBS:-2})) && break
    sleep 0.02
  done
  "$@" &
  PIDS+=($!)
}

wait_runs() {
  local p
  for p in "${PIDS[@]}"; do wait "$p"; done
}

# case_dir NAME WANT: a directory for the run over input NAME, which holds WANT records.
case_dir() {
  local dir="$T/runs/$1"
  mkdir -p "$dir"
  printf '%s\n' "$2" >"$dir/want"
  printf '%s\n' "$D/in/$1" >"$dir/file"
  printf '%s\n' "$dir"
}

# case_name FILE: the case's name as a Kafka topic may have it.
case_name() {
  printf '%s\n' "${1//[^A-Za-z0-9-]/-}"
}

# check_runs MODE: every run in $T/runs keeps the promise.
check_runs() {
  run "$PY" "$REPO_ROOT/tests/cli/py/hostile_check.py" "$T/runs" "$1"
  assert_success
  assert_output ''
}

# run_one DIR INPUT CMD-ARGS...: one run, its status, output, stderr and rejects into DIR.
run_one() {
  local dir=$1 input=$2 a args=() name placed=
  shift 2
  name=$(case_name "$(basename "$input")")
  for a in "$@"; do
    if [[ $a == @IN ]]; then
      args+=("$input")
      placed=1
    else
      a=${a//@DIR/$dir}
      args+=("${a//@CASE/$name}")
    fi
  done
  [[ -n $placed ]] || args+=("$input")
  local status=0
  timeout 30 "$CDN" --log-format json "${args[@]}" --rejects "$dir/rej" \
    >"$dir/out" 2>"$dir/err" </dev/null || status=$?
  printf '%s\n' "$status" >"$dir/rc"
}

@test "sort keeps the promise on every hostile input" {
  matrix records sort
}

@test "sort --check keeps the promise on every hostile input" {
  matrix check sort --check
}

@test "sort --merge keeps the promise on every hostile input" {
  matrix records sort --merge
}

@test "tag keeps the promise on every hostile input" {
  matrix records tag
}

@test "validate keeps the promise on every hostile input" {
  matrix records validate --schema "$SCHEMA"
}

# bats test_tags=influx
@test "load-influx --dry-run keeps the promise on every hostile input" {
  matrix points load-influx --dry-run
}

# bats test_tags=xgboost
@test "predict keeps the promise on every hostile input" {
  [[ -d $D/m ]] || fail "no model: this build cannot train one"
  matrix records predict -m "$D/m"
  # and every prediction has the RFC 3339 timestamp schemas/prediction.json promises
  run "$PY" - "$T"/runs/*/out <<'PY'
import calendar, json, re, sys
form = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-](\d\d):(\d\d))$")
for path in sys.argv[1:]:
    for line in open(path, "rb"):
        ts = json.loads(line)["timestamp"]
        m = form.match(ts) if isinstance(ts, str) else None
        ok = m is not None
        if ok:
            y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
            ok = 1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h <= 23 \
                and mi <= 59 and s <= 60 and (m.group(9) is None or
                                              (int(m.group(9)) <= 23 and int(m.group(10)) <= 59))
        if not ok:
            print(f"{path}: a prediction with the timestamp {ts!r}")
PY
  assert_success
  assert_output ''
}

# bats test_tags=xgboost
@test "eval keeps the promise on every hostile input" {
  [[ -d $D/m ]] || fail "no model: this build cannot train one"
  matrix other eval -m "$D/m"
}

# bats test_tags=xgboost
@test "train keeps the promise on every hostile input" {
  matrix other train --rounds 1 --threads 1 -o @DIR/bundle
}

# bats test_tags=kafka
@test "produce keeps the promise on every hostile input, and the topics hold what it counts out" {
  start_broker
  matrix other produce -t p-@CASE
  # What each topic holds, read back in one run.
  local topics=() dir out held bad=()
  for dir in "$T"/runs/*; do
    [[ $(cat "$dir/rc") -le 1 ]] || continue
    out=$(grep '"level":"summary"' "$dir/err" | jq -r .out)
    printf '%s\n' "$out" >"$dir/out.count"
    if ((out > 0)); then topics+=(-t "p-$(case_name "$(basename "$dir")")"); fi
  done
  timeout 60 "$CDN" consume -q -e -X fetch.wait.max.ms=5 --envelope "${topics[@]}" |
    sed -n 's/^{"topic":"\([^"]*\)".*/\1/p' | sort | uniq -c >"$T/held"
  for dir in "$T"/runs/*; do
    [[ -f $dir/out.count ]] || continue
    out=$(cat "$dir/out.count")
    held=$(awk -v t="p-$(case_name "$(basename "$dir")")" '$2 == t { print $1 }' "$T/held")
    [[ ${held:-0} == "$out" ]] || bad+=("$(basename "$dir"): $out out, ${held:-0} messages in the topic")
  done
  assert_equal "${bad[*]}" ''
}

# bats test_tags=kafka
@test "consume, and consume --envelope, keep the promise on every hostile payload" {
  start_broker
  local c file n env dir topic
  PIDS=()
  for c in "${CASES[@]}"; do
    file=${c% *}
    # kcat -P sends each line as a message (not an empty one); the brokers take messages of
    # at most 1 MB, and gzip is no payload: those cases are the file readers'.
    [[ $file == *.ndjson && $(stat -c %s "$D/in/$file") -lt 1000000 ]] || continue
    [[ -z ${ONLY:-} || $file =~ $ONLY ]] || continue
    n=$("$PY" -c 'import sys; print(sum(1 for l in open(sys.argv[1], "rb").read().split(b"\n") if l))' "$D/in/$file")
    topic="c-$(case_name "$file")"
    kcat -P -b "$CDN_BROKERS" -t "$topic" <"$D/in/$file"
    # (fetch.wait.max.ms=5: -e sees the end of each partition at once rather than after
    # the brokers' 500 ms wait for more)
    for env in plain envelope; do
      dir=$(case_dir "$file.$env" "$n")
      printf '%s\n' "$D/in/$file" >"$dir/file"
      if [[ $env == plain ]]; then
        spawn run_one "$dir" "kafka:$topic" consume -e -X fetch.wait.max.ms=5
      else
        spawn run_one "$dir" "kafka:$topic" consume -e -X fetch.wait.max.ms=5 --envelope
      fi
    done
  done
  wait_runs
  check_runs records
}
