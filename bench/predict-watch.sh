#!/usr/bin/env bash
# What watching a model costs `cdn predict`: the same records predicted from a file to
# /dev/null plainly, with --shadow (a second model scoring each row), with --drift-window
# (each row's features and score counted into the reference bins), and with both; the runs
# alternate, each case --repeat times, and the ratios to the plain run are of the medians.
#
#   bench/predict-watch.sh [--rows N] [--repeat K] [--dir DIR]
#
# N tagged records without the label (default 1,000,000) of `cdn gen --seed 3`; the model
# has 50 rounds of depth 6 on 200,000 rows of seed 1, the shadow 30 rounds on seed 2.
# Needs a release build and jq.
set -euo pipefail

rows=1000000
repeat=3
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench/predict-watch.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
[ -x "$cdn" ] || { echo "bench/predict-watch.sh: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
if [ -z "$dir" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
schema="$root/schemas/cdn-data.json"

"$cdn" gen -q --rows 200000 --seed 1 -f csv -o "$dir/train.csv"
"$cdn" gen -q --rows 200000 --seed 2 -f csv -o "$dir/train2.csv"
"$cdn" train -q --schema "$schema" --rounds 50 --max-depth 6 "$dir/train.csv" -o "$dir/m"
"$cdn" train -q --schema "$schema" --rounds 30 --max-depth 6 "$dir/train2.csv" -o "$dir/shadow"
"$cdn" gen -q --rows "$rows" --seed 3 --no-label | "$cdn" tag -q >"$dir/live.ndjson"

declare -A opts=(
  [plain]=""
  [shadow]="--shadow $dir/shadow"
  [drift]="--drift-window 100000"
  [both]="--shadow $dir/shadow --drift-window 100000"
)
cases=(plain shadow drift both)
declare -A times
for ((r = 0; r < repeat; r++)); do
  for c in "${cases[@]}"; do
    # shellcheck disable=SC2086 # the options are words
    t=$( { /usr/bin/time -f '%e' "$cdn" predict -q -m "$dir/m" ${opts[$c]} "$dir/live.ndjson" >/dev/null; } 2>&1 | tail -1)
    times[$c]+="$t "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
base=$(median <<<"${times[plain]}")
printf '%-8s %-24s %10s %8s\n' case "runs (s)" median ratio
for c in "${cases[@]}"; do
  m=$(median <<<"${times[$c]}")
  printf '%-8s %-24s %10s %8s\n' "$c" "${times[$c]}" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')"
done
echo "$rows records, $(nproc) cores, $(uptime | sed 's/.*load average: //') load"
