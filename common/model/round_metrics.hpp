// The metrics printed after every boosting round, computed by cdn from the booster's cached
// predictions for the common objectives. XGBoost's own evaluation sorts every evaluation set
// again for AUC in every round: on 1M training rows that took more than half of the training
// time. The formulas are XGBoost's (labels weighted by their value, ties in AUC counted as
// trapezoids, per-row losses in float summed in double), so the values match its own to the
// last digits; metrics cdn does not compute are left to XGBoost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cdn::model {

class RoundMetrics {
 public:
  // The evaluator for `metrics` (XGBoost names, in the order XGBoost prints them) under
  // `objective`, or nullptr when one of them is not computed by cdn: auc, logloss and error
  // for binary:logistic; rmse and mae for reg:squarederror.
  static std::unique_ptr<RoundMetrics> make(const std::string& objective,
                                            const std::vector<std::string>& metrics);

  // One value per metric, in order, for predictions `p` (as XGBoost predicts them: a
  // probability, a value) against labels `y`, both of length n.
  // On large sets AUC runs on a second thread while the other metrics are summed.
  std::vector<double> evaluate(const float* p, const float* y, size_t n);

 private:
  enum class Kind { auc, logloss, error, rmse, mae };
  std::vector<Kind> kinds_;
  std::vector<uint64_t> rows_, scratch_;  // AUC's sort, kept from round to round
};

// Binary ROC AUC exactly as XGBoost 1.x computes it on unweighted rows: rows in descending
// order of prediction (a radix sort), a label counts `y` positive and `1 - y` negative, each
// group of equal predictions adds a trapezoid. NaN when one class is absent. `rows` and
// `scratch` are working memory.
double binary_auc(const float* p, const float* y, size_t n, std::vector<uint64_t>& rows,
                  std::vector<uint64_t>& scratch);
double binary_auc(const float* p, const float* y, size_t n);

}  // namespace cdn::model
