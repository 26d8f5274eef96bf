"""Drift computed apart from cdn, on the bins of a bundle's reference.json.

drift_psi.py BUNDLE LIVE.ndjson PREDICTIONS.ndjson REPORT_LINE [TRAIN.csv]

Bins the live records (each feature's value as the 32-bit float cdn reads, a category by the
contract's vocabulary) and the predictions' scores into the reference's bins, computes the
population stability index (shares floored at 1e-4) and checks it equals the report line's
within 1e-9. With TRAIN.csv (a bundle trained on it alone, no validation split), also checks
the reference itself: each number's edges are the tenths of its training values and every
share is the training rows' share. Prints 'feature psi' lines, the score last.
"""
import json
import math
import sys

import numpy as np
import pandas as pd

FLOOR = 1e-4


def bin_of(dist, value):
    """The bin of one value: NaN or None is missing; a category outside the vocabulary 'other'."""
    n = len(dist["share"])
    if dist["kind"] == "categorical":
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return n - 1
        cats = dist["categories"]
        return cats.index(value) if value in cats else n - 2
    if value is None or math.isnan(value):
        return n - 1
    v = float(np.float32(value))
    return int(np.searchsorted(np.array(dist["edges"], dtype=np.float64), v, side="right"))


def psi(ref, counts):
    total = sum(counts)
    s = 0.0
    for e, c in zip(ref, counts):
        a = max(c / total, FLOOR)
        e = max(e, FLOOR)
        s += (a - e) * math.log(a / e)
    return s


def main():
    bundle, live, preds, report = sys.argv[1:5]
    ref = json.load(open(f"{bundle}/reference.json"))
    contract = json.load(open(f"{bundle}/contract.json"))
    line = json.loads(open(report).readline())
    fields = {f["name"]: f["field"] for f in contract["features"]}
    records = [json.loads(x) for x in open(live)]
    bad = []
    for dist in ref["features"]:
        counts = [0] * len(dist["share"])
        for r in records:
            counts[bin_of(dist, r.get(fields[dist["name"]]))] += 1
        mine, theirs = psi(dist["share"], counts), line["psi"][dist["name"]]
        print(f"{dist['name']} {mine:.6f}")
        if abs(mine - theirs) > 1e-9:
            bad.append(f"{dist['name']}: {mine} here, {theirs} in the report")
    counts = [0] * len(ref["score"]["share"])
    for x in open(preds):
        p = json.loads(x)["prediction"]
        counts[bin_of(ref["score"], max(p) if isinstance(p, list) else p)] += 1
    mine = psi(ref["score"]["share"], counts)
    print(f"score {mine:.6f}")
    if abs(mine - line["score_psi"]) > 1e-9:
        bad.append(f"score: {mine} here, {line['score_psi']} in the report")
    if len(records) != line["records"]:
        bad.append(f"{len(records)} records here, {line['records']} in the report")
    if len(sys.argv) > 5:
        train = pd.read_csv(sys.argv[5], keep_default_na=False, na_values=[""], dtype=str)
        for dist in ref["features"]:
            col = train[fields[dist["name"]]]
            n = len(col)
            if dist["kind"] == "numeric":
                v = np.sort(col.dropna().astype(np.float64).astype(np.float32))
                edges = []
                for q in range(1, 10):
                    e = float(v[min(len(v) - 1, len(v) * q // 10)])
                    if not edges or e > edges[-1]:
                        edges.append(e)
                if edges != dist["edges"]:
                    bad.append(f"{dist['name']}: edges {edges} here, {dist['edges']} in the bundle")
                values = [None if pd.isna(x) else float(x) for x in col]
            else:
                values = [None if pd.isna(x) else x for x in col]
            counts = [0] * len(dist["share"])
            for x in values:
                counts[bin_of(dist, x)] += 1
            shares = [c / n for c in counts]
            if any(abs(a - b) > 1e-12 for a, b in zip(shares, dist["share"])):
                bad.append(f"{dist['name']}: shares {shares} here, {dist['share']} in the bundle")
    if bad:
        sys.exit("\n".join(bad))


if __name__ == "__main__":
    main()
