"""scikit-learn's metrics on the predictions Python XGBoost makes with a cdn model bundle
(feature rows built as predict_parity.py builds them), against what cdn eval --json says.

usage: eval_parity.py BUNDLE RECORDS.ndjson EVAL.json THRESHOLD
prints JSON {metric: |cdn - sklearn|}; exits 1 when one differs by more than 1e-9.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn import metrics as skm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from predict_parity import rows  # noqa: E402


def calibration_error(p, y, bins=10):
    b = np.clip(np.floor(p * bins).astype(int), 0, bins - 1)
    e = 0.0
    for k in range(bins):
        m = b == k
        if m.any():
            e += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return e


def main():
    bundle, records_path, eval_path, threshold = sys.argv[1:5]
    threshold = float(threshold)
    contract = json.load(open(f"{bundle}/contract.json"))
    ours = json.load(open(eval_path))
    booster = xgb.Booster(model_file=f"{bundle}/model.ubj")
    records = [json.loads(line) for line in open(records_path)]
    y = np.array([float(r[contract["label"]]) for r in records])
    p = booster.inplace_predict(rows(contract, records), missing=np.nan).astype(np.float64)
    objective = contract["objective"]
    want = {"rows": len(records)}
    if objective.startswith("binary:"):
        hard = (p >= threshold).astype(int)
        want.update(
            auc=skm.roc_auc_score(y, p),
            pr_auc=skm.average_precision_score(y, p),
            logloss=skm.log_loss(y, p, eps=1e-15, labels=[0, 1]),
            brier=skm.brier_score_loss(y, p),
            calibration_error=calibration_error(p, y),
            accuracy=skm.accuracy_score(y, hard),
            precision=skm.precision_score(y, hard, zero_division=0),
            recall=skm.recall_score(y, hard, zero_division=0),
            f1=skm.f1_score(y, hard, zero_division=0),
        )
        confusion = skm.confusion_matrix(y, hard, labels=[0, 1]).tolist()
    elif objective.startswith("multi:"):
        k = contract["num_class"]
        pk = p.reshape(len(records), k)
        hard = pk.argmax(axis=1)
        want.update(mlogloss=skm.log_loss(y, pk, eps=1e-15, labels=list(range(k))),
                    accuracy=skm.accuracy_score(y, hard))
        confusion = skm.confusion_matrix(y, hard, labels=list(range(k))).tolist()
    else:
        want.update(rmse=skm.mean_squared_error(y, p, squared=False),
                    mae=skm.mean_absolute_error(y, p),
                    r2=skm.r2_score(y, p))
        confusion = None
    diff = {k: abs(ours[k] - v) for k, v in want.items()}
    bad = {k: (ours[k], v) for k, v in want.items() if not diff[k] <= 1e-9}
    if confusion is not None and ours["confusion"] != confusion:
        bad["confusion"] = (ours["confusion"], confusion)
    print(json.dumps(diff))
    if bad:
        print(f"differ from scikit-learn: {bad}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
