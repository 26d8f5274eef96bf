"""Checks a cdn train --report file against its bundle: every chart is an inline SVG whose
plotted points map back (through the chart's data ranges) to the figures of metrics.json
and importance.json; the ROC curve's area matches the AUC; nothing is loaded from outside.

usage: check_report.py REPORT.html BUNDLE  -> "charts: ...; every series matches"
"""
import json
import sys
from html.parser import HTMLParser


class Svg(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts = []
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.external.append((tag, a[k]))
        if tag in ("link", "img", "script", "iframe"):
            self.external.append((tag, ""))
        if tag == "svg":
            self.charts.append({"attrs": a, "items": []})
        elif self.charts and tag in ("polyline", "rect", "circle", "line") and "data-series" in a:
            self.charts[-1]["items"].append((tag, a))


def fail(msg):
    print(msg)
    sys.exit(1)


def mapper(a, axis):
    lo, hi = float(a[f"data-{axis}-min"]), float(a[f"data-{axis}-max"])
    p0, p1 = float(a[f"data-{axis}0"]), float(a[f"data-{axis}1"])
    return (lambda px: lo + (px - p0) / (p1 - p0) * (hi - lo)), abs(hi - lo) / abs(p1 - p0)


def main():
    html, bundle = sys.argv[1:3]
    p = Svg()
    p.feed(open(html).read())
    if p.external:
        fail(f"external resources: {p.external}")
    metrics = json.load(open(f"{bundle}/metrics.json"))
    gain = json.load(open(f"{bundle}/importance.json"))["gain"]
    names = []
    for chart in p.charts:
        a = chart["attrs"]
        name = a["data-chart"]
        names.append(name)
        items = chart["items"]
        if name.startswith("learning-"):
            fx, _ = mapper(a, "x")
            fy, tol = mapper(a, "y")
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
        elif name == "importance":
            fx, tol = mapper(a, "x")
            bars = [i for t, i in items if t == "rect"]
            if len(bars) != len(json.load(open(f"{bundle}/contract.json"))["features"]):
                fail("importance: not one bar per feature")
            for bar in bars:
                want = gain.get(bar["data-series"], 0.0)
                got = fx(float(bar["x"]) + float(bar["width"]))
                if abs(got - want) > 2 * tol + 1e-9 * abs(want):
                    fail(f"importance: {bar['data-series']} drawn as {got}, gain {want}")
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
        elif name == "residuals":
            dots = [i for t, i in items if t == "circle"]
            w, h = float(a["width"]), float(a["height"])
            if len(dots) < 100 or any(not (0 <= float(d["cx"]) <= w and 0 <= float(d["cy"]) <= h) for d in dots):
                fail(f"residuals: {len(dots)} points, or some outside the chart")
    print("charts: " + " ".join(names) + "; every series matches")


main()
