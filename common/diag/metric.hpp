// Metric families for --metrics-addr, written in the Prometheus text format: a histogram with
// fixed buckets and a counter whose label takes a bounded set of values. Both are updated
// from any thread (relaxed atomics, or a short lock for a label's first sight) and read by
// the server's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::diag {

// Appends "# HELP name help\n# TYPE name type\n".
void metric_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type);

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending (+Inf is added).
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // For a caller that counts a batch on its own first: the bucket `v` falls in (0 ..
  // bounds().size(), the last one +Inf), then the counts of each bucket and their sum.
  size_t bucket(double v) const;
  void merge(const uint64_t* counts, double sum);
  const std::vector<double>& bounds() const { return bounds_; }
  // The samples (no header): name_bucket{labels,le="…"}, name_sum{labels}, name_count{labels}.
  // `labels`: `key="value",…` without braces, or empty.
  void write(std::string& out, std::string_view name, std::string_view labels) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Bounds for times in seconds (1 ms to 5 min) and for a probability (tenths).
  static std::vector<double> seconds();
  static std::vector<double> age_seconds();
  static std::vector<double> tenths();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// A counter by one label whose values come from data (a reject reason): at most `limit`
// values are kept, later new ones are counted as "other", so the series stay bounded.
class LabeledCounter {
 public:
  explicit LabeledCounter(size_t limit = 32) : limit_(limit) {}
  void add(std::string_view value, uint64_t n = 1);
  // name{labels,label="value"} count, one line per value, sorted by value.
  void write(std::string& out, std::string_view name, std::string_view labels,
             std::string_view label) const;

 private:
  size_t limit_;
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t, std::less<>> counts_;
};

// A reject reason as a label value: its first clause (up to a colon), with quoted text
// written "…" and numbers N, at most 64 bytes: "field \"bytes\" is not a number" and the
// same for another field are one series.
std::string reason_label(std::string_view reason);

}  // namespace cdn::diag
