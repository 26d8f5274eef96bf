#!/usr/bin/env bats
# cdn sort: order, stability, spilling, checking, merging, and the shared I/O conventions.

load test_helper

bats_require_minimum_version 1.5.0

setup() {
  T="$BATS_TEST_TMPDIR"
  # 30,000 records over 5 minutes with many equal timestamps, mixed offsets and fractions.
  python3 - "$T/in.ndjson" <<'PY'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for i in range(30000):
        s = random.randrange(300)
        frac = random.choice(["", ".5", ".25", ".123456789"])
        if random.random() < 0.2:
            ts = "2026-11-22T%02d:%02d:%02d%s+01:00" % (11, s // 60, s % 60, frac)
        else:
            ts = "2026-11-22T%02d:%02d:%02d%sZ" % (10, s // 60, s % 60, frac)
        f.write('{"timestamp":"%s","seq":%d,"pad":"%s"}\n' % (ts, i, "x" * random.randrange(60)))
PY
}

# Reference order: the instant, then input order.
reference_sort() {
  python3 -c '
import sys, json, datetime
rows = [l.rstrip("\n") for l in open(sys.argv[1])]
def key(l):
    ts = json.loads(l)["timestamp"]
    base, frac, off = ts[:19], "", ts[19:]
    if off.startswith("."):
        i = 1
        while off[i].isdigit(): i += 1
        frac, off = off[1:i], off[i:]
    off = "+00:00" if off == "Z" else off
    t = datetime.datetime.fromisoformat(base + off)
    return (t.timestamp(), int((frac + "000000000")[:9]))
rev = len(sys.argv) > 2
idx = sorted(range(len(rows)), key=lambda i: key(rows[i]), reverse=False)
if rev:
    import itertools
    groups = [list(g) for _, g in itertools.groupby(idx, key=lambda i: key(rows[i]))]
    idx = [i for g in reversed(groups) for i in g]
print("\n".join(rows[i] for i in idx))
' "$@"
}

@test "sorts by timestamp as instants, keeping input order for equal keys" {
  reference_sort "$T/in.ndjson" > "$T/want"
  run cdn sort -q "$T/in.ndjson" -o "$T/got"
  assert_success
  assert_output ""
  run cmp "$T/want" "$T/got"
  assert_success
}

@test "reverse order keeps equal keys in input order" {
  reference_sort "$T/in.ndjson" reverse > "$T/want"
  run cdn sort -q -r "$T/in.ndjson" -o "$T/got"
  assert_success
  run cmp "$T/want" "$T/got"
  assert_success
}

@test "a spilled sort is byte-identical to the in-memory sort and removes its runs" {
  mkdir "$T/tmp"
  cdn sort -q "$T/in.ndjson" > "$T/memory"
  run cdn sort -v -S 1M -T "$T/tmp" "$T/in.ndjson" -o "$T/spilled"
  assert_success
  assert_output --regexp 'runs spilled'
  run cmp "$T/memory" "$T/spilled"
  assert_success
  run ls -A "$T/tmp"
  assert_output ""
}

@test "output lines are the input lines byte for byte" {
  printf '{ "timestamp" : "2026-11-22T10:00:02Z",  "u":"\\u00e9" , "n": 1.50 }\n{"timestamp":"2026-11-22T10:00:01Z"}\n' > "$T/odd.ndjson"
  run cdn sort -q "$T/odd.ndjson"
  assert_success
  assert_line --index 0 '{"timestamp":"2026-11-22T10:00:01Z"}'
  assert_line --index 1 '{ "timestamp" : "2026-11-22T10:00:02Z",  "u":"\u00e9" , "n": 1.50 }'
}

@test "-k sorts by a nested field, numbers numerically" {
  printf '{"a":{"n":10}}\n{"a":{"n":9.5}}\n{"a":{"n":-2}}\n{"a":{"n":100}}\n' > "$T/n.ndjson"
  run cdn sort -q -k a.n "$T/n.ndjson"
  assert_success
  assert_output "$(printf '{"a":{"n":-2}}\n{"a":{"n":9.5}}\n{"a":{"n":10}}\n{"a":{"n":100}}')"
}

# Numbers in ascending order where int64, uint64 and double part ways: near 2^53, -2^63,
# 2^63 and 2^64 (-9.3e18 and 2^64 are doubles; simdjson refuses integers past 64 bits).
exact_numbers() {
  printf '%s\n' -9.3e18 -9223372036854775808 -9223372036854775807 -9007199254740993 \
    -9007199254740992 0 9007199254740992 9007199254740993 9007199254740994 \
    9223372036854775807 9223372036854775808 9223372036854775809 18446744073709551614 \
    18446744073709551615 1.8446744073709551616e19
}

@test "-k sorts integers exactly near 2^53, -2^63, 2^63 and 2^64, forward and reverse" {
  exact_numbers | awk '{ print "{\"n\":" $0 "}" }' > "$T/want"
  tac "$T/want" > "$T/in"
  run cdn sort -q -k n "$T/in"
  assert_success
  assert_output "$(cat "$T/want")"
  run cdn sort -q -k n -r - < "$T/want"
  assert_success
  assert_output "$(cat "$T/in")"
  # As numeric strings with --key-type number.
  exact_numbers | awk '{ print "{\"n\":\"" $0 "\"}" }' > "$T/want-s"
  run cdn sort -q -k n --key-type number < <(tac "$T/want-s")
  assert_success
  assert_output "$(cat "$T/want-s")"
}

@test "-c judges integers exactly near 2^53, -2^63, 2^63 and 2^64" {
  exact_numbers | awk '{ print "{\"n\":" $0 "}" }' > "$T/sorted"
  run cdn sort -q --check -k n "$T/sorted"
  assert_success
  assert_output ""
  # Each neighbouring pair swapped is out of order.
  mapfile -t nums < <(exact_numbers)
  for ((i = 0; i + 1 < ${#nums[@]}; i++)); do
    printf '{"n":%s}\n{"n":%s}\n' "${nums[i + 1]}" "${nums[i]}" > "$T/pair"
    run cdn sort --check -k n "$T/pair"
    assert_failure 1
    assert_output --partial "disorder"
    assert_output --partial ":2:"
  done
}

@test "strings compare bytewise and --key-type number reads numeric strings" {
  printf '{"k":"b"}\n{"k":"B"}\n{"k":"a"}\n' > "$T/s.ndjson"
  run cdn sort -q -k k "$T/s.ndjson"
  assert_success
  assert_output "$(printf '{"k":"B"}\n{"k":"a"}\n{"k":"b"}')"
  printf '{"k":"10"}\n{"k":"9"}\n' > "$T/ns.ndjson"
  run cdn sort -q -k k --key-type number "$T/ns.ndjson"
  assert_success
  assert_output "$(printf '{"k":"9"}\n{"k":"10"}')"
}

@test "records without the key or with a bad timestamp go to rejects with a reason" {
  printf '{"timestamp":"2026-11-22T10:00:02Z"}\n{"x":1}\n{"timestamp":"2026-02-30T00:00:00Z"}\nnot json\n{"timestamp":"2026-11-22T10:00:01Z"}\n' > "$T/bad.ndjson"
  run cdn sort "$T/bad.ndjson" --rejects "$T/rejects.ndjson" -o "$T/out"
  assert_failure 1
  assert_output --partial "5 in, 2 out, 3 rejected"
  run jq -r '[.line, .reason] | @tsv' "$T/rejects.ndjson"
  assert_line --index 0 --partial "2	no key 'timestamp'"
  assert_line --index 1 --partial "3	key 'timestamp' is not an RFC 3339 timestamp"
  assert_line --index 2 --partial "4	invalid JSON"
  run jq -r '.record' "$T/rejects.ndjson"
  assert_line --index 2 "not json"
}

@test "a leap second sorts as the last nanosecond of 23:59:59 UTC; one at another minute is rejected" {
  {
    echo '{"timestamp":"1999-01-01T00:00:00Z","i":1}'
    echo '{"timestamp":"1998-12-31T23:59:60.5Z","i":2}'
    echo '{"timestamp":"1998-12-31T23:59:59.999999998Z","i":3}'
    echo '{"timestamp":"1998-12-31T15:59:60-08:00","i":4}'
    echo '{"timestamp":"1998-12-31T23:59:60+01:00","i":5}'
    echo '{"timestamp":"1998-12-31T23:59:59.9999999999Z","i":6}'
  } > "$T/leap.ndjson"
  run cdn sort -q --rejects "$T/rej" "$T/leap.ndjson"
  assert_failure 1
  # 23:59:59.9999999999 is truncated to the same nanosecond: equal keys, input order.
  run jq -c .i <<< "$output"
  assert_output "$(printf '3\n2\n4\n6\n1')"
  run jq -r '"\(.line) \(.reason)"' "$T/rej"
  assert_output "5 key 'timestamp' is not an RFC 3339 timestamp: \"1998-12-31T23:59:60+01:00\""
}

@test "--missing first and last place keyless records instead of rejecting them" {
  printf '{"timestamp":"2026-11-22T10:00:02Z"}\n{"x":1}\n{"timestamp":"2026-11-22T10:00:01Z"}\n' > "$T/m.ndjson"
  run cdn sort -q --missing first "$T/m.ndjson"
  assert_success
  assert_line --index 0 '{"x":1}'
  run cdn sort -q --missing last "$T/m.ndjson"
  assert_success
  assert_line --index 2 '{"x":1}'
}

@test "-c reports the first record out of order and exits 1" {
  printf '{"timestamp":"2026-11-22T10:00:01Z"}\n{"timestamp":"2026-11-22T10:00:03Z"}\n{"timestamp":"2026-11-22T10:00:02Z"}\n' > "$T/c.ndjson"
  run cdn sort --check "$T/c.ndjson"
  assert_failure 1
  assert_output --partial "disorder"
  assert_output --partial ":3:"
  cdn sort -q "$T/c.ndjson" > "$T/sorted.ndjson"
  run cdn sort -q --check "$T/sorted.ndjson"
  assert_success
  assert_output ""
}

@test "-m merges sorted inputs, ties going to the earlier input" {
  printf '{"timestamp":"2026-11-22T10:00:01Z","f":1}\n{"timestamp":"2026-11-22T10:00:03Z","f":1}\n' > "$T/a.ndjson"
  printf '{"timestamp":"2026-11-22T10:00:01Z","f":2}\n{"timestamp":"2026-11-22T10:00:02Z","f":2}\n' > "$T/b.ndjson"
  run cdn sort -q --merge "$T/a.ndjson" "$T/b.ndjson"
  assert_success
  assert_output "$(printf '%s\n' '{"timestamp":"2026-11-22T10:00:01Z","f":1}' '{"timestamp":"2026-11-22T10:00:01Z","f":2}' '{"timestamp":"2026-11-22T10:00:02Z","f":2}' '{"timestamp":"2026-11-22T10:00:03Z","f":1}')"
}

@test "several inputs sort together, gzip and CSV included" {
  head -n 100 "$T/in.ndjson" > "$T/p1.ndjson"
  sed -n '101,200p' "$T/in.ndjson" | gzip > "$T/p2.ndjson.gz"
  printf 'timestamp,seq\n2026-11-22T09:00:00Z,7\n' > "$T/p3.csv"
  run cdn sort -q "$T/p1.ndjson" "$T/p2.ndjson.gz" "$T/p3.csv"
  assert_success
  assert_line --index 0 '{"timestamp":"2026-11-22T09:00:00Z","seq":7}'
  [ "${#lines[@]}" -eq 201 ]
}

@test "stdin is the default input and '-' names it" {
  run bash -c "head -n 50 '$T/in.ndjson' | '$CDN' sort -q"
  assert_success
  [ "${#lines[@]}" -eq 50 ]
  run bash -c "head -n 50 '$T/in.ndjson' | '$CDN' sort -q -"
  assert_success
  [ "${#lines[@]}" -eq 50 ]
}

@test "--input-format csv reads CSV from stdin and --schema types it" {
  printf '{"properties":{"seq":{"type":"string"}}}' > "$T/schema.json"
  run bash -c "printf 'timestamp,seq\n2026-11-22T10:00:00Z,1\n' | '$CDN' sort -q --input-format csv --schema '$T/schema.json'"
  assert_success
  assert_output '{"timestamp":"2026-11-22T10:00:00Z","seq":"1"}'
}

@test "--schema may be a pipe; a schema that cannot be read is a usage error saying so" {
  run bash -c "printf 'timestamp,seq\n2026-11-22T10:00:00Z,1\n' | '$CDN' sort -q --input-format csv --schema <(printf '{\"properties\":{\"seq\":{\"type\":\"string\"}}}')"
  assert_success
  assert_output '{"timestamp":"2026-11-22T10:00:00Z","seq":"1"}'
  run --separate-stderr cdn sort -q --input-format csv --schema "$T/none.json" /dev/null
  assert_failure 2
  assert_equal "$stderr" "cdn sort: cannot read the schema '$T/none.json': No such file or directory; pass a JSON Schema file with --schema"
  printf '{"properties":' >"$T/bad.json"
  run --separate-stderr cdn sort -q --input-format csv --schema "$T/bad.json" /dev/null
  assert_failure 2
  [[ "$stderr" == "cdn sort: cannot read the schema '$T/bad.json': "*"; pass a JSON Schema file with --schema" ]]
}

@test "piping into head -1 prints one line, exits 0 and says nothing" {
  run bash -c "'$CDN' sort '$T/in.ndjson' 2>'$T/err' | head -1; echo \"status=\${PIPESTATUS[0]}\""
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  assert_line --index 1 "status=0"
  run cat "$T/err"
  assert_output ""
}

@test "SIGTERM during a spill stops, leaves no temporary files and no output file" {
  mkdir "$T/tmp"
  yes '{"timestamp":"2026-11-22T10:00:00Z","payload":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}' |
    "$CDN" sort -q -S 1M -T "$T/tmp" -o "$T/out.ndjson" &
  pid=$!
  for _ in $(seq 100); do
    [ -n "$(ls -A "$T/tmp")" ] && break
    sleep 0.1
  done
  run ls -A "$T/tmp"
  refute_output ""
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  assert_equal "$rc" 143
  run ls -A "$T/tmp"
  assert_output ""
  run ls -A "$T"
  refute_output --partial "out.ndjson"
}

@test "a failed run leaves no file under the output name" {
  run cdn sort -o "$T/out.ndjson" "$T/in.ndjson" "$T/missing.ndjson"
  assert_failure 3
  assert_output --partial "cannot open '$T/missing.ndjson': No such file or directory"
  run ls -A "$T"
  refute_output --partial "out.ndjson"
}

@test "the summary line counts records in, out and rejected; -q silences it" {
  run cdn sort "$T/in.ndjson" -o "$T/out"
  assert_success
  assert_output --regexp '^cdn sort: 30000 in, 30000 out, 0 rejected in [0-9.]+ s$'
  run cdn sort -q "$T/in.ndjson" -o "$T/out"
  assert_success
  assert_output ""
}

@test "bad option values are usage errors" {
  run cdn sort -S lots "$T/in.ndjson"
  assert_failure 2
  assert_output --partial "bad size 'lots' for -S/--buffer-size"
  run cdn sort --missing sometimes "$T/in.ndjson"
  assert_failure 2
  run cdn sort -k 'a..b' "$T/in.ndjson"
  assert_failure 2
  assert_output --partial "empty field name"
}

@test "--log-format json writes diagnostics as JSON lines" {
  run cdn --log-format json sort "$T/in.ndjson" -o "$T/out"
  assert_success
  echo "$output" | jq -e '.level == "summary" and .command == "sort" and .in == 30000 and .out == 30000
    and .rejected == 0 and (.seconds | type) == "number" and (.msg | startswith("30000 in, 30000 out"))
    and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$"))'
  run cdn --log-format json sort --key '' "$T/in.ndjson"
  assert_failure 2
  echo "$output" | jq -e '.level == "error" and .command == "sort"'
  # errors of the command line itself too
  run cdn --log-format json sort --bogus "$T/in.ndjson"
  assert_failure 2
  echo "$output" | jq -e '.level == "error" and .command == "sort" and (.msg | startswith("unknown option '"'"'--bogus'"'"'"))'
}

@test "a file (memory-mapped) and the same bytes on stdin (streamed) sort the same" {
  # A BOM, CRLF line ends, blank lines and a last line without a newline.
  printf '\xef\xbb\xbf{"timestamp":"2026-11-22T10:00:03Z","i":1}\r\n\r\n{"timestamp":"2026-11-22T10:00:01Z","i":2}\r\n   \n{"timestamp":"2026-11-22T10:00:02Z","i":3}' > "$T/edges.ndjson"
  run cdn -q sort "$T/edges.ndjson"
  assert_success
  assert_output "$(printf '%s\n' '{"timestamp":"2026-11-22T10:00:01Z","i":2}' '{"timestamp":"2026-11-22T10:00:02Z","i":3}' '{"timestamp":"2026-11-22T10:00:03Z","i":1}')"
  mapped="$output"
  run bash -c "'$CDN' -q sort < '$T/edges.ndjson'"
  assert_success
  assert_output "$mapped"
  cdn -q sort "$T/in.ndjson" > "$T/mapped"
  cdn -q sort < "$T/in.ndjson" > "$T/streamed"
  run cmp "$T/mapped" "$T/streamed"
  assert_success
}

@test "a memory-mapped input that outgrows -S spills and still sorts stably" {
  mkdir "$T/tmp"
  # 26,000 short records (under half of -S, so the file is mapped) that do not fit in
  # -S 1M with their sort entries; keys repeat so stability shows.
  python3 -c '
import random
random.seed(3)
for i in range(26000): print("{\"t\":%d,\"i\":%d}" % (random.randrange(500), i))' > "$T/short.ndjson"
  [ "$(stat -c %s "$T/short.ndjson")" -lt 524288 ]
  run cdn -v sort -k t -S 1M -T "$T/tmp" "$T/short.ndjson" -o "$T/got"
  assert_success
  assert_output --regexp '26000 in, 26000 out, 0 rejected .* runs spilled'
  python3 -c '
import json, sys
rows = [l.rstrip("\n") for l in open(sys.argv[1])]
rows.sort(key=lambda l: json.loads(l)["t"])
print("\n".join(rows))' "$T/short.ndjson" > "$T/want"
  run cmp "$T/want" "$T/got"
  assert_success
  run ls -A "$T/tmp"
  assert_output ""
}

@test "a line holding two documents, or a record split over two lines, is rejected line by line" {
  {
    echo '{"timestamp":"2026-11-22T10:00:03Z","i":1}'
    echo '{"timestamp":"2026-11-22T10:00:04Z","i":2} {"timestamp":"2026-11-22T10:00:00Z","i":3}'
    echo '{"timestamp":'
    echo '"2026-11-22T10:00:05Z","i":4}'
    echo '{"timestamp":"2026-11-22T10:00:01Z","i":5}'
  } > "$T/tricky.ndjson"
  for input in "$T/tricky.ndjson" -; do
    run --separate-stderr bash -c "'$CDN' sort --rejects '$T/rej.ndjson' $input < '$T/tricky.ndjson'"
    assert_failure 1
    assert_equal "$(jq -c .i <<<"$output" | tr '\n' ' ')" "5 1 "
    assert_equal "$(jq -r .line "$T/rej.ndjson" | tr '\n' ' ')" "2 3 4 "
    run jq -r .reason "$T/rej.ndjson"
    assert_line --index 0 --partial "invalid JSON"
  done
}

@test "a line is read only as far as its key unless --strict-json checks all of it" {
  {
    echo '{"timestamp":"2026-11-22T10:00:02Z","x":tru}'
    echo '{"timestamp":"2026-11-22T10:00:01Z","x":1}'
    echo '{"timestamp":"2026-11-22T10:00:03Z"} {"timestamp":"2026-11-22T10:00:00Z"}'
    printf '{"timestamp":"2026-11-22T10:00:04Z","x":"\xff"}\n'
  } > "$T/loose.ndjson"
  for input in "$T/loose.ndjson" -; do
    run --separate-stderr bash -c "'$CDN' sort --rejects '$T/rej.ndjson' $input < '$T/loose.ndjson'"
    assert_failure 1
    assert_equal "${#lines[@]}" 2
    assert_line --index 0 '{"timestamp":"2026-11-22T10:00:01Z","x":1}'
    assert_line --index 1 '{"timestamp":"2026-11-22T10:00:02Z","x":tru}'
    assert_equal "$(jq -r .line "$T/rej.ndjson" | tr '\n' ' ')" "3 4 "
    run jq -r .reason "$T/rej.ndjson"
    assert_line --index 0 --partial "invalid JSON"
    assert_line --index 1 --partial "UTF-8"

    run --separate-stderr bash -c "'$CDN' sort --strict-json --rejects '$T/rej.ndjson' $input < '$T/loose.ndjson'"
    assert_failure 1
    assert_output '{"timestamp":"2026-11-22T10:00:01Z","x":1}'
    assert_equal "$(jq -r .line "$T/rej.ndjson" | tr '\n' ' ')" "1 3 4 "
  done
}

@test "a --schema larger than 64 MiB, or /dev/zero, is refused" {
  truncate -s 65M "$T/big.json"
  local schema
  for schema in "$T/big.json" /dev/zero; do
    run --separate-stderr cdn sort --schema "$schema" </dev/null
    assert_failure 2
    assert_equal "$stderr" "cdn sort: the schema '$schema' is larger than 64 MiB, the most it may be; pass a JSON Schema file with --schema"
  done
}

# NDJSON lines of one distinct string key each, shuffled with a fixed seed: byte order of the
# lines is key order, so GNU sort gives the order to expect.
shuffled_keys() {
  seq -w 1 "$1" | shuf --random-source=<(yes) | awk '{ print "{\"k\":\"" $1 "\"}" }'
}

@test "after a spill the next run fills -S again rather than spilling record by record" {
  mkdir "$T/tmp"
  shuffled_keys 100000 > "$T/keys.ndjson"
  run timeout 60 "$CDN" -v sort -k k -S 1M -T "$T/tmp" -o "$T/got" - < "$T/keys.ndjson"
  assert_success
  [[ "$output" =~ ([0-9]+)\ runs\ spilled ]]
  [ "${BASH_REMATCH[1]}" -le 10 ]
  run bash -c "LC_ALL=C sort '$T/keys.ndjson' | cmp - '$T/got'"
  assert_success
}

@test "with ulimit -n 32 a sort of about 50 spilled runs merges in passes, as GNU sort does" {
  mkdir "$T/tmp" "$T/gnu"
  shuffled_keys 1100000 > "$T/big.ndjson"
  run bash -c "ulimit -n 32 && LC_ALL=C sort -S 1M -T '$T/gnu' '$T/big.ndjson' > '$T/want'"
  assert_success
  # From stdin, so the records are copied into -S rather than mapped.
  run bash -c "ulimit -n 32 && exec '$CDN' -v sort -k k -S 1M -T '$T/tmp' -o '$T/got' < '$T/big.ndjson'"
  assert_success
  assert_output --regexp '1100000 in, 1100000 out, 0 rejected'
  [[ "$output" =~ ([0-9]+)\ runs\ spilled ]]
  [ "${BASH_REMATCH[1]}" -ge 45 ]
  run cmp "$T/want" "$T/got"
  assert_success
  run ls -A "$T/tmp"
  assert_output ""
}

@test "with ulimit -n 32 -m merges 50 sorted inputs in passes, ties going to the earlier input" {
  mkdir "$T/tmp"
  shuffled_keys 5000 > "$T/keys.ndjson"
  files=()
  for i in $(seq -w 1 50); do
    # Every input holds the key 00000 first: ties must come out in input order.
    { echo "{\"k\":\"00000\",\"f\":$((10#$i))}"; sed -n "$((10#$i))~50p" "$T/keys.ndjson" | LC_ALL=C sort; } > "$T/in$i.ndjson"
    files+=("$T/in$i.ndjson")
  done
  { for i in $(seq -w 1 50); do echo "{\"k\":\"00000\",\"f\":$((10#$i))}"; done
    LC_ALL=C sort "$T/keys.ndjson"; } > "$T/want"
  run bash -c 'ulimit -n 32 && exec "$@"' _ "$CDN" -q sort --merge -k k -T "$T/tmp" -o "$T/got" "${files[@]}"
  assert_success
  assert_output ""
  run cmp "$T/want" "$T/got"
  assert_success
  run ls -A "$T/tmp"
  assert_output ""
}

@test "a --key no record has is warned about once with the nearest field, read whole, merged or checked" {
  printf '%s\n' '{"ts":2,"b":{"c":1}}' '{"ts":1,"b":{"c":2}}' >"$T/two.ndjson"
  want="cdn sort: warning: none of the first 2 records read has the field 'tss' named by --key (did you mean 'ts'?); their fields: ts, b"
  run --separate-stderr cdn sort -k tss --missing last "$T/two.ndjson"
  assert_success
  assert_equal "$(head -n 1 <<<"$stderr")" "$want"
  assert_equal "$(grep -c warning <<<"$stderr")" 1
  # from a pipe, and with --check and --merge
  run --separate-stderr bash -c "cat '$T/two.ndjson' | '$CDN' sort -k tss --missing first"
  assert_equal "$(head -n 1 <<<"$stderr")" "$want"
  run --separate-stderr cdn sort --check -k tss --missing first "$T/two.ndjson"
  assert_equal "$(head -n 1 <<<"$stderr")" "$want"
  run --separate-stderr cdn sort --merge -k tss --missing first "$T/two.ndjson" "$T/two.ndjson"
  assert_equal "$(head -n 1 <<<"$stderr")" "cdn sort: warning: none of the first 4 records read has the field 'tss' named by --key (did you mean 'ts'?); their fields: ts, b"
  # a dotted key is a path: the hint comes from the nested fields
  run --separate-stderr cdn sort -k b.d --missing last "$T/two.ndjson"
  assert_equal "$(head -n 1 <<<"$stderr")" "cdn sort: warning: none of the first 2 records read has the field 'b.d' named by --key (did you mean 'b.c'?); their fields: ts, b, b.c"
  # a key present in some records is no mistake, nor is the default key
  printf '%s\n' '{"x":1}' '{"ts":1}' >"$T/some.ndjson"
  run --separate-stderr cdn sort -k ts --missing last "$T/some.ndjson"
  assert_success
  [[ $stderr != *warning* ]] || fail "$stderr"
  run --separate-stderr cdn sort --missing last "$T/some.ndjson"
  assert_success
  [[ $stderr != *warning* ]] || fail "$stderr"
}
