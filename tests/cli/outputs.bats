#!/usr/bin/env bats
# What every command promises about its output and rejects files: the rejects are written
# before the output appears, so a run whose rejects fail leaves no output; the output and the
# rejects never share one file; a replaced file keeps its permissions.

load test_helper

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
