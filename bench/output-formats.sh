#!/usr/bin/env bash
# Times `cdn gen --rows N | cdn sort -o OUT` with two builds of cdn, alternating (before,
# after, before, after, ...), so that a change to the output path shows against the same
# load; then, with AFTER_CDN alone, the same sort to OUT.csv and OUT.ndjson.gz.
#
#   bench/output-formats.sh BEFORE_CDN AFTER_CDN [--rounds N] [--rows N] [--dir DIR]
#
# --rounds: before/after pairs (default 3); --rows: records (default 1,000,000). Prints one
# line per run: the build, the output, wall seconds and CPU seconds (user + system) of the
# pipeline. Needs /usr/bin/time.
set -euo pipefail
usage() { sed -n '2,/^set/{/^#/s/^# \{0,1\}//p}' "$0"; }
[[ ${1-} == -h || ${1-} == --help ]] && { usage; exit 0; }
[[ $# -ge 2 ]] || { echo "output-formats.sh: need BEFORE_CDN and AFTER_CDN; see --help" >&2; exit 2; }
before=$1 after=$2
shift 2
rounds=3 rows=1000000 dir=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "output-formats.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done
for b in "$before" "$after"; do
  [[ -x $b ]] || { echo "output-formats.sh: '$b' is not an executable cdn" >&2; exit 2; }
done
[[ -n $dir ]] || dir="$(mktemp -d)"

# run LABEL CDN OUT: one timed pipeline.
run() {
  local label=$1 cdn=$2 out=$3
  /usr/bin/time -f "%e %U %S" -o "$dir/time" \
    bash -c "'$cdn' -q gen --rows $rows --seed 1 | '$cdn' -q sort -o '$dir/$out'"
  read -r wall user sys <"$dir/time"
  # /usr/bin/time counts the children of bash: both commands of the pipeline.
  printf '%-7s %-14s wall %6.2f s  cpu %6.2f s  %s bytes\n' "$label" "$out" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(stat -c %s "$dir/$out")"
}

for ((i = 1; i <= rounds; i++)); do
  run before "$before" out.ndjson
  run after "$after" out.ndjson
done
run after "$after" out.csv
run after "$after" out.ndjson.gz
rm -f "$dir"/out.*
