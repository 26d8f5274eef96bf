#include "common/model/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/base/fd.hpp"
#include "common/base/json_text.hpp"
#include "common/base/nearest.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/status_line.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/model/round_metrics.hpp"

namespace cdn::model {

namespace {
// A spooled dataset's blocks, one batch each, for XGBoost's data iterator.
class DatasetBatches : public xgb::BatchSource {
 public:
  DatasetBatches(const Dataset& ds, const Contract& c, const std::vector<std::string>& types)
      : ds_(ds), names_(c.feature_names()), types_(types) {
    for (const auto& n : names_) name_ptrs_.push_back(n.c_str());
    for (const auto& t : types_) type_ptrs_.push_back(t.c_str());
  }
  void reset() override { next_ = 0; }
  bool next(DMatrixHandle proxy) override {
    if (next_ == ds_.blocks()) return false;
    size_t n = 0;
    const float* rows = ds_.block(next_, scratch_, n);
    xgb::set_batch(proxy, rows, n, ds_.cols, ds_.y.data() + ds_.first(next_), name_ptrs_,
                   type_ptrs_);
    ++next_;
    return true;
  }

 private:
  const Dataset& ds_;
  std::vector<std::string> names_, types_;
  std::vector<const char*> name_ptrs_, type_ptrs_;
  std::vector<float> scratch_;
  size_t next_ = 0;
};

// The feature types XGBoost is given: the contract's, except that external memory gets a
// category's code as a number ("q" for "c"): libxgboost 1.7 learns wrong categorical splits
// from external-memory pages (the training AUC falls round after round), and a split on the
// codes of the sorted vocabulary costs about 0.0004 of held-out AUC on this project's data.
std::vector<std::string> matrix_types(const Contract& c, const TrainOptions& o, const Dataset& ds) {
  std::vector<std::string> types = c.feature_types();
  if (ds.spool && !o.external_memory.empty()) {
    for (auto& t : types) {
      if (t == "c") t = "q";
    }
  }
  return types;
}

xgb::DMatrix to_matrix(const Dataset& ds, const Contract& c, const TrainOptions& o, int threads,
                       const xgb::DMatrix* ref, const char* name) {
  std::vector<std::string> types = matrix_types(c, o, ds);
  xgb::DMatrix m;
  if (!ds.spool) {
    m = xgb::dense_matrix(ds.x.data(), ds.rows(), ds.cols, threads);
    xgb::set_labels(m, ds.y);
  } else {
    DatasetBatches batches(ds, c, types);
    m = o.external_memory.empty()
            ? xgb::quantile_matrix(batches, ref, threads)
            : xgb::external_matrix(batches, o.external_memory + "/cdn-xgboost-" + name, threads);
    if (xgb::num_rows(m) != ds.rows()) {
      throw RuntimeError("XGBoost took " + std::to_string(xgb::num_rows(m)) + " of the " +
                         std::to_string(ds.rows()) + " " + name + " rows");
    }
  }
  xgb::set_feature_info(m, c.feature_names(), types);
  return m;
}

// Predictions of the booster for every row of a dataset, a block at a time.
std::vector<float> predict_blocks(const xgb::Booster& b, const Dataset& ds) {
  std::vector<float> out, part;
  std::vector<uint64_t> shape;
  ds.for_each_block([&](const float* rows, size_t, size_t n) {
    xgb::predict_dense(b, rows, n, ds.cols, part, shape);
    out.insert(out.end(), part.begin(), part.end());
  });
  return out;
}

std::string num_text(double v) {
  std::string s;
  base::append_double(s, v);
  return s;
}

// Metrics XGBoost users see by default, the one early stopping watches last.
std::vector<std::string> default_metrics(const std::string& objective) {
  if (objective.rfind("binary:", 0) == 0) return {"auc", "logloss"};
  if (objective.rfind("multi:", 0) == 0) return {"merror", "mlogloss"};
  if (objective.rfind("reg:", 0) == 0) return {"mae", "rmse"};
  return {};
}

bool maximize(const std::string& metric) {
  for (const char* m : {"auc", "aucpr", "map", "ndcg", "pre"}) {
    if (metric.rfind(m, 0) == 0) return true;
  }
  return false;
}

// "[3]\ttrain-auc:0.91\tvalid-auc:0.89" -> names and values.
void parse_eval(const std::string& text, std::vector<std::string>& names,
                std::vector<double>& values) {
  names.clear();
  values.clear();
  size_t pos = text.find('\t');
  while (pos != std::string::npos) {
    size_t start = pos + 1;
    pos = text.find('\t', start);
    std::string item = text.substr(start, pos == std::string::npos ? pos : pos - start);
    size_t colon = item.rfind(':');
    if (colon == std::string::npos) continue;
    names.push_back(item.substr(0, colon));
    values.push_back(std::strtod(item.c_str() + colon + 1, nullptr));
  }
}

std::vector<std::pair<std::string, std::string>> booster_params(const Contract& contract,
                                                                const TrainOptions& o,
                                                                int threads) {
  std::vector<std::pair<std::string, std::string>> p;
  p = {{"objective", contract.objective},          {"tree_method", "hist"},
       {"max_depth", std::to_string(o.max_depth)}, {"eta", num_text(o.eta)},
       {"subsample", num_text(o.subsample)},       {"colsample_bytree", num_text(o.colsample)},
       {"seed", std::to_string(o.seed)},           {"nthread", std::to_string(threads)}};
  // binary:hinge has no use for it: only a weight asked for is passed then (and refused).
  if (contract.binary() && (contract.objective != "binary:hinge" || o.scale_pos_weight != 1)) {
    p.emplace_back("scale_pos_weight", num_text(o.scale_pos_weight));
  }
  if (contract.multiclass()) p.emplace_back("num_class", std::to_string(contract.num_class));
  bool metric_given = false;
  for (const auto& kv : o.params) metric_given = metric_given || kv.first == "eval_metric";
  for (const auto& kv : o.params) {
    if (kv.first == "eval_metric") continue;
    auto it = std::find_if(p.begin(), p.end(), [&](const auto& e) { return e.first == kv.first; });
    if (it != p.end()) {
      it->second = kv.second;
    } else {
      p.push_back(kv);
    }
  }
  if (metric_given) {
    for (const auto& kv : o.params) {
      if (kv.first == "eval_metric") p.push_back(kv);
    }
  } else {
    for (const auto& m : default_metrics(contract.objective)) p.emplace_back("eval_metric", m);
  }
  // XGBoost then says which parameters it does not use (a mistyped name; check_parameters).
  p.emplace_back("validate_parameters", "1");
  return p;
}

}  // namespace

// One round on a one-row matrix with the same parameters: a bad objective or parameter value
// is a usage error found in a moment, not after the data is read.
void check_parameters(const Contract& contract, const TrainOptions& o) {
  Contract c = contract;
  if (c.multiclass() && c.num_class == 0) c.num_class = 2;
  auto params = booster_params(c, o, 1);
  size_t cols = c.features.size();
  std::vector<float> row(cols, std::nanf(""));
  xgb::DMatrix m = xgb::dense_matrix(row.data(), 1, cols, 1);
  xgb::set_labels(m, {1.0f});
  xgb::set_feature_info(m, c.feature_names(), c.feature_types());
  xgb::Booster b = xgb::new_booster({m.get()});
  // XGBoost says which parameters it does not use (validate_parameters): a mistyped name.
  xgb::LogCapture capture;
  for (const auto& kv : params) {
    if (xgb::api().XGBoosterSetParam(b.get(), kv.first.c_str(), kv.second.c_str()) != 0) {
      throw UsageError("bad XGBoost parameter " + kv.first + "=" + kv.second + ": " +
                       xgb::last_error());
    }
  }
  // Survival objectives want label bounds a one-row check has no values for.
  if (c.objective.rfind("survival:", 0) == 0) return;
  if (xgb::api().XGBoosterUpdateOneIter(b.get(), 0, m.get()) != 0) {
    throw UsageError("XGBoost refuses the parameters: " + xgb::last_error());
  }
  std::vector<std::string> unused;
  for (const auto& line : capture.lines()) {
    // "Parameters: { "max_bins", "x" } are not used."
    size_t open = line.find("Parameters: {"), close = line.find("} are not used");
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    std::string_view names(line.data() + open, close - open);
    for (size_t q = names.find('"'); q != std::string_view::npos; q = names.find('"', q)) {
      size_t end = names.find('"', q + 1);
      if (end == std::string_view::npos) break;
      unused.emplace_back(names.substr(q + 1, end - q - 1));
      q = end + 1;
    }
  }
  if (unused.empty()) return;
  std::vector<std::string> known = xgb::parameter_names(b);
  std::string text;
  for (const auto& name : unused) {
    if (!text.empty()) text += ", ";
    text += diag::quoted(name);
    auto near = base::nearest(name, known);
    if (near) text += " (did you mean " + diag::quoted(*near) + "?)";
  }
  throw UsageError("XGBoost does not use the parameter" +
                   std::string(unused.size() > 1 ? "s " : " ") + text + " with objective " +
                   c.objective + "; see XGBoost's parameter list, or leave the option out");
}

namespace {

std::string clock_text(double seconds) {
  auto s = static_cast<long long>(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

// Metrics for the bar, last column first: XGBoost lists the validation set's after the
// training set's, and early stopping watches the last ("valid-logloss:0.23 valid-auc:0.91
// train-logloss:0.19 train-auc:0.95"), so what matters survives the cut to the width.
std::string bar_metrics(const std::vector<std::string>& cols, const std::vector<double>& values) {
  std::string out;
  for (size_t k = std::min(cols.size(), values.size()); k-- > 0;) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", values[k]);
    if (!out.empty()) out += ' ';
    out += cols[k] + ":" + buf;
  }
  return out;
}

// The bar on a terminal: "cdn train: [####      ] 40/100 0:12 ETA 0:18 valid-auc:0.91",
// cut to the terminal's width less one column (so it never wraps). `tail` replaces the ETA.
void progress(int round, int total, double elapsed, const std::string& metrics,
              const std::string& tail = {}) {
  constexpr int kBar = 20;
  int done = total > 0 ? std::min(kBar, kBar * round / total) : kBar;
  std::string bar = "cdn train: [";
  bar.append(static_cast<size_t>(done), '#');
  bar.append(static_cast<size_t>(kBar - done), ' ');
  bar += "] " + std::to_string(round) + "/" + std::to_string(total) + " " + clock_text(elapsed);
  if (!tail.empty()) {
    bar += " " + tail;
  } else if (round > 0 && round < total) {
    bar += " ETA " + clock_text(elapsed / round * (total - round));
  }
  if (!metrics.empty()) bar += " " + metrics;
  size_t width = diag::terminal_width();
  if (width > 1 && bar.size() > width - 1) bar.resize(width - 1);
  bar = "\r\x1b[K" + bar;  // cleared first, as diag::StatusLine draws
  base::try_write_all(2, bar.data(), bar.size());
}
}  // namespace

TrainResult train(const Contract& contract, const Dataset& train, const Dataset* valid,
                  const TrainOptions& o) {
  TrainResult r;
  auto started = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  int threads = o.threads > 0 ? o.threads : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  r.data_mode = !train.spool                ? "in memory"
                : o.external_memory.empty() ? "quantised"
                                            : "external memory";
  xgb::DMatrix dtrain = to_matrix(train, contract, o, threads, nullptr, "train");
  xgb::DMatrix dvalid;
  if (valid != nullptr) dvalid = to_matrix(*valid, contract, o, threads, &dtrain, "valid");
  diag::debug("the data went to XGBoost " + r.data_mode + " in " +
              num_text(seconds_since(started)) + " s");
  std::vector<DMatrixHandle> cache{dtrain.get()};
  if (dvalid) cache.push_back(dvalid.get());
  r.booster = xgb::new_booster(cache);

  r.params = booster_params(contract, o, threads);
  auto& p = r.params;
  if (!o.model_in.empty()) {
    // Continued training, as XGBoost's xgb_model: the trees loaded, then this run's
    // parameters, and the rounds numbered on from the last one.
    xgb::check(xgb::api().XGBoosterLoadModelFromBuffer(r.booster.get(), o.model_in.data(),
                                                       o.model_in.size()),
               "cannot load the model to continue");
    r.base_rounds = xgb::boosted_rounds(r.booster);
  }
  for (const auto& kv : p) xgb::set_param(r.booster, kv.first, kv.second);
  const int base = r.base_rounds;

  // The sets evaluated after each round, as xgboost.train's evals: the training data only
  // when asked, the validation data when there is some; none costs nothing.
  std::vector<DMatrixHandle> evals;
  std::vector<const char*> names;
  std::vector<const Dataset*> sets;
  std::vector<const xgb::DMatrix*> matrices;
  auto evaluate_on = [&](const xgb::DMatrix& m, const char* name, const Dataset* ds) {
    evals.push_back(m.get());
    names.push_back(name);
    sets.push_back(ds);
    matrices.push_back(&m);
  };
  if (o.eval_train) evaluate_on(dtrain, "train", &train);
  if (dvalid) evaluate_on(dvalid, "valid", valid);
  // The common metrics cdn computes itself from the cached predictions (see
  // round_metrics.hpp); any other goes through XGBoost's evaluation.
  std::vector<std::string> metric_names;
  for (const auto& kv : p) {
    if (kv.first == "eval_metric") metric_names.push_back(kv.second);
  }
  std::unique_ptr<RoundMetrics> own_metrics;
  if (!o.xgboost_metrics) own_metrics = RoundMetrics::make(contract.objective, metric_names);
  if (own_metrics && !evals.empty()) {
    diag::debug("per-round metrics computed by cdn: " + std::to_string(metric_names.size()) +
                " on " + std::to_string(evals.size()) + " sets");
  }
  double best = 0;
  int since_best = 0;
  std::vector<std::string> cols;
  std::vector<double> values;
  for (int it = 0; it < o.rounds; ++it) {
    if (io::stop_requested()) break;
    xgb::check(xgb::api().XGBoosterUpdateOneIter(r.booster.get(), base + it, dtrain.get()),
               "boosting round failed");
    if (evals.empty()) {
      // nothing to evaluate
    } else if (own_metrics) {
      cols.clear();
      values.clear();
      for (size_t k = 0; k < evals.size(); ++k) {
        size_t n = 0;
        const float* pred = xgb::predict_cached(r.booster, *matrices[k], n);
        if (n != sets[k]->y.size())
          throw RuntimeError("XGBoost predicted " + std::to_string(n) + " values for " +
                             std::to_string(sets[k]->y.size()) + " rows of the " + names[k] +
                             " data");
        auto v = own_metrics->evaluate(pred, sets[k]->y.data(), n);
        for (size_t m = 0; m < v.size(); ++m) {
          cols.push_back(std::string(names[k]) + "-" + metric_names[m]);
          values.push_back(v[m]);
          if (it == 0 && metric_names[m] == "auc" && std::isnan(v[m]) && !o.quiet) {
            diag::warning(std::string("AUC is undefined on the ") +
                          (sets[k] == &train ? "training" : "validation") +
                          " data: it holds only one class of labels (or no rows); give it both");
          }
        }
      }
    } else {
      const char* text = nullptr;
      xgb::check(xgb::api().XGBoosterEvalOneIter(r.booster.get(), base + it, evals.data(),
                                                 names.data(), evals.size(), &text),
                 "evaluation failed");
      parse_eval(text, cols, values);
    }
    if (r.columns.empty()) r.columns = cols;
    if (!evals.empty()) r.history.push_back(values);
    r.rounds_run = it + 1;
    std::string shown;
    for (size_t k = 0; k < cols.size(); ++k) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", values[k]);
      if (k) shown += ' ';
      shown += cols[k] + ":" + buf;
    }
    if (!o.quiet) {
      if (o.progress_bar) {
        progress(it + 1, o.rounds, seconds_since(started), bar_metrics(cols, values));
      } else if (!evals.empty()) {
        diag::summary("[" + std::to_string(it) + "] " + shown);
      }
    }
    if (o.early_stopping > 0 && !values.empty()) {
      const std::string& metric = cols.back();
      double v = values.back();
      bool better = r.best_iteration < 0 ||
                    (maximize(metric.substr(metric.find('-') + 1)) ? v > best : v < best);
      r.stop_metric = metric;
      if (better) {
        best = v;
        r.best_iteration = it;
        since_best = 0;
      } else if (++since_best >= o.early_stopping) {
        break;
      }
    }
  }
  if (!o.quiet && o.progress_bar) {
    // The bar ends where the model does: at the best round when early stopping kept it.
    if (o.early_stopping > 0 && r.best_iteration >= 0 && r.best_iteration + 1 < r.rounds_run) {
      int best = r.best_iteration + 1;
      std::string shown = bar_metrics(r.columns, r.history[r.best_iteration]);
      progress(best, o.rounds, seconds_since(started), shown,
               "best: round " + std::to_string(r.best_iteration) + ", stopped after " +
                   std::to_string(r.rounds_run));
    } else {
      progress(r.rounds_run, o.rounds, seconds_since(started), {}, "done");
    }
    base::try_write_all(2, "\n", 1);
  }
  if (o.early_stopping > 0 && r.best_iteration >= 0) {
    if (!o.quiet) {
      diag::summary("early stopping: best round " + std::to_string(r.best_iteration) + " by " +
                    r.stop_metric + " " + num_text(best) + ", " +
                    std::to_string(r.rounds_run - r.best_iteration - 1) + " later rounds dropped");
    }
    if (base + r.best_iteration + 1 < xgb::boosted_rounds(r.booster)) {
      r.booster = xgb::slice(r.booster, base + r.best_iteration + 1);
    }
    xgb::set_attr(r.booster, "best_iteration", std::to_string(base + r.best_iteration));
    xgb::set_attr(r.booster, "best_score", num_text(best));
  }
  r.rounds_kept = r.best_iteration >= 0 ? r.best_iteration + 1 : r.rounds_run;
  r.trees = xgb::num_trees(r.booster);

  // Final metrics on the validation set, else on the training set: the training data's
  // predictions are the booster's cache when no round was dropped; any other set is
  // predicted again (a spooled one a block at a time).
  const Dataset& eval = valid != nullptr ? *valid : train;
  bool sliced = o.early_stopping > 0 && r.best_iteration >= 0;
  if (valid == nullptr && !sliced) {
    size_t n = 0;
    const float* pred = xgb::predict_cached(r.booster, dtrain, n);
    r.final_predictions.assign(pred, pred + n);
  } else if (eval.spool) {
    r.final_predictions = predict_blocks(r.booster, eval);
  } else {
    std::vector<uint64_t> shape;
    xgb::predict_matrix(r.booster, valid != nullptr ? dvalid : dtrain, 0, r.final_predictions,
                        shape);
  }
  // XGBoost's training state (the matrices, gradients, row partitions, prediction caches:
  // most of the memory) goes before the metrics, the report and the reference are made: the
  // model alone is kept, saved and loaded again.
  dvalid.reset();
  dtrain.reset();
  r.booster = xgb::load(xgb::save(r.booster, "ubj"), "the trained model");
  r.final_metrics = evaluate(label_kind(contract.objective), r.final_predictions, eval.y,
                             contract.num_class, o.threshold);
  r.final_metrics.evaluated_on = valid != nullptr ? "validation" : "training";
  return r;
}

std::string rounds_text(const TrainResult& r) {
  std::string s = std::to_string(r.rounds_run) + (r.rounds_run == 1 ? " round" : " rounds");
  if (r.best_iteration >= 0) s += " run";
  if (r.base_rounds > 0) s += " after the " + std::to_string(r.base_rounds) + " of --model-in";
  if (r.best_iteration >= 0) {
    s += ", " + std::to_string(r.rounds_kept) + " kept (best round " +
         std::to_string(r.best_iteration) + ")";
  }
  if (r.trees >= 0) s += ", " + std::to_string(r.trees) + (r.trees == 1 ? " tree" : " trees");
  if (r.workers > 1) s += ", trained by " + std::to_string(r.workers) + " workers";
  return s;
}

std::string params_json(const TrainResult& r, const TrainOptions& o, const Validation& v) {
  std::string p = "{\"xgboost\":[";
  for (size_t i = 0; i < r.params.size(); ++i) {
    if (i) p += ',';
    p += '[';
    base::append_json_string(p, r.params[i].first);
    p += ',';
    base::append_json_string(p, r.params[i].second);
    p += ']';
  }
  p += "],\n\"rounds\":" + std::to_string(o.rounds);
  p += ",\"rounds_run\":" + std::to_string(r.rounds_run);
  if (r.base_rounds > 0) p += ",\"base_rounds\":" + std::to_string(r.base_rounds);
  p += ",\"early_stopping\":" + std::to_string(o.early_stopping);
  p += ",\"best_iteration\":" + std::to_string(r.best_iteration);
  p += ",\"rounds_kept\":" + std::to_string(r.rounds_kept);
  p += ",\"trees\":" + std::to_string(r.trees);
  if (!r.data_mode.empty()) {
    p += ",\"data\":";
    base::append_json_string(p, r.data_mode);
    p += ",\"workers\":" + std::to_string(r.workers);
  }
  p += ",\"threshold\":";
  base::append_double(p, o.threshold);
  p += ",\"validation\":";
  if (!v.files.empty()) {
    p += "{\"files\":[";
    for (size_t i = 0; i < v.files.size(); ++i) {
      if (i) p += ',';
      base::append_json_string(p, v.files[i]);
    }
    p += "]}";
  } else if (v.fraction > 0) {
    p += "{\"fraction\":";
    base::append_double(p, v.fraction);
    p += "}";
  } else if (!v.after.empty()) {
    p += "{\"after\":";
    base::append_json_string(p, v.after);
    p += "}";
  } else {
    p += "null";
  }
  return p + "}\n";
}

std::string metrics_json(const TrainResult& r) {
  std::string m = "{\"columns\":[";
  for (size_t i = 0; i < r.columns.size(); ++i) {
    if (i) m += ',';
    base::append_json_string(m, r.columns[i]);
  }
  m += "],\n\"history\":[";
  for (size_t i = 0; i < r.history.size(); ++i) {
    m += i ? ",\n[" : "\n[";
    for (size_t k = 0; k < r.history[i].size(); ++k) {
      if (k) m += ',';
      base::append_double(m, r.history[i][k]);
    }
    m += ']';
  }
  m += "],\n\"best_iteration\":" + std::to_string(r.best_iteration);
  m += ",\"stop_metric\":";
  base::append_json_string(m, r.stop_metric);
  return m + ",\n\"final\":" + r.final_metrics.to_json() + "}\n";
}

namespace {
std::map<std::string, double> scores(const xgb::Booster& b, const Contract& c, const char* type) {
  std::string config = std::string("{\"importance_type\":\"") + type + "\",\"feature_names\":[";
  auto names = c.feature_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) config += ',';
    base::append_json_string(config, names[i]);
  }
  config += "]}";
  bst_ulong n = 0, dim = 0;
  const char** features = nullptr;
  const bst_ulong* shape = nullptr;
  const float* values = nullptr;
  xgb::check(xgb::api().XGBoosterFeatureScore(b.get(), config.c_str(), &n, &features, &dim, &shape,
                                              &values),
             "cannot compute the feature importance");
  std::map<std::string, double> out;
  size_t per = 1;
  for (bst_ulong d = 1; d < dim; ++d) per *= shape[d];
  for (bst_ulong i = 0; i < n; ++i) {
    double sum = 0;
    for (size_t k = 0; k < per; ++k) sum += values[i * per + k];
    out[features[i]] = sum;
  }
  return out;
}
}  // namespace

std::string importance_json(const xgb::Booster& b, const Contract& c) {
  std::string s = "{";
  bool first = true;
  for (const char* type : {"gain", "weight", "cover", "total_gain", "total_cover"}) {
    if (!first) s += ",\n";
    first = false;
    base::append_json_string(s, type);
    s += ":{";
    bool f1 = true;
    for (const auto& [name, v] : scores(b, c, type)) {
      if (!f1) s += ',';
      f1 = false;
      base::append_json_string(s, name);
      s += ':';
      base::append_double(s, v);
    }
    s += '}';
  }
  s += "}\n";
  return s;
}

std::vector<double> feature_importance(const xgb::Booster& b, const Contract& c, const char* type) {
  auto m = scores(b, c, type);
  std::vector<double> out;
  for (const auto& f : c.features) {
    auto it = m.find(f.name);
    out.push_back(it == m.end() ? 0 : it->second);
  }
  return out;
}

}  // namespace cdn::model
