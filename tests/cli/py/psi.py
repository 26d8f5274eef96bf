"""Population stability index of features between two NDJSON files, as drift monitoring
computes it: PSI = sum over bins of (p_live - p_ref) * ln(p_live / p_ref), every proportion
floored at 1e-4.

usage: psi.py REFERENCE.ndjson LIVE.ndjson FEATURE...
prints one line 'FEATURE PSI' per feature (PSI with four decimals), in the order given.

Bins come from the reference. A feature whose present values in the reference are all numbers
is numeric: its bins are split at the reference's deciles (numpy's linear quantiles at 0.1 ..
0.9, repeated edges merged), a value v falling in the bin of the first edge e with v <= e, or
the last bin when above every edge. Any other feature is categorical: one bin per value of the
reference, an 'other' bin for values the reference never had. Both have a missing bin (field
absent or null; in a numeric feature, a value that is not a number too). Exit status 2 on a
usage error, an unreadable file or a line that is not a JSON object.
"""
import json
import math
import sys

import numpy as np

FLOOR = 1e-4


def load(path, features):
    cols = {f: [] for f in features}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if not isinstance(rec, dict):
                sys.exit(f"psi.py: line {n} of '{path}' is not a JSON object")
            for f in features:
                cols[f].append(rec.get(f))
    return cols


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def numeric_bins(ref, values):
    """Counts per bin: the decile bins of ref, then missing."""
    edges = np.unique(np.quantile(np.asarray([v for v in ref if is_number(v)], float),
                                  np.linspace(0.1, 0.9, 9)))
    nums = np.asarray([v for v in values if is_number(v)], float)
    counts = np.bincount(np.searchsorted(edges, nums, side="left"), minlength=len(edges) + 1)
    return list(counts) + [len(values) - len(nums)]


def categorical_bins(ref, values):
    """Counts per bin: each category of ref, other, then missing."""
    cats = sorted({str(v) for v in ref if v is not None})
    index = {c: i for i, c in enumerate(cats)}
    counts = [0] * (len(cats) + 2)
    for v in values:
        if v is None:
            counts[-1] += 1
        else:
            counts[index.get(str(v), len(cats))] += 1
    return counts


def psi(ref_counts, live_counts):
    nr, nl = sum(ref_counts), sum(live_counts)
    total = 0.0
    for r, l in zip(ref_counts, live_counts):
        p_ref = max(r / nr if nr else 0.0, FLOOR)
        p_live = max(l / nl if nl else 0.0, FLOOR)
        total += (p_live - p_ref) * math.log(p_live / p_ref)
    return total


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    ref_path, live_path, features = argv[1], argv[2], argv[3:]
    try:
        ref, live = load(ref_path, features), load(live_path, features)
    except OSError as e:
        sys.exit(f"psi.py: cannot read '{e.filename}': {e.strerror}")
    for f in features:
        present = [v for v in ref[f] if v is not None]
        bins = numeric_bins if present and all(is_number(v) for v in present) else categorical_bins
        print(f"{f} {psi(bins(ref[f], ref[f]), bins(ref[f], live[f])):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
