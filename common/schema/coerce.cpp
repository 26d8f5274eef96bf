#include "common/schema/coerce.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "common/base/json_pointer.hpp"
#include "common/base/json_text.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// The nodes that apply to one value: the node itself (through $ref) and its allOf members,
// each once (allOf lists naming the same schemas again and again would otherwise multiply).
void gather(const Node* n, std::vector<const Node*>& out, int depth = 0) {
  if (!n || depth > 32) return;
  while (n->ref && depth++ < 32) n = n->ref;
  if (n->kind != Node::Kind::schema) return;
  if (std::find(out.begin(), out.end(), n) != out.end()) return;
  out.push_back(n);
  for (const Node* s : n->all_of) gather(s, out, depth + 1);
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// RFC 3339 has four-digit years: an instant before 0000-01-01 or after 9999-12-31 (UTC) has
// no RFC 3339 UTC text ("0000-01-01T00:00:00+01:00" is valid, its UTC form would not be).
bool has_utc_text(record::Instant t) {
  return t.seconds >= -62167219200 && t.seconds <= 253402300799;
}

// Epoch seconds or milliseconds (by magnitude: 1e11 seconds is the year 5138) as RFC 3339.
bool epoch_to_rfc3339(double v, std::string& out) {
  if (!std::isfinite(v) || std::fabs(v) > 1e16) return false;
  double ms = std::fabs(v) >= 1e11 ? v : v * 1000.0;
  double whole_ms = std::floor(ms + 0.5);
  auto total = static_cast<int64_t>(whole_ms);
  int64_t secs = total >= 0 ? total / 1000 : -((-total + 999) / 1000);
  if (!has_utc_text(record::Instant{secs, 0})) return false;
  auto nanos = static_cast<uint32_t>((total - secs * 1000) * 1000000);
  record::append_rfc3339_ms(out, record::Instant{secs, nanos});
  return true;
}

// A number that was written with a fraction or an exponent keeps one, so that it reads back
// as a float wherever types matter downstream (InfluxDB keeps a field's first type): 3.0
// stays "3.0", not "3".
void append_fraction(std::string& out, double d) {
  size_t start = out.size();
  base::append_double(out, d);
  if (std::isfinite(d) && out.find_first_of(".eE", start) == std::string::npos) out += ".0";
}

class Coercer {
 public:
  Coercer(const CoerceOptions& opts, std::vector<Change>* changes)
      : opts_(opts), changes_(changes) {}

  bool changed = false;

  void value(const std::vector<const Node*>& nodes, element v, std::string& out,
             std::string& path) {
    switch (v.type()) {
      case element_type::OBJECT:
        object(nodes, v.get_object().value_unsafe(), out, path);
        return;
      case element_type::ARRAY:
        array(nodes, v.get_array().value_unsafe(), out, path);
        return;
      case element_type::STRING:
        string(nodes, v.get_string().value_unsafe(), out, path);
        return;
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        number(nodes, v, out, path);
        return;
      case element_type::BOOL:
        out += v.get_bool().value_unsafe() ? "true" : "false";
        return;
      case element_type::NULL_VALUE:
        out += "null";
        return;
    }
  }

 private:
  void note(const std::string& path, const char* kind, std::string from, std::string to) {
    changed = true;
    if (changes_) changes_->push_back({path, kind, std::move(from), std::move(to)});
  }

  static std::string json(std::string_view s) {
    std::string r;
    base::append_json_string(r, s);
    return r;
  }

  struct Wants {
    uint8_t types = 0;  // union of the types the nodes allow; 0 when none says
    bool date_time = false;
    bool constrains_string = false;
  };

  static Wants wants(const std::vector<const Node*>& nodes) {
    Wants w;
    for (const Node* n : nodes) {
      if (n->types) w.types |= n->types;
      if (n->format == Format::date_time) w.date_time = true;
      if ((n->types & kString) || n->format != Format::none || n->pattern || n->min_length ||
          n->max_length) {
        w.constrains_string = true;
      }
      if (n->has_enum) {
        for (element e : n->enum_values) {
          if (e.is_string()) w.constrains_string = true;
        }
      }
    }
    return w;
  }

  void string(const std::vector<const Node*>& nodes, std::string_view s, std::string& out,
              const std::string& path) {
    Wants w = wants(nodes);
    std::string_view t = trim(s);
    if (w.date_time) {
      std::string norm;
      if (auto inst = record::parse_rfc3339(t)) {
        // Beyond the four-digit years in UTC it stays as written (trimmed at most).
        if (has_utc_text(*inst)) record::append_rfc3339_ms(norm, *inst);
      } else if (!t.empty() && base::is_json_number(t)) {
        double d;
        if (std::from_chars(t.data(), t.data() + t.size(), d).ec == std::errc()) {
          epoch_to_rfc3339(d, norm);
        }
      }
      if (!norm.empty()) {
        base::append_json_string(out, norm);
        if (norm != s) note(path, "date-time", json(s), json(norm));
        return;
      }
    }
    if (!(w.types & kString)) {
      if ((w.types & (kNumber | kInteger)) && !t.empty() && base::is_json_number(t)) {
        // Written from the parsed value, never copied: the result always reads back (an
        // integer beyond 64 bits or a number beyond a double's range is left a string).
        std::string r;
        int64_t i;
        uint64_t u;
        double d;
        const char* end = t.data() + t.size();
        if (t.find_first_of(".eE") == std::string_view::npos &&
            std::from_chars(t.data(), end, i).ec == std::errc()) {
          base::append_int(r, i);
        } else if (t.find_first_of(".eE-") == std::string_view::npos &&
                   std::from_chars(t.data(), end, u).ec == std::errc()) {
          base::append_uint(r, u);
        } else if (std::from_chars(t.data(), end, d).ec == std::errc() && std::isfinite(d)) {
          if (!(w.types & kNumber) && d == std::floor(d) && std::fabs(d) < 9e15) {
            base::append_int(r, static_cast<int64_t>(d));
          } else if (w.types & kNumber) {
            append_fraction(r, d);
          }
        }
        if (!r.empty()) {
          const bool integer = r.find_first_of(".eE") == std::string::npos;
          out += r;
          note(path, integer ? "string to integer" : "string to number", json(s), r);
          return;
        }
      }
      if (w.types & kBoolean) {
        if (iequals(t, "true") || iequals(t, "false")) {
          bool b = iequals(t, "true");
          out += b ? "true" : "false";
          note(path, "string to boolean", json(s), b ? "true" : "false");
          return;
        }
      }
    }
    if (w.constrains_string && t.size() != s.size()) {
      base::append_json_string(out, t);
      note(path, "trimmed", json(s), json(t));
      return;
    }
    base::append_json_string(out, s);
  }

  void number(const std::vector<const Node*>& nodes, element v, std::string& out,
              const std::string& path) {
    std::string text;
    switch (v.type()) {
      case element_type::INT64:
        base::append_int(text, v.get_int64().value_unsafe());
        break;
      case element_type::UINT64:
        base::append_uint(text, v.get_uint64().value_unsafe());
        break;
      default:
        append_fraction(text, v.get_double().value_unsafe());
        break;
    }
    Wants w = wants(nodes);
    if (w.date_time && (w.types & kString) && !(w.types & (kNumber | kInteger))) {
      double d = v.type() == element_type::INT64 ? static_cast<double>(v.get_int64().value_unsafe())
                 : v.type() == element_type::UINT64
                     ? static_cast<double>(v.get_uint64().value_unsafe())
                     : v.get_double().value_unsafe();
      std::string norm;
      if (epoch_to_rfc3339(d, norm)) {
        base::append_json_string(out, norm);
        note(path, "epoch to date-time", text, json(norm));
        return;
      }
    }
    out += text;
  }

  void array(const std::vector<const Node*>& nodes, simdjson::dom::array a, std::string& out,
             std::string& path) {
    out += '[';
    size_t i = 0;
    std::vector<const Node*> sub;
    for (element e : a) {
      if (i) out += ',';
      sub.clear();
      for (const Node* n : nodes) {
        const Node* s = !n->tuple_items       ? n->items
                        : i < n->tuple.size() ? n->tuple[i]
                                              : n->additional_items;
        gather(s, sub);
      }
      size_t len = path.size();
      path += '/';
      path += std::to_string(i);
      value(sub, e, out, path);
      path.resize(len);
      ++i;
    }
    out += ']';
  }

  void object(const std::vector<const Node*>& nodes, simdjson::dom::object o, std::string& out,
              std::string& path) {
    out += '{';
    bool first = true;
    std::vector<const Node*> sub;
    bool forbids_unknown = false;
    for (const Node* n : nodes) {
      if (n->additional_properties && n->additional_properties->kind == Node::Kind::always_false) {
        forbids_unknown = true;
      }
    }
    for (auto [k, e] : o) {
      sub.clear();
      bool known = false;
      for (const Node* n : nodes) {
        int i = n->find_key(k);
        if (i >= 0 && n->keys[i].schema) {
          known = true;
          gather(n->keys[i].schema, sub);
        }
        for (const auto& pp : n->pattern_properties) {
          if (RE2::PartialMatch(re2::StringPiece(k.data(), k.size()), *pp.re)) {
            known = true;
            gather(pp.schema, sub);
          }
        }
      }
      size_t len = path.size();
      base::append_pointer_token(path, k);
      if (!known && opts_.drop_unknown && forbids_unknown) {
        note(path, "removed", simdjson::minify(e), "");
        path.resize(len);
        continue;
      }
      if (!known) {
        for (const Node* n : nodes) gather(n->additional_properties, sub);
      }
      if (!first) out += ',';
      first = false;
      base::append_json_string(out, k);
      out += ':';
      value(sub, e, out, path);
      path.resize(len);
    }
    // Defaults for what is missing.
    std::set<std::string_view> added;
    for (const Node* n : nodes) {
      for (const auto& key : n->keys) {
        if (!key.schema) continue;
        std::vector<const Node*> ks;
        gather(key.schema, ks);
        for (const Node* s : ks) {
          if (!s->default_value) continue;
          element there;
          if (!o.at_key(key.name).get(there)) break;
          if (added.count(key.name)) break;
          if (!first) out += ',';
          first = false;
          base::append_json_string(out, key.name);
          out += ':';
          std::string def = simdjson::minify(*s->default_value);
          out += def;
          added.insert(key.name);
          size_t len = path.size();
          base::append_pointer_token(path, key.name);
          note(path, "default", "", def);
          path.resize(len);
          break;
        }
      }
    }
    out += '}';
  }

  const CoerceOptions& opts_;
  std::vector<Change>* changes_;
};

}  // namespace

bool coerce(const Node& root, element record, const CoerceOptions& opts, std::string& out,
            std::vector<Change>* changes) {
  std::vector<const Node*> nodes;
  gather(&root, nodes);
  Coercer c(opts, changes);
  std::string path;
  out.clear();
  c.value(nodes, record, out, path);
  return c.changed;
}

}  // namespace cdn::schema
