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
#include "common/record/message_key.hpp"
#include "common/record/source.hpp"

namespace cdn::model {

struct ScoreOptions {
  std::optional<double> threshold;  // binary: add "label"
  std::vector<std::string> keep;    // input fields copied to the output
  bool explain = false;             // add "contributions" (SHAP values)
  bool measure = false;             // count Batch::by_label and Batch::scores (--metrics-addr)
  bool allow_missing = false;       // score records missing features they must have
  // --shadow: a candidate scoring each record beside the model; its prediction goes out as
  // "shadow". Its objective must be the model's; its features may differ (other vocabularies,
  // other fields): then it builds its own row of each record, and skips a record that does
  // not fit its contract.
  const class Scorer* shadow = nullptr;
  // Drift (--drift-window): count each scored row's features and score into the bins of the
  // bundle's reference distributions (Batch::drift). The bundle must have them.
  bool drift = false;
  // --key-field: each prediction's Kafka message key from this field of its record (kept in
  // Batch::keys in place of the record's message key when the field gives one).
  record::KeyField key_field;
};

// Records in, prediction lines and rejects out, in input order.
class Scorer;

struct Batch {
  const Scorer* scorer = nullptr;                // the model that scores it
  std::string text;                              // the records, each padded
  std::vector<std::pair<size_t, size_t>> spans;  // offset and length in text
  std::vector<uint64_t> lines;                   // line (or offset) in its source
  std::vector<uint32_t> sources;                 // index of its source's name
  record::Keys keys;  // their Kafka message keys, if any (after score(): with --key-field's)
  // Results.
  std::string out;  // prediction lines, each ending in '\n'
  uint64_t out_count = 0;
  std::vector<size_t> out_records;  // with keys: the record of each prediction line
  struct Reject {
    size_t index;
    std::string reason;
  };
  std::vector<Reject> rejects;
  std::vector<uint64_t> unknown;  // per feature: values outside the vocabulary
  std::vector<uint64_t> missing;  // per feature: records without it
  // Records whose fields were all read, and those of them holding at least half the
  // features: when few do, the model is not the one for these records.
  uint64_t read = 0, fitting = 0;
  // With ScoreOptions::measure: predictions by the label written (index: the label, the last
  // one: no label written), and probabilities by tenth (kScoreBuckets, the last +Inf).
  static constexpr size_t kScoreBuckets = 11;  // diag::Histogram::tenths() and +Inf
  std::vector<uint64_t> by_label;
  uint64_t scores[kScoreBuckets] = {};
  double score_sum = 0;
  double seconds = 0;  // time spent scoring it
  // With a shadow model: predictions it made, those with the model's label (at the threshold,
  // or the same class), the sum of |prediction - shadow|, and its scores by tenth.
  uint64_t shadowed = 0, agreed = 0;
  double shadow_diff_sum = 0, shadow_score_sum = 0;
  uint64_t shadow_scores[kScoreBuckets] = {};
  // With ScoreOptions::drift: rows per bin of each reference distribution, laid out as
  // Reference::offsets() says (the features', then the score's).
  std::vector<uint64_t> drift;
  bool window_end = false;  // its last record ends a drift window of N records

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
  const RowBuilder& builder() const { return builder_; }
  const Bundle& bundle() const { return bundle_; }
  // The labels a prediction may carry (Batch::by_label holds one more: none), and whether
  // its score is a probability (Batch::scores is counted).
  size_t labels() const { return labels_; }
  bool probability() const { return probability_; }
  // Predictions for n dense rows of features(): one per row (`per` classes for multi:softprob).
  void predict_rows(const float* rows, size_t n, std::vector<float>& out, size_t& per) const;

 private:
  void compile_forest();
  std::string reject_reason(simdjson::dom::object obj, const std::string& fill_reason) const;

  const Bundle& bundle_;
  ScoreOptions opts_;
  RowBuilder builder_;
  std::vector<std::string> contribution_keys_;  // `"name":` per feature, then the bias
  std::string model_key_;                       // `,"model":"HASH"`
  std::vector<std::string> keep_keys_;          // `,"field":`
  std::unique_ptr<Forest> forest_;  // the trees laid out for speed; null: XGBoost predicts
  size_t labels_ = 0;
  bool probability_ = false;
  bool shadow_own_rows_ = false;  // the shadow's features differ: it builds rows of its own
  void count(Batch& b, const float* p, size_t per) const;
  std::vector<size_t> drift_offsets_;             // with ScoreOptions::drift: Reference::offsets()
  static const std::vector<double>& kTenthsOf();  // the score histogram's bounds
};

}  // namespace cdn::model
