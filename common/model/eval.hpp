// cdn eval: a model bundle judged on labelled records. Each record is read by the feature
// contract exactly as cdn predict reads it (the same refusals), its label as cdn train reads
// one, and the predictions are scored with the metrics of the bundle's objective.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/model/bundle.hpp"
#include "common/model/dataset.hpp"
#include "common/model/metrics.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"

namespace cdn::model {

struct EvalOptions {
  double threshold = 0.5;      // binary: a prediction at or above it is positive
  bool allow_missing = false;  // as cdn predict --allow-missing
  bool keep = false;           // keep the rows and predictions (for the report)
  std::string inputs;          // the inputs, quoted, for the error when none holds a record
};

struct EvalResult {
  FinalMetrics m;  // AUC, logloss, accuracy, precision, recall, confusion; RMSE, MAE
  // Binary: the area under the precision-recall curve (average precision), the Brier score,
  // the expected calibration error over ten equal-width bins, F1 at the threshold.
  double pr_auc = 0, brier = 0, calibration_error = 0, f1 = 0;
  double r2 = 0;  // regression: the coefficient of determination
  // Per feature: values outside a learned vocabulary, and records without it.
  std::vector<uint64_t> unknown, missing;
  // With EvalOptions::keep: the judged rows and labels, and the model's predictions.
  Dataset data;
  std::vector<float> predictions;

  std::string to_json(const Contract& c) const;
  std::string to_table(const Contract& c) const;  // lines for a terminal
};

// Average precision (scikit-learn's average_precision_score): the sum over the distinct
// scores, highest first, of the recall gained times the precision there.
double average_precision(const std::vector<float>& p, const std::vector<float>& y);
// The expected calibration error: over ten bins of the predicted probability ([0, 0.1) ...
// [0.9, 1]), the share of rows in the bin times |mean prediction - share of positives|.
double calibration_error(const std::vector<float>& p, const std::vector<float>& y);

// Reads every record of `in`, refusing through ctx's rejects what predict would refuse (and
// a missing or bad label), scores the rest and returns the metrics. Throws UsageError when
// no record is left to judge.
EvalResult evaluate_records(const Bundle& bundle, record::Source& in, pipeline::RunContext& ctx,
                            const EvalOptions& opts);

// The HTML report of an evaluation (EvalOptions::keep): the charts of cdn train's report on
// the judged records, with the parameters and learning curves the bundle recorded in training.
std::string render_eval_report(const Bundle& bundle, EvalResult& r);

}  // namespace cdn::model
