# A local Kafka cluster (`cdn broker`) for CLI tests. Load after test_helper:
#
#   load test_helper
#   load broker_helper
#   setup()    { start_broker --topic in:4; }
#   teardown() { stop_broker; }
#
# start_broker [ARGS...]  starts `cdn broker ARGS...` in the background and waits (at most
#                         BROKER_START_TIMEOUT seconds, default 10) for its BROKERS= line.
#                         Exports CDN_BROKERS (host:port,...) and BROKER_PID; BROKER_CTL is
#                         the FIFO the broker reads fault commands from, BROKER_OUT and
#                         BROKER_ERR its stdout and stderr. Call it directly, not through
#                         `run` (which would start the broker in a subshell).
# broker_ctl CMD...       sends one fault command (`down 1`, `up 1`, `rtt all 200`,
#                         `error Produce REQUEST_TIMED_OUT 3`, ...; see `cdn broker --help`),
#                         prints the broker's answer and fails unless it is `ok`.
# stop_broker             SIGTERM, then waits (at most BROKER_STOP_TIMEOUT seconds, default
#                         10, then SIGKILL); returns the broker's exit status. Safe to call
#                         twice and when no broker was started: use it in teardown.
#
# Start and stop in the same shell: setup/teardown, or setup_file/teardown_file (then the
# tests share one cluster; give each its own topics). Commands are answered in order, so do
# not send them from two processes at once.
#
# Nothing here waits without a deadline, and the broker never holds bats' fd 3, so a
# broken broker fails the test instead of hanging the run.

start_broker() {
  if [[ -n ${BROKER_PID:-} ]]; then
    echo "start_broker: a broker (pid $BROKER_PID) is already running; stop_broker first" >&2
    return 1
  fi
  BROKER_DIR=$(mktemp -d "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/broker.XXXXXX")
  BROKER_CTL="$BROKER_DIR/ctl"
  BROKER_OUT="$BROKER_DIR/out"
  BROKER_ERR="$BROKER_DIR/err"
  mkfifo "$BROKER_CTL" || return 1
  # Read-write, so this open never blocks and the broker's read end always has a writer.
  exec {BROKER_CTL_FD}<>"$BROKER_CTL"
  "${CDN:-cdn}" broker "$@" <"$BROKER_CTL" >"$BROKER_OUT" 2>"$BROKER_ERR" 3>&- {BROKER_CTL_FD}>&- &
  BROKER_PID=$!
  export BROKER_PID BROKER_CTL BROKER_CTL_FD BROKER_OUT BROKER_ERR

  local line=
  if wait_lines "$BROKER_OUT" 1 "${BROKER_START_TIMEOUT:-10}" "$BROKER_PID"; then
    IFS= read -r line <"$BROKER_OUT"
  fi
  if [[ $line != BROKERS=* ]]; then
    echo "start_broker: 'cdn broker $*' printed no BROKERS= line first; its stderr:" >&2
    cat "$BROKER_ERR" >&2
    stop_broker >/dev/null 2>&1
    return 1
  fi
  CDN_BROKERS=${line#BROKERS=}
  export CDN_BROKERS
}

broker_ctl() {
  if [[ -z ${BROKER_PID:-} ]]; then
    echo "broker_ctl: no broker running; start_broker first" >&2
    return 1
  fi
  # Every command answers one line: ours is the one after those already there.
  local want answer
  want=$(($(wc -l <"$BROKER_OUT") + 1))
  printf '%s\n' "$*" >&"$BROKER_CTL_FD" || return 1
  if ! wait_lines "$BROKER_OUT" "$want" "${BROKER_CTL_TIMEOUT:-10}" "$BROKER_PID"; then
    echo "broker_ctl: no answer to '$*'" >&2
    return 1
  fi
  answer=$(sed -n "${want}p" "$BROKER_OUT")
  echo "$answer"
  [[ $answer == ok* ]]
}

stop_broker() {
  local pid=${BROKER_PID:-} status=0 deadline
  if [[ -n ${BROKER_CTL_FD:-} ]]; then
    exec {BROKER_CTL_FD}>&-
    unset BROKER_CTL_FD
  fi
  [[ -n $pid ]] || return 0
  if ! jobs -p | grep -qx "$pid"; then
    # Not our child (e.g. called through `run`): stop it, but its status is out of reach.
    echo "stop_broker: broker pid $pid is not a child of this shell; call stop_broker" \
      "directly, not through run" >&2
    kill -TERM "$pid" 2>/dev/null
    return 1
  fi
  unset BROKER_PID
  kill -TERM "$pid" 2>/dev/null
  deadline=$((SECONDS + ${BROKER_STOP_TIMEOUT:-10}))
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.05
  done
  if pid_alive "$pid"; then
    echo "stop_broker: pid $pid ignored SIGTERM for ${BROKER_STOP_TIMEOUT:-10}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}

# last_stat FILE JQ: JQ over the last statistics line librdkafka wrote to FILE (--stats-file);
# empty while there is none, or while it is still being written.
last_stat() {
  tail -n 1 "$1" 2>/dev/null | jq "$2" 2>/dev/null
}

# partitions_sum FILE TOPIC FIELD: FIELD of TOPIC's partitions in the last statistics line,
# summed over those where it is set (above 0); 0 when none is.
partitions_sum() {
  last_stat "$1" "[.topics[\"$2\"].partitions[]? | select(.partition >= 0) | .$3 | select(. > 0)] | add // 0"
}

# elapsed_since NS: milliseconds since `date +%s%N` said NS.
elapsed_since() {
  echo $((($(date +%s%N) - $1) / 1000000))
}

# dead_output_run CMD ARGS...: runs a command whose Kafka output's brokers are a closed port,
# with --timeout 2000, and checks that it fails within 30 s (not message.timeout.ms's 300 s),
# with status 3, naming the brokers and --timeout (the caller checks the summary).
dead_output_run() {
  local start
  start=$(date +%s%N)
  run --separate-stderr timeout 120 "$CDN" "$@" -b 127.0.0.1:1 --timeout 2000
  local ms
  ms=$(elapsed_since "$start")
  ((ms < 30000)) || fail "cdn $1 took ${ms} ms with --timeout 2000"
  assert_equal "$status" 3
  [[ "$stderr" == *"'127.0.0.1:1' (-b/--brokers) are reachable, or raise --timeout"* ]] ||
    fail "cdn $1: the error does not name the brokers and --timeout: $stderr"
  [[ "$stderr" == *"the brokers were unreachable for more than 2000 ms"* ]] ||
    fail "cdn $1: the error does not say the brokers were unreachable: $stderr"
}
