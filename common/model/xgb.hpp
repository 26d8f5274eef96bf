// The XGBoost C API behind RAII owners: every return code is checked in check(), which
// turns a failure into a RuntimeError carrying XGBGetLastError().
#pragma once

#include "common/model/xgb_api.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cdn::model::xgb {

// XGBoost's own log lines (warnings such as an AUC over one class) go through cdn's
// diagnostics (prefix, -q, --log-format) instead of straight to stderr.
void route_logs();

// While one lives, XGBoost's log lines are kept (whole) instead of logged. One at a time.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines() const;
};

// XGBoost's last error: the message's first line, without time, source file and stack.
std::string last_error();
// The version of the libxgboost in use, "2.0.3".
std::string version();
// Throws RuntimeError("WHAT: <XGBoost's last error>") when rc != 0.
void check(int rc, const std::string& what);

struct DMatrixFree {
  void operator()(void* h) const { api().XGDMatrixFree(h); }
};
struct BoosterFree {
  void operator()(void* h) const { api().XGBoosterFree(h); }
};
using DMatrix = std::unique_ptr<void, DMatrixFree>;
using Booster = std::unique_ptr<void, BoosterFree>;

// A row-major dense float matrix (NaN = missing) as a DMatrix; the data is copied.
DMatrix dense_matrix(const float* data, uint64_t rows, uint64_t cols, int threads);
void set_labels(DMatrix& m, const std::vector<float>& labels);

// Rows handed to XGBoost a batch at a time through its data iterator. XGBoost reads the
// batches more than once (sketching, then building), each time after reset().
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void reset() = 0;
  // Sets the next batch on `proxy` (set_batch) and returns true; false after the last.
  virtual bool next(DMatrixHandle proxy) = 0;
};
// A batch of `rows` dense rows (NaN = missing) and their labels, with the feature names and
// types, on the proxy; XGBoost reads the data before asking for the next batch.
void set_batch(DMatrixHandle proxy, const float* data, uint64_t rows, uint64_t cols,
               const float* labels, const std::vector<const char*>& names,
               const std::vector<const char*>& types);
// A quantile DMatrix: the histogram cuts sketched from the batches, then each value kept as
// its bin (a byte for up to 256 bins), the floats never whole in memory. `ref`: the matrix
// whose cuts this one shares (validation data takes the training data's), or none.
DMatrix quantile_matrix(BatchSource& src, const DMatrix* ref, int threads);
// An external-memory DMatrix: the batches written as pages to files named after
// `cache_prefix` and read back from there round after round.
DMatrix external_matrix(BatchSource& src, const std::string& cache_prefix, int threads);
uint64_t num_rows(const DMatrix& m);
void set_feature_info(DMatrix& m, const std::vector<std::string>& names,
                      const std::vector<std::string>& types);

Booster new_booster(const std::vector<DMatrixHandle>& cache);
// The names XGBoost lists in a booster's configuration: the learner's, the booster's, the
// tree updater's and the objective's parameters, the choices for a mistyped one.
std::vector<std::string> parameter_names(const Booster& b);
void set_param(Booster& b, const std::string& key, const std::string& value);
std::string get_attr(const Booster& b, const std::string& key);  // "" when unset
void set_attr(Booster& b, const std::string& key, const std::string& value);
uint64_t num_features(const Booster& b);
std::vector<std::string> feature_info(const Booster& b, const char* field);
// Rounds boosted so far (XGBoosterBoostedRounds).
int boosted_rounds(const Booster& b);
// Trees in the model (every round adds one per class, times num_parallel_tree); -1 for a
// booster without trees (gblinear).
int num_trees(const Booster& b);
// The first `rounds` rounds as a new booster.
Booster slice(const Booster& b, int rounds);
// "json" or "ubj".
std::vector<char> save(const Booster& b, const char* format);
Booster load(const std::vector<char>& bytes, const std::string& what);

// Predictions for a dense row-major batch (in-place prediction, thread-safe): the values
// are copied into out, and the shape (rows, then classes when more than one) into shape.
void predict_dense(const Booster& b, const float* data, uint64_t rows, uint64_t cols,
                   std::vector<float>& out, std::vector<uint64_t>& shape);
// type: 0 value, 2 contributions (SHAP), on a DMatrix.
void predict_matrix(const Booster& b, const DMatrix& m, int type, std::vector<float>& out,
                    std::vector<uint64_t>& shape);
// The values predicted for a DMatrix the booster caches (its training and evaluation data):
// only the trees added since the last call are evaluated. The pointer stays valid until the
// next prediction on this thread; `n` is the number of values.
const float* predict_cached(const Booster& b, const DMatrix& m, size_t& n);

}  // namespace cdn::model::xgb
