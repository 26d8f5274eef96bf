#!/usr/bin/env bash
# Benchmarks `cdn train` and `cdn predict` against Python XGBoost in one run, on the same
# generated rows and with the same parameters.
#
#   bench/train-predict.sh [--rows N] [--valid-rows N] [--rounds R] [--depth D] [--dir DIR]
#                          [--predict-only]
#
# Training: `cdn train` against pandas.read_csv + xgboost.train (tests/cli/py/train_xgb.py),
# both on N rows (default 1,000,000) of `cdn gen -f csv --seed 1`, R rounds (default 200) of
# depth D (default 6), eta 0.1, hist, categorical features, in three cases: no per-round
# evaluation, the validation set (--valid-rows, default 100,000, of seed 2) evaluated every
# round, and the training and validation sets; reports wall time, peak RSS, the validation
# AUC of each, and the ratios.
# Prediction: `cdn predict` from an NDJSON file to a file against the json module +
# inplace_predict (bench/predict_py.py), on N tagged records without the label; reports
# records/s, peak RSS, and the largest difference between the two predictions; then the
# XGBoost library alone on the same model and rows (inplace_predict on a ready float32 matrix,
# 2 threads), and cdn predict with a one-tree model, which shows what cdn itself costs.
# --predict-only reuses the data and model of an earlier run in --dir.
# Both run with OMP_WAIT_POLICY=passive unless it is set: on a shared 2-core machine OpenMP's
# default spinning makes XGBoost itself several times slower, for both alike.
# Needs a release build, /usr/bin/python3 with python3-xgboost, python3-pandas, and jq.
set -euo pipefail

rows=1000000
valid_rows=100000
rounds=200
depth=6
dir=""
predict_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --valid-rows) valid_rows="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --depth) depth="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --predict-only) predict_only=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench/train-predict.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
py=/usr/bin/python3
[ -x "$cdn" ] || { echo "bench/train-predict.sh: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
"$py" -c 'import xgboost, pandas' 2>/dev/null ||
  { echo "bench/train-predict.sh: /usr/bin/python3 lacks xgboost or pandas; run scripts/setup.sh" >&2; exit 2; }
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cdn-bench.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
else
  mkdir -p "$dir"
fi

if [ "$predict_only" = 0 ]; then
  "$cdn" -q gen --rows "$rows" --seed 1 -f csv -o "$dir/train.csv"
  "$cdn" -q gen --rows "$valid_rows" --seed 2 --start 2026-11-23T00:00:00Z -f csv -o "$dir/valid.csv"
  "$cdn" -q gen --rows "$rows" --seed 3 --no-label | "$cdn" -q tag -o "$dir/live.ndjson"
elif [ ! -d "$dir/model" ]; then
  echo "bench/train-predict.sh: --predict-only needs --dir with the data and model of an earlier run" >&2
  exit 2
fi

# wall seconds and peak RSS (MB) of a command, from /usr/bin/time
timed() {
  /usr/bin/time -f '%e %M' -o "$dir/time" "$@"
  read -r secs kb <"$dir/time"
  rss=$((kb / 1024))
}

if [ "$predict_only" = 0 ]; then
echo "## cdn train vs pandas.read_csv + xgboost.train ($rows rows, $rounds rounds, depth $depth)"
echo
# Three cases, each side doing the same work: no per-round evaluation (cdn without validation
# data; Python's plainest script, evals=[]), the validation set evaluated every round (cdn
# --valid; evals=[(dvalid, "valid")]), and both sets (cdn --valid --eval-train;
# evals=[(dtrain, "train"), (dvalid, "valid")]). The sides alternate, cdn first.
echo "| case | cdn train s | cdn peak RSS MB | Python s | Python peak RSS MB | cdn/Python | cdn AUC | Python AUC |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for case in none valid train,valid; do
  flags=()
  valid_arg="$dir/valid.csv"
  case $case in
    none) valid_arg=- ;;
    valid) flags=(--valid "$dir/valid.csv") ;;
    train,valid) flags=(--valid "$dir/valid.csv" --eval-train) ;;
  esac
  rm -rf "$dir/model"
  timed "$cdn" -q train --rounds "$rounds" --max-depth "$depth" --eta 0.1 --seed 0 \
    "${flags[@]}" "$dir/train.csv" -o "$dir/model"
  cdn_train=$secs cdn_train_rss=$rss
  cdn_auc=$([ "$case" = none ] && echo "–" || jq .final.auc "$dir/model/metrics.json")
  timed "$py" "$root/tests/cli/py/train_xgb.py" --evals "$case" "$dir/model" "$dir/train.csv" \
    "$valid_arg" >"$dir/py.json"
  py_train=$secs py_train_rss=$rss
  py_auc=$(jq -r '.auc // "–"' "$dir/py.json")
  ratio=$(awk -v c="$cdn_train" -v p="$py_train" 'BEGIN { printf "%.2fx", c / p }')
  echo "| evals: $case | $cdn_train | $cdn_train_rss | $py_train | $py_train_rss | $ratio | $cdn_auc | $py_auc |"
done
echo
echo "Targets: at most 1.0x with no evaluation, at most 0.6x evaluating the same sets; AUC within 0.002."
echo
# The model predict uses below: the validated one.
rm -rf "$dir/model"
"$cdn" -q train --rounds "$rounds" --max-depth "$depth" --eta 0.1 --seed 0 \
  --valid "$dir/valid.csv" "$dir/train.csv" -o "$dir/model"
fi

echo "## cdn predict vs json + inplace_predict ($rows records, file to file)"
echo
timed "$cdn" -q predict -m "$dir/model" "$dir/live.ndjson" -o "$dir/cdn.ndjson"
cdn_pred=$secs cdn_pred_rss=$rss
timed "$py" "$root/bench/predict_py.py" "$dir/model" "$dir/live.ndjson" "$dir/py.ndjson"
py_pred=$secs py_pred_rss=$rss
echo "| command | seconds | records/s | peak RSS MB |"
echo "|---|---:|---:|---:|"
"$py" -c "import sys; n=int(sys.argv[1]); print(f'| cdn predict | {sys.argv[2]} | {n/float(sys.argv[2]):,.0f} | {sys.argv[3]} |'); print(f'| Python json + inplace_predict | {sys.argv[4]} | {n/float(sys.argv[4]):,.0f} | {sys.argv[5]} |')" \
  "$rows" "$cdn_pred" "$cdn_pred_rss" "$py_pred" "$py_pred_rss"
echo
"$py" - "$dir/cdn.ndjson" "$dir/py.ndjson" "$cdn_pred" "$py_pred" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["sampleID"] for x in a] == [x["sampleID"] for x in b], "different records or order"
d = max(abs(x["prediction"] - y["prediction"]) for x, y in zip(a, b))
print(f"cdn/Python throughput: {float(sys.argv[4]) / float(sys.argv[3]):.1f}x; largest difference between the predictions: {d:.2e}")
PY
echo
"$py" - "$dir/model" "$dir/live.ndjson" <<'PY'
import json, sys, time
import numpy as np, xgboost as xgb
bundle, src = sys.argv[1:3]
c = json.load(open(f"{bundle}/contract.json"))
codes = [{v: i for i, v in enumerate(f.get("categories", []))} for f in c["features"]]
rows = []
for line in open(src):
    r = json.loads(line)
    rows.append([np.nan if r.get(f["field"]) is None else
                 (float(r[f["field"]]) if f["kind"] == "numeric" else codes[j].get(r[f["field"]], np.nan))
                 for j, f in enumerate(c["features"])])
x = np.array(rows, dtype=np.float32)
b = xgb.Booster(model_file=f"{bundle}/model.ubj")
b.set_param({"nthread": 2})
t = time.time()
b.inplace_predict(x, missing=np.nan)
print(f"XGBoost library alone, same model and rows, 2 threads: {len(x) / (time.time() - t):,.0f} rows/s")
PY
"$cdn" -q train --rounds 1 --max-depth 2 "$dir/train.csv" -o "$dir/tiny" 2>/dev/null || true
timed "$cdn" -q predict -m "$dir/tiny" "$dir/live.ndjson" -o "$dir/tiny.ndjson"
"$py" -c "import sys; n=int(sys.argv[1]); print(f'cdn predict with a one-tree model (what cdn itself costs): {sys.argv[2]} s, {n/float(sys.argv[2]):,.0f} records/s, {sys.argv[3]} MB peak RSS')" "$rows" "$secs" "$rss"
