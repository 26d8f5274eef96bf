"""The Python way to score a file of records: the json module per line, a feature row by the
bundle's contract, xgboost's inplace_predict in batches, json.dumps per prediction.

usage: predict_py.py BUNDLE IN.ndjson OUT.ndjson [BATCH]
"""
import json
import sys

import numpy as np
import xgboost as xgb

bundle, src, dst = sys.argv[1:4]
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 4096
contract = json.load(open(f"{bundle}/contract.json"))
booster = xgb.Booster(model_file=f"{bundle}/model.ubj")
feats = contract["features"]
codes = [{c: i for i, c in enumerate(f.get("categories", []))} for f in feats]
num = [f["kind"] == "numeric" for f in feats]
idf, tsf = contract["id_field"], contract["time_field"]


def flush(rows, heads, out):
    x = np.array(rows, dtype=np.float32)
    p = booster.inplace_predict(x, missing=np.nan)
    for (sid, ts), v in zip(heads, p):
        out.write(json.dumps({"sampleID": sid, "timestamp": ts, "prediction": float(v)}) + "\n")


with open(src) as f, open(dst, "w") as out:
    rows, heads = [], []
    for line in f:
        rec = json.loads(line)
        row = []
        for j, fe in enumerate(feats):
            v = rec.get(fe["field"])
            if v is None:
                row.append(np.nan)
            elif num[j]:
                row.append(float(v))
            else:
                row.append(codes[j].get(v, np.nan))
        rows.append(row)
        heads.append((rec[idf], rec[tsf]))
        if len(rows) == batch:
            flush(rows, heads, out)
            rows, heads = [], []
    if rows:
        flush(rows, heads, out)
