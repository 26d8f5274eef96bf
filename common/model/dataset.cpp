#include "common/model/dataset.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string_view>

#include <simdjson.h>
#include <unistd.h>
#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/io/temp_file.hpp"

#include "common/record/csv.hpp"
#include "common/record/fields.hpp"
#include "common/record/json_syntax.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::model {

LabelKind label_kind(const std::string& objective) {
  if (objective.rfind("binary:", 0) == 0) return LabelKind::binary;
  if (objective.rfind("multi:", 0) == 0) return LabelKind::multiclass;
  return LabelKind::regression;
}

namespace {
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

bool parse_number(std::string_view s, double& d) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(d)) return true;
  if (s == "true" || s == "TRUE" || s == "True") {
    d = 1;
    return true;
  }
  if (s == "false" || s == "FALSE" || s == "False") {
    d = 0;
    return true;
  }
  return false;
}

// Splits a line without quotes at its commas.
void split_plain(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

bool inside_quotes(std::string_view s) {
  bool in = false;
  for (char c : s) in ^= (c == '"');
  return in;
}

// What one CSV column feeds.
struct Column {
  std::vector<size_t> features;
  bool label = false;
  bool time = false;
};
}  // namespace

RowSpool::RowSpool(const std::string& dir, size_t cols) : dir_(dir), cols_(cols) {
  std::string path = dir + "/cdn-train-rows.XXXXXX";
  fd_ = ::mkstemp(path.data());
  if (fd_ < 0) {
    std::string problem = io::directory_problem(dir);
    throw UsageError("cannot write the training rows to a file in " + diag::quoted(dir) + ": " +
                     (problem.empty() ? std::string(std::strerror(errno)) : problem) +
                     "; name a writable directory with --external-memory or TMPDIR");
  }
  ::unlink(path.c_str());  // gone with the last descriptor, whatever ends the process
  pending_.reserve(kBlockRows * cols_);
}

RowSpool::~RowSpool() {
  if (fd_ >= 0) ::close(fd_);
}

void RowSpool::append(const float* row) {
  pending_.insert(pending_.end(), row, row + cols_);
  if (++rows_ % kBlockRows != 0) return;
  const char* p = reinterpret_cast<const char*>(pending_.data());
  size_t n = pending_.size() * sizeof(float);
  auto at = static_cast<off_t>((rows_ - kBlockRows) * cols_ * sizeof(float));
  while (n > 0) {
    ssize_t w = ::pwrite(fd_, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      throw RuntimeError("cannot write the training rows to a file in " + diag::quoted(dir_) +
                         ": " + std::strerror(errno) +
                         "; free space there, or name another directory with --external-memory "
                         "or TMPDIR");
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  pending_.clear();
}

size_t RowSpool::read(size_t b, std::vector<float>& out) const {
  size_t first = b * kBlockRows;
  size_t n = std::min(kBlockRows, rows_ - first);
  if (first >= rows_ / kBlockRows * kBlockRows) {  // the block still in memory
    out.assign(pending_.begin(), pending_.end());
    return n;
  }
  out.resize(n * cols_);
  char* p = reinterpret_cast<char*>(out.data());
  size_t left = n * cols_ * sizeof(float);
  auto at = static_cast<off_t>(first * cols_ * sizeof(float));
  while (left > 0) {
    ssize_t r = ::pread(fd_, p, left, at);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      throw RuntimeError(
          "cannot read back the training rows from their file in " + diag::quoted(dir_) + ": " +
          (r == 0 ? std::string("it is shorter than written") : std::strerror(errno)));
    }
    p += r;
    left -= static_cast<size_t>(r);
    at += r;
  }
  return n;
}

void Dataset::spool_to(const std::string& dir) {
  spool = std::make_shared<RowSpool>(dir, cols);
}

void Dataset::add(const float* row, float label) {
  if (spool) {
    spool->append(row);
  } else {
    x.insert(x.end(), row, row + cols);
  }
  y.push_back(label);
}

size_t Dataset::blocks() const {
  return (rows() + RowSpool::kBlockRows - 1) / RowSpool::kBlockRows;
}

const float* Dataset::block(size_t b, std::vector<float>& scratch, size_t& n) const {
  if (!spool) {
    n = std::min(RowSpool::kBlockRows, rows() - first(b));
    return x.data() + first(b) * cols;
  }
  n = spool->read(b, scratch);
  for (size_t f = 0; f < recode.size(); ++f) {
    const auto& to = recode[f];
    if (to.empty()) continue;
    for (size_t r = 0; r < n; ++r) {
      float& v = scratch[r * cols + f];
      if (!std::isnan(v)) v = to[static_cast<size_t>(v)];
    }
  }
  return scratch.data();
}

std::vector<ColumnStats> column_stats(const Dataset& ds) {
  std::vector<ColumnStats> s(ds.cols);
  ds.for_each_block([&](const float* p, size_t, size_t n) {
    for (size_t r = 0; r < n; ++r) {
      for (size_t f = 0; f < ds.cols; ++f) {
        float v = p[r * ds.cols + f];
        if (std::isnan(v)) {
          ++s[f].missing;
          continue;
        }
        s[f].lo = std::min<double>(s[f].lo, v);
        s[f].hi = std::max<double>(s[f].hi, v);
      }
    }
  });
  return s;
}

CsvLoader::CsvLoader(Contract& contract, bool keep_time, record::Rejects& rejects,
                     record::Counts& counts)
    : contract_(contract),
      label_kind_(label_kind(contract.objective)),
      keep_time_(keep_time),
      rejects_(rejects),
      counts_(counts),
      codes_(contract.features.size()),
      unknown_(contract.features.size(), 0),
      missing_(contract.features.size(), 0) {
  for (size_t f = 0; f < contract.features.size(); ++f) {
    const auto& cats = contract.features[f].categories;
    for (size_t c = 0; c < cats.size(); ++c) codes_[f].emplace(cats[c], static_cast<float>(c));
  }
}

void CsvLoader::load(const std::string& path, Dataset& ds, bool learn) {
  const auto& feats = contract_.features;
  ds.cols = feats.size();
  io::ByteReader bytes(path);
  io::LineReader lines(bytes);
  std::string_view line;
  // The header.
  do {
    if (!lines.next(line)) {
      diag::warning("the CSV file " + diag::quoted(path) + " is empty");
      return;
    }
    if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  } while (line.empty());
  std::vector<std::string> header;
  std::string error;
  if (!record::split_csv_record(line, header, error)) {
    throw RuntimeError("cannot read the CSV header of " + diag::quoted(path) + ": " + error);
  }
  if (std::string dup = record::duplicate_column(header); !dup.empty()) {
    throw RuntimeError("cannot read the CSV header of " + diag::quoted(path) + ": " + dup +
                       "; give each column a name of its own");
  }
  std::vector<Column> columns(header.size());
  std::vector<bool> fed(feats.size(), false);
  bool has_label = false, has_time = false;
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c] == contract_.label) {
      columns[c].label = true;
      has_label = true;
    }
    if (keep_time_ && header[c] == contract_.time_field) {
      columns[c].time = true;
      has_time = true;
    }
    for (size_t f = 0; f < feats.size(); ++f) {
      if (feats[f].field == header[c]) {
        columns[c].features.push_back(f);
        fed[f] = true;
      }
    }
  }
  if (!has_label) {
    throw UsageError(diag::quoted(path) + " has no column " + diag::quoted(contract_.label) +
                     " for the label; name the label with --label");
  }
  if (keep_time_ && !has_time) {
    throw UsageError(diag::quoted(path) + " has no column " + diag::quoted(contract_.time_field) +
                     " for --valid-after");
  }
  for (size_t f = 0; f < feats.size(); ++f) {
    if (!fed[f]) {
      throw UsageError(diag::quoted(path) + " has no column " + diag::quoted(feats[f].field) +
                       " for the feature " + diag::quoted(feats[f].name) +
                       "; leave it out with --drop");
    }
  }

  std::vector<std::string_view> cells;
  std::vector<std::string> owned;
  std::string joined;
  std::vector<float> row(feats.size());
  std::vector<uint8_t> present(feats.size());
  std::string reason;
  while (lines.next(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    uint64_t line_no = lines.line_number();
    ++counts_.in;
    std::string_view raw = line;
    bool ok = true;
    if (line.find('"') == std::string_view::npos) {
      split_plain(line, cells);
    } else {
      joined.assign(line);
      while (inside_quotes(joined)) {
        if (!lines.next(line)) break;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        joined += '\n';
        joined.append(line);
      }
      raw = joined;
      if (!record::split_csv_record(joined, owned, reason)) {
        ok = false;
      } else {
        cells.assign(owned.begin(), owned.end());
      }
    }
    if (ok && cells.size() != columns.size()) {
      reason = "row has " + std::to_string(cells.size()) + " fields but the header has " +
               std::to_string(columns.size());
      ok = false;
    }
    float label = kMissing;
    int64_t when = 0;
    std::fill(row.begin(), row.end(), kMissing);
    std::fill(present.begin(), present.end(), 0);
    for (size_t c = 0; ok && c < columns.size(); ++c) {
      const Column& col = columns[c];
      std::string_view cell = cells[c];
      if (col.label) {
        double d;
        if (cell.empty()) {
          reason = "no label " + diag::quoted(contract_.label);
          ok = false;
        } else if (!parse_number(cell, d)) {
          reason = "label " + diag::quoted(contract_.label) + ": '" + std::string(cell) +
                   "' is not a number";
          ok = false;
        } else if (label_kind_ == LabelKind::binary && d != 0 && d != 1) {
          reason = "label " + diag::quoted(contract_.label) + ": '" + std::string(cell) +
                   "' is neither 0 nor 1";
          ok = false;
        } else if (label_kind_ == LabelKind::multiclass &&
                   (d < 0 || d != std::trunc(d) ||
                    (contract_.num_class > 0 && d >= contract_.num_class))) {
          reason =
              "label " + diag::quoted(contract_.label) + ": '" + std::string(cell) +
              "' is not a class number" +
              (contract_.num_class > 0 ? " from 0 to " + std::to_string(contract_.num_class - 1)
                                       : std::string());
          ok = false;
        } else {
          label = static_cast<float>(d);
        }
        if (!ok) break;
      }
      if (col.time) {
        auto t = record::parse_rfc3339(cell);
        if (!t) {
          reason = "column " + diag::quoted(contract_.time_field) + ": '" + std::string(cell) +
                   "' is not an RFC 3339 time";
          ok = false;
          break;
        }
        when = t->seconds;
      }
      if (cell.empty()) continue;
      for (size_t f : col.features) present[f] = 1;
      for (size_t f : col.features) {
        const Feature& feat = feats[f];
        switch (feat.kind) {
          case FeatureKind::numeric: {
            double d;
            if (!parse_number(cell, d)) {
              reason = "column " + diag::quoted(header[c]) + ": '" + std::string(cell) +
                       "' is not a number";
              ok = false;
              break;
            }
            // The schema's type and range, as predict checks them. CSV has no types: a
            // boolean column may say 0 and 1 as well as true and false.
            bool boolean = (cell[0] == 't' || cell[0] == 'T' || cell[0] == 'f' || cell[0] == 'F');
            if (feat.type == "boolean") boolean = boolean || d == 0 || d == 1;
            std::string why = misfit(feat, d, boolean);
            if (!why.empty()) {
              reason =
                  "column " + diag::quoted(header[c]) + ": '" + std::string(cell) + "' is " + why;
              ok = false;
            } else {
              row[f] = static_cast<float>(d);
            }
            break;
          }
          case FeatureKind::categorical: {
            auto& codes = codes_[f];
            auto it = codes.find(std::string(cell));
            if (it != codes.end()) {
              row[f] = it->second;
            } else if (learn && feat.learned && !frozen_) {
              float code = static_cast<float>(codes.size());
              codes.emplace(std::string(cell), code);
              contract_.features[f].categories.emplace_back(cell);
              row[f] = code;
            } else if (learn && !feat.learned) {
              reason = "column " + diag::quoted(header[c]) + ": '" + std::string(cell) +
                       "' is not one of the values the schema allows";
              ok = false;
            } else {
              ++unknown_[f];
            }
            break;
          }
          case FeatureKind::hour_of_day:
          case FeatureKind::day_of_week: {
            int hour, weekday;
            if (!time_parts(cell, hour, weekday)) {
              reason = "column " + diag::quoted(header[c]) + ": '" + std::string(cell) +
                       "' is not an RFC 3339 time";
              ok = false;
            } else {
              row[f] = static_cast<float>(feat.kind == FeatureKind::hour_of_day ? hour : weekday);
            }
            break;
          }
        }
        if (!ok) break;
      }
    }
    if (!ok) {
      rejects_.reject(path, line_no, reason, raw);
      continue;
    }
    for (size_t f = 0; f < feats.size(); ++f) missing_[f] += present[f] == 0;
    ds.add(row.data(), label);
    if (keep_time_) ds.time.push_back(when);
    ++counts_.out;
  }
}

std::string label_misfit(const Contract& c, double d) {
  LabelKind kind = label_kind(c.objective);
  if (kind == LabelKind::binary && d != 0 && d != 1) return "is neither 0 nor 1";
  if (kind == LabelKind::multiclass &&
      (d < 0 || d != std::trunc(d) || (c.num_class > 0 && d >= c.num_class))) {
    return "is not a class number" +
           (c.num_class > 0 ? " from 0 to " + std::to_string(c.num_class - 1) : std::string());
  }
  return "";
}

std::string read_labelled(simdjson::dom::parser& parser, std::string_view text, const Contract& c,
                          simdjson::dom::object& obj, double& label) {
  simdjson::dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root)) {
    return record::invalid_json_reason(text, simdjson::error_message(err));
  }
  if (root.get_object().get(obj)) {
    return std::string("not a JSON object but ") + record::json_type_name(root.type());
  }
  simdjson::dom::element v;
  if (obj.at_key(c.label).get(v) || v.is_null()) return "no label " + diag::quoted(c.label);
  if (v.is_bool()) {
    label = v.get_bool().value_unsafe() ? 1 : 0;
  } else if (v.get_double().get(label)) {
    return "label " + diag::quoted(c.label) + " is " + record::json_type_name(v.type()) +
           ", not a number";
  }
  std::string why = label_misfit(c, label);
  if (!why.empty()) {
    return "label " + diag::quoted(c.label) + ": " + std::string(simdjson::minify(v)) + " " + why;
  }
  return "";
}

void CsvLoader::load(record::Source& in, Dataset& ds, bool learn) {
  const auto& feats = contract_.features;
  ds.cols = feats.size();
  simdjson::dom::parser parser;
  std::vector<float> row(feats.size());
  std::vector<uint8_t> present(feats.size());
  record::Record rec;
  std::string reason;
  while (in.next(rec)) {
    simdjson::dom::object obj;
    double d = 0;
    reason = read_labelled(parser, rec.text, contract_, obj, d);  // "" while it is not refused
    float label = static_cast<float>(d);
    int64_t when = 0;
    if (reason.empty()) {
      std::string_view text;
      if (reason.empty() && keep_time_) {
        std::optional<record::Instant> t;
        if (!obj.at_key(contract_.time_field).get_string().get(text))
          t = record::parse_rfc3339(text);
        if (!t) {
          reason = "field " + diag::quoted(contract_.time_field) + " is not an RFC 3339 time";
        } else {
          when = t->seconds;
        }
      }
    }
    std::fill(row.begin(), row.end(), kMissing);
    std::fill(present.begin(), present.end(), 0);
    for (size_t f = 0; reason.empty() && f < feats.size(); ++f) {
      const Feature& feat = feats[f];
      simdjson::dom::element v;
      if (obj.at_key(feat.field).get(v) || v.is_null()) continue;
      present[f] = 1;
      auto type = v.type();
      switch (feat.kind) {
        case FeatureKind::numeric: {
          double d;
          bool boolean = type == simdjson::dom::element_type::BOOL;
          if (boolean) {
            d = v.get_bool().value_unsafe() ? 1 : 0;
          } else if (v.get_double().get(d)) {
            reason = "field " + diag::quoted(feat.field) + " is " + record::json_type_name(type) +
                     "; the model wants a " + (feat.type == "boolean" ? "boolean" : "number");
            break;
          }
          std::string why = misfit(feat, d, boolean);
          if (!why.empty()) {
            reason = "field " + diag::quoted(feat.field) + ": " + std::string(simdjson::minify(v)) +
                     " is " + why;
          } else {
            row[f] = static_cast<float>(d);
          }
          break;
        }
        case FeatureKind::categorical: {
          std::string_view str;
          if (v.get_string().get(str)) {
            reason = "field " + diag::quoted(feat.field) + " is " + record::json_type_name(type) +
                     "; the model wants a string";
            break;
          }
          auto& codes = codes_[f];
          auto it = codes.find(std::string(str));
          if (it != codes.end()) {
            row[f] = it->second;
          } else if (learn && feat.learned && !frozen_) {
            float code = static_cast<float>(codes.size());
            codes.emplace(std::string(str), code);
            contract_.features[f].categories.emplace_back(str);
            row[f] = code;
          } else if (learn && !feat.learned) {
            reason = "field " + diag::quoted(feat.field) + " is " + diag::quoted(str) +
                     ", not one of the values the schema allows";
          } else {
            ++unknown_[f];
          }
          break;
        }
        case FeatureKind::hour_of_day:
        case FeatureKind::day_of_week: {
          std::string_view str;
          int hour, weekday;
          if (v.get_string().get(str) || !time_parts(str, hour, weekday)) {
            reason = "field " + diag::quoted(feat.field) + " is not an RFC 3339 time";
          } else {
            row[f] = static_cast<float>(feat.kind == FeatureKind::hour_of_day ? hour : weekday);
          }
          break;
        }
      }
    }
    if (!reason.empty()) {
      rejects_.reject(in.name(), rec.line, reason, rec.text);
      continue;
    }
    for (size_t f = 0; f < feats.size(); ++f) missing_[f] += present[f] == 0;
    ds.add(row.data(), label);
    if (keep_time_) ds.time.push_back(when);
    ++counts_.out;
  }
}

void CsvLoader::learn_categories(size_t f, const std::vector<std::string>& values) {
  if (frozen_ || f >= contract_.features.size() || !contract_.features[f].learned) return;
  auto& codes = codes_[f];
  for (const auto& v : values) {
    if (codes.emplace(v, static_cast<float>(codes.size())).second) {
      contract_.features[f].categories.push_back(v);
    }
  }
}

void CsvLoader::finish_vocabularies(Dataset& ds) {
  if (frozen_) return;
  for (size_t f = 0; f < contract_.features.size(); ++f) {
    Feature& feat = contract_.features[f];
    if (!feat.learned) continue;
    std::vector<std::string> sorted = feat.categories;
    std::sort(sorted.begin(), sorted.end());
    std::vector<float> remap(sorted.size());
    auto& codes = codes_[f];
    for (size_t i = 0; i < sorted.size(); ++i) {
      float& old = codes[sorted[i]];
      remap[static_cast<size_t>(old)] = static_cast<float>(i);
      old = static_cast<float>(i);
    }
    if (ds.spool) {
      // The rows are on disk: their codes change as they are read back.
      ds.recode.resize(contract_.features.size());
      ds.recode[f] = std::move(remap);
    } else {
      for (size_t r = 0; r < ds.rows(); ++r) {
        float& v = ds.x[r * ds.cols + f];
        if (!std::isnan(v)) v = remap[static_cast<size_t>(v)];
      }
    }
    feat.categories = std::move(sorted);
  }
}

}  // namespace cdn::model

namespace cdn::model {
namespace {
void label_json(std::string& s, const Contract& c, const Dataset& ds) {
  if (label_kind(c.objective) == LabelKind::regression) {
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (float v : ds.y) {
      sum += v;
      lo = std::min<double>(lo, v);
      hi = std::max<double>(hi, v);
    }
    s += "{\"mean\":";
    base::append_double(s, ds.rows() ? sum / static_cast<double>(ds.rows()) : 0);
    s += ",\"min\":";
    base::append_double(s, ds.rows() ? lo : 0);
    s += ",\"max\":";
    base::append_double(s, ds.rows() ? hi : 0);
    s += '}';
    return;
  }
  std::map<int64_t, uint64_t> counts;
  for (float v : ds.y) ++counts[static_cast<int64_t>(v)];
  s += '{';
  bool first = true;
  for (auto [k, n] : counts) {
    if (!first) s += ',';
    first = false;
    s += '"' + std::to_string(k) + "\":";
    base::append_uint(s, n);
  }
  s += '}';
}
}  // namespace

std::string summary_json(const Contract& c, const Dataset& train, const Dataset* valid) {
  std::string s = "{\"rows\":{\"train\":";
  base::append_uint(s, train.rows());
  s += ",\"valid\":";
  base::append_uint(s, valid ? valid->rows() : 0);
  s += "},\n\"label\":{\"name\":";
  base::append_json_string(s, c.label);
  s += ",\"train\":";
  label_json(s, c, train);
  if (valid) {
    s += ",\"valid\":";
    label_json(s, c, *valid);
  }
  s += "},\n\"features\":[";
  std::vector<ColumnStats> stats = column_stats(train);
  for (size_t f = 0; f < c.features.size(); ++f) {
    double lo = stats[f].lo, hi = stats[f].hi;
    uint64_t missing = stats[f].missing;
    s += f ? ",\n" : "\n";
    s += "{\"name\":";
    base::append_json_string(s, c.features[f].name);
    s += ",\"kind\":";
    base::append_json_string(s, kind_name(c.features[f].kind));
    s += ",\"min\":";
    if (std::isfinite(lo)) {
      base::append_double(s, lo);
    } else {
      s += "null";
    }
    s += ",\"max\":";
    if (std::isfinite(hi)) {
      base::append_double(s, hi);
    } else {
      s += "null";
    }
    s += ",\"missing\":";
    base::append_uint(s, missing);
    if (c.features[f].kind == FeatureKind::categorical) {
      s += ",\"categories\":";
      base::append_uint(s, c.features[f].categories.size());
    }
    s += '}';
  }
  s += "\n]}\n";
  return s;
}
}  // namespace cdn::model
