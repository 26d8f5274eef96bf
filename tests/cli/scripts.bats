#!/usr/bin/env bats
# The project's scripts: set-up, build, test, pipeline and completion generation.

bats_require_minimum_version 1.5.0

setup() {
  load test_helper
}

@test "the shell scripts and the bash completion pass shellcheck" {
  run shellcheck "$REPO_ROOT"/scripts/*.sh "$REPO_ROOT"/.ci/run "$REPO_ROOT"/completions/cdn.bash
  assert_success
  assert_output ''
}

@test "setup.sh prints nothing when every package is installed" {
  run bash "$REPO_ROOT/scripts/setup.sh" </dev/null
  assert_success
  assert_output ''
}

@test "setup.sh --list names the packages it installs" {
  run bash "$REPO_ROOT/scripts/setup.sh" --list
  assert_success
  assert_line libcli11-dev
  assert_line bats-assert
}

@test "build.sh refuses an unknown preset" {
  run bash "$REPO_ROOT/scripts/build.sh" --preset fast
  assert_failure 2
  assert_output --partial "'fast'"
}

@test "pipeline.sh refuses a row count that is not a number, before doing anything" {
  run bash "$REPO_ROOT/scripts/pipeline.sh" --rows many
  assert_failure 2
  assert_output --partial "'many'"
}

@test "pipeline.sh refuses an unknown argument" {
  run bash "$REPO_ROOT/scripts/pipeline.sh" --fast
  assert_failure 2
  assert_output --partial "'--fast'"
}

@test "pipeline.sh runs every stage, from training to InfluxDB, on a local broker and influxd" {
  unset CDN_BROKERS INFLUX_URL
  run --separate-stderr env CDN_BIN="$CDN" bash "$REPO_ROOT/scripts/pipeline.sh" \
    --rows 3000 --train-rows 5000 --out "$BATS_TEST_TMPDIR/out/p.ndjson"
  assert_success
  local st
  for st in train gen sort tag validate produce predict load-records load-predictions; do
    assert_line --regexp "^$st +[0-9]+ +[0-9]+ +0\$"
  done
  assert_line --regexp '^validate +3000 +3000 +0$'
  assert_line --regexp '^predict +3000 +3000 +0$'
  assert_line --partial 'database cdn: 3000 records, 3000 predictions'
  assert_line --regexp '^predictions: 3000 made, the same 3000 in InfluxDB \(sum [0-9.]+\)$'
  assert_line --regexp '^auc: +0\.[5-9][0-9]* over the labelled test records$'
  [[ -n $(ls "$BATS_TEST_TMPDIR/out/model") ]]
  # Nothing it started is left running.
  run pgrep -f "/influxd/influxdb.conf|broker --topic cdndata:16 --topic cdnraw:16 --topic cdnresult:16"
  assert_failure
}

@test "pipeline.sh --follow keeps a live stream flowing into InfluxDB until Ctrl-C, then stops it all" {
  unset CDN_BROKERS INFLUX_URL
  local out="$BATS_TEST_TMPDIR/follow"
  # With job control on, the background script keeps SIGINT (a shell ignores it in background
  # jobs otherwise), as it would in a terminal.
  set -m
  CDN_BIN="$CDN" bash "$REPO_ROOT/scripts/pipeline.sh" --rows 1000 --train-rows 3000 \
    --out "$out/p.ndjson" --follow --rate 1000 >"$BATS_TEST_TMPDIR/log" 2>&1 3>&- &
  local pid=$! n=0 i
  set +m
  for i in $(seq 120); do
    n=$(sed -n 's/^following: InfluxDB holds \([0-9]*\) records.*/\1/p' "$BATS_TEST_TMPDIR/log" | tail -n 1)
    [[ ${n:-0} -gt 3000 ]] && break
    sleep 1
  done
  kill -INT "$pid"
  local status=0
  wait "$pid" || status=$?
  [[ ${n:-0} -gt 3000 ]] || fail "the live stream did not reach InfluxDB: $(tail -5 "$BATS_TEST_TMPDIR/log")"
  assert_equal "$status" 130
  run pgrep -f "$out/"
  assert_failure
  run cat "$out"/live/rejects-*.ndjson
  assert_output ''
}

@test "gen-completions.sh writes the three scripts from the binary it is given" {
  mkdir -p "$BATS_TEST_TMPDIR/repo/scripts" "$BATS_TEST_TMPDIR/repo/completions"
  cp "$REPO_ROOT/scripts/gen-completions.sh" "$BATS_TEST_TMPDIR/repo/scripts/"
  run bash "$BATS_TEST_TMPDIR/repo/scripts/gen-completions.sh" "$CDN"
  assert_success
  run diff "$BATS_TEST_TMPDIR/repo/completions/_cdn" <("$CDN" completion zsh)
  assert_success
  run diff "$BATS_TEST_TMPDIR/repo/completions/cdn.fish" <("$CDN" completion fish)
  assert_success
  run diff "$BATS_TEST_TMPDIR/repo/completions/cdn.bash" <("$CDN" completion bash)
  assert_success
}

@test "the CI entry runs scripts/test.sh" {
  run grep -E '^exec bash .*/scripts/test\.sh"$' "$REPO_ROOT/.ci/run"
  assert_success
  [[ -x $REPO_ROOT/.ci/run ]]
}
