// Drift: how far live records have moved from the data a model was trained on. cdn train
// stores a reference distribution per feature and of the scores in the bundle
// (reference.json); cdn predict counts live records into the same bins over a window and
// compares the two by the population stability index.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/contract.hpp"
#include "common/model/dataset.hpp"

namespace cdn::model {

// One distribution: the share of rows in each bin.
// - Numbers: the bins split at `edges` (ascending, distinct): a value v falls in bin k when
//   edges[k-1] <= v < edges[k], so there are edges.size() + 1 of them; then one bin for
//   missing values.
// - Categories: one bin per category of the feature's vocabulary (by code), one for values
//   outside it, one for missing values.
struct Distribution {
  std::string name;
  bool categorical = false;
  std::vector<double> edges;            // numbers
  std::vector<std::string> categories;  // categories, as the contract has them
  std::vector<double> share;            // per bin; sums to 1
  size_t bins() const { return share.size(); }
  // The bin of a row's value (NaN: missing, or outside the vocabulary when `unknown`).
  size_t bin(float v, bool unknown) const;
};

struct Reference {
  uint64_t rows = 0;                   // training rows the features were counted on
  uint64_t scored = 0;                 // rows the scores were counted on
  std::vector<Distribution> features;  // in the contract's order
  Distribution score;                  // the prediction (the top class's probability)
  // Where each feature's bins start in a flat count vector, then the score's, then the end.
  std::vector<size_t> offsets() const;
  std::string to_json() const;
  // Throws UsageError naming `where` when the text is not a reference for `c`.
  static Reference from_json(std::string_view text, const Contract& c, const std::string& where);
};

// The reference of a training set: for a number, edges at each tenth of its non-missing
// values (the distinct ones); for a category, the contract's vocabulary; and the scores'
// tenths (of every row up to a million, of an even sample of a million beyond). `scores` holds one
// score per scored row (the top class's probability for a multi-class model).
Reference build_reference(const Contract& c, const Dataset& train,
                          const std::vector<float>& scores);

// One score per row from predictions with `per` values a row (the largest of them).
std::vector<float> row_scores(const std::vector<float>& p, size_t per);

// The population stability index of live counts against reference shares:
// sum over the bins of (live - ref) * ln(live / ref), each share floored at 1e-4 so that an
// empty bin counts as rare rather than impossible. 0 when no live row was counted.
double psi(const std::vector<double>& ref, const uint64_t* live, size_t bins);

}  // namespace cdn::model
