// cdn predict's drift watch: the rows scored are counted into the bins of the bundle's
// reference distributions over a window (a number of records, or a time), and when the
// window closes the population stability index of each feature and of the score is
// reported: as the gauges cdn_feature_drift_psi{feature} and cdn_score_drift_psi, as one
// NDJSON line to --drift-report, and as one warning when a feature (or the score) passes
// the threshold.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/diag/service.hpp"
#include "common/io/sink.hpp"
#include "common/model/bundle.hpp"

namespace cdn::model {

struct DriftOptions {
  // A window closes after `records` records read (model::serve ends a batch there), or once
  // it has been open `time` (checked with each batch and while the input idles); 0 turns
  // either off.
  uint64_t records = 0;
  std::chrono::milliseconds time{0};
  double threshold = 0.2;
};

// --drift-report: kafka:TOPIC, or a file each window's line is appended to (and flushed), so
// that it can be followed while predict runs. Throws UsageError for '-' and for a file that
// cannot be opened.
std::unique_ptr<io::Sink> open_drift_report(const std::string& spec);

class DriftWatch {
 public:
  // `report`: where each window's line goes (null: nowhere).
  DriftWatch(DriftOptions o, std::unique_ptr<io::Sink> report);
  DriftWatch(const DriftWatch&) = delete;
  DriftWatch& operator=(const DriftWatch&) = delete;

  // The counts of one batch scored by `bundle` (Batch::drift); `window_end`: the batch ends a
  // window of DriftOptions::records. A batch of another model first closes the window of
  // the one before, whose reference it was counted against.
  void add(const Bundle& bundle, const std::vector<uint64_t>& counts, bool window_end);
  uint64_t window_records() const { return o_.records; }
  // Closes a time window that is due.
  void tick();
  // Closes the open window (marked partial when it is shorter than asked) and makes the
  // report final.
  void finish();
  uint64_t windows() const { return windows_; }

 private:
  void close(bool partial);
  void write_metrics(std::string& out) const;

  DriftOptions o_;
  std::unique_ptr<io::Sink> report_;
  const Bundle* bundle_ = nullptr;  // the model the open window counts for
  std::vector<size_t> offsets_;
  std::vector<uint64_t> counts_;
  uint64_t rows_ = 0;  // rows scored in the open window
  std::chrono::steady_clock::time_point opened_;
  std::vector<bool> above_;  // per feature, then the score: past the threshold last window
  uint64_t windows_ = 0;
  // What the gauges show: the last window closed.
  mutable std::mutex mutex_;
  std::vector<std::string> names_;
  std::vector<double> last_;  // per feature, then the score
  diag::Service::Registration registration_;
};

}  // namespace cdn::model
