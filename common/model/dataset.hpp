// Training data: CSV files read straight into a dense row-major float matrix (NaN =
// missing) by the feature contract, with the label beside it. Rows that do not fit go to
// the rejects sink with the reason.
#pragma once

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/model/contract.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"

namespace cdn::model {

enum class LabelKind { binary, multiclass, regression };
LabelKind label_kind(const std::string& objective);
// Parses one labelled NDJSON record: `obj` and the label as the contract's objective wants it
// (a number or a boolean; 0 or 1, a class number). Returns why the record is refused, or "".
std::string read_labelled(simdjson::dom::parser& parser, std::string_view text, const Contract& c,
                          simdjson::dom::object& obj, double& label);
// Why a label's value does not fit the contract's objective ("is neither 0 nor 1", "is not a
// class number from 0 to 2"); "" when it fits.
std::string label_misfit(const Contract& c, double d);

// The features of a Dataset's rows written to an unlinked temporary file a block at a time
// and read back a block at a time: the float matrix is never whole in memory.
class RowSpool {
 public:
  static constexpr size_t kBlockRows = 65536;
  // A new file in `dir`; throws UsageError naming the directory when it cannot be made.
  RowSpool(const std::string& dir, size_t cols);
  ~RowSpool();
  RowSpool(const RowSpool&) = delete;
  RowSpool& operator=(const RowSpool&) = delete;
  void append(const float* row);
  size_t rows() const { return rows_; }
  size_t blocks() const { return (rows_ + kBlockRows - 1) / kBlockRows; }
  // Block b's rows (kBlockRows, the last block fewer) into `out`; returns how many.
  size_t read(size_t b, std::vector<float>& out) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int fd_ = -1;
  size_t cols_;
  size_t rows_ = 0;  // appended; those past the last whole block wait in pending_
  std::vector<float> pending_;
};

struct Dataset {
  size_t cols = 0;
  std::vector<float> x;       // rows * cols, when the rows are held in memory
  std::vector<float> y;       // one label per row
  std::vector<int64_t> time;  // seconds since the epoch of each row's time field (if kept)
  // Else the rows are spooled to a file (spool_to before the first row).
  std::shared_ptr<RowSpool> spool;
  // Per feature, the final code of each code a spooled row was written with (empty: as is):
  // the learned vocabularies are sorted after the rows are written.
  std::vector<std::vector<float>> recode;

  size_t rows() const { return y.size(); }
  const float* row_in_memory(size_t r) const { return x.data() + r * cols; }
  // Rows go to a new file in `dir` instead of memory.
  void spool_to(const std::string& dir);
  void add(const float* row, float label);
  // The rows a block at a time, codes final: blocks() of them, block b from row first(b),
  // read with block(b, scratch, n) (a pointer into x, or into scratch).
  size_t blocks() const;
  size_t first(size_t b) const { return b * RowSpool::kBlockRows; }
  const float* block(size_t b, std::vector<float>& scratch, size_t& n) const;
  template <class F>
  void for_each_block(F f) const {  // f(rows, first row, row count)
    std::vector<float> scratch;
    for (size_t b = 0; b < blocks(); ++b) {
      size_t n = 0;
      const float* p = block(b, scratch, n);
      f(p, first(b), n);
    }
  }
  // Moves the rows for which pick(r) is true into `to` (keeping order); `to` keeps its rows
  // where this one does.
  template <class Pick>
  void split(Dataset& to, Pick pick);
};

// Per feature: the smallest and largest value and the rows without one.
struct ColumnStats {
  double lo = INFINITY, hi = -INFINITY;
  uint64_t missing = 0;
};
std::vector<ColumnStats> column_stats(const Dataset& ds);

// Reads training data, CSV or NDJSON, into a Dataset.
class CsvLoader {
 public:
  // The contract's learned vocabularies grow while loading with learn = true.
  CsvLoader(Contract& contract, bool keep_time, record::Rejects& rejects, record::Counts& counts);
  // Appends the rows of one CSV file (a header row first; gzip is recognized). Throws
  // RuntimeError when it cannot be read, UsageError when a needed column is missing.
  void load(const std::string& path, Dataset& into, bool learn);
  // Appends the rows of NDJSON records (files, stdin, a Kafka topic read to its end), typed
  // by the contract as predict reads a record: the same records give the same rows as CSV.
  void load(record::Source& in, Dataset& into, bool learn);
  // Keeps the learned vocabularies as they are (continued training: the model's codes stay);
  // a value outside one counts as unknown, as in validation data.
  void freeze_vocabularies() { frozen_ = true; }
  // Sorts the learned vocabularies and renumbers their codes in `ds` accordingly.
  void finish_vocabularies(Dataset& ds);
  // Adds values to feature f's learned vocabulary as if the training data had held them (the
  // categories other workers saw, in distributed training); finish_vocabularies() then orders
  // them with the rest. Nothing when the vocabulary is frozen or not learned.
  void learn_categories(size_t f, const std::vector<std::string>& values);
  // Values outside a feature's vocabulary (files loaded with learn = false), per feature.
  const std::vector<uint64_t>& unknown() const { return unknown_; }
  // Rows without a value for each feature (an empty cell), over every file loaded.
  const std::vector<uint64_t>& missing() const { return missing_; }

 private:
  Contract& contract_;
  LabelKind label_kind_;
  bool keep_time_;
  record::Rejects& rejects_;
  record::Counts& counts_;
  std::vector<std::unordered_map<std::string, float>> codes_;  // per feature
  std::vector<uint64_t> unknown_;
  std::vector<uint64_t> missing_;
  bool frozen_ = false;
};

template <class Pick>
void Dataset::split(Dataset& to, Pick pick) {
  to.cols = cols;
  if (spool) {
    Dataset keep;
    keep.cols = cols;
    keep.spool_to(spool->dir());
    if (!to.spool) to.spool_to(spool->dir());
    for_each_block([&](const float* p, size_t first, size_t n) {
      for (size_t i = 0; i < n; ++i) {
        size_t r = first + i;
        Dataset& into = pick(r) ? to : keep;
        into.add(p + i * cols, y[r]);
        if (!time.empty()) into.time.push_back(time[r]);
      }
    });
    *this = std::move(keep);
    return;
  }
  size_t keep = 0;
  for (size_t r = 0; r < rows(); ++r) {
    const float* src = row_in_memory(r);
    if (pick(r)) {
      to.x.insert(to.x.end(), src, src + cols);
      to.y.push_back(y[r]);
      if (!time.empty()) to.time.push_back(time[r]);
    } else {
      if (keep != r) {
        std::copy(src, src + cols, x.data() + keep * cols);
        y[keep] = y[r];
        if (!time.empty()) time[keep] = time[r];
      }
      ++keep;
    }
  }
  x.resize(keep * cols);
  y.resize(keep);
  if (!time.empty()) time.resize(keep);
}

}  // namespace cdn::model

namespace cdn::model {
// The data summary of the bundle: rows, label balance, per-feature min/max/missing.
std::string summary_json(const Contract& c, const Dataset& train, const Dataset* valid);
}  // namespace cdn::model
