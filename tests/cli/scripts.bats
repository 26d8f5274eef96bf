#!/usr/bin/env bats
# The project's scripts: set-up, build, test, pipeline and completion generation.
# A test that runs no cdn (CDN_BIN) has the tag no-cdn-bin, which keeps it out of
# scripts/test.sh's second pass against the minimal binary, where it would run again unchanged.

load test_helper

# A broker or influxd a test started ends with it, whatever failed on the way (the helpers
# are loaded by the tests that need them).
teardown() {
  if declare -F stop_broker >/dev/null; then stop_broker || true; fi
  if declare -F stop_influxd >/dev/null; then stop_influxd || true; fi
}

bats_require_minimum_version 1.5.0

# bats test_tags=no-cdn-bin
@test "the shell scripts and the bash completion pass shellcheck" {
  run shellcheck "$REPO_ROOT"/scripts/*.sh "$REPO_ROOT"/deploy/podman/*.sh "$REPO_ROOT"/.ci/run "$REPO_ROOT"/completions/cdn.bash
  assert_success
  assert_output ''
}

# bats test_tags=no-cdn-bin
@test "setup.sh prints nothing when every package is installed" {
  run bash "$REPO_ROOT/scripts/setup.sh" </dev/null
  assert_success
  assert_output ''
}

# bats test_tags=no-cdn-bin
@test "setup.sh --list names the packages it installs" {
  run bash "$REPO_ROOT/scripts/setup.sh" --list
  assert_success
  assert_line libcli11-dev
  assert_line bats-assert
}

# bats test_tags=no-cdn-bin
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

# bats test_tags=no-cdn-bin
@test "bench/soak.sh --help names its options, and the script passes shellcheck" {
  run bash "$REPO_ROOT/bench/soak.sh" --help
  assert_success
  assert_equal "$(grep -oE '^  --[a-z]+' <<<"$output" | tr -d ' ' | tr '\n' ' ')" \
    '--duration --rate --interval --out '
  run shellcheck "$REPO_ROOT/bench/soak.sh"
  assert_success
  assert_output ''
}

@test "bench/soak.sh refuses bad arguments with a clear message, before starting anything" {
  local out="$BATS_TEST_TMPDIR/soak"
  run bash "$REPO_ROOT/bench/soak.sh" --rate fast --out "$out"
  assert_failure 2
  assert_output "bench/soak.sh: bad rate 'fast'; give records per second, a whole number above 0"
  run bash "$REPO_ROOT/bench/soak.sh" --duration 0 --out "$out"
  assert_failure 2
  assert_output --partial "bad duration '0'"
  run bash "$REPO_ROOT/bench/soak.sh" --duration 5 --interval 10 --out "$out"
  assert_failure 2
  assert_output --partial "the interval (10 s) is longer than the run (5 s)"
  run bash "$REPO_ROOT/bench/soak.sh" --interval
  assert_failure 2
  assert_output --partial "--interval needs a value"
  run bash "$REPO_ROOT/bench/soak.sh" --forever
  assert_failure 2
  assert_output --partial "unknown argument '--forever'"
  [[ ! -e $out ]]
}

# bats test_tags=no-cdn-bin
@test "bench/e2e.sh --help names its options, and it and bench/pipeline-lib.sh pass shellcheck" {
  run bash "$REPO_ROOT/bench/e2e.sh" --help
  assert_success
  assert_equal "$(grep -oE '^  --[a-z]+' <<<"$output" | tr -d ' ' | tr '\n' ' ')" \
    '--rate --duration --interval --out --search --min --max '
  run shellcheck "$REPO_ROOT/bench/e2e.sh" "$REPO_ROOT/bench/pipeline-lib.sh"
  assert_success
  assert_output ''
}

@test "bench/e2e.sh refuses bad arguments with a clear message, before starting anything" {
  local out="$BATS_TEST_TMPDIR/e2e"
  run bash "$REPO_ROOT/bench/e2e.sh" --rate fast --out "$out"
  assert_failure 2
  assert_output "bench/e2e.sh: bad rate 'fast'; give records per second, a whole number above 0"
  run bash "$REPO_ROOT/bench/e2e.sh" --search --min 8000 --max 2000 --out "$out"
  assert_failure 2
  assert_output "bench/e2e.sh: --min (8000) must be below --max (2000)"
  run bash "$REPO_ROOT/bench/e2e.sh" --duration 5 --interval 10 --out "$out"
  assert_failure 2
  assert_output --partial "the interval (10 s) is longer than the run (5 s)"
  run bash "$REPO_ROOT/bench/e2e.sh" --max
  assert_failure 2
  assert_output --partial "--max needs a value"
  run bash "$REPO_ROOT/bench/e2e.sh" --forever
  assert_failure 2
  assert_output --partial "unknown argument '--forever'"
  [[ ! -e $out ]]
}

# bats test_tags=kafka,xgboost,influx
@test "pipeline.sh runs every stage, from training to InfluxDB, on a local broker and influxd" {
  unset CDN_BROKERS INFLUX_URL
  # A CDN_METRICS_ADDR with a fixed port, which every stage (the broker too) would bind: each
  # gets a free port of its own instead, with one warning.
  local port
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run --separate-stderr env CDN_BIN="$CDN" CDN_METRICS_ADDR="127.0.0.1:$port" \
    bash "$REPO_ROOT/scripts/pipeline.sh" \
    --rows 3000 --train-rows 5000 --out "$BATS_TEST_TMPDIR/out/p.ndjson"
  assert_success
  assert_equal "$(grep -c 'CDN_METRICS_ADDR' <<<"$stderr")" 1
  [[ $stderr == *"pipeline.sh: warning: CDN_METRICS_ADDR=127.0.0.1:$port names one port for every stage, which they cannot share; each serves on a free port of 127.0.0.1 instead (said in its log)"* ]]
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

# bats test_tags=kafka,xgboost,influx
@test "pipeline.sh takes the addresses from --config when neither flags nor environment give them" {
  unset CDN_BROKERS INFLUX_URL
  load broker_helper
  load influx_helper
  start_broker --topic cdndata:4 --topic cdnraw:4 --topic cdnresult:4
  start_influxd
  local brokers=$CDN_BROKERS url=$INFLUX_URL
  unset CDN_BROKERS INFLUX_URL
  printf '[produce]\nbrokers = "%s"\n[load-influx]\nurl = "%s"\n' "$brokers" "$url" >"$BATS_TEST_TMPDIR/cdn.toml"
  run --separate-stderr env CDN_BIN="$CDN" bash "$REPO_ROOT/scripts/pipeline.sh" --rows 500 \
    --train-rows 2000 --config "$BATS_TEST_TMPDIR/cdn.toml" --out "$BATS_TEST_TMPDIR/out/p.ndjson"
  local st=$status
  stop_influxd || true
  stop_broker || true
  assert_equal "$st" 0
  [[ $stderr != *"started a local"* ]] || fail "it started its own services: $stderr"
  assert_line "kafka:    $brokers (topics cdndata, cdnraw, cdnresult)"
  assert_line --partial "influxdb: $url, database cdn: 500 records, 500 predictions"
}

# bats test_tags=kafka,xgboost,influx
@test "pipeline.sh --follow keeps a live stream flowing into InfluxDB until Ctrl-C, then stops it all" {
  unset CDN_BROKERS INFLUX_URL
  local out="$BATS_TEST_TMPDIR/follow"
  # SIGINT at its default for the script, as in a terminal: a shell ignores it in the
  # background jobs it starts, and a signal ignored when bash starts cannot be trapped, so
  # whatever the test runner inherited, env puts it back.
  CDN_BIN="$CDN" env --default-signal=INT bash "$REPO_ROOT/scripts/pipeline.sh" --rows 1000 \
    --train-rows 3000 --out "$out/p.ndjson" --follow --rate 1000 >"$BATS_TEST_TMPDIR/log" 2>&1 3>&- &
  local pid=$! n=0 i
  for i in $(seq 120); do
    n=$(sed -n 's/^following: InfluxDB holds \([0-9]*\) records.*/\1/p' "$BATS_TEST_TMPDIR/log" | tail -n 1)
    [[ ${n:-0} -gt 3000 ]] && break
    sleep 1
  done
  kill -INT "$pid"
  # it stops within a minute, or the test fails (and ends it) rather than hang the suite
  for i in $(seq 600); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    kill -TERM "$pid"
    wait "$pid" || true
    fail "pipeline.sh --follow still ran 60 s after SIGINT: $(tail -5 "$BATS_TEST_TMPDIR/log")"
  fi
  local status=0
  wait "$pid" || status=$?
  [[ ${n:-0} -gt 3000 ]] || fail "the live stream did not reach InfluxDB: $(tail -5 "$BATS_TEST_TMPDIR/log")"
  assert_equal "$status" 130
  run pgrep -f "$out/"
  assert_failure
  run cat "$out"/live/rejects-*.ndjson
  assert_output ''
}

# node tests/cli/ps/ps1.mjs ARGS...: a real PowerShell grammar (tree-sitter-powershell through
# web-tree-sitter) over PowerShell scripts, as no PowerShell runs here. The npm packages are
# installed from the pinned package-lock.json into tests/cli/ps/node_modules (gitignored),
# once: again only when the lock file changes. The grammar (1 MB of WebAssembly) runs on V8's
# baseline compiler alone (--liftoff-only): the same results, and each run takes well under a
# second instead of 10 to 20 s of CPU, which went into optimizing the grammar's code in the
# background, a cost paid on every run, before node exits.
ps1() {
  local dir="$REPO_ROOT/tests/cli/ps"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.cdn-installed"; then
    local log="$BATS_FILE_TMPDIR/npm.log"
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1 || {
      cat "$log" >&2
      return 3
    }
    cp "$dir/package-lock.json" "$dir/node_modules/.cdn-installed"
  fi
  node --liftoff-only "$dir/ps1.mjs" "$@"
}

# pipeline.sh's stages in order, one a line: NAME COMMAND (from its run_stage calls and the
# Data Provider's names+=/commands+= lists).
sh_stages() {
  awk '/^run_stage [a-z]/ { print $2, $3 }
       /^names\+=\(/ { gsub(/^names\+=\(|\)$/, ""); n = split($0, names, " ") }
       /^commands\+=\(/ { gsub(/^commands\+=\(|\)$/, ""); split($0, cmds, " ")
                          for (i = 1; i <= n; i++) print names[i], cmds[i] }' \
    "$REPO_ROOT/scripts/pipeline.sh"
}

# bats test_tags=no-cdn-bin
@test "pipeline.ps1 parses with a PowerShell grammar: no error and no missing node" {
  run ps1 check "$REPO_ROOT/scripts/pipeline.ps1"
  assert_success
  assert_output ''
}

# bats test_tags=no-cdn-bin
@test "the PowerShell grammar check reports broken copies of pipeline.ps1 where they break" {
  local ps="$REPO_ROOT/scripts/pipeline.ps1" broken="$BATS_TEST_TMPDIR/broken.ps1"
  # The last closing brace (the finally block's) left out.
  sed '$d' "$ps" >"$broken"
  [[ $(tail -n 1 "$ps") == '}' ]]
  run ps1 check "$broken"
  assert_failure 1
  assert_output --regexp "^$broken:[0-9]+:[0-9]+: missing }\$"
  # A string left open: the error is on that line.
  local line
  line=$(grep -n "^  Invoke-Stage 'validate' 'validate'" "$ps" | cut -d: -f1)
  [[ -n $line ]]
  sed "${line}s/'validate' 'validate'/'validate 'validate'/" "$ps" >"$broken"
  run ps1 check "$broken"
  assert_failure 1
  assert_output --regexp "^$broken:$line:[0-9]+: syntax error"
  # Bash is not PowerShell.
  run ps1 check "$REPO_ROOT/scripts/pipeline.sh"
  assert_failure 1
}

# bats test_tags=no-cdn-bin
@test "pipeline.ps1 runs the stages of pipeline.sh, in the same order, with the same cdn commands" {
  local sh ps
  sh=$(sh_stages)
  ps=$(ps1 commands "$REPO_ROOT/scripts/pipeline.ps1" | awk '$2 == "Invoke-Stage" { print $3, $4 }')
  assert_equal "$ps" "$sh"
  # Both cover the whole pipeline.
  assert_equal "$(cut -d' ' -f2 <<<"$sh" | sort -u | tr '\n' ' ')" \
    'gen load-influx predict produce sort tag train validate '
}

@test "pipeline.ps1 takes the parameters of pipeline.sh's options and reads CDN_BIN, CDN_BROKERS, CDN_METRICS_ADDR and INFLUX_URL" {
  run ps1 params "$REPO_ROOT/scripts/pipeline.ps1"
  assert_success
  assert_output "$(printf '%s\n' Rows Train TrainRows Out Brokers InfluxUrl Config Follow Rate)"
  # pipeline.sh's options, one for one.
  run bash "$REPO_ROOT/scripts/pipeline.sh" --help
  assert_success
  assert_equal "$(grep -oE '^  --[a-z-]+' <<<"$output" | tr -d ' ' | tr '\n' ' ')" \
    '--rows --train --train-rows --out --brokers --influx-url --config --follow --rate '
  run ps1 env "$REPO_ROOT/scripts/pipeline.ps1"
  assert_success
  assert_equal "$(sort <<<"$output" | tr '\n' ' ')" 'CDN_BIN CDN_BROKERS CDN_METRICS_ADDR INFLUX_URL '
  # The same variables as pipeline.sh reads.
  assert_equal "$(grep -oE '\$\{?(CDN|INFLUX)_[A-Z_]+' "$REPO_ROOT/scripts/pipeline.sh" | tr -d '${' | sort -u | tr '\n' ' ')" \
    'CDN_BIN CDN_BROKERS CDN_METRICS_ADDR INFLUX_URL '
}

# bats test_tags=no-cdn-bin
@test "pipeline.ps1 starts cdn broker and influxd as pipeline.sh does, and stops them in a finally block" {
  local ps sh_broker ps_broker
  ps=$(ps1 commands "$REPO_ROOT/scripts/pipeline.ps1")
  # The same topics and partitions as pipeline.sh's broker (its count in a variable, named
  # alike, worked out alike).
  sh_broker=$(grep -oE '"\$cdn" broker( --topic "[a-z]+:\$partitions")+' "$REPO_ROOT/scripts/pipeline.sh" |
    sed 's/^"$cdn" //; s/"//g')
  [[ -n $sh_broker ]]
  ps_broker=$(awk '$2 == "Start-Process" && /-FilePath \$Cdn/ && /-ArgumentList @\(.broker./' <<<"$ps" |
    sed -E "s/.*-ArgumentList @\(([^)]*)\).*/\1/; s/[',\"]//g; s/\\\$Partitions/\$partitions/g")
  assert_equal "$ps_broker" "$sh_broker"
  grep -qxF 'partitions=$(( (rows + follow * 20 * rate + 8191) / 8192 ))' "$REPO_ROOT/scripts/pipeline.sh"
  grep -qxF '  $Live = if ($Follow) { 20 * $Rate } else { 0 }' "$REPO_ROOT/scripts/pipeline.ps1"
  grep -qxF '  $Partitions = [math]::Max(16, [math]::Ceiling(($Rows + $Live) / 8192))' "$REPO_ROOT/scripts/pipeline.ps1"
  # The broker, influxd, and with -Follow the three services.
  run grep -c -- '^- Start-Process ' <<<"$ps"
  assert_output 3
  run grep -E -- '-ArgumentList @\(.-config., \$InfluxConf\)' <<<"$ps"
  assert_success
  run grep -x -- 'finally Stop-Process -Id $p.Id -ErrorAction SilentlyContinue' <<<"$ps"
  assert_success
  # Both are started only when CDN_BROKERS / INFLUX_URL are not given.
  run grep -cE '^  if \(-not \$env:(CDN_BROKERS|INFLUX_URL)\) \{$' "$REPO_ROOT/scripts/pipeline.ps1"
  assert_output 2
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

# bats test_tags=no-cdn-bin
@test "the CI entry runs scripts/test.sh" {
  run grep -E '^exec bash .*/scripts/test\.sh"$' "$REPO_ROOT/.ci/run"
  assert_success
  [[ -x $REPO_ROOT/.ci/run ]]
}
