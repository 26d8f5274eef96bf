// The trees of a loaded booster, laid out for prediction. XGBoost walks one row at a time
// through a tree, so each step waits for the node before it. The forest first turns every
// value of a block of rows into a one-byte bin (for a numeric feature, how many of its split
// conditions are at or below the value; for a categorical one, the category; one bin for
// missing), then walks the block through each tree, eight rows side by side, a step being one
// bit test of the value's bin in the node's set of bins that go right. Same decisions as
// XGBoost (numeric split: right when value >= condition; categorical split: right when the
// category is in the node's set; missing value: the default side), the same float sums in
// tree order and the same output transform, so the predictions equal the library's.
//
// Only what it knows is taken: a gbtree booster with one output (binary:logistic,
// reg:squarederror), categories below 254, at most 254 split conditions per feature,
// children side by side as XGBoost allocates them; any other model is predicted by XGBoost,
// and so is every model whose forest disagrees with XGBoost on a check set (see Scorer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::model {

class Forest {
 public:
  // Compiled from the booster's JSON (XGBoosterSaveModelToBuffer, format json); nullptr and
  // the reason in `why` when the model has something the forest does not evaluate.
  static std::unique_ptr<Forest> from_json(std::string_view model_json, std::string& why);

  // Predictions for n row-major rows of `cols` floats (NaN: missing) into out[0..n).
  void predict(const float* rows, size_t n, size_t cols, float* out) const;

  // Rows that reach both sides of every split, the missing side included: the check set.
  std::vector<float> probe_rows(size_t cols, size_t n) const;

  size_t trees() const { return roots_.size(); }

 private:
  // A step is a load and a bit test, without a branch: every value of a block is turned into
  // a one-byte bin first, and a node holds the set of bins that go right (for a numeric split
  // the bins above its condition, for a categorical one its categories, and the missing bin
  // when a missing value goes right). The child is left + (bin in mask).
  struct Node {
    uint64_t mask[4] = {0, 0, 0, 0};  // 256 bins; a leaf has none, so every step stays on it
    int32_t left = 0;     // absolute index of the left child; the right one is next to it
    uint32_t column = 0;  // feature * the block's rows: where predict() keeps its bins
  };

 public:
  enum class Kind : uint8_t { unused, numeric, categorical };

 private:
  enum class Transform { sigmoid, identity };

  std::vector<Node> nodes_;
  std::vector<float> values_;  // leaf values, by node
  std::vector<int32_t> roots_;
  std::vector<uint8_t> depths_;           // steps from the root to the deepest leaf
  std::vector<Kind> kinds_;               // by feature
  std::vector<std::vector<float>> cuts_;  // by numeric feature: its split conditions, sorted
  uint32_t max_feature_ = 0;
  float base_margin_ = 0;
  Transform transform_ = Transform::identity;
};

}  // namespace cdn::model
