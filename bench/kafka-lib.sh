# shellcheck shell=bash disable=SC2154,SC2034
# Shared by the Kafka benchmarks (bench/produce.sh, bench/kafka.sh); sourced with the
# script's arguments, not run. Expects `name` (for messages), `help_lines` (the sed range of
# the script's usage comment) and the defaults of `rows`, `repeat`, `partitions` and `dir`
# (empty: a temporary directory), which --rows, --repeat, --partitions and --dir override.
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n "$help_lines" "$0"; exit 0 ;;
    *) echo "$name: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
[ -x "$cdn" ] || { echo "$name: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
command -v kcat >/dev/null || { echo "$name: 'kcat' is missing; run scripts/setup.sh" >&2; exit 2; }

if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cdn-bench.XXXXXX")"
fi
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  case "$dir" in "${TMPDIR:-/tmp}"/cdn-bench.*) rm -rf "$dir" ;; esac
}
trap cleanup EXIT

# bench_start_broker ARGS...: one `cdn broker --broker-count 1 ARGS`; sets `brokers`.
bench_start_broker() {
  "$cdn" -q broker --broker-count 1 "$@" >"$dir/broker.out" 2>"$dir/broker.err" </dev/null &
  broker_pid=$!
  brokers=""
  for _ in $(seq 200); do
    brokers="$(sed -n 's/^BROKERS=//p' "$dir/broker.out")"
    [ -n "$brokers" ] && break
    sleep 0.05
  done
  [ -n "$brokers" ] || { echo "$name: cdn broker did not start:" >&2; cat "$dir/broker.err" >&2; exit 3; }
}
