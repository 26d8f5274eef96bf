#!/usr/bin/env bash
# What --key-field costs `cdn predict`: the same records predicted from a file to a file,
# without and with --key-field sampleID (the key is found in the pass that reads the
# features and kept with the batch; a file output then ignores it), alternating, --repeat
# pairs; with --before BIN, a run of that build (without the option) joins each round, so a
# change to the reading path shows too. Best and median wall time of each case, in records/s,
# and the CPU time (user + system), which a loaded machine spreads less.
#
#   bench/predict-key.sh [--rows N] [--repeat K] [--before BIN] [--dir DIR]
#
# N tagged records without the label (default 1,000,000) of `cdn gen --seed 3`; the model has
# 50 rounds of depth 6 on 200,000 rows of seed 1 (as bench/predict-watch.sh). Needs jq.
set -euo pipefail

rows=1000000
repeat=3
before=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --before) before="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench/predict-key.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
[ -x "$cdn" ] || { echo "bench/predict-key.sh: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
[ -z "$before" ] || [ -x "$before" ] || { echo "bench/predict-key.sh: no binary at '$before'" >&2; exit 2; }
if [ -z "$dir" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
schema="$root/schemas/cdn-data.json"

[ -d "$dir/m" ] || {
  "$cdn" gen -q --rows 200000 --seed 1 -f csv -o "$dir/train.csv"
  "$cdn" train -q --schema "$schema" --rounds 50 --max-depth 6 "$dir/train.csv" -o "$dir/m"
}
[ -f "$dir/live.ndjson" ] && [ "$(wc -l <"$dir/live.ndjson")" -eq "$rows" ] ||
  "$cdn" gen -q --rows "$rows" --seed 3 --no-label | "$cdn" tag -q >"$dir/live.ndjson"

cases=(without with)
[ -z "$before" ] || cases=(before without with)
declare -A times cpu
for ((r = 1; r <= repeat; r++)); do
  for c in "${cases[@]}"; do
    bin=$cdn opts=()
    [ "$c" = before ] && bin=$before
    [ "$c" = with ] && opts=(--key-field sampleID)
    read -r t u < <( { /usr/bin/time -f '%e %U %S' "$bin" predict -q -m "$dir/m" "${opts[@]}" "$dir/live.ndjson" -o "$dir/out.ndjson"; } 2>&1 | tail -1 | awk '{ print $1, $2 + $3 }')
    echo "round $r, $c: $t s wall, $u s CPU, load $(cut -d' ' -f1 /proc/loadavg)" >&2
    times[$c]+="$t "
    cpu[$c]+="$u "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { tr ' ' '\n' | grep . | sort -g | head -1; }
rate() { awk -v n="$rows" -v t="$1" 'BEGIN { printf "%d", n / t }'; }
printf '%-8s %-18s %6s %6s %11s %11s %-18s %8s\n' case "wall (s)" best median "best rec/s" "median rec/s" "CPU (s)" "median"
for c in "${cases[@]}"; do
  b=$(best <<<"${times[$c]}") m=$(median <<<"${times[$c]}")
  printf '%-8s %-18s %6s %6s %11s %11s %-18s %8s\n' "$c" "${times[$c]}" "$b" "$m" "$(rate "$b")" "$(rate "$m")" "${cpu[$c]}" "$(median <<<"${cpu[$c]}")"
done
echo "$rows records, $(nproc) cores, $(uptime | sed 's/.*load average: //') load"
