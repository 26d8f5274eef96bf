// Boosting rounds over a dataset, with evaluation each round, early stopping, and the
// final metrics.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/model/contract.hpp"
#include "common/model/dataset.hpp"
#include "common/model/metrics.hpp"
#include "common/model/xgb.hpp"

namespace cdn::model {

struct TrainOptions {
  int rounds = 100;
  int max_depth = 6;
  double eta = 0.3;
  double subsample = 1;
  double colsample = 1;
  double scale_pos_weight = 1;
  uint64_t seed = 0;
  int threads = 0;                                          // 0: every core
  std::vector<std::pair<std::string, std::string>> params;  // --param k=v, last wins
  int early_stopping = 0;
  double threshold = 0.5;
  // --model-in: the model to continue (UBJSON, as a bundle holds it); its trees stay and the
  // rounds are added after them.
  std::vector<char> model_in;
  // Per-round metrics on the training data as well as on the validation data (XGBoost's
  // evals=[(dtrain, "train"), ...]); without validation data and without this, none.
  bool eval_train = false;
  // Spooled datasets (Dataset::spool) go to XGBoost through its data iterator: quantised as
  // they come, or with this set, as external memory paged from this directory.
  std::string external_memory;
  bool progress_bar = false;  // a bar on stderr (a terminal) instead of a line per round
  bool quiet = false;
  // Per-round metrics by XGBoost's evaluation, never cdn's own (distributed training: XGBoost
  // sums them over the workers).
  bool xgboost_metrics = false;
};

struct TrainResult {
  xgb::Booster booster;
  std::vector<std::pair<std::string, std::string>> params;  // what the booster got
  std::vector<std::string> columns;                         // "train-auc", "valid-logloss"...
  std::vector<std::vector<double>> history;                 // per round, per column
  int base_rounds = 0;      // the rounds of the model continued (--model-in)
  int rounds_run = 0;       // the rounds this run added
  int best_iteration = -1;  // with early stopping: the round kept last
  int rounds_kept = 0;      // of the rounds this run added, those the model keeps
  int trees = -1;           // trees in the model written (-1: a booster without trees)
  std::string stop_metric;  // the column early stopping watched
  std::string data_mode;    // "in memory", "quantised" or "external memory"
  FinalMetrics final_metrics;
  std::vector<float> final_predictions;  // on the evaluated set
  int workers = 1;                       // the processes that trained it (distributed.hpp)
};

// Tries the parameters on a one-row matrix: a bad objective or parameter value is a
// UsageError found before any data is read.
void check_parameters(const Contract& contract, const TrainOptions& opts);

// Trains on `train`, with per-round metrics on `valid` when given (and on `train` with
// eval_train). A dataset held in memory becomes a dense DMatrix; a spooled one goes in
// batches into a quantile DMatrix, or an external-memory one.
TrainResult train(const Contract& contract, const Dataset& train, const Dataset* valid,
                  const TrainOptions& opts);

// What ran and what the model keeps, for the summary line and the report: "30 rounds, 30
// trees"; with early stopping "30 rounds run, 20 kept (best round 19), 20 trees"; after
// --model-in "6 rounds after the 8 of --model-in, 14 trees" (the trees are the model's).
std::string rounds_text(const TrainResult& r);

// Where the validation data came from, for params.json.
struct Validation {
  std::vector<std::string> files;
  double fraction = 0;
  std::string after;  // an RFC 3339 time, or empty
};

// The bundle's params.json: the booster's parameters, rounds, early stopping, threshold and
// the validation data.
std::string params_json(const TrainResult& r, const TrainOptions& o, const Validation& v);
// The bundle's metrics.json: the columns, every round's values, the best round, the final
// metrics.
std::string metrics_json(const TrainResult& r);

// Feature importance (XGBoosterFeatureScore) as a JSON object: one member per type (gain,
// weight, cover, total_gain, total_cover), each mapping feature names to scores.
std::string importance_json(const xgb::Booster& b, const Contract& contract);
// Importance of one type ("gain", "weight", "cover", ...) per feature in the contract's
// order (0 when the feature is never used).
std::vector<double> feature_importance(const xgb::Booster& b, const Contract& contract,
                                       const char* type);

}  // namespace cdn::model
