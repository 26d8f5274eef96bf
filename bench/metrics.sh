#!/usr/bin/env bash
# What --metrics-addr costs the data path: cdn predict (file to /dev/null) and cdn load-influx
# (a file into a local influxd) timed without and with --metrics-addr, alternating, while a
# scraper (one Python process, run on both sides) asks for /metrics every second
# (Prometheus's default is every 15 s). Prints the best wall time of each side and the ratio.
#
#   bench/metrics.sh [--rows N] [--repeat N] [--dir DIR]
#
# --rows: records predicted (default 1,000,000; load-influx loads a fifth). --repeat: pairs
# (default 5). Needs influxd (scripts/setup.sh) and a built cdn (CDN_BIN, default
# build/release/cdn).
set -euo pipefail
usage() { sed -n 's/^# \{0,1\}//; 2,/^$/p' "$0"; }
[[ ${1-} == -h || ${1-} == --help ]] && { usage; exit 0; }
rows=1000000 repeat=5 dir=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "metrics.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdn=${CDN_BIN:-$root/build/release/cdn}
[[ -x $cdn ]] || { echo "metrics.sh: no cdn at '$cdn'; build it (scripts/build.sh) or set CDN_BIN" >&2; exit 2; }
[[ -n $dir ]] || dir="$(mktemp -d)"
mkdir -p "$dir"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

echo "metrics.sh: $rows records to predict, $((rows / 5)) to load; in $dir" >&2
[[ -s $dir/model/manifest.json ]] || {
  "$cdn" gen -q --rows 20000 --seed 1 -f csv -o "$dir/train.csv"
  "$cdn" train -q --schema "$root/schemas/cdn-data.json" --rounds 50 "$dir/train.csv" -o "$dir/model"
}
[[ -s $dir/live.ndjson ]] || "$cdn" gen -q --rows "$rows" --seed 2 --no-label | "$cdn" tag -q -o "$dir/live.ndjson"
head -n $((rows / 5)) "$dir/live.ndjson" >"$dir/load.ndjson"
read -r ipid url <<<"$(bash "$root/scripts/local-influxd.sh" "$dir/influxd")"
pids+=("$ipid")

# timed SIDE CMD...: runs CMD (with --metrics-addr when SIDE is "with"), prints its wall
# seconds. Both sides run the same scraper, started half a second before the clock: on the
# "with" side it gets /metrics every second, on the "without" side its connections are refused
# (nothing listens on its port), so the interpreter's start and its loop cost both sides alike.
timed() {
  local side=$1
  shift
  local extra=() port
  port=$(free_port)
  [[ $side == with ]] && extra=(--metrics-addr "127.0.0.1:$port")
  /usr/bin/python3 -c '
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
while True:
    time.sleep(1)
    try:
        urllib.request.urlopen(url, timeout=1).read()
    except OSError:
        pass
' "$port" &
  local scraper=$!
  sleep 0.5
  local t0 t1
  t0=$(now)
  "$@" "${extra[@]}" 2>/dev/null >/dev/null || true
  t1=$(now)
  kill "$scraper" 2>/dev/null
  wait "$scraper" 2>/dev/null || true
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

declare -A best
for ((r = 1; r <= repeat; r++)); do
  for side in without with; do
    s=$(timed "$side" "$cdn" predict -q -m "$dir/model" "$dir/live.ndjson" -o /dev/null)
    k="predict $side"
    p=$s
    [[ -z ${best[$k]:-} ]] || (($(awk -v a="$s" -v b="${best[$k]}" 'BEGIN { print (a < b) }'))) && best[$k]=$s
    curl -s -XPOST "$url/query" --data-urlencode "q=DROP DATABASE bench" >/dev/null
    s=$(timed "$side" "$cdn" load-influx -q --url "$url" --db bench --create-db --precision us "$dir/load.ndjson")
    k="load-influx $side"
    [[ -z ${best[$k]:-} ]] || (($(awk -v a="$s" -v b="${best[$k]}" 'BEGIN { print (a < b) }'))) && best[$k]=$s
    echo "round $r, $side: predict $p s, load-influx $s s (best so far ${best["predict $side"]} and ${best["load-influx $side"]})" >&2
  done
done

echo "| command | records | without --metrics-addr (s) | with, scraped every second (s) | with / without |"
echo "|---|---:|---:|---:|---:|"
for c in predict load-influx; do
  n=$rows
  [[ $c == load-influx ]] && n=$((rows / 5))
  awk -v c="$c" -v n="$n" -v a="${best["$c without"]}" -v b="${best["$c with"]}" \
    'BEGIN { printf "| `cdn %s` | %d | %.3f | %.3f | %.3f |\n", c, n, a, b, b / a }'
done
