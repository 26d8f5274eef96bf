// The training report: one self-contained HTML file (inline SVG and CSS, no scripts, nothing
// loaded from outside) that cdn train writes into the bundle as report.html and, with
// --report, to another path. It holds the learning curves, the parameters, a data summary,
// the feature importance by gain, weight and cover, and by objective: the ROC and
// precision-recall curves, a calibration plot, a threshold table and the confusion rates
// (binary), the residuals (regression) or the confusion matrix (multi-class).
//
// Charts are SVG with a viewBox and width 100%, so they fill the page at any width; their
// axes have round ticks (1, 2, 2.5 or 5 times a power of ten), margins sized to the longest
// tick label so that axis titles never cover them, and the legend above the plot area.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/model/contract.hpp"
#include "common/model/dataset.hpp"
#include "common/model/trainer.hpp"

namespace cdn::model {

struct ReportInput {
  const Contract& contract;
  const TrainResult& result;
  const Dataset& train;
  const Dataset* valid;  // null without validation data
  // "gain", "weight", "cover": a score per feature, in the contract's order.
  std::map<std::string, std::vector<double>> importance;
  // cdn eval: the report of a bundle judged on labelled records. `train` then holds those
  // records (and `result` the bundle's training record: parameters, learning curves, with the
  // metrics and predictions of the judged records); `model` names the bundle and its hash.
  bool evaluation = false;
  std::string model;
};

std::string render_report(const ReportInput& in);

// Throws UsageError when `path` cannot be written (its directory is missing or not writable,
// or it is a directory): found before training by creating and removing a file beside it.
void check_report_target(const std::string& path);

void write_report(const std::string& path, const std::string& html);

// Round ticks covering lo..hi: a step of 1, 2, 2.5 or 5 times a power of ten, chosen so that
// there are about `target` intervals; the first tick is at or below lo, the last at or above hi.
struct Ticks {
  double step = 1;
  std::vector<double> values;
  int decimals = 0;  // enough to tell the ticks apart, and no more
};
Ticks nice_ticks(double lo, double hi, int target);

}  // namespace cdn::model
