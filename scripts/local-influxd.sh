#!/usr/bin/env bash
# Starts a private InfluxDB 1.x (Debian's influxd) for tests, benchmarks and pipeline.sh: its
# data, config and logs in DIR, its RPC and HTTP listeners on free ports of 127.0.0.1 only,
# nothing else listening, reporting off. Waits (at most TIMEOUT seconds, default 20) until
# /ping answers, then prints one line: "PID URL". Stop it with `kill PID`; remove DIR after.
#
# Usage: scripts/local-influxd.sh DIR [TIMEOUT]
set -euo pipefail

dir=${1:?usage: scripts/local-influxd.sh DIR [TIMEOUT]}
timeout=${2:-20}
command -v influxd >/dev/null || { echo "local-influxd.sh: influxd is missing; run scripts/setup.sh" >&2; exit 3; }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rpc=$(free_port)
http=$(free_port)
mkdir -p "$dir"
cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$http"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
CONF
# Detached from every descriptor of the caller (bats waits on fd 3, a `$(...)` on stdout).
influxd -config "$dir/influxdb.conf" </dev/null >"$dir/out" 2>"$dir/err" 3>&- &
pid=$!
url="http://127.0.0.1:$http"
deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
  if curl -sf -o /dev/null "$url/ping"; then
    echo "$pid $url"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "local-influxd.sh: influxd exited; its stderr:" >&2
    cat "$dir/err" >&2
    exit 3
  fi
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
echo "local-influxd.sh: no answer on $url/ping within ${timeout}s; its stderr:" >&2
tail -5 "$dir/err" >&2
exit 3
