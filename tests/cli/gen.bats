#!/usr/bin/env bats
# cdn gen: synthesizes CDN telemetry, deterministically for a seed.

load test_helper

bats_require_minimum_version 1.5.0

FIELDS='["timestamp","client_ip","asn","country","pop","device","content_type","http_status","cache_status","bytes_sent","response_time_ms","ttfb_ms","rtt_ms","throughput_kbps","bitrate_kbps","qoe_bad"]'

# A jq filter: true when the input is a clean record with every field in order, typed and in
# range ($fields names the expected keys).
VALID='def num: type == "number" and . >= 0;
  (keys_unsorted == $fields)
  and (.timestamp | type == "string" and test("^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][.][0-9]{3}Z$"))
  and (.client_ip | type == "string" and (split(".") | length == 4 and all(test("^(0|[1-9][0-9]{0,2})$") and tonumber <= 255)))
  and (.asn | type == "number" and floor == . and . >= 1 and . <= 4294967295)
  and (.country | type == "string" and test("^[A-Z]{2}$"))
  and (.pop | type == "string" and test("^[A-Z]{3}[0-9]$"))
  and (.device | IN("mobile", "desktop", "smart_tv", "tablet", "console"))
  and (.content_type | IN("vod", "live", "image", "api"))
  and (.http_status | type == "number" and floor == . and . >= 100 and . <= 599)
  and (.cache_status | IN("HIT", "MISS", "EXPIRED", "BYPASS"))
  and (.bytes_sent | num and floor == .)
  and (.response_time_ms | num) and (.ttfb_ms | num) and (.rtt_ms | num)
  and (.throughput_kbps | num) and (.bitrate_kbps | num)
  and (if .content_type == "vod" or .content_type == "live"
       then .bitrate_kbps | IN(235, 375, 750, 1750, 3000, 4300, 5800, 8000)
       else .bitrate_kbps == 0 end)
  and ((has("qoe_bad") | not) or (.qoe_bad | IN(0, 1)))'

# Prints one word per line: true for a clean record, false for anything else (bad JSON too).
check_lines() {
  jq -R -r --argjson fields "$1" "try (fromjson | $VALID) catch false"
}

# Counts lines whose timestamp is earlier than one already written.
out_of_order() {
  awk -F'"' '$4 < max { n++; next } { max = $4 } END { print n + 0 }'
}

setup() {
  T="$BATS_TEST_TMPDIR"
}

@test "the same seed and options give byte-identical output" {
  cdn gen -q --rows 3000 --seed 7 --late 0.05 --dirty 0.1 >"$T/a"
  cdn gen -q --rows 3000 --seed 7 --late 0.05 --dirty 0.1 >"$T/b"
  run cmp "$T/a" "$T/b"
  assert_success
  cdn gen -q --rows 3000 --seed 7 --format csv >"$T/c"
  cdn gen -q --rows 3000 --seed 7 --format csv >"$T/d"
  run cmp "$T/c" "$T/d"
  assert_success
}

@test "without --seed the output is fixed, not taken from the clock" {
  cdn gen -q --rows 200 >"$T/a"
  sleep 1
  cdn gen -q --rows 200 >"$T/b"
  run cmp "$T/a" "$T/b"
  assert_success
  run head -c 40 "$T/a"
  assert_output '{"timestamp":"2026-11-22T00:00:00.016Z",'
}

@test "a different seed gives different records" {
  cdn gen -q --rows 100 --seed 1 >"$T/a"
  cdn gen -q --rows 100 --seed 2 >"$T/b"
  run cmp -s "$T/a" "$T/b"
  assert_failure
  run bash -c "comm -12 <(sort '$T/a') <(sort '$T/b') | wc -l"
  assert_output 0
}

@test "--rows sets the number of lines, 1000 by default" {
  run bash -c "'$CDN' gen -q --rows 2345 | wc -l"
  assert_success
  assert_output 2345
  run bash -c "'$CDN' gen -q | wc -l"
  assert_output 1000
  run --separate-stderr cdn gen -q --rows 0
  assert_success
  assert_output ""
}

@test "to a terminal, bare gen writes nothing and asks for --rows or -o (status 2); either one writes" {
  run on_tty --timeout 30 -- "$CDN" gen
  assert_failure 2
  assert_output --partial "cdn gen: not writing 1000 records to the terminal; give --rows N to see N of them, or -o FILE (or redirect stdout) to keep them"
  [[ $output != *'{"timestamp"'* ]] || fail "records on the terminal: $output"
  # other options are not an answer, and -q does not silence a usage error
  run on_tty --timeout 30 -- "$CDN" -q gen --seed 3
  assert_failure 2
  assert_output --partial "not writing 1000 records to the terminal"
  run on_tty --timeout 30 -- "$CDN" -q gen --rows 2
  assert_success
  [[ $(grep -c '^{"timestamp"' <<<"$output") -eq 2 ]] || fail "not 2 records: $output"
  run on_tty --timeout 30 -- "$CDN" -q gen -o "$T/out.ndjson"
  assert_success
  assert_output ""
  run wc -l <"$T/out.ndjson"
  assert_output 1000
  # --rows from the config file counts as given
  printf '[gen]\nrows = 3\n' >"$T/c.toml"
  run on_tty --timeout 30 -- "$CDN" -q --config "$T/c.toml" gen
  assert_success
  [[ $(grep -c '^{"timestamp"' <<<"$output") -eq 3 ]] || fail "not 3 records: $output"
}

@test "every clean record has every field in order, with a valid type and range" {
  cdn gen -q --rows 5000 --seed 3 >"$T/a"
  check_lines "$FIELDS" <"$T/a" >"$T/checked"
  run uniq -c "$T/checked"
  assert_success
  assert_output --regexp '^ *5000 true$'
}

@test "the summary on stderr balances and stdout carries only records" {
  run --separate-stderr cdn gen --rows 500 --late 0.1 --dirty 0.1
  assert_success
  assert_equal "${#lines[@]}" 500
  [[ "$stderr" =~ ^"cdn gen: 500 in, 500 out, 0 rejected in "[0-9.]+" s, seed 1, "[0-9]+" late, "[0-9]+" dirty, "[0-9]+" labelled qoe_bad, "[0-9]+" during incidents"$ ]] ||
    fail "unexpected summary: $stderr"
}

@test "--start sets the event time of the first record, written in UTC" {
  run cdn gen -q --rows 3 --start 2025-03-01T12:00:00+02:00
  assert_success
  assert_line --index 0 --regexp '^\{"timestamp":"2025-03-01T10:00:0[0-9][.][0-9]{3}Z",'
}

@test "--rate sets the mean pace of event time" {
  # 20 records a second for 36000 records: about half an hour.
  last=$(cdn gen -q --rows 36000 --rate 20 --late 0 | tail -n 1 | jq -r .timestamp)
  [[ $last > "2026-11-22T00:20" && $last < "2026-11-22T00:45" ]] || fail "last record at $last"
  last=$(cdn gen -q --rows 3600 --rate 1000 --late 0 | tail -n 1 | jq -r .timestamp)
  [[ $last > "2026-11-22T00:00:02" && $last < "2026-11-22T00:00:06" ]] ||
    fail "last record at $last"
}

@test "load follows the hour of day: the evening peak of a PoP outweighs its small hours" {
  # A day at one record a second; FRA1 is at UTC+1.
  cdn gen -q --rows 86400 --rate 1 --late 0 --format csv >"$T/day.csv"
  night=$(awk -F, '$5 == "FRA1" && substr($1, 12, 2) == "03"' "$T/day.csv" | wc -l)
  evening=$(awk -F, '$5 == "FRA1" && substr($1, 12, 2) == "19"' "$T/day.csv" | wc -l)
  ((evening > 3 * night)) || fail "FRA1: $night records at 03 UTC, $evening at 19 UTC"
}

@test "an incident shows at one PoP as more 5xx and MISS and a longer rtt" {
  cdn gen -q --rows 100000 --late 0 --format csv >"$T/a.csv"
  # Ten-minute windows per PoP with at least 200 records: the worst against the whole run.
  run awk -F, 'NR > 1 {
      k = $5 " " substr($1, 1, 15); n[k]++; all++
      if ($8 >= 500) { e[k]++; e_all++ }
      if ($9 == "MISS") { m[k]++; m_all++ }
      r[k] += $13; r_all += $13
    }
    END {
      for (k in n) if (n[k] >= 200 && e[k] / n[k] > worst) { worst = e[k] / n[k]; w = k }
      printf "%s %.3f %.3f %.3f %.3f %.1f %.1f\n", w, worst, e_all / all, m[w] / n[w],
             m_all / all, r[w] / n[w], r_all / all
    }' "$T/a.csv"
  assert_success
  read -r pop window e5 e5_all miss miss_all rtt rtt_all <<<"$output"
  awk -v a="$e5" -v b="$e5_all" 'BEGIN { exit !(a > 0.03 && a > 5 * b) }' ||
    fail "5xx: $output"
  awk -v a="$miss" -v b="$miss_all" 'BEGIN { exit !(a > 1.5 * b) }' || fail "MISS: $output"
  awk -v a="$rtt" -v b="$rtt_all" 'BEGIN { exit !(a > 2 * b) }' || fail "rtt: $output"
}

@test "video gets a ladder bitrate that follows throughput; image and api get 0" {
  cdn gen -q --rows 20000 --seed 5 >"$T/a"
  run jq -s -c '
    (map(select(.content_type == "vod" or .content_type == "live")) | length > 0 and
      all(.bitrate_kbps > 0)),
    (map(select(.content_type == "image" or .content_type == "api")) | length > 0 and
      all(.bitrate_kbps == 0)),
    ([.[] | select(.bitrate_kbps == 8000) | .throughput_kbps] | add / length) >
      2 * ([.[] | select(.bitrate_kbps == 750) | .throughput_kbps] | add / length)' "$T/a"
  assert_success
  assert_output $'true\ntrue\ntrue'
}

@test "bytes_sent is heavy-tailed: the largest object dwarfs the median" {
  cdn gen -q --rows 20000 --format csv >"$T/a.csv"
  run bash -c "tail -n +2 '$T/a.csv' | cut -d, -f10 | sort -n | awk '{ v[NR] = \$1 } END { print v[int(NR / 2)], v[NR] }'"
  assert_success
  read -r median max <<<"$output"
  ((max > 100 * median)) || fail "median $median, max $max"
}

@test "qoe_bad is set for a minority of records" {
  run bash -c "'$CDN' gen -q --rows 20000 | jq -s 'map(.qoe_bad) | add'"
  assert_success
  ((output > 20000 * 3 / 100 && output < 20000 * 20 / 100)) || fail "$output of 20000 bad"
}

@test "--format csv writes a header row with the field names, then one row per record" {
  run --separate-stderr cdn gen -q --rows 50 --format csv
  assert_success
  assert_equal "${#lines[@]}" 51
  assert_equal "${lines[0]}" "timestamp,client_ip,asn,country,pop,device,content_type,http_status,cache_status,bytes_sent,response_time_ms,ttfb_ms,rtt_ms,throughput_kbps,bitrate_kbps,qoe_bad"
  run bash -c "'$CDN' gen -q --rows 50 --format csv | awk -F, '{ print NF }' | sort -u"
  assert_output 16
}

@test "CSV rows hold the same values as the NDJSON records" {
  cdn gen -q --rows 300 --format csv | tail -n +2 >"$T/csv"
  cdn gen -q --rows 300 | sed -E 's/"[a-z_]+"://g; s/[{}"]//g' >"$T/ndjson"
  run cmp "$T/csv" "$T/ndjson"
  assert_success
}

@test "--no-label leaves out qoe_bad and keeps every other field as it was" {
  cdn gen -q --rows 1000 --seed 4 | sed 's/,"qoe_bad":[01]}$/}/' >"$T/a"
  cdn gen -q --rows 1000 --seed 4 --no-label >"$T/b"
  run cmp "$T/a" "$T/b"
  assert_success
  run grep -c qoe_bad "$T/b"
  assert_output 0
  run bash -c "'$CDN' gen -q --rows 2 --no-label --format csv | head -n 1"
  assert_output "timestamp,client_ip,asn,country,pop,device,content_type,http_status,cache_status,bytes_sent,response_time_ms,ttfb_ms,rtt_ms,throughput_kbps,bitrate_kbps"
}

@test "--late writes about that fraction of records after later ones, at most 30 s late" {
  cdn gen -q --rows 20000 --late 0.05 >"$T/a"
  run out_of_order <"$T/a"
  assert_success
  ((output > 700 && output < 1300)) || fail "$output of 20000 out of order"
  # How far behind the latest timestamp written so far (one day, so seconds of the day).
  run awk -F'"' '{ split(substr($4, 12, 12), t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
                   if (s < max) { if (max - s > lag) lag = max - s } else max = s }
                 END { print lag }' "$T/a"
  awk -v l="$output" 'BEGIN { exit !(l > 5 && l <= 30) }' || fail "largest lag $output s"
}

@test "--late 0 writes every timestamp in order, and 0.01 is the default" {
  cdn gen -q --rows 20000 --late 0 >"$T/a"
  run out_of_order <"$T/a"
  assert_output 0
  cdn gen -q --rows 20000 >"$T/b"
  run out_of_order <"$T/b"
  ((output > 100 && output < 300)) || fail "$output of 20000 out of order by default"
}

@test "--late only reorders: the same records as without it" {
  cdn gen -q --rows 5000 --late 0 | sort >"$T/a"
  cdn gen -q --rows 5000 --late 0.2 | sort >"$T/b"
  run cmp "$T/a" "$T/b"
  assert_success
}

@test "--dirty replaces about that fraction of lines with bad ones, and 0 gives none" {
  cdn gen -q --rows 10000 --dirty 0.1 | check_lines "$FIELDS" >"$T/a"
  bad=$(grep -c false "$T/a")
  ((bad > 850 && bad < 1150)) || fail "$bad of 10000 bad"
  cdn gen -q --rows 10000 --dirty 0 | check_lines "$FIELDS" >"$T/b"
  run grep -c false "$T/b"
  assert_output 0
}

@test "--dirty leaves every other line as it would be without it" {
  cdn gen -q --rows 2000 --dirty 0.2 >"$T/dirty"
  cdn gen -q --rows 2000 >"$T/clean"
  changed=$(paste -d '\n' "$T/dirty" "$T/clean" | awk 'NR % 2 { d = $0; next } d != $0' | wc -l)
  bad=$(check_lines "$FIELDS" <"$T/dirty" | grep -c false)
  assert_equal "$changed" "$bad"
}

@test "--dirty makes bad lines of many kinds" {
  cdn gen -q --rows 3000 --dirty 1 >"$T/a"
  # Not JSON at all (truncated, unbalanced, other text).
  run bash -c "jq -R 'try (fromjson | 1) catch 0' <'$T/a' | grep -c '^0'"
  ((output > 500)) || fail "$output lines that are not JSON"
  run grep -c -E '"(asn|http_status|bytes_sent)":"[0-9]+"' "$T/a"
  ((output > 10)) || fail "numbers as strings: $output"
  run grep -c -E '"http_status":700|"bytes_sent":-' "$T/a"
  ((output > 10)) || fail "out of range: $output"
  run grep -c '"device":"fridge"' "$T/a"
  ((output > 5)) || fail "bad enum: $output"
  run grep -c -E '"timestamp":"(yesterday|2026-13-45T25:00:00Z)"' "$T/a"
  ((output > 5)) || fail "bad timestamps: $output"
  run grep -c -E '"(x_request_id|edge_node|user_agent)":' "$T/a"
  ((output > 50)) || fail "unknown fields: $output"
  run bash -c "jq -R -c 'try (fromjson | select(type == \"object\" and (keys | length) < 16)) catch empty' <'$T/a' | wc -l"
  ((output > 100)) || fail "missing fields: $output"
  run grep -c ':null' "$T/a"
  ((output > 50)) || fail "null values: $output"
}

@test "--dirty with --format csv writes rows that do not fit the header" {
  run bash -c "'$CDN' gen -q --rows 2000 --format csv --dirty 0.2 | awk -F, 'NR > 1 && NF != 16' | wc -l"
  assert_success
  ((output > 50)) || fail "$output rows with the wrong number of cells"
}

@test "-o FILE writes the records to the file and nothing to stdout" {
  run --separate-stderr cdn gen --rows 100 -o "$T/out.ndjson"
  assert_success
  assert_output ""
  run wc -l <"$T/out.ndjson"
  assert_output 100
  cdn gen -q --rows 100 >"$T/stdout.ndjson"
  run cmp "$T/out.ndjson" "$T/stdout.ndjson"
  assert_success
}

@test "-o FILE into a missing directory is a usage error that names it and leaves nothing behind" {
  run cdn gen -q --rows 10 -o "$T/no/such/dir/out.ndjson"
  assert_failure 2
  assert_output "cdn gen: cannot write '$T/no/such/dir/out.ndjson': the directory '$T/no/such/dir' does not exist; name a file in an existing directory"
  [[ ! -e "$T/no/such/dir" ]]
}

@test "a fraction outside 0..1 is a usage error" {
  run cdn gen --dirty 1.5
  assert_failure 2
  assert_output "cdn gen: bad value '1.5' for --dirty; give a fraction from 0 to 1, e.g. 0.05"
  run cdn gen --late -0.1
  assert_failure 2
  assert_output --partial "for --late; give a fraction from 0 to 1"
  run cdn gen --dirty abc
  assert_failure 2
  assert_output --partial "bad value 'abc' for --dirty"
}

@test "a bad count, seed, rate, start or format is a usage error" {
  run cdn gen --rows -5
  assert_failure 2
  assert_output --partial "for -n/--rows; give a whole number from 0 to"
  run cdn gen --rows 1e6
  assert_failure 2
  assert_output --partial "bad value '1e6' for -n/--rows"
  run cdn gen --seed x
  assert_failure 2
  assert_output --partial "bad value 'x' for --seed"
  run cdn gen --rate 0
  assert_failure 2
  assert_output --partial "bad value '0' for --rate"
  run cdn gen --start yesterday
  assert_failure 2
  assert_output --partial "bad value 'yesterday' for --start; give an RFC 3339 time"
  run cdn gen --rows 100000000000 --rate 0.001
  assert_failure 2
  assert_output --partial "runs past the year 9999"
  run cdn gen --format xml
  assert_failure 2
  assert_output --partial "--format"
  run cdn gen --colour
  assert_failure 2
}

# The output of these two runs as it was before --shift existed (sha256, glibc 2.36).
UNSHIFTED_NDJSON=c03a6955d75cf8aaf522210f2585cc69fc94c36c1954bd9aeffd96ec95ca4b8b
UNSHIFTED_CSV=b0d5b48c3a4b5332a38f0928c42f0530b6871655a76ded0acfa8e12d985b0ed9

@test "--shift changes only the field it names: device, or rtt_ms at the slow PoPs by 60 ms; without it the output is as before" {
  run bash -c "'$CDN' gen -q --rows 20000 --seed 9 --late 0.05 --dirty 0.05 | sha256sum"
  assert_output "$UNSHIFTED_NDJSON  -"
  run bash -c "'$CDN' gen -q --rows 20000 --seed 9 -f csv --no-label | sha256sum"
  assert_output "$UNSHIFTED_CSV  -"
  cdn gen -q --rows 20000 --seed 9 >"$T/plain"
  cdn gen -q --rows 20000 --seed 9 --shift devices >"$T/devices"
  cdn gen -q --rows 20000 --seed 9 --shift slow-region=europe,slow-pop=NRT1 >"$T/slow"
  cdn gen -q --rows 20000 --seed 9 --shift slow-pop=NRT1 --shift slow-region=europe >"$T/slow2"
  cmp "$T/slow" "$T/slow2"
  # devices: every field but device as it was; about half of the non-mobile requests now mobile
  run bash -c "cmp <(jq -c 'del(.device)' '$T/plain') <(jq -c 'del(.device)' '$T/devices')"
  assert_success
  run bash -c "paste -d ' ' <(jq -r .device '$T/plain') <(jq -r .device '$T/devices') | sort | uniq -c | awk '\$2 != \$3 { print \$3 }' | sort -u"
  assert_output mobile
  run bash -c "jq -r .device '$T/plain' | grep -vc mobile; jq -r .device '$T/devices' | grep -vc mobile"
  local before=${lines[0]} after=${lines[1]}
  ((after > before * 35 / 100 && after < before * 65 / 100)) || fail "$before non-mobile requests became $after"
  # slow: every field but rtt_ms as it was; rtt_ms 60 ms longer at Europe's PoPs and NRT1 only
  run bash -c "cmp <(jq -c 'del(.rtt_ms)' '$T/plain') <(jq -c 'del(.rtt_ms)' '$T/slow')"
  assert_success
  run bash -c "paste <(jq -r '[.pop, .rtt_ms] | @tsv' '$T/plain') <(jq -r .rtt_ms '$T/slow') |
    awk -F '\t' '{ d = \$3 - \$2; k = (d > 59.85 && d < 60.15) ? \"+60\" : (d == 0 ? \"0\" : d); print \$1, k }' | sort -u | tr '\n' ' '"
  assert_output "AMS1 +60 BOM1 0 CDG1 +60 FRA1 +60 GRU1 0 IAD1 0 LAX1 0 LHR1 +60 MAD1 +60 NRT1 +60 SIN1 0 SYD1 0 "
  # the same seed and shifts give the same bytes
  cdn gen -q --rows 20000 --seed 9 --shift devices >"$T/devices2"
  cmp "$T/devices" "$T/devices2"
}

@test "a --shift that names no shift, region or PoP is a usage error listing the choices" {
  run --separate-stderr cdn gen --shift faster
  assert_failure 2
  assert_output ''
  assert_equal "$stderr" "cdn gen: bad value 'faster' for --shift; give devices, slow-region=REGION (europe, americas, asia-pacific) or slow-pop=POP (FRA1, AMS1, LHR1, CDG1, MAD1, IAD1, LAX1, GRU1, NRT1, SIN1, SYD1, BOM1)"
  run --separate-stderr cdn gen --shift slow-pop=XYZ1
  assert_failure 2
  [[ $stderr == "cdn gen: bad value 'slow-pop=XYZ1' for --shift; give devices, "* ]]
  run --separate-stderr cdn gen --shift slow-region=mars
  assert_failure 2
  [[ $stderr == "cdn gen: bad value 'slow-region=mars' for --shift; give devices, "* ]]
}

# psi_of FILE FEATURE: the PSI psi.py printed for FEATURE into FILE, times 10000 (an integer).
psi_of() {
  awk -v f="$2" '$1 == f { printf "%d\n", $2 * 10000 + 0.5 }' "$1"
}

# bats test_tags=xgboost
@test "--shift devices,slow-region=europe moves device and rtt_ms past PSI 0.3 and every other feature of the model under 0.1" {
  # The model's features: those of a bundle cdn train makes with the default schema and label.
  cdn gen -q --rows 2000 --seed 31 -f csv -o "$T/train.csv"
  cdn train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 2 "$T/train.csv" -o "$T/m"
  local features
  features=$(jq -r '.features[].field' "$T/m/contract.json")
  assert_equal "$(wc -w <<<"$features")" 13
  cdn gen -q --rows 50000 --seed 1 -o "$T/ref.ndjson"
  cdn gen -q --rows 50000 --seed 2 -o "$T/same.ndjson"
  cdn gen -q --rows 50000 --seed 2 --shift devices,slow-region=europe -o "$T/shifted.ndjson"
  local py=(/usr/bin/python3 "$REPO_ROOT/tests/cli/py/psi.py")
  # a file against itself: 0 everywhere
  run "${py[@]}" "$T/ref.ndjson" "$T/ref.ndjson" $features
  assert_success
  assert_equal "$(awk '$2 != "0.0000"' <<<"$output")" ''
  "${py[@]}" "$T/ref.ndjson" "$T/same.ndjson" $features >"$T/same.psi"
  "${py[@]}" "$T/ref.ndjson" "$T/shifted.ndjson" $features >"$T/shifted.psi"
  echo "# PSI against seed 1, unshifted: $(tr "\n" " " <"$T/same.psi")" >&3
  echo "# PSI against seed 1, shifted: $(tr "\n" " " <"$T/shifted.psi")" >&3
  assert_equal "$(wc -l <"$T/shifted.psi")" 13
  local f
  for f in $features; do
    (($(psi_of "$T/same.psi" "$f") < 1000)) || fail "unshifted, another seed: $f has PSI $(grep "^$f " "$T/same.psi")"
    if [[ $f == device || $f == rtt_ms ]]; then
      (($(psi_of "$T/shifted.psi" "$f") > 3000)) || fail "shifted: $f has PSI $(grep "^$f " "$T/shifted.psi")"
    else
      (($(psi_of "$T/shifted.psi" "$f") < 1000)) || fail "shifted: $f has PSI $(grep "^$f " "$T/shifted.psi")"
    fi
  done
}

@test "psi.py: a category the reference never had goes to 'other', an absent or null value to the missing bin" {
  local py=(/usr/bin/python3 "$REPO_ROOT/tests/cli/py/psi.py")
  for i in $(seq 50); do echo '{"d":"a","n":1}'; echo '{"d":"b","n":2}'; done >"$T/ref"
  for i in $(seq 50); do echo '{"d":"a","n":1}'; echo '{"d":"c"}'; done >"$T/live"
  run "${py[@]}" "$T/ref" "$T/live" d n
  assert_success
  # d: b 0.5 -> 1e-4, other 1e-4 -> 0.5; n: 2 0.5 -> 1e-4, missing 1e-4 -> 0.5: 2 x 0.4999 ln 5000
  assert_output "d 8.5155
n 8.5155"
  run "${py[@]}" "$T/ref" "$T/nope" d
  assert_failure
  assert_output --partial "psi.py: cannot read '$T/nope': No such file or directory"
}
