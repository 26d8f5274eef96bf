#include "common/model/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "common/base/json_text.hpp"
#include "common/model/round_metrics.hpp"

namespace cdn::model {

namespace {
std::vector<size_t> order_desc(const std::vector<float>& p) {
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  return idx;
}
}  // namespace

double auc(const std::vector<float>& p, const std::vector<float>& y) {
  // The same computation as the per-round metric, so that the last round and the final
  // metrics agree.
  return binary_auc(p.data(), y.data(), p.size());
}

std::vector<std::pair<double, double>> roc_curve(const std::vector<float>& p,
                                                 const std::vector<float>& y, size_t points) {
  auto idx = order_desc(p);
  double pos = 0, neg = 0;
  for (float v : y) (v > 0.5f ? pos : neg) += 1;
  std::vector<std::pair<double, double>> out{{0, 0}};
  if (pos == 0 || neg == 0 || idx.empty()) return out;
  size_t step = std::max<size_t>(1, idx.size() / std::max<size_t>(points, 1));
  double tp = 0, fp = 0;
  size_t i = 0, next = step;
  while (i < idx.size()) {
    size_t j = i;
    while (j < idx.size() && p[idx[j]] == p[idx[i]]) {
      (y[idx[j]] > 0.5f ? tp : fp) += 1;
      ++j;
    }
    i = j;
    if (i >= next || i == idx.size()) {
      out.emplace_back(fp / neg, tp / pos);
      while (next <= i) next += step;
    }
  }
  return out;
}

FinalMetrics evaluate(LabelKind kind, const std::vector<float>& p, const std::vector<float>& y,
                      int classes, double threshold) {
  FinalMetrics m;
  m.kind = kind;
  m.rows = y.size();
  m.threshold = threshold;
  if (y.empty()) return m;
  double n = static_cast<double>(y.size());
  if (kind == LabelKind::regression) {
    double se = 0, ae = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      double d = static_cast<double>(p[i]) - y[i];
      se += d * d;
      ae += std::fabs(d);
    }
    m.rmse = std::sqrt(se / n);
    m.mae = ae / n;
    return m;
  }
  constexpr double kEps = 1e-15;
  if (kind == LabelKind::binary) {
    m.confusion.assign(2, std::vector<uint64_t>(2, 0));
    double ll = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      double q = std::clamp(static_cast<double>(p[i]), kEps, 1 - kEps);
      int actual = y[i] > 0.5f ? 1 : 0;
      ll -= actual ? std::log(q) : std::log(1 - q);
      int predicted = p[i] >= threshold ? 1 : 0;
      ++m.confusion[actual][predicted];
    }
    m.logloss = ll / n;
    m.auc = auc(p, y);
    double tp = m.confusion[1][1], fp = m.confusion[0][1], fn = m.confusion[1][0];
    m.accuracy = (m.confusion[0][0] + tp) / n;
    m.precision = tp + fp > 0 ? tp / (tp + fp) : 0;
    m.recall = tp + fn > 0 ? tp / (tp + fn) : 0;
    return m;
  }
  // Multi-class: probabilities per class (softprob), or the class itself (softmax).
  size_t k = static_cast<size_t>(std::max(classes, 2));
  bool probs = p.size() == y.size() * k;
  m.confusion.assign(k, std::vector<uint64_t>(k, 0));
  double ll = 0, right = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    size_t actual = static_cast<size_t>(y[i]);
    size_t predicted;
    if (probs) {
      const float* row = p.data() + i * k;
      predicted = static_cast<size_t>(std::max_element(row, row + k) - row);
      ll -= std::log(std::clamp(static_cast<double>(row[actual]), kEps, 1.0));
    } else {
      predicted = std::min(static_cast<size_t>(std::max(p[i], 0.0f)), k - 1);
    }
    if (actual < k) ++m.confusion[actual][predicted];
    right += actual == predicted;
  }
  m.accuracy = right / n;
  m.logloss = probs ? ll / n : std::nan("");
  return m;
}

namespace {
void num(std::string& s, const char* key, double v) {
  s += '"';
  s += key;
  s += "\":";
  base::append_double(s, v);
}
}  // namespace

std::string FinalMetrics::to_json() const {
  std::string s = "{\"evaluated_on\":";
  base::append_json_string(s, evaluated_on);
  s += ",\"rows\":";
  base::append_uint(s, rows);
  s += ',';
  if (kind == LabelKind::regression) {
    num(s, "rmse", rmse);
    s += ',';
    num(s, "mae", mae);
  } else {
    if (kind == LabelKind::binary) {
      num(s, "auc", auc);
      s += ',';
      num(s, "threshold", threshold);
      s += ',';
      num(s, "precision", precision);
      s += ',';
      num(s, "recall", recall);
      s += ',';
    }
    num(s, "logloss", logloss);
    s += ',';
    num(s, "accuracy", accuracy);
    s += ",\"confusion\":[";
    for (size_t a = 0; a < confusion.size(); ++a) {
      if (a) s += ',';
      s += '[';
      for (size_t b = 0; b < confusion[a].size(); ++b) {
        if (b) s += ',';
        base::append_uint(s, confusion[a][b]);
      }
      s += ']';
    }
    s += ']';
  }
  s += '}';
  return s;
}

std::string FinalMetrics::to_text() const {
  char buf[512];
  std::string s;
  if (kind == LabelKind::regression) {
    std::snprintf(buf, sizeof buf, "%s set, %llu rows: rmse %.6g, mae %.6g", evaluated_on.c_str(),
                  static_cast<unsigned long long>(rows), rmse, mae);
    return buf;
  }
  if (kind == LabelKind::binary) {
    std::snprintf(buf, sizeof buf,
                  "%s set, %llu rows: auc %.6f, logloss %.6f, accuracy %.4f, precision %.4f and "
                  "recall %.4f at threshold %g",
                  evaluated_on.c_str(), static_cast<unsigned long long>(rows), auc, logloss,
                  accuracy, precision, recall, threshold);
  } else {
    std::snprintf(buf, sizeof buf, "%s set, %llu rows: mlogloss %.6f, accuracy %.4f",
                  evaluated_on.c_str(), static_cast<unsigned long long>(rows), logloss, accuracy);
  }
  s = buf;
  s += "\nconfusion matrix (rows: actual class, columns: predicted class):";
  for (size_t a = 0; a < confusion.size(); ++a) {
    s += "\n  " + std::to_string(a) + ":";
    for (uint64_t v : confusion[a]) {
      std::snprintf(buf, sizeof buf, " %10llu", static_cast<unsigned long long>(v));
      s += buf;
    }
  }
  return s;
}

}  // namespace cdn::model
