#include "common/diag/metric.hpp"

#include <algorithm>
#include <cstdio>

#include "common/diag/service.hpp"

namespace cdn::diag {

void metric_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

std::vector<double> Histogram::seconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
}

std::vector<double> Histogram::age_seconds() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400};
}

std::vector<double> Histogram::tenths() {
  return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};
}

size_t Histogram::bucket(double v) const {
  return std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
}

void Histogram::observe(double v) {
  buckets_[bucket(v)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

void Histogram::merge(const uint64_t* counts, double sum) {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    if (counts[i] == 0) continue;
    buckets_[i].fetch_add(counts[i], std::memory_order_relaxed);
    n += counts[i];
  }
  count_.fetch_add(n, std::memory_order_relaxed);
  sum_.fetch_add(sum, std::memory_order_relaxed);
}

void Histogram::write(std::string& out, std::string_view name, std::string_view labels) const {
  uint64_t cumulative = 0;
  char num[64];
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size()) {
      std::snprintf(num, sizeof num, "%g", bounds_[i]);
    } else {
      std::snprintf(num, sizeof num, "+Inf");
    }
    out.append(name).append("_bucket{");
    if (!labels.empty()) out.append(labels).append(",");
    out.append("le=\"").append(num).append("\"} ").append(std::to_string(cumulative)) += '\n';
  }
  auto series = [&](std::string_view suffix) {
    out.append(name).append(suffix);
    if (!labels.empty()) out.append("{").append(labels).append("}");
    out += ' ';
  };
  std::snprintf(num, sizeof num, "%.6f", sum_.load(std::memory_order_relaxed));
  series("_sum");
  out.append(num) += '\n';
  // The buckets were read one by one: the count is their total, so the two always agree.
  series("_count");
  out.append(std::to_string(cumulative)) += '\n';
}

void LabeledCounter::add(std::string_view value, uint64_t n) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(value);
  if (it == counts_.end()) {
    if (counts_.size() >= limit_) {
      it = counts_.try_emplace("other").first;
    } else {
      it = counts_.try_emplace(std::string(value)).first;
    }
  }
  it->second += n;
}

void LabeledCounter::write(std::string& out, std::string_view name, std::string_view labels,
                           std::string_view label) const {
  std::lock_guard lock(mutex_);
  for (const auto& [value, n] : counts_) {
    out.append(name).append("{");
    if (!labels.empty()) out.append(labels).append(",");
    out.append(label).append("=\"").append(metric_label(value)).append("\"} ");
    out.append(std::to_string(n)) += '\n';
  }
}

std::string reason_label(std::string_view reason) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < reason.size() && out.size() < 64; ++i) {
    char c = reason[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
        out += "…\"";
      }
      continue;
    }
    if (c == ':' || c == ';' || c == '(' || c == '\n') break;
    if (c == '"') {
      quoted = true;
      out += '"';
    } else if (c >= '0' && c <= '9') {
      while (i + 1 < reason.size() &&
             ((reason[i + 1] >= '0' && reason[i + 1] <= '9') || reason[i + 1] == '.')) {
        ++i;
      }
      out += 'N';
    } else if (static_cast<unsigned char>(c) >= 0x80 || c < ' ') {
      out += '?';  // a label is UTF-8 text: reasons are ASCII, anything else is not kept
    } else {
      out += c;
    }
  }
  if (quoted) out += "…\"";
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "unstated" : out;
}

}  // namespace cdn::diag
