#!/usr/bin/env bash
# Runs bench/sort-tag.sh, bench/validate.sh and bench/train-predict.sh against two builds of
# cdn in one session, alternating (before, after, before, after), so that a change's effect
# on speed shows against the same anchors (GNU sort, jq, ajv, Python XGBoost) under the same
# load. Each script prints its own table with cdn's ratio to its anchor; compare the ratios.
#
#   bench/before-after.sh BEFORE_CDN AFTER_CDN [--rounds N] [--rows N] [--dir DIR]
#
# --rounds: how many before/after pairs (default 2). --rows: records for sort-tag and
# validate (default 1,000,000; train-predict uses a fifth of it). The output names each run.
set -euo pipefail
usage() { sed -n 's/^# \{0,1\}//; 2,/^$/p' "$0"; }
[[ ${1-} == -h || ${1-} == --help ]] && { usage; exit 0; }
[[ $# -ge 2 ]] || { echo "before-after.sh: need BEFORE_CDN and AFTER_CDN; see --help" >&2; exit 2; }
before=$1 after=$2
shift 2
rounds=2 rows=1000000 dir=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "before-after.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done
for b in "$before" "$after"; do
  [[ -x $b ]] || { echo "before-after.sh: '$b' is not an executable cdn" >&2; exit 2; }
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -n $dir ]] || dir="$(mktemp -d)"
mkdir -p "$dir/sort-tag" "$dir/validate" "$dir/train-predict"

run() {  # run LABEL CDN SCRIPT ARGS...
  local label=$1 bin=$2 script=$3
  shift 3
  echo "### $script, $label ($bin), $(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg)"
  CDN_BIN=$bin bash "$here/$script" "$@"
}

for ((r = 1; r <= rounds; r++)); do
  for side in before after; do
    bin=$before
    [[ $side == after ]] && bin=$after
    run "$side, round $r" "$bin" sort-tag.sh --rows "$rows" --repeat 3 --skip-jq --dir "$dir/sort-tag"
    run "$side, round $r" "$bin" validate.sh --rows "$rows" --python-rows 2000 --repeat 3 \
      --dir "$dir/validate"
    run "$side, round $r" "$bin" train-predict.sh --rows $((rows / 5)) --valid-rows $((rows / 50)) \
      --rounds 50 --dir "$dir/train-predict"
  done
done
