#!/usr/bin/env bats
# Every command started with descriptor 0, 1 or 2 closed (`<&-`, `>&-`, `2>&-`): no file it
# opens takes the closed number, so no stream lands in another's file; a closed stdin reads as
# empty input, a closed stderr drops what would go there, and a command whose records go to a
# closed stdout fails at once with exit 3.

load test_helper

bats_require_minimum_version 1.5.0

# The commands that write records to stdout; args_of prints the arguments each needs besides
# its inputs and outputs.
RECORD_COMMANDS=(sort tag validate)

setup() {
  T="$BATS_TEST_TMPDIR"
  mkdir "$T/work"
  W="$T/work"
  printf '%s\n' '{"type":"object","required":["timestamp"]}' >"$T/schema.json"
  # 3 records, out of order, then 15,000 lines that are not JSON: over 1 MiB of rejects, more
  # than a sink buffers before it writes. The lines come from one awk: a loop of bash runs
  # bats' debug trap at every step (about 10 s for 15,000 under load, in each test).
  {
    printf '%s\n' '{"timestamp":"2026-11-22T10:00:02.000Z","n":2}' \
      '{"timestamp":"2026-11-22T10:00:00.000Z","n":0}' \
      '{"timestamp":"2026-11-22T10:00:01.000Z","n":1}'
    awk 'BEGIN {
      for (i = 0; i < 15000; i++)
        printf "not json, line %06d, padded to make each reject long: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", i
    }'
  } >"$T/in.ndjson"
}

args_of() {
  case $1 in
    validate) echo "--schema $T/schema.json" ;;
    *) echo "" ;;
  esac
}

# closed FD ARGS...: runs cdn ARGS with descriptor FD (0, 1 or 2) closed.
closed() {
  local fd=$1
  shift
  case $fd in
    0) "$CDN" "$@" <&- ;;
    1) "$CDN" "$@" >&- ;;
    2) "$CDN" "$@" 2>&- ;;
  esac
}

# records_only FILE CMD: FILE holds the 3 good records and nothing else (in order for sort).
records_only() {
  local file=$1 cmd=$2
  assert_equal "$(wc -l <"$file")" 3
  run grep -c '"n":' "$file"
  assert_output 3
  run grep -c 'not json' "$file"
  assert_output 0
  if [[ $cmd == sort ]]; then
    assert_equal "$(grep -o '"n":[0-9]' "$file" | tr '\n' ' ')" '"n":0 "n":1 "n":2 '
  fi
}

# rejects_only FILE: FILE holds the 15,000 rejects and nothing else.
rejects_only() {
  local file=$1
  assert_equal "$(wc -l <"$file")" 15000
  run grep -c '"reason"' "$file"
  assert_output 15000
  run grep -c '"timestamp"' "$file"
  assert_output 0
}

# nothing_left: the work directory holds only the files named (no temporary file either).
nothing_left() {
  assert_equal "$(cd "$W" && echo $(ls -A))" "$*"
}

# each_to_its_file FD: every record command with descriptor FD closed, -o and --rejects
# files: each file holds its own stream, and the summary counts every record.
each_to_its_file() {
  for cmd in "${RECORD_COMMANDS[@]}"; do
    run --separate-stderr closed "$1" "$cmd" $(args_of "$cmd") "$T/in.ndjson" -o "$W/out" --rejects "$W/rej"
    assert_failure 1
    [[ $stderr =~ ^"cdn $cmd: 15003 in, 3 out, 15000 rejected in " ]] || fail "$cmd: $stderr"
    records_only "$W/out" "$cmd"
    rejects_only "$W/rej"
    nothing_left out rej
    rm "$W/out" "$W/rej"
  done
}

@test "stdout closed: a command whose records go to stdout fails with exit 3 before it reads, and writes no file" {
  for cmd in "${RECORD_COMMANDS[@]}"; do
    run --separate-stderr closed 1 "$cmd" $(args_of "$cmd") "$T/in.ndjson" --rejects "$W/rej"
    assert_failure 3
    assert_equal "$stderr" "cdn $cmd: cannot write records to stdout: it is closed; name a file with -o or redirect stdout (> FILE)"
    nothing_left
  done
  run --separate-stderr closed 1 gen -n 5 --rejects "$W/rej"
  assert_failure 3
  assert_equal "$stderr" "cdn gen: cannot write records to stdout: it is closed; name a file with -o or redirect stdout (> FILE)"
  nothing_left
}

@test "stdout closed: with -o FILE and --rejects FILE each file gets its own stream, and the summary counts every record" {
  each_to_its_file 1
  run --separate-stderr closed 1 gen -n 5 -o "$W/out"
  assert_success
  [[ $stderr =~ ^"cdn gen: 5 in, 5 out, 0 rejected in " ]] || fail "$stderr"
  assert_equal "$(grep -c '"timestamp"' "$W/out")" 5
  nothing_left out
}

@test "stdout closed: sort --check and completion" {
  head -3 "$T/in.ndjson" | sort >"$T/sorted.ndjson"
  # --check writes no records: a closed stdout is no matter.
  run --separate-stderr closed 1 sort --check "$T/sorted.ndjson"
  assert_success
  assert_equal "$stderr" ""
  run --separate-stderr closed 1 completion bash
  assert_failure 3
  assert_equal "$stderr" "cdn completion: cannot write the completion script to stdout: it is closed; redirect stdout to a file (> FILE)"
}

@test "stderr closed: rejects for stderr are dropped and the -o file holds the records only" {
  for cmd in "${RECORD_COMMANDS[@]}"; do
    run --separate-stderr closed 2 "$cmd" $(args_of "$cmd") "$T/in.ndjson" -o "$W/out"
    assert_failure 1
    records_only "$W/out" "$cmd"
    nothing_left out
    rm "$W/out"
  done
  run --separate-stderr closed 2 gen -n 5 -o "$W/out"
  assert_success
  assert_equal "$(grep -c '"timestamp"' "$W/out")" 5
  nothing_left out
}

@test "stderr closed: records to stdout, rejects to --rejects FILE, nothing crosses" {
  for cmd in "${RECORD_COMMANDS[@]}"; do
    run --separate-stderr closed 2 "$cmd" $(args_of "$cmd") "$T/in.ndjson" --rejects "$W/rej"
    assert_failure 1
    printf '%s\n' "$output" >"$T/stdout"
    records_only "$T/stdout" "$cmd"
    rejects_only "$W/rej"
    nothing_left rej
    rm "$W/rej"
  done
}

@test "stdin closed: no input named reads as empty input" {
  for cmd in "${RECORD_COMMANDS[@]}"; do
    run --separate-stderr closed 0 "$cmd" $(args_of "$cmd") --rejects "$W/rej"
    assert_success
    assert_output ""
    [[ $stderr =~ ^"cdn $cmd: 0 in, 0 out, 0 rejected in " ]] || fail "$cmd: $stderr"
    assert_equal "$(wc -c <"$W/rej")" 0
    rm "$W/rej"
  done
}

@test "stdin closed: named inputs, -o and --rejects files are read and written as usual" {
  each_to_its_file 0
  run --separate-stderr closed 0 gen -n 5
  assert_success
  assert_equal "${#lines[@]}" 5
}
