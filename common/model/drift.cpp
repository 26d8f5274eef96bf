#include "common/model/drift.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"

namespace cdn::model {

namespace {
constexpr double kFloor = 1e-4;
constexpr int kTenths = 10;
constexpr size_t kReferenceRows = 1000000;

// Edges at each tenth of the values (sorted here), without repeats.
std::vector<double> tenths(std::vector<float>& v) {
  std::vector<double> edges;
  if (v.empty()) return edges;
  std::sort(v.begin(), v.end());
  for (int q = 1; q < kTenths; ++q) {
    size_t i = std::min(v.size() - 1, v.size() * static_cast<size_t>(q) / kTenths);
    double e = v[i];
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

Distribution numeric(std::string name, std::vector<float> values, uint64_t missing) {
  Distribution d;
  d.name = std::move(name);
  uint64_t rows = values.size() + missing;
  d.edges = tenths(values);
  std::vector<uint64_t> counts(d.edges.size() + 2, 0);
  for (float v : values) ++counts[d.bin(v, false)];
  counts.back() = missing;
  for (uint64_t k : counts) {
    d.share.push_back(rows ? static_cast<double>(k) / static_cast<double>(rows) : 0);
  }
  return d;
}

void put_array(std::string& s, const std::vector<double>& v) {
  s += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    base::append_double(s, v[i]);
  }
  s += ']';
}

void put_distribution(std::string& s, const Distribution& d) {
  s += "{\"name\":";
  base::append_json_string(s, d.name);
  s += d.categorical ? ",\"kind\":\"categorical\",\"categories\":[" : ",\"kind\":\"numeric\"";
  if (d.categorical) {
    for (size_t i = 0; i < d.categories.size(); ++i) {
      if (i) s += ',';
      base::append_json_string(s, d.categories[i]);
    }
    s += ']';
  } else {
    s += ",\"edges\":";
    put_array(s, d.edges);
  }
  s += ",\"share\":";
  put_array(s, d.share);
  s += '}';
}

bool read_doubles(simdjson::dom::element e, std::vector<double>& out) {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return false;
  for (simdjson::dom::element x : a) {
    double v = 0;
    if (x.get_double().get(v)) return false;
    out.push_back(v);
  }
  return true;
}

bool read_distribution(simdjson::dom::element e, Distribution& d) {
  std::string_view name, kind;
  if (e["name"].get_string().get(name) || e["kind"].get_string().get(kind)) return false;
  d.name = std::string(name);
  d.categorical = kind == "categorical";
  if (d.categorical) {
    simdjson::dom::array cats;
    if (e["categories"].get_array().get(cats)) return false;
    for (simdjson::dom::element c : cats) {
      std::string_view v;
      if (c.get_string().get(v)) return false;
      d.categories.emplace_back(v);
    }
  } else {
    simdjson::dom::element edges;
    if (e["edges"].get(edges) || !read_doubles(edges, d.edges) ||
        !std::is_sorted(d.edges.begin(), d.edges.end())) {
      return false;
    }
  }
  simdjson::dom::element share;
  if (e["share"].get(share) || !read_doubles(share, d.share)) return false;
  size_t want = d.categorical ? d.categories.size() + 2 : d.edges.size() + 2;
  return d.share.size() == want;
}
}  // namespace

size_t Distribution::bin(float v, bool unknown) const {
  size_t n = share.size();
  if (std::isnan(v)) return categorical && unknown ? n - 2 : n - 1;
  if (categorical) {
    auto code = static_cast<size_t>(v);
    return v >= 0 && code < n - 2 ? code : n - 2;
  }
  return static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), static_cast<double>(v)) -
                             edges.begin());
}

std::vector<size_t> Reference::offsets() const {
  std::vector<size_t> o;
  size_t at = 0;
  for (const auto& d : features) {
    o.push_back(at);
    at += d.bins();
  }
  o.push_back(at);
  o.push_back(at + score.bins());
  return o;
}

std::string Reference::to_json() const {
  std::string s = "{\"rows\":" + std::to_string(rows) + ",\"scored\":" + std::to_string(scored) +
                  ",\"features\":[";
  for (size_t i = 0; i < features.size(); ++i) {
    s += i ? ",\n" : "\n";
    put_distribution(s, features[i]);
  }
  s += "],\n\"score\":";
  put_distribution(s, score);
  return s + "}\n";
}

Reference Reference::from_json(std::string_view text, const Contract& c, const std::string& where) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  Reference r;
  simdjson::dom::array feats;
  bool ok = !parser.parse(text.data(), text.size()).get(doc) &&
            !doc["rows"].get_uint64().get(r.rows) && !doc["scored"].get_uint64().get(r.scored) &&
            !doc["features"].get_array().get(feats);
  if (ok) {
    for (simdjson::dom::element e : feats) {
      Distribution d;
      if (!read_distribution(e, d)) {
        ok = false;
        break;
      }
      r.features.push_back(std::move(d));
    }
  }
  simdjson::dom::element score;
  ok = ok && !doc["score"].get(score) && read_distribution(score, r.score) &&
       r.features.size() == c.features.size();
  for (size_t f = 0; ok && f < r.features.size(); ++f) {
    const Feature& ft = c.features[f];
    ok = r.features[f].name == ft.name &&
         r.features[f].categorical == (ft.kind == FeatureKind::categorical) &&
         (!r.features[f].categorical || r.features[f].categories == ft.categories);
  }
  if (!ok) {
    throw UsageError(where + " is not the reference distributions of this model's features; " +
                     "train the bundle again with cdn train");
  }
  return r;
}

std::vector<float> row_scores(const std::vector<float>& p, size_t per) {
  if (per <= 1) return p;
  std::vector<float> s(p.size() / per);
  for (size_t r = 0; r < s.size(); ++r) {
    s[r] = *std::max_element(p.begin() + static_cast<std::ptrdiff_t>(r * per),
                             p.begin() + static_cast<std::ptrdiff_t>((r + 1) * per));
  }
  return s;
}

Reference build_reference(const Contract& c, const Dataset& train,
                          const std::vector<float>& scores) {
  Reference r;
  r.rows = train.rows();
  // Categories are counted over every row; a number's tenths come from every row up to
  // kReferenceRows, and beyond that from every k-th row (one pass, bounded memory).
  size_t stride = (train.rows() + kReferenceRows - 1) / kReferenceRows;
  if (stride == 0) stride = 1;
  const size_t cols = c.features.size();
  std::vector<std::vector<uint64_t>> counts(cols);
  std::vector<std::vector<float>> values(cols);
  std::vector<uint64_t> missing(cols, 0);
  std::vector<Distribution> cat(cols);
  for (size_t f = 0; f < cols; ++f) {
    const Feature& ft = c.features[f];
    if (ft.kind != FeatureKind::categorical) continue;
    cat[f].name = ft.name;
    cat[f].categorical = true;
    cat[f].categories = ft.categories;
    counts[f].assign(ft.categories.size() + 2, 0);
    cat[f].share.assign(counts[f].size(), 0);  // bin() counts the bins by it
  }
  train.for_each_block([&](const float* p, size_t first, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const float* row = p + i * train.cols;
      bool sampled = (first + i) % stride == 0;
      for (size_t f = 0; f < cols; ++f) {
        if (!counts[f].empty()) {
          ++counts[f][cat[f].bin(row[f], false)];
        } else if (sampled) {
          if (std::isnan(row[f])) {
            ++missing[f];
          } else {
            values[f].push_back(row[f]);
          }
        }
      }
    }
  });
  for (size_t f = 0; f < cols; ++f) {
    if (counts[f].empty()) {
      r.features.push_back(numeric(c.features[f].name, std::move(values[f]), missing[f]));
      continue;
    }
    Distribution& d = cat[f];
    for (size_t k = 0; k < counts[f].size(); ++k) {
      d.share[k] = r.rows ? static_cast<double>(counts[f][k]) / static_cast<double>(r.rows) : 0;
    }
    r.features.push_back(std::move(d));
  }
  std::vector<float> s;
  for (float v : scores) {
    if (!std::isnan(v)) s.push_back(v);
  }
  r.scored = s.size();
  r.score = numeric("score", std::move(s), 0);
  return r;
}

double psi(const std::vector<double>& ref, const uint64_t* live, size_t bins) {
  uint64_t n = 0;
  for (size_t k = 0; k < bins; ++k) n += live[k];
  if (n == 0) return 0;
  double sum = 0;
  for (size_t k = 0; k < bins && k < ref.size(); ++k) {
    double a = std::max(static_cast<double>(live[k]) / static_cast<double>(n), kFloor);
    double e = std::max(ref[k], kFloor);
    sum += (a - e) * std::log(a / e);
  }
  return sum;
}

}  // namespace cdn::model
