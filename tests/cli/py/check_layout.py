"""Measures a cdn train report as headless Chromium lays it out at a window width: a copy of
the report gets an inline script that reads the layout box (getBoundingClientRect) of every
text of every chart (tick labels, axis titles, legend, reference-line labels) and writes the
overlapping pairs into the DOM; `chromium --dump-dom` returns it.

usage: check_layout.py REPORT.html WIDTH CHART_ID...
prints "WIDTH px: N charts, no text overlaps" or the problems, exit 1.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

SCRIPT = r"""
<script>
window.addEventListener('load', function () {
  var out = {width: document.documentElement.clientWidth, charts: {}};
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var sr = svg.getBoundingClientRect();
    var texts = Array.prototype.map.call(svg.querySelectorAll('text'), function (t) {
      var r = t.getBoundingClientRect();
      return {cls: t.getAttribute('class') || '', text: t.textContent,
              l: r.left, t: r.top, r: r.right, b: r.bottom};
    });
    var overlaps = [], outside = [], minh = 1e9;
    for (var i = 0; i < texts.length; i++) {
      var a = texts[i];
      if (a.r - a.l < 0.5) continue;
      if (/tick/.test(a.cls)) minh = Math.min(minh, a.b - a.t);
      if (a.l < sr.left - 0.5 || a.r > sr.right + 0.5 || a.t < sr.top - 0.5 || a.b > sr.bottom + 0.5)
        outside.push(a.text);
      for (var j = i + 1; j < texts.length; j++) {
        var b = texts[j];
        var w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
        if (w > 0.5 && h > 0.5) overlaps.push([a.cls + ' "' + a.text + '"', b.cls + ' "' + b.text + '"']);
      }
    }
    out.charts[svg.dataset.chart] = {
      width: sr.width, height: sr.height, texts: texts.length,
      ticks: texts.filter(function (t) { return /tick/.test(t.cls); }).length,
      titles: texts.filter(function (t) { return /axis-title/.test(t.cls); }).length,
      overlaps: overlaps, outside: outside, min_tick_height: minh};
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def main():
    report, width, *want = sys.argv[1:]
    width = int(width)
    html = open(report, encoding="utf-8").read()
    with tempfile.TemporaryDirectory(prefix="cdn-layout-") as tmp:
        dom = layout(html, width, tmp)
    check(dom, width, want)


def layout(html, width, tmp):
    copy = os.path.join(tmp, "copy.html")
    with open(copy, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", SCRIPT + "</body>", 1))
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", f"--user-data-dir={tmp}/profile",
         "--hide-scrollbars", f"--window-size={width},3000", "--virtual-time-budget=5000",
         "--dump-dom", "file://" + copy],
        capture_output=True, text=True, timeout=120).stdout


def check(dom, width, want):
    m = re.search(r'<pre id="layout-result">(.*?)</pre>', dom, re.S)
    if not m:
        print(f"{width} px: no layout result in the DOM chromium dumped")
        sys.exit(1)
    res = json.loads(m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    problems = []
    charts = res["charts"]
    for cid in want:
        if cid not in charts:
            problems.append(f"chart {cid} missing")
    for cid, c in charts.items():
        if c["ticks"] < 2:
            problems.append(f"{cid}: {c['ticks']} tick labels")
        if not cid.startswith("importance") and c["titles"] != 2:
            problems.append(f"{cid}: {c['titles']} axis titles")
        for a, b in c["overlaps"]:
            problems.append(f"{cid}: {a} overlaps {b}")
        for t in c["outside"]:
            problems.append(f"{cid}: {t!r} is outside the chart")
        if c["min_tick_height"] < 10:
            problems.append(f"{cid}: tick labels {c['min_tick_height']:.1f} px high")
        # full width: the wide charts span most of the page
        if (cid.startswith("learning-") or cid == "residuals") and c["width"] < 0.85 * res["width"]:
            problems.append(f"{cid}: {c['width']:.0f} px wide in a {res['width']} px page")
    if problems:
        print(f"{width} px:\n" + "\n".join(problems))
        sys.exit(1)
    print(f"{width} px: {len(charts)} charts, no text overlaps")


main()
