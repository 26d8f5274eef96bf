#include "common/model/round_metrics.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>

namespace cdn::model {

namespace {

// A key whose unsigned order is the descending order of the float.
uint32_t descending_key(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  uint32_t ascending = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
  return ~ascending;
}

// Sorts by the upper 32 bits, stable, least significant digit first; a digit all values
// share costs one counting pass and no move.
void radix_sort_upper(std::vector<uint64_t>& v, std::vector<uint64_t>& scratch) {
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  scratch.resize(v.size());
  for (int shift = 32; shift < 64; shift += kBits) {
    std::array<size_t, kBuckets> count{};
    for (uint64_t x : v) ++count[(x >> shift) & (kBuckets - 1)];
    bool one_bucket = false;
    for (size_t c : count) one_bucket = one_bucket || c == v.size();
    if (one_bucket) continue;
    size_t sum = 0;
    for (size_t& c : count) {
      size_t here = c;
      c = sum;
      sum += here;
    }
    for (uint64_t x : v) scratch[count[(x >> shift) & (kBuckets - 1)]++] = x;
    v.swap(scratch);
  }
}

double trapezoid(double x0, double x1, double y0, double y1) {
  return std::abs(x0 - x1) * (y0 + y1) * 0.5f;
}

float label_of(uint64_t packed) {
  uint32_t bits = static_cast<uint32_t>(packed);
  float y;
  std::memcpy(&y, &bits, sizeof y);
  return y;
}

}  // namespace

double binary_auc(const float* p, const float* y, size_t n) {
  std::vector<uint64_t> rows, scratch;
  return binary_auc(p, y, n, rows, scratch);
}

double binary_auc(const float* p, const float* y, size_t n, std::vector<uint64_t>& rows,
                  std::vector<uint64_t>& scratch) {
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  rows.resize(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t label;
    std::memcpy(&label, &y[i], sizeof label);
    rows[i] = uint64_t{descending_key(p[i])} << 32 | label;
  }
  radix_sort_upper(rows, scratch);
  float label = label_of(rows[0]);
  double fp = 1.0f - label, tp = label;
  double fp_prev = 0, tp_prev = 0, area = 0;
  for (size_t i = 1; i < n; ++i) {
    if ((rows[i] >> 32) != (rows[i - 1] >> 32)) {
      area += trapezoid(fp_prev, fp, tp_prev, tp);
      tp_prev = tp;
      fp_prev = fp;
    }
    label = label_of(rows[i]);
    fp += 1.0f - label;
    tp += label;
  }
  area += trapezoid(fp_prev, fp, tp_prev, tp);
  if (fp <= 0 || tp <= 0) return std::numeric_limits<double>::quiet_NaN();
  return area / (fp * tp);
}

std::unique_ptr<RoundMetrics> RoundMetrics::make(const std::string& objective,
                                                 const std::vector<std::string>& metrics) {
  auto r = std::unique_ptr<RoundMetrics>(new RoundMetrics());
  for (const auto& m : metrics) {
    Kind k;
    if (objective == "binary:logistic" && m == "auc") {
      k = Kind::auc;
    } else if (objective == "binary:logistic" && m == "logloss") {
      k = Kind::logloss;
    } else if (objective == "binary:logistic" && m == "error") {
      k = Kind::error;
    } else if (objective == "reg:squarederror" && m == "rmse") {
      k = Kind::rmse;
    } else if (objective == "reg:squarederror" && m == "mae") {
      k = Kind::mae;
    } else {
      return nullptr;
    }
    for (Kind seen : r->kinds_) {
      if (seen == k) return nullptr;  // XGBoost's handling of a repeated metric decides
    }
    r->kinds_.push_back(k);
  }
  if (r->kinds_.empty()) return nullptr;
  return r;
}

namespace {

// XGBoost's per-row loss, in float as XGBoost computes it.
float row_loss(int kind, float p, float y) {
  switch (kind) {
    case 0: {  // logloss
      const float eps = 1e-16f;
      const float pneg = 1.0f - p;
      if (p < eps) return -y * std::log(eps) - (1.0f - y) * std::log(1.0f - eps);
      if (pneg < eps) return -y * std::log(1.0f - eps) - (1.0f - y) * std::log(eps);
      // With a label of 0 or 1 one of the two terms is a signed zero: the same float with
      // one logarithm instead of two.
      if (y == 0.0f) return -std::log(pneg);
      if (y == 1.0f) return -std::log(p);
      return -y * std::log(p) - (1.0f - y) * std::log(pneg);
    }
    case 1:  // error at 0.5
      return p > 0.5f ? 1.0f - y : y;
    case 2: {  // squared error
      float d = y - p;
      return d * d;
    }
    default:  // absolute error
      return std::abs(y - p);
  }
}

}  // namespace

std::vector<double> RoundMetrics::evaluate(const float* p, const float* y, size_t n) {
  std::vector<double> out(kinds_.size());
  std::thread auc_thread;
  for (size_t m = 0; m < kinds_.size(); ++m) {
    Kind k = kinds_[m];
    if (k == Kind::auc) {
      auto run = [this, &out, m, p, y, n] { out[m] = binary_auc(p, y, n, rows_, scratch_); };
      if (n >= 65536 && kinds_.size() > 1) {
        auc_thread = std::thread(run);
      } else {
        run();
      }
      continue;
    }
    int kind = k == Kind::logloss ? 0 : k == Kind::error ? 1 : k == Kind::rmse ? 2 : 3;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += row_loss(kind, p[i], y[i]);
    double mean = n ? sum / static_cast<double>(n) : sum;
    out[m] = k == Kind::rmse ? std::sqrt(mean) : mean;
  }
  if (auc_thread.joinable()) auc_thread.join();
  return out;
}

}  // namespace cdn::model
