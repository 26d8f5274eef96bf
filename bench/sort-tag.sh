#!/usr/bin/env bash
# Benchmarks `cdn sort` and `cdn tag` against the tools people use for the same job, in one run,
# on the same generated input (1,000,000 records, about 300 MB of NDJSON by default).
#
#   bench/sort-tag.sh [--rows N] [--repeat R] [--dir DIR] [--skip-jq] [--no-shuffled]
#
# The sorts run twice: on the input as `cdn gen` writes it (in time order but for the 1% of
# late records) and on the same lines shuffled (`shuf` with a fixed random source), the
# input of a sort that has work to do. --no-shuffled leaves the second out.
# Prints a Markdown table: wall seconds (best of R runs), records per second, peak RSS, and the
# ratio of each tool's throughput to cdn's. Needs a release build (scripts/build.sh), GNU
# coreutils, jq and /usr/bin/time.
set -euo pipefail

rows=1000000
repeat=3
dir=""
skip_jq=0
shuffled=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --skip-jq) skip_jq=1; shift ;;
    --no-shuffled) shuffled=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench/sort-tag.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
[ -x "$cdn" ] || { echo "bench/sort-tag.sh: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
for tool in jq sort shuf /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/sort-tag.sh: '$tool' is missing; run scripts/setup.sh" >&2; exit 2; }
done

if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cdn-bench.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
fi
data="$dir/data.ndjson"
"$cdn" -q gen --rows "$rows" --seed 42 -o "$data"
bytes=$(stat -c %s "$data")
mkdir -p "$dir/spill"

# measure NAME RUNS COMMAND...: best wall time and the peak RSS of that run.
results=()
measure() {
  local name="$1" runs="$2"
  shift 2
  local best="" best_rss=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$dir/time" bash -c "$*" >/dev/null
    read -r secs rss < "$dir/time"
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN{exit !(a<b)}'; then
      best="$secs"; best_rss="$rss"
    fi
  done
  results+=("$name|$best|$best_rss")
  printf '  %-44s %8.2f s %8d MB\n' "$name" "$best" $((best_rss / 1024)) >&2
}

echo "input: $rows records, $((bytes / 1000000)) MB, in $dir; $(nproc) cores" >&2
export LC_ALL=C
measure "cdn sort" "$repeat" "'$cdn' -q sort '$data'"
measure "cdn sort -S 64M (spills)" "$repeat" "'$cdn' -q sort -S 64M -T '$dir/spill' '$data'"
measure "GNU sort -s -t'\"' -k4,4" "$repeat" "sort -s -t'\"' -k4,4 -T '$dir/spill' '$data'"
[ "$skip_jq" = 1 ] || measure "jq -s 'sort_by(.timestamp)'" 1 "jq -c -s 'sort_by(.timestamp)[]' '$data'"
if [ "$shuffled" = 1 ]; then
  shuf --random-source=<(yes) "$data" >"$dir/shuffled.ndjson"
  measure "cdn sort (shuffled input)" "$repeat" "'$cdn' -q sort '$dir/shuffled.ndjson'"
  measure "cdn sort -S 64M (shuffled input)" "$repeat" "'$cdn' -q sort -S 64M -T '$dir/spill' '$dir/shuffled.ndjson'"
  measure "GNU sort -s -t'\"' -k4,4 (shuffled input)" "$repeat" "sort -s -t'\"' -k4,4 -T '$dir/spill' '$dir/shuffled.ndjson'"
  [ "$skip_jq" = 1 ] || measure "jq -s 'sort_by(.timestamp)' (shuffled input)" 1 "jq -c -s 'sort_by(.timestamp)[]' '$dir/shuffled.ndjson'"
fi
measure "cdn tag" "$repeat" "'$cdn' -q tag '$data'"
[ "$skip_jq" = 1 ] || measure "jq -c '. + {sampleID: input_line_number}'" 1 "jq -c '. + {sampleID: input_line_number}' '$data'"

rate() { awk -v n="$rows" -v s="$1" 'BEGIN{ printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo
echo "$rows records, $((bytes / 1000000)) MB NDJSON ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| command | seconds | records/s | peak RSS MB | RSS / input | cdn speed-up |"
echo "|---|---:|---:|---:|---:|---:|"
base_sort="" base_tag="" base_shuf=""
for r in "${results[@]}"; do
  IFS='|' read -r name secs rss <<<"$r"
  case "$name" in
    "cdn sort") base_sort="$secs" ;;
    "cdn sort (shuffled input)") base_shuf="$secs" ;;
    "cdn tag") base_tag="$secs" ;;
  esac
done
for r in "${results[@]}"; do
  IFS='|' read -r name secs rss <<<"$r"
  case "$name" in
    *tag*|*sampleID*) base="$base_tag" ;;
    *shuffled*) base="$base_shuf" ;;
    *) base="$base_sort" ;;
  esac
  echo "| \`$name\` | $secs | $(rate "$secs") | $((rss / 1024)) | $(ratio $((rss * 1024)) "$bytes") | $(ratio "$secs" "$base")x |"
done
