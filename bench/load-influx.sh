#!/usr/bin/env bash
# cdn load-influx against curl: the same generated records into one InfluxDB 1.x on
# 127.0.0.1, in the same run.
#
#   bench/load-influx.sh [--rows N] [--repeat R] [--in-flight N] [--dir DIR]
#
# Generates N records (default 1,000,000) with `cdn gen --seed 42`, starts influxd with a
# temporary directory, bound to 127.0.0.1 only, then R times (default 1), each into a fresh
# database that is checked (count of points = N) and dropped afterwards:
#   curl   posts line protocol prepared beforehand (cdn load-influx --dry-run, split into
#          files of 5,000 lines), two requests at a time (xargs -P2), one curl per file;
#   cdn    cdn load-influx from the NDJSON file: conversion included, defaults but the tags.
# Prints each run (wall time, the CPU time of the client and of influxd), then points per
# second and the ratios, best and median of R for each.
set -euo pipefail

name=bench/load-influx.sh
rows=1000000
repeat=1
in_flight=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --in-flight) in_flight="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) echo "$name: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
[ -x "$cdn" ] || { echo "$name: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
for tool in influxd curl jq xargs split; do
  command -v "$tool" >/dev/null || { echo "$name: '$tool' is missing; run scripts/setup.sh" >&2; exit 2; }
done

if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cdn-bench.XXXXXX")"
fi
influxd_pid=""
cleanup() {
  if [ -n "$influxd_pid" ]; then
    kill -TERM "$influxd_pid" 2>/dev/null || true
    # Not a child of this shell (local-influxd.sh started it): wait until it is gone.
    for _ in $(seq 100); do kill -0 "$influxd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  case "$dir" in "${TMPDIR:-/tmp}"/cdn-bench.*) rm -rf "$dir" ;; esac
}
trap cleanup EXIT

now() { date +%s.%N; }

tags="pop,country,device,content_type,cache_status"
echo "$name: generating $rows records (cdn gen --seed 42)" >&2
"$cdn" -q gen --rows "$rows" --seed 42 >"$dir/in.ndjson"
"$cdn" -q load-influx --dry-run --tag "$tags" "$dir/in.ndjson" >"$dir/in.lp"
mkdir -p "$dir/lp"
split -l 5000 -d -a 5 "$dir/in.lp" "$dir/lp/part."
echo "$name: $(du -m "$dir/in.ndjson" | cut -f1) MB of NDJSON, $(ls "$dir/lp" | wc -l) files of line protocol" >&2

started=$(bash "$root/scripts/local-influxd.sh" "$dir/influxd") || { echo "$name: influxd did not start" >&2; exit 3; }
read -r influxd_pid url <<<"$started"

query() { curl -sS -XPOST "$url/query" --data-urlencode "q=$1"; }
check() {
  local n
  n=$(curl -sS -G "$url/query" --data-urlencode "db=$1" --data-urlencode 'q=SELECT count(asn) FROM cdn' |
    jq '.results[0].series[0].values[0][1] // 0')
  if [ "$n" != "$rows" ]; then
    echo "$name: database $1 holds $n points, not $rows" >&2
    exit 3
  fi
  query "DROP DATABASE \"$1\"" >/dev/null
}

# CPU seconds (user + system) influxd has used so far.
influxd_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$influxd_pid/stat"
}
cdn_args=()
[ -n "$in_flight" ] && cdn_args+=(--max-in-flight "$in_flight")
: >"$dir/runs"
for r in $(seq "$repeat"); do
  query "CREATE DATABASE curl$r" >/dev/null
  server0=$(influxd_cpu)
  start=$(now)
  (cd "$dir/lp" && /usr/bin/time -f '%U %S' -o "$dir/cpu" xargs -P2 -I{} curl -sf -o /dev/null \
    -XPOST "$url/write?db=curl$r&precision=ns" --data-binary @{} < <(ls))
  t_curl=$(echo "$(now) - $start" | bc)
  s_curl=$(echo "$(influxd_cpu) - $server0" | bc)
  c_curl=$(awk '{ print $1 + $2 }' "$dir/cpu")
  check "curl$r"
  server0=$(influxd_cpu)
  start=$(now)
  /usr/bin/time -f '%U %S' -o "$dir/cpu" "$cdn" -q load-influx --url "$url" --db "cdn$r" \
    --create-db --tag "$tags" "${cdn_args[@]}" "$dir/in.ndjson"
  t_cdn=$(echo "$(now) - $start" | bc)
  s_cdn=$(echo "$(influxd_cpu) - $server0" | bc)
  c_cdn=$(awk '{ print $1 + $2 }' "$dir/cpu")
  check "cdn$r"
  printf 'run %d: curl %.2f s (curl CPU %.2f s, influxd CPU %.2f s), cdn load-influx %.2f s (cdn CPU %.2f s, influxd CPU %.2f s), load average %s\n' \
    "$r" "$t_curl" "$c_curl" "$s_curl" "$t_cdn" "$c_cdn" "$s_cdn" "$(cut -d' ' -f1 /proc/loadavg)"
  echo "$t_curl $t_cdn" >>"$dir/runs"
done

best_curl=$(cut -d' ' -f1 "$dir/runs" | sort -n | head -1)
best_cdn=$(cut -d' ' -f2 "$dir/runs" | sort -n | head -1)
med_curl=$(cut -d' ' -f1 "$dir/runs" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
med_cdn=$(cut -d' ' -f2 "$dir/runs" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
rate() { echo "$rows / $1" | bc -l; }

printf '\n| tool | best s | points/s | median s | points/s |\n|---|---:|---:|---:|---:|\n'
printf '| curl, files of 5,000 lines, 2 at a time | %.2f | %.0f | %.2f | %.0f |\n' \
  "$best_curl" "$(rate "$best_curl")" "$med_curl" "$(rate "$med_curl")"
printf '| cdn load-influx%s | %.2f | %.0f | %.2f | %.0f |\n' "${in_flight:+ --max-in-flight $in_flight}" \
  "$best_cdn" "$(rate "$best_cdn")" "$med_cdn" "$(rate "$med_cdn")"
printf '\ncdn / curl: %.2fx best against best, %.2fx median against median (%d runs)\n' \
  "$(echo "$best_curl / $best_cdn" | bc -l)" "$(echo "$med_curl / $med_cdn" | bc -l)" "$repeat"
