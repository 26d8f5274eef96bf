// cdn train --report: one self-contained HTML file (inline SVG, no external resources) with
// the learning curves, the feature importance, and the ROC curve (binary), the residuals
// (regression) or the confusion matrix (multi-class).
#pragma once

#include <string>
#include <vector>

#include "common/model/contract.hpp"
#include "common/model/trainer.hpp"

namespace cdn::model {

// labels: of the set the final metrics were computed on (r.final_predictions' rows).
void write_report(const std::string& path, const Contract& contract, const TrainResult& r,
                  const std::vector<float>& labels, const std::vector<double>& gain);

}  // namespace cdn::model
