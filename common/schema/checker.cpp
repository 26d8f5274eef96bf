// Checking a value against a compiled schema: one walk of the node graph, which stops at the
// first failure or collects errors with their instance locations.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "common/base/json_pointer.hpp"
#include "common/base/json_text.hpp"
#include "common/diag/log.hpp"
#include "common/schema/uri.hpp"
#include "common/schema/validator.hpp"

namespace cdn::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

struct Segment {
  std::string_view key;
  uint64_t index = 0;
  bool is_index = false;
};

struct Walk {
  std::vector<ValidationError>* errors = nullptr;  // null: stop at the first failure
  size_t max_errors = 0;
  std::vector<Segment> path;
  unsigned depth = 0;

  bool full() const { return errors && max_errors && errors->size() >= max_errors; }
};

constexpr unsigned kMaxDepth = 4000;

std::string pointer_of(const std::vector<Segment>& path) {
  std::string p;
  for (const auto& s : path) {
    if (s.is_index) {
      p += '/';
      p += std::to_string(s.index);
    } else {
      base::append_pointer_token(p, s.key);
    }
  }
  return p;
}

// A short rendering of a value for messages.
std::string describe(element v) {
  std::string s;
  switch (v.type()) {
    case element_type::STRING: {
      std::string_view t = v.get_string().value_unsafe();
      if (t.size() > 60) {
        size_t cut = 57;
        while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
        std::string shown(t.substr(0, cut));
        shown += "...";
        base::append_json_string(s, shown);
      } else {
        base::append_json_string(s, t);
      }
      return s;
    }
    case element_type::INT64:
      base::append_int(s, v.get_int64().value_unsafe());
      return s;
    case element_type::UINT64:
      base::append_uint(s, v.get_uint64().value_unsafe());
      return s;
    case element_type::DOUBLE:
      base::append_double(s, v.get_double().value_unsafe());
      return s;
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE:
      return "null";
    case element_type::ARRAY:
      return "an array of " + std::to_string(v.get_array().value_unsafe().size()) + " items";
    case element_type::OBJECT:
      return "an object";
  }
  return "a value";
}

std::string num(double d) {
  std::string s;
  if (d == std::floor(d) && std::fabs(d) < 9e15) {
    base::append_int(s, static_cast<int64_t>(d));
  } else {
    base::append_double(s, d);
  }
  return s;
}

std::string type_names(uint8_t types) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {kNull, "null"},     {kBoolean, "boolean"}, {kObject, "object"},  {kArray, "array"},
      {kNumber, "number"}, {kString, "string"},   {kInteger, "integer"}};
  std::vector<std::string> names;
  for (auto [bit, name] : kNames) {
    if (!(types & bit)) continue;
    if (bit == kInteger && (types & kNumber)) continue;
    names.push_back(name);
  }
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s.empty() ? "no type" : s;
}

uint8_t type_bits(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return kNull;
    case element_type::BOOL:
      return kBoolean;
    case element_type::INT64:
    case element_type::UINT64:
      return kInteger | kNumber;
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      return (std::isfinite(d) && d == std::floor(d)) ? (kInteger | kNumber) : kNumber;
    }
    case element_type::STRING:
      return kString;
    case element_type::ARRAY:
      return kArray;
    case element_type::OBJECT:
      return kObject;
  }
  return 0;
}

double as_double(element v) {
  switch (v.type()) {
    case element_type::INT64:
      return static_cast<double>(v.get_int64().value_unsafe());
    case element_type::UINT64:
      return static_cast<double>(v.get_uint64().value_unsafe());
    default:
      return v.get_double().value_unsafe();
  }
}

uint64_t code_points(std::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool numbers_equal(element a, element b) {
  element_type ta = a.type(), tb = b.type();
  if (ta == element_type::INT64 && tb == element_type::INT64) {
    return a.get_int64().value_unsafe() == b.get_int64().value_unsafe();
  }
  if (ta == element_type::UINT64 && tb == element_type::UINT64) {
    return a.get_uint64().value_unsafe() == b.get_uint64().value_unsafe();
  }
  return as_double(a) == as_double(b);
}

bool is_number(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

uint64_t json_hash(element v) {
  auto mix = [](uint64_t h, uint64_t x) {
    x *= 0x9E3779B97F4A7C15ull;
    return (h ^ (x >> 29) ^ x) * 0xBF58476D1CE4E5B9ull;
  };
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return 1;
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? 2 : 3;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      double d = as_double(v);
      if (d == 0) d = 0;  // -0 equals 0
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return mix(4, bits);
    }
    case element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      return mix(5, std::hash<std::string_view>{}(s));
    }
    case element_type::ARRAY: {
      uint64_t h = 6;
      simdjson::dom::array arr = v.get_array().value_unsafe();
      for (element e : arr) h = mix(h, json_hash(e));
      return h;
    }
    case element_type::OBJECT: {
      uint64_t h = 7;  // order-independent: a sum of member hashes
      simdjson::dom::object obj = v.get_object().value_unsafe();
      for (auto [k, e] : obj) {
        h += mix(std::hash<std::string_view>{}(k), json_hash(e));
      }
      return h;
    }
  }
  return 0;
}

class Checker {
 public:
  explicit Checker(Walk& w) : w_(w) {}

  bool check(const Node& n, element v) {
    if (++w_.depth > kMaxDepth) {
      --w_.depth;
      return fail("$ref", [] { return std::string("the schema nests too deep for this value"); });
    }
    bool ok = check_node(n, v);
    --w_.depth;
    return ok;
  }

 private:
  template <class Message>
  bool fail(const char* keyword, Message&& message, std::string_view property = {}) {
    if (w_.errors && !w_.full()) {
      w_.errors->push_back({pointer_of(w_.path), keyword, message(), std::string(property)});
    }
    return false;
  }

  // Runs `f` without collecting errors: for anyOf, oneOf, not, if and contains.
  template <class F>
  bool quietly(F&& f) {
    auto* saved = w_.errors;
    w_.errors = nullptr;
    bool ok = f();
    w_.errors = saved;
    return ok;
  }

  bool done(bool ok) const { return !ok && (!w_.errors || w_.full()); }

  bool check_node(const Node& n, element v) {
    if (n.kind == Node::Kind::always_true) return true;
    if (n.kind == Node::Kind::always_false) {
      return fail("false", [] { return std::string("no value is allowed here"); });
    }
    if (n.ref) return check(*n.ref, v);

    bool ok = true;
    uint8_t bits = type_bits(v);
    if (n.types && !(n.types & bits)) {
      ok = fail("type", [&] { return describe(v) + " is not of type " + type_names(n.types); });
      if (done(ok)) return false;
    }
    if (n.has_enum) {
      bool found = false;
      if (n.enum_all_strings) {
        std::string_view str;
        if (!v.get_string().get(str)) {
          for (std::string_view e : n.enum_strings) {
            if (e == str) {
              found = true;
              break;
            }
          }
        }
      } else {
        for (element e : n.enum_values) {
          if (json_equal(v, e)) {
            found = true;
            break;
          }
        }
      }
      if (!found) {
        ok = fail("enum", [&] {
          std::string m = describe(v) + " is not one of ";
          for (size_t i = 0; i < n.enum_values.size() && i < 12; ++i) {
            if (i) m += ", ";
            m += describe(n.enum_values[i]);
          }
          if (n.enum_values.size() > 12) m += ", ...";
          return m;
        });
        if (done(ok)) return false;
      }
    }
    if (n.const_value && !json_equal(v, *n.const_value)) {
      ok = fail("const", [&] { return describe(v) + " is not " + describe(*n.const_value); });
      if (done(ok)) return false;
    }

    switch (v.type()) {
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        ok = check_number(n, v) && ok;
        break;
      case element_type::STRING:
        ok = check_string(n, v.get_string().value_unsafe(), v) && ok;
        break;
      case element_type::ARRAY:
        ok = check_array(n, v.get_array().value_unsafe()) && ok;
        break;
      case element_type::OBJECT:
        ok = check_object(n, v, v.get_object().value_unsafe()) && ok;
        break;
      default:
        break;
    }
    if (done(ok)) return false;

    for (const Node* s : n.all_of) {
      ok = check(*s, v) && ok;
      if (done(ok)) return false;
    }
    if (!n.any_of.empty()) {
      bool any = quietly([&] {
        for (const Node* s : n.any_of) {
          if (check(*s, v)) return true;
        }
        return false;
      });
      if (!any) {
        ok = fail("anyOf", [&] {
          return describe(v) + " matches none of the " + std::to_string(n.any_of.size()) +
                 " schemas of anyOf";
        });
        if (done(ok)) return false;
      }
    }
    if (!n.one_of.empty()) {
      std::vector<size_t> matched;
      quietly([&] {
        for (size_t i = 0; i < n.one_of.size() && matched.size() < 2; ++i) {
          if (check(*n.one_of[i], v)) matched.push_back(i);
        }
        return true;
      });
      if (matched.size() != 1) {
        ok = fail("oneOf", [&] {
          if (matched.empty()) {
            return describe(v) + " matches none of the " + std::to_string(n.one_of.size()) +
                   " schemas of oneOf";
          }
          return describe(v) + " matches more than one schema of oneOf (" +
                 std::to_string(matched[0]) + " and " + std::to_string(matched[1]) + ")";
        });
        if (done(ok)) return false;
      }
    }
    if (n.not_schema) {
      if (quietly([&] { return check(*n.not_schema, v); })) {
        ok = fail("not", [&] { return describe(v) + " matches the schema of not"; });
        if (done(ok)) return false;
      }
    }
    if (n.if_schema) {
      bool cond = quietly([&] { return check(*n.if_schema, v); });
      const Node* branch = cond ? n.then_schema : n.else_schema;
      if (branch) ok = check(*branch, v) && ok;
    }
    return ok;
  }

  bool check_number(const Node& n, element v) {
    bool ok = true;
    double d = as_double(v);
    if (n.minimum && d < *n.minimum) {
      ok = fail("minimum",
                [&] { return describe(v) + " is less than the minimum " + num(*n.minimum); });
      if (done(ok)) return false;
    }
    if (n.maximum && d > *n.maximum) {
      ok = fail("maximum",
                [&] { return describe(v) + " is greater than the maximum " + num(*n.maximum); });
      if (done(ok)) return false;
    }
    if (n.exclusive_minimum && d <= *n.exclusive_minimum) {
      ok = fail("exclusiveMinimum", [&] {
        return describe(v) + " is not greater than the exclusive minimum " +
               num(*n.exclusive_minimum);
      });
      if (done(ok)) return false;
    }
    if (n.exclusive_maximum && d >= *n.exclusive_maximum) {
      ok = fail("exclusiveMaximum", [&] {
        return describe(v) + " is not less than the exclusive maximum " + num(*n.exclusive_maximum);
      });
      if (done(ok)) return false;
    }
    if (n.multiple_of) {
      double m = *n.multiple_of;
      bool multiple;
      if (v.type() != element_type::DOUBLE && m == std::floor(m) && m < 9e15) {
        auto im = static_cast<int64_t>(m);
        multiple = v.type() == element_type::INT64
                       ? v.get_int64().value_unsafe() % im == 0
                       : v.get_uint64().value_unsafe() % static_cast<uint64_t>(im) == 0;
      } else {
        // Decimal fractions are not exact in binary (19.99 / 0.01 = 1998.9999999999998), so
        // a quotient within a relative 1e-9 of an integer counts as one.
        double q = d / m;
        multiple = std::isfinite(q) &&
                   std::fabs(q - std::nearbyint(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
      }
      if (!multiple) {
        ok = fail("multipleOf", [&] { return describe(v) + " is not a multiple of " + num(m); });
      }
    }
    return ok;
  }

  bool check_string(const Node& n, std::string_view s, element v) {
    bool ok = true;
    if (n.min_length || n.max_length) {
      uint64_t len = code_points(s);
      if (n.min_length && len < *n.min_length) {
        ok = fail("minLength", [&] {
          return describe(v) + " is shorter than " + std::to_string(*n.min_length) + " characters";
        });
        if (done(ok)) return false;
      }
      if (n.max_length && len > *n.max_length) {
        ok = fail("maxLength", [&] {
          return describe(v) + " is longer than " + std::to_string(*n.max_length) + " characters";
        });
        if (done(ok)) return false;
      }
    }
    if (n.pattern && !RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *n.pattern)) {
      ok = fail("pattern", [&] {
        return describe(v) + " does not match the pattern " + n.pattern->pattern();
      });
      if (done(ok)) return false;
    }
    if (n.format != Format::none && !check_format(n.format, s)) {
      ok = fail("format", [&] { return describe(v) + " is not a valid " + format_name(n.format); });
    }
    return ok;
  }

  bool check_array(const Node& n, simdjson::dom::array a) {
    bool ok = true;
    size_t size = a.size();
    if (n.min_items && size < *n.min_items) {
      ok = fail("minItems", [&] {
        return "an array of " + std::to_string(size) + " items is shorter than " +
               std::to_string(*n.min_items);
      });
      if (done(ok)) return false;
    }
    if (n.max_items && size > *n.max_items) {
      ok = fail("maxItems", [&] {
        return "an array of " + std::to_string(size) + " items is longer than " +
               std::to_string(*n.max_items);
      });
      if (done(ok)) return false;
    }
    if (n.items || n.tuple_items) {
      size_t i = 0;
      for (element e : a) {
        const Node* s = !n.tuple_items       ? n.items
                        : i < n.tuple.size() ? n.tuple[i]
                                             : n.additional_items;
        if (s) {
          w_.path.push_back({{}, i, true});
          ok = check(*s, e) && ok;
          w_.path.pop_back();
          if (done(ok)) return false;
        } else if (n.tuple_items) {
          break;
        }
        ++i;
      }
    }
    if (n.contains) {
      bool any = quietly([&] {
        for (element e : a) {
          if (check(*n.contains, e)) return true;
        }
        return false;
      });
      if (!any) {
        ok = fail("contains", [&] {
          return "no item of an array of " + std::to_string(size) +
                 " matches the schema of contains";
        });
        if (done(ok)) return false;
      }
    }
    if (n.unique_items && size > 1) {
      std::vector<std::pair<uint64_t, size_t>> hashes;
      std::vector<element> items;
      hashes.reserve(size);
      items.reserve(size);
      for (element e : a) {
        hashes.push_back({json_hash(e), items.size()});
        items.push_back(e);
      }
      std::sort(hashes.begin(), hashes.end());
      for (size_t i = 0; i + 1 < hashes.size(); ++i) {
        for (size_t j = i + 1; j < hashes.size() && hashes[j].first == hashes[i].first; ++j) {
          if (json_equal(items[hashes[i].second], items[hashes[j].second])) {
            size_t x = std::min(hashes[i].second, hashes[j].second);
            size_t y = std::max(hashes[i].second, hashes[j].second);
            return fail("uniqueItems", [&] {
              return "items " + std::to_string(x) + " and " + std::to_string(y) + " are equal";
            });
          }
        }
      }
    }
    return ok;
  }

  bool check_object(const Node& n, element v, simdjson::dom::object o) {
    bool ok = true;
    const size_t nkeys = n.keys.size();
    uint64_t small_seen = 0;
    std::vector<bool> big_seen;
    if (nkeys > 64) big_seen.assign(nkeys, false);
    auto seen = [&](size_t i) {
      return nkeys > 64 ? bool(big_seen[i]) : bool(small_seen >> i & 1);
    };

    if (n.min_properties || n.max_properties) {
      size_t size = o.size();
      if (n.min_properties && size < *n.min_properties) {
        ok = fail("minProperties", [&] {
          return "an object of " + std::to_string(size) + " properties has fewer than " +
                 std::to_string(*n.min_properties);
        });
        if (done(ok)) return false;
      }
      if (n.max_properties && size > *n.max_properties) {
        ok = fail("maxProperties", [&] {
          return "an object of " + std::to_string(size) + " properties has more than " +
                 std::to_string(*n.max_properties);
        });
        if (done(ok)) return false;
      }
    }

    const bool per_member =
        nkeys > 0 || !n.pattern_properties.empty() || n.additional_properties || n.property_names;
    if (per_member) {
      size_t hint = 0;
      for (auto member : o) {
        const std::string_view k = member.key;  // a plain variable: lambdas capture it
        const element e = member.value;
        bool matched = false;
        int i = nkeys ? n.find_key(k, hint) : -1;
        if (i >= 0) hint = static_cast<size_t>(i) + 1;
        w_.path.push_back({k, 0, false});
        if (i >= 0) {
          if (nkeys > 64) {
            big_seen[i] = true;
          } else {
            small_seen |= uint64_t{1} << i;
          }
          if (const Node* s = n.keys[i].schema) {
            matched = true;
            ok = check(*s, e) && ok;
          }
        }
        for (const auto& pp : n.pattern_properties) {
          if (done(ok)) break;
          if (RE2::PartialMatch(re2::StringPiece(k.data(), k.size()), *pp.re)) {
            matched = true;
            ok = check(*pp.schema, e) && ok;
          }
        }
        if (!matched && n.additional_properties && !done(ok)) {
          if (n.additional_properties->kind == Node::Kind::always_false) {
            ok = fail("additionalProperties",
                      [&] { return "the property " + diag::quoted(k) + " is not allowed"; });
          } else {
            ok = check(*n.additional_properties, e) && ok;
          }
        }
        w_.path.pop_back();
        if (done(ok)) return false;
        if (n.property_names && !check_name(*n.property_names, k)) {
          ok = fail("propertyNames", [&] {
            return "the property name " + diag::quoted(k) +
                   " does not match the schema of propertyNames";
          });
          if (done(ok)) return false;
        }
      }
    }
    for (uint32_t r : n.required) {
      if (!seen(r)) {
        ok = fail(
            "required",
            [&] { return "the required property " + diag::quoted(n.keys[r].name) + " is missing"; },
            n.keys[r].name);
        if (done(ok)) return false;
      }
    }
    for (const auto& d : n.dependencies) {
      if (!seen(d.key)) continue;
      for (uint32_t r : d.required) {
        if (!seen(r)) {
          ok = fail(
              "dependencies",
              [&] {
                return "the property " + diag::quoted(n.keys[d.key].name) +
                       " requires the property " + diag::quoted(n.keys[r].name);
              },
              n.keys[r].name);
          if (done(ok)) return false;
        }
      }
      if (d.schema) {
        ok = check(*d.schema, v) && ok;
        if (done(ok)) return false;
      }
    }
    return ok;
  }

  // propertyNames: the name as a JSON string value of its own.
  bool check_name(const Node& s, std::string_view name) {
    thread_local simdjson::dom::parser parser;
    std::string text;
    base::append_json_string(text, name);
    element e;
    if (parser.parse(text).get(e)) return false;
    return quietly([&] {
      std::vector<Segment> saved;
      saved.swap(w_.path);
      bool ok = check(s, e);
      saved.swap(w_.path);
      return ok;
    });
  }

  Walk& w_;
};

}  // namespace

bool json_equal(element a, element b) {
  element_type ta = a.type(), tb = b.type();
  if (is_number(ta) && is_number(tb)) return numbers_equal(a, b);
  if (ta != tb) return false;
  switch (ta) {
    case element_type::NULL_VALUE:
      return true;
    case element_type::BOOL:
      return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::STRING:
      return a.get_string().value_unsafe() == b.get_string().value_unsafe();
    case element_type::ARRAY: {
      auto x = a.get_array().value_unsafe(), y = b.get_array().value_unsafe();
      if (x.size() != y.size()) return false;
      auto i = x.begin(), j = y.begin();
      for (; i != x.end(); ++i, ++j) {
        if (!json_equal(*i, *j)) return false;
      }
      return true;
    }
    case element_type::OBJECT: {
      auto x = a.get_object().value_unsafe(), y = b.get_object().value_unsafe();
      if (x.size() != y.size()) return false;
      for (auto [k, e] : x) {
        element other;
        if (y.at_key(k).get(other) || !json_equal(e, other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

bool Validator::valid(element v) const {
  Walk w;
  Checker c(w);
  return c.check(*root_, v);
}

bool Validator::validate(element v, std::vector<ValidationError>& errors, size_t max_errors) const {
  Walk w;
  w.errors = &errors;
  w.max_errors = max_errors;
  Checker c(w);
  size_t before = errors.size();
  bool ok = c.check(*root_, v);
  return ok && errors.size() == before;
}

}  // namespace cdn::schema
