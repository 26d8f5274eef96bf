// Scoring a batch of records with a model bundle: records parsed with simdjson straight into
// dense feature rows, one prediction for the batch, and the prediction lines. The prediction
// comes from the booster's trees compiled into a Forest when it takes the model and agrees
// with XGBoost on a check set, else from XGBoost's in-place prediction.
// A Scorer is immutable: worker threads share one and score different batches at once.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/bundle.hpp"
#include "common/model/forest.hpp"

namespace cdn::model {

struct ScoreOptions {
  std::optional<double> threshold;  // binary: add "label"
  std::vector<std::string> keep;    // input fields copied to the output
  bool explain = false;             // add "contributions" (SHAP values)
};

// Records in, prediction lines and rejects out, in input order.
struct Batch {
  std::string text;                              // the records, each padded
  std::vector<std::pair<size_t, size_t>> spans;  // offset and length in text
  std::vector<uint64_t> lines;                   // line (or offset) in its source
  std::vector<uint32_t> sources;                 // index of its source's name
  // Results.
  std::string out;  // prediction lines, each ending in '\n'
  uint64_t out_count = 0;
  struct Reject {
    size_t index;
    std::string reason;
  };
  std::vector<Reject> rejects;
  std::vector<uint64_t> unknown;  // per feature: values outside the vocabulary

  size_t size() const { return spans.size(); }
  void add(std::string_view record, uint64_t line, uint32_t source);
  std::string_view record(size_t i) const {
    return {text.data() + spans[i].first, spans[i].second};
  }
  void clear();
};

class Scorer {
 public:
  // Throws UsageError when an option does not fit the model (--threshold on a regression).
  Scorer(const Bundle& bundle, ScoreOptions opts);
  void score(Batch& b) const;
  size_t features() const { return builder_.width(); }

 private:
  void compile_forest();
  std::string reject_reason(simdjson::dom::object obj, const std::string& fill_reason) const;

  const Bundle& bundle_;
  ScoreOptions opts_;
  RowBuilder builder_;
  std::vector<std::string> contribution_keys_;  // `"name":` per feature, then the bias
  std::vector<std::string> keep_keys_;          // `,"field":`
  std::unique_ptr<Forest> forest_;  // the trees laid out for speed; null: XGBoost predicts
};

}  // namespace cdn::model
