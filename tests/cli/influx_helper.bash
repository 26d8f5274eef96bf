# A real InfluxDB 1.x (Debian's influxd) and a stub write endpoint for CLI tests. Load after
# test_helper:
#
#   load test_helper
#   load influx_helper
#   setup_file()    { start_influxd; }
#   teardown_file() { stop_influxd; }
#
# start_influxd      starts influxd through scripts/local-influxd.sh, with a temporary directory
#                    and a config that binds the RPC and HTTP listeners to 127.0.0.1 on free
#                    ports (nothing else listens, reporting off), and waits (at most
#                    INFLUXD_START_TIMEOUT seconds, default 20) until /ping answers. Exports INFLUX_URL (which cdn load-influx reads as
#                    --url), INFLUXD_PID and INFLUXD_DIR. Call it directly, not through `run`.
# stop_influxd       SIGTERM, waits (at most 10 s, then SIGKILL), removes the directory. Safe
#                    to call twice and when none was started.
# influx_query DB Q  runs the InfluxQL query Q and prints InfluxDB's JSON (epoch=ns).
# start_stub ARGS    starts tests/cli/influx_stub.py ARGS on 127.0.0.1 (see its --help), logging
#                    requests to $STUB_LOG; exports STUB_URL and STUB_PID.
# stop_stub          stops it.
#
# Nothing here waits without a deadline.

_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_influxd() {
  if [[ -n ${INFLUXD_PID:-} ]]; then
    echo "start_influxd: influxd (pid $INFLUXD_PID) is already running" >&2
    return 1
  fi
  INFLUXD_DIR=$(mktemp -d "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/influxd.XXXXXX")
  local started
  started=$(bash "$REPO_ROOT/scripts/local-influxd.sh" "$INFLUXD_DIR" "${INFLUXD_START_TIMEOUT:-20}") || {
    echo "start_influxd: influxd did not start" >&2
    stop_influxd
    return 1
  }
  read -r INFLUXD_PID INFLUX_URL <<<"$started"
  export INFLUXD_PID INFLUXD_DIR INFLUX_URL
}

stop_influxd() {
  local pid=${INFLUXD_PID:-} deadline
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset INFLUXD_PID
  fi
  if [[ -n ${INFLUXD_DIR:-} && -d $INFLUXD_DIR ]]; then
    rm -rf "$INFLUXD_DIR"
  fi
  unset INFLUXD_DIR
  return 0
}

influx_query() {
  curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=$1" --data-urlencode "epoch=ns" \
    --data-urlencode "q=$2"
}

start_stub() {
  STUB_LOG="${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/stub.log"
  local port_file="${STUB_LOG%.log}.port"
  rm -f "$port_file" "$STUB_LOG"
  /usr/bin/python3 "$REPO_ROOT/tests/cli/influx_stub.py" --port-file "$port_file" --log "$STUB_LOG" \
    "$@" 3>&- &
  STUB_PID=$!
  export STUB_PID STUB_LOG
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    if [[ -s $port_file ]]; then
      STUB_URL="http://127.0.0.1:$(cat "$port_file")"
      export STUB_URL
      return 0
    fi
    kill -0 "$STUB_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "start_stub: the stub server did not start" >&2
  stop_stub
  return 1
}

stop_stub() {
  if [[ -n ${STUB_PID:-} ]]; then
    kill -TERM "$STUB_PID" 2>/dev/null
    wait "$STUB_PID" 2>/dev/null
    unset STUB_PID
  fi
  return 0
}
