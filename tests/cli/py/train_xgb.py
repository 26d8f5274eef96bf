"""Python XGBoost on the same rows and parameters as a cdn train bundle: the reference for
the AUC parity test and the training benchmark.

usage: train_xgb.py [--evals SETS] BUNDLE TRAIN.csv VALID.csv [BASE_BUNDLE]
  -> prints JSON {"auc", "read_s", "train_s", "history": {"train-auc": [one per round], ...}}

--evals train,valid (the default), valid or none: the sets xgboost.train evaluates after each
round (evals=...). With none, VALID.csv may be "-": nothing is read, evaluated or predicted
beyond the training (the plainest script), and "auc" is null.

The features, their kinds and the category codes come from BUNDLE/contract.json; the
XGBoost parameters and rounds from BUNDLE/params.json. CSV is read with pandas.read_csv.
With BASE_BUNDLE, training continues its model (xgb_model), as cdn train --model-in does.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb


def frame(path, contract):
    df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    cols = {}
    for f in contract["features"]:
        if f["kind"] == "numeric":
            cols[f["name"]] = df[f["field"]].astype("float32")
        elif f["kind"] == "categorical":
            cols[f["name"]] = pd.Categorical(df[f["field"]], categories=f["categories"])
        else:
            ts = pd.to_datetime(df[f["field"]], utc=True, format="ISO8601" if pd.__version__ >= "2" else None)
            cols[f["name"]] = (ts.dt.hour if f["kind"] == "hour_of_day" else ts.dt.dayofweek).astype("float32")
    return pd.DataFrame(cols), df[contract["label"]].astype("float32")


def auc(p, y):
    order = np.argsort(-p, kind="mergesort")
    p, y = p[order], y[order]
    pos = neg = area = 0.0
    i = 0
    n = len(p)
    while i < n:
        j = i
        tp = fp = 0
        while j < n and p[j] == p[i]:
            if y[j] > 0.5:
                tp += 1
            else:
                fp += 1
            j += 1
        area += fp * (pos + tp / 2)
        pos += tp
        neg += fp
        i = j
    return area / (pos * neg) if pos * neg > 0 else None  # None: one class only (regression)


def main():
    args = sys.argv[1:]
    sets = ["train", "valid"]
    if args[:1] == ["--evals"]:
        sets = [] if args[1] == "none" else args[1].split(",")
        args = args[2:]
    bundle, train_path, valid_path = args[:3]
    base = xgb.Booster(model_file=f"{args[3]}/model.ubj") if len(args) > 3 else None
    contract = json.load(open(f"{bundle}/contract.json"))
    params = json.load(open(f"{bundle}/params.json"))
    t0 = time.time()
    xtr, ytr = frame(train_path, contract)
    plain = not sets and valid_path == "-"
    if not plain:
        xva, yva = frame(valid_path, contract)
    t1 = time.time()
    plist = [tuple(kv) for kv in params["xgboost"]]
    dtr = xgb.DMatrix(xtr, label=ytr, enable_categorical=True, nthread=-1)
    if plain:
        booster = xgb.train(plist, dtr, params["rounds_run"], xgb_model=base)
        print(json.dumps({"auc": None, "read_s": t1 - t0, "train_s": time.time() - t1,
                          "history": {}}))
        return
    dva = xgb.DMatrix(xva, label=yva, enable_categorical=True, nthread=-1)
    named = {"train": dtr, "valid": dva}
    evals_result = {}
    booster = xgb.train(plist, dtr, params["rounds_run"], evals=[(named[s], s) for s in sets],
                        evals_result=evals_result, verbose_eval=False, xgb_model=base)
    t2 = time.time()
    p = booster.predict(dva)
    print(json.dumps({"auc": auc(np.asarray(p), np.asarray(yva)), "read_s": t1 - t0,
                      "train_s": t2 - t1,
                      "history": {f"{name}-{metric}": values
                                  for name, metrics in evals_result.items()
                                  for metric, values in metrics.items()}}))


main()
