#include "common/model/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/temp_file.hpp"
#include "common/model/metrics.hpp"
#include "common/model/report_chart.hpp"
#include "common/model/xgb.hpp"

namespace cdn::model {

namespace fs = std::filesystem;

namespace {
using namespace report_chart;  // NOLINT(google-build-using-namespace): the report's own charts
bool nonnegative_metric(const std::string& m) {
  std::string base = m.substr(0, m.find('@'));
  for (const char* n :
       {"rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc",
        "aucpr", "map", "ndcg", "pre", "poisson-nloglik", "gamma-deviance", "tweedie-nloglik"}) {
    if (base == n) return true;
  }
  return false;
}
bool unit_metric(const std::string& m) {
  std::string base = m.substr(0, m.find('@'));
  for (const char* n : {"error", "merror", "auc", "aucpr", "map", "ndcg", "pre"}) {
    if (base == n) return true;
  }
  return false;
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
    std::vector<Series> legend;
    size_t k = 0;
    for (size_t c : by_metric[metric]) legend.push_back({r.columns[c], kColors[k++ % 6]});
    if (r.best_iteration >= 0) legend.push_back({"best round", "#777", true});
    Chart ch("learning-" + metric, 900, 360);
    bool floor0 = nonnegative_metric(metric) || lo >= 0;
    ch.layout(0, static_cast<double>(std::max<size_t>(r.history.size(), 2) - 1), lo, hi, legend,
              true, floor0, unit_metric(metric), true);
    std::string svg = ch.open("round", metric);
    k = 0;
    for (size_t c : by_metric[metric]) {
      std::vector<std::pair<double, double>> pts;
      for (size_t i = 0; i < r.history.size(); ++i) {
        pts.emplace_back(static_cast<double>(i), r.history[i][c]);
      }
      svg += ch.polyline(r.columns[c], pts, kColors[k++ % 6]);
    }
    if (r.best_iteration >= 0) {
      svg += ch.reference("best-iteration", true, r.best_iteration,
                          "best round " + std::to_string(r.best_iteration));
    }
    s += figure("Learning curve: " + metric + " per round", svg);
  }
  return s;
}

std::string importance_charts(const Contract& c,
                              const std::map<std::string, std::vector<double>>& imp) {
  static const std::map<std::string, std::string> what = {
      {"gain", "gain: average loss reduction of the splits on the feature"},
      {"weight", "weight: number of splits on the feature"},
      {"cover", "cover: average number of rows the feature's splits reach"}};
  std::string s = "<div class=\"grid\">\n";
  double name_w = 0;
  for (const auto& f : c.features) name_w = std::max(name_w, text_width(f.name, kTick));
  for (const char* type : {"gain", "weight", "cover"}) {
    auto it = imp.find(type);
    if (it == imp.end()) continue;
    const auto& v = it->second;
    std::vector<size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
    double hi = v.empty() ? 1 : std::max(v[idx[0]], 1e-12);
    double row_h = 22, plot_h = row_h * static_cast<double>(idx.size());
    double w = 600, h = 12 + plot_h + 50;
    double left = 16 + name_w;
    double probe_w = text_width(fixed(hi, 2), kTick);
    double right = w - std::max(16.0, probe_w / 2 + 6);
    Axis x = make_axis(0, hi, right - left, probe_w + 24, true, false, false);
    x.a = left;
    x.b = right;
    double xw = x.label_width();
    if (xw > probe_w) {  // the ticks came out wider than guessed
      x = make_axis(0, hi, right - left, xw + 24, true, false, false);
      x.a = left;
      x.b = right;
    }
    double top = 12, bottom = top + plot_h;
    std::string svg =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"importance-" +
        std::string(type) + "\" viewBox=\"0 0 " + px(w) + " " + px(h) +
        "\" width=\"100%\" role=\"img\" data-x-min=\"" + fmt(x.lo) + "\" data-x-max=\"" +
        fmt(x.hi) + "\" data-x0=\"" + px(x.a) + "\" data-x1=\"" + px(x.b) + "\">\n";
    svg +=
        "<rect x=\"0\" y=\"0\" width=\"" + px(w) + "\" height=\"" + px(h) + "\" fill=\"#fff\"/>\n";
    for (double t : x.ticks.values) {
      svg += "<line class=\"gridline\" x1=\"" + px(x(t)) + "\" y1=\"" + px(top) + "\" x2=\"" +
             px(x(t)) + "\" y2=\"" + px(bottom + 5) + "\"/>";
      svg += "<text class=\"tick x\" x=\"" + px(x(t)) + "\" y=\"" + px(bottom + 22) +
             "\" text-anchor=\"middle\">" + x.label(t) + "</text>\n";
    }
    for (size_t i = 0; i < idx.size(); ++i) {
      double yy = top + row_h * static_cast<double>(i);
      const std::string& name = c.features[idx[i]].name;
      svg += "<text class=\"tick y\" x=\"" + px(left - 8) + "\" y=\"" +
             px(yy + row_h / 2 + kTick * 0.35) + "\" text-anchor=\"end\">" + esc(name) + "</text>";
      svg += "<rect data-series=\"" + esc(name) + "\" data-value=\"" + fmt(v[idx[i]]) + "\" x=\"" +
             px(x.a) + "\" y=\"" + px(yy + 3) + "\" width=\"" + px(x(v[idx[i]]) - x.a) +
             "\" height=\"" + px(row_h - 6) + "\" fill=\"" + kColors[0] + "\"><title>" + esc(name) +
             ": " + fmt(v[idx[i]]) + "</title></rect>\n";
    }
    svg += "<line class=\"axis\" x1=\"" + px(left) + "\" y1=\"" + px(bottom) + "\" x2=\"" +
           px(right) + "\" y2=\"" + px(bottom) + "\"/>\n";
    svg += "<text class=\"axis-title x\" x=\"" + px((left + right) / 2) + "\" y=\"" + px(h - 8) +
           "\" text-anchor=\"middle\">" + type + "</text>\n";
    s += figure("Feature importance by " + what.at(type), svg);
  }
  s += "</div>\n<h3>Feature importance</h3>\n<div class=\"scroll\"><table class=\"importance\">"
       "<tr><th>feature</th><th>gain</th><th>weight</th><th>cover</th></tr>\n";
  std::vector<size_t> idx(c.features.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto get = [&](const char* type, size_t f) {
    auto it = imp.find(type);
    return it == imp.end() || f >= it->second.size() ? 0.0 : it->second[f];
  };
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return get("gain", a) > get("gain", b); });
  for (size_t f : idx) {
    s += "<tr><th>" + esc(c.features[f].name) + "</th>";
    for (const char* type : {"gain", "weight", "cover"}) s += "<td>" + fmt(get(type, f)) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table></div>\n";
}

// Binary: precision and recall at each distinct score, from the highest down.
struct PrPoint {
  double recall, precision;
};
std::vector<PrPoint> pr_curve(const std::vector<float>& p, const std::vector<float>& y,
                              double& average_precision) {
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  double pos = 0;
  for (float v : y) pos += v;
  std::vector<PrPoint> all;
  double tp = 0, fp = 0, prev_recall = 0;
  average_precision = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    tp += y[idx[i]];
    fp += 1 - y[idx[i]];
    if (i + 1 < idx.size() && p[idx[i + 1]] == p[idx[i]]) continue;
    double recall = pos > 0 ? tp / pos : 0, precision = tp / (tp + fp);
    average_precision += (recall - prev_recall) * precision;
    prev_recall = recall;
    all.push_back({recall, precision});
  }
  size_t step = std::max<size_t>(1, all.size() / 400);
  std::vector<PrPoint> out;
  for (size_t i = 0; i < all.size(); i += step) out.push_back(all[i]);
  if (!all.empty() && (all.size() - 1) % step) out.push_back(all.back());
  return out;
}

struct Counts {
  double tp = 0, fp = 0, fn = 0, tn = 0;
};
Counts confusion_at(const std::vector<float>& p, const std::vector<float>& y, double t) {
  Counts c;
  for (size_t i = 0; i < p.size(); ++i) {
    bool pred = p[i] >= t, act = y[i] >= 0.5;
    (pred ? (act ? c.tp : c.fp) : (act ? c.fn : c.tn)) += 1;
  }
  return c;
}

std::string ratio(double a, double b) {
  return b > 0 ? fixed(a / b, 3) : "–";
}

std::string binary_section(const TrainResult& r, const std::vector<float>& labels) {
  const auto& p = r.final_predictions;
  const std::string& on = r.final_metrics.evaluated_on;
  std::string s = "<h2>Classification on the " + esc(on) + " set</h2>\n<div class=\"grid\">\n";
  {
    auto pts = roc_curve(p, labels, 200);
    Chart ch("roc", 520, 470);
    ch.layout(0, 1, 0, 1,
              {{"ROC, AUC " + fixed(r.final_metrics.auc, 4), kColors[0]}, {"chance", "#999", true}},
              true, true, true, false, true);
    std::string svg = ch.open("false positive rate", "true positive rate");
    svg += ch.polyline("chance", {{0, 0}, {1, 1}}, "#999", true, 1.5);
    svg += ch.polyline("roc", pts, kColors[0]);
    s += figure("ROC curve", svg);
  }
  double ap = 0;
  auto pr = pr_curve(p, labels, ap);
  double pos = 0;
  for (float v : labels) pos += v;
  double base = labels.empty() ? 0 : pos / static_cast<double>(labels.size());
  {
    Chart ch("pr", 520, 470);
    ch.layout(0, 1, 0, 1,
              {{"precision-recall, AP " + fixed(ap, 4), kColors[1]},
               {"positive share " + fixed(base, 3), "#999", true}},
              true, true, true, false, true);
    std::string svg = ch.open("recall", "precision");
    svg += ch.polyline("baseline", {{0, base}, {1, base}}, "#999", true, 1.5);
    std::vector<std::pair<double, double>> pts;
    for (const auto& q : pr) pts.emplace_back(q.recall, q.precision);
    svg += ch.polyline("pr", pts, kColors[1]);
    s += figure("Precision-recall curve", svg);
  }
  // Calibration: ten equal-width bins of the predicted probability.
  double sum_p[10] = {}, sum_y[10] = {}, n[10] = {};
  for (size_t i = 0; i < p.size(); ++i) {
    int b = std::clamp(static_cast<int>(p[i] * 10), 0, 9);
    sum_p[b] += p[i];
    sum_y[b] += labels[i];
    n[b] += 1;
  }
  std::string cal_rows;
  {
    Chart ch("calibration", 520, 470);
    ch.layout(0, 1, 0, 1, {{"observed share", kColors[2]}, {"perfect calibration", "#999", true}},
              true, true, true, false, true);
    std::string svg = ch.open("mean predicted probability", "observed positive share");
    svg += ch.polyline("perfect", {{0, 0}, {1, 1}}, "#999", true, 1.5);
    std::vector<std::pair<double, double>> pts;
    for (int b = 0; b < 10; ++b) {
      std::string range = fixed(b / 10.0, 1) + "–" + fixed((b + 1) / 10.0, 1);
      if (n[b] == 0) {
        cal_rows += "<tr><th>" + range + "</th><td>0</td><td>–</td><td>–</td></tr>\n";
        continue;
      }
      pts.emplace_back(sum_p[b] / n[b], sum_y[b] / n[b]);
      cal_rows += "<tr><th>" + range + "</th><td>" + fmt(n[b]) + "</td><td>" +
                  fixed(sum_p[b] / n[b], 3) + "</td><td>" + fixed(sum_y[b] / n[b], 3) +
                  "</td></tr>\n";
    }
    svg += ch.polyline("calibration", pts, kColors[2]);
    for (const auto& [mx, my] : pts) {
      svg += "<circle data-series=\"calibration-bin\" cx=\"" + px(ch.x()(mx)) + "\" cy=\"" +
             px(ch.y()(my)) + "\" r=\"4\" fill=\"" + kColors[2] + "\"/>";
    }
    s += figure("Calibration (10 equal-width bins)", svg + "\n");
  }
  s += "</div>\n<div class=\"grid tables\">\n<div><h3>Calibration bins</h3><table "
       "class=\"calibration\"><tr><th>predicted</th><th>rows</th><th>mean predicted</th>"
       "<th>observed share</th></tr>\n" +
       cal_rows + "</table></div>\n";
  s += "<div><h3>Thresholds</h3><table class=\"thresholds\"><tr><th>threshold</th>"
       "<th>precision</th><th>recall</th><th>F1</th><th>predicted positive</th></tr>\n";
  for (int t = 1; t <= 9; ++t) {
    Counts c = confusion_at(p, labels, t / 10.0);
    double prec = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NAN;
    double rec = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : NAN;
    std::string f1 = std::isfinite(prec) && std::isfinite(rec) && prec + rec > 0
                         ? fixed(2 * prec * rec / (prec + rec), 3)
                         : "–";
    s += "<tr><th>" + fixed(t / 10.0, 1) + "</th><td>" + ratio(c.tp, c.tp + c.fp) + "</td><td>" +
         ratio(c.tp, c.tp + c.fn) + "</td><td>" + f1 + "</td><td>" + fmt(c.tp + c.fp) +
         "</td></tr>\n";
  }
  s += "</table></div>\n";
  double t = r.final_metrics.threshold;
  Counts c = confusion_at(p, labels, t);
  s += "<div><h3>Confusion at threshold " + fmt(t) +
       "</h3><table class=\"rates\"><tr><th></th><th>predicted 0</th><th>predicted 1</th></tr>"
       "<tr><th>actual 0</th><td>" +
       fmt(c.tn) + "</td><td>" + fmt(c.fp) + "</td></tr><tr><th>actual 1</th><td>" + fmt(c.fn) +
       "</td><td>" + fmt(c.tp) + "</td></tr></table>\n<table class=\"rates\">";
  auto rate = [&](const char* name, double a, double b) {
    s += std::string("<tr><th>") + name + "</th><td>" + ratio(a, b) + "</td></tr>";
  };
  rate("true positive rate (recall)", c.tp, c.tp + c.fn);
  rate("false positive rate", c.fp, c.fp + c.tn);
  rate("true negative rate", c.tn, c.fp + c.tn);
  rate("false negative rate", c.fn, c.tp + c.fn);
  rate("precision", c.tp, c.tp + c.fp);
  rate("accuracy", c.tp + c.tn, c.tp + c.tn + c.fp + c.fn);
  s += "</table></div>\n</div>\n";
  return s;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t i = static_cast<size_t>(pos);
  double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

std::string residual_chart(const TrainResult& r, const std::vector<float>& labels) {
  size_t n = std::min(labels.size(), r.final_predictions.size());
  if (n == 0) return "";
  std::vector<double> res(n), pred(n);
  for (size_t i = 0; i < n; ++i) {
    pred[i] = r.final_predictions[i];
    res[i] = labels[i] - pred[i];
  }
  double rlo = quantile(res, 0.01), rhi = quantile(res, 0.99);
  double plo = quantile(pred, 0.01), phi = quantile(pred, 0.99);
  rlo = std::min(rlo, 0.0);  // the zero line is always in view
  rhi = std::max(rhi, 0.0);
  Chart ch("residuals", 900, 460);
  ch.layout(plo, phi, rlo, rhi, {{"residual", kColors[0]}, {"clipped to the edge", kColors[4]}});
  const Axis &x = ch.x(), &y = ch.y();
  std::string svg = ch.open("prediction", "residual (label − prediction)");
  size_t step = std::max<size_t>(1, n / 3000), outside = 0;
  for (size_t i = 0; i < n; ++i) {
    bool out = res[i] < y.lo || res[i] > y.hi || pred[i] < x.lo || pred[i] > x.hi;
    outside += out;
    if (i % step) continue;
    double cx = x(std::clamp(pred[i], x.lo, x.hi)), cy = y(std::clamp(res[i], y.lo, y.hi));
    svg += "<circle data-series=\"" + std::string(out ? "residual-clipped" : "residual") +
           "\" cx=\"" + px(cx) + "\" cy=\"" + px(cy) + "\" r=\"2\" fill=\"" +
           (out ? kColors[4] : kColors[0]) + "\" fill-opacity=\"0.45\"/>";
  }
  svg += "\n" + ch.reference("zero", false, 0, "residual 0");
  std::string note = "Axes clipped to the 1st–99th percentile: residuals " + fmt(rlo) + " to " +
                     fmt(rhi) + ", predictions " + fmt(plo) + " to " + fmt(phi) + ". " +
                     std::to_string(outside) + " of " + std::to_string(n) +
                     " rows lie outside the axes and are drawn on their edge, in orange" +
                     (step > 1 ? "; one row in " + std::to_string(step) + " is drawn." : ".");
  return figure("Residuals (label − prediction) on the " + r.final_metrics.evaluated_on + " set",
                svg, note);
}

std::string confusion_table(const FinalMetrics& m) {
  std::string s = "<h2>Confusion matrix (" + esc(m.evaluated_on) +
                  " set; rows: actual, columns: predicted)</h2>\n<div class=\"scroll\"><table "
                  "class=\"confusion\"><tr><th></th>";
  for (size_t b = 0; b < m.confusion.size(); ++b) s += "<th>" + std::to_string(b) + "</th>";
  s += "</tr>\n";
  for (size_t a = 0; a < m.confusion.size(); ++a) {
    s += "<tr><th>" + std::to_string(a) + "</th>";
    for (uint64_t v : m.confusion[a]) s += "<td>" + std::to_string(v) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table></div>\n";
}

std::string params_table(const TrainResult& r) {
  std::string s =
      "<div><h3>Parameters</h3><table class=\"params\"><tr><th>parameter</th><th>value</th>"
      "</tr>\n";
  for (const auto& [k, v] : r.params) {
    s += "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>\n";
  }
  s += "<tr><th>rounds run</th><td>" + std::to_string(r.rounds_run) + "</td></tr>\n";
  if (r.best_iteration >= 0) {
    s += "<tr><th>best round</th><td>" + std::to_string(r.best_iteration) + " (" +
         esc(r.stop_metric) + ")</td></tr>\n";
    s += "<tr><th>rounds kept</th><td>" + std::to_string(r.rounds_kept) + "</td></tr>\n";
  }
  if (r.base_rounds > 0) {
    s += "<tr><th>rounds of the model continued</th><td>" + std::to_string(r.base_rounds) +
         "</td></tr>\n";
  }
  if (r.trees >= 0) s += "<tr><th>trees</th><td>" + std::to_string(r.trees) + "</td></tr>\n";
  if (!r.data_mode.empty()) {
    s += "<tr><th>data</th><td>" + esc(r.data_mode) + "</td></tr>\n";
  }
  s += "<tr><th>training</th><td>" +
       (r.workers > 1 ? "distributed, " + std::to_string(r.workers) + " workers"
                      : std::string("one process")) +
       "</td></tr>\n";
  return s + "</table></div>\n";
}

std::string label_balance(const Contract& c, const Dataset& ds) {
  if (ds.rows() == 0) return "–";
  if (label_kind(c.objective) == LabelKind::regression) {
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (float v : ds.y) {
      sum += v;
      lo = std::min<double>(lo, v);
      hi = std::max<double>(hi, v);
    }
    return "mean " + fmt(sum / static_cast<double>(ds.rows())) + ", min " + fmt(lo) + ", max " +
           fmt(hi);
  }
  std::map<int64_t, uint64_t> counts;
  for (float v : ds.y) ++counts[static_cast<int64_t>(v)];
  std::string s;
  for (auto [k, cnt] : counts) {
    if (!s.empty()) s += "; ";
    s += std::to_string(k) + ": " + std::to_string(cnt) + " (" +
         pct(static_cast<double>(cnt), static_cast<double>(ds.rows())) + ")";
  }
  return s;
}

// The data summary: rows, label balance, per-feature missing counts and ranges, of the rows
// in `train` (named `first`) and of the validation rows when `valid` is given, or when
// `with_valid` asks for a "none" column (training without validation data).
std::string data_summary(const Contract& c, const Dataset& train, const Dataset* valid,
                         const std::string& first, bool with_valid) {
  with_valid = with_valid || valid;
  auto cell = [](const std::string& v) { return "<td>" + v + "</td>"; };
  std::string s = "<div><h3>Data</h3><table class=\"data\"><tr><th></th><th>" + first + "</th>" +
                  (with_valid ? "<th>validation</th>" : "") + "</tr>\n<tr><th>rows</th>" +
                  cell(std::to_string(train.rows()));
  if (with_valid) s += cell(valid ? std::to_string(valid->rows()) : std::string("none"));
  s += "</tr>\n<tr><th>" + esc(c.label) + "</th>" + cell(esc(label_balance(c, train)));
  if (with_valid) s += cell(valid ? esc(label_balance(c, *valid)) : std::string("–"));
  s += "</tr>\n</table></div>\n";
  s += "</div>\n<h3>Features</h3>\n<div class=\"scroll\"><table class=\"features\"><tr><th>"
       "feature</th><th>kind</th><th>missing (" +
       first + ")</th>" + (with_valid ? "<th>missing (validation)</th>" : "") +
       "<th>min</th><th>max</th></tr>\n";
  std::vector<ColumnStats> stats = column_stats(train), valid_stats;
  if (valid) valid_stats = column_stats(*valid);
  for (size_t f = 0; f < c.features.size(); ++f) {
    const Feature& ft = c.features[f];
    double lo = stats[f].lo, hi = stats[f].hi;
    uint64_t mt = stats[f].missing;
    bool cat = ft.kind == FeatureKind::categorical;
    s += "<tr><th>" + esc(ft.name) + "</th>" +
         cell(cat ? std::to_string(ft.categories.size()) + " categories" : std::string("numeric")) +
         cell(std::to_string(mt) + " (" +
              pct(static_cast<double>(mt), static_cast<double>(train.rows())) + ")");
    if (valid) {
      uint64_t mv = valid_stats[f].missing;
      s += cell(std::to_string(mv) + " (" +
                pct(static_cast<double>(mv), static_cast<double>(valid->rows())) + ")");
    } else if (with_valid) {
      s += cell("–");
    }
    s += cell(cat || !std::isfinite(lo) ? std::string("–") : fmt(lo)) +
         cell(cat || !std::isfinite(hi) ? std::string("–") : fmt(hi)) + "</tr>\n";
  }
  return s + "</table></div>\n";
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M UTC", &tm);
  return b;
}

const char* kStyle =
    "body{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;margin:1em 2%;"
    "color:#222;line-height:1.4}"
    "h1{font-size:1.5em}h2{font-size:1.25em;margin-top:1.6em}h3{font-size:1.05em}"
    "figure{margin:1.2em 0}figcaption{font-weight:bold;margin-bottom:.4em}"
    "svg.chart{display:block;width:100%;height:auto;font-family:'DejaVu Sans','Liberation Sans',"
    "Arial,sans-serif}"
    "svg .tick{font-size:12px;fill:#333}svg .axis-title{font-size:13px;fill:#111}"
    "svg .legend{font-size:13px;fill:#222}svg .ref-label{font-size:12px;fill:#444}"
    "svg .gridline{stroke:#e4e4e4;stroke-width:1}svg .axis{stroke:#333;stroke-width:1}"
    "svg .ref{stroke:#777;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg .label-bg{fill:#fff;fill-opacity:.85}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));"
    "gap:0 2em;align-items:start}"
    ".note{font-size:.9em;color:#555;margin:.3em 0}pre{white-space:pre-wrap}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;margin:.4em 0}"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
    "th{background:#f6f6f6}"
    "footer{margin-top:2.5em;padding-top:.6em;border-top:1px solid #ccc;color:#555;"
    "font-size:.9em}";
}  // namespace

Ticks nice_ticks(double lo, double hi, int target) {
  Ticks t;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  target = std::max(target, 1);
  double raw = (hi - lo) / target;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  }
  t.step = step;
  double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  for (double k = first; k <= last + 0.5; k += 1) {
    double v = k * step;
    if (std::abs(v) < step * 1e-9) v = 0;
    t.values.push_back(v);
  }
  // Decimals: those of the step (2.5e-2 needs 3).
  int d = 0;
  while (d < 12 && std::abs(step * std::pow(10, d) - std::round(step * std::pow(10, d))) >
                       1e-6 * step * std::pow(10, d)) {
    ++d;
  }
  t.decimals = d;
  return t;
}

std::string render_report(const ReportInput& in) {
  const Contract& contract = in.contract;
  const TrainResult& r = in.result;
  // Training: the curves and charts are of the validation set when there is one. Evaluation:
  // of the judged records, which `train` holds.
  const std::vector<float>& labels = in.valid ? in.valid->y : in.train.y;
  const char* tool = in.evaluation ? "eval" : "train";
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>cdn " +
      std::string(tool) + " report: " + esc(contract.objective) + " on " + esc(contract.label) +
      "</title>\n<style>" + kStyle + "</style></head><body>\n<h1>cdn " + tool + ": " +
      esc(contract.objective) + " on " + esc(contract.label) + "</h1>\n<p>";
  if (in.evaluation) {
    s += "The model " + esc(in.model) + " judged on " + std::to_string(in.train.rows()) +
         " labelled records. It was trained on " + std::to_string(contract.features.size()) +
         " features: " + esc(rounds_text(r));
  } else {
    s += std::to_string(contract.features.size()) + " features, " + esc(rounds_text(r));
  }
  s += ".</p>\n<pre class=\"metrics\">" + esc(r.final_metrics.to_text()) + "</pre>\n";
  s += std::string("<h2>") + (in.evaluation ? "The model and the data" : "Training") +
       "</h2>\n<div class=\"grid tables\">\n" + params_table(r);
  s += data_summary(contract, in.train, in.valid, in.evaluation ? "judged" : "training",
                    !in.evaluation);
  if (!r.history.empty()) {
    s += std::string("<h2>Learning curves") + (in.evaluation ? " (training)" : "") + "</h2>\n" +
         learning_curves(r);
  }
  s += "<h2>Feature importance</h2>\n" + importance_charts(contract, in.importance);
  if (contract.binary()) {
    s += binary_section(r, labels);
  } else if (!contract.multiclass()) {
    s += "<h2>Regression on the " + esc(r.final_metrics.evaluated_on) + " set</h2>\n" +
         residual_chart(r, labels);
  }
  if (contract.multiclass() && !r.final_metrics.confusion.empty()) {
    s += confusion_table(r.final_metrics);
  }
  s += "<footer>cdn " CDN_VERSION " · XGBoost " + esc(xgb::version()) + " · written " + now_utc() +
       "</footer>\n</body></html>\n";
  return s;
}

void check_report_target(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw UsageError("cannot write the report " + diag::quoted(path) +
                     ": it is a directory; give --report a file name, such as " +
                     diag::quoted((fs::path(path) / "report.html").string()));
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (std::string why = io::directory_problem(dir.string()); !why.empty()) {
    throw UsageError("cannot write the report " + diag::quoted(path) + ": " + why +
                     "; give --report a path in an existing, writable directory");
  }
  std::string probe = (dir / ".cdn-report-XXXXXX").string();
  int fd = mkstemp(probe.data());
  if (fd < 0) {
    int err = errno;
    throw UsageError("cannot write the report " + diag::quoted(path) + ": " + errno_text(err) +
                     " (in " + diag::quoted(dir.string()) +
                     "); give --report a path in an existing, writable directory");
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_report(const std::string& path, const std::string& html) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << html;
  f.close();
  if (!f) throw RuntimeError("cannot write " + diag::quoted(path) + ": " + errno_text(errno));
}

}  // namespace cdn::model
