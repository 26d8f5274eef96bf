// Evaluation of predictions against labels: what cdn train reports at the end.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/model/dataset.hpp"

namespace cdn::model {

// Area under the ROC curve (ties counted half), as XGBoost computes it (binary_auc): a
// label counts y positive and 1 - y negative. NaN when one class is absent.
double auc(const std::vector<float>& p, const std::vector<float>& y);
// The ROC curve as (false positive rate, true positive rate) points, at most `points` + 2.
std::vector<std::pair<double, double>> roc_curve(const std::vector<float>& p,
                                                 const std::vector<float>& y, size_t points);

struct FinalMetrics {
  LabelKind kind = LabelKind::binary;
  std::string evaluated_on;  // "validation" or "training"
  uint64_t rows = 0;
  // Classifiers.
  double auc = 0, logloss = 0, accuracy = 0, precision = 0, recall = 0, threshold = 0.5;
  std::vector<std::vector<uint64_t>> confusion;  // [actual][predicted]
  // Regression.
  double rmse = 0, mae = 0;

  std::string to_json() const;
  std::string to_text() const;  // several lines for stderr
};

// p: one value per row (binary, regression) or `classes` per row (multi:softprob).
FinalMetrics evaluate(LabelKind kind, const std::vector<float>& p, const std::vector<float>& y,
                      int classes, double threshold);

}  // namespace cdn::model
