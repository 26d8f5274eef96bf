"""Checks a cdn train report against its bundle: every chart is an inline SVG whose plotted
points map back (through the chart's data ranges) to the figures of metrics.json and
importance.json; the ROC curve's area matches the AUC; tick labels are round numbers (a step
of 1, 2, 2.5 or 5 times a power of ten) and an axis of a metric that cannot be negative does
not go below 0; the best round is labelled; the tables (parameters, data, features,
thresholds, calibration, confusion rates) agree with the bundle; the footer names the
versions and the date; nothing is loaded from outside.

usage: check_report.py REPORT.html BUNDLE  -> "charts: ...; every series matches"
"""
import json
import math
import re
import sys
from html.parser import HTMLParser

NONNEGATIVE = {"rmse", "rmsle", "mae", "mape", "logloss", "error", "merror", "mlogloss", "auc", "aucpr"}


class Report(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts = []
        self.external = []
        self.tables = {}
        self.table = None
        self.cell = None
        self.text = None
        self.footer = None
        self.notes = []
        self.in_note = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.external.append((tag, a[k]))
        if tag in ("link", "img", "script", "iframe", "object", "embed"):
            self.external.append((tag, ""))
        if tag == "svg":
            self.charts.append({"attrs": a, "items": [], "texts": []})
        elif self.charts and tag in ("polyline", "rect", "circle", "line") and "data-series" in a:
            self.charts[-1]["items"].append((tag, a))
        elif tag == "text" and self.charts:
            self.text = [a.get("class", ""), ""]
        elif tag == "table":
            self.table = a.get("class", "")
            self.tables.setdefault(self.table, []).append([])
        elif tag == "tr" and self.table is not None:
            self.tables[self.table][-1].append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = ""
        elif tag == "footer":
            self.footer = ""
        elif tag == "p" and a.get("class") == "note":
            self.in_note = True
            self.notes.append("")

    def handle_endtag(self, tag):
        if tag == "text" and self.text is not None:
            self.charts[-1]["texts"].append(tuple(self.text))
            self.text = None
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[self.table][-1][-1].append(self.cell.strip())
            self.cell = None
        elif tag == "table":
            self.table = None
        elif tag == "p":
            self.in_note = False

    def handle_data(self, data):
        if self.text is not None:
            self.text[1] += data
        if self.cell is not None:
            self.cell += data
        if self.footer is not None:
            self.footer += data
        if self.in_note:
            self.notes[-1] += data


def fail(msg):
    print(msg)
    sys.exit(1)


def mapper(a, axis):
    lo, hi = float(a[f"data-{axis}-min"]), float(a[f"data-{axis}-max"])
    p0, p1 = float(a[f"data-{axis}0"]), float(a[f"data-{axis}1"])
    return (lambda px: lo + (px - p0) / (p1 - p0) * (hi - lo)), abs(hi - lo) / abs(p1 - p0)


def round_ticks(name, texts):
    """Tick labels along one axis: evenly spaced by 1, 2, 2.5 or 5 times a power of ten."""
    for axis in ("x", "y"):
        vals = [float(t) for c, t in texts if c == f"tick {axis}" and re.fullmatch(r"-?[0-9.]+", t)]
        if len(vals) < 2:
            continue
        vals.sort()
        step = vals[1] - vals[0]
        mant = step / 10 ** math.floor(math.log10(step))
        if not any(abs(mant - m) < 1e-6 for m in (1, 2, 2.5, 5, 10)):
            fail(f"{name}: {axis} ticks {vals} are not round")
        for a, b in zip(vals, vals[1:]):
            if abs((b - a) - step) > 1e-6 * step:
                fail(f"{name}: {axis} ticks {vals} are not evenly spaced")
        for v in vals:
            if abs(v / step - round(v / step)) > 1e-6:
                fail(f"{name}: {axis} tick {v} is not a multiple of {step}")


def main():
    html, bundle = sys.argv[1:3]
    p = Report()
    p.feed(open(html, encoding="utf-8").read())
    if p.external:
        fail(f"external resources: {p.external}")
    metrics = json.load(open(f"{bundle}/metrics.json"))
    importance = json.load(open(f"{bundle}/importance.json"))
    summary = json.load(open(f"{bundle}/summary.json"))
    params = json.load(open(f"{bundle}/params.json"))
    nfeatures = len(json.load(open(f"{bundle}/contract.json"))["features"])
    names = []
    for chart in p.charts:
        a = chart["attrs"]
        name = a["data-chart"]
        names.append(name)
        items = chart["items"]
        if "viewbox" not in a or a.get("width") != "100%" or "height" in a:
            fail(f"{name}: not a full-width svg with a viewBox")
        vb = [float(v) for v in a["viewbox"].split()]
        round_ticks(name, chart["texts"])
        if name.startswith("learning-"):
            metric = name[len("learning-"):]
            fx, _ = mapper(a, "x")
            fy, tol = mapper(a, "y")
            if metric.split("@")[0] in NONNEGATIVE and float(a["data-y-min"]) < 0:
                fail(f"{name}: the y axis goes below 0 ({a['data-y-min']})")
            lines = [i for t, i in items if t == "polyline"]
            if not lines:
                fail(f"{name}: no lines")
            for line in lines:
                col = metrics["columns"].index(line["data-series"])
                pts = [tuple(map(float, xy.split(","))) for xy in line["points"].split()]
                if len(pts) != len(metrics["history"]):
                    fail(f"{name}: {len(pts)} points for {len(metrics['history'])} rounds")
                for r, (x, y) in enumerate(pts):
                    want = metrics["history"][r][col]
                    if abs(fx(x) - r) > 0.01 or abs(fy(y) - want) > 2 * tol:
                        fail(f"{name}: round {r} plotted at {fy(y)}, metric {want}")
            best = metrics.get("best_iteration", -1)
            if best is not None and best >= 0:
                line = [i for t, i in items if i["data-series"] == "best-iteration"]
                if not line or abs(fx(float(line[0]["x1"])) - best) > 0.01:
                    fail(f"{name}: no line at the best round {best}")
                if ("ref-label", f"best round {best}") not in chart["texts"]:
                    fail(f"{name}: the best round line is not labelled 'best round {best}'")
        elif name.startswith("importance-"):
            kind = name[len("importance-"):]
            fx, tol = mapper(a, "x")
            bars = [i for t, i in items if t == "rect"]
            if len(bars) != nfeatures:
                fail(f"{name}: not one bar per feature")
            for bar in bars:
                want = importance[kind].get(bar["data-series"], 0.0)
                got = fx(float(bar["x"]) + float(bar["width"]))
                if abs(got - want) > 2 * tol + 1e-9 * abs(want):
                    fail(f"{name}: {bar['data-series']} drawn as {got}, {kind} {want}")
        elif name == "roc":
            fx, _ = mapper(a, "x")
            fy, _ = mapper(a, "y")
            roc = [i for t, i in items if t == "polyline" and i["data-series"] == "roc"][0]
            pts = [tuple(map(float, xy.split(","))) for xy in roc["points"].split()]
            pts = [(fx(x), fy(y)) for x, y in pts]
            if len(pts) < 10 or pts[0] != (0.0, 0.0) or abs(pts[-1][0] - 1) > 1e-3 or abs(pts[-1][1] - 1) > 1e-3:
                fail(f"roc: {len(pts)} points from {pts[0]} to {pts[-1]}")
            area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(pts, pts[1:]))
            if abs(area - metrics["final"]["auc"]) > 0.01:
                fail(f"roc: area {area}, auc {metrics['final']['auc']}")
        elif name == "pr":
            fx, _ = mapper(a, "x")
            fy, _ = mapper(a, "y")
            pr = [i for t, i in items if t == "polyline" and i["data-series"] == "pr"][0]
            pts = [(fx(x), fy(y)) for x, y in (map(float, xy.split(",")) for xy in pr["points"].split())]
            label = summary["label"]["valid" if "valid" in summary["label"] else "train"]
            share = label.get("1", 0) / sum(label.values())
            if len(pts) < 10 or abs(pts[-1][0] - 1) > 1e-3 or abs(pts[-1][1] - share) > 2e-3:
                fail(f"pr: {len(pts)} points ending at {pts[-1]}, positive share {share}")
            if any(b[0] < a_[0] - 1e-3 for a_, b in zip(pts, pts[1:])):
                fail("pr: recall goes down")
        elif name == "calibration":
            fx, _ = mapper(a, "x")
            fy, _ = mapper(a, "y")
            dots = [i for t, i in items if t == "circle"]
            if not 2 <= len(dots) <= 10:
                fail(f"calibration: {len(dots)} bins")
            for d in dots:
                x, y = fx(float(d["cx"])), fy(float(d["cy"]))
                if not (-1e-3 <= x <= 1.001 and -1e-3 <= y <= 1.001):
                    fail(f"calibration: a bin at {x}, {y}")
        elif name == "residuals":
            dots = [i for t, i in items if t == "circle"]
            if len(dots) < 100 or any(not (vb[0] <= float(d["cx"]) <= vb[2] and vb[1] <= float(d["cy"]) <= vb[3]) for d in dots):
                fail(f"residuals: {len(dots)} points, or some outside the chart")
            if not [i for t, i in items if i["data-series"] == "zero"]:
                fail("residuals: no zero line")
            if not any("1st–99th percentile" in n for n in p.notes):
                fail("residuals: the clipping is not said")
    # The tables.
    got = {r[0]: r[1] for r in p.tables["params"][0][1:]}
    for k, v in dict(params["xgboost"]).items():
        if got.get(k) != str(v):
            fail(f"params: {k} is {got.get(k)!r}, params.json {v!r}")
    data = {r[0]: r[1:] for r in p.tables["data"][0][1:]}
    if data["rows"][0] != str(summary["rows"]["train"]):
        fail(f"data: {data['rows']} rows, summary.json {summary['rows']}")
    feats = p.tables["features"][0][1:]
    for row, f in zip(feats, summary["features"]):
        if row[0] != f["name"] or not row[2].startswith(f"{f['missing']} ("):
            fail(f"features: {row} against {f}")
    if len(feats) != len(summary["features"]):
        fail("features: not one row per feature")
    tables = ["params", "data", "features", "importance"]
    if "roc" in names:
        th = p.tables["thresholds"][0][1:]
        if [r[0] for r in th] != [f"0.{i}" for i in range(1, 10)]:
            fail(f"thresholds: {[r[0] for r in th]}")
        for r in th:
            if "–" not in r[1:4]:
                prec, rec, f1 = map(float, r[1:4])
                if abs(f1 - 2 * prec * rec / (prec + rec)) > 2e-3:
                    fail(f"thresholds: F1 {f1} of precision {prec} and recall {rec}")
        if len(p.tables["calibration"][0]) != 11:
            fail("calibration: not ten bins")
        got = [[int(v) for v in row[1:]] for row in p.tables["rates"][0][1:]]
        if got != metrics["final"]["confusion"]:
            fail(f"rates: confusion {got}, metrics.json {metrics['final']['confusion']}")
        rates = {r[0]: float(r[1]) for r in p.tables["rates"][1]}
        if abs(rates["true positive rate (recall)"] - metrics["final"]["recall"]) > 1e-3:
            fail(f"rates: recall {rates['true positive rate (recall)']}, metrics.json {metrics['final']['recall']}")
        tables += ["thresholds", "calibration", "rates"]
    if metrics["final"].get("confusion") and "roc" not in names:
        got = [[int(v) for v in row[1:]] for row in p.tables["confusion"][0][1:]]
        if got != metrics["final"]["confusion"]:
            fail(f"confusion: {got}, metrics.json {metrics['final']['confusion']}")
        tables.append("confusion")
    if not p.footer or not re.search(r"cdn \d+\.\d+\.\d+ · XGBoost \d+\.\d+\.\d+ · written \d{4}-\d\d-\d\d \d\d:\d\d UTC", p.footer):
        fail(f"footer: {p.footer!r}")
    print("charts: " + " ".join(names) + "; every series matches")
    print("tables: " + " ".join(tables) + "; footer with versions and date")


main()
