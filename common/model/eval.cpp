#include "common/model/eval.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/model/contract.hpp"
#include "common/model/dataset.hpp"
#include "common/model/report.hpp"
#include "common/model/trainer.hpp"
#include "common/model/xgb.hpp"
#include "common/record/fields.hpp"

namespace cdn::model {

double average_precision(const std::vector<float>& p, const std::vector<float>& y) {
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  double pos = 0;
  for (float v : y) pos += v > 0.5f;
  if (pos == 0) return std::nan("");
  double tp = 0, fp = 0, recall = 0, ap = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && p[idx[j]] == p[idx[i]]) {
      (y[idx[j]] > 0.5f ? tp : fp) += 1;
      ++j;
    }
    i = j;
    double r = tp / pos;
    ap += (r - recall) * (tp / (tp + fp));
    recall = r;
  }
  return ap;
}

double calibration_error(const std::vector<float>& p, const std::vector<float>& y) {
  constexpr int kBins = 10;
  double count[kBins] = {}, sum_p[kBins] = {}, sum_y[kBins] = {};
  for (size_t i = 0; i < p.size(); ++i) {
    int b =
        std::clamp(static_cast<int>(std::floor(static_cast<double>(p[i]) * kBins)), 0, kBins - 1);
    count[b] += 1;
    sum_p[b] += p[i];
    sum_y[b] += y[i] > 0.5f;
  }
  double n = static_cast<double>(p.size()), e = 0;
  for (int b = 0; b < kBins; ++b) {
    if (count[b] > 0) e += count[b] / n * std::fabs(sum_p[b] / count[b] - sum_y[b] / count[b]);
  }
  return e;
}

namespace {
void num(std::string& s, const char* key, double v) {
  s += ",\"";
  s += key;
  s += "\":";
  base::append_double(s, v);
}

std::string per_feature(const Contract& c, const std::vector<uint64_t>& counts) {
  std::string s = "{";
  bool first = true;
  for (size_t f = 0; f < counts.size() && f < c.features.size(); ++f) {
    if (counts[f] == 0) continue;
    if (!first) s += ',';
    first = false;
    base::append_json_string(s, c.features[f].name);
    s += ':';
    base::append_uint(s, counts[f]);
  }
  return s + "}";
}
}  // namespace

std::string EvalResult::to_json(const Contract& c) const {
  std::string s = "{\"objective\":";
  base::append_json_string(s, c.objective);
  s += ",\"rows\":";
  base::append_uint(s, m.rows);
  if (m.kind == LabelKind::regression) {
    num(s, "rmse", m.rmse);
    num(s, "mae", m.mae);
    num(s, "r2", r2);
  } else {
    if (m.kind == LabelKind::binary) {
      num(s, "auc", m.auc);
      num(s, "pr_auc", pr_auc);
      num(s, "logloss", m.logloss);
      num(s, "brier", brier);
      num(s, "calibration_error", calibration_error);
      num(s, "threshold", m.threshold);
      num(s, "accuracy", m.accuracy);
      num(s, "precision", m.precision);
      num(s, "recall", m.recall);
      num(s, "f1", f1);
    } else {
      num(s, "mlogloss", m.logloss);
      num(s, "accuracy", m.accuracy);
    }
    s += ",\"confusion\":[";
    for (size_t a = 0; a < m.confusion.size(); ++a) {
      s += a ? ",[" : "[";
      for (size_t k = 0; k < m.confusion[a].size(); ++k) {
        if (k) s += ',';
        base::append_uint(s, m.confusion[a][k]);
      }
      s += ']';
    }
    s += ']';
  }
  s += ",\"unknown_categories\":" + per_feature(c, unknown);
  s += ",\"missing_values\":" + per_feature(c, missing);
  return s + "}\n";
}

std::string EvalResult::to_table(const Contract& c) const {
  std::string s;
  char buf[256];
  auto row = [&](const char* name, double v) {
    std::snprintf(buf, sizeof buf, "%-18s %.6f\n", name, v);
    s += buf;
  };
  std::snprintf(buf, sizeof buf, "%-18s %s\n%-18s %llu\n", "objective", c.objective.c_str(), "rows",
                static_cast<unsigned long long>(m.rows));
  s += buf;
  if (m.kind == LabelKind::regression) {
    row("rmse", m.rmse);
    row("mae", m.mae);
    row("r2", r2);
    return s;
  }
  if (m.kind == LabelKind::binary) {
    row("auc", m.auc);
    row("pr_auc", pr_auc);
    row("logloss", m.logloss);
    row("brier", brier);
    row("calibration_error", calibration_error);
    std::snprintf(buf, sizeof buf, "%-18s %g\n", "threshold", m.threshold);
    s += buf;
    row("accuracy", m.accuracy);
    row("precision", m.precision);
    row("recall", m.recall);
    row("f1", f1);
  } else {
    row("mlogloss", m.logloss);
    row("accuracy", m.accuracy);
  }
  s += "confusion (rows: actual class, columns: predicted class)\n";
  for (size_t a = 0; a < m.confusion.size(); ++a) {
    std::snprintf(buf, sizeof buf, "  %zu:", a);
    s += buf;
    for (uint64_t v : m.confusion[a]) {
      std::snprintf(buf, sizeof buf, " %10llu", static_cast<unsigned long long>(v));
      s += buf;
    }
    s += '\n';
  }
  return s;
}

EvalResult evaluate_records(const Bundle& bundle, record::Source& in, pipeline::RunContext& ctx,
                            const EvalOptions& o) {
  const Contract& c = bundle.contract;
  if (o.threshold != 0.5 && !c.binary()) {
    throw UsageError("--threshold applies to binary classifiers; this model's objective is " +
                     c.objective);
  }
  RowBuilder builder(c, o.allow_missing);
  size_t width = builder.width();
  EvalResult r;
  r.unknown.assign(width, 0);
  r.missing.assign(width, 0);
  std::vector<uint64_t> unknown(width, 0);
  std::vector<float> rows, labels, row(width);
  std::vector<double> exact;  // the labels as the records give them (regression metrics)
  simdjson::dom::parser parser;
  RowBuilder::FieldOrder order;
  record::Record rec;
  std::string reason;
  while (in.next(rec)) {
    simdjson::dom::object obj;
    double label = 0;
    reason = read_labelled(parser, rec.text, c, obj, label);
    if (reason.empty() &&
        !builder.fill(obj, row.data(), reason, unknown, r.missing, order, nullptr)) {
      if (reason.empty()) reason = "does not fit the model's contract";
    }
    if (!reason.empty()) {
      std::fill(unknown.begin(), unknown.end(), 0);
      ctx.rejects().reject(in.name(), rec.line, reason, rec.text);
      continue;
    }
    for (size_t f = 0; f < width; ++f) {
      r.unknown[f] += unknown[f];
      unknown[f] = 0;
    }
    rows.insert(rows.end(), row.begin(), row.end());
    labels.push_back(static_cast<float>(label));
    exact.push_back(label);
    ++ctx.counts().out;
  }
  if (labels.empty()) {
    // The rejects say why each record was refused: they are kept, whole, before the error.
    ctx.rejects().sink().commit();
    uint64_t read = ctx.counts().in, rejected = ctx.counts().rejected;
    std::string where = o.inputs.empty() ? diag::quoted(in.name()) : o.inputs;
    throw UsageError("no labelled record left to judge the model by in " + where + " (" +
                     std::to_string(read) + " read, " + std::to_string(rejected) + " rejected" +
                     (rejected > 0 ? ": the rejects say why)" : ")") +
                     "; give records with the label " + diag::quoted(c.label) +
                     " and the model's features");
  }
  std::vector<float> p;
  std::vector<uint64_t> shape;
  xgb::predict_dense(bundle.booster, rows.data(), labels.size(), width, p, shape);
  LabelKind kind = label_kind(c.objective);
  r.m = evaluate(kind, p, labels, c.num_class, o.threshold);
  if (o.keep) {
    r.data.cols = width;
    r.data.x = std::move(rows);
    r.data.y = labels;
    r.predictions = p;
  }
  r.m.evaluated_on = "labelled";
  if (kind == LabelKind::binary) {
    r.pr_auc = average_precision(p, labels);
    double b = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      double d = static_cast<double>(p[i]) - (labels[i] > 0.5f ? 1 : 0);
      b += d * d;
    }
    r.brier = b / static_cast<double>(p.size());
    r.calibration_error = calibration_error(p, labels);
    double pr = r.m.precision, rc = r.m.recall;
    r.f1 = pr + rc > 0 ? 2 * pr * rc / (pr + rc) : 0;
  } else if (kind == LabelKind::regression) {
    // On the labels as given, not as the 32-bit floats XGBoost trains on.
    double n = static_cast<double>(exact.size()), mean = 0, tot = 0, res = 0, abs = 0;
    for (double v : exact) mean += v;
    mean /= n;
    for (size_t i = 0; i < exact.size(); ++i) {
      double d = exact[i] - static_cast<double>(p[i]);
      tot += (exact[i] - mean) * (exact[i] - mean);
      res += d * d;
      abs += std::fabs(d);
    }
    r.m.rmse = std::sqrt(res / n);
    r.m.mae = abs / n;
    r.r2 = tot > 0 ? 1 - res / tot : std::nan("");
  } else if (p.size() == labels.size() * static_cast<size_t>(std::max(c.num_class, 2))) {
    // mlogloss over each row's probabilities clipped to [1e-15, 1 - 1e-15] and renormalized,
    // as scikit-learn's log_loss computes it.
    size_t k = p.size() / labels.size();
    double ll = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      double sum = 0, mine = 0;
      for (size_t j = 0; j < k; ++j) {
        double q = std::clamp(static_cast<double>(p[i * k + j]), 1e-15, 1 - 1e-15);
        sum += q;
        if (j == static_cast<size_t>(labels[i])) mine = q;
      }
      ll -= std::log(mine / sum);
    }
    r.m.logloss = ll / static_cast<double>(labels.size());
  }
  return r;
}

namespace {
// The training record a bundle keeps (params.json, metrics.json) read back into the parts of a
// TrainResult the report shows; a part that is missing or unreadable is left out.
void read_training_record(const std::string& dir, TrainResult& t) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  namespace fs = std::filesystem;
  if (!parser.load((fs::path(dir) / "params.json").string()).get(doc)) {
    simdjson::dom::array pairs;
    if (!doc["xgboost"].get_array().get(pairs)) {
      for (simdjson::dom::element e : pairs) {
        std::string_view k, v;
        if (!e.at(0).get_string().get(k) && !e.at(1).get_string().get(v)) {
          t.params.emplace_back(std::string(k), std::string(v));
        }
      }
    }
    int64_t n = 0;
    if (!doc["rounds_run"].get_int64().get(n)) t.rounds_run = static_cast<int>(n);
    if (!doc["base_rounds"].get_int64().get(n)) t.base_rounds = static_cast<int>(n);
    std::string_view mode;
    if (!doc["data"].get_string().get(mode)) t.data_mode = std::string(mode);
    if (!doc["workers"].get_int64().get(n)) t.workers = static_cast<int>(n);
  }
  if (!parser.load((fs::path(dir) / "metrics.json").string()).get(doc)) {
    simdjson::dom::array cols, hist;
    if (!doc["columns"].get_array().get(cols) && !doc["history"].get_array().get(hist)) {
      for (simdjson::dom::element e : cols) {
        std::string_view c;
        t.columns.emplace_back(e.get_string().get(c) ? std::string() : std::string(c));
      }
      for (simdjson::dom::element row : hist) {
        std::vector<double> v;
        simdjson::dom::array a;
        if (row.get_array().get(a)) continue;
        for (simdjson::dom::element x : a) {
          double d = std::nan("");
          if (x.get_double().get(d)) d = std::nan("");
          v.push_back(d);
        }
        t.history.push_back(std::move(v));
      }
    }
    int64_t best = -1;
    if (!doc["best_iteration"].get_int64().get(best)) t.best_iteration = static_cast<int>(best);
    std::string_view m;
    if (!doc["stop_metric"].get_string().get(m)) t.stop_metric = std::string(m);
  }
}
}  // namespace

std::string render_eval_report(const Bundle& bundle, EvalResult& r) {
  TrainResult t;
  read_training_record(bundle.dir, t);
  t.final_metrics = r.m;
  t.final_predictions = r.predictions;
  ReportInput in{bundle.contract, t, r.data, nullptr, {}, true, {}};
  for (const char* type : {"gain", "weight", "cover"}) {
    in.importance[type] = feature_importance(bundle.booster, bundle.contract, type);
  }
  in.evaluation = true;
  in.model = "'" + bundle.dir + "' (" + bundle.model_hash + ")";
  return render_report(in);
}

}  // namespace cdn::model
