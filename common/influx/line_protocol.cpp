#include "common/influx/line_protocol.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/record/fields.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::influx {

Precision parse_precision(const std::string& name) {
  if (name == "s") return Precision::s;
  if (name == "ms") return Precision::ms;
  if (name == "us") return Precision::us;
  if (name == "ns") return Precision::ns;
  throw UsageError("bad --precision " + diag::quoted(name) + "; write s, ms, us or ns");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::s:
      return "s";
    case Precision::ms:
      return "ms";
    case Precision::us:
      return "us";
    case Precision::ns:
      return "ns";
  }
  return "ns";
}

int64_t units_per_second(Precision p) {
  switch (p) {
    case Precision::s:
      return 1;
    case Precision::ms:
      return 1000;
    case Precision::us:
      return 1000000;
    case Precision::ns:
      return 1000000000;
  }
  return 1000000000;
}

namespace {

// Which characters each place escapes.
struct Special {
  bool c[256] = {};
  constexpr Special(std::string_view chars) {
    for (char ch : chars) c[static_cast<unsigned char>(ch)] = true;
  }
};
constexpr Special kMeasurement(", ");
constexpr Special kKey(",= ");

// Escapes each special character with a backslash. A backslash the reader would take for an
// escape (before a special character or a quote, or at the end) cannot be written.
bool append_escaped(std::string& out, std::string_view s, const Special& special) {
  size_t i = 0;
  for (; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (special.c[c] || c == '\n' || c == '\\') break;
  }
  if (i == s.size()) {
    out.append(s);
    return true;
  }
  size_t start = out.size();
  out.append(s.substr(0, i));
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n') {
      out.resize(start);
      return false;
    }
    if (c == '\\') {
      if (i + 1 == s.size()) {
        out.resize(start);
        return false;
      }
      char next = s[i + 1];
      if (next == '"' || special.c[static_cast<unsigned char>(next)]) {
        out.resize(start);
        return false;
      }
    }
    if (special.c[static_cast<unsigned char>(c)]) out += '\\';
    out += c;
  }
  return true;
}

std::string cannot_write(std::string_view what, std::string_view text) {
  std::string r(what);
  r += ' ';
  r += diag::quoted(text);
  r += " cannot be written in line protocol (it holds a newline, or a backslash at the end or "
       "before a comma, space, equals sign or quote)";
  return r;
}

}  // namespace

bool append_measurement(std::string& out, std::string_view s) {
  return append_escaped(out, s, kMeasurement);
}

bool append_key(std::string& out, std::string_view s) {
  return append_escaped(out, s, kKey);
}

void append_string_value(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

Encoder::Encoder(EncoderOptions opts) : opts_(std::move(opts)) {
  auto check = [](const char* option, const std::string& m) {
    std::string escaped;
    if (m.empty() || m[0] == '#' || !append_measurement(escaped, m)) {
      throw UsageError(std::string("bad ") + option + " " + diag::quoted(m) +
                       ": a measurement is not empty, does not begin with '#', holds no newline "
                       "and no backslash at the end or before a comma or space");
    }
    return escaped;
  };
  measurement_ = check("--measurement", opts_.measurement);
  if (!opts_.prediction_measurement.empty()) {
    prediction_measurement_ = check("--prediction-measurement", opts_.prediction_measurement);
  }
  for (const auto& t : opts_.tags) {
    std::string k;
    if (t.empty() || !append_key(k, t) || t == "time") {
      throw UsageError("bad --tag " + diag::quoted(t) +
                       ": name a field that is not empty, not 'time', and holds no newline");
    }
  }
  // A field named twice in --field is written once, where it is first named.
  std::vector<std::string> fields;
  for (auto& f : opts_.fields) {
    if (std::find(fields.begin(), fields.end(), f) == fields.end()) fields.push_back(std::move(f));
  }
  opts_.fields = std::move(fields);
  // The tags in key order, with "model" (a tag of prediction records) unless it is one anyway.
  all_tags_ = opts_.tags;
  std::sort(all_tags_.begin(), all_tags_.end());
  all_tags_.erase(std::unique(all_tags_.begin(), all_tags_.end()), all_tags_.end());
  bool model_is_tag = std::binary_search(all_tags_.begin(), all_tags_.end(), "model");
  if (!model_is_tag && !opts_.prediction_measurement.empty()) {
    all_tags_.push_back("model");
    std::sort(all_tags_.begin(), all_tags_.end());
    model_slot_ = static_cast<size_t>(std::find(all_tags_.begin(), all_tags_.end(), "model") -
                                      all_tags_.begin());
  }
  for (const auto& t : all_tags_) {
    escaped_tags_.emplace_back();
    append_key(escaped_tags_.back(), t);
  }
}

void Encoder::append_time(std::string& out, int64_t time) {
  out += ' ';
  base::append_int(out, time);
  out += '\n';
}

std::optional<std::string> time_out_of_range(int64_t time, Precision p, const std::string& what) {
  constexpr int64_t kMaxNs = std::numeric_limits<int64_t>::max() - 1;
  constexpr int64_t kMinNs = std::numeric_limits<int64_t>::min() + 2;
  const int64_t unit_ns = 1000000000 / units_per_second(p);
  // Division truncates toward zero: the bounds in units are the times whose ns are inside.
  if (time <= kMaxNs / unit_ns && time >= kMinNs / unit_ns) return std::nullopt;
  return what +
         " is outside the times InfluxDB stores, 1677-09-21T00:12:43.145224194Z to "
         "2262-04-11T23:47:16.854775806Z (-9223372036854775806 to 9223372036854775806 "
         "ns)";
}

std::optional<std::string> Encoder::encode_time(simdjson::dom::element v, int64_t& time) const {
  const int64_t ups = units_per_second(opts_.precision);
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      auto t = record::parse_rfc3339(s);
      if (!t) {
        return "the time field " + diag::quoted(opts_.time_field) + " holds " + diag::quoted(s) +
               ", not an RFC 3339 time";
      }
      const std::string what = "the time " + diag::quoted(s);
      // Wide enough for any year: the minimum's seconds times 10^9 alone are below INT64_MIN.
      const __int128 units = static_cast<__int128>(t->seconds) * ups +
                             static_cast<int64_t>(t->nanos) / (1000000000 / ups);
      if (units > std::numeric_limits<int64_t>::max() ||
          units < std::numeric_limits<int64_t>::min()) {
        return time_out_of_range(units > 0 ? INT64_MAX : INT64_MIN, opts_.precision, what);
      }
      time = static_cast<int64_t>(units);
      return time_out_of_range(time, opts_.precision, what);
    }
    case element_type::INT64:
      time = v.get_int64().value_unsafe();
      return time_out_of_range(time, opts_.precision,
                               "the time " + std::to_string(time) + " " +
                                   precision_name(opts_.precision) + " (field " +
                                   diag::quoted(opts_.time_field) + ")");
    case element_type::UINT64:
      return time_out_of_range(INT64_MAX, opts_.precision,
                               "the time " + std::to_string(v.get_uint64().value_unsafe()) + " " +
                                   precision_name(opts_.precision) + " (field " +
                                   diag::quoted(opts_.time_field) + ")");
    case element_type::DOUBLE: {
      double d = std::floor(v.get_double().value_unsafe());
      std::string what = "the time " + simdjson::to_string(v) + " " +
                         precision_name(opts_.precision) + " (field " +
                         diag::quoted(opts_.time_field) + ")";
      if (!(d > -9.2e18 && d < 9.2e18)) {
        return time_out_of_range(d > 0 ? INT64_MAX : INT64_MIN, opts_.precision, what);
      }
      time = static_cast<int64_t>(d);
      return time_out_of_range(time, opts_.precision, what);
    }
    default:
      return "the time field " + diag::quoted(opts_.time_field) + " is " +
             record::json_type_name(v.type()) +
             ", not an RFC 3339 string or a number of --precision units since the epoch";
  }
}

std::optional<std::string> Encoder::tag_value(std::string_view name, simdjson::dom::element v,
                                              std::string& text) const {
  using simdjson::dom::element_type;
  text.clear();
  switch (v.type()) {
    case element_type::STRING:
      text = v.get_string().value_unsafe();
      return std::nullopt;
    case element_type::INT64:
      base::append_int(text, v.get_int64().value_unsafe());
      return std::nullopt;
    case element_type::UINT64:
      base::append_uint(text, v.get_uint64().value_unsafe());
      return std::nullopt;
    case element_type::DOUBLE:
      base::append_double(text, v.get_double().value_unsafe());
      return std::nullopt;
    case element_type::BOOL:
      text = v.get_bool().value_unsafe() ? "true" : "false";
      return std::nullopt;
    case element_type::NULL_VALUE:
      return std::nullopt;
    default:
      return "the tag " + diag::quoted(name) + " is " + record::json_type_name(v.type()) +
             "; a tag holds a string, a number or a boolean";
  }
}

std::optional<std::string> Encoder::append_field(std::string& out, std::string& key,
                                                 simdjson::dom::element v, bool top, bool& any) {
  using simdjson::dom::element_type;
  element_type t = v.type();
  if (t == element_type::NULL_VALUE) return std::nullopt;
  if (t == element_type::OBJECT) {
    size_t len = key.size();
    simdjson::dom::object o = v.get_object().value_unsafe();
    for (auto [k, child] : o) {
      key.resize(len);
      key += '_';
      key += k;
      if (auto why = append_field(out, key, child, false, any)) return why;
    }
    key.resize(len);
    return std::nullopt;
  }
  if (t == element_type::ARRAY) {
    size_t len = key.size(), i = 0;
    simdjson::dom::array a = v.get_array().value_unsafe();
    for (auto child : a) {
      key.resize(len);
      key += '_';
      base::append_uint(key, i++);
      if (auto why = append_field(out, key, child, false, any)) return why;
    }
    key.resize(len);
    return std::nullopt;
  }
  if (key.empty()) {
    // "=1i" is not a field: InfluxDB would refuse the line, and the record with it.
    return std::string(
        "a field with an empty name cannot be written in line protocol; leave it out with "
        "--field");
  }
  if (key == "time") {
    return std::string(
        "a field named 'time' is refused by InfluxDB; leave it out with --field, or make it the "
        "time with --time-field time");
  }
  // A field name once per point: a nested member flattened to the name of another member (or
  // of a tag) would make two (InfluxDB keeps one of them, or refuses the line).
  if (field_named(key)) {
    return "the field name " + diag::quoted(key) +
           " comes twice in the point (a nested member flattened to the name of another, as "
           "a_b from {\"a\":{\"b\":1}}); name the fields to write with --field";
  }
  size_t start = out.size();
  out += any ? ',' : ' ';
  if (!append_key(out, key)) {
    out.resize(start);
    return cannot_write("the field name", key);
  }
  out += '=';
  record::ValueType declared = record::ValueType::any;
  if (top && opts_.types) declared = opts_.types->of(key);
  switch (t) {
    case element_type::STRING:
      append_string_value(out, v.get_string().value_unsafe());
      break;
    case element_type::BOOL:
      out += v.get_bool().value_unsafe() ? "true" : "false";
      break;
    case element_type::INT64:
      base::append_int(out, v.get_int64().value_unsafe());
      if (declared != record::ValueType::number) out += 'i';
      break;
    case element_type::UINT64:
      if (declared == record::ValueType::number) {
        base::append_uint(out, v.get_uint64().value_unsafe());
        break;
      }
      out.resize(start);
      return "the field " + diag::quoted(key) +
             " is an integer beyond InfluxDB's integers (64-bit signed); declare it a number "
             "with --schema to write it as a float";
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      if (declared == record::ValueType::integer && d == std::floor(d) && std::fabs(d) < 9.2e18) {
        base::append_int(out, static_cast<int64_t>(d));
        out += 'i';
      } else {
        base::append_double(out, d);
      }
      break;
    }
    default:
      break;
  }
  field_names_.push_back(key);
  if (!field_set_.empty()) field_set_.insert(key);
  any = true;
  return std::nullopt;
}

bool Encoder::member_named(std::string_view k) {
  if (members_.size() < kScan) {
    return std::any_of(members_.begin(), members_.end(),
                       [k](const auto& m) { return m.first == k; });
  }
  if (member_set_.empty()) {
    for (const auto& m : members_) member_set_.insert(m.first);
  }
  return !member_set_.insert(k).second;  // a new name goes into members_ next
}

bool Encoder::field_named(const std::string& key) {
  if (field_names_.size() < kScan) {
    return std::find(field_names_.begin(), field_names_.end(), key) != field_names_.end();
  }
  if (field_set_.empty()) field_set_.insert(field_names_.begin(), field_names_.end());
  return field_set_.count(key) > 0;
}

std::optional<std::string> Encoder::encode(simdjson::dom::element record, int64_t now,
                                           std::string& out, PointKey& key) {
  simdjson::dom::object obj;
  if (record.get_object().get(obj)) {
    return std::string("not a JSON object but ") + record::json_type_name(record.type());
  }
  const size_t start = out.size();
  auto fail = [&](std::string why) -> std::optional<std::string> {
    out.resize(start);
    return why;
  };

  // One pass over the members: the time, the tags, the measurement field, the rest.
  const size_t ntags = all_tags_.size();
  tag_found_.assign(ntags, 0);
  tag_values_.resize(ntags);
  members_.clear();
  if (!member_set_.empty()) member_set_.clear();  // (a clear costs its buckets: only when used)
  simdjson::dom::element time_v, measurement_v;
  bool has_time = false, has_measurement = false, has_prediction = false, has_sample = false;
  for (auto [k, val] : obj) {
    if (k.size() == 10 && k == "prediction") has_prediction = true;
    if (k.size() == 8 && k == "sampleID") has_sample = true;
    if (!opts_.time_field.empty() && k == opts_.time_field) {
      if (!has_time) time_v = val;
      has_time = true;
      continue;
    }
    if (!opts_.measurement_field.empty() && k == opts_.measurement_field) {
      if (!has_measurement) measurement_v = val;
      has_measurement = true;
      continue;
    }
    size_t t = 0;
    while (t < ntags && !(all_tags_[t].size() == k.size() && all_tags_[t] == k)) ++t;
    if (t < ntags) {
      bool first = !tag_found_[t];
      if (first) tag_values_[t] = val;
      tag_found_[t] = 1;
      if (t != model_slot_ || !first) continue;  // "model" is a field unless in a prediction
    } else if (member_named(k)) {
      continue;  // a member named twice: the first one counts, as for every command
    }
    members_.emplace_back(k, val);
  }
  const bool prediction = !opts_.prediction_measurement.empty() &&
                          opts_.measurement_field.empty() && has_prediction && has_sample;

  // Measurement.
  if (prediction) {
    out += prediction_measurement_;
    last_measurement_ = opts_.prediction_measurement;
  } else if (!opts_.measurement_field.empty()) {
    std::string_view m;
    if (!has_measurement) {
      return fail("no " + diag::quoted(opts_.measurement_field) +
                  " field (the measurement, --measurement-field)");
    }
    if (measurement_v.get_string().get(m) != simdjson::SUCCESS || m.empty()) {
      return fail("the measurement field " + diag::quoted(opts_.measurement_field) + " is " +
                  (measurement_v.is_string() ? std::string("empty")
                                             : record::json_type_name(measurement_v.type())) +
                  ", not a non-empty string");
    }
    if (m[0] == '#') {
      return fail("the measurement " + diag::quoted(m) +
                  " begins with '#', which makes a line a comment");
    }
    if (!append_measurement(out, m)) return fail(cannot_write("the measurement", m));
    last_measurement_ = m;
  } else {
    out += measurement_;
    last_measurement_ = opts_.measurement;
  }

  // Tags, in key order, as InfluxDB keeps them.
  for (size_t t = 0; t < ntags; ++t) {
    if (!tag_found_[t] || (t == model_slot_ && !prediction)) continue;
    const std::string& name = all_tags_[t];
    if (auto why = tag_value(name, tag_values_[t], key_scratch_)) return fail(*why);
    if (key_scratch_.empty()) continue;  // InfluxDB has no empty tag values
    out += ',';
    out += escaped_tags_[t];
    out += '=';
    if (!append_key(out, key_scratch_)) {
      return fail(cannot_write("the value of tag " + diag::quoted(name), key_scratch_));
    }
  }
  key.series = std::hash<std::string_view>{}(std::string_view(out).substr(start));

  // Time.
  if (opts_.time_field.empty()) {
    key.time = now;
  } else {
    if (!has_time) {
      return fail("no " + diag::quoted(opts_.time_field) +
                  " field (the time of the point); name another with --time-field, or "
                  "--time-field '' for the time of loading");
    }
    if (auto why = encode_time(time_v, key.time)) return fail(*why);
  }

  // Fields, under names that no tag has.
  field_names_.clear();
  if (!field_set_.empty()) field_set_.clear();
  for (size_t t = 0; t < ntags; ++t) {
    if (tag_found_[t] && (t != model_slot_ || prediction)) field_names_.push_back(all_tags_[t]);
  }
  bool any = false;
  if (!opts_.fields.empty() && !prediction) {
    for (const auto& name : opts_.fields) {
      auto it = std::find_if(members_.begin(), members_.end(),
                             [&](const auto& m) { return m.first == name; });
      if (it == members_.end()) continue;
      key_scratch_ = name;
      if (auto why = append_field(out, key_scratch_, it->second, true, any)) return fail(*why);
    }
  } else {
    for (const auto& [k, val] : members_) {
      if (prediction && k.size() == 5 && k == "model" && model_slot_ != kNoSlot) continue;
      key_scratch_ = k;
      if (auto why = append_field(out, key_scratch_, val, true, any)) return fail(*why);
    }
  }
  if (!any) {
    return fail(
        "no field to write (InfluxDB needs at least one that is not null, a tag or the time)");
  }
  if (prediction) ++predictions_;
  return std::nullopt;
}

uint64_t Encoder::series_of(std::string_view measurement,
                            std::vector<std::pair<std::string, std::string>> tags) {
  std::sort(tags.begin(), tags.end());
  std::string text;
  if (!append_measurement(text, measurement)) return 0;
  for (const auto& [k, v] : tags) {
    if (v.empty()) continue;
    text += ',';
    if (!append_key(text, k)) return 0;
    text += '=';
    if (!append_key(text, v)) return 0;
  }
  return std::hash<std::string_view>{}(text);
}

}  // namespace cdn::influx
