#include "common/model/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/model/metrics.hpp"

namespace cdn::model {

namespace {
constexpr double kW = 640, kH = 320, kLeft = 60, kRight = 20, kTop = 20, kBottom = 40;
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

std::string esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string fmt(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string px(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

struct Scale {
  double lo, hi, a, b;  // value lo..hi onto pixels a..b
  double operator()(double v) const {
    return hi == lo ? (a + b) / 2 : a + (v - lo) / (hi - lo) * (b - a);
  }
};

// A chart's frame: the svg element with its data ranges (so that a reader can map the
// plotted points back to values), axes and tick labels.
std::string open_chart(const std::string& id, const std::string& title, const Scale& x,
                       const Scale& y, const std::string& xlabel, const std::string& ylabel) {
  std::string s = "<figure><figcaption>" + esc(title) + "</figcaption>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"" + esc(id) +
       "\" width=\"" + px(kW) + "\" height=\"" + px(kH) + "\" data-x-min=\"" + fmt(x.lo) +
       "\" data-x-max=\"" + fmt(x.hi) + "\" data-y-min=\"" + fmt(y.lo) + "\" data-y-max=\"" +
       fmt(y.hi) + "\" data-x0=\"" + px(x.a) + "\" data-x1=\"" + px(x.b) + "\" data-y0=\"" +
       px(y.a) + "\" data-y1=\"" + px(y.b) + "\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + px(kW) + "\" height=\"" + px(kH) + "\" fill=\"#fff\"/>\n";
  s += "<line x1=\"" + px(kLeft) + "\" y1=\"" + px(kH - kBottom) + "\" x2=\"" + px(kW - kRight) +
       "\" y2=\"" + px(kH - kBottom) + "\" stroke=\"#333\"/>\n";
  s += "<line x1=\"" + px(kLeft) + "\" y1=\"" + px(kTop) + "\" x2=\"" + px(kLeft) + "\" y2=\"" +
       px(kH - kBottom) + "\" stroke=\"#333\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double vx = x.lo + (x.hi - x.lo) * i / 4, vy = y.lo + (y.hi - y.lo) * i / 4;
    s += "<text x=\"" + px(x(vx)) + "\" y=\"" + px(kH - kBottom + 14) +
         "\" font-size=\"10\" text-anchor=\"middle\">" + fmt(vx) + "</text>\n";
    s += "<text x=\"" + px(kLeft - 4) + "\" y=\"" + px(y(vy) + 3) +
         "\" font-size=\"10\" text-anchor=\"end\">" + fmt(vy) + "</text>\n";
  }
  s += "<text x=\"" + px((kLeft + kW - kRight) / 2) + "\" y=\"" + px(kH - 6) +
       "\" font-size=\"11\" text-anchor=\"middle\">" + esc(xlabel) + "</text>\n";
  s += "<text x=\"12\" y=\"" + px((kTop + kH - kBottom) / 2) +
       "\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 " +
       px((kTop + kH - kBottom) / 2) + ")\">" + esc(ylabel) + "</text>\n";
  return s;
}

std::string polyline(const std::string& series, const std::vector<std::pair<double, double>>& pts,
                     const Scale& x, const Scale& y, const char* color) {
  std::string s = "<polyline data-series=\"" + esc(series) + "\" fill=\"none\" stroke=\"" + color +
                  "\" stroke-width=\"1.5\" points=\"";
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i) s += ' ';
    s += px(x(pts[i].first)) + "," + px(y(pts[i].second));
  }
  return s + "\"/>\n";
}

std::string legend(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    double yy = kTop + 12 + 14 * static_cast<double>(i);
    s += "<rect x=\"" + px(kW - kRight - 150) + "\" y=\"" + px(yy - 8) +
         "\" width=\"10\" height=\"10\" fill=\"" + kColors[i % 6] + "\"/>";
    s += "<text x=\"" + px(kW - kRight - 135) + "\" y=\"" + px(yy) + "\" font-size=\"11\">" +
         esc(names[i]) + "</text>\n";
  }
  return s;
}

Scale y_axis(double lo, double hi) {
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  double pad = (hi - lo) * 0.05;
  return {lo - pad, hi + pad, kH - kBottom, kTop};
}

std::string learning_curves(const TrainResult& r) {
  // One chart per metric, a line per data set.
  std::map<std::string, std::vector<size_t>> by_metric;
  std::vector<std::string> order;
  for (size_t c = 0; c < r.columns.size(); ++c) {
    std::string metric = r.columns[c].substr(r.columns[c].find('-') + 1);
    if (!by_metric.count(metric)) order.push_back(metric);
    by_metric[metric].push_back(c);
  }
  std::string s;
  for (const auto& metric : order) {
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& row : r.history) {
      for (size_t c : by_metric[metric]) {
        if (c < row.size() && std::isfinite(row[c])) {
          lo = std::min(lo, row[c]);
          hi = std::max(hi, row[c]);
        }
      }
    }
    if (!std::isfinite(lo)) continue;
    Scale x{0, static_cast<double>(std::max<size_t>(r.history.size(), 2) - 1), kLeft, kW - kRight};
    Scale y = y_axis(lo, hi);
    s += open_chart("learning-" + metric, "Learning curve: " + metric + " per round", x, y, "round",
                    metric);
    std::vector<std::string> names;
    size_t k = 0;
    for (size_t c : by_metric[metric]) {
      std::vector<std::pair<double, double>> pts;
      for (size_t i = 0; i < r.history.size(); ++i) {
        pts.emplace_back(static_cast<double>(i), r.history[i][c]);
      }
      s += polyline(r.columns[c], pts, x, y, kColors[k % 6]);
      names.push_back(r.columns[c]);
      ++k;
    }
    if (r.best_iteration >= 0) {
      s += "<line data-series=\"best-iteration\" x1=\"" + px(x(r.best_iteration)) + "\" y1=\"" +
           px(kTop) + "\" x2=\"" + px(x(r.best_iteration)) + "\" y2=\"" + px(kH - kBottom) +
           "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n";
    }
    s += legend(names) + "</svg></figure>\n";
  }
  return s;
}

std::string importance_chart(const Contract& c, const std::vector<double>& gain) {
  std::vector<size_t> idx(gain.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return gain[a] > gain[b]; });
  double hi = gain.empty() ? 1 : std::max(gain[idx[0]], 1e-12);
  double row_h = 18, h = kTop + row_h * static_cast<double>(idx.size()) + kBottom;
  Scale x{0, hi, 160, kW - kRight - 60};
  std::string s = "<figure><figcaption>Feature importance (gain)</figcaption>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"importance\" "
       "width=\"" +
       px(kW) + "\" height=\"" + px(h) + "\" data-x-min=\"0\" data-x-max=\"" + fmt(hi) +
       "\" data-x0=\"" + px(x.a) + "\" data-x1=\"" + px(x.b) + "\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + px(kW) + "\" height=\"" + px(h) + "\" fill=\"#fff\"/>\n";
  for (size_t i = 0; i < idx.size(); ++i) {
    double yy = kTop + row_h * static_cast<double>(i);
    const std::string& name = c.features[idx[i]].name;
    s += "<text x=\"155\" y=\"" + px(yy + 12) + "\" font-size=\"11\" text-anchor=\"end\">" +
         esc(name) + "</text>";
    s += "<rect data-series=\"" + esc(name) + "\" data-value=\"" + fmt(gain[idx[i]]) + "\" x=\"" +
         px(x.a) + "\" y=\"" + px(yy + 2) + "\" width=\"" + px(x(gain[idx[i]]) - x.a) +
         "\" height=\"" + px(row_h - 4) + "\" fill=\"" + kColors[0] + "\"/>";
    s += "<text x=\"" + px(x(gain[idx[i]]) + 4) + "\" y=\"" + px(yy + 12) + "\" font-size=\"10\">" +
         fmt(gain[idx[i]]) + "</text>\n";
  }
  return s + "</svg></figure>\n";
}

std::string roc_chart(const TrainResult& r, const std::vector<float>& labels) {
  auto pts = roc_curve(r.final_predictions, labels, 200);
  Scale x{0, 1, kLeft, kW - kRight}, y{0, 1, kH - kBottom, kTop};
  std::string s = open_chart(
      "roc",
      "ROC curve on the " + r.final_metrics.evaluated_on + " set, AUC " + fmt(r.final_metrics.auc),
      x, y, "false positive rate", "true positive rate");
  s += polyline("chance", {{0, 0}, {1, 1}}, x, y, "#bbb");
  s += polyline("roc", pts, x, y, kColors[0]);
  return s + "</svg></figure>\n";
}

std::string residual_chart(const TrainResult& r, const std::vector<float>& labels) {
  size_t n = labels.size(), step = std::max<size_t>(1, n / 2000);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t i = 0; i < n; i += step) {
    double p = r.final_predictions[i], res = labels[i] - p;
    xlo = std::min(xlo, p);
    xhi = std::max(xhi, p);
    ylo = std::min(ylo, res);
    yhi = std::max(yhi, res);
  }
  if (!std::isfinite(xlo)) return "";
  Scale x{xlo, xhi > xlo ? xhi : xlo + 1, kLeft, kW - kRight}, y = y_axis(ylo, yhi);
  std::string s = open_chart(
      "residuals", "Residuals (label - prediction) on the " + r.final_metrics.evaluated_on + " set",
      x, y, "prediction", "residual");
  for (size_t i = 0; i < n; i += step) {
    double p = r.final_predictions[i];
    s += "<circle data-series=\"residual\" cx=\"" + px(x(p)) + "\" cy=\"" + px(y(labels[i] - p)) +
         "\" r=\"1.5\" fill=\"" + kColors[0] + "\" fill-opacity=\"0.5\"/>";
  }
  return s + "\n</svg></figure>\n";
}

std::string confusion_table(const FinalMetrics& m) {
  std::string s = "<h2>Confusion matrix (" + esc(m.evaluated_on) +
                  " set; rows: actual, columns: predicted)</h2>\n<table><tr><th></th>";
  for (size_t b = 0; b < m.confusion.size(); ++b) s += "<th>" + std::to_string(b) + "</th>";
  s += "</tr>\n";
  for (size_t a = 0; a < m.confusion.size(); ++a) {
    s += "<tr><th>" + std::to_string(a) + "</th>";
    for (uint64_t v : m.confusion[a]) s += "<td>" + std::to_string(v) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}
}  // namespace

void write_report(const std::string& path, const Contract& contract, const TrainResult& r,
                  const std::vector<float>& labels, const std::vector<double>& gain) {
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>cdn train report</title>\n<style>body{font-family:sans-serif;margin:2em;"
      "max-width:720px}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.4em}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;"
      "text-align:right}</style></head><body>\n<h1>cdn train: " +
      esc(contract.objective) + " on " + esc(contract.label) + "</h1>\n<p>" +
      std::to_string(contract.features.size()) + " features, " + std::to_string(r.rounds_run) +
      " rounds";
  if (r.best_iteration >= 0) s += ", best round " + std::to_string(r.best_iteration);
  s += ". " + esc(r.final_metrics.to_text().substr(0, r.final_metrics.to_text().find('\n'))) +
       "</p>\n";
  s += learning_curves(r);
  s += importance_chart(contract, gain);
  if (contract.binary()) {
    s += roc_chart(r, labels);
  } else if (!contract.multiclass()) {
    s += residual_chart(r, labels);
  }
  if (!r.final_metrics.confusion.empty()) s += confusion_table(r.final_metrics);
  s += "</body></html>\n";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << s;
  f.close();
  if (!f) throw RuntimeError("cannot write " + diag::quoted(path) + ": " + errno_text(errno));
}

}  // namespace cdn::model
