// libFuzzer target for the InfluxDB line protocol encoder (common/influx/line_protocol.*).
// The harness holds its own small line protocol reader (InfluxDB's unescaping rules: in a
// measurement "\," and "\ ", in tag keys, tag values and field keys also "\=", in string
// field values "\"" and "\\"; any other backslash is literal) and checks what the encoder
// writes against it. The input's bytes are first used as raw text, then, when they are JSON,
// as a record encoded under four encoder configurations (default with the prediction
// measurement and schema types; tags and a measurement needing escapes; a measurement field,
// a field list and no time field; another time field and precision).
// Invariants asserted (a broken one traps):
//   - escaping round-trips: text append_measurement / append_key accept reads back as the
//     same text; they refuse exactly text holding a newline, or a backslash at the end or
//     before a character of the place or a quote, and then leave the output as it was;
//     append_string_value always reads back as the same text;
//   - no point has two fields, two tags, or a field and a tag of one name: a member named
//     twice counts by its first occurrence, a name given twice to --field once, and a
//     record whose flattened leaves collide (a_b and {"a":{"b":..}}) is refused;
//   - a record the encoder accepts gives one line the reader parses, with the expected
//     measurement, exactly the expected tags (sorted by key, empty ones left out) and
//     exactly the record's non-null leaves as fields (nested keys joined by '_'), in order,
//     each with its value and type (integer, float, string, boolean; declared types honoured),
//     and the expected timestamp; a refused record leaves the output as it was and says why.
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/json_text.hpp"
#include "common/influx/line_protocol.hpp"
#include "common/record/timestamp.hpp"
#include "common/schema/types.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using cdn::influx::Encoder;
using cdn::influx::EncoderOptions;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// ---- the reader ----

struct FieldValue {
  enum Kind { string, integer, floating, boolean } kind = string;
  std::string s;
  int64_t i = 0;
  double d = 0;
  bool b = false;
};

struct Line {
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::pair<std::string, FieldValue>> fields;
  int64_t time = 0;
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  // Reads up to an unescaped character of `stops`; "\X" is X when X is in `escapable`.
  std::string token(std::string_view escapable, std::string_view stops) {
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\' && pos_ + 1 < s_.size() && escapable.find(s_[pos_ + 1]) != std::string::npos) {
        out += s_[pos_ + 1];
        pos_ += 2;
        continue;
      }
      if (stops.find(c) != std::string::npos) break;
      out += c;
      ++pos_;
    }
    return out;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool at_end() const { return pos_ == s_.size(); }

  std::optional<FieldValue> field_value() {
    FieldValue v;
    if (eat('"')) {
      v.kind = FieldValue::string;
      for (;;) {
        if (pos_ >= s_.size()) return std::nullopt;
        char c = s_[pos_++];
        if (c == '"') break;
        if (c == '\\' && pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '\\')) c = s_[pos_++];
        v.s += c;
      }
      return v;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ' ') ++pos_;
    std::string_view t = s_.substr(start, pos_ - start);
    if (t == "true" || t == "false") {
      v.kind = FieldValue::boolean;
      v.b = t == "true";
      return v;
    }
    if (!t.empty() && t.back() == 'i') {
      v.kind = FieldValue::integer;
      auto r = std::from_chars(t.data(), t.data() + t.size() - 1, v.i);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size() - 1) return std::nullopt;
      return v;
    }
    v.kind = FieldValue::floating;
    auto r = std::from_chars(t.data(), t.data() + t.size(), v.d);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
    return v;
  }

  std::optional<int64_t> time() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
    int64_t t;
    auto r = std::from_chars(s_.data() + start, s_.data() + pos_, t);
    if (r.ec != std::errc() || r.ptr != s_.data() + pos_) return std::nullopt;
    return t;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

std::optional<Line> read_line(std::string_view s) {
  Reader r(s);
  Line l;
  l.measurement = r.token(", ", ", ");
  if (l.measurement.empty()) return std::nullopt;
  if (r.eat(',')) {
    do {
      std::string k = r.token(",= ", "=");
      if (k.empty() || !r.eat('=')) return std::nullopt;
      std::string v = r.token(",= ", ", ");
      if (v.empty()) return std::nullopt;
      l.tags.emplace_back(std::move(k), std::move(v));
    } while (r.eat(','));
  }
  if (!r.eat(' ')) return std::nullopt;
  do {
    std::string k = r.token(",= ", "=");
    if (k.empty() || !r.eat('=')) return std::nullopt;
    auto v = r.field_value();
    if (!v) return std::nullopt;
    l.fields.emplace_back(std::move(k), std::move(*v));
  } while (r.eat(','));
  if (!r.eat(' ')) return std::nullopt;
  auto t = r.time();
  if (!t || !r.eat('\n') || !r.at_end()) return std::nullopt;
  l.time = *t;
  return l;
}

// ---- the escaping rules, checked on raw text ----

bool writable(std::string_view s, std::string_view special) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') return false;
    if (s[i] == '\\') {
      if (i + 1 == s.size()) return false;
      char n = s[i + 1];
      if (n == '"' || special.find(n) != std::string::npos) return false;
    }
  }
  return true;
}

void check_escaping(std::string_view s) {
  // Measurement.
  std::string out(1, 'x');
  bool ok = cdn::influx::append_measurement(out, s);
  CDN_FUZZ_REQUIRE(ok == writable(s, ", "));
  if (!ok) {
    CDN_FUZZ_REQUIRE(out == "x");
  } else {
    Reader r(std::string_view(out).substr(1));
    CDN_FUZZ_REQUIRE(r.token(", ", ", ") == s && r.at_end());
  }
  // Keys and tag values.
  out.assign(1, 'x');
  ok = cdn::influx::append_key(out, s);
  CDN_FUZZ_REQUIRE(ok == writable(s, ",= "));
  if (!ok) {
    CDN_FUZZ_REQUIRE(out == "x");
  } else {
    Reader r(std::string_view(out).substr(1));
    CDN_FUZZ_REQUIRE(r.token(",= ", ",= ") == s && r.at_end());
  }
  // String field values.
  out.clear();
  cdn::influx::append_string_value(out, s);
  Reader r(out);
  auto v = r.field_value();
  CDN_FUZZ_REQUIRE(v && v->kind == FieldValue::string && v->s == s && r.at_end());
}

// ---- the encoder, checked on records ----

struct Config {
  EncoderOptions opts;
  int64_t now = 42;
};

const cdn::record::PropertyTypes& data_types() {
  static cdn::record::PropertyTypes t =
      cdn::schema::load_property_types(std::string(CDN_SOURCE_SCHEMA_DIR) + "/cdn-data.json");
  return t;
}

std::vector<Config>& configs() {
  static std::vector<Config> c = [] {
    // Strings are built, not assigned from literals: g++ 12 -O3 warns of an overlap in
    // std::string's assignment from a literal here (-Wrestrict, a false positive).
    std::vector<Config> v(4);
    v[0].opts.types = &data_types();
    v[1].opts.measurement = std::string("m e,a");
    v[1].opts.tags = {"pop", "country", "device", "cache_status", "model"};
    v[1].opts.precision = cdn::influx::Precision::ms;
    v[1].opts.prediction_measurement.clear();
    v[2].opts.measurement_field = std::string("m");
    v[2].opts.tags = {"t a,g=", "x", "x"};
    v[2].opts.fields = {"f", "g", "timestamp", "f"};
    v[2].opts.time_field.clear();
    v[2].opts.precision = cdn::influx::Precision::s;
    v[3].opts.tags = {"sampleID"};
    v[3].opts.time_field = std::string("t");
    v[3].opts.precision = cdn::influx::Precision::us;
    v[3].opts.types = &data_types();
    return v;
  }();
  return c;
}

struct Leaf {
  std::string key;
  element value;
  bool top;
};

void leaves(std::string key, element v, bool top, std::vector<Leaf>& out) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return;
    case element_type::OBJECT: {
      simdjson::dom::object o = v.get_object().value();
      for (auto [k, c] : o) leaves(key + "_" + std::string(k), c, false, out);
      return;
    }
    case element_type::ARRAY: {
      simdjson::dom::array a = v.get_array().value();
      size_t i = 0;
      for (auto c : a) leaves(key + "_" + std::to_string(i++), c, false, out);
      return;
    }
    default:
      out.push_back({std::move(key), v, top});
  }
}

bool first_member(simdjson::dom::object o, std::string_view name, element& v) {
  for (auto [k, c] : o) {
    if (k == name) {
      v = c;
      return true;
    }
  }
  return false;
}

void check_value(const Leaf& leaf, const FieldValue& got, const EncoderOptions& opts) {
  auto declared = leaf.top && opts.types ? opts.types->of(leaf.key) : cdn::record::ValueType::any;
  switch (leaf.value.type()) {
    case element_type::STRING:
      CDN_FUZZ_REQUIRE(got.kind == FieldValue::string && got.s == leaf.value.get_string().value());
      break;
    case element_type::BOOL:
      CDN_FUZZ_REQUIRE(got.kind == FieldValue::boolean && got.b == leaf.value.get_bool().value());
      break;
    case element_type::INT64: {
      int64_t i = leaf.value.get_int64().value();
      if (declared == cdn::record::ValueType::number) {
        CDN_FUZZ_REQUIRE(got.kind == FieldValue::floating && got.d == static_cast<double>(i));
      } else {
        CDN_FUZZ_REQUIRE(got.kind == FieldValue::integer && got.i == i);
      }
      break;
    }
    case element_type::UINT64:
      CDN_FUZZ_REQUIRE(declared == cdn::record::ValueType::number);
      CDN_FUZZ_REQUIRE(got.kind == FieldValue::floating &&
                       got.d == static_cast<double>(leaf.value.get_uint64().value()));
      break;
    case element_type::DOUBLE: {
      double d = leaf.value.get_double().value();
      if (declared == cdn::record::ValueType::integer && d == std::floor(d) &&
          std::fabs(d) < 9.2e18) {
        CDN_FUZZ_REQUIRE(got.kind == FieldValue::integer && got.i == static_cast<int64_t>(d));
      } else {
        CDN_FUZZ_REQUIRE(got.kind == FieldValue::floating && got.d == d);
      }
      break;
    }
    default:
      CDN_FUZZ_REQUIRE(false);
  }
}

std::string tag_text(element v) {
  std::string t;
  switch (v.type()) {
    case element_type::STRING:
      return std::string(v.get_string().value());
    case element_type::INT64:
      cdn::base::append_int(t, v.get_int64().value());
      return t;
    case element_type::UINT64:
      cdn::base::append_uint(t, v.get_uint64().value());
      return t;
    case element_type::DOUBLE:
      cdn::base::append_double(t, v.get_double().value());
      return t;
    case element_type::BOOL:
      return v.get_bool().value() ? "true" : "false";
    default:
      return "";
  }
}

void check_encoder(Config& cfg, element record) {
  Encoder enc(cfg.opts);
  const EncoderOptions& o = cfg.opts;
  std::string out = "previous\n";
  cdn::influx::PointKey key;
  auto why = enc.encode(record, cfg.now, out, key);
  if (why) {
    CDN_FUZZ_REQUIRE(!why->empty() && out == "previous\n");
    return;
  }
  Encoder::append_time(out, key.time);
  auto line = read_line(std::string_view(out).substr(9));
  CDN_FUZZ_REQUIRE(line.has_value());

  simdjson::dom::object obj = record.get_object().value();
  element v;
  const bool prediction = !o.prediction_measurement.empty() && o.measurement_field.empty() &&
                          first_member(obj, "prediction", v) && first_member(obj, "sampleID", v);
  // Measurement.
  if (prediction) {
    CDN_FUZZ_REQUIRE(line->measurement == o.prediction_measurement);
  } else if (!o.measurement_field.empty()) {
    CDN_FUZZ_REQUIRE(first_member(obj, o.measurement_field, v));
    CDN_FUZZ_REQUIRE(line->measurement == v.get_string().value());
  } else {
    CDN_FUZZ_REQUIRE(line->measurement == o.measurement);
  }
  // Tags: sorted, unique, "model" too for predictions.
  std::vector<std::string> tags = o.tags;
  const bool model_is_tag = std::find(tags.begin(), tags.end(), "model") != tags.end();
  if (prediction && !model_is_tag) tags.push_back("model");
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::vector<std::pair<std::string, std::string>> want_tags;
  for (const auto& t : tags) {
    if (t == o.time_field || (!o.measurement_field.empty() && t == o.measurement_field)) continue;
    if (!first_member(obj, t, v)) continue;
    std::string text = tag_text(v);
    if (!text.empty()) want_tags.emplace_back(t, text);
  }
  CDN_FUZZ_REQUIRE(line->tags == want_tags);
  // Time.
  if (o.time_field.empty()) {
    CDN_FUZZ_REQUIRE(line->time == cfg.now);
  } else {
    CDN_FUZZ_REQUIRE(first_member(obj, o.time_field, v));
    const int64_t ups = cdn::influx::units_per_second(o.precision);
    if (v.is_string()) {
      auto t = cdn::record::parse_rfc3339(v.get_string().value());
      CDN_FUZZ_REQUIRE(t.has_value());
      CDN_FUZZ_REQUIRE(line->time ==
                       t->seconds * ups + static_cast<int64_t>(t->nanos) / (1000000000 / ups));
    } else if (v.is_int64()) {
      CDN_FUZZ_REQUIRE(line->time == v.get_int64().value());
    } else {
      CDN_FUZZ_REQUIRE(v.is_double() &&
                       line->time == static_cast<int64_t>(std::floor(v.get_double().value())));
    }
  }
  // Fields: the leaves of the members that are neither time, measurement nor tag.
  auto excluded = [&](std::string_view k) {
    if (!o.time_field.empty() && k == o.time_field) return true;
    if (!o.measurement_field.empty() && k == o.measurement_field) return true;
    for (const auto& t : o.tags) {
      if (k == t) return true;
    }
    return prediction && k == "model" && !model_is_tag;
  };
  // A member named twice counts by its first occurrence; a name given twice to --field once.
  std::vector<Leaf> want;
  if (!o.fields.empty() && !prediction) {
    std::vector<std::string> names;
    for (const auto& name : o.fields) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    for (const auto& name : names) {
      for (auto [k, c] : obj) {
        if (k == name && !excluded(k)) {
          leaves(name, c, true, want);
          break;
        }
      }
    }
  } else {
    std::vector<std::string_view> seen;
    for (auto [k, c] : obj) {
      if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
      seen.push_back(k);
      if (!excluded(k)) leaves(std::string(k), c, true, want);
    }
  }
  // No two fields or tags of a point share a name.
  std::vector<std::string> names;
  for (const auto& [k, t] : line->tags) names.push_back(k);
  for (const auto& [k, f] : line->fields) names.push_back(k);
  std::sort(names.begin(), names.end());
  CDN_FUZZ_REQUIRE(std::adjacent_find(names.begin(), names.end()) == names.end());
  CDN_FUZZ_REQUIRE(line->fields.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CDN_FUZZ_REQUIRE(line->fields[i].first == want[i].key);
    check_value(want[i], line->fields[i].second, o);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_escaping(in);

  simdjson::padded_string padded(in);
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(padded).get(doc)) return 0;
  for (auto& cfg : configs()) check_encoder(cfg, doc);
  return 0;
}
