"""Python XGBoost loading a cdn model bundle as it is, on the same feature rows as cdn
predict: the rows are built here from the records by BUNDLE/contract.json (numbers as
float32, categories as their codes, unknown ones missing).

usage: predict_parity.py BUNDLE RECORDS.ndjson PREDICTIONS.ndjson
prints JSON {"rows", "max_abs_diff"}; exits 1 when a sampleID is missing or out of order.
"""
import json
import sys
from datetime import datetime

import numpy as np
import xgboost as xgb


def rows(contract, records):
    feats = contract["features"]
    codes = [{c: i for i, c in enumerate(f.get("categories", []))} for f in feats]
    x = np.full((len(records), len(feats)), np.nan, dtype=np.float32)
    for r, rec in enumerate(records):
        for j, f in enumerate(feats):
            v = rec.get(f["field"])
            if v is None:
                continue
            if f["kind"] == "numeric":
                x[r, j] = np.float32(float(v))
            elif f["kind"] == "categorical":
                if v in codes[j]:
                    x[r, j] = codes[j][v]
            else:
                t = datetime.fromisoformat(v.replace("Z", "+00:00"))
                t = t.astimezone(tz=None).utctimetuple()
                x[r, j] = t.tm_hour if f["kind"] == "hour_of_day" else t.tm_wday
    return x


def main():
    bundle, records_path, preds_path = sys.argv[1:4]
    contract = json.load(open(f"{bundle}/contract.json"))
    booster = xgb.Booster(model_file=f"{bundle}/model.ubj")
    records = [json.loads(line) for line in open(records_path)]
    preds = [json.loads(line) for line in open(preds_path)]
    if [r[contract["id_field"]] for r in records] != [p[contract["id_field"]] for p in preds]:
        print("sampleIDs differ or are out of order", file=sys.stderr)
        sys.exit(1)
    x = rows(contract, records)
    ours = booster.inplace_predict(x, missing=np.nan)
    theirs = np.array([p["prediction"] for p in preds], dtype=np.float64)
    print(json.dumps({"rows": len(records),
                      "max_abs_diff": float(np.max(np.abs(ours.astype(np.float64) - theirs)))}))


if __name__ == "__main__":
    main()
