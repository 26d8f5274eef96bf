#!/usr/bin/env bash
# Time, peak RSS and held-out AUC of `cdn train` in each of its data modes, at several sizes.
#
#   bench/train-scale.sh [--rows "1000000 5000000 20000000"] [--modes "in-memory quantised
#                        external"] [--rounds R] [--depth D] [--held-out N] [--dir DIR]
#
# Generates the largest size once (`cdn gen -f csv --seed 1`) and trains on its first N rows
# for each size, R rounds (default 50) of depth D (default 6), eta 0.1, no validation data
# (so no per-round metrics), in each mode:
#   in-memory  `--in-memory`: the rows read whole into a float matrix, a dense DMatrix;
#   quantised  the default: the rows spooled to a file and pushed a block at a time into
#              XGBoost's quantile DMatrix;
#   external   `--external-memory DIR`: the same batches as XGBoost external-memory pages.
# Each model is judged with `cdn eval --json` on the same held-out rows (seed 2, default
# 200,000). Reports one table: rows, mode, wall seconds, peak RSS (MB), held-out AUC and its
# difference from the in-memory model of the same size.
# Runs with OMP_WAIT_POLICY=passive unless set. Needs a release build, jq and /usr/bin/time.
set -euo pipefail

sizes="1000000 5000000 20000000"
modes="in-memory quantised external"
rounds=50
depth=6
held_out=200000
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) sizes="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --depth) depth="$2"; shift 2 ;;
    --held-out) held_out="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench/train-scale.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
[ -x "$cdn" ] || { echo "bench/train-scale.sh: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cdn-scale.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
else
  mkdir -p "$dir"
fi

largest=0
for n in $sizes; do ((n > largest)) && largest=$n; done
if [ ! -s "$dir/all.csv" ] || [ "$(cat "$dir/all.rows" 2>/dev/null)" != "$largest" ]; then
  "$cdn" -q gen --rows "$largest" --seed 1 -f csv -o "$dir/all.csv"
  echo "$largest" >"$dir/all.rows"
fi
[ -s "$dir/held.csv" ] || "$cdn" -q gen --rows "$held_out" --seed 2 --start 2026-11-23T00:00:00Z -f csv -o "$dir/held.csv"

echo "| rows | mode | seconds | peak RSS MB | held-out AUC | AUC - in-memory AUC |"
echo "|---:|---|---:|---:|---:|---:|"
for n in $sizes; do
  head -n $((n + 1)) "$dir/all.csv" >"$dir/train.csv"
  base_auc=""
  for mode in $modes; do
    case $mode in
      in-memory) flags=(--in-memory) ;;
      quantised) flags=() ;;
      external) rm -rf "$dir/ext"; mkdir -p "$dir/ext"; flags=(--external-memory "$dir/ext") ;;
      *) echo "bench/train-scale.sh: unknown mode '$mode'" >&2; exit 2 ;;
    esac
    rm -rf "$dir/model"
    /usr/bin/time -f '%e %M' -o "$dir/time" "$cdn" -q train "${flags[@]}" --rounds "$rounds" \
      --max-depth "$depth" --eta 0.1 --seed 0 "$dir/train.csv" -o "$dir/model"
    read -r secs kb <"$dir/time"
    auc=$("$cdn" -q eval -m "$dir/model" --json "$dir/held.csv" | jq .auc)
    [ "$mode" = in-memory ] && base_auc=$auc
    diff=$([ -n "$base_auc" ] && awk -v a="$auc" -v b="$base_auc" 'BEGIN { printf "%+.6f", a - b }' || echo "–")
    echo "| $n | $mode | $secs | $((kb / 1024)) | $auc | $diff |"
  done
done
rm -f "$dir/train.csv"
