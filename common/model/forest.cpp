#include "common/model/forest.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace cdn::model {

namespace {

constexpr size_t kBlock = 512;  // rows walked through the forest together: each tree stays in cache
constexpr size_t kLanes = 8;    // rows walked through one tree side by side
// Bins of a value, one byte: a numeric value's is the number of its feature's cuts at or below
// it; a categorical value's is its category (the fractional part dropped, as XGBoost does), or
// kNoCategory when it is negative or past every set; a missing value's is kMissingBin.
constexpr uint32_t kMissingBin = 255;
constexpr int64_t kNoCategory = 254;
constexpr size_t kMaxCuts = 254;

// A split as the model has it, kept until every split of the forest is known.
struct Split {
  Forest::Kind kind = Forest::Kind::unused;  // unused: a leaf
  uint32_t feature = 0;
  float cond = 0;
  bool missing_right = false;
  uint64_t cats[4] = {0, 0, 0, 0};
  void set(uint32_t c) { cats[c / 64] |= uint64_t{1} << (c % 64); }
};

// XGBoost writes NaN and infinities as bare words (a categorical split's condition is NaN),
// which JSON does not have: outside strings they become null, read back as NaN.
std::string json_without_nan(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 16);
  bool in_string = false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < in.size()) {
        out += in[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    std::string_view rest = in.substr(i);
    size_t skip = 0;
    if (rest.rfind("NaN", 0) == 0) skip = 3;
    if (rest.rfind("Infinity", 0) == 0) skip = 8;
    if (rest.rfind("-Infinity", 0) == 0) skip = 9;
    if (rest.rfind("inf", 0) == 0) skip = 3;
    if (rest.rfind("-inf", 0) == 0) skip = 4;
    if (skip) {
      out += "null";
      i += skip - 1;
      continue;
    }
    out += c;
  }
  return out;
}

bool int_array(simdjson::dom::element e, std::vector<int64_t>& out) {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return false;
  out.clear();
  for (auto v : a) {
    int64_t x;
    if (v.get_int64().get(x)) return false;
    out.push_back(x);
  }
  return true;
}

bool float_array(simdjson::dom::element e, std::vector<double>& out) {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return false;
  out.clear();
  for (auto v : a) {
    double x;
    if (v.is_null()) {
      x = std::numeric_limits<double>::quiet_NaN();
    } else if (v.get_double().get(x)) {
      return false;
    }
    out.push_back(x);
  }
  return true;
}

bool ints_at(simdjson::dom::element e, const char* key, std::vector<int64_t>& out) {
  simdjson::dom::element v;
  return !e[key].get(v) && int_array(v, out);
}

bool floats_at(simdjson::dom::element e, const char* key, std::vector<double>& out) {
  simdjson::dom::element v;
  return !e[key].get(v) && float_array(v, out);
}

std::string_view str_at(simdjson::dom::element e, const char* path) {
  std::string_view s;
  if (e.at_pointer(path).get_string().get(s)) return {};
  return s;
}

}  // namespace

std::unique_ptr<Forest> Forest::from_json(std::string_view model_json, std::string& why) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(json_without_nan(model_json));
  simdjson::dom::element root;
  if (auto err = parser.parse(text).get(root)) {
    why = std::string("the model's JSON does not parse: ") + simdjson::error_message(err);
    return nullptr;
  }
  auto f = std::unique_ptr<Forest>(new Forest());
  std::string_view objective = str_at(root, "/learner/objective/name");
  if (objective == "binary:logistic") {
    f->transform_ = Transform::sigmoid;
  } else if (objective == "reg:squarederror") {
    f->transform_ = Transform::identity;
  } else {
    why = "objective '" + std::string(objective) + "'";
    return nullptr;
  }
  if (str_at(root, "/learner/gradient_booster/name") != "gbtree") {
    why = "booster '" + std::string(str_at(root, "/learner/gradient_booster/name")) + "'";
    return nullptr;
  }
  std::string_view base = str_at(root, "/learner/learner_model_param/base_score");
  std::string_view targets = str_at(root, "/learner/learner_model_param/num_target");
  std::string_view classes = str_at(root, "/learner/learner_model_param/num_class");
  if (base.empty() || (!targets.empty() && targets != "1") ||
      (!classes.empty() && classes != "0")) {
    why = "more than one output, or no base score";
    return nullptr;
  }
  float base_score = std::strtof(std::string(base).c_str(), nullptr);
  if (f->transform_ == Transform::sigmoid) {
    if (!(base_score > 0.0f && base_score < 1.0f)) {
      why = "base score out of (0, 1)";
      return nullptr;
    }
    f->base_margin_ = -std::log(1.0f / base_score - 1.0f);
  } else {
    f->base_margin_ = base_score;
  }

  simdjson::dom::array trees;
  if (root.at_pointer("/learner/gradient_booster/model/trees").get_array().get(trees)) {
    why = "no trees";
    return nullptr;
  }
  std::vector<int64_t> info;
  simdjson::dom::element info_json;
  if (root.at_pointer("/learner/gradient_booster/model/tree_info").get(info_json) ||
      !int_array(info_json, info) || info.size() != trees.size()) {
    why = "no tree_info";
    return nullptr;
  }
  for (int64_t g : info) {
    if (g != 0) {
      why = "trees of several output groups";
      return nullptr;
    }
  }
  std::vector<Split> splits;  // by node, for the masks once every split is known
  std::vector<int64_t> left, right, split_index, default_left, split_type, cat_nodes, cat_seg,
      cat_size, cats;
  std::vector<double> cond;
  for (auto t : trees) {
    bool ok = ints_at(t, "left_children", left) && ints_at(t, "right_children", right) &&
              ints_at(t, "split_indices", split_index) &&
              ints_at(t, "default_left", default_left) && floats_at(t, "split_conditions", cond);
    size_t n = left.size();
    ok = ok && n > 0 && right.size() == n && split_index.size() == n && default_left.size() == n &&
         cond.size() == n;
    split_type.clear();
    cat_nodes.clear();
    cat_seg.clear();
    cat_size.clear();
    cats.clear();
    simdjson::dom::element e;
    if (ok && !t["split_type"].get(e)) ok = int_array(e, split_type);
    if (ok && !t["categories_nodes"].get(e)) {
      ok = int_array(e, cat_nodes) && ints_at(t, "categories_segments", cat_seg) &&
           ints_at(t, "categories_sizes", cat_size) && ints_at(t, "categories", cats) &&
           cat_seg.size() == cat_nodes.size() && cat_size.size() == cat_nodes.size();
    }
    simdjson::dom::element leaf_vector;
    if (ok && !t["tree_param"]["size_leaf_vector"].get(leaf_vector)) {
      std::string_view s;
      ok = !leaf_vector.get_string().get(s) && s == "0";
    }
    if (!ok) {
      why = "a tree the forest does not read";
      return nullptr;
    }
    int32_t base = static_cast<int32_t>(f->nodes_.size());
    std::vector<int64_t> cat_of(n, -1);
    for (size_t k = 0; k < cat_nodes.size(); ++k) {
      if (cat_nodes[k] < 0 || static_cast<size_t>(cat_nodes[k]) >= n) {
        why = "a categorical split out of its tree";
        return nullptr;
      }
      cat_of[static_cast<size_t>(cat_nodes[k])] = static_cast<int64_t>(k);
    }
    for (size_t i = 0; i < n; ++i) {
      Node node{};
      Split split;
      if (left[i] == -1) {
        // A leaf: no bin is in its mask, so every step stays on it.
        node.left = base + static_cast<int32_t>(i);
        f->values_.push_back(static_cast<float>(cond[i]));
        f->nodes_.push_back(node);
        splits.push_back(split);
        continue;
      }
      if (left[i] < 0 || right[i] != left[i] + 1 || static_cast<size_t>(right[i]) >= n ||
          split_index[i] < 0 || split_index[i] >= 65536) {
        why = "a split whose children are not side by side in its tree";
        return nullptr;
      }
      node.left = base + static_cast<int32_t>(left[i]);
      split.feature = static_cast<uint32_t>(split_index[i]);
      f->max_feature_ = std::max(f->max_feature_, split.feature);
      split.missing_right = !default_left[i];
      split.cond = static_cast<float>(cond[i]);
      f->values_.push_back(0);
      split.kind = Forest::Kind::numeric;
      if (i < split_type.size() && split_type[i] == 1) {
        if (cat_of[i] < 0) {
          why = "a categorical split without categories";
          return nullptr;
        }
        size_t k = static_cast<size_t>(cat_of[i]);
        split.kind = Forest::Kind::categorical;
        for (int64_t j = 0; j < cat_size[k]; ++j) {
          size_t at = static_cast<size_t>(cat_seg[k] + j);
          if (at >= cats.size() || cats[at] < 0 || cats[at] >= kNoCategory) {
            why = "a category above " + std::to_string(kNoCategory - 1);
            return nullptr;
          }
          split.set(static_cast<uint32_t>(cats[at]));
        }
      } else if (std::isnan(split.cond)) {
        why = "a numeric split on NaN";
        return nullptr;
      }
      f->nodes_.push_back(node);
      splits.push_back(split);
    }
    // Depth of the deepest leaf; a malformed tree with a cycle is refused.
    std::vector<std::pair<int32_t, int>> stack{{0, 0}};
    int depth = 0;
    size_t visited = 0;
    while (!stack.empty()) {
      auto [i, d] = stack.back();
      stack.pop_back();
      if (++visited > n || d > 255) {
        why = "a tree that is not a tree";
        return nullptr;
      }
      depth = std::max(depth, d);
      if (left[static_cast<size_t>(i)] != -1) {
        stack.emplace_back(static_cast<int32_t>(left[static_cast<size_t>(i)]), d + 1);
        stack.emplace_back(static_cast<int32_t>(right[static_cast<size_t>(i)]), d + 1);
      }
    }
    f->roots_.push_back(base);
    f->depths_.push_back(static_cast<uint8_t>(depth));
  }

  // Each feature is numeric or categorical; a numeric one is cut at the conditions of its
  // splits, at most kMaxCuts of them.
  f->kinds_.assign(f->max_feature_ + 1, Kind::unused);
  f->cuts_.assign(f->max_feature_ + 1, {});
  for (const Split& sp : splits) {
    if (sp.kind == Kind::unused) continue;
    Kind& k = f->kinds_[sp.feature];
    if (k != Kind::unused && k != sp.kind) {
      why = "numeric and categorical splits on one feature";
      return nullptr;
    }
    k = sp.kind;
    if (sp.kind == Kind::numeric) f->cuts_[sp.feature].push_back(sp.cond);
  }
  for (auto& c : f->cuts_) {
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    if (c.size() > kMaxCuts) {
      why = "a feature split at more than " + std::to_string(kMaxCuts) + " values";
      return nullptr;
    }
  }
  for (size_t i = 0; i < splits.size(); ++i) {
    const Split& sp = splits[i];
    Node& node = f->nodes_[i];
    if (sp.kind == Kind::unused) continue;  // a leaf
    node.column = static_cast<uint32_t>(sp.feature * kBlock);
    if (sp.kind == Kind::categorical) {
      std::copy(std::begin(sp.cats), std::end(sp.cats), std::begin(node.mask));
    } else {
      // value >= cond exactly when the value's bin (the number of cuts <= value) is above the
      // index of cond among the cuts
      const auto& c = f->cuts_[sp.feature];
      size_t j = static_cast<size_t>(std::lower_bound(c.begin(), c.end(), sp.cond) - c.begin());
      for (size_t b = j + 1; b <= c.size(); ++b) node.mask[b / 64] |= uint64_t{1} << (b % 64);
    }
    if (sp.missing_right) node.mask[kMissingBin / 64] |= uint64_t{1} << (kMissingBin % 64);
  }
  return f;
}

void Forest::predict(const float* rows, size_t n, size_t cols, float* out) const {
  if (cols <= max_feature_ && !nodes_.empty()) {
    // Rows narrower than the model: XGBoost treats the absent features as missing.
    std::vector<float> wide((max_feature_ + 1) * n, std::numeric_limits<float>::quiet_NaN());
    for (size_t r = 0; r < n; ++r)
      std::copy_n(rows + r * cols, cols, wide.data() + r * (max_feature_ + 1));
    predict(wide.data(), n, max_feature_ + 1, out);
    return;
  }
  const Node* nodes = nodes_.data();
  const float* values = values_.data();
  const size_t features = kinds_.size();
  std::vector<uint8_t> bins(kBlock * features);
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t m = std::min(kBlock, n - start);
    const float* block = rows + start * cols;
    // The block's bins, feature by feature.
    for (size_t c = 0; c < features; ++c) {
      uint8_t* to = bins.data() + c * kBlock;
      const Kind kind = kinds_[c];
      const std::vector<float>& cuts = cuts_[c];
      for (size_t r = 0; r < m; ++r) {
        const float v = block[r * cols + c];
        if (std::isnan(v)) {
          to[r] = kMissingBin;
        } else if (kind == Kind::numeric) {
          to[r] =
              static_cast<uint8_t>(std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
        } else if (kind == Kind::categorical) {
          to[r] = v >= 0.0f && v < static_cast<float>(kNoCategory) ? static_cast<uint8_t>(v)
                                                                   : uint8_t{kNoCategory};
        } else {
          to[r] = 0;
        }
      }
    }
    const uint8_t* b = bins.data();
    float sum[kBlock];
    for (size_t r = 0; r < m; ++r) sum[r] = base_margin_;
    auto step = [&](int32_t at, size_t r) {
      const Node& node = nodes[at];
      const uint32_t bin = b[node.column + r];
      return node.left + static_cast<int32_t>((node.mask[bin / 64] >> (bin % 64)) & 1u);
    };
    for (size_t t = 0; t < roots_.size(); ++t) {
      const int32_t root = roots_[t];
      const int depth = depths_[t];
      size_t r = 0;
      // Eight rows at a time through the tree, their nodes in registers.
      for (; r + kLanes <= m; r += kLanes) {
        int32_t at[kLanes];
        for (size_t j = 0; j < kLanes; ++j) at[j] = root;
        for (int d = 0; d < depth; ++d) {
#pragma GCC unroll 8
          for (size_t j = 0; j < kLanes; ++j) at[j] = step(at[j], r + j);
        }
        for (size_t j = 0; j < kLanes; ++j) sum[r + j] += values[at[j]];
      }
      for (; r < m; ++r) {
        int32_t at = root;
        for (int d = 0; d < depth; ++d) at = step(at, r);
        sum[r] += values[at];
      }
    }
    for (size_t r = 0; r < m; ++r) {
      float x = sum[r];
      if (transform_ == Transform::sigmoid) {
        // XGBoost's Sigmoid: the exponent capped so it does not overflow
        x = 1.0f / (std::exp(std::min(-x, 88.7f)) + 1.0f + 1e-16f);
      }
      out[start + r] = x;
    }
  }
}

std::vector<float> Forest::probe_rows(size_t cols, size_t n) const {
  // Each row takes, for every feature, a value from a split on it: a cut, the float below
  // it or past the last; a category in a set, one in no set, one past them all; or missing;
  // chosen by a fixed sequence.
  std::vector<std::vector<float>> choices(cols);
  for (size_t c = 0; c < cols && c < kinds_.size(); ++c) {
    auto& ch = choices[c];
    if (kinds_[c] == Kind::numeric) {
      for (float cut : cuts_[c]) {
        ch.push_back(cut);
        ch.push_back(std::nextafter(cut, -std::numeric_limits<float>::infinity()));
      }
      if (!cuts_[c].empty()) ch.push_back(cuts_[c].back() * 2 + 1);
    } else if (kinds_[c] == Kind::categorical) {
      ch.push_back(static_cast<float>(kNoCategory));
      ch.push_back(-1.0f);
    }
  }
  std::vector<std::vector<bool>> seen(cols, std::vector<bool>(kNoCategory + 1));
  for (const Node& node : nodes_) {
    size_t c = node.column / kBlock;
    if (c >= cols || c >= kinds_.size() || kinds_[c] != Kind::categorical) continue;
    for (uint32_t k = 0; k < kNoCategory; ++k) {
      bool in = (node.mask[k / 64] >> (k % 64)) & 1u;
      if (in && !seen[c][k]) {
        seen[c][k] = true;
        choices[c].push_back(static_cast<float>(k));         // in this set
        choices[c].push_back(static_cast<float>(k) + 0.5f);  // the fraction dropped
      }
    }
  }
  std::vector<float> rows(n * cols);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < rows.size(); ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const auto& c = choices[i % cols];
    size_t pick = static_cast<size_t>(state >> 33) % (c.size() + 1);
    rows[i] = pick == c.size() ? std::numeric_limits<float>::quiet_NaN() : c[pick];
  }
  return rows;
}

}  // namespace cdn::model
