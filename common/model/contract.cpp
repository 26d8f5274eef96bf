#include "common/model/contract.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/base/json_text.hpp"
#include "common/base/nearest.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/whole_file.hpp"
#include "common/record/fields.hpp"
#include "common/record/ids.hpp"
#include "common/record/timestamp.hpp"
#include "common/schema/validator.hpp"

namespace cdn::model {

const char* kind_name(FeatureKind k) {
  switch (k) {
    case FeatureKind::numeric:
      return "numeric";
    case FeatureKind::categorical:
      return "categorical";
    case FeatureKind::hour_of_day:
      return "hour_of_day";
    case FeatureKind::day_of_week:
      return "day_of_week";
  }
  return "numeric";
}

namespace {
FeatureKind kind_from(std::string_view s, const std::string& what) {
  if (s == "numeric") return FeatureKind::numeric;
  if (s == "categorical") return FeatureKind::categorical;
  if (s == "hour_of_day") return FeatureKind::hour_of_day;
  if (s == "day_of_week") return FeatureKind::day_of_week;
  throw UsageError(what + " names an unknown feature kind " + diag::quoted(s));
}

std::string read_file(const std::string& path, const std::string& role) {
  return io::read_whole_file(path, "the " + role, "give a JSON Schema file with --schema",
                             io::kMaxSchemaBytes);
}
}  // namespace

namespace {
// The range a schema states for a number: minimum and maximum, and exclusiveMinimum and
// exclusiveMaximum as numbers (draft 6 on) or as flags on the bounds (draft 4).
void read_bounds(simdjson::dom::element field, Feature& f) {
  double d;
  bool flag = false;
  if (!field["minimum"].get_double().get(d)) {
    if (!field["exclusiveMinimum"].get_bool().get(flag) && flag) {
      f.exclusive_minimum = d;
    } else {
      f.minimum = d;
    }
  }
  if (!field["maximum"].get_double().get(d)) {
    if (!field["exclusiveMaximum"].get_bool().get(flag) && flag) {
      f.exclusive_maximum = d;
    } else {
      f.maximum = d;
    }
  }
  if (!field["exclusiveMinimum"].get_double().get(d)) f.exclusive_minimum = d;
  if (!field["exclusiveMaximum"].get_double().get(d)) f.exclusive_maximum = d;
}

std::string number_text(double d) {
  std::string s;
  base::append_double(s, d);
  return s;
}
}  // namespace

std::string misfit(const Feature& f, double d, bool boolean) {
  if (f.type == "boolean") return boolean ? "" : "not a boolean";
  if (boolean && (f.type == "number" || f.type == "integer")) return "a boolean, not a number";
  if (f.type == "integer" && d != std::trunc(d)) return "not an integer";
  if (f.minimum && d < *f.minimum) return "below the minimum " + number_text(*f.minimum);
  if (f.maximum && d > *f.maximum) return "above the maximum " + number_text(*f.maximum);
  if (f.exclusive_minimum && d <= *f.exclusive_minimum) {
    return "not above the exclusive minimum " + number_text(*f.exclusive_minimum);
  }
  if (f.exclusive_maximum && d >= *f.exclusive_maximum) {
    return "not below the exclusive maximum " + number_text(*f.exclusive_maximum);
  }
  return "";
}

std::string default_schema_path() {
  try {
    return schema::find_schema("cdn-data.json");
  } catch (const UsageError&) {
    return "";
  }
}

std::string hash_hex(std::string_view bytes) {
  std::string out;
  record::append_hex64(out, record::xxh64(bytes));
  return out;
}

std::string Contract::to_json() const {
  std::string s = "{\"version\":1,\"label\":";
  base::append_json_string(s, label);
  s += ",\"objective\":";
  base::append_json_string(s, objective);
  s += ",\"num_class\":";
  base::append_int(s, num_class);
  s += ",\"id_field\":";
  base::append_json_string(s, id_field);
  s += ",\"time_field\":";
  base::append_json_string(s, time_field);
  s += ",\"schema_hash\":";
  base::append_json_string(s, schema_hash);
  s += ",\"features\":[";
  for (size_t i = 0; i < features.size(); ++i) {
    const Feature& f = features[i];
    s += i ? ",\n" : "\n";
    s += "{\"name\":";
    base::append_json_string(s, f.name);
    s += ",\"field\":";
    base::append_json_string(s, f.field);
    s += ",\"kind\":";
    base::append_json_string(s, kind_name(f.kind));
    if (f.kind == FeatureKind::categorical) {
      s += ",\"learned\":";
      s += f.learned ? "true" : "false";
      s += ",\"categories\":[";
      for (size_t c = 0; c < f.categories.size(); ++c) {
        if (c) s += ',';
        base::append_json_string(s, f.categories[c]);
      }
      s += ']';
    }
    if (!f.type.empty()) {
      s += ",\"type\":";
      base::append_json_string(s, f.type);
    }
    auto bound = [&s](const char* key, const std::optional<double>& v) {
      if (!v) return;
      s += ",\"";
      s += key;
      s += "\":";
      base::append_double(s, *v);
    };
    bound("minimum", f.minimum);
    bound("maximum", f.maximum);
    bound("exclusiveMinimum", f.exclusive_minimum);
    bound("exclusiveMaximum", f.exclusive_maximum);
    if (f.required) s += ",\"required\":true";
    if (f.missing >= 0) {
      s += ",\"missing\":";
      base::append_int(s, f.missing);
    }
    s += '}';
  }
  s += "\n]}\n";
  return s;
}

Contract Contract::from_json(std::string_view text, const std::string& what) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto bad = [&](const std::string& why) {
    return UsageError(what + " is not a feature contract: " + why);
  };
  if (auto err = parser.parse(text.data(), text.size()).get(doc)) {
    throw bad(simdjson::error_message(err));
  }
  Contract c;
  auto str = [&](simdjson::dom::element e, const char* key) {
    std::string_view v;
    if (e[key].get_string().get(v)) throw bad(std::string("no string \"") + key + "\"");
    return std::string(v);
  };
  c.label = str(doc, "label");
  c.objective = str(doc, "objective");
  c.id_field = str(doc, "id_field");
  c.time_field = str(doc, "time_field");
  c.schema_hash = str(doc, "schema_hash");
  int64_t nc = 0;
  if (doc["num_class"].get_int64().get(nc)) throw bad("no integer \"num_class\"");
  c.num_class = static_cast<int>(nc);
  simdjson::dom::array feats;
  if (doc["features"].get_array().get(feats)) throw bad("no array \"features\"");
  for (auto fe : feats) {
    Feature f;
    f.name = str(fe, "name");
    f.field = str(fe, "field");
    f.kind = kind_from(str(fe, "kind"), what);
    if (f.kind == FeatureKind::categorical) {
      bool learned = false;
      if (fe["learned"].get_bool().get(learned))
        throw bad("a categorical feature without \"learned\"");
      f.learned = learned;
      simdjson::dom::array cats;
      if (fe["categories"].get_array().get(cats))
        throw bad("a categorical feature without categories");
      for (auto cat : cats) {
        std::string_view v;
        if (cat.get_string().get(v)) throw bad("a category that is not a string");
        f.categories.emplace_back(v);
      }
    }
    // What the schema states, and how often training missed the feature: older bundles
    // do not say, and keep the rules they were made with.
    std::string_view type;
    if (!fe["type"].get_string().get(type)) f.type = type;
    auto bound = [&](const char* key, std::optional<double>& into) {
      double d;
      if (!fe[key].get_double().get(d)) into = d;
    };
    bound("minimum", f.minimum);
    bound("maximum", f.maximum);
    bound("exclusiveMinimum", f.exclusive_minimum);
    bound("exclusiveMaximum", f.exclusive_maximum);
    bool required = false;
    if (!fe["required"].get_bool().get(required)) f.required = required;
    int64_t missing = -1;
    if (!fe["missing"].get_int64().get(missing) && missing >= 0) f.missing = missing;
    c.features.push_back(std::move(f));
  }
  if (c.features.empty()) throw bad("no features");
  return c;
}

std::vector<std::string> Contract::feature_names() const {
  std::vector<std::string> v;
  for (const auto& f : features) v.push_back(f.name);
  return v;
}

std::vector<std::string> Contract::feature_types() const {
  std::vector<std::string> v;
  for (const auto& f : features) v.push_back(f.kind == FeatureKind::categorical ? "c" : "q");
  return v;
}

Contract derive_contract(const std::string& schema_path, const ContractOptions& opts) {
  std::string text = read_file(schema_path, "schema");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text).get(doc)) {
    throw UsageError("cannot read schema " + diag::quoted(schema_path) + ": " +
                     simdjson::error_message(err));
  }
  simdjson::dom::object props;
  if (doc["properties"].get_object().get(props)) {
    throw UsageError("schema " + diag::quoted(schema_path) +
                     " has no \"properties\"; the feature contract comes from them");
  }
  Contract c;
  c.label = opts.label;
  c.id_field = opts.id_field;
  c.time_field = opts.time_field;
  c.schema_hash = hash_hex(text);
  bool has_label = false, has_time = false;
  // " (did you mean 'X'?)" for a name the schema does not have, X its nearest property.
  auto hint = [&props](const std::string& name) {
    std::vector<std::string> names;
    for (auto field : props) names.emplace_back(field.key);
    auto near = base::nearest(name, names);
    return near ? " (did you mean " + diag::quoted(*near) + "?)" : std::string();
  };
  for (const auto& name : opts.drop) {
    if (props[name].error()) {
      throw UsageError("--drop names " + diag::quoted(name) + hint(name) + ", which the schema " +
                       diag::quoted(schema_path) + " does not have");
    }
  }
  std::vector<std::string> required;
  simdjson::dom::array req;
  if (!doc["required"].get_array().get(req)) {
    for (auto r : req) {
      std::string_view n;
      if (!r.get_string().get(n)) required.emplace_back(n);
    }
  }
  auto is_required = [&required](const std::string& name) {
    return std::find(required.begin(), required.end(), name) != required.end();
  };
  for (auto field : props) {
    std::string name(field.key);
    if (name == c.label) {
      has_label = true;
      continue;
    }
    if (name == c.time_field) has_time = true;
    std::string_view type, format;
    simdjson::dom::element type_el;
    if (!field.value["type"].get(type_el)) {
      if (type_el.get_string().get(type)) {
        for (auto t : type_el.get_array()) {
          std::string_view n;
          if (!t.get_string().get(n) && n != "null") {
            type = n;
            break;
          }
        }
      }
    }
    if (field.value["format"].get_string().get(format)) format = {};
    bool drop;
    if (opts.drop_given) {
      drop = std::find(opts.drop.begin(), opts.drop.end(), name) != opts.drop.end();
    } else {
      drop = name == c.id_field || format == "date-time" || format == "ipv4" || format == "ipv6" ||
             format == "uuid";
    }
    if (drop) continue;
    Feature f;
    f.name = name;
    f.field = name;
    simdjson::dom::array values;
    if (!field.value["enum"].get_array().get(values)) {
      bool all_strings = true;
      for (auto v : values) all_strings = all_strings && v.is_string();
      if (all_strings) {
        f.kind = FeatureKind::categorical;
        for (auto v : values) f.categories.emplace_back(v.get_string().value_unsafe());
      } else {
        f.kind = FeatureKind::numeric;
      }
    } else if (type == "number" || type == "integer" || type == "boolean") {
      f.kind = FeatureKind::numeric;
      f.type = type;
      read_bounds(field.value, f);
    } else if (type == "string") {
      f.kind = FeatureKind::categorical;
      f.learned = true;
    } else {
      diag::info("field " + diag::quoted(name) +
                 " is neither a number nor a string in the schema; it is not a feature");
      continue;
    }
    if (f.kind == FeatureKind::categorical) f.type = "string";
    f.required = is_required(name);
    c.features.push_back(std::move(f));
  }
  if (!has_label) {
    throw UsageError("the label " + diag::quoted(c.label) + hint(c.label) +
                     " is not a field of the schema " + diag::quoted(schema_path) +
                     "; name it with --label");
  }
  if (opts.time_features) {
    if (!has_time) {
      throw UsageError("--time-features wants the field " + diag::quoted(c.time_field) +
                       ", which the schema does not have");
    }
    Feature h, d;
    h.name = c.time_field + "_hour";
    h.field = c.time_field;
    h.kind = FeatureKind::hour_of_day;
    d.name = c.time_field + "_weekday";
    d.field = c.time_field;
    d.kind = FeatureKind::day_of_week;
    h.type = d.type = "string";
    h.required = d.required = is_required(c.time_field);
    c.features.push_back(std::move(h));
    c.features.push_back(std::move(d));
  }
  if (c.features.empty()) throw UsageError("no field of the schema is left as a feature");
  return c;
}

bool time_parts(std::string_view text, int& hour, int& weekday) {
  auto t = record::parse_rfc3339(text);
  if (!t) return false;
  int64_t days = t->seconds >= 0 ? t->seconds / 86400 : (t->seconds - 86399) / 86400;
  int64_t sod = t->seconds - days * 86400;
  hour = static_cast<int>(sod / 3600);
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  weekday = static_cast<int>(((days % 7) + 7 + 3) % 7);
  return true;
}

RowBuilder::RowBuilder(const Contract& c, bool allow_missing)
    : contract_(c), width_(c.features.size()) {
  static std::atomic<uint64_t> made{0};
  id_ = ++made;
  for (size_t i = 0; i < c.features.size(); ++i) {
    const Feature& f = c.features[i];
    size_t idx = 0;
    while (idx < fields_.size() && fields_[idx].name != f.field) ++idx;
    if (idx == fields_.size()) fields_.push_back({f.field, {}});
    Slot s{f.kind, i, {}};
    for (size_t code = 0; code < f.categories.size(); ++code) {
      s.codes.emplace(f.categories[code], static_cast<float>(code));
    }
    s.closed = f.kind == FeatureKind::categorical && !f.learned;
    if (f.type == "number") s.want = Want::number;
    if (f.type == "integer") s.want = Want::integer;
    if (f.type == "boolean") s.want = Want::boolean;
    if (f.minimum) s.min = *f.minimum;
    if (f.maximum) s.max = *f.maximum;
    if (f.exclusive_minimum) s.above = *f.exclusive_minimum;
    if (f.exclusive_maximum) s.below = *f.exclusive_maximum;
    fields_[idx].slots.push_back(std::move(s));
    if (!allow_missing && f.must_have()) must_have_.push_back(i);
  }
  for (size_t k = 0; k < fields_.size(); ++k) by_name_.emplace(fields_[k].name, k);
}

std::vector<std::string> RowBuilder::fields() const {
  std::vector<std::string> v;
  for (const auto& f : fields_) v.push_back(f.name);
  return v;
}

bool RowBuilder::fill(simdjson::dom::object obj, float* row, std::string& reason,
                      std::vector<uint64_t>& unknown, std::vector<uint64_t>& missing) const {
  FieldOrder order;
  return fill(obj, row, reason, unknown, missing, order, nullptr);
}

bool RowBuilder::fill(simdjson::dom::object obj, float* row, std::string& reason,
                      std::vector<uint64_t>& unknown, std::vector<uint64_t>& missing,
                      FieldOrder& order, Capture* capture) const {
  constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
  std::fill(row, row + width_, kMissing);
  order.present.assign(width_, 0);
  order.read_all = false;
  const int captures = capture ? capture->count : 0;
  for (int k = 0; k < captures; ++k) capture->found[k] = false;
  if (order.owner != id_) {
    order.at.clear();
    order.owner = id_;
  }
  size_t position = 0;
  for (auto member : obj) {
    // Positions before this one were all seen, in this record or an earlier one: the
    // entry here is new (pushed) or known (checked by name; an empty name is a name too).
    if (position == order.at.size()) {
      order.at.emplace_back();
      order.at.back().field = -2;  // no name yet
    }
    FieldOrder::Entry& e = order.at[position++];
    if (e.field == -2 || e.name != member.key) {
      e.name.assign(member.key);
      auto it = by_name_.find(member.key);
      e.field = it == by_name_.end() ? -1 : static_cast<int32_t>(it->second);
      e.capture = 0;
      for (int k = 0; k < captures; ++k) {
        if (capture->names[k] == member.key) e.capture |= static_cast<uint8_t>(1u << k);
      }
    }
    for (int k = 0; e.capture != 0 && k < captures; ++k) {
      if ((e.capture & (1u << k)) && !capture->found[k]) {  // the first one, as at_key
        capture->values[k] = member.value;
        capture->found[k] = true;
      }
    }
    if (e.field < 0) continue;
    const FieldSlots& fs = fields_[static_cast<size_t>(e.field)];
    simdjson::dom::element v = member.value;
    auto t = v.type();
    if (t == simdjson::dom::element_type::NULL_VALUE) continue;
    for (const Slot& s : fs.slots) {
      order.present[s.feature] = 1;
      switch (s.kind) {
        case FeatureKind::numeric: {
          double d;
          bool boolean = t == simdjson::dom::element_type::BOOL;
          if (boolean) {
            d = v.get_bool().value_unsafe() ? 1.0 : 0.0;
          } else if (v.get_double().get(d)) {
            reason = "field " + diag::quoted(fs.name) + " is " + record::json_type_name(t) +
                     "; the model wants a " + (s.want == Want::boolean ? "boolean" : "number");
            return false;
          }
          if (!s.fits(d, boolean)) {
            std::string why = misfit(contract_.features[s.feature], d, boolean);
            if (!why.empty()) {
              reason = "field " + diag::quoted(fs.name) + ": " + std::string(simdjson::minify(v)) +
                       " is " + why;
              return false;
            }
          }
          row[s.feature] = static_cast<float>(d);
          break;
        }
        case FeatureKind::categorical: {
          std::string_view str;
          if (v.get_string().get(str)) {
            reason = "field " + diag::quoted(fs.name) + " is " + record::json_type_name(t) +
                     "; the model wants a string";
            return false;
          }
          auto c = s.codes.find(str);
          if (c == s.codes.end() && s.closed) {
            reason = "field " + diag::quoted(fs.name) + " is " + diag::quoted(str) +
                     ", not one of the values the schema allows";
            return false;
          } else if (c == s.codes.end()) {
            ++unknown[s.feature];
          } else {
            row[s.feature] = c->second;
          }
          break;
        }
        case FeatureKind::hour_of_day:
        case FeatureKind::day_of_week: {
          std::string_view str;
          int hour, weekday;
          if (v.get_string().get(str) || !time_parts(str, hour, weekday)) {
            reason = "field " + diag::quoted(fs.name) + " is not an RFC 3339 time";
            return false;
          }
          row[s.feature] = static_cast<float>(s.kind == FeatureKind::hour_of_day ? hour : weekday);
          break;
        }
      }
    }
  }
  order.held = 0;
  for (size_t f = 0; f < width_; ++f) {
    missing[f] += order.present[f] == 0;
    order.held += order.present[f];
  }
  order.read_all = true;
  for (size_t f : must_have_) {
    if (order.present[f]) continue;
    const Feature& feat = contract_.features[f];
    reason = "field " + diag::quoted(feat.field) + " is missing; " +
             (feat.required ? std::string("the schema requires it")
                            : std::string("the model was trained without it ever missing")) +
             " (--allow-missing scores it as missing)";
    return false;
  }
  return true;
}

}  // namespace cdn::model
